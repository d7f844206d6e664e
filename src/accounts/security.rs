//! The signed-in person's own sessions.

use super::{Account, AccountResult};
use crate::db::{write_transaction, DbConnection};
use crate::domain::AuditAction;
use crate::store::audit::{self, NewEntry};
use crate::store::{self, StoreError};

/// Ends every session of the person, the current one included. Returns how many
/// ended.
pub fn sign_out_everywhere(conn: &mut DbConnection, account: &Account) -> AccountResult<usize> {
    Ok(write_transaction(conn, |conn| -> Result<usize, StoreError> {
        let ended = store::sessions::delete_for_user(conn, account.user_id)?;
        audit::append(
            conn,
            NewEntry::new(account.actor(), AuditAction::SessionsRevoked, &account.origin)
                .target(account.target())
                .affected(ended as i64),
        )?;
        Ok(ended)
    })?)
}
