//! A filtered delete over thousands of customers, in a real browser: the preview comes
//! at once and fills in with a progress bar while its set is frozen, its confirm button
//! waits for the whole set, and then the job erases exactly that set.

use crate::driver::{browser_or_skip, Browser};
use crate::helpers::*;

/// Four thousand customers in DE (one under legal hold) and three in GB, frozen two a
/// batch: two thousand batches, long enough to watch.
async fn app_with_a_large_cohort(backend: Backend) -> TestApp {
    let app = spawn_app_with(backend, Box::new(|settings| settings.job_batch_size = 2)).await;
    app.setup_owner().await;
    // No owner's code for this many (tests/browser/main.rs walks the code).
    app.sql("UPDATE workspaces SET owner_code_threshold = 1000000");
    app.sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) \
         INSERT INTO customers (workspace_id, external_id, email, name, country, city, attributes, created_at, last_seen_at) \
         SELECT 1, 'de-' || i, 'kunde' || i || '@example.de', 'Kunde ' || i, 'DE', 'Berlin', '{}', \
                '2026-01-01 00:00:00', '2026-11-01 00:00:00' FROM n;
         INSERT INTO customers (workspace_id, external_id, email, name, country, attributes, created_at, last_seen_at) \
         VALUES (1, 'gb-1', 'clive@example.co.uk', 'Clive Cole', 'GB', '{}', '2026-01-01 00:00:00', '2026-11-01 00:00:00'), \
                (1, 'gb-2', 'dora@example.co.uk', 'Dora Dean', 'GB', '{}', '2026-01-01 00:00:00', '2026-11-01 00:00:00'), \
                (1, 'gb-3', 'emil@example.co.uk', 'Emil East', 'GB', '{}', '2026-01-01 00:00:00', '2026-11-01 00:00:00');
         INSERT INTO events (workspace_id, customer_id, name, properties, occurred_at) \
         SELECT 1, id, 'order_placed', '{}', '2026-10-01 00:00:00' FROM customers WHERE country = 'DE';
         UPDATE customers SET legal_hold_reason = 'litigation', legal_hold_at = '2026-01-01 00:00:00' \
         WHERE external_id = 'de-7'",
    );
    app
}

async fn a_large_filtered_delete_previews_at_once_fills_in_and_confirms_once_frozen(backend: Backend) {
    let app = app_with_a_large_cohort(backend).await;
    let browser = Browser::start(&app.address).await;
    super::sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;

    browser.open("/w/acme-shop/customers?country=DE").await;
    browser.wait_for_text("4,000 customers match").await;
    browser.press("Delete filtered").await;

    // At once: the preview, freezing, its bar filling in, its button waiting.
    browser.heading("Delete customers in DE?").await;
    browser.wait_for_text("Frozen so far").await;
    let bar = browser.field("Frozen so far").await;
    assert_eq!(bar.tag_name().await.unwrap(), "progress");
    assert_eq!(bar.attr("max").await.unwrap().as_deref(), Some("4000"));
    let waiting = browser.button("Delete customers in DE").await;
    assert!(!waiting.is_enabled().await.unwrap(), "nothing to confirm yet");
    browser.screenshot("preview-freezing").await;
    let mut seen = Vec::new();
    for _ in 0..20 {
        if let Ok(Some(value)) = browser.field("Frozen so far").await.attr("value").await {
            seen.push(value.parse::<i64>().unwrap_or_default());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    seen.dedup();
    assert!(seen.len() >= 2, "the bar moves: {seen:?}");

    // Once the set is whole the page says exactly what confirming does.
    let heading = "Delete 4,000 customers (1 on legal hold will be skipped)?";
    for _ in 0..600 {
        if browser.text().await.contains(heading) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.heading(heading).await;
    browser.wait_for_text("The first 10 of 4,000").await;
    let confirm = browser
        .button("Delete 4,000 customers (1 on legal hold will be skipped)")
        .await;
    assert!(confirm.is_enabled().await.unwrap());
    browser.screenshot("preview").await;
    // The page came again by itself, and "Cancel" still returns to the filtered list.
    let back = browser
        .driver
        .find(thirtyfour::By::Css(r#"input[name="back"]"#))
        .await
        .unwrap();
    assert_eq!(
        back.attr("value").await.unwrap().as_deref(),
        Some("/w/acme-shop/customers?country=DE")
    );

    // Someone who starts matching now is not touched.
    app.sql(
        "INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         VALUES (1, 'de-late', 'DE', '{}', '2026-01-01 00:00:00', '2026-11-01 00:00:00')",
    );
    confirm.click().await.unwrap();
    // Two customers a batch: the job takes a while on a busy machine.
    let result = "Previewed 4,000, deleted 3,999, skipped 1";
    for _ in 0..1200 {
        if browser.text().await.contains(result) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.wait_for_text(result).await;
    browser.quit().await;

    assert_eq!(
        app.count("customers"),
        3 + 1 + 1,
        "GB, the held one and the late one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_filtered_delete_previews_at_once_fills_in_and_confirms_once_frozen_in_a_browser() {
    if !browser_or_skip("a_large_filtered_delete_previews_at_once_fills_in_and_confirms_once_frozen") {
        return;
    }
    a_large_filtered_delete_previews_at_once_fills_in_and_confirms_once_frozen(Backend::Sqlite).await;
    if let Some(backend) = Backend::postgres() {
        a_large_filtered_delete_previews_at_once_fills_in_and_confirms_once_frozen(backend).await;
    }
}
