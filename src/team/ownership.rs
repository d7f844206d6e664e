//! Handing the account over to another member.

use serde_json::json;

use super::{Manager, TeamError, TeamResult};
use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, BuiltinRole};
use crate::store::audit::{self, NewEntry};
use crate::store::users::User;
use crate::store::{self};

/// Makes `new_owner_id` (a member of the manager's workspace) the account owner. They
/// get the Owner role in every workspace the old owner was in; the old owner becomes
/// Admin there. Only the owner may do this; the caller has checked their password.
pub fn transfer_ownership(conn: &mut DbConnection, manager: &Manager, new_owner_id: i64) -> TeamResult<User> {
    write_transaction(conn, |conn| {
        let old = store::users::find(conn, manager.user_id)?.ok_or(TeamError::NotFound)?;
        if !old.is_owner {
            return Err(TeamError::Refused(
                "Only the account owner can transfer ownership.".into(),
            ));
        }
        let new = store::memberships::find_member(conn, manager.workspace_id, new_owner_id)?
            .ok_or(TeamError::NotFound)?
            .user;
        if new.id == old.id {
            return Err(TeamError::Refused("You are already the owner.".into()));
        }
        if new.disabled {
            return Err(TeamError::Refused(format!(
                "{} is disabled. Enable them before making them the owner.",
                new.name
            )));
        }
        let owner_role = store::roles::find_builtin(conn, BuiltinRole::Owner)?;
        let admin_role = store::roles::find_builtin(conn, BuiltinRole::Admin)?;
        store::users::set_owner(conn, new.id, true)?;
        store::users::set_owner(conn, old.id, false)?;
        let workspaces = store::memberships::roles_of_user(conn, old.id)?;
        for (workspace, _) in &workspaces {
            if !store::memberships::set_role(conn, new.id, workspace.id, owner_role.id)? {
                store::memberships::insert(conn, new.id, workspace.id, owner_role.id)?;
            }
            store::memberships::set_role(conn, old.id, workspace.id, admin_role.id)?;
        }
        audit::append(
            conn,
            NewEntry::new(
                manager.actor(),
                AuditAction::OwnershipTransferred,
                &manager.origin,
            )
            .target(format!("user:{}", new.id))
            .affected(workspaces.len() as i64)
            .details(json!({ "from_user": old.id, "workspaces": workspaces.len() })),
        )?;
        Ok(new)
    })
}
