//! Big previews answer at once: the bulk form redirects to the preview while the set is
//! frozen in the background, the page and its status fill in, and nothing confirms the
//! set before it is whole. And the preview says exactly what it will do, in numbers
//! that read the same on every page.

use std::time::Duration;

use reqwest::StatusCode;
use scraper::{Html, Selector};
use serde_json::Value;

use crate::helpers::arrange::{add_user_with_role, member_with_permissions, NewPerson};
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_large_preview_answers_at_once_fills_in_and_is_confirmed_only_once_frozen,
    the_status_is_for_this_workspace_and_for_those_who_may_act_on_the_preview,
    a_set_that_turns_out_to_be_everyone_as_it_freezes_needs_delete_all_and_the_owner_s_code,
    a_discarded_freeze_stops_and_leaves_nothing_behind,
    the_preview_says_how_many_in_words_and_numbers,
    cancel_returns_to_the_list_with_its_filters_however_often_the_page_reloads,
    counts_read_with_thousands_separators_on_every_page_and_message,
);

const WS: &str = "/w/acme-shop";

/// The owner's app, freezing and erasing `batch` customers a batch, where bulk erasures
/// of any size but "everyone" need no owner's code (tests/api/owner_code.rs has it).
async fn owner_app(backend: Backend, batch: i64) -> TestApp {
    let app = spawn_app_with(backend, Box::new(move |settings| settings.job_batch_size = batch)).await;
    app.setup_owner().await;
    app.sql("UPDATE workspaces SET owner_code_threshold = 1000000");
    app
}

/// `count` customers `{prefix}-1` … in `country`, without email, each with one event, in
/// one statement (both engines know recursive CTEs).
fn arrange_many(app: &TestApp, count: usize, prefix: &str, country: &str) {
    app.sql(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
         INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         SELECT 1, '{prefix}-' || i, '{country}', '{{}}', '2026-01-01 00:00:00', '2026-11-01 00:00:00' FROM n;
         INSERT INTO events (workspace_id, customer_id, name, properties, occurred_at) \
         SELECT 1, id, 'seen', '{{}}', '2026-10-01 00:00:00' FROM customers WHERE external_id LIKE '{prefix}-%'"
    ));
}

fn hold(app: &TestApp, external_ids: &[&str]) {
    let list = external_ids
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(", ");
    app.sql(&format!(
        "UPDATE customers SET legal_hold_reason = 'litigation', legal_hold_at = '2026-01-01 00:00:00' \
         WHERE external_id IN ({list})"
    ));
}

/// Posts the list's bulk form; returns the preview's path.
async fn preview_with(app: &TestApp, client: &reqwest::Client, fields: &[(&str, &str)]) -> String {
    let response = app
        .post_form_with(client, &format!("{WS}/customers/bulk"), fields)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    let to = location(&response);
    assert!(to.starts_with(&format!("{WS}/jobs/")), "{to}");
    to
}

async fn preview(app: &TestApp, fields: &[(&str, &str)]) -> String {
    preview_with(app, &app.client, fields).await
}

async fn status(app: &TestApp, job: &str) -> Value {
    app.get(&format!("{job}/progress.json"))
        .await
        .json()
        .await
        .unwrap()
}

