use reqwest::StatusCode;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    sign_ins_and_refusals_are_in_the_audit_log,
    verify_reports_an_intact_chain_an_altered_entry_and_a_gap,
    exports_stream_the_filtered_log_with_formulas_neutralized,
    a_member_cannot_read_the_audit_log,
);

const AUDIT: &str = "/w/acme-shop/audit";

fn add_member(app: &TestApp, email: &str, password: &str) {
    let hash = erasure::password::hash(password).unwrap();
    app.sql(&format!(
        "INSERT INTO users (email, name, password_hash, is_owner, recovery_codes, disabled, created_at) \
         VALUES ('{email}', 'Mia Member', '{hash}', FALSE, '[]', FALSE, '2026-01-01 00:00:00');
         INSERT INTO memberships (user_id, workspace_id, role_id, created_at) \
         SELECT u.id, w.id, r.id, '2026-01-01 00:00:00' FROM users u, workspaces w, roles r \
         WHERE u.email = '{email}' AND r.builtin = 'member';"
    ));
}

async fn sign_ins_and_refusals_are_in_the_audit_log(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.logout().await;
    app.login(OWNER_EMAIL, "wrong password entirely").await;
    app.login(OWNER_EMAIL, OWNER_PASSWORD).await;

    let page = app.get_html(AUDIT).await;

    let listed = listed_actions(&page);
    for action in [
        "setup.completed",
        "workspace.created",
        "sign_out",
        "sign_in.failed",
        "sign_in.succeeded",
    ] {
        assert!(
            listed.iter().any(|a| a == action),
            "{action} is listed in {listed:?}"
        );
    }
    let only_failures = listed_actions(&app.get_html(&format!("{AUDIT}?action=sign_in.failed")).await);
    assert_eq!(only_failures, vec!["sign_in.failed".to_owned()]);
    assert!(!page.contains(OWNER_EMAIL), "no email address in the log");
    // Read by people: actions in words, who did it and to whom by name, no raw ids.
    for words in ["Sign-in failed", "Signed in", "Console set up", OWNER_NAME] {
        assert!(page.contains(words), "{words} is shown");
    }
    for raw in ["user:1", "<code>sign_in.failed</code>"] {
        assert!(!page.contains(raw), "{raw} is not shown");
    }
    let bad_filter = app.get(&format!("{AUDIT}?from=yesterday")).await;
    assert_eq!(bad_filter.status(), StatusCode::BAD_REQUEST);
}

/// The action column of the audit table, top to bottom, as the stored keys its cells
/// carry (their text is the action in words).
fn listed_actions(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let cells = scraper::Selector::parse("table.data tbody td[title]").unwrap();
    doc.select(&cells)
        .filter_map(|c| c.value().attr("title").map(str::to_owned))
        .collect()
}

fn verify_cli(app: &TestApp) -> (bool, String) {
    let (ok, stdout, stderr) = app.run_cli(&["audit", "verify"]);
    (ok, format!("{stdout}{stderr}"))
}

async fn verify_and_flash(app: &TestApp) -> String {
    let response = app.post_form(&format!("{AUDIT}/verify"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.get_html(AUDIT).await
}

async fn verify_reports_an_intact_chain_an_altered_entry_and_a_gap(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    for _ in 0..3 {
        app.logout().await;
        app.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    }
    assert!(verify_and_flash(&app).await.contains("The audit log is intact"));
    let (ok, text) = verify_cli(&app);
    assert!(ok, "{text}");
    assert!(text.contains("intact"));

    app.sql("UPDATE audit_log SET affected = 99 WHERE id = 3");
    assert!(verify_and_flash(&app).await.contains("Entry #3 was altered"));
    let (ok, text) = verify_cli(&app);
    assert!(!ok);
    assert!(text.contains("#3"), "{text}");

    app.sql("UPDATE audit_log SET affected = 0 WHERE id = 3");
    app.sql("DELETE FROM audit_log WHERE id = 4");
    let page = verify_and_flash(&app).await;
    assert!(page.contains("missing between #3 and #5"), "the gap is named");
    let (ok, text) = verify_cli(&app);
    assert!(!ok);
    assert!(text.contains("between #3 and #5"), "{text}");
}

async fn exports_stream_the_filtered_log_with_formulas_neutralized(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    // Many entries, one of them with a formula-shaped selection text.
    let mut conn = app.db();
    let origin = erasure::store::audit::RequestOrigin::default();
    for i in 0..2500 {
        erasure::store::audit::append(
            &mut conn,
            erasure::store::audit::NewEntry::new(
                erasure::store::audit::Actor::System,
                erasure::domain::AuditAction::JobFinished,
                &origin,
            )
            .workspace(1)
            .selection(if i == 7 {
                "=HYPERLINK(\"http://evil\")".to_owned()
            } else {
                format!("batch {i}")
            })
            .affected(i),
        )
        .unwrap();
    }
    drop(conn);

    let csv = app.get(&format!("{AUDIT}/export.csv?action=job.finished")).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2500, "every matching entry, across export pages");
    assert!(rows.iter().all(|r| &r[4] == "job.finished"));
    assert!(body.contains("'=HYPERLINK"));
    assert!(!body.contains(",=HYPERLINK"));

    let jsonl = app
        .get_html(&format!("{AUDIT}/export.jsonl?action=job.finished"))
        .await;
    let lines: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2500);
    assert_eq!(lines[0]["action"], "job.finished");
}

async fn a_member_cannot_read_the_audit_log(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    add_member(&app, "member@example.com", "member password 123");
    let member = new_client();
    app.login_with(&member, "member@example.com", "member password 123")
        .await;

    assert_eq!(app.get_with(&member, AUDIT).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get_with(&member, &format!("{AUDIT}/export.csv"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let nav = app.get_html_with(&member, "/w/acme-shop/customers").await;
    assert!(!nav.contains("/w/acme-shop/audit"), "no Audit link for a member");
    let verify = app.post_form_with(&member, &format!("{AUDIT}/verify"), &[]).await;
    assert_eq!(verify.status(), StatusCode::FORBIDDEN);
    let owner_view = app.get_html(&format!("{AUDIT}?action=permission.denied")).await;
    assert!(
        owner_view.contains("permission.denied"),
        "the refusals were recorded"
    );
}
