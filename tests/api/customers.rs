use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use erasure::db::schema::{customers, workspaces};
use erasure::domain::BuiltinRole;
use erasure::store;
use erasure::store::bulk_load::{CustomerRow, EventRow};
use reqwest::StatusCode;
use scraper::{Html, Selector};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    an_empty_workspace_says_how_customers_arrive,
    a_bulk_form_mistake_returns_to_the_list_with_its_filters_and_the_reason,
    every_filter_alone_finds_exactly_its_customers,
    filters_combine,
    the_count_says_how_many_match,
    no_matches_offers_to_clear_the_filters,
    search_treats_wildcards_literally,
    search_finds_exactly_the_text_whatever_part_the_index_reads,
    paging_through_every_sort_shows_each_customer_once,
    the_count_is_exact_whether_or_not_the_first_page_holds_every_match,
    a_tampered_cursor_or_a_bad_date_is_a_400_with_the_error_beside_its_field,
    a_member_sees_masked_personal_data_and_never_the_raw_email,
    an_anonymous_customer_shows_no_identifiers,
    the_profile_shows_details_attributes_and_activity_newest_first,
    another_workspaces_customer_is_not_found,
    customer_data_is_escaped,
);

const MEMBER_EMAIL: &str = "member@example.com";
const MEMBER_PASSWORD: &str = "a member's long password";

fn list_path(query: &str) -> String {
    if query.is_empty() {
        format!("/w/{WORKSPACE_SLUG}/customers")
    } else {
        format!("/w/{WORKSPACE_SLUG}/customers?{query}")
    }
}

