//! Guessing in parallel: every attempt limit holds when dozens of guesses arrive at
//! the same moment, from separate sessions or from one, on both backends.
//!
//! Limits that are checked with a read ("is it locked yet?") and counted with a later
//! write let every guess that read before the first count landed through. These tests
//! send all guesses at once and then count, from the audit log, how many were really
//! checked.

use std::sync::Arc;

use erasure::store::login_throttles::{FIXED_LOCK, MAX_FAILURES};
use reqwest::StatusCode;
use tokio::sync::Barrier;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    parallel_wrong_passwords_get_no_more_checks_than_the_limit,
    parallel_wrong_second_step_codes_get_no_more_checks_than_the_limit,
    parallel_wrong_delete_all_codes_get_no_more_checks_than_the_limit,
    after_the_limit_the_owner_s_authenticator_does_not_open_delete_all_either,
    parallel_wrong_codes_to_turn_off_two_step_leave_it_on,
    an_attempt_is_claimed_atomically_before_the_secret_is_checked,
);

/// How many guesses are sent at once.
const GUESSES: usize = 50;
const WS: &str = "/w/acme-shop";

/// What one guess got back.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    location: String,
    body: String,
}

/// Sends every request at the same moment: each task holds its built request at a
/// barrier until the last one is ready, so none finishes before all have started.
async fn all_at_once(requests: Vec<reqwest::RequestBuilder>) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let response = request.send().await.expect("an answer");
                let status = response.status();
                let location = location(&response);
                let body = response.text().await.unwrap_or_default();
                Answer {
                    status,
                    location,
                    body,
                }
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.expect("a guess task"));
    }
    answers
}

/// No guess may fail on the server; one may be turned away while every password
/// worker is busy (503, come back later), which checks and counts nothing.
fn assert_no_server_errors(answers: &[Answer]) {
    for answer in answers {
        assert!(
            !answer.status.is_server_error()
                || (answer.status == StatusCode::SERVICE_UNAVAILABLE
                    && answer.body.contains("Many sign-ins are being checked right now")),
            "a guess got {}: {}",
            answer.status,
            answer.body.chars().take(300).collect::<String>()
        );
        assert!(
            !answer.body.contains("database is locked"),
            "a guess saw the database locked"
        );
    }
}

fn count_where(app: &TestApp, table: &str, condition: &str) -> i64 {
    use diesel::sql_types::BigInt;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct One {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db();
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table} WHERE {condition}"))
        .get_result::<One>(&mut **conn)
        .unwrap()
        .n
}

fn refusals_counted(app: &TestApp) -> i64 {
    app.number("SELECT COALESCE(SUM(refused), 0) AS v FROM sign_in_tallies")
}

fn unix_now() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

/// Turns on two-step sign-in for the owner; returns the secret and the recovery codes.
fn enable_totp(app: &TestApp) -> (String, Vec<String>) {
    app.enable_totp(OWNER_EMAIL)
}

/// The n-th wrong guess: six digits that no authenticator step near now accepts, or,
/// for odd n, something shaped like a recovery code that is none of them.
fn wrong_code(secret: &str, n: usize) -> String {
    if n % 2 == 1 {
        return format!("zzzz-{n:04}");
    }
    let now = unix_now();
    let valid: Vec<String> = (0..=4)
        .filter_map(|i| erasure::totp::code_at(secret, now + i * 30 - 60))
        .collect();
    (n..)
        .map(|k| format!("{:06}", (k * 7919 + 104_729) % 1_000_000))
        .find(|code| !valid.contains(code))
        .expect("a wrong code")
}

/// A form post as the page sends it, built but not sent.
fn form_post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    token: &str,
    fields: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let mut all: Vec<(&str, &str)> = vec![("csrf_token", token)];
    all.extend_from_slice(fields);
    client.post(app.url(path)).form(&all)
}

async fn parallel_wrong_passwords_get_no_more_checks_than_the_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.logout().await;
    // Each guess from a browser session of its own, as a botnet would send them.
    let mut requests = Vec::with_capacity(GUESSES);
    for n in 0..GUESSES {
        let client = new_client();
        let token = app.csrf_token_for(&client).await;
        let password = format!("wrong password number {n}");
        requests.push(form_post(
            &app,
            &client,
            "/login",
            &token,
            &[("email", OWNER_EMAIL), ("password", &password)],
        ));
    }

    let answers = all_at_once(requests).await;

    assert_no_server_errors(&answers);
    assert!(
        answers
            .iter()
            .all(|a| a.status == StatusCode::UNAUTHORIZED || a.status == StatusCode::TOO_MANY_REQUESTS),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let limit = i64::from(MAX_FAILURES);
    assert_eq!(
        app.audited("sign_in.failed"),
        limit,
        "exactly the limit of passwords were checked"
    );
    assert_eq!(
        refusals_counted(&app),
        GUESSES as i64 - limit,
        "every other guess was refused unchecked, and counted rather than audited"
    );
    assert_eq!(
        app.audited("sign_in.throttled"),
        0,
        "far from closing the account"
    );
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.status == StatusCode::UNAUTHORIZED)
            .count() as i64,
        limit - 1,
        "the guess that used the last try is told the account is locked"
    );

    let right = app.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(right.text().await.unwrap().contains("Too many failed attempts"));
    assert_eq!(location(&app.get("/").await), "/login", "still signed out");
}

