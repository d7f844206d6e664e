//! Who is asking, and what they may do: resolved before a handler's body runs.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::layout::WorkspaceLink;
use super::session::TypedSession;
use super::state::AppState;
use super::WebError;
use crate::domain::{Permission, PermissionSet, TimeZone};
use crate::store::audit::{Actor, RequestOrigin};
use crate::store::roles::Role;
use crate::store::users::User;
use crate::store::workspaces::Workspace;
use crate::store::{self, StoreError};

/// The signed-in, enabled user, loaded fresh on every request so that disabling or
/// removing someone takes effect at once.
#[derive(Clone)]
pub struct CurrentUser {
    pub user: User,
    /// Every workspace the user belongs to, with their role there, by name.
    pub memberships: Vec<Membership>,
}

impl CurrentUser {
    /// The zone this person reads times in, for every time a page shows them.
    pub fn time_zone(&self) -> TimeZone {
        self.user.time_zone
    }

    pub fn workspace_links(&self) -> Vec<WorkspaceLink> {
        self.memberships
            .iter()
            .map(|(w, _)| WorkspaceLink {
                slug: w.slug.clone(),
                name: w.name.clone(),
            })
            .collect()
    }
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, WebError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| WebError::Internal("application state missing".into()))
}

/// The request id and client address the logging middleware recorded.
pub fn request_origin(req: &HttpRequest) -> RequestOrigin {
    req.extensions()
        .get::<RequestOrigin>()
        .cloned()
        .unwrap_or_default()
}

/// A workspace and the user's role there.
type Membership = (Workspace, Role);

/// Loads the signed-in user and, given a workspace slug, their membership there, with
/// one connection checkout for both (each checkout is a trip through the pool and a
/// blocking thread, and a workspace page needs both).
async fn load_current_user(
    req: HttpRequest,
    slug: Option<String>,
) -> Result<(CurrentUser, Option<Membership>), WebError> {
    let state = app_state(&req)?;
    let session = TypedSession::extract(&req)
        .await
        .map_err(|_| WebError::SignInRequired)?;
    let Some(user_id) = session.user_id() else {
        return Err(WebError::SignInRequired);
    };
    let absolute = state.settings.session_absolute.num_seconds();
    let expired = session
        .signed_in_at()
        .is_none_or(|at| chrono::Utc::now().timestamp() - at > absolute);
    if expired {
        session.sign_out();
        return Err(WebError::SignInRequired);
    }
    let loaded = state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            let Some(user) = store::users::find(conn, user_id)? else {
                return Ok(None);
            };
            let memberships = store::memberships::roles_of_user(conn, user.id)?;
            let membership = slug.and_then(|slug| {
                memberships
                    .iter()
                    .find(|(workspace, _)| workspace.slug == slug)
                    .cloned()
            });
            Ok(Some((CurrentUser { user, memberships }, membership)))
        })
        .await?;
    match loaded {
        Some((current, membership)) if !current.user.disabled => Ok((current, membership)),
        _ => {
            session.sign_out();
            Err(WebError::SignInRequired)
        }
    }
}

impl FromRequest for CurrentUser {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, WebError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if let Some(cached) = req.extensions().get::<CurrentUser>().cloned() {
                return Ok(cached);
            }
            let (current, _) = load_current_user(req.clone(), None).await?;
            req.extensions_mut().insert(current.clone());
            Ok(current)
        })
    }
}

/// A workspace the user is a member of (from the `{workspace}` path segment), with the
/// user's role there. Any other slug answers 404, whether or not it exists.
#[derive(Clone)]
pub struct WorkspaceAccess {
    pub user: CurrentUser,
    pub workspace: Workspace,
    pub role: Role,
    pub permissions: PermissionSet,
    pub origin: RequestOrigin,
}

impl WorkspaceAccess {
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(permission)
    }

    pub fn actor(&self) -> Actor {
        Actor::User(self.user.user.id)
    }

    /// The zone the viewer reads times in.
    pub fn time_zone(&self) -> TimeZone {
        self.user.time_zone()
    }

    /// Base path of this workspace's pages.
    pub fn base(&self) -> String {
        format!("/w/{}", self.workspace.slug)
    }

    /// Refuses this request in this workspace for lack of `required`; see [`deny`].
    pub async fn deny(&self, req: &HttpRequest, required: &str) -> WebError {
        deny(req, self.actor(), Some(self.workspace.id), required).await
    }
}