fn profile_path(id: i64) -> String {
    format!("/w/{WORKSPACE_SLUG}/customers/{id}")
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// A customer to arrange, seen `days_ago` days (and `extra_hours` hours) before now.
struct Known {
    external_id: &'static str,
    name: Option<&'static str>,
    email: Option<&'static str>,
    country: &'static str,
    city: &'static str,
    days_ago: i64,
    extra_hours: i64,
    attributes: &'static str,
    archived: bool,
}

const fn known(
    external_id: &'static str,
    name: Option<&'static str>,
    email: Option<&'static str>,
    country: &'static str,
    city: &'static str,
    days_ago: i64,
    attributes: &'static str,
) -> Known {
    Known {
        external_id,
        name,
        email,
        country,
        city,
        days_ago,
        extra_hours: 0,
        attributes,
        archived: false,
    }
}

fn known_customers() -> Vec<Known> {
    vec![
        known(
            "c01",
            Some("Ada Lovelace"),
            Some("ada@example.com"),
            "DE",
            "Berlin",
            1,
            r#"{"plan":"pro","signup_source":"ads"}"#,
        ),
        known(
            "c02",
            Some("Grace Hopper"),
            Some("grace@navy.example"),
            "US",
            "New York",
            5,
            r#"{"plan":"free"}"#,
        ),
        known(
            "c03",
            Some("Alan Turing"),
            Some("alan@example.org"),
            "GB",
            "London",
            45,
            r#"{"plan":"pro"}"#,
        ),
        known(
            "c04",
            Some("Linus Torvalds"),
            Some("linus@example.fi"),
            "FI",
            "Helsinki",
            100,
            r#"{"plan":"enterprise"}"#,
        ),
        known(
            "c05",
            Some("Margaret Hamilton"),
            Some("margaret@example.com"),
            "US",
            "Boston",
            10,
            r#"{"plan":"pro","signup_source":"referral"}"#,
        ),
        known(
            "c06",
            Some("Dennis Ritchie"),
            Some("dennis@example.com"),
            "US",
            "New York",
            200,
            r#"{"plan":"free"}"#,
        ),
        known(
            "c07",
            Some("Barbara Liskov"),
            Some("barbara@example.com"),
            "DE",
            "Munich",
            20,
            r#"{"plan":"starter"}"#,
        ),
        known(
            "c08",
            Some("Ken Thompson"),
            Some("ken@example.com"),
            "DE",
            "Berlin",
            60,
            r#"{"plan":"pro"}"#,
        ),
        known("c09", None, None, "FR", "Paris", 3, "{}"),
        Known {
            archived: true,
            ..known(
                "c10",
                Some("Hedy Lamarr"),
                Some("hedy@example.com"),
                "DE",
                "Berlin",
                2,
                r#"{"plan":"pro"}"#,
            )
        },
        // Just past the 30-day line: inactive.
        Known {
            extra_hours: 1,
            ..known(
                "c11",
                Some("Frances Allen"),
                Some("frances_allen@example.com"),
                "IE",
                "Dublin",
                30,
                r#"{"plan":"pro_plus"}"#,
            )
        },
        known(
            "c12",
            Some("Edsger 100% Dijkstra"),
            Some("edsger@example.com"),
            "NL",
            "Amsterdam",
            7,
            r#"{"plan":"pro"}"#,
        ),
    ]
}

/// Inserts the customers into the owner's workspace; external id → internal id.
fn arrange(app: &TestApp, known: &[Known]) -> HashMap<String, i64> {
    let mut conn = app.db();
    let workspace_id = workspace_id(&mut conn, WORKSPACE_SLUG);
    let at = now();
    let rows: Vec<CustomerRow> = known
        .iter()
        .map(|k| {
            let last_seen = at - Duration::days(k.days_ago) - Duration::hours(k.extra_hours);
            CustomerRow {
                workspace_id,
                external_id: Some(k.external_id.to_owned()),
                email: k.email.map(str::to_owned),
                phone: Some("+44 7700 900112".to_owned()),
                name: k.name.map(str::to_owned),
                country: Some(k.country.to_owned()),
                city: Some(k.city.to_owned()),
                attributes: k.attributes.to_owned(),
                created_at: last_seen - Duration::days(30),
                last_seen_at: last_seen,
            }
        })
        .collect();
    let ids: HashMap<String, i64> = store::bulk_load::insert_customers(&mut conn, &rows)
        .unwrap()
        .into_iter()
        .map(|(id, external_id)| (external_id.unwrap(), id))
        .collect();
    for k in known.iter().filter(|k| k.archived) {
        // What archiving leaves: no identifiers, the activity and location kept.
        diesel::update(customers::table.find(ids[k.external_id]))
            .set((
                customers::archived_at.eq(Some(at)),
                customers::name.eq(None::<String>),
                customers::email.eq(None::<String>),
                customers::phone.eq(None::<String>),
                customers::external_id.eq(None::<String>),
            ))
            .execute(&mut **conn)
            .unwrap();
    }
    ids
}

fn workspace_id(conn: &mut erasure::db::DbConnection, slug: &str) -> i64 {
    workspaces::table
        .filter(workspaces::slug.eq(slug))
        .select(workspaces::id)
        .first(conn)
        .unwrap()
}

async fn owner_app(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app
}

/// The internal ids in the page's table, in order.
fn listed_ids(html: &str) -> Vec<i64> {
    let doc = Html::parse_document(html);
    let boxes = Selector::parse(r#"form#bulk table input[type="checkbox"][name="ids"]"#).unwrap();
    doc.select(&boxes)
        .map(|b| b.value().attr("value").unwrap().parse().unwrap())
        .collect()
}

fn text_of(html: &str, selector: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let selector = Selector::parse(selector).unwrap();
    doc.select(&selector)
        .next()
        .map(|e| e.text().collect::<String>().trim().to_owned())
}

/// The count a page shows; when it left it for later (a search that matches many),
/// the one its "Count matches" link shows.
async fn counted(app: &TestApp, html: &str) -> String {
    let shown = text_of(html, ".page-head .count").unwrap();
    match link_href(html, "Count matches") {
        None => shown,
        Some(href) => {
            assert!(shown.contains("still counting"), "{shown}");
            let counted = app.get_html(&href.replace("&amp;", "&")).await;
            assert!(link_href(&counted, "Count matches").is_none());
            text_of(&counted, ".page-head .count").unwrap()
        }
    }
}

fn link_href(html: &str, text: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let links = Selector::parse("a").unwrap();
    doc.select(&links)
        .find(|a| a.text().collect::<String>().trim() == text)
        .and_then(|a| a.value().attr("href").map(str::to_owned))
}

fn expected(ids: &HashMap<String, i64>, external_ids: &[&str]) -> BTreeSet<i64> {
    external_ids.iter().map(|e| ids[*e]).collect()
}

async fn listed_for(app: &TestApp, query: &str) -> BTreeSet<i64> {
    let response = app.get(&list_path(query)).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    listed_ids(&response.text().await.unwrap()).into_iter().collect()
}

async fn an_empty_workspace_says_how_customers_arrive(backend: Backend) {
    let app = owner_app(backend).await;

    let html = app.get_html(&list_path("")).await;

    assert!(html.contains("No customers yet"));
    assert!(html.contains("PUT /api/v1/customers/{id}"));
    assert!(html.contains("CSV import"));
    assert!(listed_ids(&html).is_empty());
    // The owner can act on both at once, and try the console with demo data.
    assert!(html.contains(r#"<a href="/w/acme-shop/settings/api-keys">Create an API key</a>"#));
    assert!(html.contains(r#"<a href="/w/acme-shop/customers/import">Import a CSV file</a>"#));
    assert!(html.contains("erasure seed --workspace acme-shop --customers 1000"));
    // The status filter says what each status means.
    assert!(html.contains(r#"<option value="active">Active: seen in the last 30 days</option>"#));
    assert!(html.contains("Inactive: not seen for 30 days or more"));
    for link in ["/w/acme-shop/settings/api-keys", "/w/acme-shop/customers/import"] {
        assert_eq!(app.get(link).await.status(), StatusCode::OK, "{link}");
    }
}

async fn every_filter_alone_finds_exactly_its_customers(backend: Backend) {
    let app = owner_app(backend).await;
    let ids = arrange(&app, &known_customers());
    let day = |days_ago: i64| (now() - Duration::days(days_ago)).format("%Y-%m-%d").to_string();
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "".into(),
            vec![
                "c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09", "c10", "c11", "c12",
            ],
        ),
        ("q=ada".into(), vec!["c01"]),
        ("q=LOVELACE".into(), vec!["c01"]),
        (
            "q=example.com".into(),
            vec!["c01", "c05", "c06", "c07", "c08", "c11", "c12"],
        ),
        ("q=c09".into(), vec!["c09"]),
        ("country=de".into(), vec!["c01", "c07", "c08", "c10"]),
        ("city=New+York".into(), vec!["c02", "c06"]),
        (
            "status=active".into(),
            vec!["c01", "c02", "c05", "c07", "c09", "c12"],
        ),
        ("status=inactive".into(), vec!["c03", "c04", "c06", "c08", "c11"]),
        ("status=anonymous".into(), vec!["c10"]),
        (
            format!("seen_from={}", day(12)),
            vec!["c01", "c02", "c05", "c09", "c10", "c12"],
        ),
        (format!("seen_to={}", day(50)), vec!["c04", "c06", "c08"]),
        (
            "attr=plan%3Dpro".into(),
            vec!["c01", "c03", "c05", "c08", "c10", "c12"],
        ),
        ("attr=signup_source%3Dreferral".into(), vec!["c05"]),
        ("attr=plan%3Dpro_plus".into(), vec!["c11"]),
    ];
    for (query, want) in cases {
        assert_eq!(listed_for(&app, &query).await, expected(&ids, &want), "?{query}");
    }
}

async fn filters_combine(backend: Backend) {
    let app = owner_app(backend).await;
    let ids = arrange(&app, &known_customers());
    let day = |days_ago: i64| (now() - Duration::days(days_ago)).format("%Y-%m-%d").to_string();
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("country=DE&status=active".into(), vec!["c01", "c07"]),
        ("country=DE&city=Berlin".into(), vec!["c01", "c08", "c10"]),
        ("country=US&status=inactive&attr=plan%3Dfree".into(), vec!["c06"]),
        (
            format!("seen_from={}&seen_to={}", day(12), day(4)),
            vec!["c02", "c05", "c12"],
        ),
        (
            format!("q=example.com&attr=plan%3Dpro&seen_from={}", day(12)),
            vec!["c01", "c05", "c12"],
        ),
        ("q=example&country=DE&status=anonymous".into(), vec![]),
    ];
    for (query, want) in cases {
        assert_eq!(listed_for(&app, &query).await, expected(&ids, &want), "?{query}");
    }
}

async fn the_count_says_how_many_match(backend: Backend) {
    let app = owner_app(backend).await;
    arrange(&app, &known_customers());

    let all = app.get_html(&list_path("")).await;
    let german = app.get_html(&list_path("country=DE")).await;
    let one = app.get_html(&list_path("q=ada")).await;

    assert_eq!(text_of(&all, ".page-head .count").unwrap(), "12 customers match");
    assert_eq!(
        text_of(&german, ".page-head .count").unwrap(),
        "4 customers match"
    );
    assert_eq!(text_of(&one, ".page-head .count").unwrap(), "1 customer matches");
    assert!(
        german.contains("customers in DE"),
        "the filters are described in words"
    );
    assert!(
        !all.contains(r#"name="all_matching""#),
        "one page needs no 'all matching' choice"
    );
    assert!(all.contains("Select all on this page"));
}

async fn no_matches_offers_to_clear_the_filters(backend: Backend) {
    let app = owner_app(backend).await;
    arrange(&app, &known_customers());

    let html = app.get_html(&list_path("country=ZZ")).await;

    assert!(html.contains("No customers match these filters"));
    assert_eq!(link_href(&html, "Clear filters").unwrap(), list_path(""));
    assert!(!html.contains("No customers yet"));
    assert!(listed_ids(&html).is_empty());
}

async fn search_treats_wildcards_literally(backend: Backend) {
    let app = owner_app(backend).await;
    let ids = arrange(&app, &known_customers());

    assert_eq!(listed_for(&app, "q=_").await, expected(&ids, &["c11"]));
    assert_eq!(listed_for(&app, "q=%25").await, expected(&ids, &["c12"]));
    assert_eq!(listed_for(&app, "q=%5C").await, expected(&ids, &[]));
}

/// On PostgreSQL the trigram indexes may be asked for a rarer part of the search text
/// only (here "user" is in every address, so a part of "12" is cheaper); the whole
/// text must still decide, in the rows and in the count.
async fn search_finds_exactly_the_text_whatever_part_the_index_reads(backend: Backend) {
    let app = owner_app(backend).await;
    let mut people: Vec<Known> = (0..40)
        .map(|i| {
            let email: &'static str = Box::leak(format!("user{i}@example.com").into_boxed_str());
            let id: &'static str = Box::leak(format!("p{i}").into_boxed_str());
            known(id, None, Some(email), "DE", "Berlin", 1, "{}")
        })
        .collect();
    // Parts of "user12" without the whole: "r12", "ser1", "er12".
    people.push(known(
        "q1",
        Some("Peter12 Smith"),
        Some("xr12@example.com"),
        "DE",
        "Berlin",
        1,
        "{}",
    ));
    people.push(known(
        "q2",
        None,
        Some("ser12@example.com"),
        "DE",
        "Berlin",
        1,
        "{}",
    ));
    people.push(known("q3", Some("USER12 Loud"), None, "DE", "Berlin", 1, "{}"));
    let ids = arrange(&app, &people);

    assert_eq!(listed_for(&app, "q=user12").await, expected(&ids, &["p12", "q3"]));
    assert_eq!(
        listed_for(&app, "q=USER1").await.len(),
        12,
        "user1, user10 … user19 and USER12"
    );
    let html = app.get_html(&list_path("q=er12")).await;
    assert_eq!(text_of(&html, ".page-head .count").unwrap(), "4 customers match");
}

/// 120 customers with many equal sort keys: only the id tells them apart.
fn crowd(workspace_id: i64) -> Vec<CustomerRow> {
    let base = now() - Duration::days(3);
    (0..120)
        .map(|i: i64| CustomerRow {
            workspace_id,
            external_id: Some(format!("crowd-{i}")),
            email: Some(format!("crowd{i}@example.com")),
            phone: None,
            // Every fifth without a name; the rest share eight names.
            name: (i % 5 != 0).then(|| format!("Person {}", i % 8)),
            country: Some("DE".into()),
            city: Some("Berlin".into()),
            attributes: "{}".into(),
            created_at: base - Duration::days(i % 3),
            last_seen_at: base + Duration::hours(i % 4),
        })
        .collect()
}

async fn walk(app: &TestApp, first: &str) -> (Vec<i64>, usize) {
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut path = list_path(first);
    loop {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let html = response.text().await.unwrap();
        pages += 1;
        if pages > 1 {
            assert!(
                link_href(&html, "First page").is_some(),
                "a later page links to the first"
            );
        }
        seen.extend(listed_ids(&html));
        match link_href(&html, "Next page") {
            Some(next) => path = next.replace("&amp;", "&"),
            None => return (seen, pages),
        }
        assert!(pages < 10, "paging does not end");
    }
}

/// The crowd's ids in the order a sort must show them.
fn expected_order(rows: &[CustomerRow], ids: &[i64], sort: &str) -> Vec<i64> {
    let mut pairs: Vec<(&CustomerRow, i64)> = rows.iter().zip(ids.iter().copied()).collect();
    match sort {
        "last_seen" => pairs.sort_by_key(|p| Reverse((p.0.last_seen_at, p.1))),
        "created" => pairs.sort_by_key(|p| Reverse((p.0.created_at, p.1))),
        // Named customers A to Z, then those without a name.
        _ => pairs
            .sort_by(|a, b| (a.0.name.is_none(), &a.0.name, a.1).cmp(&(b.0.name.is_none(), &b.0.name, b.1))),
    }
    pairs.into_iter().map(|(_, id)| id).collect()
}

async fn paging_through_every_sort_shows_each_customer_once(backend: Backend) {
    let app = owner_app(backend).await;
    let workspace_id = workspace_id(&mut app.db(), WORKSPACE_SLUG);
    let rows = crowd(workspace_id);
    let by_external: HashMap<String, i64> = store::bulk_load::insert_customers(&mut app.db(), &rows)
        .unwrap()
        .into_iter()
        .map(|(id, external_id)| (external_id.unwrap(), id))
        .collect();
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| by_external[r.external_id.as_deref().unwrap()])
        .collect();

    // With and without a search, which SQLite answers with another plan.
    for narrowing in ["country=DE", "q=crowd"] {
        for sort in ["last_seen", "created", "name"] {
            let (seen, pages) = walk(&app, &format!("sort={sort}&{narrowing}")).await;

            assert_eq!(pages, 3, "{sort}, {narrowing}: 50 + 50 + 20");
            let unique: BTreeSet<i64> = seen.iter().copied().collect();
            assert_eq!(
                unique.len(),
                seen.len(),
                "{sort}, {narrowing}: a customer appeared twice"
            );
            assert_eq!(
                seen,
                expected_order(&rows, &ids, sort),
                "{sort}, {narrowing}: order"
            );
        }
    }
    let first = app.get_html(&list_path("")).await;
    assert!(first.contains(r#"name="all_matching" value="1""#));
    assert!(first.contains("Select all 120 matching"));
    assert!(link_href(&first, "First page").is_none());
}

/// A first page with every match counts them itself; one with a next page, and every
/// later page, asks for the count: on either side of a full page the number is exact.
async fn the_count_is_exact_whether_or_not_the_first_page_holds_every_match(backend: Backend) {
    let app = owner_app(backend).await;
    let workspace_id = workspace_id(&mut app.db(), WORKSPACE_SLUG);
    let rows = crowd(workspace_id);
    store::bulk_load::insert_customers(&mut app.db(), &rows[..50]).unwrap();
    for query in ["q=crowd", "q=crowd&sort=name", "country=DE&sort=created"] {
        let html = app.get_html(&list_path(query)).await;
        assert_eq!(listed_ids(&html).len(), 50, "{query}");
        assert_eq!(
            text_of(&html, ".page-head .count").unwrap(),
            "50 customers match",
            "{query}"
        );
        assert!(link_href(&html, "Next page").is_none(), "{query}");
    }
    store::bulk_load::insert_customers(&mut app.db(), &rows[50..51]).unwrap();
    for query in ["q=crowd", "q=crowd&sort=name", "country=DE&sort=created"] {
        let html = app.get_html(&list_path(query)).await;
        assert_eq!(counted(&app, &html).await, "51 customers match", "{query}");
        let next = link_href(&html, "Next page")
            .expect("a second page")
            .replace("&amp;", "&");
        let second = app.get_html(&next).await;
        assert_eq!(listed_ids(&second).len(), 1, "{query}");
        assert_eq!(counted(&app, &second).await, "51 customers match", "{query}");
    }
    let html = app.get_html(&list_path("q=crowd-4")).await;
    assert_eq!(
        text_of(&html, ".page-head .count").unwrap(),
        "11 customers match",
        "crowd-4 and crowd-40 … crowd-49"
    );
}

async fn a_tampered_cursor_or_a_bad_date_is_a_400_with_the_error_beside_its_field(backend: Backend) {
    let app = owner_app(backend).await;
    let workspace_id = workspace_id(&mut app.db(), WORKSPACE_SLUG);
    store::bulk_load::insert_customers(&mut app.db(), &crowd(workspace_id)).unwrap();
    let first = app.get_html(&list_path("")).await;
    let next = link_href(&first, "Next page").unwrap().replace("&amp;", "&");
    let cursor = next.split("cursor=").nth(1).unwrap().to_owned();
    let swapped = if &cursor[5..6] == "A" { "B" } else { "A" };
    let tampered = format!("{}{swapped}{}", &cursor[..5], &cursor[6..]);

    for query in [
        format!("cursor={tampered}"),
        "cursor=not-a-cursor!".to_owned(),
        format!("cursor={cursor}&sort=name"),
    ] {
        let response = app.get(&list_path(&query)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let html = response.text().await.unwrap();
        assert!(html.contains("start again from the first page"), "{query}");
        assert!(listed_ids(&html).is_empty(), "nothing half-filtered is listed");
    }

    let response = app
        .get(&list_path("seen_from=2026-02-30&seen_to=2026-01-01&country=DE"))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(text_of(&html, "#filter-seen_from-error")
        .unwrap()
        .contains("YYYY-MM-DD"));
    let kept = Selector::parse("#filter-country").unwrap();
    let doc = Html::parse_document(&html);
    assert_eq!(
        doc.select(&kept).next().unwrap().value().attr("value"),
        Some("DE"),
        "what was typed is kept"
    );

    let response = app
        .get(&list_path("seen_from=2026-03-01&seen_to=2026-02-01"))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(text_of(&html, "#filter-seen_to-error")
        .unwrap()
        .contains("before the start date"));
}

/// A signed-in client of a Member (customers.view without customers.view_pii).
async fn member_client(app: &TestApp) -> reqwest::Client {
    {
        let mut conn = app.db();
        let hash = erasure::password::hash(MEMBER_PASSWORD).unwrap();
        let user = store::users::insert(
            &mut conn,
            &store::users::new_user(MEMBER_EMAIL, "Mia Member", &hash, false),
        )
        .unwrap();
        let role = store::roles::find_builtin(&mut conn, BuiltinRole::Member).unwrap();
        let workspace_id = workspace_id(&mut conn, WORKSPACE_SLUG);
        store::memberships::insert(&mut conn, user.id, workspace_id, role.id).unwrap();
    }
    let client = new_client();
    let response = app.login_with(&client, MEMBER_EMAIL, MEMBER_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    client
}

async fn a_member_sees_masked_personal_data_and_never_the_raw_email(backend: Backend) {
    let app = owner_app(backend).await;
    let ids = arrange(&app, &known_customers());
    let member = member_client(&app).await;

    let list = app.get_html_with(&member, &list_path("")).await;
    let profile = app.get_html_with(&member, &profile_path(ids["c01"])).await;
    let owner_list = app.get_html(&list_path("")).await;
    let owner_profile = app.get_html(&profile_path(ids["c01"])).await;

    for page in [&list, &profile] {
        assert!(
            !page.contains("ada@example.com"),
            "the raw email reached a member"
        );
        assert!(!page.contains("Ada Lovelace"), "the raw name reached a member");
        assert!(page.contains("a•••@e•••.com"));
        assert!(page.contains("A•• L•••"));
    }
    assert!(!profile.contains("7700 900112"));
    assert!(profile.contains("+44 •••• ••12"));
    assert!(list.contains("Personal data is masked for your role"));
    for page in [&owner_list, &owner_profile] {
        assert!(page.contains("ada@example.com"));
        assert!(page.contains("Ada Lovelace"));
    }
    assert!(owner_profile.contains("+44 7700 900112"));
}

async fn an_anonymous_customer_shows_no_identifiers(backend: Backend) {
    let app = owner_app(backend).await;
    let ids = arrange(&app, &known_customers());
    let id = ids["c10"];

    let profile = app.get_html(&profile_path(id)).await;
    let list = app.get_html(&list_path("status=anonymous")).await;

    let heading = format!("Anonymous customer #{id}");
    assert_eq!(text_of(&profile, "h1").unwrap(), heading);
    assert!(list.contains(&heading));
    for page in [&profile, &list] {
        assert!(!page.contains("Hedy"));
        assert!(!page.contains("hedy@example.com"));
        assert!(page.contains("badge-anonymous"));
    }
    assert!(!profile.contains("<dt>Email</dt>"));
    assert!(!profile.contains("<dt>External id</dt>"));
}

async fn the_profile_shows_details_attributes_and_activity_newest_first(backend: Backend) {
    let app = owner_app(backend).await;
    let ids = arrange(&app, &known_customers());
    let id = ids["c01"];
    let workspace_id = workspace_id(&mut app.db(), WORKSPACE_SLUG);
    let start = now() - Duration::days(2);
    let events: Vec<EventRow> = (0..30)
        .map(|i| EventRow {
            workspace_id,
            customer_id: id,
            name: format!("event_{i:02}"),
            properties: format!(r#"{{"step":"{i}"}}"#),
            occurred_at: start + Duration::minutes(i),
        })
        .collect();
    store::bulk_load::insert_events(&mut app.db(), &events).unwrap();

    let response = app.get(&profile_path(id)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();

    assert_eq!(text_of(&html, "h1").unwrap(), "Ada Lovelace");
    assert!(html.contains("badge-active"));
    for shown in ["c01", "ada@example.com", "Berlin, DE", "signup_source", "ads"] {
        assert!(html.contains(shown), "{shown} is missing");
    }
    let names = |html: &str| -> Vec<String> {
        let doc = Html::parse_document(html);
        let items = Selector::parse(".timeline > li > strong").unwrap();
        doc.select(&items).map(|e| e.text().collect()).collect()
    };
    let first_page = names(&html);
    assert_eq!(first_page.len(), 25);
    assert_eq!(first_page[0], "event_29", "newest first");
    assert_eq!(first_page[24], "event_05");
    let older = link_href(&html, "Older events").unwrap();
    let html = app.get_html(&older).await;
    let second_page = names(&html);
    assert_eq!(
        second_page,
        ["event_04", "event_03", "event_02", "event_01", "event_00"]
    );
    assert!(link_href(&html, "Older events").is_none());
    assert!(html.contains("Newest events"));

    let bad = app.get(&format!("{}?before=abc", profile_path(id))).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

async fn another_workspaces_customer_is_not_found(backend: Backend) {
    let app = owner_app(backend).await;
    let ids = arrange(&app, &known_customers());
    let other_id = {
        let mut conn = app.db();
        let other = store::workspaces::insert(&mut conn, "Other Shop", "other-shop", "site-other").unwrap();
        let row = crowd(other.id).remove(1);
        store::bulk_load::insert_customers(&mut conn, &[row]).unwrap()[0].0
    };

    let theirs = app.get(&profile_path(other_id)).await;
    let unknown = app.get(&profile_path(999_999)).await;
    let not_a_number = app.get(&format!("/w/{WORKSPACE_SLUG}/customers/abc")).await;
    let ours = app.get(&profile_path(ids["c02"])).await;

    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    assert!(!theirs.text().await.unwrap().contains("crowd1@example.com"));
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(not_a_number.status(), StatusCode::NOT_FOUND);
    assert_eq!(ours.status(), StatusCode::OK);
    assert!(!listed_for(&app, "").await.contains(&other_id));
}

async fn customer_data_is_escaped(backend: Backend) {
    let app = owner_app(backend).await;
    let attack = "<img src=x onerror=alert(1)>";
    let ids = arrange(
        &app,
        &[known(
            "x01",
            Some(attack),
            Some("x@example.com"),
            "DE",
            "<b>Berlin</b>",
            1,
            r#"{"<i>key</i>":"<script>alert(2)</script>"}"#,
        )],
    );

    let list = app.get_html(&list_path("")).await;
    let profile = app.get_html(&profile_path(ids["x01"])).await;
    let searched = app.get_html(&list_path("q=%3Cimg")).await;

    for page in [&list, &profile, &searched] {
        assert!(
            !page.contains("<img src=x"),
            "markup from customer data was not escaped"
        );
        assert!(!page.contains("<b>Berlin</b>"));
    }
    // Escaped, the markup is shown as the text it is.
    assert_eq!(text_of(&list, "table.data tbody th a").unwrap(), attack);
    assert_eq!(text_of(&searched, "table.data tbody th a").unwrap(), attack);
    assert_eq!(text_of(&profile, "h1").unwrap(), attack);
    assert!(!profile.contains("<script>alert(2)</script>"));
    assert!(!profile.contains("<i>key</i>"));
}

/// `erasure create-owner` then `erasure seed` on a fresh SQLite file.
fn seeded_database(dir: &std::path::Path, file: &str, seed: &str) -> (String, std::process::Output) {
    let url = format!("sqlite://{}", dir.join(file).display());
    let mut owner = Command::new(env!("CARGO_BIN_EXE_erasure"))
        .args([
            "create-owner",
            "--email",
            "seed@example.com",
            "--name",
            "Seed Owner",
        ])
        .args(["--password-stdin", "--workspace", "Seeded"])
        .env("DATABASE_URL", &url)
        .env("DATA_DIR", dir.join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    owner
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    assert!(owner.wait_with_output().unwrap().status.success());
    let output = Command::new(env!("CARGO_BIN_EXE_erasure"))
        .args(["seed", "--workspace", "seeded", "--customers", "200"])
        .args(["--events-per-customer", "3", "--seed", seed])
        .env("DATABASE_URL", &url)
        .env("DATA_DIR", dir.join("data"))
        .output()
        .unwrap();
    (url, output)
}

type SeededRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    NaiveDateTime,
);

fn seeded_rows(url: &str) -> (i64, i64, Vec<SeededRow>) {
    let path = url.strip_prefix("sqlite://").unwrap();
    let mut conn = diesel::SqliteConnection::establish(path).unwrap();
    let customers_count: i64 = customers::table.count().get_result(&mut conn).unwrap();
    let events_count: i64 = erasure::db::schema::events::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    let rows = customers::table
        .order(customers::id)
        .select((
            customers::external_id,
            customers::name,
            customers::country,
            customers::attributes,
            customers::last_seen_at,
        ))
        .load(&mut conn)
        .unwrap();
    (customers_count, events_count, rows)
}

#[test]
fn seeding_fills_a_workspace_the_same_way_for_the_same_seed() {
    let dir = tempfile::tempdir().unwrap();

    let (first_url, first) = seeded_database(dir.path(), "first.db", "7");
    let (second_url, second) = seeded_database(dir.path(), "second.db", "7");

    for output in [&first, &second] {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("seeded 200 customers and 600 events into /w/seeded"),
            "{stdout}"
        );
    }
    let (customers_count, events_count, rows) = seeded_rows(&first_url);
    assert_eq!((customers_count, events_count), (200, 600));
    assert_eq!(rows, seeded_rows(&second_url).2, "same seed, same customers");
    assert_eq!(rows[0].0.as_deref(), Some("cust-1"));
    assert!(rows[0].3.contains(r#""plan":"#) && rows[0].3.contains(r#""signup_source":"#));
    let countries: BTreeSet<_> = rows.iter().filter_map(|r| r.2.clone()).collect();
    assert!(countries.len() >= 15, "customers spread over many countries");
}

#[test]
fn seeding_an_unknown_workspace_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("empty.db").display());

    let output = Command::new(env!("CARGO_BIN_EXE_erasure"))
        .args(["seed", "--workspace", "nowhere", "--customers", "5"])
        .env("DATABASE_URL", &url)
        .env("DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no workspace has the slug \"nowhere\""));
}

async fn a_bulk_form_mistake_returns_to_the_list_with_its_filters_and_the_reason(backend: Backend) {
    let app = owner_app(backend).await;
    app.sql(
        "INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         VALUES (1, 'de-1', 'DE', '{}', '2026-01-01 00:00:00', '2026-11-01 00:00:00')",
    );
    let bulk = format!("/w/{WORKSPACE_SLUG}/customers/bulk");

    // "Delete selected" with nothing ticked.
    let nothing = app
        .post_form(&bulk, &[("intent", "delete_selected"), ("country", "DE")])
        .await;
    assert_eq!(nothing.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&nothing),
        list_path("country=DE"),
        "back to the same list"
    );
    let page = app.get_html(&list_path("country=DE")).await;
    assert!(page.contains("Nothing was selected"), "the reason is told");
    assert!(page.contains(r#"<nav"#), "a page with its navigation");

    // "Delete filtered" with a date that is no date.
    let bad_date = app
        .post_form(
            &bulk,
            &[
                ("intent", "delete_filtered"),
                ("country", "DE"),
                ("seen_from", "2026-13-45"),
            ],
        )
        .await;
    assert_eq!(bad_date.status(), StatusCode::SEE_OTHER);
    let back = location(&bad_date);
    assert_eq!(back, list_path("country=DE&seen_from=2026-13-45"));
    let response = app.get(&back).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(r#"id="filter-seen_from-error""#),
        "the error is beside its field"
    );
    assert!(html.contains(r#"value="2026-13-45""#), "what was typed is kept");
    assert_eq!(app.count("jobs"), 0, "no preview was made");
}
