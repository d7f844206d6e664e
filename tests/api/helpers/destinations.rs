//! Destinations as tests arrange them: added through their page, with the secret the
//! page shows once; and waiting for the outbox to empty.

use std::time::Duration;

use reqwest::StatusCode;

use super::erasure_paths::WS;
use super::TestApp;

/// A destination added through its page; returns its id and the secret shown once.
pub async fn add_destination(app: &TestApp, url: &str, extra: &[(&str, &str)]) -> (i64, String) {
    let mut fields = vec![("name", "Warehouse"), ("url", url)];
    for event in [
        "customer.deleted",
        "customer.archived",
        "identifiers.suppressed",
        "identifiers.unsuppressed",
        "delete_all.finished",
    ] {
        fields.push(("events", event));
    }
    fields.extend_from_slice(extra);
    let response = app
        .post_form(&format!("{WS}/settings/destinations"), &fields)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let secret = shown_secret(&html);
    let id = app.number("SELECT MAX(id) AS v FROM destinations");
    (id, secret)
}

/// The signing secret a page shows once, in its `new-secret` field.
pub fn shown_secret(html: &str) -> String {
    let secret = html
        .split("id=\"new-secret\"")
        .nth(1)
        .and_then(|rest| rest.split("value=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("the secret is shown once")
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    secret
}

/// Waits until no event waits in the outbox.
pub async fn outbox_settles(app: &TestApp) {
    for _ in 0..400 {
        if app.count("outbox WHERE state = 'pending'") == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("events are still pending");
}
