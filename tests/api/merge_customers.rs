//! Merging customers (`POST /api/v1/merge_customers`): the primary keeps its values and
//! takes the secondary's missing ones and events; the secondary is deleted through the
//! erasure core, so its values are in no live row and not in the search index.

use erasure::domain::AuditAction;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::api::*;
use crate::helpers::arrange::NewPerson;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_merge_fills_in_the_primary_moves_the_events_and_deletes_the_secondary,
    each_side_may_be_named_by_id_email_or_cio_id,
    a_merge_is_refused_when_a_side_is_missing_the_same_or_malformed,
    a_merge_is_refused_when_an_identifier_is_suppressed,
    a_merge_is_refused_when_either_customer_is_under_legal_hold_or_anonymized,
);

const WS: &str = "/w/acme-shop";

async fn merge(app: &TestApp, auth: &Credentials, body: Value) -> Response {
    call(app, auth, Method::POST, "/merge_customers", Some(body)).await
}

async fn answer(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

async fn refused(response: Response, status: StatusCode, code: &str) {
    let (actual, body) = answer(response).await;
    assert_eq!(actual, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

fn texts(app: &TestApp, sql: &str) -> Vec<String> {
    use diesel::sql_types::Text;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct One {
        #[diesel(sql_type = Text)]
        t: String,
    }
    let mut conn = app.db();
    diesel::sql_query(sql)
        .load::<One>(&mut **conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.t)
        .collect()
}

/// The customers a search of the console's list shows: (internal id, row text).
async fn search(app: &TestApp, query: &str) -> Vec<(i64, String)> {
    let html = app.get_html(&format!("{WS}/customers?q={query}")).await;
    let doc = scraper::Html::parse_document(&html);
    let rows = scraper::Selector::parse("table tbody tr").unwrap();
    let checkbox = scraper::Selector::parse("input[name=ids]").unwrap();
    doc.select(&rows)
        .map(|row| {
            let id = row
                .select(&checkbox)
                .next()
                .and_then(|c| c.value().attr("value"))
                .and_then(|v| v.parse().ok())
                .expect("a row's id");
            (id, row.text().collect::<String>())
        })
        .collect()
}

/// Ada (primary, id "ada") and her duplicate (secondary, id "ada-dup"), who has what
/// Ada lacks and values Ada has already.
fn duplicates(app: &TestApp) -> (i64, i64) {
    let primary = NewPerson::new("ada")
        .name("Ada Lovelace")
        .attributes(json!({ "plan": "pro", "empty": "" }))
        .event("login", json!({}))
        .insert(app);
    let secondary = NewPerson::new("ada-dup")
        .email("zq.duplicate@example.com")
        .name("Zqduplicate Person")
        .phone("+44 7700 900999")
        .country("IS")
        .attributes(json!({ "plan": "free", "empty": "filled", "team": "zq-dup-team" }))
        .event("order", json!({ "sku": "A1" }))
        .event("refund", json!({ "sku": "A1" }))
        .insert(app);
    (primary, secondary)
}

async fn a_merge_fills_in_the_primary_moves_the_events_and_deletes_the_secondary(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let (primary, secondary) = duplicates(&app);
    let before = search(&app, "zq.duplicate").await;
    assert_eq!(
        before.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![secondary],
        "found before the merge"
    );
    assert_eq!(search(&app, "Zqduplicate").await.len(), 1);
    app.sql(&format!(
        "INSERT INTO devices (workspace_id, customer_id, token, platform, last_used, attributes, created_at, updated_at) \
         VALUES (1, {secondary}, 'zq-dup-phone', 'ios', '2026-01-01 00:00:00', '{{}}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    ));
    let audit_mark = texts(
        &app,
        "SELECT CAST(COALESCE(MAX(id), 0) AS TEXT) AS t FROM audit_log",
    )[0]
    .parse::<i64>()
    .unwrap();

    let merged = merge(
        &app,
        &auth,
        json!({ "primary": { "id": "ada" }, "secondary": { "id": "ada-dup" } }),
    )
    .await;

    assert_eq!(answer(merged).await, (StatusCode::OK, json!({})));
    assert_eq!(
        app.count(&format!("customers WHERE id = {secondary}")),
        0,
        "the secondary is gone"
    );
    assert_eq!(app.count("customers"), 1);
    let row = texts(
        &app,
        &format!(
            "SELECT COALESCE(email, '') || '|' || COALESCE(name, '') || '|' || COALESCE(phone, '') \
             || '|' || COALESCE(country, '') || '|' || attributes AS t FROM customers WHERE id = {primary}"
        ),
    )
    .remove(0);
    let (fields, attributes) = row.rsplit_once('|').unwrap();
    assert_eq!(
        fields, "zq.duplicate@example.com|Ada Lovelace|+44 7700 900999|IS",
        "the primary's name wins; what it lacked comes from the secondary"
    );
    assert_eq!(
        serde_json::from_str::<Value>(attributes).unwrap(),
        json!({ "plan": "pro", "empty": "filled", "team": "zq-dup-team" })
    );
    assert_eq!(app.count(&format!("events WHERE customer_id = {primary}")), 3);
    assert_eq!(app.count("events"), 3);
    assert_eq!(
        app.count(&format!("devices WHERE customer_id = {primary}")),
        1,
        "the secondary's device is the primary's now"
    );
    // The secondary's own id and name are in no live row, and the search finds the
    // address only on the primary, who now holds it.
    for value in ["ada-dup", "Zqduplicate"] {
        assert_eq!(
            app.count(&format!(
                "customers WHERE external_id LIKE '%{value}%' OR name LIKE '%{value}%'"
            )),
            0
        );
        assert_eq!(
            search(&app, value).await,
            vec![],
            "{value} is not in the search index"
        );
    }
    let found = search(&app, "zq.duplicate").await;
    assert_eq!(
        found.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![primary],
        "the address now leads to the primary only"
    );

    // One entry for the merge, with internal ids only, and the secondary's deletion.
    let entries = texts(
        &app,
        &format!(
            "SELECT action || '|' || target || '|' || details AS t FROM audit_log WHERE id > {audit_mark} ORDER BY id"
        ),
    );
    let merged_entry = entries
        .iter()
        .find(|e| e.starts_with(AuditAction::CustomersMerged.key()))
        .unwrap_or_else(|| panic!("a merge entry among {entries:?}"));
    assert!(
        merged_entry.contains(&format!("|customer:{primary}|")),
        "{merged_entry}"
    );
    let details: Value = serde_json::from_str(merged_entry.splitn(3, '|').nth(2).unwrap()).unwrap();
    assert_eq!(details["primary"], primary);
    assert_eq!(details["secondary"], secondary);
    assert_eq!(details["events_moved"], 2);
    assert!(entries.iter().any(|e| e.starts_with(&format!(
        "{}|customer:{secondary}|",
        AuditAction::CustomerDeleted.key()
    ))));
    for entry in &entries {
        for value in ["ada-dup", "zq.duplicate", "Zqduplicate", "7700", "zq-dup-team"] {
            assert!(!entry.contains(value), "{value} in the audit entry {entry}");
        }
    }
}

async fn each_side_may_be_named_by_id_email_or_cio_id(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    let (primary, secondary) = duplicates(&app);

    let merged = merge(
        &app,
        &auth,
        json!({ "primary": { "cio_id": primary.to_string() }, "secondary": { "email": "ZQ.Duplicate@example.com" } }),
    )
    .await;

    assert_eq!(answer(merged).await, (StatusCode::OK, json!({})));
    assert_eq!(app.count(&format!("customers WHERE id = {secondary}")), 0);
    assert_eq!(app.count(&format!("events WHERE customer_id = {primary}")), 3);
    // An address names nobody in an "ID only" workspace.
    app.sql("UPDATE workspaces SET identifier_mode = 'id'");
    let by_email = merge(
        &app,
        &auth,
        json!({ "primary": { "id": "ada" }, "secondary": { "email": "someone@example.com" } }),
    )
    .await;
    refused(by_email, StatusCode::BAD_REQUEST, "invalid_identifier").await;
}

async fn a_merge_is_refused_when_a_side_is_missing_the_same_or_malformed(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let (primary, _) = duplicates(&app);
    let cases = [
        (
            json!({ "primary": { "id": "nobody" }, "secondary": { "id": "ada-dup" } }),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({ "primary": { "id": "ada" }, "secondary": { "id": "nobody" } }),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({ "primary": { "id": "ada" }, "secondary": { "cio_id": primary } }),
            StatusCode::BAD_REQUEST,
            "same_customer",
        ),
        (
            json!({ "primary": { "id": "ada" }, "secondary": { "cio_id": "a3000001" } }),
            StatusCode::BAD_REQUEST,
            "invalid_identifier",
        ),
        (
            json!({ "primary": { "id": "ada" } }),
            StatusCode::BAD_REQUEST,
            "invalid_identifier",
        ),
        (
            json!({ "primary": { "id": "ada", "email": "a@example.com" }, "secondary": { "id": "ada-dup" } }),
            StatusCode::BAD_REQUEST,
            "invalid_identifier",
        ),
        (json!("ada"), StatusCode::BAD_REQUEST, "invalid_body"),
    ];
    for (body, status, code) in cases {
        refused(merge(&app, &auth, body).await, status, code).await;
    }
    assert_eq!(app.count("customers"), 2, "nothing was merged");
    assert_eq!(app.count("events"), 3);
}

async fn a_merge_is_refused_when_an_identifier_is_suppressed(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    let (_, secondary) = duplicates(&app);
    // Suppressed by hand while the customer still exists (the list keeps digests only).
    let digest = erasure::erasure::suppress::email_digest(&app.state.secret, "zq.duplicate@example.com");
    app.sql(&format!(
        "INSERT INTO suppressions (workspace_id, kind, digest, reason, created_at, created_by) \
         VALUES (1, 'email', '{digest}', 'manual', '2026-01-01 00:00:00', 'system')"
    ));

    for body in [
        json!({ "primary": { "id": "ada" }, "secondary": { "email": "zq.duplicate@example.com" } }),
        json!({ "primary": { "id": "ada" }, "secondary": { "id": "ada-dup" } }),
        json!({ "primary": { "id": "ada-dup" }, "secondary": { "id": "ada" } }),
    ] {
        refused(
            merge(&app, &auth, body).await,
            StatusCode::FORBIDDEN,
            "suppressed",
        )
        .await;
    }
    assert_eq!(
        app.count(&format!("customers WHERE id = {secondary}")),
        1,
        "nothing changed"
    );
    assert_eq!(app.count("events"), 3);
    let ada = texts(
        &app,
        "SELECT COALESCE(email, '') AS t FROM customers WHERE external_id = 'ada'",
    );
    assert_eq!(ada, vec![String::new()]);
}

async fn a_merge_is_refused_when_either_customer_is_under_legal_hold_or_anonymized(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let (primary, secondary) = duplicates(&app);
    let forward = json!({ "primary": { "id": "ada" }, "secondary": { "id": "ada-dup" } });
    for (held, other) in [(primary, secondary), (secondary, primary)] {
        app.sql(&format!(
            "UPDATE customers SET legal_hold_reason = 'litigation', legal_hold_at = '2026-01-01 00:00:00' WHERE id = {held}"
        ));
        app.sql(&format!(
            "UPDATE customers SET legal_hold_reason = NULL, legal_hold_at = NULL WHERE id = {other}"
        ));
        refused(
            merge(&app, &auth, forward.clone()).await,
            StatusCode::CONFLICT,
            "legal_hold",
        )
        .await;
    }
    app.sql("UPDATE customers SET legal_hold_reason = NULL, legal_hold_at = NULL");
    app.sql(&format!(
        "UPDATE customers SET archived_at = '2026-01-01 00:00:00' WHERE id = {secondary}"
    ));
    refused(
        merge(&app, &auth, forward).await,
        StatusCode::CONFLICT,
        "archived",
    )
    .await;
    assert_eq!(app.count("customers"), 2, "nothing was merged");
    assert_eq!(app.count(&format!("events WHERE customer_id = {secondary}")), 2);
}
