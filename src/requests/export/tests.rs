//! Exports over a real (in-memory SQLite) database.

use diesel::prelude::*;
use diesel::SqliteConnection;
use serde_json::Value;

use super::*;
use crate::db::schema::{customers, devices};
use crate::store::workspaces;

struct Fixture {
    conn: DbConnection,
    workspace: Workspace,
    other: Workspace,
}

fn fixture() -> Fixture {
    let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
    crate::db::run_migrations(&mut conn).unwrap();
    let workspace = workspaces::insert(&mut conn, "Acme <Shop>", "acme", "site-acme").unwrap();
    let other = workspaces::insert(&mut conn, "Other", "other", "site-other").unwrap();
    Fixture {
        conn,
        workspace,
        other,
    }
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

impl Fixture {
    fn customer(&mut self, workspace_id: i64, external_id: &str, name: &str, attributes: &str) -> i64 {
        diesel::insert_into(customers::table)
            .values((
                customers::workspace_id.eq(workspace_id),
                customers::external_id.eq(external_id),
                customers::email.eq(format!("{external_id}@example.com")),
                customers::name.eq(name),
                customers::country.eq("FR"),
                customers::attributes.eq(attributes),
                customers::created_at.eq(at("2026-01-02 03:04:05")),
                customers::last_seen_at.eq(at("2026-02-03 04:05:06")),
            ))
            .returning(customers::id)
            .get_result(&mut self.conn)
            .unwrap()
    }

    fn device(&mut self, workspace_id: i64, customer_id: i64, token: &str) {
        diesel::insert_into(devices::table)
            .values((
                devices::workspace_id.eq(workspace_id),
                devices::customer_id.eq(customer_id),
                devices::token.eq(token),
                devices::platform.eq("ios"),
                devices::last_used.eq(at("2026-02-01 00:00:00")),
                devices::attributes.eq(r#"{"app_version":"4.2.0"}"#),
                devices::created_at.eq(at("2026-01-05 00:00:00")),
                devices::updated_at.eq(at("2026-01-05 00:00:00")),
            ))
            .execute(&mut self.conn)
            .unwrap();
    }

    /// `count` events, one a second, the newest first in id order so that time order
    /// and id order differ.
    fn events(&mut self, workspace_id: i64, customer_id: i64, count: i64, properties: &str) {
        diesel::sql_query(format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
             INSERT INTO events (workspace_id, customer_id, name, properties, occurred_at) \
             SELECT {workspace_id}, {customer_id}, 'event ' || i, '{properties}', \
                    datetime('2026-01-01 00:00:00', '+' || ({count} - i) || ' seconds') FROM n"
        ))
        .execute(&mut self.conn)
        .unwrap();
    }

    fn json(&mut self, ids: &[i64]) -> (Value, ExportCounts) {
        let mut out = Vec::new();
        let counts = write_json(&mut self.conn, &self.workspace.clone(), ids, &mut out).unwrap();
        assert_eq!(counts.bytes, out.len() as u64);
        (serde_json::from_slice(&out).expect("the export is JSON"), counts)
    }

    fn html(&mut self, ids: &[i64]) -> (String, ExportCounts) {
        let mut out = Vec::new();
        let counts = write_html(&mut self.conn, &self.workspace.clone(), ids, &mut out).unwrap();
        assert_eq!(counts.bytes, out.len() as u64);
        (String::from_utf8(out).unwrap(), counts)
    }
}

#[test]
fn every_stored_value_is_in_the_json() {
    let mut f = fixture();
    let ws = f.workspace.id;
    let ada = f.customer(
        ws,
        "ada-1",
        "Ada",
        r#"{"plan":"pro","address":{"street":"1 Rue X","zip":"75001"}}"#,
    );
    f.device(ws, ada, "apns-token-ada");
    f.events(
        ws,
        ada,
        3,
        r#"{"cart":{"items":[{"sku":"A-1","qty":2}]},"total":12.5}"#,
    );
    let (doc, counts) = f.json(&[ada]);

    assert_eq!(
        counts,
        ExportCounts {
            customers: 1,
            events: 3,
            devices: 1,
            bytes: counts.bytes
        }
    );
    assert_eq!(doc["workspace"], "acme");
    assert!(doc["exported_at"].as_str().unwrap().ends_with('Z'));
    let customer = &doc["customers"][0];
    assert_eq!(customer["id"], ada);
    assert_eq!(customer["external_id"], "ada-1");
    assert_eq!(customer["email"], "ada-1@example.com");
    assert_eq!(customer["phone"], Value::Null);
    assert_eq!(customer["name"], "Ada");
    assert_eq!(customer["country"], "FR");
    assert_eq!(customer["attributes"]["address"]["zip"], "75001");
    assert_eq!(customer["created_at"], "2026-01-02T03:04:05Z");
    assert_eq!(customer["last_seen_at"], "2026-02-03T04:05:06Z");
    assert_eq!(customer["archived_at"], Value::Null);
    assert_eq!(customer["legal_hold"], false);
    let device = &customer["devices"][0];
    assert_eq!(device["token"], "apns-token-ada");
    assert_eq!(device["platform"], "ios");
    assert_eq!(device["last_used"], "2026-02-01T00:00:00Z");
    assert_eq!(device["attributes"]["app_version"], "4.2.0");
    let events = customer["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["name"], "event 3", "oldest first");
    assert_eq!(events[0]["occurred_at"], "2026-01-01T00:00:00Z");
    assert_eq!(events[0]["properties"]["cart"]["items"][0]["sku"], "A-1");
    assert_eq!(events[0]["properties"]["total"], 12.5);
}

#[test]
fn only_the_workspace_s_own_customers_are_exported() {
    let mut f = fixture();
    let (ws, other_ws) = (f.workspace.id, f.other.id);
    let ada = f.customer(ws, "ada-1", "Ada", "{}");
    let stranger = f.customer(other_ws, "bob-1", "Bob", r#"{"secret":"other workspace"}"#);
    f.device(other_ws, stranger, "token-of-another-workspace");
    f.events(other_ws, stranger, 5, "{}");
    let (doc, counts) = f.json(&[stranger, ada, ada, 999_999]);

    assert_eq!((counts.customers, counts.events, counts.devices), (1, 0, 0));
    let exported = doc["customers"].as_array().unwrap();
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0]["id"], ada);
    assert_eq!(exported[0]["events"], Value::Array(vec![]));
    let (page, _) = f.html(&[stranger]);
    assert!(!page.contains("Bob") && !page.contains("token-of-another-workspace"));
    assert!(page.contains("No data is held"));
}

#[test]
fn hostile_values_are_escaped_in_the_html() {
    let mut f = fixture();
    let ws = f.workspace.id;
    let mallory = f.customer(
        ws,
        "m\"><img src=x onerror=alert(1)>",
        "<script>alert('name')</script>",
        r#"{"<b>key</b>":"<script>alert(2)</script>"}"#,
    );
    f.device(ws, mallory, "<script>token</script>");
    f.events(ws, mallory, 2, r#"{"note":"</td><script>alert(3)</script>"}"#);
    let (page, counts) = f.html(&[mallory]);

    assert_eq!((counts.customers, counts.events, counts.devices), (1, 2, 1));
    assert!(!page.contains("<script>"), "{page}");
    assert!(!page.contains("<img"));
    assert!(!page.contains("<b>"));
    assert!(page.contains("&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;"));
    assert!(page.contains("m&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("&lt;/td&gt;&lt;script&gt;alert(3)&lt;/script&gt;"));
    assert!(page.contains("&lt;script&gt;token&lt;/script&gt;"));
    assert!(page.contains("<title>Data held in Acme &lt;Shop&gt;</title>"));
    assert!(page.contains("2 events."));
    assert!(page.ends_with("</body></html>\n"));
}

#[test]
fn more_events_than_a_page_are_all_exported_in_order() {
    let mut f = fixture();
    let ws = f.workspace.id;
    let ada = f.customer(ws, "ada-1", "Ada", "{}");
    let bob = f.customer(ws, "bob-1", "Bob", "{}");
    f.events(ws, ada, 5_000, r#"{"n":1}"#);
    f.events(ws, bob, 10, "{}");
    let (doc, counts) = f.json(&[bob, ada]);

    assert_eq!((counts.customers, counts.events), (2, 5_010));
    let customers = doc["customers"].as_array().unwrap();
    assert_eq!(customers[0]["id"], ada, "customers in id order");
    let events = customers[0]["events"].as_array().unwrap();
    assert_eq!(events.len(), 5_000);
    let names: Vec<&str> = events.iter().map(|e| e["name"].as_str().unwrap()).collect();
    let expected: Vec<String> = (1..=5_000).rev().map(|i| format!("event {i}")).collect();
    assert!(names.iter().eq(expected.iter()), "every event once, oldest first");
    let times: Vec<&str> = events
        .iter()
        .map(|e| e["occurred_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(customers[1]["events"].as_array().unwrap().len(), 10);

    let (page, counts) = f.html(&[ada]);
    assert_eq!(counts.events, 5_000);
    assert_eq!(page.matches("<tr><td>event ").count(), 5_000);
    assert!(page.contains("5,000 events."));
}

#[test]
fn events_at_the_same_moment_are_paged_by_id() {
    let mut f = fixture();
    let ws = f.workspace.id;
    let ada = f.customer(ws, "ada-1", "Ada", "{}");
    // 4,500 events in one second: a page boundary falls inside equal times.
    diesel::sql_query(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4500) \
         INSERT INTO events (workspace_id, customer_id, name, properties, occurred_at) \
         SELECT {ws}, {ada}, 'same ' || i, '{{}}', '2026-01-01 00:00:00' FROM n"
    ))
    .execute(&mut f.conn)
    .unwrap();
    let (doc, counts) = f.json(&[ada]);

    assert_eq!(counts.events, 4_500);
    let ids: Vec<i64> = doc["customers"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(ids.len(), 4_500);
}

#[test]
fn an_export_of_no_one_is_an_empty_document() {
    let mut f = fixture();
    let (doc, counts) = f.json(&[]);
    assert_eq!(doc["customers"], Value::Array(vec![]));
    assert_eq!((counts.customers, counts.events, counts.devices), (0, 0, 0));
}
