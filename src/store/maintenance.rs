//! Keeping the query planner informed.

use diesel::connection::SimpleConnection;
use diesel::RunQueryDsl;

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

/// SQLite: merges the search index (FTS5 `customer_search`) into one segment.
///
/// Rows written in many transactions leave the index in many segments, and a search
/// looks each of its trigrams up in every one of them: at a million customers a search
/// read 1,128 pages from a freshly seeded index and 348 once merged. Worth it after a
/// bulk load (`erasure seed`, a large import) and after a bulk erasure, whose
/// tombstones the merge drops; it rewrites the whole index (3.4 s at a million
/// customers), so never after a handful of rows.
pub fn merge_search_index(conn: &mut DbConnection) -> StoreResult<()> {
    if let DbConnection::Sqlite(c) = conn {
        c.batch_execute("INSERT INTO customer_search (customer_search) VALUES ('optimize')")?;
    }
    Ok(())
}

/// Pages of merged search index one background merge step writes (SQLite).
///
/// Each step holds the write lock while it runs. At a million customers, steps of 256
/// pages took up to 205 ms (124 steps, after 24,500 Track API calls) and steps of 64
/// up to 122 ms (388 steps, after 26,500), both timed with the wait for the write queue.
pub const MERGE_STEP_PAGES: i32 = 64;

/// SQLite: one bounded step of merging the search index's segments into one, in a
/// write transaction of its own; whether there was anything to merge.
///
/// Every write transaction that touches the index leaves a new small segment, which
/// FTS5's own automerge folds into larger ones a level at a time, so that after
/// thousands of Track API calls a search looks each trigram up in twenty segments
/// instead of one (`q=user12345` went from 11 to 26 ms p50 after 6,130 calls). A
/// negative `merge` gathers every segment into one, as `optimize` does, but only
/// `MERGE_STEP_PAGES` pages at a time: repeated until it finds nothing to do, it
/// leaves the index in one segment without ever holding the write lock for the whole
/// rewrite. It also drops the tombstones of deleted rows, as `optimize` does.
///
/// FTS5 says whether a merge did any work only through the connection's change count:
/// a difference of two or more.
pub fn merge_search_index_step(conn: &mut DbConnection) -> StoreResult<bool> {
    if conn.backend() != crate::db::Backend::Sqlite {
        return Ok(false);
    }
    crate::db::write_transaction(conn, |conn| {
        let before = total_changes(conn)?;
        diesel::sql_query("INSERT INTO customer_search (customer_search, rank) VALUES ('merge', ?)")
            .bind::<diesel::sql_types::Integer, _>(-MERGE_STEP_PAGES)
            .execute(conn)?;
        Ok(total_changes(conn)? - before >= 2)
    })
}

fn total_changes(conn: &mut DbConnection) -> StoreResult<i64> {
    Ok(diesel::sql_query("SELECT total_changes() AS n")
        .get_result::<super::tallies::Count>(conn)?
        .n)
}

/// SQLite's cheap periodic refresh of the statistics that changed (PostgreSQL's
/// autovacuum does this by itself).
pub fn optimize(conn: &mut DbConnection) -> StoreResult<()> {
    if let DbConnection::Sqlite(c) = conn {
        c.batch_execute("PRAGMA optimize")?;
    }
    Ok(())
}

/// For the rest of the transaction, plans each PostgreSQL statement for its own
/// parameters and the table as it is now, instead of reusing a connection's cached
/// generic plan.
///
/// A bulk write into a table that was small when its plans were cached (a first
/// import into a new workspace) otherwise keeps scanning the whole table for lookups
/// the index answers, and each batch gets slower than the last (measured: the lookup
/// of a 500-row batch took 3 ms longer with every batch, 30 ms by the tenth).
pub fn plan_for_current_data(conn: &mut DbConnection) -> StoreResult<()> {
    if let DbConnection::Postgres(c) = conn {
        c.batch_execute("SET LOCAL plan_cache_mode = force_custom_plan")?;
    }
    Ok(())
}

/// PostgreSQL: fresh statistics for the customers table before a bulk write.
/// Autovacuum analyzes on its own schedule, which a first import into a new workspace
/// outruns; without statistics the planner took a batch's 500-row update for a hash
/// join over the whole table (measured: 68 ms a batch instead of 14).
pub fn analyze_customers(conn: &mut DbConnection) -> StoreResult<()> {
    if let DbConnection::Postgres(c) = conn {
        c.batch_execute("ANALYZE customers")?;
    }
    Ok(())
}

/// Runs `work` with a 64 MB SQLite page cache on this connection (4 MB otherwise),
/// for a job's batch.
///
/// A batch deleting thousands of customers dirties tens of megabytes of index pages;
/// with the pooled connections' 4 MB cache SQLite wrote them to the WAL mid-batch to
/// make room and read them back for the next row (measured on delete-all: 40 % of
/// the job's time in those reads and writes). The cache shrinks back afterwards and
/// its pages go back to the kernel, so only the batch running holds the larger cache.
pub fn with_batch_page_cache<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<super::StoreError>,
{
    let DbConnection::Sqlite(_) = conn else {
        return work(conn);
    };
    set_cache(conn, BATCH_CACHE).map_err(E::from)?;
    let result = work(conn);
    set_cache(conn, crate::db::SQLITE_CACHE).map_err(E::from)?;
    crate::memory::release_free_memory();
    result
}

const BATCH_CACHE: &str = "PRAGMA cache_size = -65536";

fn set_cache(conn: &mut DbConnection, pragma: &str) -> StoreResult<()> {
    if let DbConnection::Sqlite(c) = conn {
        c.batch_execute(pragma)?;
    }
    Ok(())
}

/// A new sample of the customers' trigrams for planning searches (`trigram_sample`).
pub fn sample_search_trigrams(conn: &mut DbConnection) -> StoreResult<()> {
    super::trigram_sample::refresh(conn)?;
    Ok(())
}
