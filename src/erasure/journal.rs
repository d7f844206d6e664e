//! The erasure journal: an append-only file, outside the database, of every internal
//! id erased and every suppression digest added or removed. A database restored from
//! an older backup has forgotten these; `erasure replay-erasures` applies them again so
//! a restore never brings back someone who was erased. It holds internal ids and keyed
//! digests only, never personal data.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "erasure-journal.jsonl";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub at: NaiveDateTime,
    pub workspace_id: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub archived: Vec<i64>,
    /// (kind, digest) pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsuppressed: Vec<(String, String)>,
}

impl JournalEntry {
    pub fn new(workspace_id: i64) -> JournalEntry {
        JournalEntry {
            at: crate::store::now(),
            workspace_id,
            ..JournalEntry::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.deleted.is_empty()
            && self.archived.is_empty()
            && self.suppressed.is_empty()
            && self.unsuppressed.is_empty()
    }
}

/// Appends entries to `DATA_DIR/erasure-journal.jsonl`, one line each, synced to disk
/// before the erasure it records commits.
#[derive(Clone)]
pub struct Journal {
    path: Option<PathBuf>,
    lock: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(path) => write!(f, "Journal({})", path.display()),
            None => f.write_str("Journal(off)"),
        }
    }
}

impl Journal {
    pub fn in_data_dir(data_dir: &Path) -> Journal {
        Journal {
            path: Some(data_dir.join(FILE_NAME)),
            lock: Arc::new(Mutex::new(())),
        }
    }

    /// A journal that records nothing: for replaying the journal itself.
    pub fn off() -> Journal {
        Journal {
            path: None,
            lock: Arc::new(Mutex::new(())),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn record(&self, entry: &JournalEntry) -> std::io::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        if entry.is_empty() {
            return Ok(());
        }
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let _guard = self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        file.write_all(&line)?;
        file.sync_data()
    }
}

impl Journal {
    /// Records the entry inside the erasure's transaction, before it commits: a crash
    /// between the two leaves ids in the journal that a replay only erases again, while
    /// the other order could lose an erasure. A journal that cannot be written refuses
    /// the change, so the database never holds one a restore could not replay.
    pub fn record_before_commit(&self, entry: &JournalEntry) -> crate::store::StoreResult<()> {
        self.record(entry).map_err(|err| {
            crate::store::StoreError::Inconsistent(format!("the erasure journal cannot be written: {err}"))
        })
    }
}

/// Reads a journal; a line that does not parse (a torn last write) is reported, not fatal.
pub fn read(path: &Path) -> std::io::Result<(Vec<JournalEntry>, usize)> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(err) => return Err(err),
    };
    let mut entries = Vec::new();
    let mut unreadable = 0;
    for line in BufReader::new(file).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(entry) => entries.push(entry),
            Err(_) => unreadable += 1,
        }
    }
    Ok((entries, unreadable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_torn_lines_are_counted() {
        let dir = std::env::temp_dir().join(format!("erasure-journal-{}", std::process::id()));
        let journal = Journal::in_data_dir(&dir);
        let mut entry = JournalEntry::new(3);
        entry.deleted = vec![1, 2];
        entry.suppressed = vec![("id".into(), "ab".repeat(32))];
        journal.record(&entry).unwrap();
        journal.record(&JournalEntry::new(3)).unwrap();
        let path = journal.path().unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .unwrap()
            .write_all(b"{\"at\":")
            .unwrap();
        let (entries, unreadable) = read(path).unwrap();
        assert_eq!(entries, vec![entry]);
        assert_eq!(unreadable, 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
