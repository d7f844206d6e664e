use reqwest::StatusCode;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    signing_in_with_the_right_password_opens_the_workspace,
    a_wrong_password_and_an_unknown_account_get_the_same_answer,
    repeated_failures_make_the_account_wait_at_that_address_even_with_the_right_password,
    the_session_id_changes_at_sign_in,
    a_cookie_replayed_after_sign_out_is_dead,
    a_cookie_of_a_disabled_user_is_dead,
    a_turned_off_person_with_the_right_password_is_told_whom_to_ask,
    signing_out_everywhere_ends_every_session,
    an_idle_session_expires,
    viewing_pages_does_not_write_the_session,
    an_authenticator_code_works_once,
    a_recovery_code_works_once,
);

async fn signed_up_app(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.logout().await;
    app
}

async fn signing_in_with_the_right_password_opens_the_workspace(backend: Backend) {
    let app = signed_up_app(backend).await;

    let response = app.login(" Owner@Example.com ", OWNER_PASSWORD).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    assert_eq!(
        location(&app.get("/").await),
        format!("/w/{WORKSPACE_SLUG}/customers")
    );
    assert_eq!(
        app.get(&format!("/w/{WORKSPACE_SLUG}/customers")).await.status(),
        StatusCode::OK
    );
}

async fn a_wrong_password_and_an_unknown_account_get_the_same_answer(backend: Backend) {
    let app = signed_up_app(backend).await;

    let wrong = app.login(OWNER_EMAIL, "not the password at all").await;
    let wrong_status = wrong.status();
    let wrong_page = wrong.text().await.unwrap();
    let unknown = app.login("nobody@example.com", "not the password at all").await;
    let unknown_status = unknown.status();
    let unknown_page = unknown.text().await.unwrap();

    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_status, wrong_status);
    let message = "That email and password do not match an account.";
    assert!(wrong_page.contains(message));
    assert!(unknown_page.contains(message));
    assert_eq!(location(&app.get("/").await), "/login", "still signed out");
}

