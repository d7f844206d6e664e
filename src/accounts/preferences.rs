//! The signed-in person's own preferences: how the console shows them its pages.

use super::{Account, AccountResult};
use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, TimeZone};
use crate::store::audit::{self, NewEntry};
use crate::store::{self, StoreError};

/// Sets the zone the person reads times in, with one audit entry naming the zone (a
/// setting of the console's user, never a customer's data). True when it changed;
/// choosing the zone one has already changes and records nothing.
pub fn set_time_zone(conn: &mut DbConnection, account: &Account, zone: TimeZone) -> AccountResult<bool> {
    Ok(write_transaction(conn, |conn| -> Result<bool, StoreError> {
        if !store::users::set_time_zone(conn, account.user_id, zone)? {
            return Ok(false);
        }
        audit::append(
            conn,
            NewEntry::new(account.actor(), AuditAction::TimeZoneChanged, &account.origin)
                .target(account.target())
                .details(serde_json::json!({ "time_zone": zone.name() })),
        )?;
        Ok(true)
    })?)
}
