//! Merging two customers (Customer.io's `merge_customers`): the primary takes what it
//! lacks from the secondary, and the secondary's events; then the secondary is deleted
//! by the erasure core's own deletion, so it leaves the search index, the journal and
//! the receipts exactly as a "Delete forever" would. One transaction, one audit entry
//! naming the two internal ids.

use serde_json::{Map, Value};

use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, Identifier, JobKind, MAX_ATTRIBUTES};
use crate::erasure::eraser::Eraser;
use crate::erasure::single::{erase_one, flush_after_commit};
use crate::erasure::suppress::{digests_for, digests_matching_identifier};
use crate::erasure::ErasureError;
use crate::store::audit::{self, NewEntry};
use crate::store::customer_merge::{self, FilledIn, MergeSide};
use crate::store::customer_writes::{self, WriteError};
use crate::store::{erasures, suppressions, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no customer is the primary")]
    PrimaryNotFound,
    #[error("no customer is the secondary")]
    SecondaryNotFound,
    #[error("the primary and the secondary are the same customer")]
    SameCustomer,
    #[error("more than one customer has that email address")]
    Ambiguous,
    #[error("an identifier of the merge is suppressed")]
    Suppressed,
    #[error("a customer of the merge is under legal hold")]
    Held,
    #[error("a customer of the merge is anonymized")]
    Archived,
    #[error("the merged customer would have more than 300 attributes")]
    TooManyAttributes,
}

impl From<diesel::result::Error> for MergeError {
    fn from(err: diesel::result::Error) -> Self {
        MergeError::Store(StoreError::Query(err))
    }
}

impl From<diesel::r2d2::PoolError> for MergeError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        MergeError::Store(StoreError::Pool(err))
    }
}

impl From<WriteError> for MergeError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::Ambiguous => MergeError::Ambiguous,
            WriteError::Store(err) => MergeError::Store(err),
            other => MergeError::Store(StoreError::Inconsistent(other.to_string())),
        }
    }
}

