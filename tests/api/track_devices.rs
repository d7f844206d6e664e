//! The Track API's device calls: a customer's devices are added, updated and removed
//! as Customer.io's v1 API does it; a token is personal data, masked for roles without
//! `customers.view_pii`, kept out of the log, and erased with its customer.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::api::*;
use crate::helpers::arrange::member_with_permissions;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_device_is_added_updated_and_removed,
    a_token_another_customer_had_moves_to_the_customer_named_now,
    hostile_device_calls_are_400s_that_write_nothing,
    a_suppressed_identifier_takes_no_device,
    an_anonymized_customer_takes_no_device,
    a_masked_role_sees_the_token_masked_and_a_pii_role_sees_it_whole,
    the_logged_request_paths_hold_no_device_token,
    a_bulk_deletion_counts_devices_in_its_preview_and_receipt,
    deleting_from_the_profile_removes_devices_and_says_so,
);

const WS: &str = "/w/acme-shop";

async fn add_device(app: &TestApp, auth: &Credentials, identifier: &str, device: Value) -> Response {
    let path = format!("/customers/{identifier}/devices");
    call(app, auth, Method::PUT, &path, Some(json!({ "device": device }))).await
}

async fn remove_device(app: &TestApp, auth: &Credentials, identifier: &str, token: &str) -> Response {
    let path = format!("/customers/{identifier}/devices/{token}");
    call(app, auth, Method::DELETE, &path, None).await
}

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

fn customer_id(app: &TestApp, external_id: &str) -> i64 {
    use diesel::prelude::*;
    use erasure::db::schema::customers;
    customers::table
        .filter(customers::external_id.eq(external_id))
        .select(customers::id)
        .first(&mut **app.db())
        .expect("the customer")
}

/// (token, platform, last used as unix seconds, attributes) of each device, by token.
fn devices(app: &TestApp) -> Vec<(String, i64, String, i64, Value)> {
    use diesel::prelude::*;
    use erasure::db::schema::devices;
    let rows: Vec<(String, i64, String, chrono::NaiveDateTime, String)> = devices::table
        .order(devices::token)
        .select((
            devices::token,
            devices::customer_id,
            devices::platform,
            devices::last_used,
            devices::attributes,
        ))
        .load(&mut **app.db())
        .unwrap();
    rows.into_iter()
        .map(|(token, customer, platform, at, attributes)| {
            (
                token,
                customer,
                platform,
                at.and_utc().timestamp(),
                serde_json::from_str(&attributes).unwrap(),
            )
        })
        .collect()
}

async fn a_device_is_added_updated_and_removed(backend: Backend) {
    let (app, auth) = api_app(backend).await;

    let added = add_device(
        &app,
        &auth,
        "c-1",
        json!({ "id": "apns-aaa", "platform": "ios", "last_used": 1_700_000_000,
                "attributes": { "app": { "version": "2.1" } } }),
    )
    .await;
    assert_ok(added).await;
    let id = customer_id(&app, "c-1");
    assert_eq!(
        devices(&app),
        [(
            "apns-aaa".to_owned(),
            id,
            "ios".to_owned(),
            1_700_000_000,
            json!({ "app": { "version": "2.1" } })
        )],
        "an unknown id is created, as an identify would"
    );

    let updated = add_device(
        &app,
        &auth,
        "c-1",
        json!({ "id": "apns-aaa", "platform": "android", "last_used": 1_700_000_100 }),
    )
    .await;
    assert_ok(updated).await;
    let second = add_device(
        &app,
        &auth,
        "c-1",
        json!({ "id": "fcm-bbb", "platform": "android" }),
    )
    .await;
    assert_ok(second).await;
    let rows = devices(&app);
    assert_eq!(rows.len(), 2, "the same token is updated, not added twice");
    assert_eq!(
        (&rows[0].2, rows[0].3, &rows[0].4),
        (&"android".to_owned(), 1_700_000_100, &json!({}))
    );
    assert_eq!(app.count("customers"), 1);

    assert_ok(remove_device(&app, &auth, "c-1", "apns-aaa").await).await;
    assert_eq!(devices(&app).len(), 1);
    assert_eq!(devices(&app)[0].0, "fcm-bbb");
    // Again, and for someone unknown: nothing to do is no error.
    assert_ok(remove_device(&app, &auth, "c-1", "apns-aaa").await).await;
    assert_ok(remove_device(&app, &auth, "nobody-here", "fcm-bbb").await).await;
    assert_eq!(
        devices(&app).len(),
        1,
        "another customer's token is not theirs to remove"
    );
    assert_eq!(app.count("customers"), 1, "a removal creates nobody");
}

