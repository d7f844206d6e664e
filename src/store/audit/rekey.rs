//! Sealing a log written before entries were keyed, once, when a server starts.
//!
//! A legacy chain proves only that nobody without database access changed it. If it is
//! intact, every entry is sealed again with the key, oldest first, in one write
//! transaction, so that from then on the whole log is keyed. A broken legacy chain is
//! left as it is: sealing it would vouch for the break, and `verify` reports where it is.

use diesel::prelude::*;

use super::chain_hash::{EntryFields, HashFormat};
use super::head::Head;
use super::seal::{seal_of, set_pending};
use super::verify::{walk, ChainReport};
use super::{lock_chain, page_after, GENESIS_HASH};
use crate::db::schema::audit_log;
use crate::db::{write_transaction, DbConnection};
use crate::store::StoreResult;

/// What re-keying found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rekeying {
    /// The log is empty or its newest entry is keyed already.
    NotNeeded,
    /// Every entry was legacy and the chain intact: each is now sealed with the key.
    Rekeyed { entries: i64 },
    /// The legacy chain is broken where the report says; it was left as it is.
    LegacyBroken(ChainReport),
    /// The head file of this data dir names a keyed entry, yet the log's newest entry
    /// is legacy: a keyed log was replaced by an unkeyed one. Left for `verify` to
    /// report, never sealed.
    HeadRecorded,
}

/// Re-keys an intact, wholly legacy log; does nothing to any other.
pub fn rekey_legacy_chain(conn: &mut DbConnection, page_size: i64) -> StoreResult<Rekeying> {
    let seal = seal_of(conn)?;
    if !newest_is_legacy(conn)? {
        return Ok(Rekeying::NotNeeded);
    }
    write_transaction(conn, |conn| {
        lock_chain(conn)?;
        // Another server on the same database may have sealed it meanwhile.
        if !newest_is_legacy(conn)? {
            return Ok(Rekeying::NotNeeded);
        }
        // Only a server that never recorded a keyed entry here may seal legacy ones:
        // otherwise this would launder a log rewritten without the key.
        if !matches!(seal.head.read(), Ok(None)) {
            return Ok(Rekeying::HeadRecorded);
        }
        // The newest entry is legacy and an intact walk admits no legacy entry after a
        // keyed one, so an intact walk means every entry is legacy.
        if let Err(report) = walk(conn, &seal.key, page_size, None)? {
            return Ok(Rekeying::LegacyBroken(report));
        }
        let mut previous_id = 0;
        let mut previous_hash = GENESIS_HASH.to_owned();
        let mut entries = 0;
        loop {
            let page = page_after(conn, previous_id, page_size)?;
            if page.is_empty() {
                break;
            }
            for entry in page {
                let hash = seal.key.seal(&EntryFields {
                    prev_hash: &previous_hash,
                    ..entry.fields()
                });
                diesel::update(audit_log::table.find(entry.id))
                    .set((audit_log::prev_hash.eq(&previous_hash), audit_log::hash.eq(&hash)))
                    .execute(conn)?;
                previous_id = entry.id;
                previous_hash = hash;
                entries += 1;
            }
        }
        set_pending(
            conn,
            Some(Head {
                id: previous_id,
                hash: previous_hash,
            }),
        )?;
        Ok(Rekeying::Rekeyed { entries })
    })
}

fn newest_is_legacy(conn: &mut DbConnection) -> StoreResult<bool> {
    let newest: Option<String> = audit_log::table
        .order(audit_log::id.desc())
        .select(audit_log::hash)
        .first(conn)
        .optional()?;
    Ok(newest.is_some_and(|hash| HashFormat::of(&hash) == HashFormat::Legacy))
}
