//! Steering the customers list in a real browser: a sort header, the pages both ways,
//! the page size, and on a phone's screen the filters behind "Filters" and no sideways
//! scrolling.

use chrono::{Duration, NaiveDate};
use erasure::store::bulk_load::CustomerRow;
use thirtyfour::prelude::*;

use super::driver::{browser_or_skip, Browser};
use super::helpers::*;
use super::sign_in;

/// Sixty customers, named so that A to Z and Z to A are easy to tell apart, and one
/// with a long address and a long city, which must wrap on a phone.
fn arrange_list(app: &TestApp) {
    let base = NaiveDate::from_ymd_opt(2026, 11, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let mut rows: Vec<CustomerRow> = (0..60i64)
        .map(|i| CustomerRow {
            workspace_id: 1,
            external_id: Some(format!("person-{i:02}")),
            email: Some(format!("person{i:02}@example.com")),
            phone: None,
            name: Some(format!("{} Person {i:02}", (b'A' + (i % 26) as u8) as char)),
            country: Some("DE".to_owned()),
            city: Some("Berlin".to_owned()),
            attributes: "{}".to_owned(),
            created_at: base - Duration::days(i),
            last_seen_at: base + Duration::minutes(i),
        })
        .collect();
    rows.push(CustomerRow {
        external_id: Some("long".to_owned()),
        email: Some("a.very.long.address.that.would.not.fit.on.a.phone@subdomain.example.com".to_owned()),
        name: Some("Zacharias Wolfgang Maximilian Long-Name".to_owned()),
        city: Some("Castrop-Rauxel-Habinghorst-Obercastrop".to_owned()),
        ..rows[0].clone()
    });
    erasure::store::bulk_load::insert_customers(&mut app.db(), &rows).unwrap();
}

/// The names in the table, in order.
async fn names(browser: &Browser) -> Vec<String> {
    let cells = browser
        .driver
        .find_all(By::Css(r#"table.data tbody th[scope="row"] a"#))
        .await
        .unwrap();
    let mut names = Vec::new();
    for cell in cells {
        names.push(cell.text().await.unwrap());
    }
    names
}

/// The sortable header `label`'s `aria-sort`.
async fn aria_sort(browser: &Browser, label: &str) -> Option<String> {
    browser
        .driver
        .find(By::XPath(format!(
            "//table[contains(@class, 'data')]//th[.//a[normalize-space()='{label}']]"
        )))
        .await
        .unwrap()
        .attr("aria-sort")
        .await
        .unwrap()
}

async fn click_header(browser: &Browser, label: &str) {
    let before = browser.path().await;
    browser
        .driver
        .find(By::XPath(format!(
            "//table[contains(@class, 'data')]//th/a[normalize-space()='{label}']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_until_away_from(&before).await;
}

async fn follow_page_link(browser: &Browser, text: &str) {
    let before = browser.path().await;
    browser.follow(text).await;
    browser.wait_until_away_from(&before).await;
}

async fn number(browser: &Browser, script: &str) -> i64 {
    browser
        .driver
        .execute(script, Vec::<serde_json::Value>::new())
        .await
        .unwrap()
        .json()
        .as_i64()
        .unwrap()
}

async fn sort_page_and_fold_the_list(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    arrange_list(&app);
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;
    browser.heading("Customers").await;
    browser.wait_for_text("61 customers match").await;

    // On a wide screen the filters are simply there, and no "Filters" button.
    assert!(browser.field("Country").await.is_displayed().await.unwrap());
    let summary = browser
        .driver
        .find(By::XPath("//summary[normalize-space()='Filters']"))
        .await
        .unwrap();
    assert!(!summary.is_displayed().await.unwrap());
    assert_eq!(
        aria_sort(&browser, "Last seen").await.as_deref(),
        Some("descending")
    );
    browser.screenshot("list-desktop").await;

    // Sorting by a column header, then the other way round.
    click_header(&browser, "Customer").await;
    assert_eq!(
        aria_sort(&browser, "Customer").await.as_deref(),
        Some("ascending")
    );
    assert_eq!(aria_sort(&browser, "Last seen").await, None);
    let a_to_z = names(&browser).await;
    assert_eq!(a_to_z[0], "A Person 00");
    click_header(&browser, "Customer").await;
    assert_eq!(
        aria_sort(&browser, "Customer").await.as_deref(),
        Some("descending")
    );
    let z_to_a = names(&browser).await;
    assert_eq!(z_to_a[0], "Zacharias Wolfgang Maximilian Long-Name");
    assert!(browser.path().await.contains("sort=name&dir=desc"));

    // A smaller page, kept while paging forward and back.
    browser
        .driver
        .find(By::Css("#filter-per_page option[value='25']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let before = browser.path().await;
    browser.press("Apply filters").await;
    browser.wait_until_away_from(&before).await;
    assert!(browser.path().await.contains("per_page=25"));
    assert_eq!(
        aria_sort(&browser, "Customer").await.as_deref(),
        Some("descending")
    );
    let first = names(&browser).await;
    assert_eq!(first.len(), 25);
    assert_eq!(first[0], z_to_a[0], "the order is kept");
    follow_page_link(&browser, "Next page").await;
    let second = names(&browser).await;
    assert_eq!(second.len(), 25);
    assert!(browser.path().await.contains("per_page=25"));
    follow_page_link(&browser, "Next page").await;
    assert_eq!(names(&browser).await.len(), 11, "61 = 25 + 25 + 11");
    follow_page_link(&browser, "Previous page").await;
    assert_eq!(names(&browser).await, second);
    follow_page_link(&browser, "Previous page").await;
    assert_eq!(names(&browser).await, first);
    assert!(!browser.has_link("Previous page").await, "back at the start");

    // A phone's screen: no sideways scrolling, the filters folded behind "Filters".
    browser.driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    browser.driver.refresh().await.unwrap();
    browser.heading("Customers").await;
    let inner = number(&browser, "return window.innerWidth").await;
    assert!(inner <= 400, "the window is a phone's: {inner}");
    let wide = number(&browser, "return document.documentElement.scrollWidth").await;
    assert!(wide <= inner, "the page scrolls sideways: {wide} > {inner}");
    let summary = browser
        .driver
        .find(By::XPath("//summary[normalize-space()='Filters']"))
        .await
        .unwrap();
    assert!(summary.is_displayed().await.unwrap());
    assert!(!browser.field("Country").await.is_displayed().await.unwrap());
    // Each row's cells say what they are.
    let labels = number(
        &browser,
        "return document.querySelectorAll('table.data tbody td[data-label], table.data tbody th[data-label]').length",
    )
    .await;
    assert_eq!(labels, 25 * 6);
    // The picture: the folded filters, the bulk controls and the first stacked rows.
    browser
        .driver
        .execute(
            "document.querySelector('details.filters-fold').scrollIntoView()",
            Vec::<serde_json::Value>::new(),
        )
        .await
        .unwrap();
    browser.screenshot("list-phone").await;
    summary.click().await.unwrap();
    assert!(browser.field("Country").await.is_displayed().await.unwrap());
    let wide = number(&browser, "return document.documentElement.scrollWidth").await;
    assert!(
        wide <= inner,
        "the open filters scroll sideways: {wide} > {inner}"
    );

    // With a filter applied, the filters stay open to show it.
    browser.fill("Country", "de").await;
    let before = browser.path().await;
    browser.press("Apply filters").await;
    browser.wait_until_away_from(&before).await;
    browser.wait_for_text("61 customers match").await;
    assert!(browser.field("Country").await.is_displayed().await.unwrap());
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_sorts_pages_and_folds_on_a_phone() {
    if !browser_or_skip("the_list_sorts_pages_and_folds_on_a_phone") {
        return;
    }
    sort_page_and_fold_the_list(Backend::Sqlite).await;
    if let Some(backend) = Backend::postgres() {
        sort_page_and_fold_the_list(backend).await;
    }
}
