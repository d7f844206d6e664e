//! What an audit entry did, in words ("259 customers deleted, 2,480 events removed;
//! 1 skipped on legal hold"), and the receipt it names as a link: read from the
//! entry's count and details, which hold ids and numbers only.

use serde_json::Value;

use crate::domain::{AuditAction, JobKind, JobState};
use crate::format::{count, thousands};

/// An entry's result as the audit page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryResult {
    pub words: String,
    /// The erasure's receipt: its page and its id.
    pub receipt: Option<(String, String)>,
}

fn number(details: &Value, key: &str) -> i64 {
    details.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// "; 3 skipped on legal hold; 2 already gone", the parts that are not zero.
fn skipped(details: &Value) -> String {
    let mut parts = String::new();
    for (key, words) in [
        ("skipped_legal_hold", "skipped on legal hold"),
        ("skipped_already_gone", "already gone"),
        ("skipped_already_anonymous", "already anonymous"),
    ] {
        let n = number(details, key);
        if n > 0 {
            parts.push_str(&format!("; {} {words}", thousands(n)));
        }
    }
    parts
}

/// ", 12 events and 1 device removed", or nothing when none were.
fn removed(details: &Value) -> String {
    let events = number(details, "events_removed");
    let devices = number(details, "devices_removed");
    match (events, devices) {
        (0, 0) => String::new(),
        (events, 0) => format!(", {} removed", count(events, "event", "events")),
        (0, devices) => format!(", {} removed", count(devices, "device", "devices")),
        (events, devices) => format!(
            ", {} and {} removed",
            count(events, "event", "events"),
            count(devices, "device", "devices")
        ),
    }
}

/// The job's kind the entry names, read as the domain type.
fn job_kind(details: &Value) -> Option<JobKind> {
    details
        .get("kind")
        .and_then(Value::as_str)
        .and_then(JobKind::parse)
}

/// " (cancelled; …)" for a job stopped before its end.
fn ended(details: &Value) -> &'static str {
    match details
        .get("state")
        .and_then(Value::as_str)
        .and_then(JobState::parse)
    {
        Some(JobState::Cancelled) => " (cancelled; what was done until then)",
        _ => "",
    }
}

fn replayed(details: &Value) -> &'static str {
    if details.get("replay").and_then(Value::as_bool) == Some(true) {
        " again, after a restore"
    } else {
        ""
    }
}

/// A receipt id as the erasure core makes them (`rcpt_` and letters and digits): only
/// such an id becomes a link.
fn receipt_id(details: &Value) -> Option<&str> {
    let id = details
        .get("receipt")
        .or_else(|| details.get("deleted_customer"))
        .and_then(Value::as_str)?;
    let rest = id.strip_prefix("rcpt_")?;
    (!rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric())).then_some(id)
}

