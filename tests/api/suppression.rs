//! Suppression: identifiers that can never come back, a list that holds no personal data.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::api::*;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_suppressed_id_is_refused_and_nothing_is_created,
    in_id_or_email_workspaces_a_suppressed_email_is_refused_under_any_id,
    in_id_workspaces_only_ids_are_checked,
    unsuppressing_frees_the_identifier_for_a_new_customer_without_history,
    suppress_and_unsuppress_are_idempotent_and_audited,
    identify_calls_racing_a_suppress_leave_no_customer_behind,
    the_suppressions_page_looks_up_lists_exports_and_unsuppresses,
    the_database_holds_no_plaintext_suppressed_identifier,
);

async fn send(
    app: &TestApp,
    auth: &Credentials,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let response = call(app, auth, method, path, body).await;
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

async fn identify(app: &TestApp, auth: &Credentials, id: &str, body: Value) -> (StatusCode, Value) {
    send(app, auth, Method::PUT, &format!("/customers/{id}"), Some(body)).await
}

async fn suppress(app: &TestApp, auth: &Credentials, id: &str) -> StatusCode {
    send(
        app,
        auth,
        Method::POST,
        &format!("/customers/{id}/suppress"),
        None,
    )
    .await
    .0
}

async fn unsuppress(app: &TestApp, auth: &Credentials, id: &str) -> StatusCode {
    send(
        app,
        auth,
        Method::POST,
        &format!("/customers/{id}/unsuppress"),
        None,
    )
    .await
    .0
}

fn customer_ids(app: &TestApp) -> Vec<i64> {
    use diesel::prelude::*;
    use erasure::db::schema::customers;
    let mut conn = app.db();
    customers::table
        .select(customers::id)
        .order(customers::id)
        .load(&mut **conn)
        .unwrap()
}

async fn a_suppressed_id_is_refused_and_nothing_is_created(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    assert_eq!(
        identify(
            &app,
            &auth,
            "cust-1",
            json!({"email": "ada@example.com", "plan": "pro"})
        )
        .await
        .0,
        StatusCode::OK
    );
    let (status, _) = send(
        &app,
        &auth,
        Method::POST,
        "/customers/cust-1/events",
        Some(json!({"name": "login"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    assert_eq!(suppress(&app, &auth, "cust-1").await, StatusCode::OK);

    assert!(customer_ids(&app).is_empty(), "suppressing deletes the customer");
    assert_eq!(app.count("events"), 0);
    let (status, body) = identify(&app, &auth, "cust-1", json!({"name": "Ada"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "suppressed");
    let (status, body) = send(
        &app,
        &auth,
        Method::POST,
        "/customers/cust-1/events",
        Some(json!({"name": "login"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "suppressed");
    assert!(customer_ids(&app).is_empty(), "nothing was created");
    assert_eq!(app.count("events"), 0);
}

async fn in_id_or_email_workspaces_a_suppressed_email_is_refused_under_any_id(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    identify(&app, &auth, "cust-1", json!({"email": "Ada@Example.com"})).await;

    assert_eq!(suppress(&app, &auth, "cust-1").await, StatusCode::OK);

    let (status, body) = identify(&app, &auth, "cust-2", json!({"email": "ada@example.com"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = identify(&app, &auth, "ada@example.com", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "identified by the email itself");
    assert!(customer_ids(&app).is_empty());
    assert_eq!(
        identify(&app, &auth, "cust-3", json!({"email": "other@example.com"}))
            .await
            .0,
        StatusCode::OK
    );
}

async fn in_id_workspaces_only_ids_are_checked(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    identify(&app, &auth, "cust-1", json!({"email": "ada@example.com"})).await;
    suppress(&app, &auth, "cust-1").await;

    let (status, body) = identify(&app, &auth, "cust-2", json!({"email": "ada@example.com"})).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(customer_ids(&app).len(), 1);
    assert_eq!(app.count("suppressions"), 1, "only the id was suppressed");
}

async fn unsuppressing_frees_the_identifier_for_a_new_customer_without_history(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    identify(&app, &auth, "cust-1", json!({"plan": "pro"})).await;
    send(
        &app,
        &auth,
        Method::POST,
        "/customers/cust-1/events",
        Some(json!({"name": "login"})),
    )
    .await;
    let old_id = customer_ids(&app)[0];
    suppress(&app, &auth, "cust-1").await;

    assert_eq!(unsuppress(&app, &auth, "cust-1").await, StatusCode::OK);
    assert_eq!(identify(&app, &auth, "cust-1", json!({})).await.0, StatusCode::OK);

    let ids = customer_ids(&app);
    assert_eq!(ids.len(), 1);
    assert!(ids[0] > old_id, "a new internal id");
    assert_eq!(app.count("events"), 0, "no history");
    assert_eq!(app.count("suppressions"), 0);
}

async fn suppress_and_unsuppress_are_idempotent_and_audited(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    identify(&app, &auth, "cust-1", json!({})).await;

    assert_eq!(suppress(&app, &auth, "cust-1").await, StatusCode::OK);
    assert_eq!(suppress(&app, &auth, "cust-1").await, StatusCode::OK);
    assert_eq!(
        suppress(&app, &auth, "never-seen").await,
        StatusCode::OK,
        "an unknown id can be suppressed ahead"
    );
    assert_eq!(app.count("suppressions"), 2);
    assert_eq!(unsuppress(&app, &auth, "cust-1").await, StatusCode::OK);
    assert_eq!(unsuppress(&app, &auth, "cust-1").await, StatusCode::OK);
    assert_eq!(app.count("suppressions"), 1);

    use diesel::prelude::*;
    use erasure::db::schema::audit_log;
    let mut conn = app.db();
    let actions: Vec<String> = audit_log::table
        .filter(
            audit_log::action
                .like("identifier.%")
                .or(audit_log::action.eq("customer.deleted")),
        )
        .order(audit_log::id)
        .select(audit_log::action)
        .load(&mut **conn)
        .unwrap();
    assert_eq!(
        actions,
        [
            "customer.deleted",
            "identifier.suppressed",
            "identifier.suppressed",
            "identifier.unsuppressed"
        ]
    );
    let texts: Vec<String> = audit_log::table
        .select(audit_log::target.concat(audit_log::details))
        .load(&mut **conn)
        .unwrap();
    assert!(texts
        .iter()
        .all(|t| !t.contains("cust-1") && !t.contains("never-seen")));
}

async fn identify_calls_racing_a_suppress_leave_no_customer_behind(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let app = std::sync::Arc::new(app);
    let auth = std::sync::Arc::new(auth);
    for round in 0..3 {
        let id = format!("racer-{round}");
        let mut calls = Vec::new();
        for n in 0..12 {
            let (app, auth, id) = (app.clone(), auth.clone(), id.clone());
            calls.push(tokio::spawn(async move {
                if n == 6 {
                    suppress(&app, &auth, &id).await;
                } else {
                    identify(&app, &auth, &id, json!({"n": n})).await;
                }
            }));
        }
        for call in calls {
            call.await.unwrap();
        }
        use diesel::prelude::*;
        use erasure::db::schema::customers;
        let mut conn = app.db();
        let left: i64 = customers::table
            .filter(customers::external_id.eq(&id))
            .count()
            .get_result(&mut **conn)
            .unwrap();
        assert_eq!(left, 0, "round {round}: a suppressed identifier kept a customer");
    }
}

async fn the_suppressions_page_looks_up_lists_exports_and_unsuppresses(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    identify(&app, &auth, "cust-1", json!({"email": "ada@example.com"})).await;
    suppress(&app, &auth, "cust-1").await;
    let page = "/w/acme-shop/suppressions";

    let list = app.get_html(page).await;
    assert!(list.contains("2 suppressed identifiers"));
    assert!(!list.contains("ada@example.com") && !list.contains("cust-1"));
    let found = app
        .post_form(&format!("{page}/lookup"), &[("identifier", " ADA@example.com ")])
        .await;
    assert!(found.text().await.unwrap().contains("is suppressed (email)"));
    let by_id = app
        .post_form(
            &format!("{page}/lookup"),
            &[("identifier", "cust-1"), ("kind", "id")],
        )
        .await;
    assert!(by_id.text().await.unwrap().contains("is suppressed (id)"));
    let free = app
        .post_form(
            &format!("{page}/lookup"),
            &[("identifier", "someone@example.com")],
        )
        .await;
    assert!(free.text().await.unwrap().contains("is not suppressed"));
    let empty = app
        .post_form(&format!("{page}/lookup"), &[("identifier", "  ")])
        .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let csv = app.get_html(&format!("{page}/export.csv")).await;
    assert_eq!(csv.lines().count(), 3, "a header and two digests");
    assert!(!csv.contains("ada@") && !csv.contains("cust-1"));

    use diesel::prelude::*;
    use erasure::db::schema::suppressions;
    let id: i64 = {
        let mut conn = app.db();
        suppressions::table
            .filter(suppressions::kind.eq("id"))
            .select(suppressions::id)
            .first(&mut **conn)
            .unwrap()
    };
    assert!(app
        .get_html(&format!("{page}/{id}/unsuppress"))
        .await
        .contains("Unsuppress this identifier?"));
    let done = app.post_form(&format!("{page}/{id}/unsuppress"), &[]).await;
    assert_eq!(location(&done), page);
    assert_eq!(app.count("suppressions"), 1);
    assert_eq!(identify(&app, &auth, "cust-1", json!({})).await.0, StatusCode::OK);
    // The email is still suppressed.
    assert_eq!(
        identify(&app, &auth, "cust-9", json!({"email": "ada@example.com"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

async fn the_database_holds_no_plaintext_suppressed_identifier(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    identify(
        &app,
        &auth,
        "very-unique-id-4711",
        json!({"email": "very.unique.person@example.com", "name": "Zebediah Quux"}),
    )
    .await;
    send(
        &app,
        &auth,
        Method::POST,
        "/customers/very-unique-id-4711/events",
        Some(json!({"name": "x", "data": {"to": "very.unique.person@example.com"}})),
    )
    .await;

    suppress(&app, &auth, "very-unique-id-4711").await;

    if let erasure::db::DatabaseUrl::Sqlite(path) = &app.state.settings.database_url {
        // Every file of the database: the main file, its WAL and shared memory.
        let dir = path.parent().unwrap();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            for secret in ["very-unique-id-4711", "very.unique.person", "Zebediah"] {
                assert!(
                    !text.contains(secret),
                    "{secret} is still in {}",
                    entry.path().display()
                );
            }
        }
    }
    use diesel::prelude::*;
    use erasure::db::schema::suppressions;
    let mut conn = app.db();
    let stored: Vec<String> = suppressions::table
        .select(suppressions::digest)
        .load(&mut **conn)
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored
        .iter()
        .all(|d| d.len() == 64 && d.chars().all(|c| c.is_ascii_hexdigit())));
}
