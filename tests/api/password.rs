//! Passwords: changing one's own on the Security page, and setting a forgotten one
//! with a mailed link.

use std::time::Duration;

use chrono::NaiveDateTime;
use erasure::store::login_throttles::MAX_FAILURES;
use reqwest::{Response, StatusCode};

use crate::helpers::smtp::ReceivedMail;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    changing_the_password_needs_the_current_one_and_ends_every_other_session,
    wrong_current_passwords_lock_the_change,
    asking_for_a_link_answers_alike_for_every_address_and_mails_only_an_account,
    a_reset_link_works_once_and_ends_every_session,
    a_reset_link_expires_after_thirty_minutes_and_a_newer_one_replaces_it,
    with_two_step_sign_in_on_a_reset_still_asks_for_the_authenticator_code,
    a_reset_lifts_the_lock_on_the_account_name,
    the_fourth_link_asked_for_within_the_window_is_not_mailed,
);

const NEW_PASSWORD: &str = "a brand new passphrase for olivia";
const WORKSPACE: &str = "/w/acme-shop/customers";
const RESET_SUBJECT: &str = "Set a new password for Erasure";

fn now() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

/// The owner set up and signed in with `app.client`.
async fn owner_app(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app
}

/// A second browser of the owner, signed in; and its session cookie.
async fn second_browser(app: &TestApp) -> (reqwest::Client, String) {
    let client = new_client();
    let signed_in = app.login_with(&client, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(location(&signed_in), "/", "the second browser signs in");
    let cookie = set_session_cookie(&signed_in).expect("a session cookie");
    (client, cookie)
}

/// A request with nothing but this session cookie, as someone who copied it would send.
async fn replay(app: &TestApp, cookie: &str, path: &str) -> Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(path))
        .header("cookie", format!("erasure_session={cookie}"))
        .send()
        .await
        .unwrap()
}

async fn change_password(app: &TestApp, current: &str, new: &str, confirm: &str) -> Response {
    app.post_form(
        "/settings/security/password",
        &[
            ("current_password", current),
            ("new_password", new),
            ("new_password_confirm", confirm),
        ],
    )
    .await
}

/// Asks for a reset link for `email` from `client`; the answer is always the same.
async fn ask_for_link(app: &TestApp, client: &reqwest::Client, email: &str) -> Response {
    app.post_form_with(client, "/password/forgot", &[("email", email)])
        .await
}

fn reset_mails_to(app: &TestApp, email: &str) -> Vec<ReceivedMail> {
    app.mail
        .all()
        .into_iter()
        .filter(|m| m.is_to(email) && m.subject() == RESET_SUBJECT)
        .collect()
}

