//! Every way a customer can be erased, as one list the tests walk: each guarantee of an
//! erasure (nothing left behind, every destination told) is checked on every path.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::api::{call, call_v2, issue_key};
use super::arrange::NewPerson;
use super::*;

pub const WS: &str = "/w/acme-shop";

/// Every way of erasing a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasurePath {
    ProfileDelete,
    ProfileArchive,
    Selected,
    Filtered,
    FilteredArchive,
    All,
    ApiDelete,
    ApiSuppress,
    /// A `delete` operation among others in `POST /api/v2/batch`.
    ApiBatchDelete,
    /// `POST /api/v2/entity` with a `suppress` operation naming the email.
    ApiEntitySuppress,
    SuppressionPage,
    Replay,
}

impl ErasurePath {
    /// Whether the path keeps the profile, anonymous.
    pub fn archives(self) -> bool {
        matches!(self, ErasurePath::ProfileArchive | ErasurePath::FilteredArchive)
    }

    /// Whether the path suppresses the customer's identifiers.
    pub fn suppresses(self) -> bool {
        matches!(
            self,
            ErasurePath::ProfileDelete
                | ErasurePath::Selected
                | ErasurePath::All
                | ErasurePath::ApiSuppress
                | ErasurePath::ApiEntitySuppress
                | ErasurePath::SuppressionPage
        )
    }
}

/// A customer whose every value carries `token`, with events whose data names them at
/// several depths; three bystanders so that no bulk path covers the whole workspace.
pub fn plant(app: &TestApp, token: &str) -> i64 {
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email', pii_keys = '[\"loyalty\",\"street\"]'");
    for n in 0..3 {
        NewPerson::new(&format!("bystander-{n}"))
            .email(&format!("bystander{n}@example.com"))
            .country("DE")
            .event("seen", json!({}))
            .insert(app);
    }
    NewPerson::new(&format!("{token}-id"))
        .email(&format!("{token}.mail@example.com"))
        .name(&format!("{token} Person"))
        .phone("+44 7700 900123")
        .country("IS")
        .attributes(json!({
            "plan": "pro",
            "loyalty": format!("{token}-loyalty"),
            "EMAIL": format!("{token}.other@example.com"),
            "shipping": { "street": format!("{token} street 1") },
        }))
        .event(
            "order",
            json!({
                "email": format!("{token}.mail@example.com"),
                "note": format!("sent to {token} Person"),
                "contact": { "phone": "+44 7700 900123", "name": format!("{token} Person") },
                "items": [{ "recipient": format!("{token}.mail@example.com"), "sku": "A1" }],
                "amount": 12,
            }),
        )
        .event("login", json!({ "via": format!("{token}.mail@example.com") }))
        .insert(app)
}

