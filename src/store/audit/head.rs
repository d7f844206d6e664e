//! The newest entry's id and hash, kept outside the database in `DATA_DIR/audit.head`.
//!
//! Deleting the newest entries leaves a chain whose every remaining link is intact, so
//! the chain alone cannot show it. This file remembers the newest entry this data dir's
//! server committed; `verify` reports entries it names that are gone. It is written
//! only after the append's transaction commits (a rolled-back append is never
//! recorded), atomically (temporary file, fsync, rename), and only forward: a lower id
//! never replaces a higher one. It carries a digest under the chain's key, so it cannot
//! be forged or moved back without the key.
//!
//! Several servers may share one PostgreSQL database. When they do not share a data
//! dir, each file covers the entries up to the newest one that server appended, and no
//! further: entries appended later by the other servers and then deleted show only in
//! the data dir of a server that appended after them (or at its next append, which
//! finds its recorded entry gone). Run `erasure audit verify` with each server's data
//! dir to cover the newest entry any of them wrote.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::chain_hash::{constant_time_eq, ChainKey};

pub const FILE_NAME: &str = "audit.head";

/// An entry as the head file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub id: i64,
    pub hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HeadError {
    #[error("cannot read or write {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(
        "{path} was not written with this server's key: it was edited, damaged, or comes from \
         another installation"
    )]
    Invalid { path: String },
}

/// What the file holds, one JSON line.
#[derive(Serialize, Deserialize)]
struct Stored {
    id: i64,
    hash: String,
    mac: String,
}

#[derive(Clone)]
pub struct HeadFile {
    path: PathBuf,
    key: ChainKey,
    /// Writers of this process take turns; other processes are kept out by a lock on
    /// `audit.head.lock`.
    turn: Arc<Mutex<()>>,
}

impl std::fmt::Debug for HeadFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeadFile({})", self.path.display())
    }
}

impl HeadFile {
    pub fn in_data_dir(data_dir: &Path, key: ChainKey) -> HeadFile {
        HeadFile {
            path: data_dir.join(FILE_NAME),
            key,
            turn: Arc::new(Mutex::new(())),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn mac(&self, id: i64, hash: &str) -> String {
        self.key.seal_head(format!("{id}\n{hash}").as_bytes())
    }

    fn io_error(&self, source: std::io::Error) -> HeadError {
        HeadError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// The recorded head; `None` when there is no file.
    pub fn read(&self) -> Result<Option<Head>, HeadError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(self.io_error(err)),
        };
        let invalid = || HeadError::Invalid {
            path: self.path.display().to_string(),
        };
        let stored: Stored = serde_json::from_str(text.trim()).map_err(|_| invalid())?;
        if !constant_time_eq(
            self.mac(stored.id, &stored.hash).as_bytes(),
            stored.mac.as_bytes(),
        ) {
            return Err(invalid());
        }
        Ok(Some(Head {
            id: stored.id,
            hash: stored.hash,
        }))
    }

    /// Records `head` unless the file already names it or a newer entry; true when it
    /// wrote. A file that does not verify is left as it is, for `verify` to report.
    pub fn record(&self, head: &Head) -> Result<bool, HeadError> {
        let _turn = self.turn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(parent) = self.path.parent() {
            fs::create_dir_all(parent).map_err(|e| self.io_error(e))?;
        }
        let _lock = lock_beside(&self.path).map_err(|e| self.io_error(e))?;
        if let Some(current) = self.read()? {
            if current.id >= head.id {
                return Ok(false);
            }
        }
        let stored = Stored {
            id: head.id,
            hash: head.hash.clone(),
            mac: self.mac(head.id, &head.hash),
        };
        let mut line = serde_json::to_vec(&stored).map_err(|e| self.io_error(std::io::Error::other(e)))?;
        line.push(b'\n');
        self.replace_with(&line).map_err(|e| self.io_error(e))?;
        Ok(true)
    }

    /// Writes a temporary file, syncs it, renames it over the file and syncs the folder:
    /// a crash leaves the old head or the new one, never a torn file.
    fn replace_with(&self, contents: &[u8]) -> std::io::Result<()> {
        let temporary = self.path.with_extension("head.tmp");
        let mut file = File::create(&temporary)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temporary, &self.path)?;
        sync_folder(&self.path)
    }
}

/// An exclusive lock on `PATH.lock`, held while the returned file is open.
#[cfg(unix)]
fn lock_beside(path: &Path) -> std::io::Result<File> {
    use std::os::unix::io::AsRawFd;
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path.with_extension("head.lock"))?;
    loop {
        // SAFETY: flock on a descriptor this function owns; it is released when the
        // file is closed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(file);
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

#[cfg(not(unix))]
fn lock_beside(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn sync_folder(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => File::open(parent)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn sync_folder(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretKey;

    fn key(text: &str) -> ChainKey {
        ChainKey::new(&SecretKey::from_configured(&text.repeat(32)).unwrap())
    }

    fn head(id: i64) -> Head {
        Head {
            id,
            hash: format!("k1:{id:064}"),
        }
    }

    #[test]
    fn a_recorded_head_reads_back_and_no_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = HeadFile::in_data_dir(&dir.path().join("data"), key("a"));
        assert!(file.read().unwrap().is_none());
        assert!(file.record(&head(3)).unwrap());
        assert_eq!(file.read().unwrap(), Some(head(3)));
    }

    #[test]
    fn the_head_only_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        let file = HeadFile::in_data_dir(dir.path(), key("a"));
        assert!(file.record(&head(5)).unwrap());
        assert!(!file.record(&head(4)).unwrap(), "an older id is not written");
        assert!(!file.record(&head(5)).unwrap(), "nor the same one again");
        assert_eq!(file.read().unwrap(), Some(head(5)));
        assert!(file.record(&head(6)).unwrap());
        // Another handle on the same file (another server on this data dir) agrees.
        let other = HeadFile::in_data_dir(dir.path(), key("a"));
        assert!(!other.record(&head(2)).unwrap());
        assert_eq!(other.read().unwrap(), Some(head(6)));
    }

    #[test]
    fn an_edited_or_foreign_head_file_does_not_verify_and_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = HeadFile::in_data_dir(dir.path(), key("a"));
        file.record(&head(9)).unwrap();
        assert!(matches!(
            HeadFile::in_data_dir(dir.path(), key("b")).read(),
            Err(HeadError::Invalid { .. })
        ));
        let text = fs::read_to_string(file.path()).unwrap();
        fs::write(file.path(), text.replace("\"id\":9", "\"id\":3")).unwrap();
        assert!(matches!(file.read(), Err(HeadError::Invalid { .. })));
        assert!(matches!(file.record(&head(10)), Err(HeadError::Invalid { .. })));
        assert!(fs::read_to_string(file.path()).unwrap().contains("\"id\":3"));
    }
}
