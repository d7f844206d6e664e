//! What appending to and verifying the chain need from outside the database: the key
//! and the head file. Every pooled connection carries them (`db::attach`), with the
//! head its open transaction appended, which is recorded once that transaction commits
//! and forgotten if it rolls back.

use std::path::Path;
use std::sync::Arc;

use super::chain_hash::ChainKey;
use super::head::{Head, HeadFile};
use crate::db::{Attachment, AttachmentFactory, DbConnection};
use crate::secret::SecretKey;
use crate::store::{StoreError, StoreResult};

#[derive(Debug, Clone)]
pub struct AuditSeal {
    pub key: ChainKey,
    pub head: HeadFile,
}

impl AuditSeal {
    /// The seal of a server whose secret is `secret` and whose data dir is `data_dir`.
    pub fn new(secret: &SecretKey, data_dir: &Path) -> AuditSeal {
        let key = ChainKey::new(secret);
        AuditSeal {
            head: HeadFile::in_data_dir(data_dir, key.clone()),
            key,
        }
    }

    /// For `db::build_pool_attaching`: each new connection carries this seal.
    pub fn for_each_connection(&self) -> AttachmentFactory {
        let seal = self.clone();
        Arc::new(move || {
            Box::new(ConnectionSeal {
                seal: seal.clone(),
                pending: None,
            })
        })
    }

    /// Makes a connection opened outside a pool carry this seal.
    pub fn attach_to(&self, conn: &mut DbConnection) {
        crate::db::attach(conn, (self.for_each_connection())());
    }
}

/// A connection's seal and the head its open transaction appended.
struct ConnectionSeal {
    seal: AuditSeal,
    pending: Option<Head>,
}

impl Attachment for ConnectionSeal {
    fn beginning(&mut self) {
        // Left over from an append inside a transaction that `write_transaction` did not
        // open: whether it committed is unknown, so it is not recorded.
        self.pending = None;
    }

    fn committed(&mut self) {
        let Some(head) = self.pending.take() else { return };
        if let Err(err) = self.seal.head.record(&head) {
            // The entry is committed; the file only lags behind it, which `verify`
            // does not mistake for a deletion.
            tracing::error!(error = %err, id = head.id, "could not record the audit log's newest entry");
        }
    }

    fn rolled_back(&mut self) {
        self.pending = None;
    }
}

fn carried(conn: &mut DbConnection) -> StoreResult<&mut ConnectionSeal> {
    crate::db::attached::<ConnectionSeal>(conn).ok_or_else(|| {
        StoreError::Inconsistent(
            "this connection carries no audit key: open the database with its seal".into(),
        )
    })
}

/// The seal `conn` carries; an error for a connection opened without one, which must
/// never append an entry nobody could verify.
pub fn seal_of(conn: &mut DbConnection) -> StoreResult<AuditSeal> {
    Ok(carried(conn)?.seal.clone())
}

/// Records `head` in the head file once the current transaction commits; `None`
/// forgets what an earlier append of the same transaction set.
pub(super) fn set_pending(conn: &mut DbConnection, head: Option<Head>) -> StoreResult<()> {
    carried(conn)?.pending = head;
    Ok(())
}
