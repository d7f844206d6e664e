//! Erasing everyone always takes the account owner's code: through "Delete all", and
//! through any bulk erasure whose frozen set is the whole workspace, or larger than the
//! workspace's threshold, whichever button started it.

use reqwest::StatusCode;

use crate::helpers::arrange::{add_user_with_role, insert_crowd, member_with_permissions, NewPerson};
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_role_with_delete_only_cannot_delete_everyone_by_any_bulk_path,
    owners_and_admins_need_the_owners_code_to_delete_everyone_by_any_bulk_path,
    archiving_everyone_needs_the_delete_all_permission_and_the_code,
    a_cohort_above_the_threshold_asks_for_the_code_and_one_below_does_not,
    the_owner_sets_the_threshold_and_nobody_else_may,
    the_code_budget_is_per_person_asking,
    an_authenticator_code_is_refused_once_the_challenge_expired,
);

const WS: &str = "/w/acme-shop";
const PASSWORD: &str = "a long enough password";

/// Ten customers in the workspace, and three in another one that nothing may touch.
async fn arranged(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    insert_crowd(&app, 1, 10, "acme");
    app
}

fn customers_left(app: &TestApp) -> i64 {
    app.count("customers")
}

fn all_ids(app: &TestApp) -> Vec<String> {
    use diesel::prelude::*;
    use erasure::db::schema::customers;
    let mut pooled = app.db();
    let conn: &mut erasure::db::DbConnection = &mut pooled;
    customers::table
        .filter(customers::workspace_id.eq(1))
        .select(customers::id)
        .load::<i64>(conn)
        .expect("the ids")
        .into_iter()
        .map(|id| id.to_string())
        .collect()
}

/// The three ways of choosing everyone on the list: "Delete filtered" with no filter,
/// "select all matching", and every id ticked.
fn everyone_forms(app: &TestApp, intent_prefix: &str) -> Vec<Vec<(String, String)>> {
    let filtered = format!("{intent_prefix}_filtered");
    let selected = format!("{intent_prefix}_selected");
    let mut ticked = vec![("intent".to_owned(), selected.clone())];
    ticked.extend(all_ids(app).into_iter().map(|id| ("ids".to_owned(), id)));
    vec![
        vec![("intent".to_owned(), filtered)],
        vec![
            ("intent".to_owned(), selected),
            ("all_matching".to_owned(), "1".to_owned()),
        ],
        ticked,
    ]
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn a_role_with_delete_only_cannot_delete_everyone_by_any_bulk_path(backend: Backend) {
    let app = arranged(backend).await;
    let deleter = member_with_permissions(
        &app,
        "deleter@example.com",
        "Deleter",
        &["customers.view", "customers.delete"],
    )
    .await;

    for form in everyone_forms(&app, "delete") {
        let preview = app
            .post_form_with(&deleter, &format!("{WS}/customers/bulk"), &pairs(&form))
            .await;
        assert_eq!(preview.status(), StatusCode::FORBIDDEN, "{form:?}");
        // Nothing is left behind to confirm: the preview is dropped.
        let open: i64 = {
            use diesel::prelude::*;
            use erasure::db::schema::jobs;
            let mut pooled = app.db();
            let conn: &mut erasure::db::DbConnection = &mut pooled;
            jobs::table
                .filter(jobs::state.eq("preview"))
                .count()
                .get_result(conn)
                .expect("a count")
        };
        assert_eq!(open, 0, "{form:?}");
    }
    assert_eq!(customers_left(&app), 10);
    assert!(
        !app.mail.all().iter().any(|m| m.subject().starts_with("Code")),
        "no code was sent"
    );
}

async fn owners_and_admins_need_the_owners_code_to_delete_everyone_by_any_bulk_path(backend: Backend) {
    let app = arranged(backend).await;
    add_user_with_role(&app, "admin@example.com", PASSWORD, "admin");
    let admin = new_client();
    app.login_with(&admin, "admin@example.com", PASSWORD).await;

    for client in [&app.client, &admin] {
        for form in everyone_forms(&app, "delete") {
            let preview = app
                .post_form_with(client, &format!("{WS}/customers/bulk"), &pairs(&form))
                .await;
            assert_eq!(preview.status(), StatusCode::SEE_OTHER, "{form:?}");
            let job = location(&preview);
            let page = app.get_html_with(client, &job).await;
            assert!(
                page.contains("This needs the account owner"),
                "the preview says so first"
            );
            assert!(page.contains("this is a delete-all"));
            let confirmed = app.post_form_with(client, &format!("{job}/confirm"), &[]).await;
            assert_eq!(confirmed.status(), StatusCode::FORBIDDEN, "{form:?}");
            assert_eq!(customers_left(&app), 10, "{form:?}");
        }
    }

    // With the owner's code, asked for by the admin, the admin's preview runs.
    let form = everyone_forms(&app, "delete").remove(0);
    let job = location(
        &app.post_form_with(&admin, &format!("{WS}/customers/bulk"), &pairs(&form))
            .await,
    );
    let sent = app.post_form_with(&admin, &format!("{job}/code"), &[]).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let mail = app
        .mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject().starts_with("Code to confirm"))
        .await;
    let code = mail.code();
    let wrong = app
        .post_form_with(&admin, &format!("{job}/code/confirm"), &[("code", "000000")])
        .await;
    assert_eq!(wrong.status(), StatusCode::SEE_OTHER);
    assert_eq!(customers_left(&app), 10, "a wrong code starts nothing");
    let started = app
        .post_form_with(&admin, &format!("{job}/code/confirm"), &[("code", code.as_str())])
        .await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let job_id = job.rsplit('/').next().unwrap_or_default().to_owned();
    // A delete-all is confirmed by mail to the owner and to whoever started it.
    let finished = |to: &'static str| {
        let job_id = job_id.clone();
        move |m: &crate::helpers::smtp::ReceivedMail| {
            m.is_to(to) && m.subject().contains(&format!("job #{job_id}"))
        }
    };
    app.mail.wait_for(finished(OWNER_EMAIL)).await;
    app.mail.wait_for(finished("admin@example.com")).await;
    assert_eq!(customers_left(&app), 0);
}

