//! One masking rule, everywhere: a role without `customers.view_pii` reads no personal
//! value, and cannot infer one, through any page, link or export.

use std::collections::BTreeSet;

use base64::Engine;
use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use erasure::db::schema::{customers, events, workspaces};
use erasure::domain::{BuiltinRole, Permission, PermissionSet, RoleName};
use erasure::store;
use erasure::store::bulk_load::{CustomerRow, EventRow};
use reqwest::{Method, StatusCode};
use scraper::{Html, Selector};
use serde_json::{json, Value};

use crate::helpers::api::{api_app, call};
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    masked_roles_find_no_planted_personal_value_on_any_page_or_export,
    a_role_that_sees_personal_data_still_sees_every_planted_value,
    an_anonymous_profile_shows_no_leftover_personal_value_to_anyone,
    searching_and_filtering_by_personal_values_tells_a_masked_role_nothing,
    a_masked_role_finds_a_customer_by_internal_id,
    page_links_carry_no_name_email_or_external_id,
    the_track_api_refuses_to_write_to_an_archived_customer,
    archiving_an_archived_customer_again_scrubs_what_was_left,
);

const PASSWORD: &str = "a long enough password for tests";

/// Every value planted in the profile of Ada, the customer the tests look at. None of
/// them may reach a masked role.
const PLANTED: &[&str] = &[
    "Lovelace",
    "ada.lovelace@example.com",
    "ada-ext-7781",
    "7700 900999",
    "ada.private@example.net",
    "Augusta",
    "Marylebone",
    "Byronesque",
    "LC-99887766",
    "gift.receiver@example.org",
    "Countess",
];

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn customers_path(query: &str) -> String {
    if query.is_empty() {
        format!("/w/{WORKSPACE_SLUG}/customers")
    } else {
        format!("/w/{WORKSPACE_SLUG}/customers?{query}")
    }
}

fn workspace_id(app: &TestApp) -> i64 {
    workspaces::table
        .filter(workspaces::slug.eq(WORKSPACE_SLUG))
        .select(workspaces::id)
        .first(&mut **app.db())
        .unwrap()
}

/// Ada, with personal data under mixed-case keys, nested keys, arrays of objects, a
/// key the workspace marks as personal, and her email quoted in an innocent property;
/// plus `others` customers with plain names. Returns Ada's internal id.
fn arrange(app: &TestApp, others: usize) -> i64 {
    let workspace_id = workspace_id(app);
    app.sql(&format!(
        "UPDATE workspaces SET pii_keys = '[\"loyalty_card\"]' WHERE id = {workspace_id}"
    ));
    let at = now();
    let mut rows = vec![CustomerRow {
        workspace_id,
        external_id: Some("ada-ext-7781".into()),
        email: Some("ada.lovelace@example.com".into()),
        phone: Some("+44 7700 900999".into()),
        name: Some("Ada Lovelace".into()),
        country: Some("GB".into()),
        city: Some("London".into()),
        attributes: json!({
            "EMAIL": "ada.private@example.net",
            "First_Name": "Augusta",
            "shipping": {"address": "12 Marylebone Road", "method": "courier"},
            "contacts": [{"last_name": "Byronesque", "relation": "father"}],
            "loyalty_card": "LC-99887766",
            "referral": "ada.lovelace@example.com",
            "plan": "gold-tier",
        })
        .to_string(),
        created_at: at - Duration::days(30),
        last_seen_at: at,
    }];
    for n in 0..others {
        rows.push(CustomerRow {
            workspace_id,
            external_id: Some(format!("other-{n:03}")),
            email: Some(format!("person{n:03}@example.org")),
            phone: None,
            name: Some(format!("Person Number{n:03}")),
            country: Some("DE".into()),
            city: Some("Berlin".into()),
            attributes: json!({"plan": "basic"}).to_string(),
            created_at: at - Duration::days(60),
            last_seen_at: at - Duration::hours(n as i64 + 1),
        });
    }
    let ids = store::bulk_load::insert_customers(&mut app.db(), &rows).unwrap();
    let ada = ids
        .iter()
        .find(|(_, external)| external.as_deref() == Some("ada-ext-7781"))
        .unwrap()
        .0;
    let event = |name: &str, properties: Value| EventRow {
        workspace_id,
        customer_id: ada,
        name: name.to_owned(),
        properties: properties.to_string(),
        occurred_at: at - Duration::minutes(5),
    };
    store::bulk_load::insert_events(
        &mut app.db(),
        &[
            event(
                "order_shipped",
                json!({
                    "note": "receipt sent to ada.lovelace@example.com",
                    "Shipping": {"Address": "12 Marylebone Road"},
                    "items": [{"sku": "tea-42", "Email": "gift.receiver@example.org"}],
                    "amount": 3,
                }),
            ),
            event(
                "greeting",
                json!({"text": "Hello Augusta, welcome back", "channel": "sms-blue"}),
            ),
            event(
                "profile_updated",
                json!({"Full_Name": "Ada Countess Lovelace", "nick": {"UserName": "Countess"}}),
            ),
        ],
    )
    .unwrap();
    ada
}

