//! The console as a compliance officer uses it every day: an audit log read in words,
//! mistakes answered on the page they were made on, and no page without a way on.

use thirtyfour::components::SelectElement;

use super::driver::Browser;
use super::helpers::*;
use super::{add_user, id_of, ready_app, sign_in};

/// Picks the option shown as `option` in the select labelled `label`.
async fn choose(browser: &Browser, label: &str, option: &str) {
    let field = browser.field(label).await;
    SelectElement::new(&field)
        .await
        .unwrap()
        .select_by_visible_text(option)
        .await
        .unwrap_or_else(|err| panic!("no option {option:?} in {label:?}: {err}"));
}

/// The erasures of a day: one customer deleted from their profile, then everyone in GB
/// as a filtered job. The filter's audit view lists both under "Customers deleted",
/// each with its count in words and its receipt, by the owner's name, in the owner's
/// own time zone.
pub async fn the_audit_log_lists_every_deletion_in_words(backend: Backend) {
    let app = ready_app(backend).await;
    let anke = id_of(&app, "de-1");
    let deleted = app
        .post_form(&format!("/w/acme-shop/customers/{anke}/delete"), &[])
        .await;
    assert!(deleted.status().is_redirection(), "{}", deleted.status());
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;

    browser.open("/settings/preferences").await;
    browser.heading("Preferences").await;
    choose(&browser, "Time zone", "Europe/Berlin").await;
    browser.press("Save").await;
    browser.wait_for_text("Europe/Berlin").await;

    browser.open("/w/acme-shop/customers?country=GB").await;
    browser.press("Delete filtered").await;
    browser.heading("Delete 2 customers?").await;
    browser.press("Delete 2 customers").await;
    browser.wait_for_text("Previewed 2, deleted 2").await;

    browser.open("/w/acme-shop/audit").await;
    browser.heading("Audit log").await;
    choose(&browser, "Action", "Customers deleted").await;
    browser.press("Apply filters").await;
    browser.wait_for_text("2 customers deleted").await;
    let page = browser.text().await;
    assert!(
        page.contains("1 customer deleted"),
        "the single deletion too:\n{page}"
    );
    assert!(page.contains(OWNER_NAME), "by the owner's name:\n{page}");
    for raw in ["user:", "api_key:", "{workspace}", "POST /w/"] {
        assert!(!page.contains(raw), "{raw:?} shown raw:\n{page}");
    }
    assert!(
        page.contains("CET") || page.contains("Europe/Berlin"),
        "times in the owner's zone, named:\n{page}"
    );
    browser.screenshot("audit-deletions").await;
    browser.follow("Receipt").await;
    browser.heading("Erasure receipt").await;
    browser.quit().await;
}

/// "Delete selected" with nothing ticked, and a date that is no date: the answer is the
/// same list, its filters kept, the error next to what caused it, never a bare 400.
pub async fn a_mistake_returns_to_the_same_page_with_the_filters_kept(backend: Backend) {
    let app = ready_app(backend).await;
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;

    browser.open("/w/acme-shop/customers?country=DE").await;
    browser.wait_for_text("3 customers match").await;
    browser.press("Delete selected").await;
    browser.wait_for_text("Nothing was selected").await;
    browser.heading("Customers").await;
    let country = browser.field("Country").await;
    assert_eq!(
        country.value().await.unwrap().as_deref(),
        Some("DE"),
        "the filter is kept"
    );
    browser.wait_for_text("3 customers match").await;
    assert_eq!(app.count("customers"), 5, "nothing was erased");
    browser.screenshot("nothing-selected").await;

    browser
        .open("/w/acme-shop/customers?country=DE&seen_from=2026-13-45")
        .await;
    browser.heading("Customers").await;
    browser.wait_for_text("enter a date as YYYY-MM-DD").await;
    let from = browser.field("Last seen from").await;
    assert_eq!(
        from.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true"),
        "the error belongs to the date"
    );
    assert_eq!(
        browser.field("Country").await.value().await.unwrap().as_deref(),
        Some("DE")
    );
    assert!(browser.has_link("Audit").await, "the page keeps its navigation");
    browser.quit().await;
}

/// Someone whose access was turned off learns it, and whom to ask, once they have
/// given the right password; with a wrong one they learn nothing about the account.
pub async fn a_disabled_person_is_told_whom_to_ask(backend: Backend) {
    let app = ready_app(backend).await;
    add_user(&app, "gone@example.com", "member");
    app.sql("UPDATE users SET disabled = TRUE WHERE email = 'gone@example.com'");
    let browser = Browser::start(&app.address).await;

    browser.open("/login").await;
    browser.fill("Email", "gone@example.com").await;
    browser.fill("Password", "not the password at all").await;
    browser.press("Sign in").await;
    browser.wait_for_text("do not match").await;
    assert!(!browser.text().await.contains("turned off"));

    browser.fill("Email", "gone@example.com").await;
    browser.fill("Password", "a long enough password").await;
    browser.press("Sign in").await;
    browser
        .wait_for_text("Your access to this console was turned off")
        .await;
    browser.wait_for_text(OWNER_NAME).await;
    browser.screenshot("access-turned-off").await;
    browser.quit().await;
}

/// A workspace with nobody in it says how customers arrive, and both ways are links
/// that lead somewhere.
pub async fn an_empty_workspace_shows_how_customers_arrive(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;

    browser.heading("Customers").await;
    browser.wait_for_text("No customers yet").await;
    browser.wait_for_text("erasure seed --workspace acme-shop").await;
    browser.screenshot("empty-workspace").await;
    browser.follow("Create an API key").await;
    browser.heading("API keys").await;
    browser.open("/w/acme-shop/customers").await;
    browser.follow("Import a CSV file").await;
    browser.heading("Import customers").await;
    browser.quit().await;
}
