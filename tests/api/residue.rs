//! Nothing erased lingers anywhere: for every path that erases, plant unique values in
//! a customer's fields, attributes, events (nested data included) and devices (added
//! through the Track API, so the request log is looked at too), erase through
//! that path, then look for them in every file under the data folder, the database's
//! folder and the server's log, and in every live row of every table.

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::api::{call, issue_key};
use crate::helpers::arrange::NewPerson;
use crate::helpers::destinations::{add_destination, outbox_settles};
use crate::helpers::erasure_paths::{erase, plant, restore_and_replay, ErasurePath, WS};
use crate::helpers::webhook_receiver::WebhookReceiver;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    deleting_one_from_the_profile_leaves_nothing,
    archiving_from_the_profile_leaves_nothing_personal,
    deleting_selected_leaves_nothing,
    deleting_filtered_leaves_nothing,
    archiving_filtered_leaves_nothing_personal,
    deleting_all_leaves_nothing,
    deleting_through_the_api_leaves_nothing,
    suppressing_through_the_api_leaves_nothing,
    deleting_in_an_api_batch_leaves_nothing,
    suppressing_through_the_v2_entity_call_leaves_nothing,
    suppressing_on_the_suppression_page_leaves_nothing,
    replaying_the_journal_after_a_restore_leaves_nothing,
);

/// The erased customer holds everything the Track API can store about a person:
/// nested attributes and event data (planted), an anonymous event claimed by an
/// identify, a secondary merged in (the planted customer, whose values the new primary
/// takes over), a device, and a pending import row naming them.
async fn erased_values_are_nowhere(backend: Backend, path: ErasurePath) {
    let log = server_log();
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let token = format!("zq{}x{:?}", std::process::id() % 1000, path).to_lowercase();
    // A destination that is sent every identifier: what it was sent leaves the outbox,
    // and the files, once delivered.
    let receiver = WebhookReceiver::start().await;
    add_destination(&app, &receiver.url("/"), &[("include_identifiers", "on")]).await;
    let planted = plant(&app, &token);
    claim_anonymous_event_naming(&app, &token).await;
    let events = 3;
    let id = merge_into_a_new_primary(&app, planted, &token, events).await;
    pending_import_naming(&app, &token).await;
    add_device(&app, &token).await;
    assert_eq!(app.count(&format!("devices WHERE customer_id = {id}")), 1);

    erase(&app, path, id, &token).await;

    if path == ErasurePath::Replay {
        restore_and_replay(&app, id, &token);
    }
    outbox_settles(&app).await;
    assert!(
        receiver.requests().iter().any(|r| r.body_text().contains(&token)),
        "the destination was sent the identifiers"
    );
    if matches!(path, ErasurePath::ProfileArchive | ErasurePath::FilteredArchive) {
        let archived = app.get_html(&format!("{WS}/customers/{id}")).await;
        assert!(
            archived.contains("Anonymous customer"),
            "the profile stays, anonymous"
        );
        assert_eq!(
            app.count(&format!("events WHERE customer_id = {id}")),
            events + 1, // and the push event naming the device
            "the activity is kept"
        );
    } else {
        assert!(
            !app.get_html(&format!("{WS}/customers")).await.contains(&token),
            "the customer is gone"
        );
    }
    assert_eq!(
        app.count("import_rows"),
        1,
        "only the row naming someone else is pending"
    );
    assert_eq!(app.count("devices"), 0, "no device row is left");
    assert_nowhere(&app, &token, log);
}

/// An anonymous event whose data names the person, sent before they were identified and
/// claimed by the identify that carries its anonymous id (itself made of the token).
async fn claim_anonymous_event_naming(app: &TestApp, token: &str) {
    let (_, key) = issue_key(app, "Device");
    let event = json!({
        "name": "viewed",
        "anonymous_id": format!("{token}-device"),
        "data": { "typed": format!("{token}.mail@example.com"), "said": format!("hi, {token} Person") },
    });
    let sent = call(app, &key, Method::POST, "/events", Some(event)).await;
    assert_eq!(sent.status(), StatusCode::OK);
    assert_eq!(app.count("anonymous_events"), 1);
    let identify = json!({ "anonymous_id": format!("{token}-device") });
    let identified = call(
        app,
        &key,
        Method::PUT,
        &format!("/customers/{token}-id"),
        Some(identify),
    )
    .await;
    assert_eq!(identified.status(), StatusCode::OK);
    assert_eq!(app.count("anonymous_events"), 0, "the event is claimed");
}

/// Moves the planted customer aside as the secondary, and merges it through the API
/// into a new primary that takes over their id; returns the primary's internal id.
async fn merge_into_a_new_primary(app: &TestApp, planted: i64, token: &str, events: i64) -> i64 {
    app.sql(&format!(
        "UPDATE customers SET external_id = '{token}-secondary' WHERE id = {planted}"
    ));
    let primary = NewPerson::new(&format!("{token}-id")).insert(app);
    let (_, key) = issue_key(app, "Merger");
    let merge = json!({
        "primary": { "cio_id": primary.to_string() },
        "secondary": { "id": format!("{token}-secondary") },
    });
    let merged = call(app, &key, Method::POST, "/merge_customers", Some(merge)).await;
    assert_eq!(merged.status(), StatusCode::OK);
    assert_eq!(app.count(&format!("customers WHERE id = {planted}")), 0);
    assert_eq!(
        app.count(&format!("events WHERE customer_id = {primary}")),
        events
    );
    primary
}

