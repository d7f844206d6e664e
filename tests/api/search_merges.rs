//! SQLite: each write to the search index leaves a segment of its own, and a search
//! looks every trigram up in each segment. The server merges them into one in the
//! background, a bounded step at a time. PostgreSQL's trigram indexes need no such
//! care, so this runs on SQLite alone.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::api::{api_app_with, call};
use crate::helpers::*;

const WRITES: usize = 40;

#[derive(QueryableByName)]
struct Rows {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Rows of the index's own storage, and how many it would have merged into one
/// segment (merged in a transaction that is then rolled back). A segment has at least
/// one row, so an index in many segments has more rows than the same index merged.
fn index_rows(app: &TestApp) -> (i64, i64) {
    let mut pooled = app.db();
    let erasure::db::DbConnection::Sqlite(conn) = &mut **pooled else {
        panic!("SQLite only");
    };
    let count = |conn: &mut diesel::SqliteConnection| {
        diesel::sql_query("SELECT count(*) AS n FROM customer_search_data")
            .get_result::<Rows>(conn)
            .unwrap()
            .n
    };
    let now = count(conn);
    conn.batch_execute("BEGIN IMMEDIATE; INSERT INTO customer_search (customer_search) VALUES ('optimize')")
        .unwrap();
    let merged = count(conn);
    conn.batch_execute("ROLLBACK").unwrap();
    (now, merged)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_segments_many_api_writes_leave_are_merged_in_the_background() {
    for merging in [false, true] {
        let every = if merging {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(3600)
        };
        let (app, auth) = api_app_with(Backend::Sqlite, Box::new(move |s| s.search_merge = every)).await;
        for n in 0..WRITES {
            let body = json!({"email": format!("writer{n}@example.com"), "name": format!("Writer {n}")});
            let response = call(&app, &auth, Method::PUT, &format!("/customers/w-{n}"), Some(body)).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        if !merging {
            // The writes alone leave the index in several segments.
            let (now, merged) = index_rows(&app);
            assert!(
                now > merged,
                "unmerged after the writes: {now} rows, {merged} merged"
            );
            continue;
        }
        let mut waited = Duration::ZERO;
        loop {
            let (now, merged) = index_rows(&app);
            if now <= merged {
                break;
            }
            assert!(
                waited < Duration::from_secs(20),
                "never merged: {now} rows, {merged} merged"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += Duration::from_millis(100);
        }
        // Merged, every customer is found as before.
        for n in [0, WRITES / 2, WRITES - 1] {
            let html = app
                .get_html(&format!(
                    "/w/{WORKSPACE_SLUG}/customers?q=writer{n}%40example.com"
                ))
                .await;
            assert!(html.contains(&format!("Writer {n}")), "writer{n} is found");
        }
    }
}
