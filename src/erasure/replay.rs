//! `erasure replay-erasures`: applies the journal's erasures again to a database
//! restored from a backup, by internal id and suppression digest.

use crate::db::{write_transaction, DbConnection};
use crate::domain::JobKind;
use crate::erasure::batch::{erase_batch, ErasureScope};
use crate::erasure::journal::{Journal, JournalEntry};
use crate::erasure::ErasureError;
use crate::secret::SecretKey;
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

/// Applies the entries in order, each in its own transaction. Idempotent: what is
/// already gone or already suppressed is left as it is.
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
    for entry in entries {
        write_transaction(conn, |conn| -> Result<(), ErasureError> {
            let Some(workspace) = workspaces::find(conn, entry.workspace_id)? else {
                return Ok(());
            };
            let found = erasures::existing_ids(conn, workspace.id, &entry.deleted)?;
            erasures::delete_customers(conn, workspace.id, &found)?;
            report.deleted_again += found.len() as i64;
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
                if let Some(kind) = known_kind(kind) {
                    if suppressions::add(conn, workspace.id, kind, digest, "deleted", "replay")? {
                        report.suppressed_again += 1;
                    }
                }
            }
            for (kind, digest) in &entry.unsuppressed {
                if suppressions::remove(conn, workspace.id, kind, digest)? {
                    report.unsuppressed_again += 1;
                }
            }
            Ok(())
        })?;
    }
    erasures::flush_erased_pages(conn, true)?;
    Ok(report)
}

fn erase_archive_quietly(
    conn: &mut DbConnection,
    scope: &ErasureScope<'_>,
    ids: &[i64],
) -> Result<i64, ErasureError> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(erase_batch(conn, scope, JobKind::Archive, ids, false)?.done)
}

fn known_kind(kind: &str) -> Option<&'static str> {
    match kind {
        crate::erasure::suppress::KIND_ID => Some(crate::erasure::suppress::KIND_ID),
        crate::erasure::suppress::KIND_EMAIL => Some(crate::erasure::suppress::KIND_EMAIL),
        _ => None,
    }
}