/// A device of the planted customer whose token and attributes carry `token`, added as
/// an app would, and an event quoting the device's token under an innocent key.
async fn add_device(app: &TestApp, token: &str) {
    let (_, key) = issue_key(app, "Devices");
    let body = json!({ "device": {
        "id": format!("{token}-device-token"),
        "platform": "ios",
        "attributes": { "model": { "owner": format!("{token} Person's phone") } },
    }});
    let response = call(
        app,
        &key,
        Method::PUT,
        &format!("/customers/{token}-id/devices"),
        Some(body),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK, "the device is added");
    let event = json!({ "name": "push_sent", "data": { "to": format!("{token}-device-token"), "ok": true } });
    let path = format!("/customers/{token}-id/events");
    let response = call(app, &key, Method::POST, &path, Some(event)).await;
    assert_eq!(response.status(), StatusCode::OK, "the event is tracked");
}

/// An import preview, uploaded and not confirmed, that holds a row naming the person.
async fn pending_import_naming(app: &TestApp, token: &str) {
    let csv = format!("id,email,name\n{token}-id,{token}.mail@example.com,{token} Person\nsomeone-else,else@example.com,Else\n");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.into_bytes())
            .file_name("people.csv")
            .mime_str("text/csv")
            .expect("a part"),
    );
    let token = app.csrf_token().await;
    let uploaded = app
        .client
        .post(app.url(&format!("{WS}/customers/import?csrf_token={token}")))
        .multipart(form)
        .send()
        .await
        .expect("an upload");
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER, "the preview is made");
    assert_eq!(app.count("import_rows"), 2, "the preview holds the rows it read");
}

/// Erases customer `id` through `path`, waiting until the erasure reported done.
fn assert_nowhere(app: &TestApp, token: &str, log: &Path) {
    let mut files = vec![log.to_path_buf()];
    let mut folders = vec![app.data_dir.clone()];
    if let erasure::db::DatabaseUrl::Sqlite(path) = &app.state.settings.database_url {
        folders.push(path.parent().expect("the database's folder").to_path_buf());
    }
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().contains("erasure-journal")),
        "the journal is there"
    );
    for file in &files {
        let bytes = std::fs::read(file).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).to_lowercase();
        assert!(!text.contains(token), "{token:?} is still in {}", file.display());
    }
    for (table, rows) in live_rows_holding(app, token) {
        assert_eq!(rows, 0, "{token:?} is still in a live row of {table}");
    }
}

/// On PostgreSQL, how many live rows of each table hold the token in any column.
fn live_rows_holding(app: &TestApp, token: &str) -> Vec<(String, i64)> {
    use diesel::sql_types::{BigInt, Text};
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Table {
        #[diesel(sql_type = Text)]
        name: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db();
    let erasure::db::DbConnection::Postgres(pg) = &mut **conn else {
        return Vec::new();
    };
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .load(pg)
    .expect("the tables");
    tables
        .into_iter()
        .map(|table| {
            let count: Count = diesel::sql_query(format!(
                "SELECT COUNT(*) AS n FROM \"{}\" AS t WHERE lower(t::text) LIKE $1",
                table.name
            ))
            .bind::<Text, _>(format!("%{token}%"))
            .get_result(pg)
            .expect("a count");
            (table.name, count.n)
        })
        .collect()
}

async fn deleting_one_from_the_profile_leaves_nothing(backend: Backend) {
    erased_values_are_nowhere(backend, ErasurePath::ProfileDelete).await;
}

async fn archiving_from_the_profile_leaves_nothing_personal(backend: Backend) {
    erased_values_are_nowhere(backend, ErasurePath::ProfileArchive).await;
}

async fn deleting_selected_leaves_nothing(backend: Backend) {
    erased_values_are_nowhere(backend, ErasurePath::Selected).await;
}

async fn deleting_filtered_leaves_nothing(backend: Backend) {
    erased_values_are_nowhere(backend, ErasurePath::Filtered).await;
}

async fn archiving_filtered_leaves_nothing_personal(backend: Backend) {
    erased_values_are_nowhere(backend, ErasurePath::FilteredArchive).await;
}

async fn deleting_all_leaves_nothing(backend: Backend) {
    erased_values_are_nowhere(backend, ErasurePath::All).await;
}

async fn deleting_through_the_api_leaves_nothing(backend: Backend) {
    erased_values_are_nowhere(backend, ErasurePath::ApiDelete).await;
}

async fn suppressing_through_the_api_leaves_nothing(backend: Backend) {
    erased_values_are_nowhere(backend, ErasurePath::ApiSuppress).await;
}

async fn suppressing_on_the_suppression_page_leaves_nothing(backend: Backend) {
    erased_values_are_nowhere(backend, ErasurePath::SuppressionPage).await;
}

async fn deleting_in_an_api_batch_leaves_nothing(backend: Backend) {
    erased_values_are_nowhere(backend, ErasurePath::ApiBatchDelete).await;
}

async fn suppressing_through_the_v2_entity_call_leaves_nothing(backend: Backend) {
    erased_values_are_nowhere(backend, ErasurePath::ApiEntitySuppress).await;
}

async fn replaying_the_journal_after_a_restore_leaves_nothing(backend: Backend) {
    erased_values_are_nowhere(backend, ErasurePath::Replay).await;
}
