use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;

use crate::helpers::*;

/// `erasure create-owner` makes an owner who can then sign in on the console.
#[tokio::test]
async fn create_owner_on_the_command_line_then_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_erasure"))
        .args([
            "create-owner",
            "--email",
            "cli@example.com",
            "--name",
            "Cli Owner",
            "--password-stdin",
            "--workspace",
            "Command Line",
        ])
        .env("DATABASE_URL", &database_url)
        .env("DATA_DIR", dir.path().join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("/w/command-line"));

    let app = spawn_app_with(
        Backend::Sqlite,
        Box::new(move |settings| {
            settings.database_url = erasure::db::DatabaseUrl::parse(&database_url).unwrap();
        }),
    )
    .await;
    app.login("cli@example.com", "a long enough password").await;
    assert_eq!(
        app.get("/w/command-line/customers").await.status(),
        StatusCode::OK
    );
    drop(dir);
}

#[test]
fn create_owner_refuses_a_short_password_and_a_bad_url() {
    let dir = tempfile::tempdir().unwrap();
    let run = |url: &str, password: &[u8]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_erasure"))
            .args([
                "create-owner",
                "--email",
                "cli@example.com",
                "--name",
                "Cli",
                "--password-stdin",
            ])
            .env("DATABASE_URL", url)
            .env("DATA_DIR", dir.path().join("data"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The command may refuse before reading its input; a closed pipe is fine then.
        let _ = child.stdin.take().unwrap().write_all(password);
        child.wait_with_output().unwrap()
    };
    let good_url = format!("sqlite://{}", dir.path().join("x.db").display());
    let short = run(&good_url, b"short\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("12 characters"));
    let bad = run("mysql://localhost/x", b"a long enough password\n");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("sqlite://"));
}
