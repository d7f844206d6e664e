//! The people who sign in: creating the account owner and workspaces (shared by the
//! setup page and the command line, so both leave the database in the same state),
//! signing in with the optional second factor, passwords (changed, or reset with a
//! mailed link), the signed-in person's own security settings, and the record of
//! refused requests. Each change is one function here that owns its transaction and
//! its audit entry.

mod account;
pub mod attempt_keys;
pub mod password;
pub mod preferences;
mod refusal;
pub mod second_factor;
pub mod security;
pub mod sign_in;

pub use account::{Account, AccountError, AccountResult};
pub use refusal::record_refusal;

use rand::distributions::{Alphanumeric, DistString};

use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, BuiltinRole, Email, IdentifierMode, PiiKeys, WorkspaceName};
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::users::User;
use crate::store::workspaces::Workspace;
use crate::store::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the console is already set up")]
    AlreadySetUp,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::r2d2::PoolError> for SetupError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        SetupError::Store(StoreError::Pool(err))
    }
}

impl From<diesel::result::Error> for SetupError {
    fn from(err: diesel::result::Error) -> Self {
        SetupError::Store(StoreError::Query(err))
    }
}

/// A new workspace's public site id for the Track API.
fn new_site_id() -> String {
    Alphanumeric
        .sample_string(&mut rand::rngs::OsRng, 20)
        .to_lowercase()
}

/// Creates the account owner and the first workspace, if no user exists yet. The
/// check and the inserts share one write transaction, so two setups racing each
/// other cannot both succeed. When set up from a browser, its address
/// (`known_address`, see `attempt_keys::known_address_digest`) is the owner's first
/// known address: failures elsewhere never lock them out from there.
pub fn create_owner(
    conn: &mut DbConnection,
    email: &Email,
    name: &str,
    password_hash: &str,
    workspace: &WorkspaceName,
    origin: &RequestOrigin,
    known_address: Option<&str>,
) -> Result<(User, Workspace), SetupError> {
    write_transaction(conn, |conn| {
        if store::users::count(conn)? > 0 {
            return Err(SetupError::AlreadySetUp);
        }
        let user = store::users::insert(
            conn,
            &store::users::new_user(email.as_str(), name, password_hash, true),
        )?;
        let workspace = add_workspace(conn, &user, workspace, origin)?;
        if let Some(address) = known_address {
            store::sign_in_addresses::remember(conn, user.id, address)?;
        }
        audit::append(
            conn,
            NewEntry::new(Actor::User(user.id), AuditAction::SetupCompleted, origin)
                .workspace(workspace.id)
                .target(format!("user:{}", user.id)),
        )?;
        Ok((user, workspace))
    })
}

/// Creates a workspace and makes `creator` its owner-level member. Runs inside the
/// caller's transaction.
pub fn add_workspace(
    conn: &mut DbConnection,
    creator: &User,
    name: &WorkspaceName,
    origin: &RequestOrigin,
) -> Result<Workspace, StoreError> {
    let workspace = store::workspaces::insert(conn, name.as_str(), &name.slug(), &new_site_id())?;
    let role = if creator.is_owner {
        BuiltinRole::Owner
    } else {
        BuiltinRole::Admin
    };
    let role = store::roles::find_builtin(conn, role)?;
    store::memberships::insert(conn, creator.id, workspace.id, role.id)?;
    audit::append(
        conn,
        NewEntry::new(Actor::User(creator.id), AuditAction::WorkspaceCreated, origin)
            .workspace(workspace.id)
            .target(format!("workspace:{}", workspace.id)),
    )?;
    Ok(workspace)
}

/// A workspace's editable settings, parsed.
pub struct WorkspaceSettings {
    pub name: WorkspaceName,
    pub identifier_mode: IdentifierMode,
    pub pii_keys: PiiKeys,
}

/// Saves a workspace's settings with one audit entry naming what changed (never the
/// values: a name could say more than it should). Returns the changed fields.
pub fn update_workspace(
    conn: &mut DbConnection,
    workspace_id: i64,
    actor: Actor,
    settings: &WorkspaceSettings,
    origin: &RequestOrigin,
) -> Result<Vec<&'static str>, StoreError> {
    write_transaction(conn, |conn| {
        let current = store::workspaces::find(conn, workspace_id)?
            .ok_or_else(|| StoreError::Inconsistent("the workspace being edited is gone".into()))?;
        let pii_keys = settings.pii_keys.to_stored();
        let mut changed = Vec::new();
        if current.name != settings.name.as_str() {
            changed.push("name");
        }
        if current.identifier_mode != settings.identifier_mode {
            changed.push("identifier_mode");
        }
        if current.pii_keys != pii_keys {
            changed.push("pii_keys");
        }
        if changed.is_empty() {
            return Ok(changed);
        }
        store::workspaces::update_settings(
            conn,
            workspace_id,
            settings.name.as_str(),
            settings.identifier_mode,
            &pii_keys,
        )?;
        audit::append(
            conn,
            NewEntry::new(actor, AuditAction::WorkspaceUpdated, origin)
                .workspace(workspace_id)
                .target(format!("workspace:{workspace_id}"))
                .details(serde_json::json!({
                    "changed": changed,
                    "identifier_mode": settings.identifier_mode.key(),
                    "pii_keys": settings.pii_keys.len(),
                })),
        )?;
        Ok(changed)
    })
}
