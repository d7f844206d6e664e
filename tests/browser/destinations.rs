//! Telling the systems that hold copies, as an owner sets it up by hand: a destination
//! added, its secret copied once, a test event answered, and a deletion shown delivered
//! on the destination's page and on the receipt.

use super::driver::Browser;
use super::helpers::webhook_receiver::{verify, WebhookReceiver};
use super::helpers::*;
use super::{id_of, ready_app, sign_in};

pub async fn add_a_destination_test_it_and_see_a_deletion_delivered(backend: Backend) {
    let app = ready_app(backend).await;
    let receiver = WebhookReceiver::start().await;
    let browser = Browser::start(&app.address).await;
    sign_in(&browser, OWNER_EMAIL, OWNER_PASSWORD).await;

    browser.open("/settings/security").await;
    browser.follow("Destinations").await;
    browser.heading("Destinations").await;
    browser.wait_for_text("None yet").await;
    browser.fill("Name", "Warehouse").await;
    browser.fill("Endpoint URL", &receiver.url("/erasures")).await;
    browser.press("Add destination").await;
    browser.wait_for_text("Copy the signing secret").await;
    let secret = browser
        .field("Signing secret")
        .await
        .value()
        .await
        .unwrap()
        .unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    browser.screenshot("destinations").await;

    browser.follow("Open the destination").await;
    browser.heading("Warehouse").await;
    browser.press("Send a test event").await;
    browser.wait_for_text("The destination answered 200.").await;
    let test = receiver
        .wait_for(1, std::time::Duration::from_secs(10))
        .await
        .remove(0);
    verify(&secret, &test).expect("the test event is signed with the secret shown");
    assert_eq!(test.json()["type"], "destination.test");

    let anke = id_of(&app, "de-1");
    let deleted = app
        .post_form(&format!("/w/acme-shop/customers/{anke}/delete"), &[])
        .await;
    assert!(deleted.status().is_redirection());
    receiver.wait_for(2, std::time::Duration::from_secs(10)).await;
    browser.open("/w/acme-shop/settings/destinations").await;
    browser.follow("Warehouse").await;
    browser.wait_for_text("customer.deleted").await;
    browser.wait_for_text("Delivered").await;
    browser.screenshot("destination").await;
    browser.follow("receipt").await;
    browser.heading("Erasure receipt").await;
    browser.wait_for_text("Destinations told").await;
    let page = browser.text().await;
    assert!(page.contains("Warehouse") && page.contains("Delivered"), "{page}");
    assert!(page.contains("1 of 1"), "{page}");
    browser.quit().await;
}