/// The result of the entry of `action` (a stored key that parses, or `None`) with its
/// count and details, on the pages of the workspace at `base`.
pub fn describe(action: Option<AuditAction>, affected: i64, details: &str, base: &str) -> EntryResult {
    use AuditAction::*;
    let details: Value = serde_json::from_str(details).unwrap_or(Value::Null);
    let customers = |n: i64| count(n, "customer", "customers");
    let words = match action {
        Some(CustomerDeleted) => format!(
            "{} deleted{}{}{}{}",
            customers(affected),
            replayed(&details),
            removed(&details),
            skipped(&details),
            ended(&details)
        ),
        Some(CustomerArchived) => format!(
            "{} archived{}{}{}{}",
            customers(affected),
            replayed(&details),
            removed(&details),
            skipped(&details),
            ended(&details)
        ),
        Some(IdentifierSuppressed) => match details.get("customers").and_then(Value::as_i64) {
            Some(n) => format!("identifiers of {} suppressed, deleted with them", customers(n)),
            None if !replayed(&details).is_empty() => {
                format!(
                    "{} suppressed again, after a restore",
                    count(affected, "identifier", "identifiers")
                )
            }
            None => {
                let mut words = format!(
                    "{} added to the suppression list",
                    count(affected, "entry", "entries")
                );
                if details.get("deleted_customer").and_then(Value::as_str).is_some() {
                    words.push_str("; the customer who had it deleted");
                }
                words
            }
        },
        Some(JobStarted) => match job_kind(&details) {
            Some(JobKind::Import) => format!("{} to import", count(affected, "row", "rows")),
            Some(JobKind::Archive) => format!("{} to archive", customers(affected)),
            _ => format!("{} to delete", customers(affected)),
        },
        Some(JobFinished | JobCancelled) => match job_kind(&details) {
            Some(JobKind::Import) => format!("{} imported", count(affected, "row", "rows")),
            kind => format!(
                "{} of {} {}",
                thousands(affected),
                customers(number(&details, "previewed")),
                kind.unwrap_or(JobKind::Delete).past_tense()
            ),
        },
        Some(CustomersImported) => format!("{} imported", customers(affected)),
        Some(CustomersMerged) => "2 customers made one".to_owned(),
        Some(ErasuresReplayed) => format!(
            "{} deleted and {} archived again",
            customers(number(&details, "deleted_again")),
            thousands(number(&details, "archived_again"))
        ),
        _ if affected != 0 => thousands(affected),
        _ => String::new(),
    };
    EntryResult {
        words,
        receipt: receipt_id(&details).map(|id| (format!("{base}/receipts/{id}"), id.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "/w/acme";

    #[test]
    fn a_bulk_deletion_reads_as_its_counts_with_its_receipt() {
        let details = r#"{"job": 7, "kind": "delete_all", "state": "done", "previewed": 277668,
            "skipped_legal_hold": 1, "skipped_already_gone": 0, "skipped_already_anonymous": 0,
            "events_removed": 2480000, "devices_removed": 1, "suppressed": false,
            "receipt": "rcpt_abc123"}"#;
        let result = describe(Some(AuditAction::CustomerDeleted), 277_667, details, BASE);
        assert_eq!(
            result.words,
            "277,667 customers deleted, 2,480,000 events and 1 device removed; 1 skipped on legal hold"
        );
        assert_eq!(
            result.receipt,
            Some(("/w/acme/receipts/rcpt_abc123".into(), "rcpt_abc123".into()))
        );
    }

    #[test]
    fn a_cancelled_archive_says_so() {
        let details = r#"{"state": "cancelled", "skipped_already_anonymous": 2, "receipt": "rcpt_x1"}"#;
        let result = describe(Some(AuditAction::CustomerArchived), 1, details, BASE);
        assert_eq!(
            result.words,
            "1 customer archived; 2 already anonymous (cancelled; what was done until then)"
        );
    }

    #[test]
    fn suppressions_say_whose_identifiers_and_link_the_deletion() {
        let with_deletion = describe(
            Some(AuditAction::IdentifierSuppressed),
            259,
            r#"{"customers": 259, "receipt": "rcpt_j0b"}"#,
            BASE,
        );
        assert_eq!(
            with_deletion.words,
            "identifiers of 259 customers suppressed, deleted with them"
        );
        assert!(with_deletion.receipt.is_some());
        let by_hand = describe(
            Some(AuditAction::IdentifierSuppressed),
            2,
            r#"{"kinds": ["email", "id"], "reason": "manual", "deleted_customer": "rcpt_c0"}"#,
            BASE,
        );
        assert_eq!(
            by_hand.words,
            "2 entries added to the suppression list; the customer who had it deleted"
        );
        assert_eq!(by_hand.receipt.unwrap().0, "/w/acme/receipts/rcpt_c0");
    }

    #[test]
    fn only_receipt_ids_become_links() {
        for odd in [
            r#"{"receipt": "../settings"}"#,
            r#"{"receipt": "rcpt_"}"#,
            r#"{"receipt": 3}"#,
            "not json",
        ] {
            assert_eq!(
                describe(Some(AuditAction::CustomerDeleted), 1, odd, BASE).receipt,
                None,
                "{odd}"
            );
        }
    }

    #[test]
    fn replays_and_other_actions_read_as_words() {
        let replay = describe(Some(AuditAction::CustomerDeleted), 4, r#"{"replay": true}"#, BASE);
        assert_eq!(replay.words, "4 customers deleted again, after a restore");
        assert_eq!(
            describe(Some(AuditAction::SignInSucceeded), 0, "{}", BASE).words,
            ""
        );
        assert_eq!(describe(None, 12_000, "{}", BASE).words, "12,000");
        let finished = describe(
            Some(AuditAction::JobFinished),
            3,
            r#"{"kind": "archive", "previewed": 4}"#,
            BASE,
        );
        assert_eq!(finished.words, "3 of 4 customers archived");
    }
}
