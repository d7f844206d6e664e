//! Ending someone's sessions everywhere: one's own, or, with account-wide power,
//! another person's.

use super::members::person_in_reach;
use super::{Manager, TeamResult};
use crate::db::{write_transaction, DbConnection};
use crate::domain::AuditAction;
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::{self};

/// Ends every session of `user_id`, the one asking included. Returns how many ended.
pub fn sign_out_everywhere(
    conn: &mut DbConnection,
    user_id: i64,
    origin: &RequestOrigin,
) -> TeamResult<usize> {
    write_transaction(conn, |conn| {
        let ended = store::sessions::delete_for_user(conn, user_id)?;
        audit::append(
            conn,
            NewEntry::new(Actor::User(user_id), AuditAction::SessionsRevoked, origin)
                .target(format!("user:{user_id}"))
                .affected(ended as i64),
        )?;
        Ok(ended)
    })
}

/// Ends every session of another member: they reach every workspace with them, so
/// this needs account-wide power, like disabling. Returns the member's name and how
/// many sessions ended.
pub fn sign_out_member(
    conn: &mut DbConnection,
    manager: &Manager,
    user_id: i64,
) -> TeamResult<(String, usize)> {
    write_transaction(conn, |conn| {
        let member = person_in_reach(conn, manager, user_id)?;
        let ended = store::sessions::delete_for_user(conn, member.user.id)?;
        audit::append(
            conn,
            NewEntry::new(manager.actor(), AuditAction::SessionsRevoked, &manager.origin)
                .target(format!("user:{}", member.user.id))
                .affected(ended as i64),
        )?;
        Ok((member.user.name, ended))
    })
}
