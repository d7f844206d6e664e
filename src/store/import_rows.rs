//! The rows a CSV import still has to write, as its preflight stored them. They are the
//! import's targets: a batch deletes the rows it wrote, so what remains is the work
//! left, and a job that ends (done, cancelled or discarded) leaves none behind.

use diesel::prelude::*;

use super::StoreResult;
use crate::db::schema::import_rows;
use crate::db::DbConnection;

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