async fn repeated_failures_make_the_account_wait_at_that_address_even_with_the_right_password(
    backend: Backend,
) {
    let app = signed_up_app(backend).await;

    for _ in 0..4 {
        let refused = app.login(OWNER_EMAIL, "wrong password here").await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let fifth = app.login(OWNER_EMAIL, "wrong password here").await;
    assert_eq!(
        fifth.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the fifth failure starts a wait"
    );
    assert!(fifth.text().await.unwrap().contains("Try again in 30 seconds"));
    let waiting = app.login(OWNER_EMAIL, OWNER_PASSWORD).await;

    assert_eq!(waiting.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(waiting.text().await.unwrap().contains("Too many failed attempts"));
    assert_eq!(location(&app.get("/").await), "/login");
    // Another account name is not affected.
    let other = app.login("someone-else@example.com", "wrong password here").await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    // Once the wait is over the right password works: no lock outlives its wait.
    app.sql("UPDATE login_throttles SET wait_until = NULL");
    let right = app.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(location(&right), "/");
}

async fn the_session_id_changes_at_sign_in(backend: Backend) {
    let app = signed_up_app(backend).await;
    let login_page = app.get("/login").await;
    assert!(
        set_session_cookie(&login_page).is_none(),
        "showing the form stores no session"
    );
    // The password step of a two-step sign-in keeps a session: an id from before the
    // sign-in, as a planted one would be.
    let secret = enable_totp(&app);
    let password_step = app.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(location(&password_step), "/login/totp");
    let before = set_session_cookie(&password_step).expect("a session before sign-in");

    let code = erasure::totp::code_at(&secret, now()).unwrap();
    let response = app.post_form("/login/totp", &[("code", code.as_str())]).await;

    let after = set_session_cookie(&response).expect("a new session cookie at sign-in");
    assert_ne!(before, after);
    // The id from before sign-in is worth nothing now.
    let planted = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let replay = planted
        .get(app.url("/"))
        .header("cookie", format!("erasure_session={before}"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&replay), "/login");
}

async fn replay(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    client
        .get(app.url(path))
        .header("cookie", format!("erasure_session={cookie}"))
        .send()
        .await
        .unwrap()
}

async fn a_cookie_replayed_after_sign_out_is_dead(backend: Backend) {
    let app = signed_up_app(backend).await;
    let cookie = set_session_cookie(&app.login(OWNER_EMAIL, OWNER_PASSWORD).await).unwrap();
    let workspace = format!("/w/{WORKSPACE_SLUG}/customers");
    assert_eq!(replay(&app, &cookie, &workspace).await.status(), StatusCode::OK);

    app.logout().await;

    let response = replay(&app, &cookie, &workspace).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
}

async fn a_cookie_of_a_disabled_user_is_dead(backend: Backend) {
    let app = signed_up_app(backend).await;
    let cookie = set_session_cookie(&app.login(OWNER_EMAIL, OWNER_PASSWORD).await).unwrap();
    let workspace = format!("/w/{WORKSPACE_SLUG}/customers");

    app.sql("UPDATE users SET disabled = TRUE");

    assert_eq!(location(&replay(&app, &cookie, &workspace).await), "/login");
    let again = app.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(
        again.status(),
        StatusCode::FORBIDDEN,
        "a disabled user cannot sign in, and is told so"
    );
    assert_eq!(location(&app.get(&workspace).await), "/login");
}

async fn signing_out_everywhere_ends_every_session(backend: Backend) {
    let app = signed_up_app(backend).await;
    let laptop = new_client();
    let phone = new_client();
    app.login_with(&laptop, OWNER_EMAIL, OWNER_PASSWORD).await;
    app.login_with(&phone, OWNER_EMAIL, OWNER_PASSWORD).await;
    let workspace = format!("/w/{WORKSPACE_SLUG}/customers");
    assert_eq!(app.get_with(&phone, &workspace).await.status(), StatusCode::OK);

    let response = app
        .post_form_with(&laptop, "/settings/security/sign-out-everywhere", &[])
        .await;

    assert_eq!(location(&response), "/login");
    assert_eq!(location(&app.get_with(&phone, &workspace).await), "/login");
    assert_eq!(location(&app.get_with(&laptop, &workspace).await), "/login");
}

async fn an_idle_session_expires(backend: Backend) {
    let app = signed_up_app(backend).await;
    app.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let workspace = format!("/w/{WORKSPACE_SLUG}/customers");
    assert_eq!(app.get(&workspace).await.status(), StatusCode::OK);

    app.sql("UPDATE sessions SET expires_at = '2000-01-01 00:00:00'");

    assert_eq!(location(&app.get(&workspace).await), "/login");
}

/// A page view that changes nothing must not write the session row: on SQLite every
/// write waits for the one write lock, behind any job's batch.
async fn viewing_pages_does_not_write_the_session(backend: Backend) {
    let app = signed_up_app(backend).await;
    app.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    // Any write of the session row sets `touched_at` to the present.
    let untouched = "sessions WHERE touched_at > '2099-01-01 00:00:00'";
    app.sql("UPDATE sessions SET touched_at = '2100-01-01 00:00:00'");

    for page in ["customers", "jobs", "settings/roles", "customers"] {
        let response = app.get(&format!("/w/{WORKSPACE_SLUG}/{page}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
    }
    let sessions = app.count("sessions");
    assert_eq!(app.count(untouched), sessions, "a page view wrote the session");

    // A message for the next page is session state: storing it and showing it write.
    let roles = format!("/w/{WORKSPACE_SLUG}/settings/roles");
    let created = app
        .post_form(&roles, &[("name", "Support"), ("permission", "customers.view")])
        .await;
    assert_eq!(location(&created), roles);
    app.sql("UPDATE sessions SET touched_at = '2100-01-01 00:00:00'");
    assert!(app.get_html(&roles).await.contains("is created"));
    assert_eq!(
        app.count(untouched),
        app.count("sessions") - 1,
        "showing the message took it out of the session"
    );
}

fn enable_totp(app: &TestApp) -> String {
    app.enable_totp(OWNER_EMAIL).0
}

fn now() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

async fn an_authenticator_code_works_once(backend: Backend) {
    let app = signed_up_app(backend).await;
    let secret = enable_totp(&app);

    let response = app.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(location(&response), "/login/totp");
    assert_eq!(
        location(&app.get(&format!("/w/{WORKSPACE_SLUG}/customers")).await),
        "/login",
        "not yet signed in"
    );
    let code = erasure::totp::code_at(&secret, now()).unwrap();
    let wrong = app.post_form("/login/totp", &[("code", "000000")]).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let accepted = app.post_form("/login/totp", &[("code", &code)]).await;
    assert_eq!(location(&accepted), "/");
    assert_eq!(
        app.get(&format!("/w/{WORKSPACE_SLUG}/customers")).await.status(),
        StatusCode::OK
    );

    // The same code, replayed by someone who also knows the password, is refused.
    let attacker = new_client();
    app.login_with(&attacker, OWNER_EMAIL, OWNER_PASSWORD).await;
    let replayed = app
        .post_form_with(&attacker, "/login/totp", &[("code", &code)])
        .await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(location(&app.get_with(&attacker, "/").await), "/login");
}

async fn a_recovery_code_works_once(backend: Backend) {
    let app = signed_up_app(backend).await;
    enable_totp(&app);
    let (codes, stored) = app.new_recovery_codes();
    app.sql(&format!("UPDATE users SET recovery_codes = '{stored}'"));

    app.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let accepted = app.post_form("/login/totp", &[("code", &codes[3])]).await;
    assert_eq!(location(&accepted), "/");

    let other = new_client();
    app.login_with(&other, OWNER_EMAIL, OWNER_PASSWORD).await;
    let reused = app
        .post_form_with(&other, "/login/totp", &[("code", &codes[3])])
        .await;
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);
}

async fn a_turned_off_person_with_the_right_password_is_told_whom_to_ask(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let member_password = "a member's own long password";
    let member =
        crate::helpers::arrange::add_user_with_role(&app, "mia@example.org", member_password, "member");
    app.sql(&format!("UPDATE users SET disabled = TRUE WHERE id = {member}"));
    app.logout().await;

    let wrong = app.login("mia@example.org", "not her password at all").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong_page = wrong.text().await.unwrap();
    assert!(wrong_page.contains("That email and password do not match an account."));
    assert!(!wrong_page.contains("turned off"), "a guesser learns nothing");

    let right = app.login("mia@example.org", member_password).await;
    assert_eq!(right.status(), StatusCode::FORBIDDEN);
    let page = right.text().await.unwrap();
    assert!(page.contains("Your access to this console was turned off."));
    assert!(page.contains(&format!("Ask {OWNER_NAME}, the account owner")));
    assert_eq!(location(&app.get("/").await), "/login", "still signed out");
}
