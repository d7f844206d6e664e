//! Inviting someone by email, and accepting with the emailed link.

use chrono::Duration;
use serde_json::json;

use super::{Manager, TeamError, TeamResult, OUT_OF_REACH};
use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, BuiltinRole, Email};
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::invitations::{Invitation, NewInvitation};
use crate::store::roles::Role;
use crate::store::workspaces::Workspace;
use crate::store::{self};

/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;

/// Records an invitation for `email` with `role_id`, keyed by the digest of the token
/// the caller will email. The address itself stays out of the audit log.
pub fn invite(
    conn: &mut DbConnection,
    manager: &Manager,
    email: &Email,
    role_id: i64,
    token_digest: &str,
) -> TeamResult<(Invitation, Role)> {
    write_transaction(conn, |conn| {
        let role = store::roles::find_in_workspace(conn, manager.workspace_id, role_id)?
            .filter(|r| r.builtin_role() != Some(BuiltinRole::Owner))
            .ok_or_else(|| TeamError::Field {
                field: "role",
                message: "choose a role from the list".into(),
            })?;
        if !manager.reaches(&role.permission_set()) {
            return Err(TeamError::Refused(OUT_OF_REACH.into()));
        }
        if let Some(user) = store::users::find_by_email(conn, email.as_str())? {
            if store::memberships::find_member(conn, manager.workspace_id, user.id)?.is_some() {
                return Err(TeamError::Field {
                    field: "email",
                    message: "this person is already a member of this workspace".into(),
                });
            }
        }
        let invitation = store::invitations::insert(
            conn,
            &NewInvitation {
                workspace_id: manager.workspace_id,
                email: email.as_str(),
                role_id: role.id,
                token_digest,
                invited_by: manager.user_id,
                expires_at: store::now() + Duration::days(INVITATION_DAYS),
            },
        )?;
        audit::append(
            conn,
            NewEntry::new(manager.actor(), AuditAction::MemberInvited, &manager.origin)
                .workspace(manager.workspace_id)
                .target(format!("invitation:{}", invitation.id))
                .details(json!({ "role": role.id, "expires_at": invitation.expires_at.to_string() })),
        )?;
        Ok((invitation, role))
    })
}

/// Revokes an open invitation of the manager's workspace: its link stops working at
/// once and answers as an expired one does. `NotFound` when it is not open here.
pub fn revoke_invitation(conn: &mut DbConnection, manager: &Manager, invitation_id: i64) -> TeamResult<()> {
    write_transaction(conn, |conn| {
        if !store::invitations::revoke(conn, manager.workspace_id, invitation_id)? {
            return Err(TeamError::NotFound);
        }
        audit::append(
            conn,
            NewEntry::new(manager.actor(), AuditAction::InvitationRevoked, &manager.origin)
                .workspace(manager.workspace_id)
                .target(format!("invitation:{invitation_id}")),
        )?;
        Ok(())
    })
}

/// The account an invitee makes when their address has none yet.
pub struct NewAccount {
    pub name: String,
    pub password_hash: String,
}

/// What accepting did.
pub struct Accepted {
    pub user_id: i64,
    pub workspace: Workspace,
    pub role: Role,
    /// False when the address already had an account: that person must sign in.
    pub created_account: bool,
}

/// Uses an invitation, once: creates the account when the address has none (from
/// `account`), adds the membership, and marks the invitation used, all together.
/// `NotFound` when the invitation is unknown, used or expired.
pub fn accept_invitation(
    conn: &mut DbConnection,
    token_digest: &str,
    account: Option<NewAccount>,
    origin: &RequestOrigin,
) -> TeamResult<Accepted> {
    write_transaction(conn, |conn| {
        let invitation = store::invitations::find_open(conn, token_digest)?.ok_or(TeamError::NotFound)?;
        let existing = store::users::find_by_email(conn, &invitation.email)?;
        let (user, created_account) = match (existing, account) {
            (Some(user), _) => (user, false),
            (None, Some(account)) => {
                let new =
                    store::users::new_user(&invitation.email, &account.name, &account.password_hash, false);
                (store::users::insert(conn, &new)?, true)
            }
            (None, None) => {
                return Err(TeamError::Field {
                    field: "name",
                    message: "enter your name".into(),
                })
            }
        };
        if !store::invitations::mark_accepted(conn, invitation.id)? {
            return Err(TeamError::NotFound);
        }
        let workspace = store::workspaces::find(conn, invitation.workspace_id)?.ok_or(TeamError::NotFound)?;
        let role = store::roles::find_in_workspace(conn, workspace.id, invitation.role_id)?
            .ok_or(TeamError::NotFound)?;
        // Someone who joined meanwhile (another invitation) keeps the role they have.
        let joined = store::memberships::find_member(conn, workspace.id, user.id)?.is_none();
        if joined {
            store::memberships::insert(conn, user.id, workspace.id, role.id)?;
            audit::append(
                conn,
                NewEntry::new(Actor::User(user.id), AuditAction::MemberJoined, origin)
                    .workspace(workspace.id)
                    .target(format!("user:{}", user.id))
                    .details(json!({
                        "invitation": invitation.id,
                        "role": role.id,
                        "new_account": created_account,
                    })),
            )?;
        }
        Ok(Accepted {
            user_id: user.id,
            workspace,
            role,
            created_account,
        })
    })
}