async fn a_token_another_customer_had_moves_to_the_customer_named_now(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    assert_ok(
        add_device(
            &app,
            &auth,
            "first",
            json!({ "id": "shared-tok", "platform": "ios" }),
        )
        .await,
    )
    .await;
    assert_ok(
        add_device(
            &app,
            &auth,
            "second",
            json!({ "id": "shared-tok", "platform": "ios" }),
        )
        .await,
    )
    .await;
    let rows = devices(&app);
    assert_eq!(rows.len(), 1, "a token is unique in the workspace");
    assert_eq!(rows[0].1, customer_id(&app, "second"));
}

async fn hostile_device_calls_are_400s_that_write_nothing(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let long = add_device(
        &app,
        &auth,
        "c-1",
        json!({ "id": "t".repeat(256), "platform": "ios" }),
    )
    .await;
    let message = assert_error(long, StatusCode::BAD_REQUEST, "invalid_device").await;
    assert!(message.contains("255"), "{message}");
    let huge = add_device(
        &app,
        &auth,
        "c-1",
        json!({ "id": "t".repeat(200_000), "platform": "ios" }),
    )
    .await;
    assert_error(huge, StatusCode::BAD_REQUEST, "invalid_device").await;
    for platform in [json!("web"), json!("iOS"), json!(null), json!(7)] {
        let bad = add_device(&app, &auth, "c-1", json!({ "id": "tok", "platform": platform })).await;
        let message = assert_error(bad, StatusCode::BAD_REQUEST, "invalid_device").await;
        assert!(
            message.contains("ios") && message.contains("android"),
            "{message}"
        );
    }
    let no_token = add_device(&app, &auth, "c-1", json!({ "platform": "ios" })).await;
    assert_error(no_token, StatusCode::BAD_REQUEST, "invalid_device").await;
    let not_device = call(
        &app,
        &auth,
        Method::PUT,
        "/customers/c-1/devices",
        Some(json!({ "id": "tok" })),
    )
    .await;
    assert_error(not_device, StatusCode::BAD_REQUEST, "invalid_body").await;
    let deep = (0..9).fold(json!(1), |inner, _| json!([inner]));
    let too_deep = add_device(
        &app,
        &auth,
        "c-1",
        json!({ "id": "tok", "platform": "ios", "attributes": { "d": deep } }),
    )
    .await;
    assert_error(too_deep, StatusCode::BAD_REQUEST, "invalid_device").await;
    let ahead = add_device(
        &app,
        &auth,
        "c-1",
        json!({ "id": "tok", "platform": "ios", "last_used": 1_700_000_000_000i64 }),
    )
    .await;
    assert_error(ahead, StatusCode::BAD_REQUEST, "invalid_timestamp").await;
    assert_eq!(app.count("customers"), 0, "no customer was created");
    assert_eq!(app.count("devices"), 0);

    for n in 0..100 {
        let device = json!({ "id": format!("tok-{n}"), "platform": "android" });
        assert_ok(add_device(&app, &auth, "c-1", device).await).await;
    }
    let one_more = add_device(&app, &auth, "c-1", json!({ "id": "tok-100", "platform": "ios" })).await;
    let message = assert_error(one_more, StatusCode::BAD_REQUEST, "too_many_devices").await;
    assert!(message.contains("100"), "{message}");
    assert_eq!(app.count("devices"), 100, "the 101st device was not written");
    // Updating one of the hundred is still fine.
    let again = add_device(&app, &auth, "c-1", json!({ "id": "tok-7", "platform": "ios" })).await;
    assert_ok(again).await;
    assert_eq!(app.count("devices WHERE platform = 'ios'"), 1);
}

async fn a_suppressed_identifier_takes_no_device(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    assert_ok(add_device(&app, &auth, "c-1", json!({ "id": "tok-a", "platform": "ios" })).await).await;
    assert_ok(call(&app, &auth, Method::POST, "/customers/c-1/suppress", None).await).await;
    assert_eq!(
        app.count("devices"),
        0,
        "suppressing deleted the customer and their devices"
    );

    let refused = add_device(&app, &auth, "c-1", json!({ "id": "tok-b", "platform": "ios" })).await;
    assert_error(refused, StatusCode::FORBIDDEN, "suppressed").await;
    assert_eq!(app.count("customers"), 0, "nothing was created");
    assert_eq!(app.count("devices"), 0);
}

async fn an_anonymized_customer_takes_no_device(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    assert_ok(add_device(&app, &auth, "c-1", json!({ "id": "tok-a", "platform": "ios" })).await).await;
    let id = customer_id(&app, "c-1");
    let archived = app.post_form(&format!("{WS}/customers/{id}/archive"), &[]).await;
    assert_eq!(archived.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("devices"), 0, "archiving removed the device");
    // The profile has no external id any more; name it by internal id.
    let refused = add_device(
        &app,
        &auth,
        &format!("cio_{id}"),
        json!({ "id": "tok-b", "platform": "ios" }),
    )
    .await;
    assert_error(refused, StatusCode::CONFLICT, "archived").await;
    assert_eq!(app.count("devices"), 0);
}

