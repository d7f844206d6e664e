//! Anonymous events: what a device sends before its person is identified. They are
//! personal data like any event (their `data` may name someone), so they are kept under
//! a keyed digest of the anonymous id, given to the customer whose identify carries the
//! same id (`store::customer_writes::identify_claiming`), and purged when nobody claimed
//! them within 30 days, the window in which Customer.io associates them.

use chrono::Duration;

use crate::db::{write_transaction, DbConnection};
use crate::domain::{AnonymousEvent, AnonymousId};
use crate::erasure::single::flush_after_commit;
use crate::secret::SecretKey;
use crate::store::{anonymous_events, now, StoreResult};

/// How long an anonymous event waits for its person to be identified.
pub const UNCLAIMED_FOR: Duration = Duration::days(30);

/// The keyed digest an anonymous id is stored and claimed under.
pub fn anonymous_digest(secret: &SecretKey, anonymous_id: &AnonymousId) -> String {
    secret.digest("anonymous_id", anonymous_id.as_str().as_bytes())
}

/// Stores one anonymous event of the workspace.
pub fn record_anonymous_event(
    conn: &mut DbConnection,
    secret: &SecretKey,
    workspace_id: i64,
    anonymous: &AnonymousEvent,
) -> StoreResult<()> {
    let digest = anonymous_digest(secret, &anonymous.anonymous_id);
    write_transaction(conn, |conn| {
        anonymous_events::insert(conn, workspace_id, &digest, &anonymous.event, now())
    })
}

/// Removes the anonymous events that arrived longer than [`UNCLAIMED_FOR`] ago and
/// were never claimed, then flushes the freed pages like an erasure; returns how many.
pub fn purge_unclaimed_anonymous_events(conn: &mut DbConnection) -> StoreResult<usize> {
    let cutoff = now() - UNCLAIMED_FOR;
    let purged = write_transaction(conn, |conn| {
        anonymous_events::delete_received_before(conn, cutoff)
    })?;
    if purged > 0 {
        flush_after_commit(conn);
    }
    Ok(purged)
}
