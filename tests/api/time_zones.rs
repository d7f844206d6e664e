//! Times as people and programs read them: pages in the viewer's own time zone (UTC
//! until they choose one on Settings → Preferences), always with the zone named; JSON
//! in ISO 8601 with its offset, whoever asks.

use chrono::DateTime;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::arrange::{add_user_with_role, NewPerson};
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_person_who_chooses_berlin_sees_page_times_shifted_and_named,
    an_unknown_zone_is_refused_next_to_the_field,
    json_times_carry_their_offset_whatever_the_zone,
);

const WS: &str = "/w/acme-shop";
const PREFERENCES: &str = "/settings/preferences";

/// The suppression list's "when" cells.
fn suppression_times(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let cells = scraper::Selector::parse("table.data tbody td").unwrap();
    doc.select(&cells)
        .map(|c| c.text().collect::<String>().trim().to_owned())
        .filter(|t| t.starts_with("2026-"))
        .collect()
}

async fn a_person_who_chooses_berlin_sees_page_times_shifted_and_named(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let ws = app.number("SELECT id AS v FROM workspaces WHERE slug = 'acme-shop'");
    // A suppression made at a known moment, in winter and in summer.
    app.sql(&format!(
        "INSERT INTO suppressions (workspace_id, kind, digest, reason, created_at, created_by) VALUES \
         ({ws}, 'id', 'aaaa', 'manual', '2026-12-07 14:03:00', 'user:1'), \
         ({ws}, 'id', 'bbbb', 'manual', '2026-07-07 14:03:00', 'user:1')"
    ));
    let before = suppression_times(&app.get_html(&format!("{WS}/suppressions")).await);
    assert!(before.contains(&"2026-12-07 14:03 UTC".to_owned()), "{before:?}");

    let page = app.get_html(PREFERENCES).await;
    assert!(
        page.contains(r#"<option value="UTC" selected>"#),
        "UTC until chosen"
    );
    let saved = app
        .post_form(PREFERENCES, &[("time_zone", "Europe/Berlin")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), PREFERENCES);
    let page = app.get_html(PREFERENCES).await;
    assert!(page.contains(r#"<option value="Europe/Berlin" selected>"#));
    assert!(
        page.contains("Times are now shown in Europe/Berlin"),
        "the flash says so"
    );
    assert_eq!(app.audited("time_zone.changed"), 1);

    let after = suppression_times(&app.get_html(&format!("{WS}/suppressions")).await);
    assert!(after.contains(&"2026-12-07 15:03 CET".to_owned()), "{after:?}");
    assert!(after.contains(&"2026-07-07 16:03 CEST".to_owned()), "{after:?}");
    // The audit log's own times too, to the second, and its date filter by Berlin's days.
    let audit = app.get_html(&format!("{WS}/audit")).await;
    assert!(
        audit.contains(" CET<") || audit.contains(" CEST<"),
        "the log names the zone"
    );
    assert!(!audit.contains(" UTC<"), "no time left in UTC");

    // Choosing the same zone again changes and records nothing.
    app.post_form(PREFERENCES, &[("time_zone", "Europe/Berlin")])
        .await;
    assert_eq!(app.audited("time_zone.changed"), 1);

    // Another person still reads UTC: the zone is each person's own.
    add_user_with_role(&app, "ada.admin@example.org", "a long enough password", "admin");
    let ada = new_client();
    app.login_with(&ada, "ada.admin@example.org", "a long enough password")
        .await;
    let theirs = suppression_times(&app.get_html_with(&ada, &format!("{WS}/suppressions")).await);
    assert!(theirs.contains(&"2026-12-07 14:03 UTC".to_owned()), "{theirs:?}");
}

async fn an_unknown_zone_is_refused_next_to_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    for bad in ["Mars/Olympus_Mons", "", "<script>alert(1)</script>"] {
        let refused = app.post_form(PREFERENCES, &[("time_zone", bad)]).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        let html = refused.text().await.unwrap();
        let doc = scraper::Html::parse_document(&html);
        let error = scraper::Selector::parse("#time-zone-error").unwrap();
        let message: String = doc.select(&error).flat_map(|e| e.text()).collect();
        assert!(
            message.contains("choose a time zone from the list"),
            "{bad:?}: {message:?}"
        );
        assert!(html.contains(r#"aria-describedby="time-zone-error""#));
        assert!(!html.contains("<script>alert"), "escaped");
    }
    assert_eq!(
        app.texts(&format!(
            "SELECT time_zone AS t FROM users WHERE email = '{OWNER_EMAIL}'"
        )),
        vec!["UTC".to_owned()]
    );
    assert_eq!(app.audited("time_zone.changed"), 0);
    // Without the form token, nothing changes either.
    let forged = app.post_raw(PREFERENCES, &[("time_zone", "Europe/Berlin")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.audited("time_zone.changed"), 0);
}

/// An ISO 8601 time with an offset, in UTC.
fn assert_iso_utc(value: &Value, what: &str) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what}: a string, not {value}"));
    assert!(text.ends_with('Z') || text.ends_with("+00:00"), "{what}: {text}");
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{what}: {text}: {e}"));
}

async fn json_times_carry_their_offset_whatever_the_zone(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let saved = app
        .post_form(PREFERENCES, &[("time_zone", "America/New_York")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let id = NewPerson::new("c-1").insert(&app);
    app.post_form(&format!("{WS}/customers/{id}/delete"), &[]).await;
    let receipt_id = app.texts("SELECT receipt_id AS t FROM jobs").remove(0);

    let receipt: Value = app
        .get(&format!("{WS}/receipts/{receipt_id}.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_iso_utc(&receipt["started_at"], "the receipt's start");
    assert_iso_utc(&receipt["finished_at"], "the receipt's end");

    let export = app.get_html(&format!("{WS}/audit/export.jsonl")).await;
    for line in export.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        assert_iso_utc(&entry["created_at"], "an exported entry");
    }
    // The receipt's page, by contrast, is in the reader's zone.
    let page = app.get_html(&format!("{WS}/receipts/{receipt_id}")).await;
    assert!(
        page.contains(" EST<") || page.contains(" EDT<"),
        "the page names New York's zone"
    );
}
