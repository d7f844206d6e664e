//! The console in a real browser: every flow a person walks by hand, found by
//! headings, labels and button names. Screenshots of the main pages land in
//! `screenshots/`; a failing step saves one of the moment it failed.

mod daily_use;
mod destinations;
mod driver;
#[path = "../api/helpers/mod.rs"]
#[allow(dead_code)]
mod helpers;
mod list_steering;
mod preview_freeze;
mod requests;

use daily_use::{
    a_disabled_person_is_told_whom_to_ask, a_mistake_returns_to_the_same_page_with_the_filters_kept,
    an_empty_workspace_shows_how_customers_arrive, the_audit_log_lists_every_deletion_in_words,
};
use destinations::add_a_destination_test_it_and_see_a_deletion_delivered;
use driver::{browser_or_skip, Browser};
use helpers::*;
use requests::a_request_from_intake_to_close;

/// Customers for the flows: three in DE, two in GB, one with a hostile name.
fn arrange_customers(app: &TestApp) {
    let people = [
        ("de-1", "anke@example.de", "Anke Arndt", "DE"),
        ("de-2", "bernd@example.de", "Bernd Bauer", "DE"),
        ("de-3", "carla@example.de", "Carla Conrad", "DE"),
        ("gb-1", "clive@example.co.uk", "Clive Cole", "GB"),
        ("gb-2", "dora@example.co.uk", "<img src=x onerror=alert(1)>", "GB"),
    ];
    for (external_id, email, name, country) in people {
        app.sql(&format!(
            "INSERT INTO customers (workspace_id, external_id, email, phone, name, country, city, attributes, created_at, last_seen_at) \
             VALUES (1, '{external_id}', '{email}', '+49 170 1234567', '{name}', '{country}', 'Town', '{{\"plan\":\"pro\"}}', '2026-01-01 00:00:00', '2026-11-01 00:00:00');
             INSERT INTO events (workspace_id, customer_id, name, properties, occurred_at) \
             SELECT 1, id, 'order_placed', '{{\"email\":\"{email}\",\"total\":42}}', '2026-10-01 00:00:00' FROM customers WHERE external_id = '{external_id}';"
        ));
    }
}

fn id_of(app: &TestApp, external_id: &str) -> i64 {
    use diesel::prelude::*;
    use erasure::db::schema::customers;
    let mut conn = app.db();
    customers::table
        .filter(customers::external_id.eq(external_id))
        .select(customers::id)
        .first(&mut **conn)
        .unwrap()
}

fn add_user(app: &TestApp, email: &str, role: &str) {
    let hash = erasure::password::hash("a long enough password").unwrap();
    app.sql(&format!(
        "INSERT INTO users (email, name, password_hash, is_owner, recovery_codes, disabled, created_at) \
         VALUES ('{email}', 'Team Mate', '{hash}', FALSE, '[]', FALSE, '2026-01-01 00:00:00');
         INSERT INTO memberships (user_id, workspace_id, role_id, created_at) \
         SELECT u.id, 1, r.id, '2026-01-01 00:00:00' FROM users u, roles r WHERE u.email = '{email}' AND r.builtin = '{role}';"
    ));
}

async fn sign_in(browser: &Browser, email: &str, password: &str) {
    browser.open("/login").await;
    browser.fill("Email", email).await;
    browser.fill("Password", password).await;
    browser.press("Sign in").await;
    // The sign-in's own navigation must be over before the test navigates elsewhere.
    browser.wait_until_away_from("/login").await;
}

