//! Changing, disabling and removing the members of a workspace.

use serde_json::json;

use super::{permission_keys, AccountPower, Manager, TeamError, TeamResult, OUT_OF_REACH};
use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, BuiltinRole};
use crate::store::audit::{self, NewEntry};
use crate::store::memberships::Member;
use crate::store::{self};

/// The member, if the manager may act on them at all.
fn member_in_reach(conn: &mut DbConnection, manager: &Manager, user_id: i64) -> TeamResult<Member> {
    let member =
        store::memberships::find_member(conn, manager.workspace_id, user_id)?.ok_or(TeamError::NotFound)?;
    if !manager.reaches(&member.role.permission_set()) {
        return Err(TeamError::Refused(OUT_OF_REACH.into()));
    }
    Ok(member)
}

/// True when `member` is the only owner who can still sign in.
fn is_last_owner(conn: &mut DbConnection, member: &Member) -> TeamResult<bool> {
    Ok(member.user.is_owner && !member.user.disabled && store::users::count_enabled_owners(conn)? <= 1)
}

/// Gives a member another role. The owner keeps the Owner role, and the Owner role
/// comes only with ownership: both change hands only by transferring ownership.
pub fn change_role(conn: &mut DbConnection, manager: &Manager, user_id: i64, role_id: i64) -> TeamResult<()> {
    write_transaction(conn, |conn| {
        let member = member_in_reach(conn, manager, user_id)?;
        let role = store::roles::find_in_workspace(conn, manager.workspace_id, role_id)?
            .ok_or_else(|| TeamError::Refused("Choose a role from the list.".into()))?;
        if role.id == member.role.id {
            return Ok(());
        }
        if member.user.is_owner {
            return Err(TeamError::Refused(format!(
                "{} is the account owner and keeps the Owner role. To hand it over, use Transfer ownership.",
                member.user.name
            )));
        }
        if role.builtin_role() == Some(BuiltinRole::Owner) {
            return Err(TeamError::Refused(
                "The Owner role comes only with ownership. Use Transfer ownership instead.".into(),
            ));
        }
        let granted = role.permission_set();
        if !manager.reaches(&granted) {
            return Err(TeamError::Refused(OUT_OF_REACH.into()));
        }
        store::memberships::set_role(conn, member.user.id, manager.workspace_id, role.id)?;
        audit::append(
            conn,
            NewEntry::new(manager.actor(), AuditAction::MemberRoleChanged, &manager.origin)
                .workspace(manager.workspace_id)
                .target(format!("user:{}", member.user.id))
                .details(json!({
                    "from_role": member.role.id,
                    "to_role": role.id,
                    "permissions": permission_keys(&granted),
                })),
        )?;
        Ok(())
    })
}

/// A member someone with account-wide power may act on as a person (not only as a
/// member of this workspace): the owner reaches everyone, an account admin everyone but
/// the owner and the other account admins.
pub(super) fn person_in_reach(
    conn: &mut DbConnection,
    manager: &Manager,
    user_id: i64,
) -> TeamResult<Member> {
    manager.require_account_power()?;
    let member = member_in_reach(conn, manager, user_id)?;
    if member.user.id != manager.user_id && manager.account_power != AccountPower::Owner {
        if member.user.is_owner {
            return Err(TeamError::Refused(format!(
                "{} is the account owner and cannot be disabled or signed out by anyone else.",
                member.user.name
            )));
        }
        if member.user.is_account_admin {
            return Err(TeamError::Refused(format!(
                "{} is an account admin: only the account owner can do this.",
                member.user.name
            )));
        }
    }
    Ok(member)
}

