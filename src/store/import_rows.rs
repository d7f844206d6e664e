//! The rows a CSV import still has to write, as its preflight stored them. They are the
//! import's targets: a batch deletes the rows it wrote, so what remains is the work
//! left, and a job that ends (done, cancelled or discarded) leaves none behind.
//!
//! Until the import is confirmed its rows are personal data held on approval: rows
//! naming someone erased since are forgotten ([`forget_matching`]), and previews left
//! unconfirmed are purged ([`purge_abandoned_previews`]).

use diesel::prelude::*;

use super::jobs::state;
use super::StoreResult;
use crate::db::schema::{import_rows, jobs};
use crate::db::DbConnection;
use crate::domain::JobKind;

/// Rows per INSERT: four parameters each, well within both backends' limits.
const INSERT_CHUNK: usize = 1000;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = import_rows)]
pub struct ImportRowRecord {
    pub job_id: i64,
    /// The order the job writes the rows in.
    pub position: i64,
    /// Where the row was in the file, for the report.
    pub line: i64,
    /// The row's cells as JSON (`domain::RowCells`).
    pub cells: String,
}

pub fn insert(conn: &mut DbConnection, rows: &[ImportRowRecord]) -> StoreResult<usize> {
    let mut inserted = 0;
    for chunk in rows.chunks(INSERT_CHUNK) {
        let insert = diesel::insert_into(import_rows::table).values(chunk);
        // Multi-row INSERTs do not compile over the multi-backend connection.
        inserted += match conn {
            DbConnection::Sqlite(c) => insert.execute(c)?,
            DbConnection::Postgres(c) => insert.execute(c)?,
        };
    }
    Ok(inserted)
}

/// The next `limit` rows, in order.
pub fn next(conn: &mut DbConnection, job_id: i64, limit: i64) -> StoreResult<Vec<ImportRowRecord>> {
    Ok(import_rows::table
        .filter(import_rows::job_id.eq(job_id))
        .order(import_rows::position)
        .limit(limit)
        .select(ImportRowRecord::as_select())
        .load(conn)?)
}

/// Removes the rows up to and including `position`.
pub fn remove_through(conn: &mut DbConnection, job_id: i64, position: i64) -> StoreResult<usize> {
    Ok(diesel::delete(
        import_rows::table
            .filter(import_rows::job_id.eq(job_id))
            .filter(import_rows::position.le(position)),
    )
    .execute(conn)?)
}

pub fn clear(conn: &mut DbConnection, job_id: i64) -> StoreResult<usize> {
    Ok(diesel::delete(import_rows::table.filter(import_rows::job_id.eq(job_id))).execute(conn)?)
}

/// Rows read per query while looking for the ones to forget.
const SCAN_PAGE: i64 = 2000;

/// A pending row forgotten by [`forget_matching`]: its job, and its line in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForgottenRow {
    pub job_id: i64,
    pub line: i64,
}

/// Deletes the rows of the workspace's import previews (imports read but not yet
/// confirmed) for which `matches` holds, and lowers each such job's total by the rows
/// it lost. Returns the rows deleted.
///
/// What a row names is in its JSON cells, so the rows are read and judged by the
/// caller rather than in SQL: a workspace with no preview pending costs one indexed
/// query, one with a pending preview of 110,000 rows about a second (measured in the
/// test build on both engines), inside the erasure's transaction. Previews are purged
/// after an hour, which bounds it.
pub fn forget_matching(
    conn: &mut DbConnection,
    workspace_id: i64,
    mut matches: impl FnMut(&ImportRowRecord) -> bool,
) -> StoreResult<Vec<ForgottenRow>> {
    let previews: Vec<i64> = jobs::table
        .filter(jobs::workspace_id.eq(workspace_id))
        .filter(jobs::kind.eq(JobKind::Import.key()))
        .filter(jobs::state.eq(state::PREVIEW))
        .select(jobs::id)
        .load(conn)?;
    let mut forgotten = Vec::new();
    for job_id in previews {
        let mut after = -1;
        let mut positions = Vec::new();
        loop {
            let page: Vec<ImportRowRecord> = import_rows::table
                .filter(import_rows::job_id.eq(job_id))
                .filter(import_rows::position.gt(after))
                .order(import_rows::position)
                .limit(SCAN_PAGE)
                .select(ImportRowRecord::as_select())
                .load(conn)?;
            let Some(last) = page.last() else { break };
            after = last.position;
            for record in page.iter().filter(|record| matches(record)) {
                positions.push(record.position);
                forgotten.push(ForgottenRow {
                    job_id,
                    line: record.line,
                });
            }
        }
        if positions.is_empty() {
            continue;
        }
        for chunk in positions.chunks(INSERT_CHUNK) {
            diesel::delete(
                import_rows::table
                    .filter(import_rows::job_id.eq(job_id))
                    .filter(import_rows::position.eq_any(chunk)),
            )
            .execute(conn)?;
        }
        diesel::update(jobs::table.find(job_id))
            .set(jobs::total.eq(jobs::total - positions.len() as i64))
            .execute(conn)?;
    }
    Ok(forgotten)
}

/// Discards the import previews nobody confirmed within `age`, with the rows they
/// read: a file someone uploaded and walked away from must not keep its rows here.
/// Returns how many previews were discarded.
pub fn purge_abandoned_previews(conn: &mut DbConnection, age: chrono::Duration) -> StoreResult<usize> {
    let abandoned: Vec<i64> = jobs::table
        .filter(jobs::kind.eq(JobKind::Import.key()))
        .filter(jobs::state.eq(state::PREVIEW))
        .filter(jobs::created_at.lt(super::now() - age))
        .select(jobs::id)
        .load(conn)?;
    let mut discarded = 0;
    for job_id in abandoned {
        // Discarded first: a preview confirmed meanwhile keeps its rows.
        if super::jobs::discard(conn, job_id)? {
            clear(conn, job_id)?;
            discarded += 1;
        }
    }
    Ok(discarded)
}