pub async fn erase(app: &TestApp, path: ErasurePath, id: i64, token: &str) {
    match path {
        ErasurePath::ProfileDelete => {
            let response = app
                .post_form(&format!("{WS}/customers/{id}/delete"), &[("suppress", "on")])
                .await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
        }
        ErasurePath::ProfileArchive => {
            let response = app.post_form(&format!("{WS}/customers/{id}/archive"), &[]).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
        }
        ErasurePath::Selected => {
            let ids = id.to_string();
            let job = preview(app, &[("intent", "delete_selected"), ("ids", &ids)]).await;
            confirm_and_wait(app, &job, &[("suppress", "on")]).await;
        }
        ErasurePath::Filtered => {
            let job = preview(app, &[("intent", "delete_filtered"), ("country", "IS")]).await;
            confirm_and_wait(app, &job, &[]).await;
        }
        ErasurePath::FilteredArchive => {
            let job = preview(app, &[("intent", "archive_filtered"), ("country", "IS")]).await;
            confirm_and_wait(app, &job, &[]).await;
        }
        ErasurePath::All => {
            let sent = app
                .post_form(
                    &format!("{WS}/customers/delete-all"),
                    &[("workspace_name", WORKSPACE_NAME)],
                )
                .await;
            assert_eq!(sent.status(), StatusCode::SEE_OTHER);
            let mail = app
                .mail
                .wait_for(|m| m.subject().starts_with("Code to delete all"))
                .await;
            let code = mail.code();
            let started = app
                .post_form(
                    &format!("{WS}/customers/delete-all/confirm"),
                    &[("code", code.as_str()), ("suppress", "on")],
                )
                .await;
            assert_eq!(started.status(), StatusCode::SEE_OTHER);
            wait_for_job(app, &location(&started)).await;
        }
        ErasurePath::ApiDelete | ErasurePath::Replay => {
            let (_, key) = issue_key(app, "Backend");
            let response = call(app, &key, Method::DELETE, &format!("/customers/{token}-id"), None).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        ErasurePath::ApiSuppress => {
            let (_, key) = issue_key(app, "Backend");
            let email = format!("/customers/{token}.mail@example.com/suppress");
            let response = call(app, &key, Method::POST, &email, None).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        ErasurePath::ApiBatchDelete => {
            let (_, key) = issue_key(app, "Backend");
            let person = |action: &str, id: String| json!({ "type": "person", "action": action, "identifiers": { "id": id } });
            let batch = json!({ "batch": [
                person("identify", "bystander-0".into()),
                person("delete", format!("{token}-id")),
                person("event", "bystander-1".into()),
            ]});
            let response = call_v2(app, &key, "/batch", &batch).await;
            assert_eq!(
                response.status(),
                StatusCode::MULTI_STATUS,
                "the event without a name is refused alone"
            );
        }
        ErasurePath::ApiEntitySuppress => {
            let (_, key) = issue_key(app, "Backend");
            let operation = json!({
                "type": "person", "action": "suppress",
                "identifiers": { "email": format!("{token}.mail@example.com") },
            });
            let response = call_v2(app, &key, "/entity", &operation).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        ErasurePath::SuppressionPage => {
            let email = format!("{token}.mail@example.com");
            let response = app
                .post_form(
                    &format!("{WS}/suppressions/add"),
                    &[
                        ("identifier", email.as_str()),
                        ("kind", "email"),
                        ("reason", "manual"),
                    ],
                )
                .await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
        }
    }
}

/// A backup taken before the erasure is restored: the row and its events are back,
/// with the same internal id. Replaying the journal erases them again.
pub fn restore_and_replay(app: &TestApp, id: i64, token: &str) {
    NewPerson::new(&format!("{token}-id"))
        .with_id(id)
        .email(&format!("{token}.mail@example.com"))
        .name(&format!("{token} Person"))
        .event("order", json!({ "email": format!("{token}.mail@example.com") }))
        .insert(app);
    let journal = app.data_dir.join(erasure::erasure::journal::FILE_NAME);
    let (entries, _) = erasure::erasure::journal::read(&journal).expect("the journal");
    let mut conn = app.db();
    let report = erasure::erasure::replay::replay(&mut conn, &app.state.secret, &entries).expect("a replay");
    assert_eq!(report.deleted_again, 1, "the restored customer is erased again");
}

pub async fn preview(app: &TestApp, fields: &[(&str, &str)]) -> String {
    let response = app.post_form(&format!("{WS}/customers/bulk"), fields).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap_or_default()
    );
    location(&response)
}

pub async fn confirm_and_wait(app: &TestApp, job_path: &str, fields: &[(&str, &str)]) {
    let confirmed = app.post_form(&format!("{job_path}/confirm"), fields).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    wait_for_job(app, job_path).await;
}

/// Waits until the job ended and its erased pages were flushed (the mail that reports
/// the end is sent after the flush).
pub async fn wait_for_job(app: &TestApp, job_path: &str) {
    for _ in 0..400 {
        let progress: serde_json::Value = app
            .get(&format!("{job_path}/progress.json"))
            .await
            .json()
            .await
            .unwrap();
        if progress["finished"] == true {
            let job = job_path.rsplit('/').next().unwrap_or_default().to_owned();
            app.mail
                .wait_for(|m| m.subject().contains(&format!("job #{job}")))
                .await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the job did not finish");
}
