//! A search that matches many customers reads the sort index and checks each row; one
//! that matches few is looked up in the trigram index. Whichever plan a page takes,
//! its rows, its next page and its count are the ones a plain filter over every
//! customer gives.

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use erasure::db::schema::workspaces;
use erasure::domain::{CustomerFilter, CustomerStatus};
use erasure::store;
use erasure::store::bulk_load::CustomerRow;
use scraper::{Html, Selector};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    every_search_plan_gives_the_pages_a_plain_filter_gives,
    a_costly_count_is_left_for_later_and_counted_apart,
    combined_filters_over_many_customers_are_counted_apart,
);

const PAGE_SIZE: i64 = 50;

/// The search plan follows a sample of the customers that the server keeps once per
/// process; the two engines' tests take turns so that each samples its own database.
static ONE_SAMPLE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Clone)]
struct Person {
    id: i64,
    name: Option<String>,
    email: Option<String>,
    external_id: String,
    country: String,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
    archived_at: Option<NaiveDateTime>,
}

/// Six hundred customers: "Ada" in three of ten names, one "Zyxwv", "Dormant" the
/// half seen longest ago, domains of a quarter each, addresses in capitals, customers without a name or an address, and
/// many sharing a last-seen or creation time (so pages split between equal keys).
fn people(at: NaiveDateTime) -> Vec<Person> {
    let firsts = ["Grace", "Alan", "Linus", "Barbara", "Edsger", "Radia", "Hedy"];
    let lasts = ["Lovelace", "Hopper", "Turing"];
    let domains = ["gmail.com", "yahoo.com", "web.de", "mail.example"];
    (0..600i64)
        .map(|n| {
            let first = match n {
                77 => "Zyxwv",
                _ if n % 10 < 3 => "Ada",
                _ => firsts[(n as usize / 10) % firsts.len()],
            };
            // The half seen longest ago are "Dormant": a walk newest first reads the
            // other half before it finds them.
            let days = n * 37 % 90;
            let last = if days >= 45 {
                "Dormant"
            } else {
                lasts[n as usize % 3]
            };
            let name = (n % 50 != 13).then(|| format!("{first} {last}"));
            let email = (n % 45 != 0).then(|| {
                let email = format!("user{n}@{}", domains[n as usize % 4]);
                if n % 7 == 0 {
                    email.to_uppercase()
                } else {
                    email
                }
            });
            // Half an hour off every day boundary, so that the status agrees whenever it is judged.
            let last_seen_at = at - Duration::days(days) - Duration::hours(n % 5) - Duration::minutes(30);
            Person {
                id: 0,
                name,
                email,
                external_id: format!("c-{n}"),
                country: ["DE", "FR", "JP"][(n as usize / 2) % 3].to_owned(),
                created_at: last_seen_at - Duration::days(n % 11),
                last_seen_at,
                archived_at: (n % 17 == 0).then(|| at - Duration::days(1)),
            }
        })
        .collect()
}

/// The matches of `query` in page order, by the rules in Rust.
fn expected(people: &[Person], query: &str, at: NaiveDateTime) -> Vec<i64> {
    let mut found: Vec<&Person> = people.iter().collect();
    let mut sort = "last_seen".to_owned();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "q" => {
                let q = value.to_lowercase();
                found.retain(|p| {
                    [
                        p.name.as_deref(),
                        p.email.as_deref(),
                        Some(p.external_id.as_str()),
                    ]
                    .into_iter()
                    .flatten()
                    .any(|text| text.to_lowercase().contains(&q))
                });
            }
            "country" => found.retain(|p| p.country == value),
            "status" => {
                found.retain(|p| CustomerStatus::of(p.last_seen_at, p.archived_at, at).key() == value)
            }
            "seen_from" => {
                let day = chrono::NaiveDate::parse_from_str(&value, "%Y-%m-%d").unwrap();
                found.retain(|p| p.last_seen_at.date() >= day);
            }
            "sort" => sort = value,
            other => panic!("no rule for {other}"),
        }
    }
    match sort.as_str() {
        "last_seen" => found.sort_by_key(|p| std::cmp::Reverse((p.last_seen_at, p.id))),
        "created" => found.sort_by_key(|p| std::cmp::Reverse((p.created_at, p.id))),
        "name" => found.sort_by(|a, b| match (&a.name, &b.name) {
            (Some(x), Some(y)) => (x, a.id).cmp(&(y, b.id)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.id.cmp(&b.id),
        }),
        other => panic!("no sort {other}"),
    }
    found.into_iter().map(|p| p.id).collect()
}

