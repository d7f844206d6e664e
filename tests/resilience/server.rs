//! `erasure serve` and the other commands as real processes.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const SECRET: &str = "test-secret-key-that-is-long-enough-0123456789";

/// Runs a command of the binary to completion and returns what it printed; panics with
/// its output on failure.
pub fn cli(database_url: &str, data_dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_erasure"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("DATA_DIR", data_dir)
        .env("SECRET_KEY", SECRET)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "erasure {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts `erasure serve` on a free port and waits until it answers.
    pub async fn start(database_url: &str, data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_erasure"));
        command
            .arg("serve")
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("DATA_DIR", data_dir)
            .env("SECRET_KEY", SECRET)
            .env("JOB_LEASE_SECONDS", "2")
            .env("HTTP_WORKERS", "2")
            .env("RUST_LOG", "warn")
            .env_remove("SMTP_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        let server = Server { child, port };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(response) = client.get(server.url("/healthz")).send().await {
                if response.status().is_success() {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("erasure serve did not come up on port {port}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown, no last words.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Anything a test can send requests to: a server started here or by a test of its own.
pub trait Address {
    fn url(&self, path: &str) -> String;
}

impl Address for Server {
    fn url(&self, path: &str) -> String {
        Server::url(self, path)
    }
}
