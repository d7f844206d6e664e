//! Ending another person's sessions everywhere, with account-wide power (one's own
//! are `accounts::security::sign_out_everywhere`).

use super::members::person_in_reach;
use super::{Manager, TeamResult};
use crate::db::{write_transaction, DbConnection};
use crate::domain::AuditAction;
use crate::store::audit::{self, NewEntry};
use crate::store::{self};

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