/// An app with the owner set up (over HTTP) and the customers arranged.
async fn ready_app(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    arrange_customers(&app);
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_setup_then_sign_in_with_an_authenticator_code() {
    if !browser_or_skip("first_run_setup") {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::start(&app.address).await;

    browser.open("/").await;
    browser.heading("Set up Erasure").await;
    browser.screenshot("setup").await;
    browser.fill("Your name", OWNER_NAME).await;
    browser.fill("Email", OWNER_EMAIL).await;
    browser.fill("Password again", OWNER_PASSWORD).await;
    browser.fill("Password", OWNER_PASSWORD).await;
    browser.fill("Workspace name", WORKSPACE_NAME).await;
    browser.press("Create account").await;
    browser.heading("Customers").await;
    browser.wait_for_text("No customers yet").await;

    let secret = erasure::totp::new_secret();
    app.sql(&format!("UPDATE users SET totp_secret = '{secret}'"));
    browser.press("Sign out").await;
    sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;
    browser.heading("Two-step sign-in").await;
    let code = erasure::totp::code_at(&secret, chrono::Utc::now().timestamp() as u64).unwrap();
    browser.fill("Authentication code", &code).await;
    browser.press("Verify").await;
    browser.heading("Customers").await;
    browser.open("/settings/security").await;
    browser.heading("Security").await;
    browser.screenshot("settings").await;
    browser.quit().await;
}

async fn filter_select_and_delete_selected(backend: Backend) {
    let app = ready_app(backend).await;
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;
    browser.heading("Customers").await;
    browser.screenshot("customers-list").await;

    browser.fill("Country", "DE").await;
    browser.press("Apply filters").await;
    browser.wait_for_text("3 customers match").await;
    let bernd = id_of(&app, "de-2");
    browser.tick(&format!("Select customer #{bernd}")).await;
    browser.press("Delete selected").await;
    browser.heading("Delete 1 customer?").await;
    browser.wait_for_text("Bernd Bauer").await;
    browser.screenshot("preview-selected").await;
    browser.press("Delete 1 customer").await;
    browser.wait_for_text("Previewed 1, deleted 1").await;
    browser.screenshot("job-progress").await;

    assert_eq!(app.count("customers"), 4);
    browser.quit().await;
}

async fn delete_filtered_with_the_preview_and_the_frozen_set(backend: Backend) {
    let app = ready_app(backend).await;
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;

    browser.open("/w/acme-shop/customers?country=DE").await;
    browser.press("Delete filtered").await;
    browser.heading("Delete 3 customers?").await;
    browser.wait_for_text("customers in DE").await;
    // Someone starts matching after the preview.
    app.sql(
        "INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         VALUES (1, 'de-late', 'DE', '{}', '2026-01-01 00:00:00', '2026-11-01 00:00:00')",
    );
    // Three of five is more than half of the workspace: the preview says the owner's
    // code is needed before anyone confirms, and the code comes by mail.
    browser.wait_for_text("This needs the account owner").await;
    browser.screenshot("preview-owner-code").await;
    browser.press("Send the code to the account owner").await;
    browser.wait_for_text("A code was sent").await;
    let mail = app
        .mail
        .wait_for(|m| m.subject().starts_with("Code to confirm an erasure"))
        .await;
    browser.fill("Code from the account owner", &mail.code()).await;
    browser.tick("Also suppress their identifiers").await;
    browser.press("Delete 3 customers").await;
    browser.wait_for_text("Previewed 3, deleted 3").await;
    browser.wait_for_text("Their identifiers are suppressed").await;

    assert_eq!(app.count("customers"), 3, "two in GB and the late one remain");
    id_of(&app, "de-late");
    browser.quit().await;
}

async fn delete_all_with_the_owners_code_from_the_mail(backend: Backend) {
    let app = ready_app(backend).await;
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;
    browser.heading("Customers").await;

    browser.follow("Delete all").await;
    browser.heading("Delete all customers").await;
    browser.screenshot("delete-all").await;
    browser.fill("Workspace name", WORKSPACE_NAME).await;
    browser.press("Send code").await;
    browser.heading("Enter the code").await;
    let mail = app
        .mail
        .wait_for(|m| m.subject().starts_with("Code to delete all"))
        .await;
    browser.fill("Code from the email", &mail.code()).await;
    browser.press("Delete all").await;
    browser.wait_for_text("Previewed 5, deleted 5").await;
    let progress = browser.field("Progress").await;
    assert_eq!(progress.attr("value").await.unwrap().as_deref(), Some("5"));
    browser.wait_for_text("100 %").await;

    assert_eq!(app.count("customers"), 0);
    app.mail
        .wait_for(|m| m.subject().starts_with("All customers of"))
        .await;
    browser.quit().await;
}

async fn archive_from_a_profile_and_see_the_anonymous_profile(backend: Backend) {
    let app = ready_app(backend).await;
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;
    let clive = id_of(&app, "gb-1");

    browser.open(&format!("/w/acme-shop/customers/{clive}")).await;
    browser.heading("Clive Cole").await;
    browser.screenshot("profile").await;
    browser
        .driver
        .find(thirtyfour::By::XPath("//summary[normalize-space()='Settings']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.follow("Archive customer").await;
    browser.heading(&format!("Archive customer #{clive}?")).await;
    browser.press("Archive customer").await;
    browser.heading(&format!("Anonymous customer #{clive}")).await;
    assert!(!browser.text().await.contains("Clive"));
    assert!(
        browser.text().await.contains("order_placed"),
        "the activity is kept"
    );
    browser.quit().await;
}

async fn a_member_sees_no_delete_controls_and_names_show_as_text(backend: Backend) {
    let app = ready_app(backend).await;
    add_user(&app, "member@example.com", "member");
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, "member@example.com", "a long enough password").await;
    browser.heading("Customers").await;

    for control in ["Delete selected", "Delete filtered", "Archive selected"] {
        assert!(!browser.has_button(control).await, "a member sees {control}");
    }
    // Nothing to select either, when there is nothing to do with a selection.
    for selector in ["input[name=ids]", "input[data-select-page]", "form#bulk"] {
        assert!(
            browser.driver.find(thirtyfour::By::Css(selector)).await.is_err(),
            "a member sees {selector}"
        );
    }
    assert!(!browser.has_link("Delete all").await);
    let dora = id_of(&app, "gb-2");
    browser.open(&format!("/w/acme-shop/customers/{dora}")).await;
    assert!(!browser.has_link("Delete forever").await);
    // The hostile name is masked for a member, and never markup.
    let owner = Browser::start(&app.address).await;
    sign_in(&owner, OWNER_EMAIL, OWNER_PASSWORD).await;
    owner.open(&format!("/w/acme-shop/customers/{dora}")).await;
    owner.wait_for_text("<img src=x onerror=alert(1)>").await;
    assert!(owner
        .driver
        .find(thirtyfour::By::XPath("//img[@src='x']"))
        .await
        .is_err());
    owner.quit().await;
    browser.quit().await;
}

async fn a_compliance_reviewer_reads_an_anonymized_profile_and_the_audit_log(backend: Backend) {
    let app = ready_app(backend).await;
    add_user(&app, "reviewer@example.com", "compliance");
    let anke = id_of(&app, "de-1");
    app.post_form(&format!("/w/acme-shop/customers/{anke}/archive"), &[])
        .await;
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, "reviewer@example.com", "a long enough password").await;

    browser.open(&format!("/w/acme-shop/customers/{anke}")).await;
    browser.heading(&format!("Anonymous customer #{anke}")).await;
    assert!(!browser.text().await.contains("anke@example.de"));
    browser.follow("Audit").await;
    browser.heading("Audit log").await;
    browser.wait_for_text("Customers archived").await;
    browser.screenshot("audit").await;
    browser.press("Verify").await;
    browser.wait_for_text("The audit log is intact").await;
    browser.quit().await;
}

async fn suppress_then_look_the_identifier_up(backend: Backend) {
    let app = ready_app(backend).await;
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;

    browser.open("/w/acme-shop/suppressions").await;
    browser.heading("Suppressions").await;
    browser.fill("Identifier to suppress", "gone-forever-42").await;
    browser.press("Suppress").await;
    browser.wait_for_text("The identifier is suppressed").await;
    browser.fill("ID or email address", "gone-forever-42").await;
    browser.press("Look up").await;
    browser.wait_for_text("gone-forever-42 is suppressed").await;
    browser.screenshot("suppressions").await;
    browser.fill("ID or email address", "someone-else").await;
    browser.press("Look up").await;
    browser.wait_for_text("someone-else is not suppressed").await;
    browser.quit().await;
}

/// A search that matches many customers shows its page before its count; the page's
/// script fetches the count and puts it in place, and the "Count matches" link goes.
async fn a_search_with_many_matches_fills_in_its_count(backend: Backend) {
    let app = ready_app(backend).await;
    let rows: Vec<erasure::store::bulk_load::CustomerRow> = (0..240)
        .map(|n| erasure::store::bulk_load::CustomerRow {
            workspace_id: 1,
            external_id: Some(format!("many-{n}")),
            email: Some(format!("many{n}@example.org")),
            phone: None,
            name: Some(format!("Ada Many {n}")),
            country: Some("FR".to_owned()),
            city: None,
            attributes: "{}".to_owned(),
            created_at: chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            last_seen_at: chrono::NaiveDate::from_ymd_opt(2026, 6, 1)
                .unwrap()
                .and_hms_opt(0, n / 60, n % 60)
                .unwrap(),
        })
        .collect();
    erasure::store::bulk_load::insert_customers(&mut app.db(), &rows).unwrap();
    erasure::store::maintenance::sample_search_trigrams(&mut app.db()).unwrap();
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;

    browser.open("/w/acme-shop/customers?q=ada+many").await;
    browser.heading("Customers").await;
    browser.wait_for_text("240 customers match").await;
    assert!(!browser.text().await.contains("still counting"));
    assert!(
        !browser.has_link("Count matches").await,
        "the link goes once counted"
    );
    // The number the script puts into "Select all … matching", however the label's
    // parts are spaced.
    let words = browser
        .text()
        .await
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(words.contains("Select all 240 matching"), "{words}");
    browser.screenshot("search-counted").await;
    browser.quit().await;
}

/// Runs a flow on SQLite, and on PostgreSQL too when it is configured.
macro_rules! browser_flows {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if !browser_or_skip(stringify!($name)) {
                    return;
                }
                super::$name(Backend::Sqlite).await;
                if let Some(backend) = Backend::postgres() {
                    super::$name(backend).await;
                }
            }
        )*
    };
}

mod flows {
    use super::{browser_or_skip, Backend};
    browser_flows!(
        filter_select_and_delete_selected,
        delete_filtered_with_the_preview_and_the_frozen_set,
        delete_all_with_the_owners_code_from_the_mail,
        archive_from_a_profile_and_see_the_anonymous_profile,
        a_member_sees_no_delete_controls_and_names_show_as_text,
        a_compliance_reviewer_reads_an_anonymized_profile_and_the_audit_log,
        suppress_then_look_the_identifier_up,
        the_audit_log_lists_every_deletion_in_words,
        a_mistake_returns_to_the_same_page_with_the_filters_kept,
        a_disabled_person_is_told_whom_to_ask,
        an_empty_workspace_shows_how_customers_arrive,
        a_search_with_many_matches_fills_in_its_count,
        add_a_destination_test_it_and_see_a_deletion_delivered,
        a_request_from_intake_to_close,
    );
}