/// What archiving under the old, narrower rule left behind: identifiers gone, and text
/// quoting them gone too, but values under keys it did not know as personal (`EMAIL`,
/// nested addresses, the workspace's keys) still there.
fn archive_under_the_old_rule(app: &TestApp, id: i64) {
    app.sql(&format!(
        "UPDATE customers SET archived_at = created_at, name = NULL, email = NULL, phone = NULL, \
         external_id = NULL WHERE id = {id}"
    ));
    let shipped = json!({
        "Shipping": {"Address": "12 Marylebone Road"},
        "items": [{"sku": "tea-42", "Email": "gift.receiver@example.org"}],
        "amount": 3,
    });
    app.sql(&format!(
        "UPDATE events SET properties = '{shipped}' WHERE customer_id = {id} AND name = 'order_shipped'"
    ));
    // The old rule removed values equal to an identifier too.
    app.sql(&format!(
        "UPDATE customers SET attributes = '{}' WHERE id = {id}",
        json!({
            "EMAIL": "ada.private@example.net",
            "First_Name": "Augusta",
            "shipping": {"address": "12 Marylebone Road", "method": "courier"},
            "contacts": [{"last_name": "Byronesque", "relation": "father"}],
            "loyalty_card": "LC-99887766",
            "plan": "gold-tier",
        })
    ));
}