async fn wait_for_end(app: &TestApp, job: &str) -> Value {
    for _ in 0..1200 {
        let now = status(app, job).await;
        if now["finished"] == true {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{job} did not end within a minute");
}

fn job_id(job: &str) -> i64 {
    job.rsplit('/').next().unwrap().parse().unwrap()
}

fn select_all(html: &str, css: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let selector = Selector::parse(css).unwrap();
    doc.select(&selector)
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

/// The plain confirm form's button on a preview page (not the one that takes the
/// owner's code), and whether it is disabled.
fn confirm_button(html: &str) -> Option<(String, bool)> {
    let doc = Html::parse_document(html);
    let forms = Selector::parse("form").unwrap();
    let button = Selector::parse(r#"button[type="submit"]"#).unwrap();
    doc.select(&forms)
        .filter(|form| {
            form.value()
                .attr("action")
                .is_some_and(|a| a.ends_with("/confirm") && !a.ends_with("/code/confirm"))
        })
        .find_map(|form| form.select(&button).next())
        .map(|button| {
            (
                button.text().collect::<String>().trim().to_owned(),
                button.value().attr("disabled").is_some(),
            )
        })
}

/// The page's own text, without its markup and form tokens.
fn main_text(html: &str) -> String {
    select_all(html, "main").join(" ")
}

fn heading(html: &str) -> String {
    select_all(html, "h1").into_iter().next().unwrap_or_default()
}

async fn a_large_preview_answers_at_once_fills_in_and_is_confirmed_only_once_frozen(backend: Backend) {
    // Three customers a batch: a thousand batches to freeze.
    let app = owner_app(backend, 3).await;
    arrange_many(&app, 3000, "nl", "NL");
    arrange_many(&app, 5, "be", "BE");
    hold(&app, &["nl-7", "nl-2500"]);

    let job = preview(&app, &[("intent", "delete_filtered"), ("country", "NL")]).await;

    // The form answered before the set was whole: it is still being frozen, after the
    // first batch the request froze itself.
    let first = status(&app, &job).await;
    assert_eq!(first["frozen"], false, "{first}");
    assert_eq!(first["state"], "preview");
    let so_far = first["frozen_customers"].as_i64().unwrap();
    assert!(so_far > 0 && so_far < 3000, "{first}");
    assert_eq!(first["expected_customers"], 3000, "the list's own count");

    // Confirming now is refused, with the reason on the page, and changes nothing.
    let early = app.post_form(&format!("{job}/confirm"), &[]).await;
    assert_eq!(early.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&early), job);
    let page = app.get_html(&job).await;
    assert!(page.contains("still being frozen"), "{page}");
    assert_eq!(app.audited("job.started"), 0);
    assert_eq!(status(&app, &job).await["state"], "preview");

    // While it freezes the page shows the bar, refreshes itself without scripts, and its
    // confirm button is disabled.
    assert_eq!(select_all(&page, "progress#freeze-progress").len(), 1, "{page}");
    assert!(page.contains(r#"<meta http-equiv="refresh""#));
    let (_, disabled) = confirm_button(&page).expect("a confirm button");
    assert!(disabled, "the button waits for the whole set");

    // The status fills in until the set is whole.
    let mut seen = vec![so_far];
    let frozen = loop {
        let now = status(&app, &job).await;
        let customers = now["frozen_customers"].as_i64().unwrap();
        assert!(
            customers >= *seen.last().unwrap(),
            "counts only grow: {seen:?} then {customers}"
        );
        if now["frozen"] == true {
            break now;
        }
        seen.push(customers);
        assert!(seen.len() < 3000, "the freeze does not end");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    seen.dedup();
    assert!(seen.len() >= 2, "the counts filled in: {seen:?}");
    assert_eq!(frozen["frozen_customers"], 3000);
    assert_eq!(frozen["held"], 2);
    assert_eq!(frozen["events"], 3000);
    assert_eq!(frozen["freeze_percent"], 100);
    assert_eq!(app.count("job_targets"), 3000, "exactly the matches, once each");

    // Now the page says exactly what it will do, with the sample and an enabled button.
    let page = app.get_html(&job).await;
    assert_eq!(
        heading(&page),
        "Delete 3,000 customers (2 on legal hold will be skipped)?"
    );
    assert!(
        !page.contains(r#"http-equiv="refresh""#),
        "no refresh once frozen"
    );
    assert!(page.contains("The first 10 of 3,000"));
    let (label, disabled) = confirm_button(&page).expect("a confirm button");
    assert!(!disabled);
    assert_eq!(label, "Delete 3,000 customers (2 on legal hold will be skipped)");

    // Customers who start matching after the freeze are not touched.
    arrange_many(&app, 4, "nl-late", "NL");
    let confirmed = app.post_form(&format!("{job}/confirm"), &[]).await;
    assert_eq!(location(&confirmed), job);
    let ended = wait_for_end(&app, &job).await;
    assert_eq!(ended["state"], "done");
    assert_eq!(ended["done"], 2998);
    assert_eq!(ended["skipped_held"], 2);
    assert_eq!(ended["skipped_missing"], 0);
    assert_eq!(
        app.number("SELECT COUNT(*) AS v FROM customers WHERE country = 'NL'"),
        2 + 4,
        "the held and the late"
    );
    assert_eq!(
        app.number("SELECT COUNT(*) AS v FROM customers WHERE country = 'BE'"),
        5
    );
    assert_eq!(app.audited("job.started"), 1);
    assert_eq!(app.audited("job.finished"), 1);
}

async fn the_status_is_for_this_workspace_and_for_those_who_may_act_on_the_preview(backend: Backend) {
    let app = owner_app(backend, 2).await;
    arrange_many(&app, 400, "nl", "NL");
    arrange_many(&app, 2, "be", "BE");
    let created = app
        .post_form("/settings/workspaces", &[("name", "Second Shop")])
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    add_user_with_role(&app, "member@example.com", "member password 123", "member");
    let member = new_client();
    app.login_with(&member, "member@example.com", "member password 123")
        .await;
    let deleter = member_with_permissions(
        &app,
        "deleter@example.com",
        "Deleter",
        &["customers.view", "customers.delete"],
    )
    .await;

    let job = preview(&app, &[("intent", "delete_filtered"), ("country", "NL")]).await;
    let id = job_id(&job);
    let denied_before = app.audited("permission.denied");

    // Another workspace's address does not know this preview, even for its owner.
    let elsewhere = app.get(&format!("/w/second-shop/jobs/{id}/progress.json")).await;
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    // A member of this workspace who may not delete is refused, and it is recorded.
    let refused = app.get_with(&member, &format!("{job}/progress.json")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.audited("permission.denied"), denied_before + 1);
    // Nor may they reach the other workspace at all.
    let outside = app
        .get_with(&member, &format!("/w/second-shop/jobs/{id}/progress.json"))
        .await;
    assert!(
        matches!(outside.status(), StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{}",
        outside.status()
    );
    // Signed out, nothing.
    let anonymous = new_client();
    let signed_out = app.get_with(&anonymous, &format!("{job}/progress.json")).await;
    assert!(
        signed_out.status() == StatusCode::UNAUTHORIZED || signed_out.status() == StatusCode::SEE_OTHER,
        "{}",
        signed_out.status()
    );
    // Someone who may delete here sees it fill in, like its owner.
    let theirs: Value = app
        .get_with(&deleter, &format!("{job}/progress.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["state"], "preview");
    assert!(theirs["frozen_customers"].as_i64().unwrap() > 0, "{theirs}");
    for body in [refused.text().await.unwrap(), elsewhere.text().await.unwrap()] {
        assert!(!body.contains("frozen_customers"), "no counts leak: {body}");
    }

    let frozen = app.wait_until_frozen(&job).await;
    assert_eq!(frozen["frozen_customers"], 400);
}

async fn a_set_that_turns_out_to_be_everyone_as_it_freezes_needs_delete_all_and_the_owner_s_code(
    backend: Backend,
) {
    let app = owner_app(backend, 2).await;
    arrange_many(&app, 300, "nl", "NL");
    let deleter = member_with_permissions(
        &app,
        "deleter@example.com",
        "Deleter",
        &["customers.view", "customers.delete"],
    )
    .await;

    // No filter at all is everyone from the start: refused at once without delete_all,
    // and said as what it is while it freezes.
    let at_once = app
        .post_form_with(
            &deleter,
            &format!("{WS}/customers/bulk"),
            &[("intent", "delete_filtered")],
        )
        .await;
    assert_eq!(at_once.status(), StatusCode::FORBIDDEN);
    let everyone = preview(&app, &[("intent", "delete_filtered")]).await;
    let page = app.get_html(&everyone).await;
    assert_eq!(heading(&page), "Delete all customers?", "{page}");
    app.post_form(&format!("{everyone}/discard"), &[]).await;

    // A filter that happens to match everyone, known only once the set is whole.
    let theirs = preview_with(
        &app,
        &deleter,
        &[("intent", "delete_filtered"), ("country", "NL")],
    )
    .await;
    let mine = preview(&app, &[("intent", "delete_filtered"), ("country", "NL")]).await;
    assert_eq!(status(&app, &mine).await["frozen"], false);
    app.wait_until_frozen(&mine).await;
    for _ in 0..1200 {
        let still = app.number(&format!(
            "SELECT COUNT(*) AS v FROM jobs WHERE id = {} AND freezing",
            job_id(&theirs)
        ));
        if still == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Whoever may not delete everyone is refused and their preview is dropped.
    let refused = app.get_with(&deleter, &format!("{theirs}/progress.json")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&theirs).await.status(),
        StatusCode::NOT_FOUND,
        "discarded"
    );
    assert_eq!(
        app.number(&format!(
            "SELECT COUNT(*) AS v FROM job_targets WHERE job_id = {}",
            job_id(&theirs)
        )),
        0
    );

    // The owner's own is a delete-all that waits for the owner's code.
    let page = app.get_html(&mine).await;
    assert!(page.contains("This needs the account owner"), "{page}");
    assert!(page.contains("this is a delete-all"), "{page}");
    assert!(confirm_button(&page).is_none(), "no plain confirmation");
    let plain = app.post_form(&format!("{mine}/confirm"), &[]).await;
    assert_eq!(plain.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("customers"), 300);
    assert_eq!(app.audited("job.started"), 0);
}

async fn a_discarded_freeze_stops_and_leaves_nothing_behind(backend: Backend) {
    let app = owner_app(backend, 1).await;
    arrange_many(&app, 2000, "nl", "NL");

    let job = preview(
        &app,
        &[("intent", "delete_filtered"), ("country", "NL"), ("q", "nl-1")],
    )
    .await;
    assert_eq!(status(&app, &job).await["frozen"], false);
    // While freezing, what was asked for is kept, to go on with; nowhere else.
    assert_eq!(
        app.number(&format!(
            "SELECT COUNT(*) AS v FROM jobs WHERE id = {} AND payload LIKE '%nl-1%'",
            job_id(&job)
        )),
        1
    );
    let discarded = app.post_form(&format!("{job}/discard"), &[]).await;
    assert_eq!(discarded.status(), StatusCode::SEE_OTHER);
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(app.get(&job).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.count("job_targets"),
        0,
        "the freeze stopped and its batches went"
    );
    assert_eq!(
        app.number(&format!(
            "SELECT COUNT(*) AS v FROM jobs WHERE id = {} AND (payload <> '{{}}' OR freezing)",
            job_id(&job)
        )),
        0,
        "the typed search is forgotten"
    );
    let late = app.post_form(&format!("{job}/confirm"), &[]).await;
    assert_eq!(late.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count("customers"), 2000);
}

async fn the_preview_says_how_many_in_words_and_numbers(backend: Backend) {
    let app = owner_app(backend, 50_000).await;
    let one = NewPerson::new("solo")
        .email("solo@example.com")
        .name("Solo Person")
        .country("IS")
        .insert(&app);
    for n in 0..3 {
        NewPerson::new(&format!("gb-{n}"))
            .name(&format!("Brit {n}"))
            .country("GB")
            .insert(&app);
    }
    arrange_many(&app, 12, "dk", "DK");
    arrange_many(&app, 1500, "nl", "NL");
    hold(&app, &["nl-1", "nl-2"]);

    // One customer: singular, "this customer".
    let job = preview(&app, &[("intent", "delete_selected"), ("ids", &one.to_string())]).await;
    let page = app.get_html(&job).await;
    assert_eq!(heading(&page), "Delete 1 customer?");
    assert!(page.contains("This customer"), "{page}");
    assert!(select_all(&page, "thead th").contains(&"Email".to_owned()));

    // Three: "these 3", never "the first"; and no column that is empty in every row.
    let job = preview(&app, &[("intent", "archive_filtered"), ("country", "GB")]).await;
    let page = app.get_html(&job).await;
    assert_eq!(heading(&page), "Archive 3 customers?");
    assert!(page.contains("These 3 customers"));
    assert!(!page.contains("The first"));
    assert_eq!(
        select_all(&page, "thead th"),
        ["#", "Customer"],
        "no empty Email or Note column"
    );
    assert_eq!(select_all(&page, "tbody tr").len(), 3);

    // Twelve: "the first 10 of 12".
    let job = preview(&app, &[("intent", "delete_filtered"), ("country", "DK")]).await;
    let page = app.get_html(&job).await;
    assert!(page.contains("The first 10 of 12"), "{page}");
    assert_eq!(select_all(&page, "tbody tr").len(), 10);

    // Many, two held: thousands separators, the held counted, the held column shown.
    let job = preview(&app, &[("intent", "delete_filtered"), ("country", "NL")]).await;
    app.wait_until_frozen(&job).await;
    let page = app.get_html(&job).await;
    assert_eq!(
        heading(&page),
        "Delete 1,500 customers (2 on legal hold will be skipped)?"
    );
    assert!(page.contains("The first 10 of 1,500"));
    let stats = select_all(&page, ".stat-value");
    assert_eq!(
        stats,
        ["1,500", "1,500", "2", "0"],
        "customers, events, held, devices"
    );
    assert!(select_all(&page, "thead th").contains(&"Note".to_owned()));
    assert!(!main_text(&page).contains("1500"), "never without its separator");

    // One held of one: still said.
    hold(&app, &["gb-0"]);
    let job = preview(&app, &[("intent", "delete_filtered"), ("country", "GB")]).await;
    let page = app.get_html(&job).await;
    assert_eq!(
        heading(&page),
        "Delete 3 customers (1 on legal hold will be skipped)?"
    );
}

async fn cancel_returns_to_the_list_with_its_filters_however_often_the_page_reloads(backend: Backend) {
    let app = owner_app(backend, 2).await;
    arrange_many(&app, 1000, "nl", "NL");
    let list = format!("{WS}/customers?country=NL&seen_from=2026-01-01");

    let job = preview(
        &app,
        &[
            ("intent", "delete_filtered"),
            ("country", "NL"),
            ("seen_from", "2026-01-01"),
        ],
    )
    .await;
    // The browser comes from the list it sent the form from …
    let first = app
        .client
        .get(app.url(&job))
        .header("referer", app.url(&list))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let back_of = |html: &str| {
        Html::parse_document(html)
            .select(&Selector::parse(r#"input[name="back"]"#).unwrap())
            .next()
            .and_then(|i| i.value().attr("value").map(str::to_owned))
            .expect("Cancel carries the list to return to")
    };
    assert_eq!(back_of(&first), list);
    // … and, while the set freezes, refreshes itself to an address that names it, as a
    // refresh comes from the page itself.
    // (Inside `<noscript>`, which a parser that runs scripts reads as text.)
    let refresh = first
        .split_once(r#"<meta http-equiv="refresh" content=""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(content, _)| content.replace("&#38;", "&").replace("&amp;", "&"))
        .unwrap_or_else(|| panic!("a page that is still freezing refreshes itself: {first}"));
    let again = refresh.split_once("url=").expect("to an address").1.to_owned();
    assert!(again.starts_with(&job), "{again}");
    let reloaded = app
        .client
        .get(app.url(&again))
        .header("referer", app.url(&job))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(back_of(&reloaded), list, "the filters outlive the reload");

    let cancelled = app
        .post_form(
            &format!("{job}/discard"),
            &[("back", back_of(&reloaded).as_str())],
        )
        .await;
    assert_eq!(location(&cancelled), list, "back to the same list, filters kept");
    // A `from` is only ever the list's query, never another place.
    let other = preview(&app, &[("intent", "delete_filtered"), ("country", "NL")]).await;
    let page = app.get_html(&format!("{other}?from=%2F%2Fevil.example%2F")).await;
    assert!(
        back_of(&page).starts_with(&format!("{WS}/customers?")),
        "{}",
        back_of(&page)
    );
    assert_eq!(app.count("customers"), 1000);
}

async fn counts_read_with_thousands_separators_on_every_page_and_message(backend: Backend) {
    let app = owner_app(backend, 50_000).await;
    arrange_many(&app, 1200, "nl", "NL");
    arrange_many(&app, 1, "be", "BE");

    let list = app.get_html(&format!("{WS}/customers?country=NL")).await;
    assert!(list.contains("1,200 customers match"), "{list}");
    assert!(list.contains("Delete filtered (1,200)"));

    let job = preview(&app, &[("intent", "delete_filtered"), ("country", "NL")]).await;
    app.wait_until_frozen(&job).await;
    let confirmed = app.post_form(&format!("{job}/confirm"), &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let started = app.get_html(&job).await;
    assert!(
        started.contains(&format!(
            "Delete job #{} started for 1,200 customers.",
            job_id(&job)
        )),
        "{started}"
    );
    wait_for_end(&app, &job).await;

    let page = app.get_html(&job).await;
    assert!(
        page.contains("Previewed 1,200, deleted 1,200, skipped 0"),
        "{page}"
    );
    let values = select_all(&page, ".stat-value");
    assert!(values.contains(&"1,200".to_owned()), "{values:?}");
    assert!(!main_text(&page).contains("1200"), "{page}");

    let jobs = app.get_html(&format!("{WS}/jobs")).await;
    assert!(jobs.contains(">1,200<"), "{jobs}");
    assert!(!jobs.contains(">1200<"));

    let receipt_id = app.texts(&format!(
        "SELECT receipt_id AS t FROM jobs WHERE id = {}",
        job_id(&job)
    ));
    let receipt = app.get_html(&format!("{WS}/receipts/{}", receipt_id[0])).await;
    assert!(receipt.contains("<dd>1,200</dd>"), "{receipt}");
    assert!(!receipt.contains("<dd>1200</dd>"));
    // Machines read plain numbers.
    let json: Value = app
        .get(&format!("{WS}/receipts/{}.json", receipt_id[0]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["counts"]["done"], 1200);

    let mail = app
        .mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject().contains("has finished"))
        .await;
    assert!(mail.body().contains("Previewed: 1,200"), "{}", mail.body());
    assert!(mail.body().contains("Events removed: 1,200"), "{}", mail.body());

    let audit = app.get_html(&format!("{WS}/audit")).await;
    let results = select_all(&audit, "td.result");
    assert!(results.iter().any(|r| r.contains("1,200")), "{results:?}");
    assert!(!results.iter().any(|r| r.contains("1200")), "{results:?}");

    // An import's preview and its end say their counts the same way.
    let csv = std::iter::once("id".to_owned())
        .chain((1..=1001).map(|n| format!("imported-{n}")))
        .collect::<Vec<_>>()
        .join("\n");
    let import = crate::import::preflight(&app, &csv).await;
    let page = app.get_html(&import).await;
    assert_eq!(crate::import::text_of(&page, "#to-create"), "1,001");
    assert!(main_text(&page).contains("Import 1,001 customers"), "{page}");
    crate::import::confirm_and_wait(&app, &import).await;
    let page = app.get_html(&import).await;
    assert!(
        crate::import::text_of(&page, "#import-result")
            .starts_with("1,001 imported (1,001 created, 0 updated), 0 skipped."),
        "{page}"
    );
}
