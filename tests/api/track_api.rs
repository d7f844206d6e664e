use chrono::NaiveDateTime;
use diesel::prelude::*;
use erasure::db::schema::{api_keys, customers, events};
use erasure::store::audit::{Actor, RequestOrigin};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::api::*;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    identify_creates_a_customer_then_updates_it,
    an_address_finds_the_same_customer_in_an_id_or_email_workspace,
    an_internal_id_names_an_existing_customer_only,
    an_event_is_stored_and_moves_last_seen_forward_only,
    an_event_for_an_unknown_id_creates_the_customer,
    delete_removes_the_customer_and_their_events_with_one_audit_entry,
    a_customer_under_legal_hold_is_not_deleted,
    every_authentication_failure_is_a_401_asking_for_basic_credentials,
    unreadable_or_invalid_bodies_are_400s_that_name_the_problem,
    oversized_and_non_json_bodies_get_413_and_415,
    a_key_over_its_rate_gets_429,
    unknown_api_routes_and_methods_answer_json,
    concurrent_identifies_of_a_new_id_create_one_customer_and_keep_every_attribute,
    the_api_keys_page_shows_a_new_key_once_and_revokes_keys,
    a_member_without_settings_permission_cannot_manage_keys,
    the_command_line_creates_a_working_key,
);

async fn put(app: &TestApp, auth: &Credentials, identifier: &str, body: Value) -> Response {
    call(
        app,
        auth,
        reqwest::Method::PUT,
        &format!("/customers/{identifier}"),
        Some(body),
    )
    .await
}

async fn track(app: &TestApp, auth: &Credentials, identifier: &str, body: Value) -> Response {
    let path = format!("/customers/{identifier}/events");
    call(app, auth, reqwest::Method::POST, &path, Some(body)).await
}

async fn delete(app: &TestApp, auth: &Credentials, identifier: &str) -> Response {
    call(
        app,
        auth,
        reqwest::Method::DELETE,
        &format!("/customers/{identifier}"),
        None,
    )
    .await
}

