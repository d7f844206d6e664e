//! A data-subject request as a compliance officer handles it by hand: recorded, the
//! person found, their data exported, erased with their identifiers suppressed, closed;
//! the receipt and the request pointing at each other.

use super::driver::Browser;
use super::helpers::*;
use super::{id_of, ready_app, sign_in};

pub async fn a_request_from_intake_to_close(backend: Backend) {
    let app = ready_app(backend).await;
    // People are known by email too, so deleting with suppression suppresses it.
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    let carla = id_of(&app, "de-3");
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;

    browser.open("/w/acme-shop/customers").await;
    browser.follow("Requests").await;
    browser.heading("Requests").await;
    browser.wait_for_text("No requests yet").await;
    browser.follow("Record a request").await;
    browser.heading("Record a request").await;
    browser.fill("Email", "Carla@Example.de").await;
    browser
        .fill(
            "How their identity was verified",
            "Replied from the address on file",
        )
        .await;
    browser.press("Record request").await;
    browser.wait_for_text("is recorded. It is due in 30 days").await;
    browser.wait_for_text(&format!("#{carla}")).await;
    browser.wait_for_text("Carla Conrad").await;

    browser.press("Export their data").await;
    browser.wait_for_text("The export is ready").await;
    assert!(browser.has_link("Download JSON").await);
    assert!(browser.has_link("Download page").await);
    browser.screenshot("request").await;

    browser.press("Delete these customers").await;
    browser.heading("Delete 1 customer?").await;
    browser.tick("Also suppress their identifiers").await;
    browser.press("Delete 1 customer").await;
    browser.wait_for_text("Previewed 1, deleted 1").await;

    browser.open("/w/acme-shop/requests").await;
    browser.follow("#1").await;
    browser.wait_for_text("Suppressed").await;
    browser.follow("receipt").await;
    browser.heading("Erasure receipt").await;
    browser.follow("Data-subject request #1").await;
    browser.heading("Request #1").await;
    browser.press("Close request").await;
    browser.wait_for_text("kept only as keyed digests").await;
    let page = browser.text().await;
    assert!(
        !page.contains("carla@example.de"),
        "no identifier in plain once closed:\n{page}"
    );
    assert_eq!(app.count("customers"), 4);
    browser.quit().await;
}