fn listed_ids(html: &str) -> Vec<i64> {
    let doc = Html::parse_document(html);
    let selector = Selector::parse(r#"form#bulk table input[type="checkbox"][name="ids"]"#).unwrap();
    doc.select(&selector)
        .map(|e| e.value().attr("value").unwrap().parse().unwrap())
        .collect()
}

fn shown_count(html: &str) -> Option<i64> {
    let doc = Html::parse_document(html);
    let selector = Selector::parse(".page-head .count").unwrap();
    let text: String = doc.select(&selector).next()?.text().collect();
    text.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

fn previous_href(html: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let selector = Selector::parse(r#"a[rel="prev"]"#).unwrap();
    doc.select(&selector)
        .next()
        .map(|a| a.value().attr("href").unwrap().replace("&amp;", "&"))
}

fn next_href(html: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let selector = Selector::parse(r#"a[rel="next"]"#).unwrap();
    doc.select(&selector)
        .next()
        .map(|a| a.value().attr("href").unwrap().replace("&amp;", "&"))
}

/// The six hundred customers in the test workspace, with their ids; the trigram
/// sample taken of them.
fn arrange(app: &TestApp, at: NaiveDateTime) -> Vec<Person> {
    let mut people = people(at);
    {
        let mut conn = app.db();
        let workspace_id: i64 = workspaces::table
            .filter(workspaces::slug.eq(WORKSPACE_SLUG))
            .select(workspaces::id)
            .first(&mut **conn)
            .unwrap();
        let rows: Vec<CustomerRow> = people
            .iter()
            .map(|p| CustomerRow {
                workspace_id,
                external_id: Some(p.external_id.clone()),
                email: p.email.clone(),
                phone: None,
                name: p.name.clone(),
                country: Some(p.country.clone()),
                city: None,
                attributes: "{}".to_owned(),
                created_at: p.created_at,
                last_seen_at: p.last_seen_at,
            })
            .collect();
        let ids = store::bulk_load::insert_customers(&mut conn, &rows).unwrap();
        for (person, (id, _)) in people.iter_mut().zip(ids) {
            person.id = id;
        }
        for person in people.iter().filter(|p| p.archived_at.is_some()) {
            diesel::update(erasure::db::schema::customers::table.find(person.id))
                .set(erasure::db::schema::customers::archived_at.eq(person.archived_at))
                .execute(&mut **conn)
                .unwrap();
        }
        store::maintenance::sample_search_trigrams(&mut conn).unwrap();
    }
    people
}

async fn every_search_plan_gives_the_pages_a_plain_filter_gives(backend: Backend) {
    let _turn = ONE_SAMPLE_AT_A_TIME.lock().await;
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let at = Utc::now().naive_utc();
    let people = arrange(&app, at);
    {
        let mut conn = app.db();
        // The data makes both plans: common searches walk, rare ones use the index.
        let walks = |conn: &mut erasure::db::DbConnection, query: &str| {
            let filter = CustomerFilter::from_query_string(query).unwrap();
            store::customers::search_walks(conn, &filter, PAGE_SIZE).unwrap()
        };
        for common in ["q=ada", "q=GMAIL", "q=lovelace&country=DE", "q=dormant"] {
            assert!(walks(&mut conn, common), "{common} walks the sort index");
        }
        for rare in ["q=zyxwv", "q=user124%40gmail.com", "q=c-1", "country=DE"] {
            assert!(!walks(&mut conn, rare), "{rare} uses the trigram index");
        }
    }

    let seen_from = (at - Duration::days(30)).date();
    let searches = [
        "ada",
        "GMAIL",
        "gmail.com",
        "lovelace",
        "dormant",
        "zyxwv",
        "user124%40gmail.com",
        "USER147",
        "c-1",
    ];
    let filters = [
        String::new(),
        "&country=DE".to_owned(),
        "&status=active".to_owned(),
        "&status=inactive".to_owned(),
        "&status=anonymous".to_owned(),
        format!("&seen_from={seen_from}"),
    ];
    let mut pages_seen = 0;
    for q in searches {
        for filter in &filters {
            for sort in ["", "&sort=created", "&sort=name"] {
                let query = format!("q={q}{filter}{sort}");
                let want = expected(&people, &query, at);
                let mut got = Vec::new();
                let mut path = Some(format!("/w/{WORKSPACE_SLUG}/customers?{query}"));
                let mut page = 0;
                let mut pages: Vec<Vec<i64>> = Vec::new();
                let mut last_html = String::new();
                while let Some(at_path) = path.take() {
                    let html = app.get_html(&at_path).await;
                    let ids = listed_ids(&html);
                    let first = page * PAGE_SIZE as usize;
                    let last = (first + PAGE_SIZE as usize).min(want.len());
                    assert_eq!(ids, want[first.min(last)..last], "?{query}, page {}", page + 1);
                    if !want.is_empty() {
                        // Counted with the page, or (many matches) by the count endpoint.
                        let counted = match shown_count(&html) {
                            Some(counted) => counted,
                            None => {
                                let (json_href, _) = count_link(&html).expect("a count or where it is");
                                let (_, body) =
                                    json_count(&app, &app.client, &json_href.replace("&amp;", "&")).await;
                                body["count"].as_i64().unwrap()
                            }
                        };
                        assert_eq!(counted, want.len() as i64, "count of ?{query}");
                    }
                    got.extend(ids.iter().copied());
                    pages.push(ids);
                    path = next_href(&html);
                    assert_eq!(
                        path.is_some(),
                        last < want.len(),
                        "a next page of ?{query} after {last}"
                    );
                    last_html = html;
                    page += 1;
                    pages_seen += 1;
                    assert!(page <= 20, "?{query} pages on and on");
                }
                assert_eq!(got, want, "all of ?{query}");
                // And back again, page by page from the last: each read backward (whichever
                // plan it takes) is the page read forward.
                let mut back = previous_href(&last_html);
                let mut at_page = pages.len().saturating_sub(1);
                while let Some(at_path) = back.take() {
                    at_page -= 1;
                    let html = app.get_html(&at_path).await;
                    assert_eq!(
                        listed_ids(&html),
                        pages[at_page],
                        "?{query}, back to page {}",
                        at_page + 1
                    );
                    back = previous_href(&html);
                }
                assert_eq!(at_page, 0, "?{query}: back to the first page");
            }
        }
    }
    assert!(pages_seen > 200);
}

fn count_link(html: &str) -> Option<(String, String)> {
    let doc = Html::parse_document(html);
    let selector = Selector::parse(".page-head .count[data-count-url]").unwrap();
    let count = doc.select(&selector).next()?;
    let link = count
        .select(&Selector::parse("a[data-count-link]").unwrap())
        .next()
        .unwrap();
    Some((
        count.value().attr("data-count-url").unwrap().to_owned(),
        link.value().attr("href").unwrap().to_owned(),
    ))
}

async fn json_count(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
) -> (reqwest::StatusCode, serde_json::Value) {
    let response = app.get_with(client, path).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

async fn a_costly_count_is_left_for_later_and_counted_apart(backend: Backend) {
    let _turn = ONE_SAMPLE_AT_A_TIME.lock().await;
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let at = Utc::now().naive_utc();
    let people = arrange(&app, at);
    let list = format!("/w/{WORKSPACE_SLUG}/customers");

    // Many matches: the page comes at once, saying it is still counting.
    for query in ["q=ada", "q=ada&country=DE&sort=name", "q=GMAIL&status=inactive"] {
        let want = expected(&people, query, at);
        assert!(want.len() > PAGE_SIZE as usize, "{query} spans pages");
        let html = app.get_html(&format!("{list}?{query}")).await;
        assert_eq!(listed_ids(&html), want[..PAGE_SIZE as usize], "?{query}");
        assert_eq!(shown_count(&html), None, "no number yet for ?{query}");
        assert!(html.contains("still counting"), "?{query} says so");
        let (json_href, exact_href) = count_link(&html).expect("where the count is");
        assert!(json_href.starts_with(&format!("{list}/count?")), "{json_href}");

        // The script's count.
        let (status, body) = json_count(&app, &app.client, &json_href.replace("&amp;", "&")).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        assert_eq!(body["count"], want.len() as i64, "count of ?{query}");
        assert_eq!(body["text"], format!("{} customers match", want.len()));

        // Without the script: the same page, counted.
        let html = app.get_html(&exact_href.replace("&amp;", "&")).await;
        assert_eq!(shown_count(&html), Some(want.len() as i64), "counted ?{query}");
        assert_eq!(listed_ids(&html), want[..PAGE_SIZE as usize], "the same page");
        assert!(count_link(&html).is_none());
    }
    // Few matches, or all on one page: counted with the page.
    for query in [
        "q=zyxwv",
        "q=user124%40gmail.com",
        "q=ada&status=anonymous",
        "country=DE",
    ] {
        let html = app.get_html(&format!("{list}?{query}")).await;
        assert_eq!(
            shown_count(&html),
            Some(expected_count(&people, query, at)),
            "?{query}"
        );
        assert!(count_link(&html).is_none(), "?{query} counted at once");
    }
    // The endpoint counts any filter the list takes, and refuses what it cannot read.
    for query in [
        "",
        "q=zyxwv",
        "country=DE&status=active",
        "q=lovelace&seen_from=2000-01-01",
    ] {
        let (status, body) = json_count(&app, &app.client, &format!("{list}/count?{query}")).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        assert_eq!(body["count"], expected_count(&people, query, at), "?{query}");
    }
    let (status, _) = json_count(&app, &app.client, &format!("{list}/count?status=sleepy")).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);

    // A viewer without `customers.view_pii` is counted the list they are shown: their
    // search runs over internal ids only, never over names.
    let viewer = crate::helpers::arrange::member_with_permissions(
        &app,
        "viewer@example.com",
        "Viewers",
        &["customers.view"],
    )
    .await;
    let shown = app.get_html_with(&viewer, &format!("{list}?q=ada")).await;
    let (status, body) = json_count(&app, &viewer, &format!("{list}/count?q=ada")).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_ne!(
        body["count"],
        expected_count(&people, "q=ada", at),
        "no search over names"
    );
    assert_eq!(
        Some(body["count"].as_i64().unwrap()),
        shown_count(&shown),
        "as the list shows"
    );
    let one = people[5].id;
    let (_, body) = json_count(&app, &viewer, &format!("{list}/count?q=cio_{one}")).await;
    assert_eq!(body["count"], 1, "an internal id is theirs to search");

    // Another workspace's list is not there, nor its count.
    app.sql(
        "INSERT INTO workspaces (name, slug, site_id, identifier_mode, pii_keys, created_at) \
         VALUES ('Other Shop', 'other-shop', 'othersiteid', 'id', '[]', '2026-01-01 00:00:00');",
    );
    app.sql(
        "INSERT INTO customers (workspace_id, external_id, name, attributes, created_at, last_seen_at) \
         SELECT id, 'o-1', 'Ada Other', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00' \
         FROM workspaces WHERE slug = 'other-shop'",
    );
    for client in [&app.client, &viewer] {
        let (status, body) = json_count(&app, client, "/w/other-shop/customers/count?q=ada").await;
        assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{body}");
        assert!(body.get("count").is_none());
    }
}

fn expected_count(people: &[Person], query: &str, at: NaiveDateTime) -> i64 {
    expected(people, query, at).len() as i64
}

/// Two filters together are counted with the page only while that reads no more than
/// `CHEAP_COUNT_LIMIT` customers; one filter alone always is, from the tallies.
async fn combined_filters_over_many_customers_are_counted_apart(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let at = Utc::now().naive_utc();
    let limit = store::customers::CHEAP_COUNT_LIMIT;
    let (active, inactive, in_hamburg) = (limit + 40, 30, 70);
    {
        let workspace_id = crate::helpers::api::workspace(&app).id;
        let mut conn = app.db();
        let rows: Vec<CustomerRow> = (0..active + inactive)
            .map(|n| {
                let days = if n < active { n % 20 } else { 60 + n % 20 };
                let last_seen_at = at - Duration::days(days) - Duration::minutes(30);
                CustomerRow {
                    workspace_id,
                    external_id: Some(format!("many-{n}")),
                    email: None,
                    phone: None,
                    name: None,
                    country: Some("DE".to_owned()),
                    city: Some(if n < in_hamburg { "Hamburg" } else { "Berlin" }.to_owned()),
                    attributes: "{}".to_owned(),
                    created_at: last_seen_at,
                    last_seen_at,
                }
            })
            .collect();
        store::bulk_load::insert_customers(&mut conn, &rows).unwrap();
    }
    let list = format!("/w/{WORKSPACE_SLUG}/customers");

    // Over the limit: the page at once, its count apart.
    let query = "country=DE&status=active";
    let html = app.get_html(&format!("{list}?{query}")).await;
    assert_eq!(listed_ids(&html).len(), PAGE_SIZE as usize);
    assert_eq!(shown_count(&html), None, "no number yet for ?{query}");
    assert!(html.contains("still counting"), "?{query} says so");
    let (json_href, exact_href) = count_link(&html).expect("where the count is");
    let (status, body) = json_count(&app, &app.client, &json_href.replace("&amp;", "&")).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["count"], active, "the script's count");
    let html = app.get_html(&exact_href.replace("&amp;", "&")).await;
    assert_eq!(shown_count(&html), Some(active), "counted without the script");

    // One filter alone, or two that match fewer than the limit: counted with the page.
    for (query, want) in [
        ("country=DE", active + inactive),
        ("status=active", active),
        ("country=DE&status=inactive", inactive),
        ("country=DE&city=hamburg", in_hamburg),
        ("city=Hamburg&status=active", in_hamburg),
    ] {
        let html = app.get_html(&format!("{list}?{query}")).await;
        assert_eq!(shown_count(&html), Some(want), "?{query}");
        assert!(count_link(&html).is_none(), "?{query} counted at once");
    }
}
