//! `erasure replay-erasures`: applies the journal's erasures again to a database
//! restored from a backup, by internal id and suppression digest.

use std::collections::BTreeMap;

use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, DestinationEvent, IdentifierKind, JobKind};
use crate::erasure::batch::{erase_batch, ErasureScope};
use crate::erasure::erasure_audit;
use crate::erasure::journal::{Journal, JournalEntry};
use crate::erasure::outgoing::{self, ErasedCustomer, Told};
use crate::erasure::ErasureError;
use crate::secret::SecretKey;
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::{erasures, suppressions, workspaces};

/// What the replay found again and removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub entries: usize,
    pub deleted_again: i64,
    pub archived_again: i64,
    pub suppressed_again: i64,
    pub unsuppressed_again: i64,
}

/// Applies the entries in order, each in its own transaction, then writes one audit
/// entry per workspace with what was found again. Idempotent: what is already gone or
/// already suppressed is left as it is.
pub fn replay(
    conn: &mut DbConnection,
    secret: &SecretKey,
    entries: &[JournalEntry],
) -> Result<ReplayReport, ErasureError> {
    let mut report = ReplayReport {
        entries: entries.len(),
        ..ReplayReport::default()
    };
    // Replayed erasures are not journaled again: they are in the journal already.
    let no_journal = Journal::off();
    let mut per_workspace: BTreeMap<i64, ReplayReport> = BTreeMap::new();
    for entry in entries {
        let before = report.clone();
        write_transaction(conn, |conn| -> Result<(), ErasureError> {
            let Some(workspace) = workspaces::find(conn, entry.workspace_id)? else {
                return Ok(());
            };
            // Read before they go: a restore may have lost the events that told the
            // destinations of these deletions, so they are told again.
            let found = erasures::load_targets(conn, workspace.id, &entry.deleted)?;
            let ids: Vec<i64> = found.iter().map(|t| t.id).collect();
            erasures::delete_customers(conn, workspace.id, &ids)?;
            report.deleted_again += ids.len() as i64;
            let told_of: Vec<ErasedCustomer> = found.iter().map(ErasedCustomer::from).collect();
            outgoing::customers_erased(
                conn,
                &workspace,
                DestinationEvent::CustomerDeleted,
                Told::Replay,
                &told_of,
                false,
            )?;
            let to_archive = erasures::existing_ids(conn, workspace.id, &entry.archived)?;
            for id in &to_archive {
                // It was erased; a hold in the older backup does not undo that.
                erasures::set_legal_hold(conn, workspace.id, *id, None)?;
            }
            let scope = ErasureScope {
                workspace: &workspace,
                secret,
                by_user: None,
                actor_label: "replay".into(),
                journal: &no_journal,
            };
            let counts = erase_archive_quietly(conn, &scope, &to_archive)?;
            report.archived_again += counts;
            for (kind, digest) in &entry.suppressed {
                let kind = known_kind(kind)?;
                if suppressions::add(conn, workspace.id, kind, digest, "deleted", "replay")? {
                    report.suppressed_again += 1;
                }
            }
            for (kind, digest) in &entry.unsuppressed {
                let kind = known_kind(kind)?;
                if suppressions::remove(conn, workspace.id, kind, digest)? {
                    report.unsuppressed_again += 1;
                }
            }
            Ok(())
        })?;
        let found = per_workspace.entry(entry.workspace_id).or_default();
        found.entries += 1;
        found.deleted_again += report.deleted_again - before.deleted_again;
        found.archived_again += report.archived_again - before.archived_again;
        found.suppressed_again += report.suppressed_again - before.suppressed_again;
        found.unsuppressed_again += report.unsuppressed_again - before.unsuppressed_again;
    }
    erasures::flush_erased_pages(conn, true)?;
    record(conn, &per_workspace)?;
    Ok(report)
}

/// One audit entry per workspace the journal named that still exists, with ids and
/// counts, and beside it what was erased again under the erasure actions.
fn record(conn: &mut DbConnection, per_workspace: &BTreeMap<i64, ReplayReport>) -> Result<(), ErasureError> {
    let origin = RequestOrigin {
        request_id: "replay".to_owned(),
        client_ip: String::new(),
    };
    write_transaction(conn, |conn| -> Result<(), ErasureError> {
        for (workspace_id, found) in per_workspace {
            if workspaces::find(conn, *workspace_id)?.is_none() {
                continue;
            }
            audit::append(
                conn,
                NewEntry::new(Actor::System, AuditAction::ErasuresReplayed, &origin)
                    .workspace(*workspace_id)
                    .target("journal".to_owned())
                    .affected(found.deleted_again + found.archived_again)
                    .details(serde_json::json!({
                        "entries": found.entries,
                        "deleted_again": found.deleted_again,
                        "archived_again": found.archived_again,
                        "suppressed_again": found.suppressed_again,
                        "unsuppressed_again": found.unsuppressed_again,
                    })),
            )?;
            erasure_audit::record_replay(
                conn,
                &origin,
                *workspace_id,
                found.deleted_again,
                found.archived_again,
                found.suppressed_again,
            )?;
        }
        Ok(())
    })
}

fn erase_archive_quietly(
    conn: &mut DbConnection,
    scope: &ErasureScope<'_>,
    ids: &[i64],
) -> Result<i64, ErasureError> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(erase_batch(conn, scope, JobKind::Archive, ids, false, Told::Replay)?.done)
}

/// A journal line's suppression kind: a kind nobody wrote stops the replay rather
/// than leave an identifier unsuppressed without a word.
fn known_kind(kind: &str) -> Result<&'static str, ErasureError> {
    IdentifierKind::parse(kind)
        .map(IdentifierKind::key)
        .ok_or_else(|| {
            ErasureError::Refused(format!("the journal names an unknown identifier kind {kind:?}"))
        })
}
