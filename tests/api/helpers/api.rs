//! Talking to the Track API as an integration would: a key made the way the command
//! line makes it, HTTP Basic with the site id, JSON bodies.

use erasure::domain::ApiKeyName;
use erasure::store::audit::{Actor, RequestOrigin};
use reqwest::Response;
use serde_json::Value;

use super::{spawn_app_with, Backend, TestApp, Tweak, WORKSPACE_SLUG};

/// A workspace's API credentials.
pub struct Credentials {
    pub site_id: String,
    pub key: String,
}

pub fn workspace(app: &TestApp) -> erasure::store::workspaces::Workspace {
    let mut conn = app.db();
    erasure::store::workspaces::find_by_slug(&mut conn, WORKSPACE_SLUG)
        .unwrap()
        .expect("the test workspace")
}

/// Makes a key the way the command line does.
pub fn issue_key(app: &TestApp, name: &str) -> (i64, Credentials) {
    let workspace = workspace(app);
    let mut conn = app.db();
    let issued = erasure::store::api_keys::issue(
        &mut conn,
        &app.state.secret,
        workspace.id,
        &ApiKeyName::parse(name).unwrap(),
        Actor::System,
        &RequestOrigin::default(),
    )
    .unwrap();
    (
        issued.key.id,
        Credentials {
            site_id: workspace.site_id,
            key: issued.secret,
        },
    )
}

pub async fn api_app_with(backend: Backend, tweak: Tweak) -> (TestApp, Credentials) {
    let app = spawn_app_with(backend, tweak).await;
    app.setup_owner().await;
    let (_, credentials) = issue_key(&app, "Backend");
    (app, credentials)
}

pub async fn api_app(backend: Backend) -> (TestApp, Credentials) {
    api_app_with(backend, Box::new(|_| {})).await
}

/// Sends a JSON request to the Track API with the credentials.
pub async fn call(
    app: &TestApp,
    auth: &Credentials,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut request = app
        .client
        .request(method, app.url(&format!("/api/v1{path}")))
        .basic_auth(&auth.site_id, Some(&auth.key));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("an API response")
}

/// Sends a JSON body to the Track API v2 (`/entity` or `/batch`) with the credentials.
pub async fn call_v2(app: &TestApp, auth: &Credentials, path: &str, body: &Value) -> Response {
    app.client
        .post(app.url(&format!("/api/v2{path}")))
        .basic_auth(&auth.site_id, Some(&auth.key))
        .json(body)
        .send()
        .await
        .expect("an API response")
}

/// Sends raw bytes as a JSON body to the Track API, as a hostile client might.
pub async fn call_raw(app: &TestApp, auth: &Credentials, path: &str, body: Vec<u8>) -> Response {
    app.client
        .post(app.url(path))
        .basic_auth(&auth.site_id, Some(&auth.key))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("an API response")
}
