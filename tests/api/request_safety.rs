use reqwest::StatusCode;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_form_without_its_token_is_refused,
    a_form_with_a_wrong_token_is_refused,
    a_cross_site_request_is_refused_even_with_the_token,
    security_headers_are_on_pages_and_error_pages,
    an_internal_error_shows_the_error_page_without_internals,
    wrong_methods_and_oversized_forms_get_clean_errors,
);

async fn a_form_without_its_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.get("/setup").await;

    let response = app
        .post_raw(
            "/setup",
            &[
                ("name", "A"),
                ("email", "a@example.com"),
                ("password", "long enough password"),
                ("password_confirm", "long enough password"),
                ("workspace", "W"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("users"), 0);
}

async fn a_form_with_a_wrong_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;

    let response = app
        .post_raw(
            "/settings/security/sign-out-everywhere",
            &[("csrf_token", "forged")],
        )
        .await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("/w/{WORKSPACE_SLUG}/customers")).await.status(),
        StatusCode::OK,
        "still signed in"
    );
}

async fn a_cross_site_request_is_refused_even_with_the_token(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let token = app.csrf_token().await;

    let by_fetch_metadata = app
        .client
        .post(app.url("/logout"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    let by_origin = app
        .client
        .post(app.url("/logout"))
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();

    assert_eq!(by_fetch_metadata.status(), StatusCode::FORBIDDEN);
    assert_eq!(by_origin.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("/w/{WORKSPACE_SLUG}/customers")).await.status(),
        StatusCode::OK,
        "still signed in"
    );
    let same_origin = app
        .client
        .post(app.url("/logout"))
        .header("origin", app.address.clone())
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), StatusCode::SEE_OTHER);
}

fn assert_security_headers(response: &reqwest::Response) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("img-src 'self' data:"), "{csp}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(!header("referrer-policy").is_empty());
    assert_eq!(header("cache-control"), "no-store");
}

async fn security_headers_are_on_pages_and_error_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;

    let ok = app.get(&format!("/w/{WORKSPACE_SLUG}/customers")).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_security_headers(&ok);
    let missing = app.get("/no/such/page").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_security_headers(&missing);
    let html = missing.text().await.unwrap();
    assert!(html.contains("Page not found"));
    assert!(
        html.contains("/static/app.css"),
        "the error page is in the layout"
    );
    let other_workspace = app.get("/w/someone-elses/customers").await;
    assert_eq!(other_workspace.status(), StatusCode::NOT_FOUND);
}

async fn an_internal_error_shows_the_error_page_without_internals(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;

    app.sql("ALTER TABLE memberships RENAME TO memberships_gone");
    let response = app.get(&format!("/w/{WORKSPACE_SLUG}/customers")).await;

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_security_headers(&response);
    let html = response.text().await.unwrap();
    assert!(html.contains("Something went wrong"));
    for leak in ["memberships", "SELECT", "diesel", "panicked", "src/"] {
        assert!(!html.contains(leak), "the page shows {leak:?}");
    }
}

async fn wrong_methods_and_oversized_forms_get_clean_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;

    let wrong_method = app
        .client
        .delete(app.url("/settings/security"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong_method.text().await.unwrap().contains("not available"));

    let token = app.csrf_token().await;
    let huge = "x".repeat(200 * 1024);
    let oversized = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", huge.as_str()),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(oversized.text().await.unwrap().contains("too large"));
}
