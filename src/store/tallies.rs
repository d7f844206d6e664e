//! Exact customer counts by country, city, last-seen day and string attribute, read from the
//! `customer_tallies` table that triggers keep in step with every write (see the
//! migrations `2026-11-29-000004_customer_tallies` and, for countries and cities in any
//! case, `2026-12-07-000015_list_steering`).
//!
//! A filter on one of these alone is answered by summing a few rows: one for a
//! country or a city, one per day for a status or a date range, plus an index count
//! over the part of a single day that a status's moving boundary cuts. Each count is
//! one statement, so it reads one snapshot of both tables.

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::prepared_sql::{self, Value as Bind};
use super::StoreResult;
use crate::db::{Backend, DbConnection};
use crate::domain::{CustomerFilter, CustomerStatus};

/// How many folded deltas make the table worth vacuuming at once.
const VACUUM_AFTER_FOLDING: i64 = 10_000;

/// One number a statement selects as `n`.
#[derive(QueryableByName)]
pub(super) struct Count {
    #[diesel(sql_type = BigInt)]
    pub(super) n: i64,
}

/// The number of the workspace's customers matching `filter`, when the filter is a
/// country, a city, a status, a last-seen range or an attribute on its own; `None` otherwise (the
/// caller counts the rows).
pub fn count(
    conn: &mut DbConnection,
    workspace_id: i64,
    filter: &CustomerFilter,
    at: NaiveDateTime,
) -> StoreResult<Option<i64>> {
    let Some((sql, binds)) = statement(workspace_id, filter, at) else {
        return Ok(None);
    };
    // Kept prepared: the text depends only on which filter it is, never on its values.
    Ok(Some(
        prepared_sql::statement(&sql, binds).get_result::<Count>(conn)?.n,
    ))
}

/// At most how many customers of the workspace match `filter`: the smallest of the
/// tallied counts of its criteria taken one at a time (a few tally rows each); `None`
/// when it has none of them.
pub fn upper_bound(
    conn: &mut DbConnection,
    workspace_id: i64,
    filter: &CustomerFilter,
    at: NaiveDateTime,
) -> StoreResult<Option<i64>> {
    let mut bound: Option<i64> = None;
    for alone in filter.tallied_criteria() {
        if let Some(counted) = count(conn, workspace_id, &alone, at)? {
            bound = Some(bound.map_or(counted, |b| b.min(counted)));
        }
    }
    Ok(bound)
}

/// The statement and its values for a filter the tallies answer.
fn statement(workspace_id: i64, filter: &CustomerFilter, at: NaiveDateTime) -> Option<(String, Vec<Bind>)> {
    // The tallies count by value alone; a match that depends on the customer's own
    // identifiers is counted row by row.
    if filter.q().is_some() || filter.id().is_some() || filter.attr_skips_identifying() {
        return None;
    }
    // The tallies count archived customers with the rest (except for a status).
    if filter.unarchived() {
        return None;
    }
    let seen_range = filter.seen_from_start().is_some() || filter.seen_to_end().is_some();
    let criteria = [
        filter.country().is_some(),
        filter.city().is_some(),
        filter.status().is_some(),
        seen_range,
        filter.attr().is_some(),
    ];
    if criteria.iter().filter(|set| **set).count() != 1 {
        return None;
    }
    let ws = Bind::BigInt(workspace_id);
    // Countries and cities are tallied lower-cased by the database's own lower(), as
    // the list compares them.
    if let Some(country) = filter.country() {
        return Some((
            sum("facet = 'country' AND value = lower(?)"),
            vec![ws, Bind::Text(country.to_owned())],
        ));
    }
    if let Some(city) = filter.city() {
        return Some((
            sum("facet = 'city' AND value = lower(?)"),
            vec![ws, Bind::Text(city.to_owned())],
        ));
    }
    if let Some(attr) = filter.attr() {
        // The key as the migration's triggers write it, made by the database's own
        // lower() so that both sides fold case alike.
        return Some((
            sum("facet = 'attr' AND value = (length(lower(?)) || ':' || lower(?) || '=' || lower(?))"),
            vec![
                ws,
                Bind::Text(attr.key().to_owned()),
                Bind::Text(attr.key().to_owned()),
                Bind::Text(attr.value().to_owned()),
            ],
        ));
    }
    if let Some(status) = filter.status() {
        return Some(status_statement(workspace_id, status, at));
    }
    // Dates are whole UTC days, so a range is whole rows of the 'seen' facet.
    match (filter.seen_from_start(), filter.seen_to_end()) {
        (Some(from), Some(to)) => Some((
            sum("facet = 'seen' AND value >= ? AND value < ?"),
            vec![ws, Bind::Text(day(from.date())), Bind::Text(day(to.date()))],
        )),
        (Some(from), None) => Some((
            sum("facet = 'seen' AND value >= ?"),
            vec![ws, Bind::Text(day(from.date()))],
        )),
        (None, Some(to)) => Some((
            sum("facet = 'seen' AND value < ?"),
            vec![ws, Bind::Text(day(to.date()))],
        )),
        (None, None) => None,
    }
}