impl From<ErasureError> for MergeError {
    fn from(err: ErasureError) -> Self {
        match err {
            ErasureError::Store(err) => MergeError::Store(err),
            ErasureError::Held => MergeError::Held,
            ErasureError::NotFound => MergeError::SecondaryNotFound,
            ErasureError::Ambiguous => MergeError::Ambiguous,
            other => MergeError::Store(StoreError::Inconsistent(other.to_string())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub primary_id: i64,
    pub secondary_id: i64,
    pub events_moved: i64,
    pub fields_copied: usize,
}

/// Merges `secondary` into `primary` and deletes the secondary. Refused, with nothing
/// changed, when either is missing, suppressed, held or anonymized, or both are one.
pub fn merge_customers(
    conn: &mut DbConnection,
    eraser: &Eraser,
    primary: &Identifier,
    secondary: &Identifier,
) -> Result<Merged, MergeError> {
    let scope = eraser.scope();
    let workspace_id = eraser.workspace.id;
    let merged = write_transaction(conn, |conn| -> Result<Merged, MergeError> {
        // Under the digests' locks, like an identify: a suppression racing the merge
        // either commits first (and refuses it) or waits for it.
        let mut named = digests_matching_identifier(&eraser.secret, primary);
        named.extend(digests_matching_identifier(&eraser.secret, secondary));
        suppressions::lock_digests(conn, &named)?;
        if suppressions::first_suppressed(conn, workspace_id, &named)?.is_some() {
            return Err(MergeError::Suppressed);
        }
        let primary_id =
            customer_writes::resolve(conn, workspace_id, primary)?.ok_or(MergeError::PrimaryNotFound)?;
        let secondary_id =
            customer_writes::resolve(conn, workspace_id, secondary)?.ok_or(MergeError::SecondaryNotFound)?;
        if primary_id == secondary_id {
            return Err(MergeError::SameCustomer);
        }
        // Locked in id order, so two merges of the same pair cannot deadlock.
        for id in [primary_id.min(secondary_id), primary_id.max(secondary_id)] {
            erasures::lock_customer(conn, workspace_id, id)?;
        }
        let primary_side =
            customer_merge::load(conn, workspace_id, primary_id)?.ok_or(MergeError::PrimaryNotFound)?;
        let secondary_side =
            customer_merge::load(conn, workspace_id, secondary_id)?.ok_or(MergeError::SecondaryNotFound)?;
        for side in [&primary_side, &secondary_side] {
            if side.legal_hold_reason.is_some() {
                return Err(MergeError::Held);
            }
            if side.archived_at.is_some() {
                return Err(MergeError::Archived);
            }
            // The identifiers they are stored with, whichever the call named them by.
            let stored = digests_for(
                &eraser.secret,
                side.external_id.as_deref(),
                side.email.as_deref(),
                true,
            );
            if suppressions::first_suppressed(conn, workspace_id, &stored)?.is_some() {
                return Err(MergeError::Suppressed);
            }
        }
        let (filled, fields_copied) = filled_in(&primary_side, &secondary_side)?;
        customer_merge::fill_in(conn, primary_id, &filled)?;
        let events_moved = customer_merge::move_owned_rows(conn, workspace_id, secondary_id, primary_id)?;
        let deletion = erase_one(
            conn,
            &scope,
            eraser.actor,
            JobKind::Delete,
            secondary_id,
            false,
            &eraser.origin,
        )?;
        audit::append(
            conn,
            NewEntry::new(eraser.actor, AuditAction::CustomersMerged, &eraser.origin)
                .workspace(workspace_id)
                .target(format!("customer:{primary_id}"))
                .affected(1)
                .details(serde_json::json!({
                    "primary": primary_id,
                    "secondary": secondary_id,
                    "events_moved": events_moved,
                    "fields_copied": fields_copied,
                    "secondary_deletion_job": deletion.job.id,
                })),
        )?;
        Ok(Merged {
            primary_id,
            secondary_id,
            events_moved,
            fields_copied,
        })
    })?;
    flush_after_commit(conn);
    Ok(merged)
}

/// What the primary takes from the secondary: every field and attribute it has no
/// value for (missing, null or empty), the earlier creation and the later activity.
/// Returns the changes and how many fields and attributes were copied.
fn filled_in(primary: &MergeSide, secondary: &MergeSide) -> Result<(FilledIn, usize), MergeError> {
    let mut copied = 0;
    let mut take = |mine: &Option<String>, theirs: &Option<String>| -> Option<String> {
        let missing = mine.as_deref().is_none_or(str::is_empty);
        match theirs {
            Some(value) if missing && !value.is_empty() => {
                copied += 1;
                Some(value.clone())
            }
            _ => None,
        }
    };
    let email = take(&primary.email, &secondary.email);
    let phone = take(&primary.phone, &secondary.phone);
    let name = take(&primary.name, &secondary.name);
    let country = take(&primary.country, &secondary.country);
    let city = take(&primary.city, &secondary.city);
    let mut attributes = attributes_of(primary)?;
    let mut attributes_copied = 0;
    for (key, value) in attributes_of(secondary)? {
        let missing = match attributes.get(&key) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(_) => false,
        };
        if missing && !value.is_null() {
            attributes.insert(key, value);
            attributes_copied += 1;
        }
    }
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(MergeError::TooManyAttributes);
    }
    let filled = FilledIn {
        email,
        phone,
        name,
        country,
        city,
        attributes: (attributes_copied > 0).then(|| Value::Object(attributes).to_string()),
        created_at: (secondary.created_at < primary.created_at).then_some(secondary.created_at),
        last_seen_at: (secondary.last_seen_at > primary.last_seen_at).then_some(secondary.last_seen_at),
    };
    Ok((filled, copied + attributes_copied))
}

fn attributes_of(side: &MergeSide) -> Result<Map<String, Value>, MergeError> {
    serde_json::from_str(&side.attributes).map_err(|_| {
        StoreError::Inconsistent(format!("customer {} has unreadable attributes", side.id)).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use serde_json::json;

    fn at(seconds: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(seconds, 0).unwrap().naive_utc()
    }

    fn side(id: i64, email: Option<&str>, name: Option<&str>, attributes: Value, seen: i64) -> MergeSide {
        MergeSide {
            id,
            external_id: Some(format!("c{id}")),
            email: email.map(str::to_owned),
            phone: None,
            name: name.map(str::to_owned),
            country: None,
            city: Some(String::new()),
            attributes: attributes.to_string(),
            created_at: at(1_000 * id),
            last_seen_at: at(seen),
            archived_at: None,
            legal_hold_reason: None,
        }
    }

    #[test]
    fn the_primary_keeps_its_values_and_takes_only_what_it_lacks() {
        let primary = side(
            2,
            None,
            Some("Primary"),
            json!({ "plan": "pro", "empty": "", "gone": null }),
            5_000,
        );
        let mut secondary = side(
            1,
            Some("s@example.com"),
            Some("Secondary"),
            json!({ "plan": "free", "empty": "x", "gone": 3, "extra": true, "nothing": null }),
            9_000,
        );
        secondary.city = Some("Oslo".into());
        let (filled, copied) = filled_in(&primary, &secondary).unwrap();
        assert_eq!(filled.email.as_deref(), Some("s@example.com"));
        assert_eq!(filled.name, None, "the primary's name wins");
        assert_eq!(
            filled.city.as_deref(),
            Some("Oslo"),
            "an empty value counts as none"
        );
        let attributes: Value = serde_json::from_str(filled.attributes.as_deref().unwrap()).unwrap();
        assert_eq!(
            attributes,
            json!({ "plan": "pro", "empty": "x", "gone": 3, "extra": true })
        );
        assert_eq!(copied, 2 + 3);
        assert_eq!(filled.created_at, Some(at(1_000)), "the earlier creation");
        assert_eq!(filled.last_seen_at, Some(at(9_000)), "the later activity");
    }

    #[test]
    fn nothing_to_take_changes_nothing() {
        let primary = side(1, Some("p@example.com"), Some("P"), json!({ "a": 1 }), 9_000);
        let secondary = side(2, Some("s@example.com"), None, json!({ "a": 2 }), 5_000);
        let (filled, copied) = filled_in(&primary, &secondary).unwrap();
        assert_eq!(copied, 0);
        assert!(filled.email.is_none() && filled.attributes.is_none());
        assert!(filled.created_at.is_none() && filled.last_seen_at.is_none());
    }

    #[test]
    fn a_merge_past_the_attribute_limit_is_refused() {
        let many =
            |prefix: &str| Value::Object((0..200).map(|n| (format!("{prefix}{n}"), json!(n))).collect());
        let primary = side(1, None, None, many("a"), 0);
        let secondary = side(2, None, None, many("b"), 0);
        assert!(matches!(
            filled_in(&primary, &secondary),
            Err(MergeError::TooManyAttributes)
        ));
    }
}
