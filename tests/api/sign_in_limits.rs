//! Limits that an attacker cannot turn against the owner, and a sign-in page that
//! strangers cannot use to grow the database.
//!
//! Other places on the internet are other loopback addresses: a client bound to
//! 127.0.0.2 reaches the server on 127.0.0.1, which sees it come from 127.0.0.2.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    fifty_wrong_passwords_from_one_address_leave_the_owner_in_from_another,
    a_hundred_failures_close_the_account_to_new_addresses_but_not_to_known_ones,
    a_thousand_anonymous_visits_to_the_sign_in_page_store_no_session,
    failures_that_name_no_account_are_counted_not_audited,
    the_sign_in_form_works_without_a_session_and_refuses_a_forged_token,
);

/// Turns on two-step sign-in for the owner (without recovery codes); returns the
/// authenticator's secret.
fn enable_totp(app: &TestApp) -> String {
    let secret = erasure::totp::new_secret();
    let mut conn = app.db();
    let user = erasure::store::users::find_by_email(&mut conn, OWNER_EMAIL)
        .unwrap()
        .unwrap();
    erasure::store::users::set_totp(&mut conn, user.id, Some(&secret), "[]").unwrap();
    secret
}

fn refusals_counted(app: &TestApp) -> i64 {
    app.number("SELECT COALESCE(SUM(refused), 0) AS v FROM sign_in_tallies")
}

/// Signs in from `client` with the password, and the authenticator code when asked;
/// returns where the last answer sent the browser.
async fn sign_in_from(app: &TestApp, client: &reqwest::Client, secret: Option<&str>) -> (StatusCode, String) {
    let response = app.login_with(client, OWNER_EMAIL, OWNER_PASSWORD).await;
    let (status, to) = (response.status(), location(&response));
    if to != "/login/totp" {
        return (status, to);
    }
    let secret = secret.expect("an authenticator for the second step");
    let code = erasure::totp::code_at(secret, chrono::Utc::now().timestamp() as u64).unwrap();
    let response = app
        .post_form_with(client, "/login/totp", &[("code", code.as_str())])
        .await;
    (response.status(), location(&response))
}

