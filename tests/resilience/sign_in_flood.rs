//! A flood of sign-in attempts against a real `erasure serve`: 128 at once, for
//! random accounts, from 128 addresses (as a botnet sends them, so no per-address
//! limit thins them out). Password hashing is bounded, so the server's memory grows
//! by less than 100 MB, it keeps answering, and the owner signs in right after.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Barrier;

use super::helpers::{self, Backend};
use super::server::Server;
use super::{seeded, sign_in};

crate::on_both_backends!(a_flood_of_sign_ins_is_bounded_and_the_owner_gets_in_right_after);

const ATTEMPTS: usize = 128;
const MB: u64 = 1024 * 1024;

/// A field of `/proc/{pid}/status`, in bytes (`VmRSS`, `VmHWM`).
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server's status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or_else(|| panic!("no {field} in the server's status"))
}

fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .local_address(Some(address.parse().unwrap()))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn form_token(server: &Server, client: &reqwest::Client) -> String {
    let page = client
        .get(server.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    helpers::csrf_from(&page).expect("a form token")
}

async fn a_flood_of_sign_ins_is_bounded_and_the_owner_gets_in_right_after(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = seeded(&backend, dir.path(), 10, 1, 3);
    let data = dir.path().join("data");
    let server = Server::start(&database.url_string(), &data, &[]).await;

    // Measured before any password was hashed: the workers' memory, taken at their
    // first password, counts as growth.
    let before = memory(server.pid(), "VmRSS");

    // The owner's usual address, known from a first sign-in.
    sign_in(&server, &client_from("127.0.0.1")).await;

    let mut requests = Vec::with_capacity(ATTEMPTS);
    for n in 0..ATTEMPTS {
        let client = client_from(&format!("127.0.{}.{}", 10 + n / 200, 1 + n % 200));
        let token = form_token(&server, &client).await;
        let email = format!("random-{n}-{}@example.com", rand::random::<u32>());
        let request = client.post(server.url("/login")).form(&[
            ("csrf_token", token),
            ("email", email),
            ("password", format!("guess number {n}")),
        ]);
        requests.push(request);
    }
    let barrier = Arc::new(Barrier::new(ATTEMPTS));
    let attempts: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let response = request.send().await.expect("an answer");
                let retry_after = response.headers().get("retry-after").is_some();
                (response.status(), retry_after)
            })
        })
        .collect();
    // The server keeps answering while it is flooded.
    let health = reqwest::Client::new();
    let mut health_checks = 0;
    while attempts.iter().any(|a| !a.is_finished()) {
        let answer = health
            .get(server.url("/healthz"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("/healthz answers during the flood");
        assert!(answer.status().is_success());
        health_checks += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut refused = 0;
    let mut busy = 0;
    for attempt in attempts {
        let (status, retry_after) = attempt.await.unwrap();
        match status.as_u16() {
            401 => refused += 1,
            503 => {
                assert!(retry_after, "a busy answer says when to come back");
                busy += 1;
            }
            other => panic!("an attempt got {other}"),
        }
    }
    let peak = memory(server.pid(), "VmHWM");
    let growth = peak.saturating_sub(before);
    eprintln!(
        "sign-in flood: {refused} checked and refused, {busy} turned away busy, {health_checks} health checks; \
         memory {} MB before, peak {} MB (+{} MB)",
        before / MB,
        peak / MB,
        growth / MB
    );
    assert!(growth < 100 * MB, "the server grew by {} MB", growth / MB);
    assert!(refused > 0, "some attempts were checked");

    // Right after, the owner signs in at once from their usual address.
    sign_in(&server, &client_from("127.0.0.1")).await;
}
