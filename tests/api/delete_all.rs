//! Delete all: the owner's one-time code, then confirmation on screen and by email.

use reqwest::StatusCode;

use crate::helpers::arrange::{add_user_with_role, NewPerson};
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    the_owner_deletes_everything_with_the_mailed_code,
    an_admin_asks_and_the_code_goes_to_the_owner,
    wrong_codes_lock_the_challenge_and_expired_or_used_codes_are_refused,
    a_code_is_bound_to_its_session_and_workspace,
    the_owner_may_use_an_authenticator_code_once,
    the_typed_name_must_match_and_sending_is_rate_limited,
    someone_without_the_permission_sees_no_button_and_gets_403,
);

const WS: &str = "/w/acme-shop";

fn insert_customers(app: &TestApp, workspace_id: i64, count: usize, prefix: &str) {
    for n in 0..count {
        NewPerson::new(&format!("{prefix}-{n}"))
            .workspace(workspace_id)
            .email(&format!("{prefix}{n}@example.com"))
            .event("seen", serde_json::json!({}))
            .insert(app);
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

/// An owner's app with a second workspace (id 2) that must never be touched.
async fn arranged(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.sql(
        "INSERT INTO workspaces (name, slug, site_id, identifier_mode, pii_keys, created_at) \
         VALUES ('Other Shop', 'other-shop', 'othersiteid', 'id', '[]', '2026-01-01 00:00:00');
         INSERT INTO memberships (user_id, workspace_id, role_id, created_at) \
         SELECT 1, 2, id, '2026-01-01 00:00:00' FROM roles WHERE builtin = 'owner';",
    );
    insert_customers(&app, 1, 30, "acme");
    insert_customers(&app, 2, 5, "other");
    app
}

fn add_user(app: &TestApp, email: &str, role: &str) {
    add_user_with_role(app, email, "a long enough password", role);
}

/// The six digits in the newest code mail to `to`.
async fn code_sent_to(app: &TestApp, to: &str, nth: usize) -> String {
    let mail = app
        .mail
        .wait_for(|m| {
            m.is_to(to)
                && m.subject().starts_with("Code to delete all")
                && app
                    .mail
                    .all()
                    .iter()
                    .filter(|x| x.is_to(to) && x.subject().starts_with("Code"))
                    .count()
                    > nth
        })
        .await;
    let codes: Vec<String> = app
        .mail
        .all()
        .into_iter()
        .filter(|m| m.is_to(to) && m.subject().starts_with("Code to delete all"))
        .map(|m| {
            let body = m.body();
            let line = body
                .lines()
                .find(|l| l.starts_with("Code: "))
                .expect("a code line")
                .to_owned();
            line.trim_start_matches("Code: ").trim().to_owned()
        })
        .collect();
    drop(mail);
    codes[nth].clone()
}

async fn ask_for_code_with(app: &TestApp, client: &reqwest::Client) -> reqwest::Response {
    app.post_form_with(
        client,
        &format!("{WS}/customers/delete-all"),
        &[("workspace_name", WORKSPACE_NAME)],
    )
    .await
}

async fn enter_code_with(app: &TestApp, client: &reqwest::Client, code: &str) -> reqwest::Response {
    app.post_form_with(
        client,
        &format!("{WS}/customers/delete-all/confirm"),
        &[("code", code)],
    )
    .await
}

async fn wait_for_job(app: &TestApp, client: &reqwest::Client, job_path: &str) -> serde_json::Value {
    for _ in 0..300 {
        let progress: serde_json::Value = app
            .get_with(client, &format!("{job_path}/progress.json"))
            .await
            .json()
            .await
            .unwrap();
        if progress["finished"] == true {
            return progress;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the delete-all job did not finish");
}

async fn the_owner_deletes_everything_with_the_mailed_code(backend: Backend) {
    let app = arranged(backend).await;
    let page = app.get_html(&format!("{WS}/customers/delete-all")).await;
    assert!(
        page.contains("30 customers") && page.contains("30 events"),
        "the page states what will go"
    );

    let sent = ask_for_code_with(&app, &app.client).await;
    assert_eq!(location(&sent), format!("{WS}/customers/delete-all/confirm"));
    let code = code_sent_to(&app, OWNER_EMAIL, 0).await;
    let mail = app
        .mail
        .all()
        .into_iter()
        .find(|m| m.subject().starts_with("Code"))
        .unwrap();
    assert!(
        mail.body().contains(OWNER_NAME)
            && mail.body().contains(WORKSPACE_NAME)
            && mail.body().contains("30 customers")
    );
    let accepted = enter_code_with(&app, &app.client, &code).await;
    let job = location(&accepted);
    assert!(job.starts_with(&format!("{WS}/jobs/")), "{job}");
    let result = wait_for_job(&app, &app.client, &job).await;

    assert_eq!(result["state"], "done");
    assert_eq!(result["done"], 30);
    assert_eq!(count_where(&app, "customers", "workspace_id = 1"), 0);
    assert_eq!(count_where(&app, "events", "workspace_id = 1"), 0);
    assert_eq!(
        count_where(&app, "customers", "workspace_id = 2"),
        5,
        "other workspaces untouched"
    );
    assert_eq!(count_where(&app, "events", "workspace_id = 2"), 5);
    let screen = app.get_html(&job).await;
    assert!(
        screen.contains("Previewed 30, deleted 30"),
        "the confirmation on screen"
    );
    let confirmation = app
        .mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject().starts_with("All customers of"))
        .await;
    assert!(confirmation.body().contains("/receipts/rcpt_"));
    for action in ["code.sent", "code.accepted", "job.started", "job.finished"] {
        assert_eq!(
            count_where(&app, "audit_log", &format!("action = '{action}'")),
            1,
            "{action}"
        );
    }
    assert_eq!(
        count_where(&app, "audit_log", &format!("details LIKE '%{code}%'")),
        0,
        "no code in the audit log"
    );
}

async fn an_admin_asks_and_the_code_goes_to_the_owner(backend: Backend) {
    let app = arranged(backend).await;
    add_user(&app, "admin@example.com", "admin");
    let admin = new_client();
    app.login_with(&admin, "admin@example.com", "a long enough password")
        .await;

    ask_for_code_with(&app, &admin).await;
    let code = code_sent_to(&app, OWNER_EMAIL, 0).await;
    assert!(
        !app.mail.all().iter().any(|m| m.is_to("admin@example.com")),
        "the admin gets no code"
    );
    let accepted = app
        .post_form_with(
            &admin,
            &format!("{WS}/customers/delete-all/confirm"),
            &[("code", &code), ("suppress", "on")],
        )
        .await;
    let job = location(&accepted);
    wait_for_job(&app, &admin, &job).await;

    assert_eq!(count_where(&app, "customers", "workspace_id = 1"), 0);
    assert_eq!(
        count_where(&app, "suppressions", "workspace_id = 1"),
        30,
        "every deleted id is suppressed"
    );
    app.mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject().starts_with("All customers of"))
        .await;
    app.mail
        .wait_for(|m| m.is_to("admin@example.com") && m.subject().starts_with("All customers of"))
        .await;
}

async fn wrong_codes_lock_the_challenge_and_expired_or_used_codes_are_refused(backend: Backend) {
    let app = arranged(backend).await;
    ask_for_code_with(&app, &app.client).await;
    let code = code_sent_to(&app, OWNER_EMAIL, 0).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };

    for left in (1..5).rev() {
        let response = enter_code_with(&app, &app.client, wrong).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains(&format!("{left} attempt")));
    }
    let fifth = enter_code_with(&app, &app.client, wrong).await;
    assert!(fifth.text().await.unwrap().contains("no longer works"));
    let right_but_locked = enter_code_with(&app, &app.client, &code).await;
    assert_eq!(right_but_locked.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count_where(&app, "customers", "workspace_id = 1"), 30);
    assert_eq!(count_where(&app, "audit_log", "action = 'code.failed'"), 5);

    // Expired: move the clock by moving the expiry.
    ask_for_code_with(&app, &app.client).await;
    let second = code_sent_to(&app, OWNER_EMAIL, 1).await;
    app.sql("UPDATE otp_challenges SET expires_at = '2000-01-01 00:00:00'");
    let expired = enter_code_with(&app, &app.client, &second).await;
    assert!(expired.text().await.unwrap().contains("expired"));
    assert_eq!(count_where(&app, "customers", "workspace_id = 1"), 30);

    // Used: a code works once.
    ask_for_code_with(&app, &app.client).await;
    let third = code_sent_to(&app, OWNER_EMAIL, 2).await;
    let job = location(&enter_code_with(&app, &app.client, &third).await);
    wait_for_job(&app, &app.client, &job).await;
    insert_customers(&app, 1, 3, "later");
    let reused = enter_code_with(&app, &app.client, &third).await;
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count_where(&app, "customers", "workspace_id = 1"), 3);
}

