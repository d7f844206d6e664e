//! An email address is one address in every Unicode normalization form: suppressed in
//! one, it is refused in all of them, by the Track API and by a CSV import, whether the
//! suppression was made now or before addresses were normalized.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use unicode_normalization::UnicodeNormalization;

use crate::helpers::api::*;
use crate::helpers::*;
use crate::import::{preflight, text_of};
use crate::on_both_backends;

on_both_backends!(
    a_suppressed_email_is_refused_in_every_normalization_form_through_the_track_api_and_the_import,
    a_customer_stored_with_a_decomposed_address_is_found_by_the_composed_one,
    the_suppression_page_finds_an_address_suppressed_in_another_form,
);

/// `josé`, with the accent composed.
fn composed(local: &str) -> String {
    format!("{local}jos\u{e9}@example.com")
}

/// Every normalization form of the address, upper-cased ones too, each once.
fn every_form(address: &str) -> Vec<String> {
    let mut forms: Vec<String> = Vec::new();
    for base in [address.to_owned(), address.to_uppercase()] {
        for form in [
            base.nfc().collect::<String>(),
            base.nfd().collect(),
            base.nfkc().collect(),
            base.nfkd().collect(),
        ] {
            if !forms.contains(&form) {
                forms.push(form);
            }
        }
    }
    forms
}

/// How a suppression came to be.
#[derive(Debug, Clone, Copy)]
enum Suppressed {
    /// Through the Track API, as today.
    ByApi,
    /// A digest as made before addresses were normalized: of the form given, only
    /// trimmed and lower-cased.
    AsBefore,
}

async fn suppress(app: &TestApp, auth: &Credentials, address: &str, how: Suppressed) {
    match how {
        Suppressed::ByApi => {
            let response = call(
                app,
                auth,
                Method::POST,
                &format!("/customers/{address}/suppress"),
                None,
            )
            .await;
            assert_eq!(response.status(), StatusCode::OK, "suppressing {address:?}");
        }
        Suppressed::AsBefore => {
            let digest = app
                .state
                .secret
                .digest("suppression:email", address.trim().to_lowercase().as_bytes());
            let mut conn = app.db();
            erasure::store::suppressions::add(
                &mut conn,
                1,
                erasure::erasure::suppress::KIND_EMAIL,
                &digest,
                "deleted",
                "test",
            )
            .unwrap();
        }
    }
}

async fn identify(app: &TestApp, auth: &Credentials, identifier: &str, body: Value) -> (StatusCode, Value) {
    let response = call(
        app,
        auth,
        Method::PUT,
        &format!("/customers/{identifier}"),
        Some(body),
    )
    .await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn a_suppressed_email_is_refused_in_every_normalization_form_through_the_track_api_and_the_import(
    backend: Backend,
) {
    let (app, auth) = api_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    let cases = [
        ("a.", Suppressed::ByApi, true),
        ("b.", Suppressed::ByApi, false),
        ("c.", Suppressed::AsBefore, true),
        ("d.", Suppressed::AsBefore, false),
    ];
    // One file per form: within a file, rows naming the same address are duplicates.
    let mut files: Vec<String> = Vec::new();
    for (case, (local, how, suppressed_composed)) in cases.into_iter().enumerate() {
        let address = composed(local);
        let given: String = if suppressed_composed {
            address.clone()
        } else {
            address.nfd().collect()
        };
        assert_ne!(
            address,
            address.nfd().collect::<String>(),
            "the address has two forms"
        );
        suppress(&app, &auth, &given, how).await;

        for (n, form) in every_form(&address).into_iter().enumerate() {
            let label = format!("{how:?}, suppressed {given:?}, sent {form:?}");
            let (status, body) = identify(&app, &auth, &form, json!({ "name": "Someone" })).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{label}: as the identifier");
            assert_eq!(body["code"], "suppressed", "{label}");
            let (status, body) =
                identify(&app, &auth, &format!("id-{case}-{n}"), json!({ "email": form })).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{label}: in the body");
            assert_eq!(body["code"], "suppressed", "{label}");
            if files.len() <= n {
                files.push(String::from("id,email,name\n"));
            }
            files[n].push_str(&format!(",{form},By address\nrow-{case}-{n},{form},By id\n"));
        }
    }
    assert_eq!(files.len(), 4, "lower and upper case, composed and decomposed");
    assert_eq!(app.count("customers"), 0, "no suppressed address got in");

    for file in files {
        let path = preflight(&app, &file).await;

        let page = app.get_html(&path).await;
        assert_eq!(
            text_of(&page, "#suppressed"),
            (2 * cases.len()).to_string(),
            "{file}"
        );
        assert_eq!(text_of(&page, "#to-create"), "0", "{file}");
        assert_eq!(text_of(&page, "#rejected"), "0", "{file}");
    }
}

async fn a_customer_stored_with_a_decomposed_address_is_found_by_the_composed_one(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    // Stored as addresses were before they were composed: lower-cased only.
    app.sql(
        "INSERT INTO customers (workspace_id, external_id, email, name, attributes, created_at, last_seen_at) \
         VALUES (1, 'k-1', 'jose\u{301}@example.com', 'Kim', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    );

    let (status, _) = identify(&app, &auth, &composed(""), json!({ "name": "Kim K" })).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.count("customers"),
        1,
        "the composed address found the stored customer"
    );
    let mut conn = app.db();
    use diesel::prelude::*;
    use erasure::db::schema::customers;
    let name: Option<String> = customers::table
        .filter(customers::external_id.eq("k-1"))
        .select(customers::name)
        .first(&mut **conn)
        .unwrap();
    assert_eq!(name.as_deref(), Some("Kim K"));
}

async fn the_suppression_page_finds_an_address_suppressed_in_another_form(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    let address = composed("page-");
    let decomposed: String = address.nfd().collect();
    suppress(&app, &auth, &decomposed, Suppressed::AsBefore).await;
    for typed in every_form(&address) {
        let page = app
            .post_form(
                "/w/acme-shop/suppressions/lookup",
                &[("identifier", typed.as_str()), ("kind", "email")],
            )
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("</strong> is suppressed ("), "{typed:?} is found");
    }
    let page = app
        .post_form(
            "/w/acme-shop/suppressions/lookup",
            &[("identifier", "someone-else@example.com"), ("kind", "email")],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("</strong> is not suppressed"),
        "an address that is not on the list is not"
    );
}