fn token_in(mail: &ReceivedMail) -> String {
    let body = mail.body();
    let at = body.find("/password/reset/").expect("a link") + "/password/reset/".len();
    let token: String = body[at..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    token
}

/// The token of the `n`-th reset mail to `email` (counting from 1), once it arrived.
async fn nth_reset_token(app: &TestApp, email: &str, n: usize) -> String {
    app.mail.wait_for(|_| reset_mails_to(app, email).len() >= n).await;
    token_in(&reset_mails_to(app, email)[n - 1])
}

async fn set_password_with(
    app: &TestApp,
    client: &reqwest::Client,
    token: &str,
    password: &str,
    confirm: &str,
) -> Response {
    app.post_form_with(
        client,
        &format!("/password/reset/{token}"),
        &[("password", password), ("password_confirm", confirm)],
    )
    .await
}

async fn assert_gone(response: Response) {
    assert_eq!(response.status(), StatusCode::GONE);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("This link has expired or was already used"),
        "{page}"
    );
    assert!(page.contains(r#"href="/password/forgot""#), "a way to ask again");
}

async fn changing_the_password_needs_the_current_one_and_ends_every_other_session(backend: Backend) {
    let app = owner_app(backend).await;
    let (other, other_cookie) = second_browser(&app).await;
    let this_cookie = {
        let signed_in = app.login(OWNER_EMAIL, OWNER_PASSWORD).await;
        set_session_cookie(&signed_in).expect("this browser's cookie")
    };

    // Refusals: each says why next to its field, and changes nothing.
    let wrong = change_password(&app, "not the password at all", NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("that is not your current password"));
    let short = change_password(&app, OWNER_PASSWORD, "short", "short").await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().await.unwrap().contains("use at least 12 characters"));
    let differ = change_password(&app, OWNER_PASSWORD, NEW_PASSWORD, "something else entirely").await;
    assert_eq!(differ.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(differ.text().await.unwrap().contains("the two passwords differ"));
    let same = change_password(&app, OWNER_PASSWORD, OWNER_PASSWORD, OWNER_PASSWORD).await;
    assert_eq!(same.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(same
        .text()
        .await
        .unwrap()
        .contains("choose a password other than your current one"));
    assert_eq!(app.audited("password.changed"), 0);
    assert_eq!(app.get_with(&other, WORKSPACE).await.status(), StatusCode::OK);

    let changed = change_password(&app, OWNER_PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;

    assert_eq!(location(&changed), "/settings/security");
    let page = app.get_html("/settings/security").await;
    assert!(page.contains("Your password is changed"), "{page}");
    // Every other session is over, its copied cookie too; this browser stays in under a
    // new session id, and its old id is worthless.
    assert_eq!(location(&app.get_with(&other, WORKSPACE).await), "/login");
    assert_eq!(location(&replay(&app, &other_cookie, WORKSPACE).await), "/login");
    assert_eq!(location(&replay(&app, &this_cookie, WORKSPACE).await), "/login");
    assert_eq!(app.get(WORKSPACE).await.status(), StatusCode::OK);
    // A notice, with nothing secret in it.
    let notice = app
        .mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject() == "Your Erasure password was changed")
        .await;
    let body = notice.body();
    assert!(body.contains("/password/forgot"), "{body}");
    assert!(!body.contains(NEW_PASSWORD) && !body.contains(OWNER_PASSWORD));
    assert_eq!(app.audited("password.changed"), 1);

    // The new password signs in; the old one does not.
    app.logout().await;
    assert_eq!(
        app.login(OWNER_EMAIL, OWNER_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(location(&app.login(OWNER_EMAIL, NEW_PASSWORD).await), "/");
}

async fn wrong_current_passwords_lock_the_change(backend: Backend) {
    let app = owner_app(backend).await;

    let mut statuses = Vec::new();
    for n in 0..MAX_FAILURES {
        let guess = format!("guessed password number {n}");
        statuses.push(
            change_password(&app, &guess, NEW_PASSWORD, NEW_PASSWORD)
                .await
                .status(),
        );
    }
    let right = change_password(&app, OWNER_PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;

    // The guess that used the last try is told the change is locked.
    let last = statuses.pop();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY),
        "{statuses:?}"
    );
    assert_eq!(last, Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(right.text().await.unwrap().contains("too many failed attempts"));
    assert_eq!(app.audited("password.changed"), 0);
    app.logout().await;
    assert_eq!(location(&app.login(OWNER_EMAIL, OWNER_PASSWORD).await), "/");
}

async fn asking_for_a_link_answers_alike_for_every_address_and_mails_only_an_account(backend: Backend) {
    let app = owner_app(backend).await;
    let hash = erasure::password::hash(OWNER_PASSWORD).unwrap();
    app.sql(&format!(
        "INSERT INTO users (email, name, password_hash, is_owner, recovery_codes, disabled, created_at) \
         VALUES ('gone@example.com', 'Gus Gone', '{hash}', FALSE, '[]', TRUE, '2026-01-01 00:00:00')"
    ));
    app.logout().await;
    let login = app.get_html("/login").await;
    assert!(
        login.contains(r#"href="/password/forgot""#),
        "the sign-in page links to it"
    );
    assert_eq!(app.get("/password/forgot").await.status(), StatusCode::OK);

    let mut answers = Vec::new();
    for email in ["nobody@example.com", "gone@example.com", " Owner@Example.com "] {
        let response = ask_for_link(&app, &app.client, email).await;
        let status = response.status();
        let to = location(&response);
        let page = app.get_html(&to).await;
        answers.push((status, to, page));
    }

    for (status, to, page) in &answers {
        assert_eq!(*status, StatusCode::SEE_OTHER);
        assert_eq!(to, "/password/forgot/sent");
        assert!(page.contains("If an account uses that address, we sent a link"));
    }
    assert_eq!(answers[0].2, answers[2].2, "the same page for an unknown address");
    assert_eq!(answers[1].2, answers[2].2, "the same page for a disabled account");
    let mail = app
        .mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject() == RESET_SUBJECT)
        .await;
    assert!(mail.body().contains("30 minutes"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let recipients: Vec<String> = app.mail.all().iter().flat_map(|m| m.recipients.clone()).collect();
    assert_eq!(
        recipients,
        vec![OWNER_EMAIL.to_owned()],
        "only the account got mail"
    );
    assert_eq!(app.count("password_resets"), 1);
    assert_eq!(app.audited("password.reset_requested"), 1);

    // Not an address at all: said at the field, and nothing is sent.
    let malformed = ask_for_link(&app, &app.client, "not an address").await;
    assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_reset_link_works_once_and_ends_every_session(backend: Backend) {
    let app = owner_app(backend).await;
    let (laptop, laptop_cookie) = second_browser(&app).await;
    let browser = new_client();
    ask_for_link(&app, &browser, OWNER_EMAIL).await;
    let token = nth_reset_token(&app, OWNER_EMAIL, 1).await;

    // Only a keyed digest of the token is stored.
    let stored = app.texts("SELECT token_digest || '|' || client_digest AS t FROM password_resets");
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&token), "the token itself is stored");
    assert!(!stored[0].contains("127.0.0.1"), "the client address is stored");

    let form = app.get_with(&browser, &format!("/password/reset/{token}")).await;
    assert_eq!(form.status(), StatusCode::OK);
    let mismatch = set_password_with(&app, &browser, &token, NEW_PASSWORD, "not the same at all").await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let used = set_password_with(&app, &browser, &token, NEW_PASSWORD, NEW_PASSWORD).await;

    assert_eq!(location(&used), "/");
    assert_eq!(app.get_with(&browser, WORKSPACE).await.status(), StatusCode::OK);
    // Every session the person had is over.
    assert_eq!(location(&app.get(WORKSPACE).await), "/login");
    assert_eq!(location(&app.get_with(&laptop, WORKSPACE).await), "/login");
    assert_eq!(location(&replay(&app, &laptop_cookie, WORKSPACE).await), "/login");
    assert_eq!(app.audited("password.reset"), 1);
    // Once only, whoever tries it again; an unknown token answers alike.
    let stranger = new_client();
    assert_gone(app.get_with(&stranger, &format!("/password/reset/{token}")).await).await;
    assert_gone(
        set_password_with(
            &app,
            &stranger,
            &token,
            "yet another long password",
            "yet another long password",
        )
        .await,
    )
    .await;
    assert_gone(
        app.get_with(
            &stranger,
            "/password/reset/NoSuchTokenAtAll0123456789abcdefghijklmnopq",
        )
        .await,
    )
    .await;
    assert_eq!(app.audited("password.reset"), 1);
    // The old password no longer works; the new one does.
    assert_eq!(
        app.login_with(&stranger, OWNER_EMAIL, OWNER_PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        location(&app.login_with(&stranger, OWNER_EMAIL, NEW_PASSWORD).await),
        "/"
    );
}

async fn a_reset_link_expires_after_thirty_minutes_and_a_newer_one_replaces_it(backend: Backend) {
    let app = owner_app(backend).await;
    let browser = new_client();
    ask_for_link(&app, &browser, OWNER_EMAIL).await;
    let first = nth_reset_token(&app, OWNER_EMAIL, 1).await;
    let (created, expires): (NaiveDateTime, NaiveDateTime) = {
        use diesel::prelude::*;
        use erasure::db::schema::password_resets;
        let mut pooled = app.db();
        let conn: &mut erasure::db::DbConnection = &mut pooled;
        password_resets::table
            .select((password_resets::created_at, password_resets::expires_at))
            .first(conn)
            .expect("the link's row")
    };
    assert_eq!(expires - created, chrono::Duration::minutes(30));

    // Asking again: the older link stops working, the newer one works.
    ask_for_link(&app, &browser, OWNER_EMAIL).await;
    let second = nth_reset_token(&app, OWNER_EMAIL, 2).await;
    assert_ne!(first, second);
    assert_gone(app.get_with(&browser, &format!("/password/reset/{first}")).await).await;
    assert_eq!(
        app.get_with(&browser, &format!("/password/reset/{second}"))
            .await
            .status(),
        StatusCode::OK
    );

    // Thirty-one minutes later it has expired.
    app.sql(
        "UPDATE password_resets SET created_at = '2000-01-01 12:00:00', expires_at = '2000-01-01 12:30:00'",
    );
    assert_gone(app.get_with(&browser, &format!("/password/reset/{second}")).await).await;
    assert_gone(set_password_with(&app, &browser, &second, NEW_PASSWORD, NEW_PASSWORD).await).await;
    assert_eq!(app.audited("password.reset"), 0);
    app.logout().await;
    assert_eq!(location(&app.login(OWNER_EMAIL, OWNER_PASSWORD).await), "/");
}

async fn with_two_step_sign_in_on_a_reset_still_asks_for_the_authenticator_code(backend: Backend) {
    let app = owner_app(backend).await;
    let (secret, _) = app.enable_totp(OWNER_EMAIL);
    let browser = new_client();
    ask_for_link(&app, &browser, OWNER_EMAIL).await;
    let token = nth_reset_token(&app, OWNER_EMAIL, 1).await;

    let used = set_password_with(&app, &browser, &token, NEW_PASSWORD, NEW_PASSWORD).await;

    assert_eq!(location(&used), "/login/totp");
    assert_eq!(
        location(&app.get_with(&browser, WORKSPACE).await),
        "/login",
        "not signed in yet"
    );
    assert_eq!(
        location(&app.get(WORKSPACE).await),
        "/login",
        "the old session is over"
    );
    let wrong = app
        .post_form_with(&browser, "/login/totp", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let code = erasure::totp::code_at(&secret, now()).unwrap();
    let right = app
        .post_form_with(&browser, "/login/totp", &[("code", &code)])
        .await;
    assert_eq!(location(&right), "/");
    assert_eq!(app.get_with(&browser, WORKSPACE).await.status(), StatusCode::OK);
}

/// Whoever reads the account's mail may sign in with the password they just set, even
/// when someone's guesses locked the account name.
async fn a_reset_lifts_the_lock_on_the_account_name(backend: Backend) {
    let app = owner_app(backend).await;
    app.logout().await;
    let guesser = new_client();
    for n in 0..5 {
        app.login_with(&guesser, OWNER_EMAIL, &format!("a guessed password {n}"))
            .await;
    }
    assert_eq!(
        app.login(OWNER_EMAIL, OWNER_PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    ask_for_link(&app, &app.client, OWNER_EMAIL).await;
    let token = nth_reset_token(&app, OWNER_EMAIL, 1).await;

    let used = set_password_with(&app, &app.client, &token, NEW_PASSWORD, NEW_PASSWORD).await;

    assert_eq!(location(&used), "/");
    app.logout().await;
    assert_eq!(location(&app.login(OWNER_EMAIL, NEW_PASSWORD).await), "/");
}

async fn the_fourth_link_asked_for_within_the_window_is_not_mailed(backend: Backend) {
    let app = owner_app(backend).await;
    app.logout().await;

    let mut answers = Vec::new();
    for _ in 0..4 {
        let response = ask_for_link(&app, &app.client, OWNER_EMAIL).await;
        answers.push((response.status(), location(&response)));
    }

    for answer in &answers {
        assert_eq!(
            answer,
            &(StatusCode::SEE_OTHER, "/password/forgot/sent".to_owned())
        );
    }
    app.mail
        .wait_for(|_| reset_mails_to(&app, OWNER_EMAIL).len() >= 3)
        .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        reset_mails_to(&app, OWNER_EMAIL).len(),
        3,
        "the fourth was not sent"
    );
    assert_eq!(app.count("password_resets"), 3);
    // Only the newest link works.
    let mut open = 0;
    for mail in reset_mails_to(&app, OWNER_EMAIL) {
        let answer = app.get(&format!("/password/reset/{}", token_in(&mail))).await;
        match answer.status() {
            StatusCode::OK => open += 1,
            _ => assert_gone(answer).await,
        }
    }
    assert_eq!(open, 1, "one link works");
    // The window passes: a link is sent again.
    app.sql(
        "UPDATE password_resets SET created_at = '2000-01-01 12:00:00', expires_at = '2000-01-01 12:30:00'",
    );
    ask_for_link(&app, &app.client, OWNER_EMAIL).await;
    app.mail
        .wait_for(|_| reset_mails_to(&app, OWNER_EMAIL).len() >= 4)
        .await;
}
