//! The chain over a real (in-memory SQLite) database: keyed appends, the head file,
//! re-keying a legacy log, and what verify reports.

use diesel::prelude::*;
use diesel::SqliteConnection;

use super::*;
use crate::db::schema::audit_log;
use crate::secret::SecretKey;
use crate::store::StoreError;

struct Fixture {
    conn: DbConnection,
    seal: AuditSeal,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
    crate::db::run_migrations(&mut conn).unwrap();
    let secret = SecretKey::from_configured(&"k".repeat(40)).unwrap();
    let seal = AuditSeal::new(&secret, dir.path());
    seal.attach_to(&mut conn);
    Fixture {
        conn,
        seal,
        _dir: dir,
    }
}

impl Fixture {
    fn append(&mut self, n: i64) {
        let origin = RequestOrigin::default();
        for i in 0..n {
            append(
                &mut self.conn,
                NewEntry::new(Actor::System, AuditAction::JobFinished, &origin).affected(i),
            )
            .unwrap();
        }
    }

    fn entries(&mut self) -> Vec<AuditEntry> {
        page_after(&mut self.conn, 0, 1000).unwrap()
    }

    fn verify(&mut self) -> ChainReport {
        verify_chain(&mut self.conn, 2).unwrap()
    }

    fn head(&self) -> Option<Head> {
        self.seal.head.read().unwrap()
    }

    fn store_hashes(&mut self, id: i64, prev_hash: &str, hash: &str) {
        diesel::update(audit_log::table.find(id))
            .set((audit_log::prev_hash.eq(prev_hash), audit_log::hash.eq(hash)))
            .execute(&mut self.conn)
            .unwrap();
    }

    /// Rewrites the log from `from_id` on as someone without the key would: each entry
    /// hashed again with the plain SHA-256 rule and linked to the one before.
    fn rechain_unkeyed(&mut self, from_id: i64) {
        let mut previous = GENESIS_HASH.to_owned();
        for entry in self.entries() {
            if entry.id < from_id {
                previous = entry.hash.clone();
                continue;
            }
            let hash = legacy_hash(&EntryFields {
                prev_hash: &previous,
                ..entry.fields()
            });
            self.store_hashes(entry.id, &previous, &hash);
            previous = hash;
        }
    }

    fn remove_head_file(&self) {
        std::fs::remove_file(self.seal.head.path()).unwrap();
    }
}

#[test]
fn appends_are_keyed_and_the_newest_is_recorded_after_commit() {
    let mut f = fixture();
    f.append(3);
    let entries = f.entries();
    assert!(entries
        .iter()
        .all(|e| HashFormat::of(&e.hash) == HashFormat::Keyed));
    assert_eq!(
        f.head(),
        Some(Head {
            id: 3,
            hash: entries[2].hash.clone()
        })
    );
    assert_eq!(
        f.verify(),
        ChainReport::Intact {
            entries: 3,
            last_hash: entries[2].hash.clone(),
            legacy_entries: 0,
            head: HeadCheck::Confirmed { id: 3 },
        }
    );
}

#[test]
fn a_rolled_back_append_is_not_recorded() {
    let mut f = fixture();
    f.append(2);
    let origin = RequestOrigin::default();
    let result = crate::db::write_transaction(&mut f.conn, |conn| {
        append(
            conn,
            NewEntry::new(Actor::System, AuditAction::JobFinished, &origin),
        )?;
        Err::<(), StoreError>(StoreError::Inconsistent("changed my mind".into()))
    });
    assert!(result.is_err());
    assert_eq!(f.head().unwrap().id, 2);
    assert!(f.verify().is_intact());
}

#[test]
fn a_connection_without_the_seal_cannot_append() {
    let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
    crate::db::run_migrations(&mut conn).unwrap();
    let origin = RequestOrigin::default();
    let refused = append(
        &mut conn,
        NewEntry::new(Actor::System, AuditAction::JobFinished, &origin),
    );
    assert!(matches!(refused, Err(StoreError::Inconsistent(_))));
}

#[test]
fn deleting_the_newest_entries_is_reported_and_the_head_is_kept_as_evidence() {
    let mut f = fixture();
    f.append(5);
    let recorded = f.head().unwrap();
    diesel::delete(audit_log::table.filter(audit_log::id.gt(2)))
        .execute(&mut f.conn)
        .unwrap();
    assert_eq!(f.verify(), ChainReport::NewestMissing { from_id: 3, to_id: 5 });
    // Entries appended after the deletion take the deleted ids; the head does not move
    // past the evidence.
    f.append(4);
    assert_eq!(f.head(), Some(recorded));
    assert_eq!(f.verify(), ChainReport::Replaced { id: 5 });
}

