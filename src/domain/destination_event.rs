use std::fmt;

/// What a destination may subscribe to: each erasure a downstream system must hear of.
/// The keys are stored and sent; they never change once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DestinationEvent {
    CustomerDeleted,
    CustomerArchived,
    IdentifiersSuppressed,
    IdentifiersUnsuppressed,
    DeleteAllFinished,
}

impl DestinationEvent {
    pub const ALL: [DestinationEvent; 5] = [
        DestinationEvent::CustomerDeleted,
        DestinationEvent::CustomerArchived,
        DestinationEvent::IdentifiersSuppressed,
        DestinationEvent::IdentifiersUnsuppressed,
        DestinationEvent::DeleteAllFinished,
    ];

    /// The event's `type` when it names one customer, and the subscription's key.
    pub const fn key(self) -> &'static str {
        match self {
            DestinationEvent::CustomerDeleted => "customer.deleted",
            DestinationEvent::CustomerArchived => "customer.archived",
            DestinationEvent::IdentifiersSuppressed => "identifiers.suppressed",
            DestinationEvent::IdentifiersUnsuppressed => "identifiers.unsuppressed",
            DestinationEvent::DeleteAllFinished => "delete_all.finished",
        }
    }

    /// The `type` of an event that lists the customers of one batch of a job.
    pub const fn bulk_key(self) -> &'static str {
        match self {
            DestinationEvent::CustomerDeleted => "customers.deleted",
            DestinationEvent::CustomerArchived => "customers.archived",
            other => other.key(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DestinationEvent::CustomerDeleted => "Customer deleted",
            DestinationEvent::CustomerArchived => "Customer archived",
            DestinationEvent::IdentifiersSuppressed => "Identifiers suppressed",
            DestinationEvent::IdentifiersUnsuppressed => "Identifiers unsuppressed",
            DestinationEvent::DeleteAllFinished => "Delete all finished",
        }
    }

    pub fn parse(key: &str) -> Option<DestinationEvent> {
        Self::ALL.into_iter().find(|e| e.key() == key)
    }
}

impl fmt::Display for DestinationEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The events one destination wants: never empty, stored as space-separated keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationEvents(Vec<DestinationEvent>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DestinationEventsError {
    #[error("Choose at least one event to send.")]
    Empty,
    #[error("There is no event called {0:?}.")]
    Unknown(String),
}

impl DestinationEvents {
    /// From the keys a form or the database gives, in any order, repeated or not.
    pub fn parse<'a>(keys: impl IntoIterator<Item = &'a str>) -> Result<Self, DestinationEventsError> {
        let mut events = Vec::new();
        for key in keys {
            let key = key.trim();
            if key.is_empty() {
                continue;
            }
            let event = DestinationEvent::parse(key)
                .ok_or_else(|| DestinationEventsError::Unknown(key.to_owned()))?;
            if !events.contains(&event) {
                events.push(event);
            }
        }
        if events.is_empty() {
            return Err(DestinationEventsError::Empty);
        }
        events.sort();
        Ok(DestinationEvents(events))
    }

    pub fn from_stored(text: &str) -> Result<Self, DestinationEventsError> {
        Self::parse(text.split(' '))
    }

    pub fn stored(&self) -> String {
        self.0.iter().map(|e| e.key()).collect::<Vec<_>>().join(" ")
    }

    pub fn contains(&self, event: DestinationEvent) -> bool {
        self.0.contains(&event)
    }

    pub fn iter(&self) -> impl Iterator<Item = DestinationEvent> + '_ {
        self.0.iter().copied()
    }
}

/// Where an event is on its way to one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Given up after the retry window; the owner can resend it.
    Failed,
    /// Its destination was removed before it was delivered.
    Dropped,
}

impl DeliveryState {
    pub const fn key(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Dropped => "dropped",
        }
    }

    pub fn parse(key: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
            DeliveryState::Dropped,
        ]
        .into_iter()
        .find(|s| s.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            DeliveryState::Pending => "Pending",
            DeliveryState::Delivered => "Delivered",
            DeliveryState::Failed => "Failed",
            DeliveryState::Dropped => "Dropped",
        }
    }
}

/// Why a destination receives nothing for now; none while it is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PausedReason {
    /// Paused by hand.
    Owner,
    /// Every attempt failed for the whole retry window.
    Failing,
    /// It answered 410 Gone: the receiver asked to hear no more.
    Gone,
}

impl PausedReason {
    pub const fn key(self) -> &'static str {
        match self {
            PausedReason::Owner => "owner",
            PausedReason::Failing => "failing",
            PausedReason::Gone => "gone",
        }
    }

    pub fn parse(key: &str) -> Option<PausedReason> {
        [PausedReason::Owner, PausedReason::Failing, PausedReason::Gone]
            .into_iter()
            .find(|r| r.key() == key)
    }

    pub fn describe(self) -> &'static str {
        match self {
            PausedReason::Owner => "Paused",
            PausedReason::Failing => "Paused: every delivery failed for three days",
            PausedReason::Gone => "Disabled: the receiver answered 410 Gone",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_round_trip_sorted_and_without_repeats() {
        let events =
            DestinationEvents::parse(["identifiers.suppressed", "customer.deleted", "customer.deleted"])
                .unwrap();
        assert_eq!(events.stored(), "customer.deleted identifiers.suppressed");
        assert_eq!(DestinationEvents::from_stored(&events.stored()).unwrap(), events);
        assert!(events.contains(DestinationEvent::CustomerDeleted));
        assert!(!events.contains(DestinationEvent::DeleteAllFinished));
    }

    #[test]
    fn no_event_or_an_unknown_one_is_refused_with_words() {
        assert_eq!(DestinationEvents::parse([]), Err(DestinationEventsError::Empty));
        assert_eq!(
            DestinationEvents::parse([" "]),
            Err(DestinationEventsError::Empty)
        );
        assert_eq!(
            DestinationEvents::parse(["customer.renamed"]),
            Err(DestinationEventsError::Unknown("customer.renamed".into()))
        );
    }

    #[test]
    fn a_batch_of_a_job_is_named_in_the_plural() {
        assert_eq!(DestinationEvent::CustomerDeleted.bulk_key(), "customers.deleted");
        assert_eq!(
            DestinationEvent::CustomerArchived.bulk_key(),
            "customers.archived"
        );
        assert_eq!(
            DestinationEvent::DeleteAllFinished.bulk_key(),
            "delete_all.finished"
        );
        for event in DestinationEvent::ALL {
            assert_eq!(DestinationEvent::parse(event.key()), Some(event));
        }
        for state in ["pending", "delivered", "failed", "dropped"] {
            assert_eq!(DeliveryState::parse(state).unwrap().key(), state);
        }
        for reason in ["owner", "failing", "gone"] {
            assert_eq!(PausedReason::parse(reason).unwrap().key(), reason);
        }
    }
}
