//! Objects and arrays as attribute values, as Customer.io takes them: stored as JSON,
//! bounded in depth and size, shown as an escaped tree, masked and archived at every
//! depth, and no obstacle to filtering by a top-level key.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::api::*;
use crate::helpers::arrange::member_with_permissions;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    identify_stores_nested_values_and_merges_by_top_level_key,
    nesting_past_eight_levels_or_100_kb_is_refused_with_nothing_written,
    the_profile_shows_nested_values_as_an_escaped_tree,
    a_masked_role_sees_no_personal_value_at_any_depth,
    archiving_strips_personal_values_at_every_depth_and_keeps_the_rest,
    filtering_by_a_top_level_attribute_ignores_nested_lookalikes,
    events_take_nested_data_up_to_the_same_depth,
);

const WS: &str = "/w/acme-shop";

async fn put(app: &TestApp, auth: &Credentials, identifier: &str, body: Value) -> Response {
    call(
        app,
        auth,
        Method::PUT,
        &format!("/customers/{identifier}"),
        Some(body),
    )
    .await
}

async fn status_and_body(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn stored(app: &TestApp, external_id: &str) -> (i64, Value) {
    use diesel::prelude::*;
    use erasure::db::schema::customers;
    let (id, attributes): (i64, String) = customers::table
        .filter(customers::external_id.eq(external_id))
        .select((customers::id, customers::attributes))
        .first(&mut **app.db())
        .expect("the customer");
    (id, serde_json::from_str(&attributes).unwrap())
}

async fn identify_stores_nested_values_and_merges_by_top_level_key(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let first = put(
        &app,
        &auth,
        "c-1",
        json!({ "plan": "pro", "address": { "city": "Leeds", "lines": ["1 Main St", "Flat 2"] },
                "tags": ["a", { "b": [1, 2] }] }),
    )
    .await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = put(
        &app,
        &auth,
        "c-1",
        json!({ "address": { "city": "York" }, "tags": null }),
    )
    .await;
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(
        stored(&app, "c-1").1,
        json!({ "plan": "pro", "address": { "city": "York" } }),
        "a top-level key is replaced whole; null removes it"
    );
}

async fn nesting_past_eight_levels_or_100_kb_is_refused_with_nothing_written(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let nested = |levels: usize| (0..levels).fold(json!("x"), |inner, _| json!({ "k": inner }));
    assert_eq!(
        put(&app, &auth, "c-1", json!({ "deep": nested(8) }))
            .await
            .status(),
        StatusCode::OK
    );

    let (status, body) = status_and_body(put(&app, &auth, "c-1", json!({ "deeper": nested(9) })).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_attribute");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("\"deeper\"") && message.contains('8'),
        "{message}"
    );
    let (status, _) = status_and_body(put(&app, &auth, "c-2", json!({ "deeper": nested(9) })).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.count("customers"), 1, "no customer was created");

    // Two calls of 60 KB each: the second takes the customer past 100 KB.
    let chunk = |prefix: &str| -> Value {
        let list: Vec<Value> = (0..60)
            .map(|n| json!(format!("{prefix}{n}{}", "y".repeat(990))))
            .collect();
        json!({ format!("{prefix}_list"): list })
    };
    assert_eq!(put(&app, &auth, "c-1", chunk("a")).await.status(), StatusCode::OK);
    let before = stored(&app, "c-1").1;
    let (status, body) = status_and_body(put(&app, &auth, "c-1", chunk("b")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_attribute");
    assert!(body["message"].as_str().unwrap().contains("100 KB"), "{body}");
    assert_eq!(stored(&app, "c-1").1, before, "nothing was merged");
}

async fn the_profile_shows_nested_values_as_an_escaped_tree(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let added = put(
        &app,
        &auth,
        "c-1",
        json!({ "prefs": { "theme": "<b>dark</b>", "widgets": ["<script>alert(1)</script>", { "<i>k</i>": 3 }] } }),
    )
    .await;
    assert_eq!(added.status(), StatusCode::OK);
    let (id, _) = stored(&app, "c-1");
    let page = app.get_html(&format!("{WS}/customers/{id}")).await;
    assert!(page.contains("class=\"tree\""), "a nested list");
    // Escaped as entities, named or numbered.
    let escaped = |text: &str| {
        page.contains(&text.replace('<', "&lt;").replace('>', "&gt;"))
            || page.contains(&text.replace('<', "&#60;").replace('>', "&#62;"))
    };
    assert!(escaped("<b>dark<"), "values are escaped");
    assert!(escaped("<i>k<"), "nested keys are escaped");
    assert!(escaped("<script>"), "array items are escaped");
    assert!(!page.contains("<b>dark") && !page.contains("<script>alert") && !page.contains("<i>k"));
    let opened = page.matches("<ul class=\"tree\"").count();
    assert_eq!(opened, 3, "prefs, its widgets list and the object in it");
    // Every list that opens closes inside the attributes' definition.
    let attributes = &page[page.find("<h3>Attributes</h3>").unwrap()..];
    let attributes = &attributes[..attributes.find("</dl>").unwrap()];
    assert_eq!(
        attributes.matches("<ul").count(),
        attributes.matches("</ul>").count()
    );
}

/// Personal data at several depths, under always-personal keys, a key the workspace
/// marks as personal, and in free text quoting the person's email.
fn deep_personal() -> Value {
    json!({
        "tier": { "level": "gold-level" },
        "profile": {
            "contact": { "work_email": "deep.secret@example.com", "channel": "sms-channel" },
            "loyalty": { "card": "LC-55443322" },
        },
        "orders": [{ "shipping_address": "1 Hidden Road", "sku": "SKU-991" }],
        "notes": [["sent to ada.deep@example.com"]],
    })
}

async fn a_masked_role_sees_no_personal_value_at_any_depth(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    app.sql("UPDATE workspaces SET pii_keys = '[\"loyalty\"]'");
    let mut body = deep_personal();
    body["email"] = json!("ada.deep@example.com");
    assert_eq!(put(&app, &auth, "c-1", body).await.status(), StatusCode::OK);
    let (id, _) = stored(&app, "c-1");
    let profile = format!("{WS}/customers/{id}");

    let masked = member_with_permissions(&app, "mo@example.com", "Viewers", &["customers.view"]).await;
    let page = app.get_html_with(&masked, &profile).await;
    for secret in ["deep.secret", "LC-55443322", "Hidden Road", "ada.deep"] {
        assert!(!page.contains(secret), "{secret} reached a masked role");
    }
    for kept in ["gold-level", "sms-channel", "SKU-991", "work_email", "loyalty"] {
        assert!(page.contains(kept), "{kept} is not personal and shows");
    }

    let owner_page = app.get_html(&profile).await;
    for secret in ["deep.secret", "LC-55443322", "Hidden Road", "ada.deep"] {
        assert!(owner_page.contains(secret), "the owner sees {secret}");
    }
}

async fn archiving_strips_personal_values_at_every_depth_and_keeps_the_rest(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    app.sql("UPDATE workspaces SET pii_keys = '[\"loyalty\"]'");
    let mut body = deep_personal();
    body["email"] = json!("ada.deep@example.com");
    assert_eq!(put(&app, &auth, "c-1", body).await.status(), StatusCode::OK);
    let (id, _) = stored(&app, "c-1");
    let archived = app.post_form(&format!("{WS}/customers/{id}/archive"), &[]).await;
    assert_eq!(archived.status(), StatusCode::SEE_OTHER);

    let attributes: String = {
        use diesel::prelude::*;
        use erasure::db::schema::customers;
        customers::table
            .find(id)
            .select(customers::attributes)
            .first(&mut **app.db())
            .unwrap()
    };
    let attributes: Value = serde_json::from_str(&attributes).unwrap();
    assert_eq!(
        attributes,
        json!({
            "tier": { "level": "gold-level" },
            "profile": { "contact": { "channel": "sms-channel" } },
            "orders": [{ "sku": "SKU-991" }],
            "notes": [[]],
        })
    );
}

async fn filtering_by_a_top_level_attribute_ignores_nested_lookalikes(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let top = put(
        &app,
        &auth,
        "top-level-pro",
        json!({ "plan": "pro", "meta": { "plan": "pro" } }),
    )
    .await;
    assert_eq!(top.status(), StatusCode::OK);
    let nested = put(
        &app,
        &auth,
        "nested-only-pro",
        json!({ "meta": { "plan": "pro" }, "list": [{ "plan": "pro" }] }),
    )
    .await;
    assert_eq!(nested.status(), StatusCode::OK);
    let page = app.get_html(&format!("{WS}/customers?attr=plan%3Dpro")).await;
    assert!(page.contains("top-level-pro"), "the top-level match is listed");
    assert!(
        !page.contains("nested-only-pro"),
        "a nested key is no top-level attribute"
    );
}

async fn events_take_nested_data_up_to_the_same_depth(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let nested = |levels: usize| (0..levels).fold(json!(1), |inner, _| json!([inner]));
    let ok = call(
        &app,
        &auth,
        Method::POST,
        "/customers/c-1/events",
        Some(json!({ "name": "order", "data": { "items": nested(8) } })),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let (status, body) = status_and_body(
        call(
            &app,
            &auth,
            Method::POST,
            "/customers/c-1/events",
            Some(json!({ "name": "order", "data": { "items": nested(9) } })),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_event_data");
    assert_eq!(app.count("events"), 1);
}
