use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::Error as DieselError;

use super::DbConnection;

/// Runs `work` in a transaction that takes the write lock up front.
///
/// On SQLite a plain `BEGIN` starts as a reader and fails with "database is locked" when
/// it later tries to write while another writer holds the lock (the busy handler is not
/// consulted for that upgrade). `BEGIN IMMEDIATE` waits for the lock instead. PostgreSQL
/// needs no such care.
///
/// On SQLite the writers of this process also queue for their turn first, in order of
/// arrival (`write_gate`), so that no writer waits behind a job's every batch.
///
/// Called inside another transaction, `work` simply joins it: it commits or rolls
/// back with the outer one.
///
/// What the connection carries (`attachment`) is told when the outermost transaction
/// begins and how it ended, after the commit and after the write lock is released: the
/// audit chain records its newest entry outside the database only once it is committed.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DieselError>,
{
    let depth = match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth()
        }
        DbConnection::Postgres(inner) => {
            AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth()
        }
    };
    if depth?.is_some() {
        return work(conn);
    }
    if let Some(attachment) = super::attachment::slot(conn) {
        attachment.beginning();
    }
    // Held until the transaction has committed or rolled back.
    let turn = match conn {
        DbConnection::Sqlite(_) => Some(super::write_gate::SQLITE_WRITERS.wait_for_turn()),
        DbConnection::Postgres(_) => None,
    };
    match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgres(inner) => AnsiTransactionManager::begin_transaction(inner)?,
    }
    let outcome = match work(conn) {
        Ok(value) => {
            let committed = match conn {
                DbConnection::Sqlite(inner) => AnsiTransactionManager::commit_transaction(inner),
                DbConnection::Postgres(inner) => AnsiTransactionManager::commit_transaction(inner),
            };
            match committed {
                Ok(()) => Ok(value),
                Err(err) => {
                    rollback(conn);
                    Err(err.into())
                }
            }
        }
        Err(err) => {
            rollback(conn);
            Err(err)
        }
    };
    drop(turn);
    if let Some(attachment) = super::attachment::slot(conn) {
        match &outcome {
            Ok(_) => attachment.committed(),
            Err(_) => attachment.rolled_back(),
        }
    }
    outcome
}

/// How many other writers wait for their turn on this connection's database: on SQLite
/// those queued behind the current writer; on PostgreSQL none ever queue for a lock
/// as a whole.
pub fn writers_waiting(conn: &DbConnection) -> u64 {
    match conn {
        DbConnection::Sqlite(_) => super::write_gate::SQLITE_WRITERS.waiting(),
        DbConnection::Postgres(_) => 0,
    }
}

fn rollback(conn: &mut DbConnection) {
    let result = match conn {
        DbConnection::Sqlite(inner) => AnsiTransactionManager::rollback_transaction(inner),
        DbConnection::Postgres(inner) => AnsiTransactionManager::rollback_transaction(inner),
    };
    if let Err(err) = result {
        tracing::error!(error = %err, "rollback failed");
    }
}
