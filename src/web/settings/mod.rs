//! Settings: the user's own security and preferences, the workspaces, and in each workspace its
//! settings, team and roles.

mod destinations;
mod nav;
mod owner_code;
mod password;
mod preferences;
mod retention;
mod roles;
mod security;
mod team;
mod two_step;
mod workspaces;

use actix_web::{web, HttpResponse};

use super::extractors::WorkspaceAccess;
use super::layout::see_other;
use super::session::{FlashKind, TypedSession};
use super::state::AppState;
use super::WebError;
use crate::store::{self};
use crate::team::{AccountPower, Manager, TeamError};
pub use nav::SettingsNav;

pub fn routes(cfg: &mut web::ServiceConfig) {
    security::routes(cfg);
    password::routes(cfg);
    preferences::routes(cfg);
    two_step::routes(cfg);
    workspaces::routes(cfg);
    team::routes(cfg);
    roles::routes(cfg);
    owner_code::routes(cfg);
    destinations::routes(cfg);
    retention::routes(cfg);
}

/// The settings navigation for this user, with `current` marked.
async fn load_nav(state: &AppState, user_id: i64, current: String) -> Result<SettingsNav, WebError> {
    let memberships = state
        .db
        .run(move |conn| store::memberships::roles_of_user(conn, user_id))
        .await?;
    Ok(SettingsNav::new(&memberships, &current))
}

/// The person making a team change, as the team rules see them.
pub(crate) fn manager(access: &WorkspaceAccess) -> Manager {
    Manager {
        user_id: access.user.user.id,
        workspace_id: access.workspace.id,
        permissions: access.permissions.clone(),
        account_power: AccountPower::of(&access.user.user),
        origin: access.origin.clone(),
    }
}

/// The answer to a team change that a rule refused: back to `back` with the reason.
/// Other errors are pages; field errors belong to forms and must be handled first.
fn refused_to(session: &TypedSession, back: String, err: TeamError) -> Result<HttpResponse, WebError> {
    match err {
        TeamError::Refused(message) => {
            session.flash(FlashKind::Error, message);
            Ok(see_other(back))
        }
        TeamError::Field { message, .. } => {
            session.flash(FlashKind::Error, capitalize(&message));
            Ok(see_other(back))
        }
        TeamError::NotFound => Err(WebError::NotFound),
        TeamError::Store(err) => Err(err.into()),
    }
}

/// Field messages are written lower-case to follow a label; a flash starts a sentence.
fn capitalize(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!(
            "{}{}.",
            first.to_uppercase(),
            chars.as_str().trim_end_matches('.')
        ),
        None => String::new(),
    }
}
