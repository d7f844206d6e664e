//! Legal hold: a held customer is never deleted or archived, by any path.

use crate::db::{write_transaction, DbConnection};
use crate::domain::AuditAction;
use crate::erasure::eraser::Eraser;
use crate::erasure::ErasureError;
use crate::store::audit::{self, NewEntry};
use crate::store::erasures;

/// Sets (`Some(reason)`) or releases (`None`) the hold on one customer, with its audit
/// entry (the reason stays on the profile, never in the log). NotFound when there is
/// no such customer in the workspace.
pub fn set_legal_hold(
    conn: &mut DbConnection,
    eraser: &Eraser,
    customer_id: i64,
    reason: Option<&str>,
) -> Result<(), ErasureError> {
    write_transaction(conn, |conn| {
        if !erasures::set_legal_hold(conn, eraser.workspace.id, customer_id, reason)? {
            return Err(ErasureError::NotFound);
        }
        let action = if reason.is_some() {
            AuditAction::LegalHoldSet
        } else {
            AuditAction::LegalHoldReleased
        };
        audit::append(
            conn,
            NewEntry::new(eraser.actor, action, &eraser.origin)
                .workspace(eraser.workspace.id)
                .target(format!("customer:{customer_id}"))
                .affected(1),
        )?;
        Ok(())
    })
}
