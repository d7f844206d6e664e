//! The suppression list: keyed digests of identifiers, never the identifiers.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{now, StoreResult};
use crate::db::schema::suppressions;
use crate::db::DbConnection;
use crate::domain::IdentifierKind;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = suppressions)]
pub struct Suppression {
    pub id: i64,
    pub workspace_id: i64,
    #[diesel(deserialize_as = String)]
    pub kind: IdentifierKind,
    pub digest: String,
    pub reason: String,
    pub created_at: NaiveDateTime,
    pub created_by: String,
}

/// Adds a digest unless it is already there; true when it was added.
pub fn add(
    conn: &mut DbConnection,
    workspace_id: i64,
    kind: &str,
    digest: &str,
    reason: &str,
    created_by: &str,
) -> StoreResult<bool> {
    if find(conn, workspace_id, kind, digest)?.is_some() {
        return Ok(false);
    }
    diesel::insert_into(suppressions::table)
        .values((
            suppressions::workspace_id.eq(workspace_id),
            suppressions::kind.eq(kind),
            suppressions::digest.eq(digest),
            suppressions::reason.eq(reason),
            suppressions::created_at.eq(now()),
            suppressions::created_by.eq(created_by),
        ))
        .execute(conn)?;
    Ok(true)
}

pub fn find(
    conn: &mut DbConnection,
    workspace_id: i64,
    kind: &str,
    digest: &str,
) -> StoreResult<Option<Suppression>> {
    Ok(suppressions::table
        .filter(suppressions::workspace_id.eq(workspace_id))
        .filter(suppressions::kind.eq(kind))
        .filter(suppressions::digest.eq(digest))
        .select(Suppression::as_select())
        .first(conn)
        .optional()?)
}

/// Removes a digest; true when there was one.
pub fn remove(conn: &mut DbConnection, workspace_id: i64, kind: &str, digest: &str) -> StoreResult<bool> {
    let removed = diesel::delete(
        suppressions::table
            .filter(suppressions::workspace_id.eq(workspace_id))
            .filter(suppressions::kind.eq(kind))
            .filter(suppressions::digest.eq(digest)),
    )
    .execute(conn)?;
    Ok(removed > 0)
}

/// Newest first, ids below `before_id` when given.
pub fn page(
    conn: &mut DbConnection,
    workspace_id: i64,
    before_id: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<Suppression>> {
    let mut query = suppressions::table
        .filter(suppressions::workspace_id.eq(workspace_id))
        .into_boxed();
    if let Some(before) = before_id {
        query = query.filter(suppressions::id.lt(before));
    }
    Ok(query
        .order(suppressions::id.desc())
        .limit(limit)
        .select(Suppression::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut DbConnection, workspace_id: i64) -> StoreResult<i64> {
    Ok(suppressions::table
        .filter(suppressions::workspace_id.eq(workspace_id))
        .count()
        .get_result(conn)?)
}

pub fn find_by_id(conn: &mut DbConnection, workspace_id: i64, id: i64) -> StoreResult<Option<Suppression>> {
    Ok(suppressions::table
        .filter(suppressions::workspace_id.eq(workspace_id))
        .filter(suppressions::id.eq(id))
        .select(Suppression::as_select())
        .first(conn)
        .optional()?)
}

/// A (kind, digest) pair to check or to suppress.
pub type Digest = (&'static str, String);

/// Serializes every transaction that checks or changes these digests. On PostgreSQL
/// an identify and a suppress of the same identifier could otherwise both run in full
/// (the identify checking before the suppress commits, the suppress deleting before
/// the identify's insert is visible) and leave a suppressed customer behind. SQLite's
/// one writer already makes them take turns.
pub fn lock_digests(conn: &mut DbConnection, digests: &[Digest]) -> StoreResult<()> {
    if !matches!(conn, DbConnection::Postgres(_)) {
        return Ok(());
    }
    let mut keys: Vec<i64> = digests.iter().map(|(_, digest)| lock_key(digest)).collect();
    // One order for everyone, so two transactions never wait on each other in a circle.
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(key)
            .execute(conn)?;
    }
    Ok(())
}

/// A digest's advisory lock: its first 64 bits.
fn lock_key(digest: &str) -> i64 {
    let prefix = digest.get(..16).unwrap_or(digest);
    u64::from_str_radix(prefix, 16).unwrap_or_default() as i64
}

/// [`lock_digests`] for a batch of many writes (a CSV import's): one statement rather
/// than one round trip per digest, the keys taken in the same ascending order.
///
/// Each key holds a slot of PostgreSQL's shared lock table until the transaction ends
/// (64 per connection by default), so callers keep batches to a few hundred rows.
pub fn lock_many_digests(conn: &mut DbConnection, digests: &[Digest]) -> StoreResult<()> {
    let DbConnection::Postgres(pg) = conn else {
        return Ok(());
    };
    let mut keys: Vec<i64> = digests.iter().map(|(_, digest)| lock_key(digest)).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "SELECT COUNT(pg_advisory_xact_lock(k)) FROM (SELECT k FROM unnest($1) AS k ORDER BY k) AS ordered",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(keys)
    .execute(pg)?;
    Ok(())
}

/// Which of these digests are suppressed in the workspace, as (kind, digest) pairs.
pub fn suppressed_among(
    conn: &mut DbConnection,
    workspace_id: i64,
    digests: &[Digest],
) -> StoreResult<std::collections::HashSet<(String, String)>> {
    let mut by_kind: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (kind, digest) in digests {
        by_kind.entry(kind).or_default().push(digest);
    }
    let mut found = std::collections::HashSet::new();
    for (kind, mut wanted) in by_kind {
        wanted.sort_unstable();
        wanted.dedup();
        for chunk in wanted.chunks(500) {
            let rows: Vec<(String, String)> = suppressions::table
                .filter(suppressions::workspace_id.eq(workspace_id))
                .filter(suppressions::kind.eq(kind))
                .filter(suppressions::digest.eq_any(chunk))
                .select((suppressions::kind, suppressions::digest))
                .load(conn)?;
            found.extend(rows);
        }
    }
    Ok(found)
}

/// The first of these digests that is suppressed in the workspace, if any.
pub fn first_suppressed(
    conn: &mut DbConnection,
    workspace_id: i64,
    digests: &[Digest],
) -> StoreResult<Option<Suppression>> {
    for (kind, digest) in digests {
        if let Some(found) = find(conn, workspace_id, kind, digest)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}