async fn parallel_wrong_second_step_codes_get_no_more_checks_than_the_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.logout().await;
    let (secret, recovery_codes) = enable_totp(&app);
    // Ten sign-ins that passed the password step, five guesses at once from each.
    let mut requests = Vec::with_capacity(GUESSES);
    for session in 0..GUESSES / 5 {
        let client = new_client();
        let response = app.login_with(&client, OWNER_EMAIL, OWNER_PASSWORD).await;
        assert_eq!(location(&response), "/login/totp");
        let token = app.csrf_token_for(&client).await;
        for guess in 0..5 {
            let code = wrong_code(&secret, session * 5 + guess);
            requests.push(form_post(
                &app,
                &client,
                "/login/totp",
                &token,
                &[("code", &code)],
            ));
        }
    }

    let answers = all_at_once(requests).await;

    assert_no_server_errors(&answers);
    assert!(
        answers.iter().all(|a| a.location != "/"),
        "a wrong code signed someone in"
    );
    let second_step_failures = count_where(
        &app,
        "audit_log",
        "action = 'sign_in.failed' AND details LIKE '%second_factor%'",
    );
    assert_eq!(
        second_step_failures,
        i64::from(MAX_FAILURES),
        "exactly the limit of codes were checked"
    );
    assert_eq!(app.audited("sign_in.succeeded"), GUESSES as i64 / 5);

    // The password still opens the second step, but no right code gets past it now:
    // neither the authenticator's current code nor an unused recovery code.
    let code = erasure::totp::code_at(&secret, unix_now()).unwrap();
    for right in [code.as_str(), recovery_codes[0].as_str()] {
        let client = new_client();
        let response = app.login_with(&client, OWNER_EMAIL, OWNER_PASSWORD).await;
        assert_eq!(location(&response), "/login/totp");
        let refused = app
            .post_form_with(&client, "/login/totp", &[("code", right)])
            .await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            location(&app.get_with(&client, "/").await),
            "/login",
            "the pending sign-in is over"
        );
    }
    assert_eq!(app.audited("totp.recovery_code_used"), 0);
}

fn add_customers(app: &TestApp, count: usize) {
    let rows: Vec<String> = (0..count)
        .map(|n| {
            format!(
                "(1, 'guess-{n}', 'guess{n}@example.com', '{{}}', '2026-01-01 00:00:00', '2026-11-01 00:00:00')"
            )
        })
        .collect();
    app.sql(&format!(
        "INSERT INTO customers (workspace_id, external_id, email, attributes, created_at, last_seen_at) VALUES {}",
        rows.join(", ")
    ));
}

/// Asks for a delete-all code in the app's own session; returns the mailed code.
async fn mailed_delete_all_code(app: &TestApp) -> String {
    let sent = app
        .post_form(
            &format!("{WS}/customers/delete-all"),
            &[("workspace_name", WORKSPACE_NAME)],
        )
        .await;
    assert_eq!(location(&sent), format!("{WS}/customers/delete-all/confirm"));
    let mail = app
        .mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject().starts_with("Code to delete all"))
        .await;
    mail.body()
        .lines()
        .find_map(|l| l.strip_prefix("Code: "))
        .expect("a code line")
        .trim()
        .to_owned()
}

/// Wrong delete-all codes, all sent at once in the session the code was made for.
async fn guess_delete_all_codes(app: &TestApp, wrong: impl Fn(usize) -> String) -> Vec<Answer> {
    let token = app.csrf_token().await;
    let path = format!("{WS}/customers/delete-all/confirm");
    let requests = (0..GUESSES)
        .map(|n| form_post(app, &app.client, &path, &token, &[("code", &wrong(n))]))
        .collect();
    all_at_once(requests).await
}

