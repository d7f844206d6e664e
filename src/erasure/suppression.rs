//! Suppressing and unsuppressing identifiers, from the suppression list's page and the
//! Track API alike: one function each, so that both keep the same guarantees.

use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, DestinationEvent, Identifier, JobKind};
use crate::erasure::eraser::Eraser;
use crate::erasure::journal::JournalEntry;
use crate::erasure::outgoing::{self, JobRef};
use crate::erasure::pending_imports::{forget_in_pending_imports, Forgotten};
use crate::erasure::single::{erase_one, flush_after_commit, SingleErasure};
use crate::erasure::suppress::digests_of_identifier;
use crate::erasure::ErasureError;
use crate::store::audit::{self, NewEntry};
use crate::store::{customer_writes, suppressions};

/// What suppressing did.
pub struct Suppressed {
    /// Digests added now (0 when the identifier was suppressed already).
    pub added: i64,
    /// The customer the identifier named, deleted forever with all their identifiers
    /// suppressed; `None` when nobody had it.
    pub deleted: Option<SingleErasure>,
}

/// Suppresses an identifier so that no API call or import can add it again. A customer
/// it names is deleted forever first, all their identifiers suppressed with it, then
/// the identifier's own digests are added. One transaction, the journal synced before
/// it commits, one audit entry for the suppression (and the deletion's own), and the
/// erased pages flushed after it. Idempotent.
pub fn suppress_identifier(
    conn: &mut DbConnection,
    eraser: &Eraser,
    identifier: &Identifier,
    reason: &str,
) -> Result<Suppressed, ErasureError> {
    let workspace_id = eraser.workspace.id;
    let digests = digests_of_identifier(&eraser.secret, identifier);
    let outcome = write_transaction(conn, |conn| -> Result<Suppressed, ErasureError> {
        // The same per-identifier locks an identify takes: a write racing this either
        // commits first (and is deleted below) or sees the suppression.
        suppressions::lock_digests(conn, &digests)?;
        // Counted before the deletion, which may add some of the same digests itself.
        let mut added = 0;
        for (kind, digest) in &digests {
            if suppressions::find(conn, workspace_id, kind, digest)?.is_none() {
                added += 1;
            }
        }
        let deleted = match customer_writes::resolve(conn, workspace_id, identifier)? {
            Some(customer_id) => Some(erase_one(
                conn,
                &eraser.scope(),
                eraser.actor,
                JobKind::Delete,
                customer_id,
                true,
                &eraser.origin,
            )?),
            None => None,
        };
        for (kind, digest) in &digests {
            suppressions::add(conn, workspace_id, kind, digest, reason, &eraser.label())?;
        }
        // A pending import row naming the identifier goes too, whether or not a
        // customer had it.
        let forgotten = Forgotten::of_identifier(identifier);
        forget_in_pending_imports(conn, &eraser.secret, workspace_id, &forgotten)?;
        let mut entry = JournalEntry::new(workspace_id);
        entry.suppressed = digests.iter().map(|(k, d)| (k.to_string(), d.clone())).collect();
        eraser.journal.record_before_commit(&entry)?;
        if added > 0 {
            let job = deleted.as_ref().map(|d| JobRef {
                id: d.job.id,
                receipt_id: &d.job.receipt_id,
            });
            let told: Vec<(String, String)> =
                digests.iter().map(|(k, d)| (k.to_string(), d.clone())).collect();
            outgoing::identifiers_changed(
                conn,
                &eraser.workspace,
                DestinationEvent::IdentifiersSuppressed,
                &told,
                Some(reason),
                job,
            )?;
            audit::append(
                conn,
                NewEntry::new(eraser.actor, AuditAction::IdentifierSuppressed, &eraser.origin)
                    .workspace(workspace_id)
                    .target(format!("suppression:{}", short(&digests[0].1)))
                    .affected(added)
                    .details(serde_json::json!({
                        "kinds": digests.iter().map(|d| d.0).collect::<Vec<_>>(),
                        "reason": reason,
                        "deleted_customer": deleted.as_ref().map(|d| d.job.receipt_id.clone()),
                    })),
            )?;
        }
        Ok(Suppressed { added, deleted })
    })?;
    if outcome.deleted.is_some() {
        flush_after_commit(conn);
    }
    Ok(outcome)
}

/// Frees suppressed digests: a customer created with the identifier afterwards is new,
/// with no history. Returns how many were removed; idempotent.
pub fn unsuppress_digests(
    conn: &mut DbConnection,
    eraser: &Eraser,
    digests: &[(&'static str, String)],
) -> Result<i64, ErasureError> {
    let workspace_id = eraser.workspace.id;
    write_transaction(conn, |conn| -> Result<i64, ErasureError> {
        suppressions::lock_digests(conn, digests)?;
        let mut removed = Vec::new();
        for (kind, digest) in digests {
            if suppressions::remove(conn, workspace_id, kind, digest)? {
                removed.push((kind.to_string(), digest.clone()));
            }
        }
        if removed.is_empty() {
            return Ok(0);
        }
        // Journaled too: a replay after a restore must not bring back a suppression
        // that was lifted since.
        outgoing::identifiers_changed(
            conn,
            &eraser.workspace,
            DestinationEvent::IdentifiersUnsuppressed,
            &removed,
            None,
            None,
        )?;
        let mut entry = JournalEntry::new(workspace_id);
        entry.unsuppressed = removed.clone();
        eraser.journal.record_before_commit(&entry)?;
        audit::append(
            conn,
            NewEntry::new(eraser.actor, AuditAction::IdentifierUnsuppressed, &eraser.origin)
                .workspace(workspace_id)
                .target(format!("suppression:{}", short(&removed[0].1)))
                .affected(removed.len() as i64)
                .details(serde_json::json!({
                    "kinds": removed.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
                })),
        )?;
        Ok(removed.len() as i64)
    })
}

/// The first characters of a digest: enough to find the row, never the identifier.
fn short(digest: &str) -> &str {
    &digest[..digest.len().min(12)]
}