async fn archiving_everyone_needs_the_delete_all_permission_and_the_code(backend: Backend) {
    let app = arranged(backend).await;
    let archiver = member_with_permissions(
        &app,
        "archiver@example.com",
        "Archiver",
        &["customers.view", "customers.archive"],
    )
    .await;
    let refused = app
        .post_form_with(
            &archiver,
            &format!("{WS}/customers/bulk"),
            &[("intent", "archive_filtered")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let preview = app
        .post_form(&format!("{WS}/customers/bulk"), &[("intent", "archive_filtered")])
        .await;
    let job = location(&preview);
    assert!(app.get_html(&job).await.contains("This needs the account owner"));
    let confirmed = app.post_form(&format!("{job}/confirm"), &[]).await;
    assert_eq!(confirmed.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("customers WHERE archived_at IS NOT NULL"), 0);
}

async fn a_cohort_above_the_threshold_asks_for_the_code_and_one_below_does_not(backend: Backend) {
    let app = arranged(backend).await;
    for n in 0..6 {
        NewPerson::new(&format!("fr-{n}")).country("FR").insert(&app);
    }
    // 6 of 16: below half, and below 10,000.
    let below = location(
        &app.post_form(
            &format!("{WS}/customers/bulk"),
            &[("intent", "delete_filtered"), ("country", "FR")],
        )
        .await,
    );
    assert!(!app
        .get_html(&below)
        .await
        .contains("This needs the account owner"));
    app.post_form(&format!("{below}/discard"), &[]).await;

    // 10 of 16: more than half of the workspace, previewed by an admin.
    add_user_with_role(&app, "admin@example.com", PASSWORD, "admin");
    let admin = new_client();
    app.login_with(&admin, "admin@example.com", PASSWORD).await;
    let above = location(
        &app.post_form_with(
            &admin,
            &format!("{WS}/customers/bulk"),
            &[("intent", "delete_filtered"), ("country", "DE")],
        )
        .await,
    );
    let page = app.get_html_with(&admin, &above).await;
    assert!(page.contains("This needs the account owner"));
    assert!(page.contains("more customers than this workspace lets anyone erase"));
    let confirmed = app.post_form_with(&admin, &format!("{above}/confirm"), &[]).await;
    assert_eq!(confirmed.status(), StatusCode::FORBIDDEN);
    assert_eq!(customers_left(&app), 16);

    // With the owner's code it runs, and its end is confirmed to the owner as well.
    app.post_form_with(&admin, &format!("{above}/code"), &[]).await;
    let mail = app
        .mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject().starts_with("Code to confirm"))
        .await;
    assert!(mail.body().contains("delete 10 customers"), "{}", mail.body());
    let code = mail.code();
    app.post_form_with(
        &admin,
        &format!("{above}/code/confirm"),
        &[("code", code.as_str())],
    )
    .await;
    let job = above.rsplit('/').next().unwrap_or_default().to_owned();
    app.mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject().contains(&format!("job #{job}")))
        .await;
    assert_eq!(customers_left(&app), 6);
}

