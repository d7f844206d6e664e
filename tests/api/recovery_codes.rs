//! Recovery codes of two-step sign-in: stored keyed, and replaced on request.

use reqwest::{Response, StatusCode};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    recovery_codes_are_stored_keyed_and_old_plain_ones_still_work_once,
    new_recovery_codes_replace_the_old_ones_and_end_other_sessions,
);

const WORKSPACE: &str = "/w/acme-shop/customers";

fn select_texts(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(selector).unwrap();
    doc.select(&selector)
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

fn now() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

/// The owner set up and signed in with `app.client`.
async fn owner_app(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app
}

/// Signs in with the password and, at the authenticator step, `code`.
async fn sign_in_with_code(app: &TestApp, client: &reqwest::Client, code: &str) -> Response {
    let password_step = app.login_with(client, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(location(&password_step), "/login/totp");
    app.post_form_with(client, "/login/totp", &[("code", code)]).await
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

async fn recovery_codes_are_stored_keyed_and_old_plain_ones_still_work_once(backend: Backend) {
    let app = owner_app(backend).await;
    // Enrolled the way a person does.
    app.post_form("/settings/security/totp/start", &[]).await;
    let page = app.get_html("/settings/security/totp").await;
    let secret = select_texts(&page, "#totp-secret").pop().expect("the secret");
    let enrolled = app
        .post_form(
            "/settings/security/totp/confirm",
            &[("code", &erasure::totp::code_at(&secret, now()).unwrap())],
        )
        .await;
    let codes = select_texts(&enrolled.text().await.unwrap(), ".recovery-codes code");
    assert_eq!(codes.len(), 10);

    let stored = app
        .texts(&format!(
            "SELECT recovery_codes AS t FROM users WHERE email = '{OWNER_EMAIL}'"
        ))
        .remove(0);
    for code in &codes {
        let plain: String = code.chars().filter(char::is_ascii_alphanumeric).collect();
        assert!(
            !stored.contains(&sha256_hex(&plain)) && !stored.contains(&sha256_hex(code)),
            "a plain hash of {code} is stored: {stored}"
        );
        assert!(!stored.contains(&plain), "the code itself is stored");
    }
    let entries: Vec<String> = serde_json::from_str(&stored).unwrap();
    assert_eq!(entries.len(), 10);

    // Codes stored before they were keyed (a plain hash) still work, once each.
    let legacy = "4f7q-9x2m";
    app.sql(&format!(
        "UPDATE users SET recovery_codes = '[\"{}\"]' WHERE email = '{OWNER_EMAIL}'",
        sha256_hex("4f7q9x2m")
    ));
    let accepted = sign_in_with_code(&app, &new_client(), legacy).await;
    assert_eq!(location(&accepted), "/");
    let reused = sign_in_with_code(&app, &new_client(), legacy).await;
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);
}

async fn new_recovery_codes_replace_the_old_ones_and_end_other_sessions(backend: Backend) {
    let app = owner_app(backend).await;
    let (secret, old_codes) = app.enable_totp(OWNER_EMAIL);
    let other = new_client();
    let signed_in = sign_in_with_code(&app, &other, &old_codes[0]).await;
    assert_eq!(location(&signed_in), "/");
    let regenerate = "/settings/security/recovery-codes";
    let current = erasure::totp::code_at(&secret, now()).unwrap();

    // The password and an authenticator code are both needed; a recovery code is no
    // authenticator code.
    for fields in [
        [
            ("password", "not the password at all"),
            ("code", current.as_str()),
        ],
        [("password", OWNER_PASSWORD), ("code", "000000")],
        [("password", OWNER_PASSWORD), ("code", old_codes[1].as_str())],
    ] {
        let refused = app.post_form(regenerate, &fields).await;
        assert_eq!(location(&refused), "/settings/security");
        let page = app.get_html("/settings/security").await;
        assert!(page.contains("Your recovery codes were not changed"), "{page}");
    }
    assert_eq!(app.audited("totp.recovery_codes_regenerated"), 0);

    let made = app
        .post_form(regenerate, &[("password", OWNER_PASSWORD), ("code", &current)])
        .await;

    assert_eq!(made.status(), StatusCode::OK);
    let new_codes = select_texts(&made.text().await.unwrap(), ".recovery-codes code");
    assert_eq!(new_codes.len(), 10, "ten new codes, shown once");
    assert!(new_codes.iter().all(|c| !old_codes.contains(c)));
    assert_eq!(app.audited("totp.recovery_codes_regenerated"), 1);
    // Other sessions are over; this one goes on.
    assert_eq!(location(&app.get_with(&other, WORKSPACE).await), "/login");
    assert_eq!(app.get(WORKSPACE).await.status(), StatusCode::OK);
    assert!(app
        .get_html("/settings/security")
        .await
        .contains("10 recovery codes left"));
    // The same authenticator code cannot make another set.
    let replayed = app
        .post_form(regenerate, &[("password", OWNER_PASSWORD), ("code", &current)])
        .await;
    assert_eq!(location(&replayed), "/settings/security");
    assert_eq!(app.audited("totp.recovery_codes_regenerated"), 1);

    // An old code no longer signs in; a new one does, once.
    let old = sign_in_with_code(&app, &new_client(), &old_codes[2]).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = sign_in_with_code(&app, &new_client(), &new_codes[0]).await;
    assert_eq!(location(&new), "/");
    let again = sign_in_with_code(&app, &new_client(), &new_codes[0]).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}
