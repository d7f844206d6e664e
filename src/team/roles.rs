//! Custom roles. Each belongs to one workspace and is found only from there, so an
//! edit can never change what anyone holds in another workspace, whoever makes it and
//! whatever the request says. Built-in roles are never found by these functions, so
//! they cannot be edited or deleted.

use serde_json::json;

use super::{permission_keys, Manager, TeamError, TeamResult, OUT_OF_REACH};
use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, PermissionSet, RoleName};
use crate::store::audit::{self, NewEntry};
use crate::store::roles::Role;
use crate::store::{self};

fn name_taken() -> TeamError {
    TeamError::Field {
        field: "name",
        message: "another role already has this name".into(),
    }
}

pub fn create_role(
    conn: &mut DbConnection,
    manager: &Manager,
    name: &RoleName,
    permissions: &PermissionSet,
) -> TeamResult<Role> {
    if !manager.reaches(permissions) {
        return Err(TeamError::Refused(OUT_OF_REACH.into()));
    }
    write_transaction(conn, |conn| {
        if store::roles::name_taken(conn, manager.workspace_id, name, None)? {
            return Err(name_taken());
        }
        let role = store::roles::insert_custom(conn, manager.workspace_id, name, permissions)?;
        audit::append(
            conn,
            NewEntry::new(manager.actor(), AuditAction::RoleCreated, &manager.origin)
                .workspace(manager.workspace_id)
                .target(format!("role:{}", role.id))
                .details(json!({ "permissions": permission_keys(permissions) })),
        )?;
        Ok(role)
    })
}

pub fn update_role(
    conn: &mut DbConnection,
    manager: &Manager,
    role_id: i64,
    name: &RoleName,
    permissions: &PermissionSet,
) -> TeamResult<()> {
    write_transaction(conn, |conn| {
        let role =
            store::roles::find_custom(conn, manager.workspace_id, role_id)?.ok_or(TeamError::NotFound)?;
        let before = role.permission_set();
        if !manager.reaches(&before) || !manager.reaches(permissions) {
            return Err(TeamError::Refused(OUT_OF_REACH.into()));
        }
        if store::roles::name_taken(conn, manager.workspace_id, name, Some(role.id))? {
            return Err(name_taken());
        }
        store::roles::update_custom(conn, manager.workspace_id, role.id, name, permissions)?;
        audit::append(
            conn,
            NewEntry::new(manager.actor(), AuditAction::RoleUpdated, &manager.origin)
                .workspace(manager.workspace_id)
                .target(format!("role:{}", role.id))
                .details(json!({
                    "permissions": permission_keys(permissions),
                    "previous_permissions": permission_keys(&before),
                    "renamed": role.name != name.as_str(),
                })),
        )?;
        Ok(())
    })
}

/// Deletes a custom role nobody holds and no open invitation would hand out.
pub fn delete_role(conn: &mut DbConnection, manager: &Manager, role_id: i64) -> TeamResult<Role> {
    write_transaction(conn, |conn| {
        let role =
            store::roles::find_custom(conn, manager.workspace_id, role_id)?.ok_or(TeamError::NotFound)?;
        let permissions = role.permission_set();
        if !manager.reaches(&permissions) {
            return Err(TeamError::Refused(OUT_OF_REACH.into()));
        }
        let assigned = store::roles::assignment_count(conn, role.id)?;
        if assigned > 0 {
            return Err(TeamError::Refused(format!(
                "The role “{}” is still assigned to {assigned} member{}. Give {} another role first, then delete it.",
                role.name,
                if assigned == 1 { "" } else { "s" },
                if assigned == 1 { "them" } else { "each of them" },
            )));
        }
        let invited = store::invitations::count_open_with_role(conn, role.id)?;
        if invited > 0 {
            return Err(TeamError::Refused(format!(
                "{invited} open invitation{} would give the role “{}”. Wait until {} accepted or expired, then delete it.",
                if invited == 1 { "" } else { "s" },
                role.name,
                if invited == 1 { "it is" } else { "they are" },
            )));
        }
        store::invitations::delete_spent_with_role(conn, role.id)?;
        store::roles::delete_custom(conn, manager.workspace_id, role.id)?;
        audit::append(
            conn,
            NewEntry::new(manager.actor(), AuditAction::RoleDeleted, &manager.origin)
                .workspace(manager.workspace_id)
                .target(format!("role:{}", role.id))
                .details(json!({ "permissions": permission_keys(&permissions) })),
        )?;
        Ok(role)
    })
}
