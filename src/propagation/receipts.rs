//! What a receipt says of the destinations: per destination, whether every event of the
//! erasure was delivered, is still on its way, or was given up, and when it was last
//! attempted.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::DeliveryState;
use crate::store::outbox::OutboxEvent;
use crate::store::{destinations, outbox, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationTold {
    pub destination_id: i64,
    pub name: String,
    pub removed: bool,
    pub events: i64,
    pub delivered: i64,
    pub pending: i64,
    pub failed: i64,
    pub dropped: i64,
    pub last_attempt: Option<NaiveDateTime>,
}

impl DestinationTold {
    /// The one word for the whole: failed beats pending beats delivered.
    pub fn state(&self) -> DeliveryState {
        if self.failed > 0 {
            DeliveryState::Failed
        } else if self.pending > 0 {
            DeliveryState::Pending
        } else if self.dropped > 0 {
            DeliveryState::Dropped
        } else {
            DeliveryState::Delivered
        }
    }
}

/// Every destination told of the erasure with this receipt, in the order they were added.
pub fn told_for_receipt(
    conn: &mut DbConnection,
    workspace_id: i64,
    receipt_id: &str,
) -> StoreResult<Vec<DestinationTold>> {
    let events = outbox::for_receipt(conn, workspace_id, receipt_id)?;
    let mut told = tally(&events);
    for entry in &mut told {
        if let Some(destination) = destinations::find_any(conn, workspace_id, entry.destination_id)? {
            entry.name = destination.name;
            entry.removed = destination.removed_at.is_some();
        }
    }
    Ok(told)
}

fn tally(events: &[OutboxEvent]) -> Vec<DestinationTold> {
    let mut by_destination: BTreeMap<i64, DestinationTold> = BTreeMap::new();
    for event in events {
        let entry = by_destination
            .entry(event.destination_id)
            .or_insert_with(|| DestinationTold {
                destination_id: event.destination_id,
                name: format!("destination #{}", event.destination_id),
                removed: false,
                events: 0,
                delivered: 0,
                pending: 0,
                failed: 0,
                dropped: 0,
                last_attempt: None,
            });
        entry.events += 1;
        match event.delivery_state() {
            DeliveryState::Delivered => entry.delivered += 1,
            DeliveryState::Pending => entry.pending += 1,
            DeliveryState::Failed => entry.failed += 1,
            DeliveryState::Dropped => entry.dropped += 1,
        }
        entry.last_attempt = entry.last_attempt.max(event.last_attempt_at);
    }
    by_destination.into_values().collect()
}
