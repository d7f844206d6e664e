use diesel::prelude::*;

use super::StoreResult;
use crate::db::schema::customers;
use crate::db::DbConnection;

pub fn count_all(conn: &mut DbConnection, workspace_id: i64) -> StoreResult<i64> {
    Ok(customers::table
        .filter(customers::workspace_id.eq(workspace_id))
        .count()
        .get_result(conn)?)
}