impl FromRequest for WorkspaceAccess {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, WebError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if let Some(cached) = req.extensions().get::<WorkspaceAccess>().cloned() {
                return Ok(cached);
            }
            let slug = req
                .match_info()
                .get("workspace")
                // No slug holds NUL, and PostgreSQL refuses it as a parameter.
                .filter(|slug| !slug.contains('\0'))
                .map(str::to_owned);
            let cached_user = req.extensions().get::<CurrentUser>().cloned();
            let (user, found) = match cached_user {
                Some(user) => {
                    let slug = slug.ok_or(WebError::NotFound)?;
                    let user_id = user.user.id;
                    let found = app_state(&req)?
                        .db
                        .run(move |conn| store::memberships::workspace_with_role(conn, user_id, &slug))
                        .await?;
                    (user, found)
                }
                None => {
                    let (user, found) = load_current_user(req.clone(), slug).await?;
                    req.extensions_mut().insert(user.clone());
                    (user, found)
                }
            };
            let (workspace, role) = found.ok_or(WebError::NotFound)?;
            let permissions = role.permission_set();
            let access = WorkspaceAccess {
                user,
                workspace,
                role,
                permissions,
                origin: request_origin(&req),
            };
            req.extensions_mut().insert(access.clone());
            Ok(access)
        })
    }
}

/// A permission, as a type, so that a handler states what it needs in its signature.
pub trait RequiredPermission {
    const PERMISSION: Permission;
}

macro_rules! permission_markers {
    ($($name:ident => $permission:ident),* $(,)?) => {
        /// Marker types for [`Authorized`].
        pub mod perm {
            $(
                pub struct $name;
                impl super::RequiredPermission for $name {
                    const PERMISSION: crate::domain::Permission = crate::domain::Permission::$permission;
                }
            )*
        }
    };
}

permission_markers! {
    CustomersView => CustomersView,
    CustomersViewPii => CustomersViewPii,
    CustomersArchive => CustomersArchive,
    CustomersDelete => CustomersDelete,
    CustomersDeleteAll => CustomersDeleteAll,
    SuppressionsManage => SuppressionsManage,
    AuditView => AuditView,
    TeamManage => TeamManage,
    SettingsManage => SettingsManage,
    RequestsManage => RequestsManage,
}

/// Workspace access that also holds permission `P`; otherwise 403, and the refusal is
/// written to the audit log.
pub struct Authorized<P: RequiredPermission> {
    pub access: WorkspaceAccess,
    _permission: PhantomData<P>,
}

impl<P: RequiredPermission> std::ops::Deref for Authorized<P> {
    type Target = WorkspaceAccess;
    fn deref(&self) -> &WorkspaceAccess {
        &self.access
    }
}

impl<P: RequiredPermission + 'static> FromRequest for Authorized<P> {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, WebError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let access = WorkspaceAccess::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let access = access.await?;
            if access.can(P::PERMISSION) {
                return Ok(Authorized {
                    access,
                    _permission: PhantomData,
                });
            }
            Err(access.deny(&req, P::PERMISSION.key()).await)
        })
    }
}

/// Refuses a request for lack of `required` (a permission's key, or the rule in words
/// where no single permission decides): has its one `permission.denied` entry written and
/// returns the 403 to answer with. The extractor and the checks made inside handlers
/// both come here, so every refusal is recorded alike, with the route it was made on.
pub async fn deny(req: &HttpRequest, actor: Actor, workspace_id: Option<i64>, required: &str) -> WebError {
    let Ok(state) = app_state(req) else {
        return WebError::Forbidden;
    };
    let origin = request_origin(req);
    let target = format!("{} {}", req.method(), req.match_pattern().unwrap_or_default());
    let required = required.to_owned();
    let result = state
        .db
        .run(move |conn| {
            crate::accounts::record_refusal(conn, actor, workspace_id, target, &required, &origin)
        })
        .await;
    if let Err(err) = result {
        tracing::error!(error = %err, "could not record a permission denial");
    }
    WebError::Forbidden
}