/// A signed-in client of a new user with the given role in the test workspace.
async fn client_with_role(app: &TestApp, email: &str, role_id: i64) -> reqwest::Client {
    {
        let mut conn = app.db();
        let hash = erasure::password::hash(PASSWORD).unwrap();
        let user = store::users::insert(
            &mut conn,
            &store::users::new_user(email, "Tess Tester", &hash, false),
        )
        .unwrap();
        let workspace_id = workspaces::table
            .filter(workspaces::slug.eq(WORKSPACE_SLUG))
            .select(workspaces::id)
            .first(&mut **conn)
            .unwrap();
        store::memberships::insert(&mut conn, user.id, workspace_id, role_id).unwrap();
    }
    let client = new_client();
    let response = app.login_with(&client, email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{email} signs in");
    client
}

async fn client_with_builtin(app: &TestApp, email: &str, role: BuiltinRole) -> reqwest::Client {
    let role_id = store::roles::find_builtin(&mut app.db(), role).unwrap().id;
    client_with_role(app, email, role_id).await
}

async fn client_with_custom(
    app: &TestApp,
    email: &str,
    name: &str,
    permissions: &[Permission],
) -> reqwest::Client {
    let role = store::roles::insert_custom(
        &mut app.db(),
        1,
        &RoleName::parse(name).unwrap(),
        &PermissionSet::of(permissions),
    )
    .unwrap();
    client_with_role(app, email, role.id).await
}

async fn owner_app(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app
}

/// The body of a GET, whatever its status.
async fn body_of(app: &TestApp, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let response = app.get_with(client, path).await;
    let status = response.status();
    (status, response.text().await.unwrap())
}

fn leaked<'a>(page: &str) -> Vec<&'a str> {
    let lower = page.to_lowercase();
    PLANTED
        .iter()
        .copied()
        .filter(|v| lower.contains(&v.to_lowercase()))
        .collect()
}

/// The internal ids in the list's table, in order, from each row's link to its profile
/// (a role without bulk actions has no checkboxes to read them from).
fn listed_ids(html: &str) -> Vec<i64> {
    let doc = Html::parse_document(html);
    let links = Selector::parse("table.data tbody th a").unwrap();
    doc.select(&links)
        .map(|a| {
            let href = a.value().attr("href").unwrap();
            href.rsplit('/').next().unwrap().parse().unwrap()
        })
        .collect()
}

fn link_href(html: &str, text: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let links = Selector::parse("a").unwrap();
    doc.select(&links)
        .find(|a| a.text().collect::<String>().trim() == text)
        .and_then(|a| a.value().attr("href").map(|h| h.replace("&amp;", "&")))
}

/// Every link and hidden form value of a page, with each `cursor` decoded, as text to
/// search for personal values.
fn links_and_cursors(html: &str) -> String {
    let doc = Html::parse_document(html);
    let mut out = Vec::new();
    for element in doc.select(&Selector::parse("a[href], input[type=hidden]").unwrap()) {
        let value = element
            .value()
            .attr("href")
            .or_else(|| element.value().attr("value"))
            .unwrap_or_default();
        out.push(value.to_owned());
        if let Some(cursor) = value.split("cursor=").nth(1) {
            let cursor = cursor.split('&').next().unwrap_or_default();
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(cursor)
                .expect("a cursor is base64url");
            out.push(String::from_utf8(decoded).unwrap());
        }
    }
    out.join("\n")
}

async fn masked_roles_find_no_planted_personal_value_on_any_page_or_export(backend: Backend) {
    let app = owner_app(backend).await;
    let ada = arrange(&app, 3);
    // A bulk preview that includes Ada, made by a role that may delete.
    let response = app
        .post_form(
            &customers_path("").replace("/customers", "/customers/bulk"),
            &[("intent", "delete_selected"), ("ids", &ada.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let job_page = location(&response);
    let owner_preview = app.get_html(&job_page).await;
    assert!(owner_preview.contains("Lovelace"), "the preview samples Ada");
    let member = client_with_builtin(&app, "member@example.com", BuiltinRole::Member).await;
    let reviewer = client_with_builtin(&app, "reviewer@example.com", BuiltinRole::ComplianceReviewer).await;
    let deleter = client_with_custom(
        &app,
        "deleter@example.com",
        "Masked deleter",
        &[Permission::CustomersView, Permission::CustomersDelete],
    )
    .await;
    let ws = format!("/w/{WORKSPACE_SLUG}");
    let pages = [
        format!("{ws}/customers/{ada}"),
        format!("{ws}/customers"),
        format!("{ws}/customers?q=ada"),
        format!("{ws}/customers?country=GB"),
        job_page.clone(),
        format!("{ws}/jobs"),
        format!("{ws}/anonymized"),
        format!("{ws}/audit"),
        format!("{ws}/audit/export.csv"),
        format!("{ws}/audit/export.jsonl"),
        format!("{ws}/suppressions"),
        format!("{ws}/suppressions/export.csv"),
    ];

    let mut opened = 0;
    for (who, client) in [
        ("member", &member),
        ("reviewer", &reviewer),
        ("deleter", &deleter),
    ] {
        for page in &pages {
            let (status, body) = body_of(&app, client, page).await;
            opened += usize::from(status == StatusCode::OK);
            assert_eq!(
                leaked(&body),
                Vec::<&str>::new(),
                "{who} read personal data on {page}"
            );
        }
        let (status, profile) = body_of(&app, client, &format!("{ws}/customers/{ada}")).await;
        assert_eq!(status, StatusCode::OK, "{who} opens the profile");
        assert!(
            profile.contains("gold-tier"),
            "{who} still sees what is not personal"
        );
        assert!(profile.contains("sms-blue") && profile.contains("tea-42"));
        assert!(
            profile.contains("courier"),
            "the shape around a masked value stays"
        );
    }
    let (status, preview) = body_of(&app, &deleter, &job_page).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a masked role that may delete opens the preview"
    );
    assert!(preview.contains(&format!("#{ada}")) || preview.contains(&ada.to_string()));
    assert!(
        opened >= 3 * 5,
        "the masked roles opened the pages they may ({opened})"
    );
}

async fn a_role_that_sees_personal_data_still_sees_every_planted_value(backend: Backend) {
    let app = owner_app(backend).await;
    let ada = arrange(&app, 0);
    let viewer = client_with_custom(
        &app,
        "viewer@example.com",
        "Personal data viewer",
        &[Permission::CustomersView, Permission::CustomersViewPii],
    )
    .await;

    let (_, profile) = body_of(&app, &viewer, &format!("/w/{WORKSPACE_SLUG}/customers/{ada}")).await;
    let (_, list) = body_of(&app, &viewer, &customers_path("q=lovelace")).await;

    assert_eq!(
        leaked(&profile).len(),
        PLANTED.len(),
        "every planted value is shown"
    );
    assert!(list.contains("ada.lovelace@example.com"));
    assert_eq!(
        listed_ids(&list),
        vec![ada],
        "the search runs over personal fields"
    );
}

async fn an_anonymous_profile_shows_no_leftover_personal_value_to_anyone(backend: Backend) {
    let app = owner_app(backend).await;
    let ada = arrange(&app, 0);
    archive_under_the_old_rule(&app, ada);
    let reviewer = client_with_builtin(&app, "reviewer@example.com", BuiltinRole::ComplianceReviewer).await;

    let owner_profile = app
        .get_html(&format!("/w/{WORKSPACE_SLUG}/customers/{ada}"))
        .await;
    let (_, reviewer_profile) =
        body_of(&app, &reviewer, &format!("/w/{WORKSPACE_SLUG}/customers/{ada}")).await;
    let (_, anonymized) = body_of(&app, &reviewer, &format!("/w/{WORKSPACE_SLUG}/anonymized")).await;

    for (who, page) in [("owner", &owner_profile), ("reviewer", &reviewer_profile)] {
        assert!(page.contains(&format!("Anonymous customer #{ada}")), "{who}");
        assert_eq!(
            leaked(page),
            Vec::<&str>::new(),
            "{who} read leftover personal data"
        );
        assert!(page.contains("gold-tier"), "{who} still sees the rest");
    }
    assert!(anonymized.contains(&format!("cio_{ada}")));
    assert_eq!(leaked(&anonymized), Vec::<&str>::new());
}

async fn searching_and_filtering_by_personal_values_tells_a_masked_role_nothing(backend: Backend) {
    let app = owner_app(backend).await;
    let ada = arrange(&app, 5);
    let member = client_with_builtin(&app, "member@example.com", BuiltinRole::Member).await;
    let listed = |query: &'static str| {
        let (app, member) = (&app, &member);
        async move {
            let (status, html) = body_of(app, member, &customers_path(query)).await;
            assert_eq!(status, StatusCode::OK, "{query}");
            (listed_ids(&html), html)
        }
    };

    let (everyone, _) = listed("").await;
    for (real, nonsense) in [
        ("q=ada.lov", "q=zqxj-nothing"),
        ("q=Lovelace", "q=Qwertyuiop"),
        ("q=ada-ext", "q=nobody-ext"),
        (
            "attr=email%3Dada.private%40example.net",
            "attr=email%3Dnot-an-address",
        ),
        (
            "attr=EMAIL%3Dada.private%40example.net",
            "attr=EMAIL%3Dnot-an-address",
        ),
        ("attr=loyalty_card%3DLC-99887766", "attr=loyalty_card%3DLC-0"),
        ("attr=shipping_address%3Dx", "attr=shipping_address%3Dy"),
    ] {
        let (found, html) = listed(real).await;
        let (not_found, _) = listed(nonsense).await;
        assert_eq!(found, not_found, "{real} tells the member something");
        assert_eq!(found, everyone, "{real} was applied");
        assert!(html.contains("was not applied"), "{real}: the page says so");
    }
    let (_, html) = listed("").await;
    assert!(html.contains("internal id"), "the page says what can be searched");

    // A copy of the email under an innocent key is no way round.
    let (copied, _) = listed("attr=referral%3Dada.lovelace%40example.com").await;
    let (not_copied, _) = listed("attr=referral%3Dnobody%40example.com").await;
    assert_eq!(
        copied, not_copied,
        "a copied identifier tells the member something"
    );
    let (plan, _) = listed("attr=plan%3Dgold-tier").await;
    assert_eq!(plan, vec![ada], "innocent attributes still filter");

    let (by_name, html) = listed("sort=name").await;
    assert_eq!(by_name, everyone, "sort=name is not honoured");
    assert!(
        !html.contains(r#"<option value="name""#),
        "sorting by name is not offered"
    );
    assert!(html.contains("Sorting by name needs"));

    // Owners still search, filter and sort by personal data.
    let owner = app.get_html(&customers_path("q=ada.lov")).await;
    assert_eq!(listed_ids(&owner), vec![ada]);
    let owner = app
        .get_html(&customers_path("attr=email%3Dada.private%40example.net"))
        .await;
    assert_eq!(listed_ids(&owner), vec![ada]);
    let owner = app
        .get_html(&customers_path("attr=referral%3Dada.lovelace%40example.com"))
        .await;
    assert_eq!(listed_ids(&owner), vec![ada]);
    let owner = app.get_html(&customers_path("sort=name")).await;
    assert_eq!(listed_ids(&owner)[0], ada, "Ada sorts first by name");
    assert!(owner.contains(r#"<option value="name""#));
}

async fn a_masked_role_finds_a_customer_by_internal_id(backend: Backend) {
    let app = owner_app(backend).await;
    let ada = arrange(&app, 5);
    let reviewer = client_with_builtin(&app, "reviewer@example.com", BuiltinRole::ComplianceReviewer).await;

    for q in [format!("cio_{ada}"), ada.to_string(), format!("%23{ada}")] {
        let (status, html) = body_of(&app, &reviewer, &customers_path(&format!("q={q}"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(listed_ids(&html), vec![ada], "q={q}");
        assert!(!html.contains("was not applied"));
    }
    let (_, html) = body_of(&app, &reviewer, &customers_path("q=cio_999999")).await;
    assert!(listed_ids(&html).is_empty());
}

async fn page_links_carry_no_name_email_or_external_id(backend: Backend) {
    let app = owner_app(backend).await;
    arrange(&app, 70);
    let member = client_with_builtin(&app, "member@example.com", BuiltinRole::Member).await;
    let secrets = |text: &str| {
        let lower = text.to_lowercase();
        lower.contains("lovelace")
            || lower.contains("person number")
            || lower.contains("number0")
            || lower.contains("@example")
            || lower.contains("other-0")
            || lower.contains("ada-ext")
    };

    for query in ["sort=name", "sort=created", "", "country=DE&sort=name"] {
        let owner = app.get_html(&customers_path(query)).await;
        let next = link_href(&owner, "Next page").expect("a second page");
        let second = app.get_html(&next).await;
        for page in [&owner, &second] {
            let links = links_and_cursors(page);
            assert!(
                !secrets(&links),
                "an owner's links for {query:?} carry personal data:\n{links}"
            );
        }
        assert_eq!(
            listed_ids(&second).len(),
            if query.contains("country") { 20 } else { 21 }
        );

        let (_, masked) = body_of(&app, &member, &customers_path(query)).await;
        let next = link_href(&masked, "Next page").expect("a second page");
        let (status, second) = body_of(&app, &member, &next).await;
        assert_eq!(status, StatusCode::OK);
        for page in [&masked, &second] {
            let links = links_and_cursors(page);
            assert!(
                !secrets(&links),
                "a member's links for {query:?} carry personal data:\n{links}"
            );
            assert!(!links.contains("sort=name"));
        }
    }
}

async fn the_track_api_refuses_to_write_to_an_archived_customer(backend: Backend) {
    let (app, credentials) = api_app(backend).await;
    let ada = arrange(&app, 0);
    app.sql(&format!(
        "UPDATE customers SET archived_at = created_at, name = NULL, email = NULL, phone = NULL, \
         external_id = NULL, attributes = '{{\"plan\":\"gold-tier\"}}' WHERE id = {ada}"
    ));
    let stored = |app: &TestApp| {
        let row: (Option<String>, Option<String>, String, NaiveDateTime) = customers::table
            .find(ada)
            .select((
                customers::email,
                customers::name,
                customers::attributes,
                customers::last_seen_at,
            ))
            .first(&mut **app.db())
            .unwrap();
        let events: i64 = events::table
            .filter(events::customer_id.eq(ada))
            .count()
            .get_result(&mut **app.db())
            .unwrap();
        (row, events)
    };
    let before = stored(&app);

    let identify = call(
        &app,
        &credentials,
        Method::PUT,
        &format!("/customers/cio_{ada}"),
        Some(json!({"email": "ada.back@example.com", "name": "Ada Again", "plan": "x"})),
    )
    .await;
    let event = call(
        &app,
        &credentials,
        Method::POST,
        &format!("/customers/cio_{ada}/events"),
        Some(json!({"name": "came_back", "data": {"email": "ada.back@example.com"}})),
    )
    .await;

    for response in [identify, event] {
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "archived");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(stored(&app), before, "nothing changed");
    let fresh = call(
        &app,
        &credentials,
        Method::PUT,
        "/customers/someone-new",
        Some(json!({"plan": "basic"})),
    )
    .await;
    assert_eq!(
        fresh.status(),
        StatusCode::OK,
        "other customers are still written"
    );
}

async fn archiving_an_archived_customer_again_scrubs_what_was_left(backend: Backend) {
    let app = owner_app(backend).await;
    let ada = arrange(&app, 0);
    archive_under_the_old_rule(&app, ada);

    let response = app
        .post_form(
            &format!("/w/{WORKSPACE_SLUG}/customers/{ada}/archive"),
            &[("confirm", "archive")],
        )
        .await;
    assert!(
        response.status() == StatusCode::SEE_OTHER || response.status() == StatusCode::OK,
        "{}",
        response.status()
    );

    let attributes: String = customers::table
        .find(ada)
        .select(customers::attributes)
        .first(&mut **app.db())
        .unwrap();
    let properties: Vec<String> = events::table
        .filter(events::customer_id.eq(ada))
        .select(events::properties)
        .load(&mut **app.db())
        .unwrap();
    let stored = format!("{attributes}\n{}", properties.join("\n"));
    assert_eq!(leaked(&stored), Vec::<&str>::new(), "left over: {stored}");
    let kept: BTreeSet<&str> = ["gold-tier", "courier", "tea-42", "sms-blue"]
        .into_iter()
        .filter(|v| stored.contains(v))
        .collect();
    assert_eq!(kept.len(), 4, "what is not personal stays: {stored}");
}
