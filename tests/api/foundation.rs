use reqwest::StatusCode;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_fresh_database_is_migrated_and_healthy,
    the_root_leads_to_setup_then_to_sign_in_then_to_the_workspace,
    setup_creates_the_owner_once_and_is_gone_afterwards,
    setup_shows_each_error_next_to_its_field_and_creates_nothing,
    setup_refuses_a_common_password_or_one_made_of_the_owner_s_own_words,
    mail_reaches_the_smtp_listener,
    without_smtp_mail_is_written_to_the_outbox,
);

async fn a_fresh_database_is_migrated_and_healthy(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
    // The built-in roles come with the schema.
    assert_eq!(app.count("roles"), 4);
    for table in [
        "workspaces",
        "users",
        "customers",
        "events",
        "suppressions",
        "jobs",
        "job_targets",
        "otp_challenges",
        "audit_log",
        "sessions",
        "api_keys",
        "invitations",
        "memberships",
    ] {
        assert_eq!(app.count(table), 0, "{table} starts empty");
    }
}

async fn the_root_leads_to_setup_then_to_sign_in_then_to_the_workspace(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(location(&app.get("/").await), "/setup");
    assert_eq!(location(&app.get("/login").await), "/setup");

    app.setup_owner().await;
    assert_eq!(
        location(&app.get("/").await),
        format!("/w/{WORKSPACE_SLUG}/customers")
    );

    let stranger = new_client();
    assert_eq!(location(&app.get_with(&stranger, "/").await), "/login");
    let page = app
        .get_with(&stranger, &format!("/w/{WORKSPACE_SLUG}/customers"))
        .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&page), "/login");
}

async fn setup_creates_the_owner_once_and_is_gone_afterwards(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app.setup_owner().await;

    assert_eq!(location(&response), format!("/w/{WORKSPACE_SLUG}/customers"));
    let page = app.get_html(&format!("/w/{WORKSPACE_SLUG}/customers")).await;
    assert!(page.contains("Customers"));
    assert!(page.contains(OWNER_NAME));
    assert_eq!(app.count("users"), 1);
    assert_eq!(app.count("workspaces"), 1);
    assert_eq!(app.count("memberships"), 1);
    assert_eq!(app.get("/setup").await.status(), StatusCode::NOT_FOUND);
    let second = app
        .post_form(
            "/setup",
            &[
                ("name", "Mallory"),
                ("email", "m@example.com"),
                ("password", "another long password"),
                ("password_confirm", "another long password"),
                ("workspace", "Evil"),
            ],
        )
        .await;
    assert_eq!(second.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count("users"), 1);
}

async fn setup_shows_each_error_next_to_its_field_and_creates_nothing(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app
        .post_form(
            "/setup",
            &[
                ("name", ""),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirm", "short"),
                ("workspace", "<script>alert(1)</script>"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("enter your name"));
    assert!(page.contains("does not look like an email address"));
    assert!(page.contains("at least 12 characters"));
    assert!(
        !page.contains("<script>alert(1)</script>"),
        "what was typed is escaped"
    );
    assert!(page.contains("&lt;script&gt;") || page.contains("&#60;script&#62;"));
    assert_eq!(app.count("users"), 0);
}

async fn mail_reaches_the_smtp_listener(backend: Backend) {
    let app = spawn_app(backend).await;

    app.state
        .mailer
        .send(erasure::mail::OutgoingMail {
            to: "someone@example.com".into(),
            subject: "Hello".into(),
            body: "A line of text.".into(),
        })
        .await
        .expect("delivered");

    let mail = app.mail.wait_for(|m| m.is_to("someone@example.com")).await;
    assert_eq!(mail.subject(), "Hello");
    assert!(mail.body().contains("A line of text."));
}

async fn without_smtp_mail_is_written_to_the_outbox(backend: Backend) {
    let app = spawn_app_with(backend, Box::new(|settings| settings.smtp_url = None)).await;

    app.state
        .mailer
        .send(erasure::mail::OutgoingMail {
            to: "someone@example.com".into(),
            subject: "Your code".into(),
            body: "Code: 123456".into(),
        })
        .await
        .expect("written");

    let outbox = app.data_dir.join("outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .expect("an outbox folder")
        .flatten()
        .collect();
    assert_eq!(files.len(), 1);
    let contents = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(contents.contains("Subject: Your code"));
    assert!(contents.contains("Code: 123456"));
    assert!(app.mail.all().is_empty(), "nothing went over SMTP");
}

async fn setup_refuses_a_common_password_or_one_made_of_the_owner_s_own_words(backend: Backend) {
    let app = spawn_app(backend).await;
    for weak in ["password1234", "oliviaowner2024", "acmeshop12345"] {
        let response = app
            .post_form(
                "/setup",
                &[
                    ("name", "Olivia Owner"),
                    ("email", "olivia@example.com"),
                    ("password", weak),
                    ("password_confirm", weak),
                    ("workspace", "Acme Shop"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
        assert!(
            response.text().await.unwrap().contains("too easy to guess"),
            "{weak}"
        );
    }
    assert_eq!(app.count("users"), 0);
}