/// Active and inactive split at a moment inside a day: the whole days on its side come
/// from the tallies, the cut day's part from the status index (a day's rows at most).
fn status_statement(workspace_id: i64, status: CustomerStatus, at: NaiveDateTime) -> (String, Vec<Bind>) {
    let since = CustomerStatus::active_since(at);
    let cut_day = since.date();
    let cut_start = cut_day.and_time(NaiveTime::MIN);
    let ws = || Bind::BigInt(workspace_id);
    let partial = "SELECT COUNT(*) FROM customers WHERE workspace_id = ? AND archived_at IS NULL \
                   AND last_seen_at >= ? AND last_seen_at < ?";
    match status {
        CustomerStatus::Active => {
            let next_day = cut_day.checked_add_days(Days::new(1)).unwrap_or(cut_day);
            (
                format!(
                    "SELECT CAST(({}) + ({partial}) AS BIGINT) AS n",
                    sum_expression("facet = 'live' AND value > ?")
                ),
                vec![
                    ws(),
                    Bind::Text(day(cut_day)),
                    ws(),
                    Bind::Timestamp(since),
                    Bind::Timestamp(next_day.and_time(NaiveTime::MIN)),
                ],
            )
        }
        CustomerStatus::Inactive => (
            format!(
                "SELECT CAST(({}) + ({partial}) AS BIGINT) AS n",
                sum_expression("facet = 'live' AND value < ?")
            ),
            vec![
                ws(),
                Bind::Text(day(cut_day)),
                ws(),
                Bind::Timestamp(cut_start),
                Bind::Timestamp(since),
            ],
        ),
        // Everyone, less those not archived.
        CustomerStatus::Anonymous => (
            format!(
                "SELECT CAST(COALESCE((SELECT customers FROM workspace_counters WHERE workspace_id = ?), 0) \
                 - ({}) AS BIGINT) AS n",
                sum_expression("facet = 'live'")
            ),
            vec![ws(), ws()],
        ),
    }
}

fn sum(condition: &str) -> String {
    format!("SELECT CAST(({}) AS BIGINT) AS n", sum_expression(condition))
}

fn sum_expression(condition: &str) -> String {
    format!("SELECT COALESCE(SUM(n), 0) FROM customer_tallies WHERE workspace_id = ? AND {condition}")
}

/// The tallies' day key: the same text SQLite's `substr(last_seen_at, 1, 10)` and
/// PostgreSQL's `to_char(last_seen_at, 'YYYY-MM-DD')` produce.
fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// Removes what no longer counts anything. On SQLite, rows whose count reached zero
/// (a deleted customer's city stays out of the file); on PostgreSQL, the appended
/// deltas are folded into one row per key and the keys that sum to zero dropped.
pub fn compact(conn: &mut DbConnection) -> StoreResult<()> {
    if conn.backend() == Backend::Sqlite {
        diesel::sql_query("DELETE FROM customer_tallies WHERE n = 0").execute(conn)?;
        return Ok(());
    }
    let folded = conn.transaction(|conn| -> StoreResult<i64> {
        // The advisory lock keeps two servers from folding at once. One statement: the
        // rows it deletes are exactly the rows it sums, and deltas committed meanwhile
        // are left for the next round. Keys already down to one row are left alone, so
        // a quiet table is not rewritten every few seconds.
        diesel::sql_query("SELECT pg_advisory_xact_lock(7261002)").execute(conn)?;
        let folded = diesel::sql_query(
            "WITH folded AS (DELETE FROM customer_tallies WHERE (workspace_id, facet, value) IN ( \
                 SELECT workspace_id, facet, value FROM customer_tallies \
                 GROUP BY workspace_id, facet, value HAVING COUNT(*) > 1 OR SUM(n) = 0) \
               RETURNING workspace_id, facet, value, n), \
             kept AS (INSERT INTO customer_tallies (workspace_id, facet, value, n) \
               SELECT workspace_id, facet, value, SUM(n) FROM folded \
               GROUP BY workspace_id, facet, value HAVING SUM(n) <> 0 RETURNING 1) \
             SELECT COUNT(*) AS n FROM folded",
        )
        .get_result::<Count>(conn)?
        .n;
        Ok(folded)
    })?;
    // After a bulk load the table is thousands of pages of dead deltas with the few
    // hundred folded rows at their end, so a plain VACUUM cannot shorten it, and the
    // planner's statistics still describe the deltas: each count would read every
    // page. Rewriting the table (outside the transaction; it holds a few hundred rows,
    // so the lock lasts milliseconds) and its statistics puts that right.
    if folded > VACUUM_AFTER_FOLDING {
        diesel::sql_query("VACUUM (FULL, ANALYZE) customer_tallies").execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_single_tallied_criterion_is_answered() {
        let at = NaiveDate::from_ymd_opt(2026, 11, 29)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let parse = |query: &str| CustomerFilter::from_query_string(query).unwrap();
        for query in [
            "country=DE",
            "city=Berlin",
            "status=active",
            "status=inactive",
            "status=anonymous",
            "seen_from=2026-01-01",
            "seen_to=2026-01-01",
            "seen_from=2026-01-01&seen_to=2026-02-01",
            "attr=plan%3Dpro",
        ] {
            assert!(statement(1, &parse(query), at).is_some(), "{query}");
        }
        for query in [
            "",
            "q=ann",
            "attr=plan%3Dpro&country=DE",
            "country=DE&city=Berlin",
            "country=DE&status=active",
            "status=active&seen_from=2026-01-01",
            "country=DE&q=ann",
        ] {
            assert!(statement(1, &parse(query), at).is_none(), "{query}");
        }
    }

    #[test]
    fn every_placeholder_has_a_value() {
        let at = NaiveDate::from_ymd_opt(2026, 11, 29)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        for query in [
            "country=DE",
            "status=active",
            "status=inactive",
            "status=anonymous",
            "seen_from=2026-01-01&seen_to=2026-02-01",
            "seen_to=2026-02-01",
            "attr=plan%3Dpro",
        ] {
            let (sql, binds) = statement(1, &CustomerFilter::from_query_string(query).unwrap(), at).unwrap();
            assert_eq!(sql.matches('?').count(), binds.len(), "{query}");
        }
    }
}
