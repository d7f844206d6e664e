//! Retention policies: a policy made on its settings page archives (or deletes) every
//! day exactly the customers not seen for longer than it says, as an ordinary job with
//! a receipt, skips those under legal hold, finds nothing new the day after, and waits
//! for the account owner when its first run would touch more than a tenth of the
//! workspace.

use chrono::{Duration, NaiveDateTime, Utc};
use reqwest::StatusCode;

use erasure::retention::runs::{RunContext, RunOutcome};
use erasure::retention::schedule::run_and_tell;

use crate::helpers::erasure_paths::wait_for_job;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    an_archive_policy_on_ten_thousand_customers_archives_exactly_those_past_its_days,
    a_first_delete_run_above_a_tenth_of_the_workspace_waits_for_the_owner,
    a_paused_policy_does_not_run_and_wrong_fields_are_named,
);

const WS: &str = "/w/acme-shop";

/// Noon UTC `days` days ago, as SQL text.
fn days_ago(days: i64) -> String {
    let day = Utc::now().date_naive() - Duration::days(days);
    day.and_hms_opt(12, 0, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// [`days_ago`] as a timestamp value where a bare literal would be text (in a CASE on
/// PostgreSQL).
fn timestamp_days_ago(backend: &Backend, days: i64) -> String {
    match backend {
        Backend::Sqlite => format!("'{}'", days_ago(days)),
        _ => format!("TIMESTAMP '{}'", days_ago(days)),
    }
}

/// Runs the due policies as the server's schedule does, and wakes the job runner.
fn run_policies(app: &TestApp) -> Vec<RunOutcome> {
    let context = RunContext {
        secret: app.state.secret.clone(),
        journal: app.state.journal.clone(),
    };
    let mut conn = app.db();
    let outcomes = run_and_tell(
        &mut conn,
        &context,
        &app.state.mailer,
        &app.state.settings.public_url,
        now(),
    )
    .expect("the due policies run");
    app.state.jobs.wake();
    outcomes
}

fn now() -> NaiveDateTime {
    erasure::store::now()
}

/// Makes every policy due, as a day passing would.
fn make_due(app: &TestApp) {
    app.sql("UPDATE retention_policies SET next_run_at = '2000-01-01 00:00:00'");
}

async fn add_policy(app: &TestApp, fields: &[(&str, &str)]) -> i64 {
    let added = app.post_form(&format!("{WS}/settings/retention"), fields).await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let id = app.number("SELECT MAX(id) AS v FROM retention_policies");
    assert_eq!(location(&added), format!("{WS}/settings/retention/{id}"));
    id
}

async fn an_archive_policy_on_ten_thousand_customers_archives_exactly_those_past_its_days(backend: Backend) {
    let at = |days| timestamp_days_ago(&backend, days);
    let app = spawn_app(backend.clone()).await;
    app.setup_owner().await;
    // 10,000 customers in one statement: per hundred, five last seen 400 days ago and
    // four 366 days ago (past 365 days: 900 in all), one 364 days ago, ninety 10 days
    // ago.
    app.sql(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) \
         INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         SELECT 1, 'r-' || i, 'NL', '{{}}', '2020-01-01 00:00:00', \
           CASE WHEN i % 100 < 5 THEN {old} WHEN i % 100 < 9 THEN {past} WHEN i % 100 = 9 THEN {near} ELSE {recent} END \
         FROM n",
        old = at(400),
        past = at(366),
        near = at(364),
        recent = at(10),
    ));
    assert_eq!(app.count("customers"), 10_000);
    // Five of the old ones and two recent ones are under legal hold; three old ones
    // were archived before.
    app.sql(
        "UPDATE customers SET legal_hold_reason = 'litigation' \
         WHERE external_id IN ('r-100', 'r-200', 'r-301', 'r-402', 'r-507', 'r-50', 'r-60')",
    );
    app.sql(
        "UPDATE customers SET archived_at = '2026-01-01 00:00:00' \
         WHERE external_id IN ('r-1000', 'r-2000', 'r-3000')",
    );
    let past_and_free = 900 - 3 - 5;

    let policy = add_policy(&app, &[("action", "archive"), ("days", "365")]).await;
    let page = app.get_html(&format!("{WS}/settings/retention/{policy}")).await;
    assert!(
        page.contains("data-next-count=\"897\""),
        "the page shows what the next run would touch"
    );
    assert!(page.contains("legal hold"), "and says held customers are skipped");
    assert!(
        page.contains("10%"),
        "and that a big first run waits for the owner"
    );
    assert!(page.contains("cio_"), "with the first of them by internal id");

    let outcomes = run_policies(&app);
    let [RunOutcome::Started {
        job_id, customers, ..
    }] = outcomes.as_slice()
    else {
        panic!("one job started: {outcomes:?}");
    };
    assert_eq!(*customers, 897);
    wait_for_job(&app, &format!("{WS}/jobs/{job_id}")).await;

    assert_eq!(
        app.number("SELECT COUNT(*) AS v FROM customers WHERE archived_at IS NOT NULL"),
        (past_and_free + 3) as i64,
        "exactly those past the threshold and not held, besides those archived before"
    );
    assert_eq!(
        app.number(&format!(
            "SELECT COUNT(*) AS v FROM customers WHERE archived_at IS NOT NULL AND last_seen_at > '{}'",
            days_ago(365)
        )),
        0,
        "nobody seen within the days"
    );
    assert_eq!(
        app.number(
            "SELECT COUNT(*) AS v FROM customers WHERE legal_hold_reason IS NOT NULL AND archived_at IS NULL"
        ),
        7,
        "held customers are untouched"
    );
    assert_eq!(
        app.number(&format!("SELECT skipped_held AS v FROM jobs WHERE id = {job_id}")),
        5
    );
    assert_eq!(
        app.number(&format!("SELECT done AS v FROM jobs WHERE id = {job_id}")),
        past_and_free as i64
    );

    // The job is in the list, says which policy it is, and has its receipt.
    let jobs = app.get_html(&format!("{WS}/jobs")).await;
    assert!(
        jobs.contains(&format!("Retention policy #{policy}")),
        "the job list names the policy"
    );
    let receipt = app.texts(&format!("SELECT receipt_id AS t FROM jobs WHERE id = {job_id}"));
    let receipt_page = app.get(&format!("{WS}/receipts/{}", receipt[0])).await;
    assert_eq!(receipt_page.status(), StatusCode::OK);
    assert!(receipt_page
        .text()
        .await
        .unwrap()
        .contains(&format!("Retention policy #{policy}")));
    assert_eq!(app.audited("job.started"), 1, "the run is audited");
    assert_eq!(app.audited("job.finished"), 1);
    let page = app.get_html(&format!("{WS}/settings/retention/{policy}")).await;
    assert!(
        page.contains(&format!("{WS}/jobs/{job_id}")),
        "the policy links its last run"
    );
    assert!(
        page.contains(&format!("{WS}/receipts/{}", receipt[0])),
        "and its receipt"
    );
    assert!(
        page.contains("data-next-count=\"5\""),
        "only the held ones are left for the next run, which skips them"
    );

    // Not due again today: nothing runs.
    assert!(run_policies(&app).is_empty());
    // The next day's run, from the command line, finds nothing new.
    make_due(&app);
    let (ok, out, err) = app.run_cli(&["retention", "run"]);
    assert!(ok, "{err}");
    assert!(out.contains("nothing new"), "{out}");
    assert_eq!(app.count("jobs"), 1, "no new job");
    assert_eq!(
        app.number("SELECT COUNT(*) AS v FROM customers WHERE archived_at IS NOT NULL"),
        (past_and_free + 3) as i64
    );
    assert!(
        app.number("SELECT COUNT(*) AS v FROM retention_policies WHERE next_run_at > last_run_at") == 1,
        "the next run is a day later"
    );
}

