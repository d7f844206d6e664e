//! Data-subject requests through their whole life: recorded, the person's customers
//! found, their data exported and downloaded, erased with suppression through the
//! erasure core's preview, closed; the due dates with the clock moved; and what a
//! closed request keeps (digests, never the identifiers in plain).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::arrange::{add_user_with_role, NewPerson};
use crate::helpers::erasure_paths::{wait_for_job, WS};
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_request_goes_from_intake_through_export_and_erasure_to_close,
    due_soon_and_overdue_requests_are_shown_and_mailed_and_extended_once,
    a_reviewer_reads_requests_masked_and_never_their_export,
    a_request_form_with_mistakes_names_each_field,
);

fn quick_upkeep(backend: Backend) -> impl std::future::Future<Output = TestApp> {
    spawn_app_with(
        backend,
        Box::new(|s| s.request_upkeep = Duration::from_millis(200)),
    )
}

async fn record(app: &TestApp, fields: &[(&str, &str)]) -> i64 {
    let response = app.post_form(&format!("{WS}/requests"), fields).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap_or_default()
    );
    location(&response).rsplit('/').next().unwrap().parse().unwrap()
}

/// Every file under the data folder (and the SQLite database's), as text.
fn files_holding(app: &TestApp, needle: &str) -> Vec<String> {
    let mut folders = vec![app.data_dir.clone()];
    if let erasure::db::DatabaseUrl::Sqlite(path) = &app.state.settings.database_url {
        folders.push(path.parent().unwrap().to_path_buf());
    }
    let mut holding = Vec::new();
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default())
                .to_lowercase()
                .contains(needle)
            {
                holding.push(path.display().to_string());
            }
        }
    }
    holding
}

async fn a_request_goes_from_intake_through_export_and_erasure_to_close(backend: Backend) {
    let app = quick_upkeep(backend).await;
    app.setup_owner().await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    let token = format!("rq{}x", std::process::id() % 10_000);
    let person = NewPerson::new(&format!("{token}-id"))
        .email(&format!("{token}.ada@example.com"))
        .name(&format!("{token} Lovelace"))
        .phone("+44 7700 900555")
        .attributes(json!({ "plan": "pro", "shipping": { "street": format!("{token} lane 1") } }))
        .event(
            "order",
            json!({ "note": format!("{token} ordered"), "amount": 12 }),
        )
        .event("login", json!({ "via": "web" }))
        .insert(&app);
    let bystander = NewPerson::new("bystander")
        .email("someone@example.com")
        .insert(&app);

    // Recorded with the address in another case, as the person wrote it.
    let email = format!("{}.Ada@Example.com", token.to_uppercase());
    let id = record(
        &app,
        &[
            ("kind", "both"),
            ("email", &email),
            ("verification", "Replied from the address on file"),
            ("received_on", &erasure::store::now().date().to_string()),
        ],
    )
    .await;
    let page = app.get_html(&format!("{WS}/requests/{id}")).await;
    assert!(
        page.contains(&format!("data-customer=\"{person}\"")),
        "the person is found:\n{page}"
    );
    assert!(!page.contains(&format!("data-customer=\"{bystander}\"")));
    assert!(page.contains(">Open<"), "{page}");

    // The export: every planted value, in JSON and in the page.
    let made = app.post_form(&format!("{WS}/requests/{id}/export"), &[]).await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let json: Value = app
        .get(&format!("{WS}/requests/{id}/export.json"))
        .await
        .json()
        .await
        .unwrap();
    let exported = json.to_string();
    for planted in [
        format!("{token}-id"),
        format!("{token}.ada@example.com"),
        format!("{token} Lovelace"),
        "+44 7700 900555".to_owned(),
        format!("{token} lane 1"),
        format!("{token} ordered"),
    ] {
        assert!(exported.contains(&planted), "{planted:?} is in the export");
    }
    assert!(!exported.contains("someone@example.com"), "nobody else is");
    let html = app.get_html(&format!("{WS}/requests/{id}/export.html")).await;
    assert!(html.contains(&format!("{token} ordered")));
    assert_eq!(app.audited("request.exported"), 1);
    assert_eq!(app.audited("request.export_downloaded"), 2);

    // The erasure, through the preview, with the identifiers suppressed.
    let started = app
        .post_form(&format!("{WS}/requests/{id}/erase"), &[("intent", "delete")])
        .await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let job = location(&started);
    assert!(job.contains("/jobs/"), "{job}");
    let preview = app.get_html(&job).await;
    assert!(preview.contains("Delete 1 customer"), "{preview}");
    let confirmed = app
        .post_form(&format!("{job}/confirm"), &[("suppress", "on")])
        .await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    wait_for_job(&app, &job).await;
    let page = app.get_html(&format!("{WS}/requests/{id}")).await;
    assert!(
        page.contains("Suppressed"),
        "the given address is suppressed now:\n{page}"
    );
    let receipt = app.texts(&format!(
        "SELECT j.receipt_id AS t FROM jobs j JOIN requests r ON r.job_id = j.id WHERE r.id = {id}"
    ));
    let receipt_page = app.get_html(&format!("{WS}/receipts/{}", receipt[0])).await;
    assert!(
        receipt_page.contains(&format!("Data-subject request #{id}")),
        "the receipt links back"
    );

    // Closed: the identifiers are digests now, in every column.
    let closed = app
        .post_form(&format!("{WS}/requests/{id}/close"), &[("outcome", "completed")])
        .await;
    assert_eq!(closed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("requests WHERE email IS NULL AND external_id IS NULL AND phone IS NULL"),
        1
    );
    let kept = app.texts(&format!(
        "SELECT kind || verification || identifier_digests || state || COALESCE(outcome, '') AS t FROM requests WHERE id = {id}"
    ));
    assert!(!kept[0].to_lowercase().contains(&token), "{kept:?}");
    assert!(
        kept[0].contains("\"email\""),
        "the digest of the address is kept: {kept:?}"
    );
    assert!(app
        .get_html(&format!("{WS}/requests/{id}"))
        .await
        .contains("Closed"));

    // Seven days later the export is purged, and its link answers 404.
    app.sql(&format!(
        "UPDATE requests SET export_expires_at = '2000-01-01 00:00:00' WHERE id = {id}"
    ));
    for _ in 0..100 {
        if app.count("requests WHERE export_expires_at IS NOT NULL") == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.count("requests WHERE export_expires_at IS NOT NULL"),
        0,
        "purged"
    );
    assert_eq!(
        app.get(&format!("{WS}/requests/{id}/export.json")).await.status(),
        StatusCode::NOT_FOUND
    );
    let holding = files_holding(&app, &token);
    assert!(holding.is_empty(), "no file holds the person's data: {holding:?}");
}

