//! The anonymized (archived) customers of a workspace, as a compliance reviewer sees
//! them: internal ids, when and by whom, and how much activity is kept. No column that
//! could hold personal data is ever selected here.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::StoreResult;
use crate::db::schema::{customers, events};
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = customers)]
pub struct AnonymizedCustomer {
    pub id: i64,
    #[diesel(select_expression = customers::archived_at.assume_not_null())]
    pub archived_at: NaiveDateTime,
    pub archived_by: Option<i64>,
}

/// Where a page ends: the last row's archive time and id, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub archived_at: NaiveDateTime,
    pub id: i64,
}

/// Newest first, strictly after `after` when given; `limit` rows at most. Keyset paging
/// over (archived_at, id) walks the `customers_status` index (archived_at, then last
/// seen) instead of counting rows.
pub fn page(
    conn: &mut DbConnection,
    workspace_id: i64,
    after: Option<Position>,
    limit: i64,
) -> StoreResult<Vec<AnonymizedCustomer>> {
    let mut query = customers::table
        .filter(customers::workspace_id.eq(workspace_id))
        .filter(customers::archived_at.is_not_null())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(
            customers::archived_at
                .lt(after.archived_at)
                .or(customers::archived_at
                    .eq(after.archived_at)
                    .and(customers::id.lt(after.id))),
        );
    }
    Ok(query
        .order((customers::archived_at.desc(), customers::id.desc()))
        .limit(limit)
        .select(AnonymizedCustomer::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut DbConnection, workspace_id: i64) -> StoreResult<i64> {
    Ok(customers::table
        .filter(customers::workspace_id.eq(workspace_id))
        .filter(customers::archived_at.is_not_null())
        .count()
        .get_result(conn)?)
}

/// How many events each of these customers still has (customers without any are absent).
pub fn event_counts(
    conn: &mut DbConnection,
    workspace_id: i64,
    customer_ids: &[i64],
) -> StoreResult<HashMap<i64, i64>> {
    if customer_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64)> = events::table
        .filter(events::workspace_id.eq(workspace_id))
        .filter(events::customer_id.eq_any(customer_ids))
        .group_by(events::customer_id)
        .select((events::customer_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}