async fn a_first_delete_run_above_a_tenth_of_the_workspace_waits_for_the_owner(backend: Backend) {
    let at = |days| timestamp_days_ago(&backend, days);
    let app = spawn_app(backend.clone()).await;
    app.setup_owner().await;
    // 100 customers, 20 of them not seen for 400 days: a fifth of the workspace.
    app.sql(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) \
         INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         SELECT 1, 'd-' || i, 'DE', '{{}}', '2020-01-01 00:00:00', \
           CASE WHEN i <= 20 THEN {old} ELSE {recent} END FROM n",
        old = at(400),
        recent = at(2),
    ));
    let policy = add_policy(&app, &[("action", "delete"), ("days", "30"), ("country", "de")]).await;

    let outcomes = run_policies(&app);
    let [RunOutcome::WaitsForOwner {
        job_id, customers, ..
    }] = outcomes.as_slice()
    else {
        panic!("the run waits: {outcomes:?}");
    };
    assert_eq!(*customers, 20);
    assert_eq!(
        app.texts(&format!("SELECT state AS t FROM jobs WHERE id = {job_id}")),
        vec!["preview".to_owned()]
    );
    let mail = app
        .mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject().contains("waits for your confirmation"))
        .await;
    assert!(
        mail.body().contains(&format!("/w/acme-shop/jobs/{job_id}")),
        "{}",
        mail.body()
    );
    assert_eq!(app.count("customers"), 100, "nothing deleted yet");
    let page = app.get_html(&format!("{WS}/settings/retention/{policy}")).await;
    assert!(
        page.contains("waits for the account owner"),
        "the policy page says so"
    );

    // The next day's run makes no second job while the first waits.
    make_due(&app);
    let outcomes = run_policies(&app);
    assert!(
        matches!(outcomes.as_slice(), [RunOutcome::Pending { job_id: waiting, .. }] if waiting == job_id),
        "{outcomes:?}"
    );
    assert_eq!(app.count("jobs"), 1);

    // Plain confirmation is refused: only the owner's code starts it.
    let job = format!("{WS}/jobs/{job_id}");
    app.post_form(&format!("{job}/confirm"), &[]).await;
    assert_eq!(app.count("customers"), 100);
    app.post_form(&format!("{job}/code"), &[]).await;
    let code = app
        .mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject().starts_with("Code to confirm"))
        .await
        .code();
    let started = app
        .post_form(&format!("{job}/code/confirm"), &[("code", code.as_str())])
        .await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    wait_for_job(&app, &job).await;
    assert_eq!(app.count("customers"), 80, "the twenty are deleted");

    // The day after, nothing new, and the owner's confirmation is remembered.
    make_due(&app);
    let outcomes = run_policies(&app);
    assert!(
        matches!(outcomes.as_slice(), [RunOutcome::NothingNew { .. }]),
        "{outcomes:?}"
    );
    assert_eq!(app.count("jobs"), 1);
    assert_eq!(
        app.number("SELECT COUNT(*) AS v FROM retention_policies WHERE confirmed_big_run = TRUE"),
        1
    );
}

