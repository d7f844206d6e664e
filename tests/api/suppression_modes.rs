//! A suppression is enforced whatever the workspace's identifier mode: an email address
//! suppressed by hand in an "ID only" workspace is refused wherever a call or an
//! import carries it, and the page says so.

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::api::{call, issue_key};
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(an_email_suppressed_in_an_id_only_workspace_is_refused_everywhere);

const WS: &str = "/w/acme-shop";

async fn an_email_suppressed_in_an_id_only_workspace_is_refused_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id'");
    let (_, key) = issue_key(&app, "Backend");

    let page = app.get_html(&format!("{WS}/suppressions")).await;
    assert!(page.contains("an email address you suppress here is refused too"));
    let added = app
        .post_form(
            &format!("{WS}/suppressions/add"),
            &[
                ("identifier", "gone@example.com"),
                ("kind", "email"),
                ("reason", "manual"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);

    let refused = call(
        &app,
        &key,
        Method::PUT,
        "/customers/c-77",
        Some(json!({ "email": "Gone@Example.com" })),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "suppressed");
    let allowed = call(
        &app,
        &key,
        Method::PUT,
        "/customers/c-78",
        Some(json!({ "email": "kept@example.com" })),
    )
    .await;
    assert_eq!(allowed.status(), StatusCode::OK);

    let token = app.csrf_token().await;
    let csv = "id,email\nc-79,gone@example.com\nc-80,fine@example.com\n";
    let form = Form::new().part(
        "file",
        Part::bytes(csv.as_bytes().to_vec())
            .file_name("people.csv")
            .mime_str("text/csv")
            .unwrap(),
    );
    let uploaded = app
        .client
        .post(app.url(&format!("{WS}/customers/import?csrf_token={token}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    let preflight = app.get_html(&location(&uploaded)).await;
    let doc = scraper::Html::parse_document(&preflight);
    let suppressed = scraper::Selector::parse("#suppressed").unwrap();
    let shown: String = doc
        .select(&suppressed)
        .next()
        .expect("the suppressed count")
        .text()
        .collect();
    assert_eq!(shown.trim(), "1", "the suppressed address's row is skipped");
    assert_eq!(app.count("customers"), 1, "only the allowed identify wrote");
}