/// Disables or enables a member's account. Disabling ends all their sessions in the
/// same transaction, so their next request already finds them signed out. An account
/// is one person across workspaces, so the entry names no workspace, and only someone
/// with account-wide power may do it: a workspace's admin removes people from it.
pub fn set_disabled(
    conn: &mut DbConnection,
    manager: &Manager,
    user_id: i64,
    disabled: bool,
) -> TeamResult<Member> {
    write_transaction(conn, |conn| {
        let member = person_in_reach(conn, manager, user_id)?;
        if member.user.disabled == disabled {
            return Ok(member);
        }
        if disabled && member.user.id == manager.user_id {
            return Err(TeamError::Refused("You cannot disable your own account.".into()));
        }
        if disabled && is_last_owner(conn, &member)? {
            return Err(TeamError::Refused(format!(
                "{} is the account owner and cannot be disabled. Transfer ownership to someone else first.",
                member.user.name
            )));
        }
        store::users::set_disabled(conn, member.user.id, disabled)?;
        let ended = if disabled {
            store::sessions::delete_for_user(conn, member.user.id)?
        } else {
            0
        };
        let action = if disabled {
            AuditAction::MemberDisabled
        } else {
            AuditAction::MemberEnabled
        };
        audit::append(
            conn,
            NewEntry::new(manager.actor(), action, &manager.origin)
                .target(format!("user:{}", member.user.id))
                .affected(ended as i64)
                .details(json!({ "sessions_ended": ended })),
        )?;
        Ok(member)
    })
}

/// Takes a member out of this workspace. Someone left with no workspace at all has
/// nothing to be signed in for, so their sessions end too.
pub fn remove_member(conn: &mut DbConnection, manager: &Manager, user_id: i64) -> TeamResult<Member> {
    write_transaction(conn, |conn| {
        let member = member_in_reach(conn, manager, user_id)?;
        if is_last_owner(conn, &member)? {
            return Err(TeamError::Refused(format!(
                "{} is the account owner and cannot be removed. Transfer ownership to someone else first.",
                member.user.name
            )));
        }
        store::memberships::delete(conn, member.user.id, manager.workspace_id)?;
        let ended = if store::memberships::count_for_user(conn, member.user.id)? == 0 {
            store::sessions::delete_for_user(conn, member.user.id)?
        } else {
            0
        };
        audit::append(
            conn,
            NewEntry::new(manager.actor(), AuditAction::MemberRemoved, &manager.origin)
                .workspace(manager.workspace_id)
                .target(format!("user:{}", member.user.id))
                .affected(ended as i64)
                .details(json!({ "role": member.role.id, "sessions_ended": ended })),
        )?;
        Ok(member)
    })
}

/// Names a member an account admin, or takes that back. Only the account owner may,
/// and the owner needs no such title. The entry names no workspace: the power is the
/// account's.
pub fn set_account_admin(
    conn: &mut DbConnection,
    manager: &Manager,
    user_id: i64,
    account_admin: bool,
) -> TeamResult<Member> {
    write_transaction(conn, |conn| {
        if manager.account_power != AccountPower::Owner {
            return Err(TeamError::Refused(
                "Only the account owner can name or remove account admins.".into(),
            ));
        }
        let member = store::memberships::find_member(conn, manager.workspace_id, user_id)?
            .ok_or(TeamError::NotFound)?;
        if member.user.is_owner {
            return Err(TeamError::Refused(
                "The account owner already holds every account-wide power.".into(),
            ));
        }
        if member.user.is_account_admin == account_admin {
            return Ok(member);
        }
        if account_admin && member.user.disabled {
            return Err(TeamError::Refused(format!(
                "{} is disabled. Enable them before making them an account admin.",
                member.user.name
            )));
        }
        store::users::set_account_admin(conn, member.user.id, account_admin)?;
        let action = if account_admin {
            AuditAction::AccountAdminGranted
        } else {
            AuditAction::AccountAdminRevoked
        };
        audit::append(
            conn,
            NewEntry::new(manager.actor(), action, &manager.origin)
                .target(format!("user:{}", member.user.id)),
        )?;
        Ok(member)
    })
}