async fn parallel_wrong_delete_all_codes_get_no_more_checks_than_the_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    add_customers(&app, 20);
    let code = mailed_delete_all_code(&app).await;

    let answers = guess_delete_all_codes(&app, |n| {
        let guess = format!("{:06}", (n * 7919 + 104_729) % 1_000_000);
        if guess == code {
            "999999".into()
        } else {
            guess
        }
    })
    .await;

    assert_no_server_errors(&answers);
    assert!(
        answers
            .iter()
            .all(|a| a.status == StatusCode::UNPROCESSABLE_ENTITY),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert_eq!(
        app.audited("code.failed"),
        i64::from(erasure::store::otp::MAX_ATTEMPTS),
        "exactly the limit of codes were checked"
    );
    let right = app
        .post_form(&format!("{WS}/customers/delete-all/confirm"), &[("code", &code)])
        .await;
    assert_eq!(right.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(right.text().await.unwrap().contains("no longer works"));
    assert_eq!(count_where(&app, "customers", "workspace_id = 1"), 20);
    assert_eq!(app.count("jobs"), 0, "no job was started");
    assert_eq!(app.audited("code.accepted"), 0);
}

/// The owner may type an authenticator code instead of the mailed one. That path
/// shares the challenge's tries: after the limit no code opens it, the authenticator's
/// current one included, and without a challenge no code is checked at all.
async fn after_the_limit_the_owner_s_authenticator_does_not_open_delete_all_either(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    add_customers(&app, 20);
    let (secret, recovery_codes) = enable_totp(&app);
    let confirm = format!("{WS}/customers/delete-all/confirm");

    // No code was asked for: the authenticator's code alone opens nothing.
    let current = erasure::totp::code_at(&secret, unix_now()).unwrap();
    let without = app.post_form(&confirm, &[("code", &current)]).await;
    assert_eq!(without.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let mailed = mailed_delete_all_code(&app).await;
    let answers = guess_delete_all_codes(&app, |n| {
        let guess = wrong_code(&secret, n);
        if guess == mailed {
            "999999".into()
        } else {
            guess
        }
    })
    .await;

    assert_no_server_errors(&answers);
    assert_eq!(
        app.audited("code.failed"),
        i64::from(erasure::store::otp::MAX_ATTEMPTS),
        "exactly the limit of codes were checked"
    );
    // A fresh step's code, so that "already used" cannot be why it is refused.
    let mut now = unix_now();
    let mut fresh = erasure::totp::code_at(&secret, now).unwrap();
    while fresh == current {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        now = unix_now();
        fresh = erasure::totp::code_at(&secret, now).unwrap();
    }
    for right in [fresh.as_str(), recovery_codes[0].as_str(), mailed.as_str()] {
        let refused = app.post_form(&confirm, &[("code", right)]).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{right}");
    }
    assert_eq!(count_where(&app, "customers", "workspace_id = 1"), 20);
    assert_eq!(app.count("jobs"), 0, "no job was started");
    assert_eq!(app.audited("totp.recovery_code_used"), 0);
}

async fn parallel_wrong_codes_to_turn_off_two_step_leave_it_on(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let (secret, recovery_codes) = enable_totp(&app);
    let token = app.csrf_token().await;
    let requests = (0..GUESSES)
        .map(|n| {
            form_post(
                &app,
                &app.client,
                "/settings/security/totp/disable",
                &token,
                &[("password", OWNER_PASSWORD), ("code", &wrong_code(&secret, n))],
            )
        })
        .collect();

    let answers = all_at_once(requests).await;

    assert_no_server_errors(&answers);
    assert!(answers
        .iter()
        .all(|a| a.status == StatusCode::SEE_OTHER || a.status == StatusCode::SERVICE_UNAVAILABLE));
    assert!(
        answers
            .iter()
            .filter(|a| a.status == StatusCode::SEE_OTHER)
            .count()
            > MAX_FAILURES as usize,
        "more guesses than the limit got through to the lock"
    );
    let right = erasure::totp::code_at(&secret, unix_now()).unwrap();
    for code in [right.as_str(), recovery_codes[0].as_str()] {
        app.post_form(
            "/settings/security/totp/disable",
            &[("password", OWNER_PASSWORD), ("code", code)],
        )
        .await;
    }
    assert_eq!(
        count_where(&app, "users", "totp_secret IS NOT NULL"),
        1,
        "two-step sign-in is still on"
    );
    assert!(app
        .get_html("/settings/security")
        .await
        .contains("Too many failed attempts"));
    assert_eq!(app.audited("totp.disabled"), 0);
    assert_eq!(app.audited("totp.recovery_code_used"), 0);
}

/// The store's side of every limit above: attempts claimed in parallel transactions,
/// each holding its claim a while as a slow check would, get exactly the limit of
/// "go ahead"s, and the one that used the last try is told the lock's end.
async fn an_attempt_is_claimed_atomically_before_the_secret_is_checked(backend: Backend) {
    use erasure::store::login_throttles::{begin_attempt, Attempt};
    let app = spawn_app(backend).await;
    let barrier = Arc::new(std::sync::Barrier::new(GUESSES));
    let threads: Vec<_> = (0..GUESSES)
        .map(|_| {
            let pool = app.state.db.pool().clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut conn = pool.get().expect("a connection");
                erasure::db::write_transaction(&mut conn, |conn| {
                    let attempt = begin_attempt(conn, "parallel-key", FIXED_LOCK)?;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    Ok::<_, erasure::store::StoreError>(attempt)
                })
                .expect("an attempt")
            })
        })
        .collect();
    let attempts: Vec<Attempt> = threads.into_iter().map(|t| t.join().unwrap()).collect();

    let allowed: Vec<_> = attempts
        .iter()
        .filter_map(|a| match a {
            Attempt::Allowed { waits_until, .. } => Some(*waits_until),
            Attempt::Waiting(_) => None,
        })
        .collect();
    assert_eq!(allowed.len(), MAX_FAILURES as usize);
    assert_eq!(
        allowed.iter().filter(|until| until.is_some()).count(),
        1,
        "one attempt used the last try"
    );
}