async fn fifty_wrong_passwords_from_one_address_leave_the_owner_in_from_another(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let secret = enable_totp(&app);
    app.logout().await;

    let attacker = client_from("127.0.0.2");
    let mut answers = Vec::new();
    for n in 0..50 {
        let response = app
            .login_with(&attacker, OWNER_EMAIL, &format!("wrong guess {n}"))
            .await;
        answers.push(response.status());
    }
    assert!(answers
        .iter()
        .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(
        app.audited("sign_in.failed"),
        5,
        "five guesses were checked; the other 45 waited"
    );
    let attacker_with_the_password = app.login_with(&attacker, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(
        attacker_with_the_password.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "from the guessing address, even the right password waits"
    );

    // The owner from an address they never used, and from their usual one.
    for place in ["127.0.0.3", "127.0.0.1"] {
        // Each authenticator code is taken once: let the same one serve both places.
        app.sql("UPDATE users SET totp_last_step = NULL");
        let owner = client_from(place);
        let (_, to) = sign_in_from(&app, &owner, Some(&secret)).await;
        assert_eq!(to, "/", "the owner signs in from {place}");
        assert_eq!(
            location(&app.get_with(&owner, "/").await),
            format!("/w/{WORKSPACE_SLUG}/customers")
        );
    }
}

async fn a_hundred_failures_close_the_account_to_new_addresses_but_not_to_known_ones(backend: Backend) {
    let app = std::sync::Arc::new(spawn_app(backend).await);
    app.setup_owner().await;
    app.logout().await;

    // Twenty-one places, five guesses each: 105 failures, each place under its own
    // limit, the account over its hundred.
    let places: Vec<String> = (1..=21).map(|n| format!("127.0.2.{n}")).collect();
    let tasks: Vec<_> = places
        .iter()
        .map(|place| {
            let app = app.clone();
            let place = place.clone();
            tokio::spawn(async move {
                let client = client_from(&place);
                let mut statuses = Vec::new();
                for n in 0..5 {
                    loop {
                        let response = app
                            .login_with(&client, OWNER_EMAIL, &format!("guess {n} from {place}"))
                            .await;
                        // Every password worker busy: nothing was checked or counted.
                        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                            continue;
                        }
                        statuses.push(response.status());
                        break;
                    }
                }
                statuses
            })
        })
        .collect();
    for task in tasks {
        for status in task.await.unwrap() {
            assert!(
                status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
                "{status}"
            );
        }
    }
    assert_eq!(
        app.audited("sign_in.failed"),
        100,
        "the hundredth failure closes the account"
    );
    assert_eq!(app.audited("sign_in.throttled"), 1, "closing it is audited once");

    let stranger = client_from("127.0.3.1");
    let refused = app.login_with(&stranger, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a new address waits, even with the right password"
    );

    let usual = client_from("127.0.0.1");
    let (_, to) = sign_in_from(&app, &usual, None).await;
    assert_eq!(to, "/", "the owner's usual address still signs in");
    let after = client_from("127.0.3.1");
    let (_, to) = sign_in_from(&app, &after, None).await;
    assert_eq!(to, "/", "a sign-in from a known address reopens the account");
}

async fn a_thousand_anonymous_visits_to_the_sign_in_page_store_no_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.logout().await;
    let before = app.count("sessions");

    let visitor = new_client();
    for n in 0..1000 {
        let client = if n % 10 == 0 {
            new_client()
        } else {
            visitor.clone()
        };
        let response = app.get_with(&client, "/login").await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // Nor do a wrong password, a sign-out without a sign-in, or a late second step.
    app.login_with(&visitor, OWNER_EMAIL, "not the password").await;
    app.post_form_with(&visitor, "/logout", &[]).await;
    app.post_form_with(&visitor, "/login/totp", &[("code", "123456")])
        .await;

    assert_eq!(app.count("sessions"), before, "no visit stored a session");
    let (_, to) = sign_in_from(&app, &visitor, None).await;
    assert_eq!(to, "/");
    assert_eq!(app.count("sessions"), before + 1, "signing in stores one");
}

async fn failures_that_name_no_account_are_counted_not_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.logout().await;
    let audit_before = app.count("audit_log");

    for n in 0..30 {
        let client = client_from(&format!("127.0.4.{}", n + 1));
        let response = app
            .login_with(&client, &format!("nobody-{n}@example.com"), "some password")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    assert_eq!(
        app.count("audit_log"),
        audit_before,
        "strangers do not grow the log"
    );
    assert_eq!(refusals_counted(&app), 30);

    // A flood is audited as it crosses each tenfold from a hundred, once.
    app.sql("UPDATE sign_in_tallies SET refused = 98");
    for n in 0..3 {
        let client = client_from(&format!("127.0.5.{}", n + 1));
        app.login_with(&client, &format!("flood-{n}@example.com"), "some password")
            .await;
    }
    assert_eq!(app.audited("sign_in.flood"), 1);
    let details = app.number("SELECT affected AS v FROM audit_log WHERE action = 'sign_in.flood'");
    assert_eq!(details, 100);
}

async fn the_sign_in_form_works_without_a_session_and_refuses_a_forged_token(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.logout().await;

    let visitor = new_client();
    let page = app.get_with(&visitor, "/login").await;
    assert!(
        page.headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("erasure_session")),
        "no session cookie for a visit"
    );
    let token = csrf_from(&page.text().await.unwrap()).unwrap();

    // Another visitor's token does not fit this visitor's cookie.
    let other = new_client();
    let other_token = app.csrf_token_for(&other).await;
    assert_ne!(other_token, token);
    let forged = visitor
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", other_token.as_str()),
            ("email", OWNER_EMAIL),
            ("password", OWNER_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // Nor does any token without the cookie.
    let cookieless = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let refused = cookieless
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", OWNER_EMAIL),
            ("password", OWNER_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let signed_in = visitor
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", OWNER_EMAIL),
            ("password", OWNER_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&signed_in), "/");
}
