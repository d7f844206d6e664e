//! Customer.io's own Python client (`customerio` 3.2.0, unchanged, over TLS) against
//! the real server: every Track API call it makes works, with the effects Customer.io
//! would have; a suppressed identifier is refused; and its App API calls get a clear
//! `not_supported` answer. The script is `tests/clients/customerio_client.py`.
//!
//! Needs `python3` with `customerio==3.2.0` and `openssl` (`.ci/run` installs the
//! client into a virtual environment and names its Python in `CUSTOMERIO_PYTHON`).
//! Without them the test says it was skipped and why; on CI (`CI=true`) it fails.

use std::collections::BTreeMap;
use std::process::Command;

use crate::helpers::api::*;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(every_call_of_the_official_python_client_works);

fn python() -> String {
    std::env::var("CUSTOMERIO_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Whether the client can run here; on CI it must.
fn client_or_skip() -> bool {
    let found = Command::new(python())
        .args(["-c", "import customerio, requests"])
        .output()
        .is_ok_and(|out| out.status.success())
        && Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|out| out.status.success());
    if !found {
        let why = format!(
            "{} cannot import customerio (pip install customerio==3.2.0), or openssl is missing",
            python()
        );
        assert!(
            std::env::var("CI").is_err(),
            "the Python client test cannot run on CI: {why}"
        );
        eprintln!("skipped every_call_of_the_official_python_client_works: {why}");
    }
    found
}

async fn every_call_of_the_official_python_client_works(backend: Backend) {
    if !client_or_skip() {
        return;
    }
    let (app, auth) = api_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let workdir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/customerio_client.py");
    let args = [
        script.to_owned(),
        port,
        auth.site_id.clone(),
        auth.key.clone(),
        workdir.path().display().to_string(),
    ];
    // The server answers on this runtime: the script waits on a blocking thread.
    let output = tokio::task::spawn_blocking(move || Command::new(python()).args(&args).output())
        .await
        .unwrap()
        .expect("the client script runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the client script failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: BTreeMap<String, String> = stdout
        .lines()
        .map(|line| {
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                line["call"].as_str().unwrap().to_owned(),
                line["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(results.len(), 19, "{results:#?}");
    let refused = |call: &str, status: &str, code: &str| {
        let result = &results[call];
        assert!(
            result.starts_with(status) && result.contains(code),
            "{call}: {result}"
        );
    };
    refused("identify_suppressed", "403", "\"suppressed\"");
    refused("merge_by_cio_id", "404", "\"not_found\"");
    refused("send_email", "404", "\"not_supported\"");
    let failed: Vec<_> = results
        .iter()
        .filter(|(call, result)| {
            !matches!(
                call.as_str(),
                "identify_suppressed" | "merge_by_cio_id" | "send_email"
            ) && *result != "ok"
        })
        .collect();
    assert!(failed.is_empty(), "calls that should have worked: {failed:#?}");

    // What the calls stored, as Customer.io would have it.
    let py1 = app.texts("SELECT attributes AS t FROM customers WHERE external_id = 'py-1'");
    let attributes: serde_json::Value = serde_json::from_str(&py1[0]).unwrap();
    assert_eq!(
        attributes["address"]["lines"],
        serde_json::json!(["a", "b"]),
        "{attributes}"
    );
    assert_eq!(attributes["tier"], 2, "merged in from py-2: {attributes}");
    assert_eq!(
        app.count("customers WHERE external_id = 'py-2'"),
        0,
        "py-2 was merged into py-1"
    );
    let py1_events = app.texts(
        "SELECT e.name AS t FROM events e JOIN customers c ON c.id = e.customer_id \
         WHERE c.external_id = 'py-1' ORDER BY e.name",
    );
    assert_eq!(
        py1_events,
        ["https://shop.example/pricing", "purchase", "signed_up", "viewed"],
        "tracked, viewed, backfilled, and the claimed anonymous event"
    );
    assert_eq!(app.count("anonymous_events"), 0);
    assert_eq!(
        app.texts("SELECT token AS t FROM devices"),
        ["py-token-2"],
        "the first device was removed"
    );
    assert_eq!(
        app.count("customers WHERE external_id = 'py-3'"),
        0,
        "deleted at the end"
    );
    // Unsuppressing by id frees the id; the address suppressed with it stays suppressed
    // until it is unsuppressed by itself (the list holds digests only, unlinked).
    assert_eq!(app.count("suppressions WHERE kind = 'email'"), 1);
    assert_eq!(app.count("suppressions WHERE kind = 'id'"), 0, "the id was freed");
    assert_eq!(app.audited("customers.merged"), 1);
}
