//! Keeping the query planner informed.

use diesel::connection::SimpleConnection;

use super::StoreResult;
use crate::db::DbConnection;

/// Full statistics for every table: after a bulk load. On PostgreSQL also VACUUM, which
/// sets the visibility map: without it every count over an index still visits the rows.
pub fn analyze(conn: &mut DbConnection) -> StoreResult<()> {
    match conn {
        DbConnection::Sqlite(c) => c.batch_execute("ANALYZE")?,
        DbConnection::Postgres(c) => c.batch_execute("VACUUM ANALYZE")?,
    }
    Ok(())
}

/// SQLite's cheap periodic refresh of the statistics that changed (PostgreSQL's
/// autovacuum does this by itself).
pub fn optimize(conn: &mut DbConnection) -> StoreResult<()> {
    if let DbConnection::Sqlite(c) = conn {
        c.batch_execute("PRAGMA optimize")?;
    }
    Ok(())
}