async fn a_paused_policy_does_not_run_and_wrong_fields_are_named(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.sql(&format!(
        "INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         VALUES (1, 'p-1', 'NL', '{{}}', '2020-01-01 00:00:00', '{}')",
        days_ago(100)
    ));

    let refused = app
        .post_form(
            &format!("{WS}/settings/retention"),
            &[("action", "archive"), ("days", "0"), ("status", "anonymous")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("from 1 to 3650"), "{html}");
    assert!(html.contains("archived already"), "{html}");
    assert_eq!(app.count("retention_policies"), 0);

    let nav = app.get_html(&format!("{WS}/settings/workspace")).await;
    assert!(
        nav.contains(&format!("{WS}/settings/retention")),
        "the settings nav links it"
    );

    let policy = add_policy(&app, &[("action", "archive"), ("days", "30")]).await;
    let page = format!("{WS}/settings/retention/{policy}");
    app.post_form(&format!("{page}/pause"), &[]).await;
    assert!(run_policies(&app).is_empty(), "a paused policy does not run");
    assert_eq!(app.audited("retention_policy.paused"), 1);

    app.post_form(&format!("{page}/resume"), &[]).await;
    let outcomes = run_policies(&app);
    assert!(
        matches!(
            outcomes.as_slice(),
            [RunOutcome::WaitsForOwner { customers: 1, .. }]
        ),
        "one customer is the whole workspace: the first run waits, {outcomes:?}"
    );

    app.post_form(&format!("{page}/delete"), &[]).await;
    assert_eq!(app.count("retention_policies"), 0);
    assert_eq!(app.count("jobs"), 1, "its job stays");
}