#[test]
fn a_missing_head_file_is_a_warning_not_an_alteration() {
    let mut f = fixture();
    f.append(2);
    f.remove_head_file();
    assert!(matches!(
        f.verify(),
        ChainReport::Intact {
            entries: 2,
            head: HeadCheck::NoFile,
            ..
        }
    ));
    // The next append records a head again.
    f.append(1);
    assert_eq!(f.head().unwrap().id, 3);
}

#[test]
fn a_legacy_entry_after_keyed_ones_is_an_alteration() {
    let mut f = fixture();
    f.append(4);
    // Entry 3 and on recomputed with the old rule: each link holds, but the format
    // went back.
    f.rechain_unkeyed(3);
    assert_eq!(f.verify(), ChainReport::Altered { id: 3 });
}

#[test]
fn a_plain_sha256_chain_dressed_as_keyed_is_an_alteration() {
    let mut f = fixture();
    f.append(3);
    let entries = f.entries();
    let forged = format!(
        "{KEYED_PREFIX}{}",
        legacy_hash(&EntryFields {
            affected: 99,
            ..entries[1].fields()
        })
    );
    diesel::update(audit_log::table.find(2))
        .set((audit_log::affected.eq(99), audit_log::hash.eq(&forged)))
        .execute(&mut f.conn)
        .unwrap();
    assert_eq!(f.verify(), ChainReport::Altered { id: 2 });
}

#[test]
fn an_intact_legacy_log_is_keyed_once() {
    let mut f = fixture();
    f.append(5);
    f.rechain_unkeyed(1);
    f.remove_head_file();
    assert!(matches!(
        f.verify(),
        ChainReport::Intact {
            entries: 5,
            legacy_entries: 5,
            head: HeadCheck::NoFile,
            ..
        }
    ));

    assert_eq!(
        rekey_legacy_chain(&mut f.conn, 2).unwrap(),
        Rekeying::Rekeyed { entries: 5 }
    );
    let entries = f.entries();
    assert!(entries
        .iter()
        .all(|e| HashFormat::of(&e.hash) == HashFormat::Keyed));
    assert_eq!(entries[0].prev_hash, GENESIS_HASH);
    assert_eq!(f.head().unwrap().hash, entries[4].hash);
    assert!(matches!(
        f.verify(),
        ChainReport::Intact {
            entries: 5,
            legacy_entries: 0,
            head: HeadCheck::Confirmed { id: 5 },
            ..
        }
    ));
    assert_eq!(rekey_legacy_chain(&mut f.conn, 2).unwrap(), Rekeying::NotNeeded);
}

#[test]
fn a_broken_legacy_log_is_left_as_it_is() {
    let mut f = fixture();
    f.append(4);
    f.rechain_unkeyed(1);
    f.remove_head_file();
    diesel::update(audit_log::table.find(2))
        .set(audit_log::affected.eq(99))
        .execute(&mut f.conn)
        .unwrap();
    let before = f.entries();
    assert_eq!(
        rekey_legacy_chain(&mut f.conn, 2).unwrap(),
        Rekeying::LegacyBroken(ChainReport::Altered { id: 2 })
    );
    let after = f.entries();
    assert_eq!(
        before.iter().map(|e| &e.hash).collect::<Vec<_>>(),
        after.iter().map(|e| &e.hash).collect::<Vec<_>>(),
        "nothing was sealed"
    );
    assert!(f.head().is_none());
    assert_eq!(f.verify(), ChainReport::Altered { id: 2 });
}

#[test]
fn a_keyed_log_rewritten_unkeyed_is_not_laundered_by_rekeying() {
    let mut f = fixture();
    f.append(3);
    f.rechain_unkeyed(1);
    assert_eq!(
        rekey_legacy_chain(&mut f.conn, 2).unwrap(),
        Rekeying::HeadRecorded
    );
    assert_eq!(f.verify(), ChainReport::Replaced { id: 3 });
}

#[test]
fn a_forged_head_file_is_reported() {
    let mut f = fixture();
    f.append(2);
    let path = f.seal.head.path().to_owned();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"id\":2", "\"id\":1")).unwrap();
    assert!(matches!(f.verify(), ChainReport::HeadInvalid { .. }));
}