async fn the_owner_sets_the_threshold_and_nobody_else_may(backend: Backend) {
    let app = arranged(backend).await;
    add_user_with_role(&app, "admin@example.com", PASSWORD, "admin");
    let admin = new_client();
    app.login_with(&admin, "admin@example.com", PASSWORD).await;
    let setting = format!("{WS}/settings/owner-code");

    let refused = app
        .post_form_with(&admin, &setting, &[("threshold", "100000")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let bad = app.post_form(&setting, &[("threshold", "-3")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let set = app.post_form(&setting, &[("threshold", "2")]).await;
    assert_eq!(set.status(), StatusCode::SEE_OTHER);
    assert!(app.get_html(&setting).await.contains("value=\"2\""));

    // 3 of 10 is now above the threshold.
    let ids = all_ids(&app);
    let mut form = vec![("intent", "delete_selected")];
    form.extend(ids.iter().take(3).map(|id| ("ids", id.as_str())));
    let job = location(&app.post_form(&format!("{WS}/customers/bulk"), &form).await);
    assert!(app.get_html(&job).await.contains("This needs the account owner"));

    // Back to the default: 3 of 10 runs without a code.
    app.post_form(&setting, &[("threshold", "")]).await;
    let job = location(&app.post_form(&format!("{WS}/customers/bulk"), &form).await);
    assert!(!app.get_html(&job).await.contains("This needs the account owner"));
}

async fn the_code_budget_is_per_person_asking(backend: Backend) {
    let app = arranged(backend).await;
    add_user_with_role(&app, "admin@example.com", PASSWORD, "admin");
    let admin = new_client();
    app.login_with(&admin, "admin@example.com", PASSWORD).await;
    for _ in 0..3 {
        assert_eq!(ask_for_delete_all_code(&app, &admin).await, StatusCode::SEE_OTHER);
    }
    assert_eq!(
        ask_for_delete_all_code(&app, &admin).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The admin's budget is spent; the owner's is untouched.
    assert_eq!(
        ask_for_delete_all_code(&app, &app.client).await,
        StatusCode::SEE_OTHER
    );
}

async fn ask_for_delete_all_code(app: &TestApp, client: &reqwest::Client) -> StatusCode {
    app.post_form_with(
        client,
        &format!("{WS}/customers/delete-all"),
        &[("workspace_name", WORKSPACE_NAME)],
    )
    .await
    .status()
}

async fn an_authenticator_code_is_refused_once_the_challenge_expired(backend: Backend) {
    let app = arranged(backend).await;
    let secret = erasure::totp::new_secret();
    app.sql(&format!(
        "UPDATE users SET totp_secret = '{secret}' WHERE is_owner = TRUE"
    ));
    let sent = app
        .post_form(
            &format!("{WS}/customers/delete-all"),
            &[("workspace_name", WORKSPACE_NAME)],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    app.sql("UPDATE otp_challenges SET expires_at = '2020-01-01 00:00:00'");
    let totp = erasure::totp::code_at(&secret, chrono::Utc::now().timestamp() as u64).unwrap();
    let refused = app
        .post_form(
            &format!("{WS}/customers/delete-all/confirm"),
            &[("code", totp.as_str())],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("expired"));
    assert_eq!(customers_left(&app), 10);
}