async fn a_masked_role_sees_the_token_masked_and_a_pii_role_sees_it_whole(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let token = "apns-4f9c2e-visible-only-with-pii";
    let added = add_device(
        &app,
        &auth,
        "c-1",
        json!({ "id": token, "platform": "ios", "attributes": { "push": { "sound": "chime" } } }),
    )
    .await;
    assert_ok(added).await;
    let id = customer_id(&app, "c-1");
    let profile = format!("{WS}/customers/{id}");

    let owner_page = app.get_html(&profile).await;
    assert!(owner_page.contains(token), "the owner sees the token");
    assert!(owner_page.contains("iOS") && owner_page.contains("chime"));

    let masked = member_with_permissions(&app, "mo@example.com", "Viewers", &["customers.view"]).await;
    let masked_page = app.get_html_with(&masked, &profile).await;
    assert!(masked_page.contains("Devices"), "the device is listed");
    assert!(masked_page.contains("iOS") && masked_page.contains("chime"));
    assert!(!masked_page.contains("apns-4f9c2e"), "the token is masked");
    assert!(
        !masked_page.contains("visible-only"),
        "no part of the token shows"
    );

    let pii = member_with_permissions(
        &app,
        "pia@example.com",
        "Privacy",
        &["customers.view", "customers.view_pii"],
    )
    .await;
    assert!(app.get_html_with(&pii, &profile).await.contains(token));
}

async fn the_logged_request_paths_hold_no_device_token(backend: Backend) {
    let log = server_log();
    let (app, auth) = api_app(backend).await;
    let token = format!("logtok{}zz", std::process::id());
    assert_ok(add_device(&app, &auth, "c-1", json!({ "id": token, "platform": "ios" })).await).await;
    assert_ok(remove_device(&app, &auth, "c-1", &token).await).await;
    let bad = add_device(&app, &auth, "c-1", json!({ "id": token, "platform": "web" })).await;
    assert_error(bad, StatusCode::BAD_REQUEST, "invalid_device").await;
    let logged = std::fs::read_to_string(log).expect("the log");
    assert!(
        logged.contains("/api/v1/customers/{identifier}/devices/{device_id}"),
        "the removal was logged"
    );
    assert!(!logged.contains(&token), "the token is in the log");
}

async fn a_bulk_deletion_counts_devices_in_its_preview_and_receipt(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    for n in 0..3 {
        let device = json!({ "id": format!("bulk-tok-{n}"), "platform": "ios" });
        assert_ok(add_device(&app, &auth, "c-1", device).await).await;
    }
    assert_ok(
        add_device(
            &app,
            &auth,
            "bystander",
            json!({ "id": "keep-me", "platform": "ios" }),
        )
        .await,
    )
    .await;
    let id = customer_id(&app, "c-1").to_string();
    let previewed = app
        .post_form(
            &format!("{WS}/customers/bulk"),
            &[("intent", "delete_selected"), ("ids", id.as_str())],
        )
        .await;
    assert_eq!(previewed.status(), StatusCode::SEE_OTHER);
    let job = location(&previewed);
    let page = app.get_html(&job).await;
    let stat = page.find("Devices removed with them").expect("a device count");
    assert!(
        page[stat..].split("</div>").next().unwrap().contains(">3<"),
        "three devices"
    );

    let confirmed = app.post_form(&format!("{job}/confirm"), &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let mut progress = Value::Null;
    for _ in 0..400 {
        progress = app
            .get(&format!("{job}/progress.json"))
            .await
            .json()
            .await
            .unwrap();
        if progress["finished"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(progress["finished"], true, "{progress}");
    assert_eq!(progress["devices_removed"], 3, "{progress}");
    assert_eq!(app.count("devices"), 1, "the bystander keeps theirs");
}

async fn deleting_from_the_profile_removes_devices_and_says_so(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    for n in 0..2 {
        let device = json!({ "id": format!("tok-{n}"), "platform": "android" });
        assert_ok(add_device(&app, &auth, "c-1", device).await).await;
    }
    let id = customer_id(&app, "c-1");
    let deleted = app.post_form(&format!("{WS}/customers/{id}/delete"), &[]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let page = app.get_html(&location(&deleted)).await;
    assert!(page.contains("and 2 devices"), "the message counts the devices");
    assert_eq!(app.count("devices"), 0);
    let details: String = {
        use diesel::prelude::*;
        use erasure::db::schema::audit_log;
        audit_log::table
            .filter(audit_log::action.eq("customer.deleted"))
            .select(audit_log::details)
            .first(&mut **app.db())
            .unwrap()
    };
    let details: Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["devices_removed"], 2, "{details}");
    assert!(
        !details.to_string().contains("tok-"),
        "no token in the audit entry"
    );
}