async fn due_soon_and_overdue_requests_are_shown_and_mailed_and_extended_once(backend: Backend) {
    let app = quick_upkeep(backend).await;
    app.setup_owner().await;
    let received = (erasure::store::now().date() - chrono::Duration::days(25)).to_string();
    let id = record(
        &app,
        &[
            ("kind", "access"),
            ("external_id", "cust-9"),
            ("verification", "Signed letter"),
            ("received_on", &received),
        ],
    )
    .await;
    let list = app.get_html(&format!("{WS}/requests")).await;
    assert!(list.contains("Due soon"), "{list}");
    assert!(list.contains("1 due within 7 days"), "{list}");
    let soon = app
        .mail
        .wait_for(|m| {
            m.subject().contains(&format!("Request #{id}")) && m.subject().contains("due in 7 days")
        })
        .await;
    assert!(!soon.body().contains("cust-9"), "the mail names no identifier");

    // The clock moves past the due date.
    app.sql(&format!(
        "UPDATE requests SET due_at = '2000-01-01 00:00:00' WHERE id = {id}"
    ));
    let list = app.get_html(&format!("{WS}/requests")).await;
    assert!(list.contains("Overdue") && list.contains("1 overdue"), "{list}");
    app.mail
        .wait_for(|m| m.subject().contains(&format!("Request #{id}")) && m.subject().contains("overdue"))
        .await;

    let extended = app
        .post_form(
            &format!("{WS}/requests/{id}/extend"),
            &[("days", "60"), ("reason", "Many requests at once")],
        )
        .await;
    assert_eq!(extended.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("requests WHERE due_at = '2000-03-01 00:00:00'"),
        1,
        "sixty days later"
    );
    let again = app
        .post_form(
            &format!("{WS}/requests/{id}/extend"),
            &[("days", "10"), ("reason", "More")],
        )
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let page = app.get_html(&format!("{WS}/requests/{id}")).await;
    assert!(
        page.contains("extended once only") || page.contains("Extended once already"),
        "{page}"
    );
    assert_eq!(app.audited("request.extended"), 1);
    let too_long = app
        .post_form(
            &format!("{WS}/requests/{id}/extend"),
            &[("days", "61"), ("reason", "x")],
        )
        .await;
    assert_eq!(too_long.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.audited("request.extended"), 1);
}

async fn a_reviewer_reads_requests_masked_and_never_their_export(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    NewPerson::new("cust-1").email("grace@example.com").insert(&app);
    let id = record(
        &app,
        &[
            ("kind", "both"),
            ("email", "grace@example.com"),
            ("verification", "Video call"),
            ("received_on", &erasure::store::now().date().to_string()),
        ],
    )
    .await;
    app.post_form(&format!("{WS}/requests/{id}/export"), &[]).await;

    add_user_with_role(
        &app,
        "reviewer@example.com",
        "a long enough password",
        "compliance",
    );
    add_user_with_role(&app, "member@example.com", "a long enough password", "member");
    let reviewer = new_client();
    app.login_with(&reviewer, "reviewer@example.com", "a long enough password")
        .await;
    let list = app.get_with(&reviewer, &format!("{WS}/requests")).await;
    assert_eq!(list.status(), StatusCode::OK);
    let page = app
        .get_with(&reviewer, &format!("{WS}/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("grace@example.com"), "masked for a reader");
    assert!(page.contains("g•••@e•••.com") || page.contains("•••"), "{page}");
    assert!(
        !page.contains("Export their data") && !page.contains("Close request"),
        "no actions for a reader"
    );
    assert_eq!(
        app.get_with(&reviewer, &format!("{WS}/requests/{id}/export.json"))
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "a reviewer never downloads an export"
    );
    let member = new_client();
    app.login_with(&member, "member@example.com", "a long enough password")
        .await;
    assert_eq!(
        app.get_with(&member, &format!("{WS}/requests")).await.status(),
        StatusCode::FORBIDDEN
    );
}

async fn a_request_form_with_mistakes_names_each_field(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let response = app
        .post_form(
            &format!("{WS}/requests"),
            &[
                ("kind", "both"),
                ("email", "not an address"),
                ("verification", ""),
                ("received_on", "2999-01-01"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    for message in [
        "not an email address",
        "identity was verified",
        "cannot arrive in the future",
    ] {
        assert!(html.contains(message), "{message}: {html}");
    }
    assert!(
        html.contains("value=\"not an address\""),
        "what was typed is kept"
    );
    assert_eq!(app.count("requests"), 0);
}
