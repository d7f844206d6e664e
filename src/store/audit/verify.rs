//! Walking the chain, a page at a time, and comparing its end with the head file.

use super::chain_hash::{ChainKey, HashFormat};
use super::head::Head;
use super::seal::seal_of;
use super::{page_after, AuditEntry, GENESIS_HASH};
use crate::db::DbConnection;
use crate::store::StoreResult;

/// What walking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    /// Every entry's hash matches its content and links to the one before it, and the
    /// head file agrees with the log (or there is none: see `head`).
    Intact {
        entries: i64,
        last_hash: String,
        /// Entries still sealed with the legacy, unkeyed rule (at the start of the log,
        /// never after a keyed one): anyone with the database could have recomputed them.
        legacy_entries: i64,
        head: HeadCheck,
    },
    /// This entry's content no longer matches its stored hash, or it carries the
    /// legacy format after keyed entries (a downgrade).
    Altered { id: i64 },
    /// An entry is missing before this one (ids skip, or the link is broken).
    Missing { after_id: i64, before_id: i64 },
    /// The head file names entry `to_id` but the log ends before `from_id`: the newest
    /// entries were deleted (or the database was restored from an older backup).
    NewestMissing { from_id: i64, to_id: i64 },
    /// The entry the head file names is there with another hash: the log from it on
    /// was replaced (or restored from a backup and written to since).
    Replaced { id: i64 },
    /// The head file itself cannot be trusted or read.
    HeadInvalid { reason: String },
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        matches!(self, ChainReport::Intact { .. })
    }
}

/// What the head file said about the end of an intact chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadCheck {
    /// The file names entry `id`, which is in the log as recorded.
    Confirmed { id: i64 },
    /// There is no head file in this data dir, so nothing shows whether the newest
    /// entries were deleted: a new data dir, another server's, or one whose file was
    /// removed. Not an alteration in itself.
    NoFile,
}

/// Walks the whole chain in pages of `page_size`, holding one page in memory at a time,
/// then compares its end with the head file of the connection's data dir.
pub fn verify_chain(conn: &mut DbConnection, page_size: i64) -> StoreResult<ChainReport> {
    let seal = seal_of(conn)?;
    // Read before the walk: the entry it names had committed, so the walk that follows
    // sees it, however many entries are appended meanwhile.
    let head = match seal.head.read() {
        Ok(head) => head,
        Err(err) => {
            return Ok(ChainReport::HeadInvalid {
                reason: err.to_string(),
            })
        }
    };
    let walk = match walk(conn, &seal.key, page_size, head.as_ref().map(|h| h.id))? {
        Ok(walk) => walk,
        Err(report) => return Ok(report),
    };
    let head = match head {
        None => HeadCheck::NoFile,
        Some(Head { id, .. }) if id > walk.previous_id => {
            return Ok(ChainReport::NewestMissing {
                from_id: walk.previous_id + 1,
                to_id: id,
            })
        }
        Some(Head { id, hash }) => {
            if walk.hash_at_head.as_deref() != Some(hash.as_str()) {
                return Ok(ChainReport::Replaced { id });
            }
            HeadCheck::Confirmed { id }
        }
    };
    Ok(ChainReport::Intact {
        entries: walk.entries,
        last_hash: walk.previous_hash,
        legacy_entries: walk.legacy_entries,
        head,
    })
}

/// Where an intact walk ended.
pub(super) struct Walk {
    pub previous_id: i64,
    pub previous_hash: String,
    pub entries: i64,
    pub legacy_entries: i64,
    /// The stored hash of the entry with the id asked for.
    pub hash_at_head: Option<String>,
}

/// Checks every entry under the rule its hash names, and every link; the first
/// problem found is the error.
pub(super) fn walk(
    conn: &mut DbConnection,
    key: &ChainKey,
    page_size: i64,
    head_id: Option<i64>,
) -> StoreResult<Result<Walk, ChainReport>> {
    let mut walk = Walk {
        previous_id: 0,
        previous_hash: GENESIS_HASH.to_owned(),
        entries: 0,
        legacy_entries: 0,
        hash_at_head: None,
    };
    loop {
        let page = page_after(conn, walk.previous_id, page_size)?;
        if page.is_empty() {
            return Ok(Ok(walk));
        }
        for entry in page {
            if let Some(problem) = walk.step(key, &entry) {
                return Ok(Err(problem));
            }
            if Some(entry.id) == head_id {
                walk.hash_at_head = Some(entry.hash.clone());
            }
            walk.previous_id = entry.id;
            walk.previous_hash = entry.hash;
        }
    }
}

impl Walk {
    fn step(&mut self, key: &ChainKey, entry: &AuditEntry) -> Option<ChainReport> {
        let format = HashFormat::of(&entry.hash);
        // Once the chain is keyed it stays keyed: a legacy hash after a keyed one is
        // someone without the key recomputing entries the old way.
        let downgraded = format == HashFormat::Legacy && self.entries > self.legacy_entries;
        if downgraded || !key.matches(&entry.fields(), &entry.hash) {
            return Some(ChainReport::Altered { id: entry.id });
        }
        if entry.id != self.previous_id + 1 || entry.prev_hash != self.previous_hash {
            // A removed entry shows as a gap in the ids or as a link to a hash that is
            // not the predecessor's; a rewritten link without a gap means the
            // predecessor itself was replaced.
            return Some(ChainReport::Missing {
                after_id: self.previous_id,
                before_id: entry.id,
            });
        }
        self.entries += 1;
        if format == HashFormat::Legacy {
            self.legacy_entries += 1;
        }
        None
    }
}