/// The status and the JSON body of a response.
async fn answer(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

async fn assert_ok(response: Response) {
    assert_eq!(answer(response).await, (StatusCode::OK, json!({})));
}

async fn assert_error(response: Response, status: StatusCode, code: &str) -> String {
    let (actual, body) = answer(response).await;
    assert_eq!(actual, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    body["message"].as_str().expect("a message").to_owned()
}

#[derive(Debug)]
struct CustomerRow {
    id: i64,
    email: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    country: Option<String>,
    city: Option<String>,
    attributes: Value,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
}

type RowTuple = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    NaiveDateTime,
    NaiveDateTime,
);

fn customer(app: &TestApp, external_id: &str) -> Option<CustomerRow> {
    let mut conn = app.db();
    let row: Option<RowTuple> = customers::table
        .filter(customers::external_id.eq(external_id))
        .select((
            customers::id,
            customers::email,
            customers::phone,
            customers::name,
            customers::country,
            customers::city,
            customers::attributes,
            customers::created_at,
            customers::last_seen_at,
        ))
        .first(&mut **conn)
        .optional()
        .unwrap();
    row.map(|r| CustomerRow {
        id: r.0,
        email: r.1,
        phone: r.2,
        name: r.3,
        country: r.4,
        city: r.5,
        attributes: serde_json::from_str(&r.6).unwrap(),
        created_at: r.7,
        last_seen_at: r.8,
    })
}

fn unix(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn identify_creates_a_customer_then_updates_it(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let before = now();

    let created = put(
        &app,
        &auth,
        "42",
        json!({
            "id": "42", "email": "Ada@Example.com", "phone": "+44 20 7946 0000", "name": "Ada",
            "country": "GB", "city": "London", "created_at": 1_600_000_000,
            "plan": "free", "seats": 1, "trial": true,
        }),
    )
    .await;
    assert_ok(created).await;
    let ada = customer(&app, "42").expect("created");
    assert_eq!(ada.email.as_deref(), Some("ada@example.com"));
    assert_eq!(ada.phone.as_deref(), Some("+44 20 7946 0000"));
    assert_eq!(ada.name.as_deref(), Some("Ada"));
    assert_eq!(ada.country.as_deref(), Some("GB"));
    assert_eq!(ada.city.as_deref(), Some("London"));
    assert_eq!(unix(ada.created_at), 1_600_000_000);
    assert!(unix(ada.last_seen_at) >= before);
    assert_eq!(
        ada.attributes,
        json!({ "plan": "free", "seats": 1, "trial": true })
    );

    let updated = put(
        &app,
        &auth,
        "42",
        json!({ "plan": "pro", "seats": null, "beta": "yes", "name": "Ada Lovelace", "city": null }),
    )
    .await;

    assert_ok(updated).await;
    let ada = customer(&app, "42").unwrap();
    assert_eq!(
        ada.attributes,
        json!({ "plan": "pro", "trial": true, "beta": "yes" })
    );
    assert_eq!(ada.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(ada.city, None, "null clears a column");
    assert_eq!(ada.email.as_deref(), Some("ada@example.com"), "untouched");
    assert_eq!(unix(ada.created_at), 1_600_000_000);
    assert_eq!(app.count("customers"), 1);
}

async fn an_address_finds_the_same_customer_in_an_id_or_email_workspace(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    assert_ok(put(&app, &auth, "42", json!({ "email": "ada@example.com" })).await).await;
    // In an `id` workspace an address is just an id.
    assert_ok(put(&app, &auth, "bob@example.com", json!({})).await).await;
    assert_eq!(customer(&app, "bob@example.com").unwrap().email, None);

    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    let by_email = put(&app, &auth, "Ada@Example.com", json!({ "plan": "pro" })).await;

    assert_ok(by_email).await;
    assert_eq!(app.count("customers"), 2);
    assert_eq!(customer(&app, "42").unwrap().attributes, json!({ "plan": "pro" }));
    // Someone first seen by address gets it as email and as their id.
    assert_ok(put(&app, &auth, "new@example.com", json!({ "name": "New" })).await).await;
    let new = customer(&app, "new@example.com").expect("created by address");
    assert_eq!(new.email.as_deref(), Some("new@example.com"));
    assert_ok(track(&app, &auth, "NEW@example.com", json!({ "name": "login" })).await).await;
    assert_eq!(app.count("customers"), 3);
    assert_eq!(app.count("events"), 1);
    // An address two customers share names neither.
    app.sql("UPDATE customers SET email = 'ada@example.com' WHERE external_id = 'new@example.com'");
    let ambiguous = delete(&app, &auth, "ada@example.com").await;
    assert_error(ambiguous, StatusCode::CONFLICT, "ambiguous_identifier").await;
    assert_eq!(app.count("customers"), 3);
}

async fn an_internal_id_names_an_existing_customer_only(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    assert_ok(put(&app, &auth, "42", json!({})).await).await;
    let id = customer(&app, "42").unwrap().id;

    assert_ok(put(&app, &auth, &format!("cio_{id}"), json!({ "plan": "pro" })).await).await;
    let missing_put = put(
        &app,
        &auth,
        &format!("cio_{}", id + 1000),
        json!({ "plan": "pro" }),
    )
    .await;
    let missing_track = track(&app, &auth, &format!("cio_{}", id + 1000), json!({ "name": "x" })).await;

    assert_eq!(customer(&app, "42").unwrap().attributes, json!({ "plan": "pro" }));
    assert_error(missing_put, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(missing_track, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.count("customers"), 1);
    assert_eq!(app.count("events"), 0);
}

async fn an_event_is_stored_and_moves_last_seen_forward_only(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    assert_ok(put(&app, &auth, "42", json!({})).await).await;
    app.sql("UPDATE customers SET last_seen_at = '2020-01-01 00:00:00'");
    let at = now() - 60;

    let tracked = track(
        &app,
        &auth,
        "42",
        json!({ "name": "purchase", "data": { "price": 23.45, "items": ["a"] }, "timestamp": at }),
    )
    .await;

    assert_ok(tracked).await;
    let ada = customer(&app, "42").unwrap();
    assert_eq!(unix(ada.last_seen_at), at);
    let mut conn = app.db();
    let (customer_id, name, properties, occurred_at): (i64, String, String, NaiveDateTime) = events::table
        .select((
            events::customer_id,
            events::name,
            events::properties,
            events::occurred_at,
        ))
        .first(&mut **conn)
        .unwrap();
    drop(conn);
    assert_eq!(customer_id, ada.id);
    assert_eq!(name, "purchase");
    assert_eq!(
        serde_json::from_str::<Value>(&properties).unwrap(),
        json!({ "price": 23.45, "items": ["a"] })
    );
    assert_eq!(unix(occurred_at), at);

    // An older event is kept but does not move "last seen" back.
    assert_ok(
        track(
            &app,
            &auth,
            "42",
            json!({ "name": "old", "timestamp": 1_600_000_000 }),
        )
        .await,
    )
    .await;
    assert_eq!(unix(customer(&app, "42").unwrap().last_seen_at), at);
    assert_eq!(app.count("events"), 2);
}

async fn an_event_for_an_unknown_id_creates_the_customer(backend: Backend) {
    let (app, auth) = api_app(backend).await;

    let tracked = track(&app, &auth, "walk-in", json!({ "name": "page_view" })).await;

    assert_ok(tracked).await;
    let walk_in = customer(&app, "walk-in").expect("created by the event");
    assert_eq!(walk_in.attributes, json!({}));
    assert_eq!(app.count("events"), 1);
}

async fn delete_removes_the_customer_and_their_events_with_one_audit_entry(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let (external_id, email) = ("ext-ada-7781", "ada.lovelace@example.com");
    assert_ok(put(&app, &auth, external_id, json!({ "email": email, "name": "Ada" })).await).await;
    assert_ok(put(&app, &auth, "someone-else", json!({})).await).await;
    let id = customer(&app, external_id).unwrap().id;
    for name in ["a", "b"] {
        assert_ok(track(&app, &auth, external_id, json!({ "name": name })).await).await;
    }
    assert_ok(track(&app, &auth, "someone-else", json!({ "name": "c" })).await).await;

    assert_ok(delete(&app, &auth, external_id).await).await;

    assert!(customer(&app, external_id).is_none());
    assert_eq!(app.count("customers"), 1, "only that customer");
    assert_eq!(app.count("events"), 1, "only their events");
    let mut conn = app.db();
    let entries = erasure::store::audit::page_after(&mut conn, 0, 1000).unwrap();
    drop(conn);
    let deletions: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "customer.deleted")
        .collect();
    assert_eq!(deletions.len(), 1);
    let entry = deletions[0];
    assert_eq!(entry.actor_kind, "api_key");
    assert_eq!(entry.target, format!("customer:{id}"));
    assert_eq!(entry.affected, 1);
    let details = serde_json::from_str::<Value>(&entry.details).unwrap();
    assert_eq!(details["events_removed"], 2);
    assert_eq!(details["suppressed"], false);
    assert!(details["receipt"]
        .as_str()
        .is_some_and(|r| r.starts_with("rcpt_")));
    for entry in &entries {
        for column in [
            &entry.target,
            &entry.selection,
            &entry.details,
            &entry.request_id,
            &entry.client_ip,
            &entry.actor_kind,
            &entry.action,
        ] {
            assert!(
                !column.contains(external_id) && !column.contains(email),
                "{entry:?}"
            );
        }
    }
    // Deleting again is not an error: a retried request finds the job done.
    assert_ok(delete(&app, &auth, external_id).await).await;
    assert_eq!(app.count("audit_log WHERE action = 'customer.deleted'"), 1);
}

async fn a_customer_under_legal_hold_is_not_deleted(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    assert_ok(put(&app, &auth, "42", json!({})).await).await;
    app.sql("UPDATE customers SET legal_hold_reason = 'litigation', legal_hold_at = '2026-01-01 00:00:00'");

    let refused = delete(&app, &auth, "42").await;

    assert_error(refused, StatusCode::CONFLICT, "legal_hold").await;
    assert_eq!(app.count("customers"), 1);
}

async fn every_authentication_failure_is_a_401_asking_for_basic_credentials(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let (revoked_id, revoked) = issue_key(&app, "Old");
    let workspace_id = workspace(&app).id;
    let mut conn = app.db();
    erasure::store::api_keys::revoke(
        &mut conn,
        workspace_id,
        revoked_id,
        Actor::System,
        &RequestOrigin::default(),
    )
    .unwrap()
    .expect("revoked");
    drop(conn);
    let url = app.url("/api/v1/customers/42");
    let body = json!({ "plan": "pro" });
    let attempts = [
        app.client.put(&url).json(&body),
        app.client
            .put(&url)
            .basic_auth(&auth.site_id, Some("wrong-key"))
            .json(&body),
        app.client
            .put(&url)
            .basic_auth("wrong-site", Some(&auth.key))
            .json(&body),
        app.client
            .put(&url)
            .basic_auth(&revoked.site_id, Some(&revoked.key))
            .json(&body),
        app.client
            .put(&url)
            .basic_auth(&auth.site_id, None::<&str>)
            .json(&body),
        app.client.put(&url).bearer_auth(&auth.key).json(&body),
        app.client
            .put(&url)
            .header("authorization", "Basic !!!")
            .json(&body),
    ];

    for (n, attempt) in attempts.into_iter().enumerate() {
        let response = attempt.send().await.unwrap();
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Basic realm=\"Erasure Track API\""),
            "attempt {n}"
        );
        assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    assert_eq!(app.count("customers"), 0);
    // The right key still works, and its use is recorded.
    assert_ok(put(&app, &auth, "42", body).await).await;
    let mut conn = app.db();
    let used: Vec<Option<NaiveDateTime>> = api_keys::table
        .filter(api_keys::revoked_at.is_null())
        .select(api_keys::last_used_at)
        .load(&mut **conn)
        .unwrap();
    assert_eq!(used.len(), 1);
    assert!(used[0].is_some());
}

async fn unreadable_or_invalid_bodies_are_400s_that_name_the_problem(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let raw = |body: &'static str| {
        app.client
            .put(app.url("/api/v1/customers/42"))
            .basic_auth(&auth.site_id, Some(&auth.key))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    assert_error(
        raw("{not json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    assert_error(raw("").await.unwrap(), StatusCode::BAD_REQUEST, "invalid_body").await;
    for body in [json!([1]), json!("x"), json!(null)] {
        assert_error(
            put(&app, &auth, "42", body).await,
            StatusCode::BAD_REQUEST,
            "invalid_body",
        )
        .await;
    }
    let too_deep = (0..9).fold(json!("x"), |inner, _| json!({ "k": inner }));
    let nested = put(&app, &auth, "42", json!({ "address": too_deep })).await;
    let message = assert_error(nested, StatusCode::BAD_REQUEST, "invalid_attribute").await;
    assert!(
        message.contains("\"address\"") && message.contains('8'),
        "{message}"
    );
    let bad_email = put(&app, &auth, "42", json!({ "email": "not-an-address" })).await;
    assert_error(bad_email, StatusCode::BAD_REQUEST, "invalid_email").await;
    let long = put(&app, &auth, "42", json!({ "bio": "x".repeat(1001) })).await;
    let message = assert_error(long, StatusCode::BAD_REQUEST, "invalid_attribute").await;
    assert!(message.contains("\"bio\""), "{message}");
    let future = put(&app, &auth, "42", json!({ "created_at": now() * 1000 })).await;
    assert_error(future, StatusCode::BAD_REQUEST, "invalid_timestamp").await;
    let bad_id = put(&app, &auth, "cio_abc", json!({})).await;
    assert_error(bad_id, StatusCode::BAD_REQUEST, "invalid_identifier").await;

    let no_name = track(&app, &auth, "42", json!({ "data": {} })).await;
    assert_error(no_name, StatusCode::BAD_REQUEST, "invalid_event_name").await;
    let ancient = track(
        &app,
        &auth,
        "42",
        json!({ "name": "a", "timestamp": 900_000_000 }),
    )
    .await;
    assert_error(ancient, StatusCode::BAD_REQUEST, "invalid_timestamp").await;
    let ahead = track(
        &app,
        &auth,
        "42",
        json!({ "name": "a", "timestamp": now() + 2 * 86_400 }),
    )
    .await;
    assert_error(ahead, StatusCode::BAD_REQUEST, "invalid_timestamp").await;
    let bad_data = track(&app, &auth, "42", json!({ "name": "a", "data": [1] })).await;
    assert_error(bad_data, StatusCode::BAD_REQUEST, "invalid_event_data").await;

    assert_eq!(app.count("customers"), 0, "nothing was written");
    assert_eq!(app.count("events"), 0);
}

async fn oversized_and_non_json_bodies_get_413_and_415(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let big = json!({ "blob": "x".repeat(erasure::web::api::JSON_LIMIT) });

    let too_large = put(&app, &auth, "42", big).await;
    let text = app
        .client
        .put(app.url("/api/v1/customers/42"))
        .basic_auth(&auth.site_id, Some(&auth.key))
        .header("content-type", "text/plain")
        .body(r#"{"plan":"pro"}"#)
        .send()
        .await
        .unwrap();

    assert_error(too_large, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_error(text, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    assert_eq!(app.count("customers"), 0);
}

async fn a_key_over_its_rate_gets_429(backend: Backend) {
    let (app, auth) = api_app_with(backend, Box::new(|s| s.api_rate_per_second = 1)).await;
    let (_, other) = issue_key(&app, "Other");

    // A rate of 1 a second allows a burst of 2.
    assert_ok(put(&app, &auth, "1", json!({})).await).await;
    assert_ok(put(&app, &auth, "2", json!({})).await).await;
    let limited = put(&app, &auth, "3", json!({})).await;

    assert!(limited.headers().contains_key("retry-after"));
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(customer(&app, "3").is_none());
    assert_ok(put(&app, &other, "4", json!({})).await).await;
}

async fn unknown_api_routes_and_methods_answer_json(backend: Backend) {
    let (app, auth) = api_app(backend).await;

    let unknown = call(&app, &auth, reqwest::Method::GET, "/nothing-here", None).await;
    let outside = app.get("/api/v3/customers/42").await;
    // Inside a version's scope, credentials come first, as for every call there.
    let unauthenticated = app.get("/api/v2/customers/42").await;
    let wrong_method = call(&app, &auth, reqwest::Method::GET, "/customers/42", None).await;

    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(outside, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(unauthenticated, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_error(wrong_method, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

async fn concurrent_identifies_of_a_new_id_create_one_customer_and_keep_every_attribute(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let auth = std::sync::Arc::new(auth);
    let app = std::sync::Arc::new(app);

    let calls = (0..20).map(|n| {
        let (app, auth) = (app.clone(), auth.clone());
        tokio::spawn(async move {
            let body = json!({ format!("a{n}"): n, "email": "race@example.com" });
            put(&app, &auth, "race", body).await.status()
        })
    });
    let statuses = futures_join(calls).await;

    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    assert_eq!(app.count("customers"), 1);
    let attributes = customer(&app, "race").unwrap().attributes;
    assert_eq!(
        attributes.as_object().unwrap().len(),
        20,
        "no update was lost: {attributes}"
    );
}

async fn futures_join(handles: impl Iterator<Item = tokio::task::JoinHandle<StatusCode>>) -> Vec<StatusCode> {
    let handles: Vec<_> = handles.collect();
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap());
    }
    statuses
}

const KEYS_PAGE: &str = "/w/acme-shop/settings/api-keys";

fn new_key_on(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse("#new-key").unwrap();
    doc.select(&selector)
        .next()
        .and_then(|el| el.value().attr("value"))
        .map(str::to_owned)
}

async fn the_api_keys_page_shows_a_new_key_once_and_revokes_keys(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let site_id = workspace(&app).site_id;
    let page = app.get_html(KEYS_PAGE).await;
    assert!(page.contains(&site_id));
    let settings = app.get_html("/settings/security").await;
    assert!(
        settings.contains(&format!("href=\"{KEYS_PAGE}\"")),
        "a link in the settings navigation"
    );

    let empty_name = app.post_form(KEYS_PAGE, &[("name", "  ")]).await;
    assert_eq!(empty_name.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty_name.text().await.unwrap().contains("field-error"));
    let created = app.post_form(KEYS_PAGE, &[("name", "Checkout service")]).await;
    assert_eq!(created.status(), StatusCode::OK);
    let key = new_key_on(&created.text().await.unwrap()).expect("the key, shown once");
    let reloaded = app.get_html(KEYS_PAGE).await;
    assert!(new_key_on(&reloaded).is_none());
    assert!(!reloaded.contains(&key), "never shown again");
    assert!(reloaded.contains("Checkout service"));
    assert!(reloaded.contains(&key[..8]), "the prefix tells keys apart");
    let auth = Credentials { site_id, key };
    assert_ok(put(&app, &auth, "42", json!({})).await).await;

    let mut conn = app.db();
    let (key_id, digest): (i64, String) = api_keys::table
        .select((api_keys::id, api_keys::key_digest))
        .first(&mut **conn)
        .unwrap();
    drop(conn);
    assert!(!digest.contains(&auth.key), "only a digest is stored");
    let revoked = app.post_form(&format!("{KEYS_PAGE}/{key_id}/revoke"), &[]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&revoked), KEYS_PAGE);
    assert!(app.get_html(KEYS_PAGE).await.contains("Revoked"));
    assert_error(
        put(&app, &auth, "43", json!({})).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let again = app.post_form(&format!("{KEYS_PAGE}/{key_id}/revoke"), &[]).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count("audit_log WHERE action = 'api_key.created'"), 1);
    assert_eq!(
        app.count(&format!(
            "audit_log WHERE action = 'api_key.revoked' AND target = 'api_key:{key_id}'"
        )),
        1
    );
}

fn add_member(app: &TestApp, email: &str, password: &str) {
    let hash = erasure::password::hash(password).unwrap();
    app.sql(&format!(
        "INSERT INTO users (email, name, password_hash, is_owner, recovery_codes, disabled, created_at) \
         VALUES ('{email}', 'Mia Member', '{hash}', FALSE, '[]', FALSE, '2026-01-01 00:00:00');
         INSERT INTO memberships (user_id, workspace_id, role_id, created_at) \
         SELECT u.id, w.id, r.id, '2026-01-01 00:00:00' FROM users u, workspaces w, roles r \
         WHERE u.email = '{email}' AND r.builtin = 'member';"
    ));
}

async fn a_member_without_settings_permission_cannot_manage_keys(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let (key_id, _) = issue_key(&app, "Backend");
    add_member(&app, "member@example.com", "member password 123");
    let member = new_client();
    app.login_with(&member, "member@example.com", "member password 123")
        .await;

    let page = app.get_with(&member, KEYS_PAGE).await;
    let create = app
        .post_form_with(&member, KEYS_PAGE, &[("name", "Sneaky")])
        .await;
    let revoke = app
        .post_form_with(&member, &format!("{KEYS_PAGE}/{key_id}/revoke"), &[])
        .await;

    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert_eq!(create.status(), StatusCode::FORBIDDEN);
    assert_eq!(revoke.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("api_keys"), 1);
    assert_eq!(app.count("api_keys WHERE revoked_at IS NULL"), 1);
    let settings = app.get_html_with(&member, "/settings/security").await;
    assert!(!settings.contains(KEYS_PAGE), "no API keys link for a member");
}

async fn the_command_line_creates_a_working_key(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let database_url = match &app.state.settings.database_url {
        erasure::db::DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        erasure::db::DatabaseUrl::Postgres(url) => url.clone(),
    };

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_erasure"))
        .args([
            "api-key",
            "create",
            "--workspace",
            WORKSPACE_SLUG,
            "--name",
            "From the shell",
        ])
        .env("DATABASE_URL", &database_url)
        .env("DATA_DIR", &app.data_dir)
        .env("SECRET_KEY", app.state.settings.secret_key.as_deref().unwrap())
        .output()
        .unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let line = |label: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label:?} in {stdout}"))
            .to_owned()
    };
    let auth = Credentials {
        site_id: line("site id: "),
        key: line("api key: "),
    };
    assert_eq!(auth.site_id, workspace(&app).site_id);
    assert_ok(put(&app, &auth, "42", json!({})).await).await;
    let unknown = std::process::Command::new(env!("CARGO_BIN_EXE_erasure"))
        .args(["api-key", "create", "--workspace", "nope", "--name", "x"])
        .env("DATABASE_URL", &database_url)
        .env("DATA_DIR", &app.data_dir)
        .env("SECRET_KEY", app.state.settings.secret_key.as_deref().unwrap())
        .output()
        .unwrap();
    assert!(!unknown.status.success());
}
