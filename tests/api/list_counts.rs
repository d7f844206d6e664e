//! The list's count for a country, a city, a status or a last-seen range comes from
//! tallies that triggers keep; these tests hold it to a count made from the rows
//! themselves after every kind of write.

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use erasure::db::schema::{customers, workspaces};
use erasure::domain::{CustomerFilter, CustomerStatus};
use erasure::store;
use erasure::store::bulk_load::CustomerRow;
use scraper::{Html, Selector};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(counts_follow_inserts_updates_archives_and_deletes,);

#[derive(Debug, Queryable)]
struct Row {
    country: Option<String>,
    city: Option<String>,
    last_seen_at: NaiveDateTime,
    archived_at: Option<NaiveDateTime>,
    attributes: String,
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn workspace_id(conn: &mut erasure::db::DbConnection) -> i64 {
    workspaces::table
        .filter(workspaces::slug.eq(WORKSPACE_SLUG))
        .select(workspaces::id)
        .first(conn)
        .unwrap()
}

/// Cases of the attribute rule: top-level strings only, key and value in any case, a
/// key holding '=', and pairs that must not match (nested, a number, another key).
const ATTRIBUTES: [&str; 7] = [
    r#"{"plan":"pro"}"#,
    r#"{"Plan":"PRO","seats":"3"}"#,
    r#"{"plan":"pro_plus"}"#,
    r#"{"meta":{"plan":"pro"}}"#,
    r#"{"plan":1,"a=b":"c"}"#,
    r#"{"a":"b=c"}"#,
    "{}",
];

/// Last-seen times around every boundary the counts split at: the active cut (30 days
/// ago, inside a day), midnights, and the far past.
fn arranged_rows(workspace_id: i64, at: NaiveDateTime) -> Vec<CustomerRow> {
    let cut = CustomerStatus::active_since(at);
    let offsets_hours = [-49, -25, -3, -1, 1, 3, 25, 49];
    let mut rows = Vec::new();
    let mut n = 0;
    for (i, hours) in offsets_hours.iter().enumerate() {
        for country in ["DE", "FR", "JP"] {
            n += 1;
            rows.push(CustomerRow {
                workspace_id,
                external_id: Some(format!("c{n}")),
                email: None,
                phone: None,
                name: None,
                country: Some(country.to_owned()),
                city: Some(["Berlin", "Paris", "Tokyo"][i % 3].to_owned()),
                attributes: ATTRIBUTES[n % ATTRIBUTES.len()].to_owned(),
                created_at: cut - Duration::days(400),
                last_seen_at: cut + Duration::hours(*hours),
            });
        }
    }
    for days in [0, 1, 2, 100, 300] {
        n += 1;
        rows.push(CustomerRow {
            workspace_id,
            external_id: Some(format!("c{n}")),
            email: None,
            phone: None,
            name: None,
            country: None,
            city: None,
            attributes: "{}".to_owned(),
            created_at: cut - Duration::days(400),
            last_seen_at: at - Duration::days(days) - Duration::minutes(5),
        });
    }
    rows
}

fn shown_count(html: &str) -> i64 {
    let doc = Html::parse_document(html);
    let selector = Selector::parse(".page-head .count").unwrap();
    let text: String = doc
        .select(&selector)
        .next()
        .map(|e| e.text().collect())
        .unwrap_or_default();
    text.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no count in {text:?}"))
}

fn listed(html: &str) -> usize {
    let doc = Html::parse_document(html);
    let selector = Selector::parse(r#"form#bulk table input[type="checkbox"][name="ids"]"#).unwrap();
    doc.select(&selector).count()
}

/// The count of each filter, from the rows and the status rule in Rust.
fn expected(rows: &[Row], query: &str, at: NaiveDateTime) -> i64 {
    let (key, value) = url::form_urlencoded::parse(query.as_bytes()).next().unwrap();
    let (key, value) = (key.as_ref(), value.as_ref());
    let day = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    rows.iter()
        .filter(|row| match key {
            "country" => row.country.as_deref() == Some(value),
            "city" => row.city.as_deref() == Some(value),
            "status" => {
                let status = CustomerStatus::of(row.last_seen_at, row.archived_at, at);
                status.key() == value
            }
            "seen_from" => row.last_seen_at.date() >= day(value),
            "seen_to" => row.last_seen_at.date() <= day(value),
            "attr" => {
                let (want_key, want_value) = value.split_once('=').unwrap();
                let attributes: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&row.attributes).unwrap();
                attributes.iter().any(|(key, found)| {
                    key.eq_ignore_ascii_case(want_key)
                        && found
                            .as_str()
                            .is_some_and(|found| found.eq_ignore_ascii_case(want_value))
                })
            }
            other => panic!("no rule for {other}"),
        })
        .count() as i64
}

async fn assert_counts(app: &TestApp, label: &str) {
    let at = now();
    let rows: Vec<Row> = {
        let mut conn = app.db();
        customers::table
            .select((
                customers::country,
                customers::city,
                customers::last_seen_at,
                customers::archived_at,
                customers::attributes,
            ))
            .load(&mut **conn)
            .unwrap()
    };
    let cut_day = CustomerStatus::active_since(at).date();
    let mut queries = vec![
        "country=DE".to_owned(),
        "country=JP".to_owned(),
        "country=XX".to_owned(),
        "city=Berlin".to_owned(),
        "city=Tokyo".to_owned(),
        "status=active".to_owned(),
        "status=inactive".to_owned(),
        "status=anonymous".to_owned(),
        "attr=plan%3Dpro".to_owned(),
        "attr=PLAN%3DPro".to_owned(),
        "attr=plan%3Dpro_plus".to_owned(),
        "attr=a%3Db%3Dc".to_owned(),
        "attr=seats%3D3".to_owned(),
    ];
    for offset in [-2, -1, 0, 1, 2] {
        let day = cut_day + Duration::days(offset);
        queries.push(format!("seen_from={day}"));
        queries.push(format!("seen_to={day}"));
    }
    for query in queries {
        let html = app
            .get_html(&format!("/w/{WORKSPACE_SLUG}/customers?{query}"))
            .await;
        let want = expected(&rows, &query, at);
        assert_eq!(shown_count(&html), want, "{label}: ?{query}");
        // Every match fits on the first page here: the rows listed agree with the count.
        assert_eq!(listed(&html), want as usize, "{label}: rows of ?{query}");
        // A first page that holds every match is its own count, so the page above never
        // asked the tallies; a larger set would. Their statement must agree too.
        let filter = CustomerFilter::from_query_string(&query).unwrap();
        let tallied = {
            let mut conn = app.db();
            let workspace_id = workspace_id(&mut conn);
            store::tallies::count(&mut conn, workspace_id, &filter, store::now()).unwrap()
        };
        assert_eq!(tallied, Some(want), "{label}: tallies of ?{query}");
    }
}

async fn counts_follow_inserts_updates_archives_and_deletes(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let ids: Vec<i64> = {
        let mut conn = app.db();
        let workspace_id = workspace_id(&mut conn);
        store::bulk_load::insert_customers(&mut conn, &arranged_rows(workspace_id, now()))
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    };
    assert_counts(&app, "as inserted").await;

    {
        let mut conn = app.db();
        let at = now();
        // Moves across days and across the active cut, new places, archives and deletes,
        // some in one statement over many rows and some row by row.
        diesel::update(customers::table.filter(customers::id.eq_any(&ids[0..6])))
            .set(customers::last_seen_at.eq(at - Duration::minutes(1)))
            .execute(&mut **conn)
            .unwrap();
        diesel::update(customers::table.find(ids[7]))
            .set((
                customers::country.eq(Some("JP")),
                customers::city.eq(None::<String>),
            ))
            .execute(&mut **conn)
            .unwrap();
        diesel::update(customers::table.find(ids[8]))
            .set(customers::country.eq(None::<String>))
            .execute(&mut **conn)
            .unwrap();
        diesel::update(customers::table.filter(customers::id.eq_any(&ids[10..14])))
            .set(customers::archived_at.eq(Some(at)))
            .execute(&mut **conn)
            .unwrap();
        diesel::update(customers::table.find(ids[12]))
            .set(customers::last_seen_at.eq(at - Duration::days(200)))
            .execute(&mut **conn)
            .unwrap();
        diesel::update(customers::table.find(ids[15]))
            .set(customers::name.eq(Some("No tally changes")))
            .execute(&mut **conn)
            .unwrap();
        diesel::delete(customers::table.filter(customers::id.eq_any(&ids[16..20])))
            .execute(&mut **conn)
            .unwrap();
        diesel::delete(customers::table.find(ids[11]))
            .execute(&mut **conn)
            .unwrap();
    }
    assert_counts(&app, "after direct writes").await;

    // Through the product: the Track API moves a customer to today and creates one.
    let (_, key) = crate::helpers::api::issue_key(&app, "counts");
    for id in ["c22", "a-new-one"] {
        let response = crate::helpers::api::call(
            &app,
            &key,
            reqwest::Method::PUT,
            &format!("/customers/{id}"),
            Some(serde_json::json!({"country": "FR", "city": "Lyon"})),
        )
        .await;
        assert!(response.status().is_success(), "identify {id}");
    }
    assert_counts(&app, "after the Track API").await;

    // Folding the tallies (PostgreSQL appends deltas) changes no count.
    store::tallies::compact(&mut app.db()).unwrap();
    assert_counts(&app, "after compaction").await;
}