async fn a_code_is_bound_to_its_session_and_workspace(backend: Backend) {
    let app = arranged(backend).await;
    ask_for_code_with(&app, &app.client).await;
    let code = code_sent_to(&app, OWNER_EMAIL, 0).await;

    // The same owner in another browser session cannot use it.
    let other_session = new_client();
    app.login_with(&other_session, OWNER_EMAIL, OWNER_PASSWORD).await;
    let elsewhere = enter_code_with(&app, &other_session, &code).await;
    assert_eq!(elsewhere.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Nor for another workspace, even in the same session.
    let other_workspace = app
        .post_form(
            "/w/other-shop/customers/delete-all/confirm",
            &[("code", code.as_str())],
        )
        .await;
    assert_eq!(other_workspace.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count_where(&app, "customers", "1 = 1"), 35);
    // In its own session and workspace it still works.
    let job = location(&enter_code_with(&app, &app.client, &code).await);
    assert!(job.contains("/jobs/"));
}

async fn the_owner_may_use_an_authenticator_code_once(backend: Backend) {
    let app = arranged(backend).await;
    let secret = erasure::totp::new_secret();
    app.sql(&format!(
        "UPDATE users SET totp_secret = '{secret}' WHERE is_owner = TRUE"
    ));
    let now = chrono::Utc::now().timestamp() as u64;
    let totp = erasure::totp::code_at(&secret, now).unwrap();

    ask_for_code_with(&app, &app.client).await;
    let job = location(&enter_code_with(&app, &app.client, &totp).await);
    assert!(job.contains("/jobs/"), "the authenticator code is accepted");
    wait_for_job(&app, &app.client, &job).await;

    insert_customers(&app, 1, 2, "again");
    ask_for_code_with(&app, &app.client).await;
    let replayed = enter_code_with(&app, &app.client, &totp).await;
    assert_eq!(
        replayed.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a replayed authenticator code is refused"
    );
    assert_eq!(count_where(&app, "customers", "workspace_id = 1"), 2);
}

async fn the_typed_name_must_match_and_sending_is_rate_limited(backend: Backend) {
    let app = arranged(backend).await;

    let wrong_name = app
        .post_form(
            &format!("{WS}/customers/delete-all"),
            &[("workspace_name", "acme shop")],
        )
        .await;
    assert_eq!(wrong_name.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong_name.text().await.unwrap().contains("not this workspace"));
    assert!(app.mail.all().is_empty());

    for _ in 0..3 {
        assert_eq!(
            ask_for_code_with(&app, &app.client).await.status(),
            StatusCode::SEE_OTHER
        );
    }
    let fourth = ask_for_code_with(&app, &app.client).await;
    assert_eq!(fourth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(fourth.text().await.unwrap().contains("codes were already sent"));
}

async fn someone_without_the_permission_sees_no_button_and_gets_403(backend: Backend) {
    let app = arranged(backend).await;
    add_user(&app, "member@example.com", "member");
    let member = new_client();
    app.login_with(&member, "member@example.com", "a long enough password")
        .await;

    let list = app.get_html_with(&member, &format!("{WS}/customers")).await;
    assert!(!list.contains("delete-all"));
    assert!(
        app.get_html(&format!("{WS}/customers"))
            .await
            .contains("delete-all"),
        "the owner sees it"
    );
    assert_eq!(
        app.get_with(&member, &format!("{WS}/customers/delete-all"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ask_for_code_with(&app, &member).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        enter_code_with(&app, &member, "123456").await.status(),
        StatusCode::FORBIDDEN
    );
    assert!(app.mail.all().is_empty());
}
