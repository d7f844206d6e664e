//! Passwords: changing one's own on the Security page.

use erasure::store::login_throttles::MAX_FAILURES;
use reqwest::{Response, StatusCode};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    changing_the_password_needs_the_current_one_and_ends_every_other_session,
    wrong_current_passwords_lock_the_change,
);

const NEW_PASSWORD: &str = "a brand new passphrase for olivia";
const WORKSPACE: &str = "/w/acme-shop/customers";

fn number(app: &TestApp, sql: &str) -> i64 {
    use diesel::sql_types::BigInt;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct One {
        #[diesel(sql_type = BigInt)]
        v: i64,
    }
    let mut conn = app.db();
    diesel::sql_query(format!("SELECT CAST(v AS BIGINT) AS v FROM ({sql}) AS q"))
        .get_result::<One>(&mut **conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .v
}

fn audited(app: &TestApp, action: &str) -> i64 {
    number(
        app,
        &format!("SELECT COUNT(*) AS v FROM audit_log WHERE action = '{action}'"),
    )
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
    assert_eq!(audited(&app, "password.changed"), 0);
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
    assert_eq!(audited(&app, "password.changed"), 1);

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
    assert_eq!(audited(&app, "password.changed"), 0);
    app.logout().await;
    assert_eq!(location(&app.login(OWNER_EMAIL, OWNER_PASSWORD).await), "/");
}
