//! Archiving and deleting customers: one, selected, filtered; previews, jobs, receipts.

use reqwest::StatusCode;

use crate::helpers::arrange::{add_user_with_role, NewPerson};
use crate::helpers::*;
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(
    archiving_erases_identifiers_and_keeps_the_activity,
    deleting_one_customer_removes_them_and_their_events_and_leaves_a_receipt,
    deleting_with_suppression_keeps_only_digests,
    delete_selected_previews_then_deletes_exactly_the_ticked_customers,
    delete_filtered_touches_only_the_set_frozen_at_the_preview,
    customers_under_legal_hold_survive_and_are_reported_as_skipped,
    a_member_without_permission_gets_403_and_sees_no_erasure_controls,
    a_discarded_preview_changes_nothing,
    a_preview_says_exactly_what_it_will_do_and_cancel_returns_to_the_same_list,
    cancelling_a_job_stops_it_after_the_batch_in_progress,
);

const WS: &str = "/w/acme-shop";

/// A customer row to arrange.
struct Person<'a> {
    external_id: &'a str,
    email: &'a str,
    name: &'a str,
    country: &'a str,
    events: usize,
}

fn person<'a>(external_id: &'a str, email: &'a str, name: &'a str, country: &'a str) -> Person<'a> {
    Person {
        external_id,
        email,
        name,
        country,
        events: 2,
    }
}

/// Inserts customers (and events whose properties mention their email) straight
/// into the database; returns their internal ids in order.
fn arrange(app: &TestApp, people: &[Person<'_>]) -> Vec<i64> {
    people
        .iter()
        .enumerate()
        .map(|(n, p)| {
            let mut new = NewPerson::new(p.external_id)
                .email(p.email)
                .phone(&format!("+44 7700 900{n:03}"))
                .name(p.name)
                .country(p.country)
                .attributes(json!({ "plan": "pro", "ssn": format!("SSN-{}", p.external_id) }));
            for e in 0..p.events {
                new = new.event(
                    &format!("order_{e}"),
                    json!({ "email": p.email, "note": format!("sent to {}", p.name), "to": p.email, "amount": e }),
                );
            }
            new.insert(app)
        })
        .collect()
}

fn customer_id(app: &TestApp, external_id: &str) -> Option<i64> {
    use diesel::prelude::*;
    use erasure::db::schema::customers;
    let mut conn = app.db();
    customers::table
        .filter(customers::external_id.eq(external_id))
        .select(customers::id)
        .first::<i64>(&mut **conn)
        .optional()
        .unwrap()
}

fn scalar(app: &TestApp, sql: &str) -> i64 {
    use diesel::sql_types::BigInt;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct One {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db();
    diesel::sql_query(sql).get_result::<One>(&mut **conn).unwrap().n
}

fn text(app: &TestApp, sql: &str) -> Option<String> {
    use diesel::sql_types::{Nullable, Text};
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct One {
        #[diesel(sql_type = Nullable<Text>)]
        t: Option<String>,
    }
    let mut conn = app.db();
    diesel::sql_query(sql).get_result::<One>(&mut **conn).unwrap().t
}

/// An owner's app whose workspace lets bulk erasures of any size but "everyone" run
/// without the owner's code (tests/api/owner_code.rs covers the code).
async fn owner_app(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.sql("UPDATE workspaces SET owner_code_threshold = 1000000");
    app
}

/// Posts the list's bulk form and follows it to the preview; returns the job's path.
async fn preview(app: &TestApp, fields: &[(&str, &str)]) -> String {
    let response = app.post_form(&format!("{WS}/customers/bulk"), fields).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    location(&response)
}

/// Confirms a previewed job and waits for it to end; returns its progress JSON.
async fn confirm_and_wait(app: &TestApp, job_path: &str, fields: &[(&str, &str)]) -> serde_json::Value {
    let confirmed = app.post_form(&format!("{job_path}/confirm"), fields).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    for _ in 0..200 {
        let progress: serde_json::Value = app
            .get(&format!("{job_path}/progress.json"))
            .await
            .json()
            .await
            .unwrap();
        if progress["finished"] == true {
            return progress;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the job did not finish");
}

async fn archiving_erases_identifiers_and_keeps_the_activity(backend: Backend) {
    let app = owner_app(backend).await;
    app.sql("UPDATE workspaces SET pii_keys = '[\"ssn\"]'");
    let ids = arrange(
        &app,
        &[
            person("c-1", "ada@example.com", "Ada Lovelace", "GB"),
            person("c-2", "bob@example.com", "Bob Builder", "GB"),
        ],
    );
    let ada = ids[0];

    let confirm = app.get_html(&format!("{WS}/customers/{ada}/archive")).await;
    assert!(confirm.contains("cannot be undone"));
    let response = app.post_form(&format!("{WS}/customers/{ada}/archive"), &[]).await;

    assert_eq!(location(&response), format!("{WS}/customers/{ada}"));
    for column in ["email", "phone", "name", "external_id"] {
        assert_eq!(
            text(
                &app,
                &format!("SELECT {column} AS t FROM customers WHERE id = {ada}")
            ),
            None,
            "{column} erased"
        );
    }
    let attributes = text(
        &app,
        &format!("SELECT attributes AS t FROM customers WHERE id = {ada}"),
    )
    .unwrap();
    assert!(
        attributes.contains("pro") && !attributes.contains("SSN"),
        "{attributes}"
    );
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT COUNT(*) AS n FROM events WHERE customer_id = {ada}")
        ),
        2,
        "activity kept"
    );
    let properties = text(
        &app,
        &format!("SELECT properties AS t FROM events WHERE customer_id = {ada} ORDER BY id LIMIT 1"),
    )
    .unwrap();
    assert!(!properties.contains("ada@example.com"), "{properties}");
    assert!(properties.contains("amount"), "{properties}");
    let page = app.get_html(&format!("{WS}/customers/{ada}")).await;
    assert!(page.contains(&format!("Anonymous customer #{ada}")));
    assert!(!page.contains("Ada Lovelace"));
    // Bob is untouched.
    assert_eq!(
        text(
            &app,
            &format!("SELECT email AS t FROM customers WHERE id = {}", ids[1])
        )
        .as_deref(),
        Some("bob@example.com")
    );
    // Archiving again is a no-op, not an error.
    let again = app.post_form(&format!("{WS}/customers/{ada}/archive"), &[]).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert!(app
        .get_html(&format!("{WS}/customers/{ada}"))
        .await
        .contains("already anonymous"));
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'customer.archived'"
        ),
        2
    );
}

async fn deleting_one_customer_removes_them_and_their_events_and_leaves_a_receipt(backend: Backend) {
    let app = owner_app(backend).await;
    let ids = arrange(
        &app,
        &[
            person("c-1", "ada@example.com", "Ada Lovelace", "GB"),
            person("c-2", "bob@example.com", "Bob Builder", "GB"),
        ],
    );

    let response = app
        .post_form(&format!("{WS}/customers/{}/delete", ids[0]), &[])
        .await;

    assert_eq!(location(&response), format!("{WS}/customers"));
    assert_eq!(app.count("customers"), 1);
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT COUNT(*) AS n FROM events WHERE customer_id = {}", ids[0])
        ),
        0
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) AS n FROM events"),
        2,
        "the other customer's events stay"
    );
    assert_eq!(
        app.get(&format!("{WS}/customers/{}", ids[0])).await.status(),
        StatusCode::NOT_FOUND
    );
    let flash = app.get_html(&format!("{WS}/customers")).await;
    assert!(
        flash.contains("may be used again"),
        "the confirmation says the identifiers stay free"
    );
    let receipt_id = text(&app, "SELECT receipt_id AS t FROM jobs").unwrap();
    let receipt: serde_json::Value = app
        .get(&format!("{WS}/receipts/{receipt_id}.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(receipt["counts"]["done"], 1);
    assert_eq!(receipt["counts"]["events_removed"], 2);
    let hash = receipt["audit_entry_hash"].as_str().unwrap().to_owned();
    assert_eq!(
        text(
            &app,
            "SELECT hash AS t FROM audit_log WHERE action = 'customer.deleted'"
        )
        .unwrap(),
        hash
    );
    let audit = text(
        &app,
        "SELECT target || selection || details AS t FROM audit_log WHERE action = 'customer.deleted'",
    )
    .unwrap();
    assert!(!audit.contains("ada") && !audit.contains("c-1"), "{audit}");
    // A new customer with the same identifier is new: a new id, no history.
    NewPerson::new("c-1").insert(&app);
    let again = customer_id(&app, "c-1").unwrap();
    assert!(again > ids[1], "internal ids are never reused");
}

async fn deleting_with_suppression_keeps_only_digests(backend: Backend) {
    let app = owner_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    let ids = arrange(
        &app,
        &[person(
            "c-secret-id",
            "secret.person@example.com",
            "Sec Ret",
            "GB",
        )],
    );

    app.post_form(
        &format!("{WS}/customers/{}/delete", ids[0]),
        &[("suppress", "on")],
    )
    .await;

    assert_eq!(app.count("customers"), 0);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) AS n FROM suppressions WHERE kind = 'id'"),
        1
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) AS n FROM suppressions WHERE kind = 'email'"
        ),
        1
    );
    let stored = text(&app, "SELECT MIN(digest) AS t FROM suppressions").unwrap();
    assert_eq!(stored.len(), 64, "a hex HMAC-SHA256 digest");
    assert!(!stored.contains("secret"));
    assert!(app
        .get_html(&format!("{WS}/customers"))
        .await
        .contains("suppressed"));
}

async fn delete_selected_previews_then_deletes_exactly_the_ticked_customers(backend: Backend) {
    let app = owner_app(backend).await;
    let ids = arrange(
        &app,
        &[
            person("c-1", "a@example.com", "Ann", "GB"),
            person("c-2", "b@example.com", "Ben", "GB"),
            person("c-3", "c@example.com", "Cat", "DE"),
            person("c-4", "d@example.com", "Dan", "DE"),
        ],
    );
    let (first, third) = (ids[0].to_string(), ids[2].to_string());

    let job = preview(
        &app,
        &[("intent", "delete_selected"), ("ids", &first), ("ids", &third)],
    )
    .await;
    let page = app.get_html(&job).await;
    assert!(
        page.contains("Delete 2 customers"),
        "the button restates the count"
    );
    assert!(page.contains("2 selected customers"));
    assert!(
        page.contains("Ann") && page.contains("Cat"),
        "the sample shows who"
    );
    assert!(!page.contains("Ben"));
    assert_eq!(app.count("customers"), 4, "a preview changes nothing");

    let result = confirm_and_wait(&app, &job, &[]).await;

    assert_eq!(result["state"], "done");
    assert_eq!(result["done"], 2);
    assert_eq!(app.count("customers"), 2);
    assert!(customer_id(&app, "c-1").is_none() && customer_id(&app, "c-3").is_none());
    assert!(customer_id(&app, "c-2").is_some() && customer_id(&app, "c-4").is_some());
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) AS n FROM events"),
        4,
        "only the deleted customers' events went"
    );
    assert_eq!(scalar(&app, "SELECT COUNT(*) AS n FROM job_targets"), 0);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'job.finished'"
        ),
        1
    );
    let mail = app
        .mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject().contains("finished"))
        .await;
    assert!(mail.body().contains("/receipts/rcpt_"), "{}", mail.body());
    assert!(!mail.body().contains("a@example.com"));
}

async fn delete_filtered_touches_only_the_set_frozen_at_the_preview(backend: Backend) {
    let app = owner_app(backend).await;
    arrange(
        &app,
        &[
            person("de-1", "a@example.de", "Anke", "DE"),
            person("de-2", "b@example.de", "Bernd", "DE"),
            person("gb-1", "c@example.co.uk", "Clive", "GB"),
        ],
    );

    let job = preview(&app, &[("intent", "delete_filtered"), ("country", "DE")]).await;
    let page = app.get_html(&job).await;
    assert!(page.contains("Delete 2 customers"));
    // Someone who starts matching after the preview …
    arrange(&app, &[person("de-late", "late@example.de", "Late Comer", "DE")]);
    let result = confirm_and_wait(&app, &job, &[]).await;

    // … is not touched.
    assert_eq!(result["done"], 2);
    assert!(customer_id(&app, "de-late").is_some());
    assert!(customer_id(&app, "gb-1").is_some());
    assert!(customer_id(&app, "de-1").is_none() && customer_id(&app, "de-2").is_none());
}

async fn customers_under_legal_hold_survive_and_are_reported_as_skipped(backend: Backend) {
    let app = owner_app(backend).await;
    let ids = arrange(
        &app,
        &[
            person("h-1", "held@example.com", "Held", "FR"),
            person("f-1", "free@example.com", "Free", "FR"),
            person("b-1", "bystander@example.com", "Bystander", "BE"),
        ],
    );
    let hold = app
        .post_form(
            &format!("{WS}/customers/{}/legal-hold", ids[0]),
            &[("reason", "Litigation 2026-17")],
        )
        .await;
    assert_eq!(hold.status(), StatusCode::SEE_OTHER);

    let job = preview(&app, &[("intent", "delete_filtered"), ("country", "FR")]).await;
    assert!(app.get_html(&job).await.contains("Legal hold: skipped"));
    let result = confirm_and_wait(&app, &job, &[]).await;

    assert_eq!(result["done"], 1);
    assert_eq!(result["skipped_held"], 1);
    assert!(customer_id(&app, "h-1").is_some());
    let single = app
        .post_form(&format!("{WS}/customers/{}/delete", ids[0]), &[])
        .await;
    assert_eq!(single.status(), StatusCode::BAD_REQUEST);
    let selected = preview(
        &app,
        &[("intent", "archive_selected"), ("ids", &ids[0].to_string())],
    )
    .await;
    let result = confirm_and_wait(&app, &selected, &[]).await;
    assert_eq!(result["skipped_held"], 1);
    assert_eq!(
        text(
            &app,
            &format!("SELECT email AS t FROM customers WHERE id = {}", ids[0])
        )
        .as_deref(),
        Some("held@example.com")
    );
}

async fn a_member_without_permission_gets_403_and_sees_no_erasure_controls(backend: Backend) {
    let app = owner_app(backend).await;
    let ids = arrange(&app, &[person("c-1", "a@example.com", "Ann", "GB")]);
    add_user_with_role(&app, "member@example.com", "member password 123", "member");
    let owner_job = preview(
        &app,
        &[("intent", "delete_selected"), ("ids", &ids[0].to_string())],
    )
    .await;
    let member = new_client();
    app.login_with(&member, "member@example.com", "member password 123")
        .await;
    let id = ids[0];

    let list = app.get_html_with(&member, &format!("{WS}/customers")).await;
    let profile = app.get_html_with(&member, &format!("{WS}/customers/{id}")).await;
    for page in [&list, &profile] {
        for control in [
            "delete_selected",
            "delete_filtered",
            "/delete\"",
            "/archive\"",
            "Delete forever",
            "legal-hold",
        ] {
            assert!(!page.contains(control), "a member sees {control:?}");
        }
    }
    for path in [
        format!("{WS}/customers/{id}/delete"),
        format!("{WS}/customers/{id}/archive"),
    ] {
        assert_eq!(app.get_with(&member, &path).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            app.post_form_with(&member, &path, &[]).await.status(),
            StatusCode::FORBIDDEN
        );
    }
    let bulk = app
        .post_form_with(
            &member,
            &format!("{WS}/customers/bulk"),
            &[("intent", "delete_filtered")],
        )
        .await;
    assert_eq!(bulk.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get_with(&member, &owner_job).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_form_with(&member, &format!("{owner_job}/confirm"), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let hold = app
        .post_form_with(
            &member,
            &format!("{WS}/customers/{id}/legal-hold"),
            &[("reason", "x")],
        )
        .await;
    assert_eq!(hold.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("customers"), 1, "nothing changed");
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) AS n FROM jobs WHERE state <> 'preview'"),
        0
    );
}

async fn a_discarded_preview_changes_nothing(backend: Backend) {
    let app = owner_app(backend).await;
    arrange(&app, &[person("c-1", "a@example.com", "Ann", "GB")]);

    let job = preview(&app, &[("intent", "delete_filtered")]).await;
    let discarded = app.post_form(&format!("{job}/discard"), &[]).await;

    assert_eq!(location(&discarded), format!("{WS}/customers"));
    assert_eq!(app.count("customers"), 1);
    assert_eq!(app.count("job_targets"), 0);
    assert_eq!(app.get(&job).await.status(), StatusCode::NOT_FOUND);
    let late = app.post_form(&format!("{job}/confirm"), &[]).await;
    assert_eq!(
        late.status(),
        StatusCode::NOT_FOUND,
        "a discarded preview cannot be confirmed"
    );
}

/// Inserts `count` customers in one statement (both engines know recursive CTEs).
fn arrange_many(app: &TestApp, count: usize) {
    app.sql(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
         INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         SELECT 1, 'bulk-' || i, 'NL', '{{}}', '2026-01-01 00:00:00', '2026-11-01 00:00:00' FROM n"
    ));
}

async fn cancelling_a_job_stops_it_after_the_batch_in_progress(backend: Backend) {
    let app = spawn_app_with(backend, Box::new(|settings| settings.job_batch_size = 1)).await;
    app.setup_owner().await;
    app.sql("UPDATE workspaces SET owner_code_threshold = 1000000");
    arrange_many(&app, 3000);
    arrange(
        &app,
        &[person("be-1", "bystander@example.com", "Bystander", "BE")],
    );

    let job = preview(&app, &[("intent", "delete_filtered"), ("country", "NL")]).await;
    app.wait_until_frozen(&job).await;
    app.post_form(&format!("{job}/confirm"), &[]).await;
    let cancel = app.post_form(&format!("{job}/cancel"), &[]).await;
    assert_eq!(cancel.status(), StatusCode::SEE_OTHER);
    let mut result = serde_json::Value::Null;
    for _ in 0..400 {
        result = app
            .get(&format!("{job}/progress.json"))
            .await
            .json()
            .await
            .unwrap();
        if result["finished"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }

    assert_eq!(result["state"], "cancelled");
    let done = result["done"].as_i64().unwrap();
    assert!(done < 3000, "stopped early ({done})");
    assert_eq!(
        app.count("customers"),
        3001 - done,
        "what was done stays done, nothing more"
    );
    assert_eq!(app.count("job_targets"), 0);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'job.cancelled'"
        ),
        1
    );
    let mail = app.mail.wait_for(|m| m.subject().contains("was cancelled")).await;
    assert!(mail.body().contains("/receipts/"));
}

async fn a_preview_says_exactly_what_it_will_do_and_cancel_returns_to_the_same_list(backend: Backend) {
    let app = owner_app(backend).await;
    let ids = arrange(
        &app,
        &[
            person("c-1", "a@example.com", "Ann", "GB"),
            person("c-2", "b@example.com", "Ben", "GB"),
            person("c-3", "c@example.com", "Cy", "GB"),
            person("c-4", "d@example.com", "Dee", "FR"),
        ],
    );
    app.sql(&format!("UPDATE customers SET legal_hold_reason = 'litigation', legal_hold_at = '2026-01-01 00:00:00' WHERE id = {}", ids[0]));
    let list = format!("{WS}/customers?country=GB");

    let job = preview(&app, &[("intent", "delete_filtered"), ("country", "GB")]).await;
    // The browser comes to the preview from the list it sent the form from.
    let page = app
        .client
        .get(app.url(&job))
        .header("referer", app.url(&list))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert!(
        page.contains("Delete 3 customers (1 on legal hold will be skipped)?"),
        "{page}"
    );
    assert!(page.contains("These 3 customers"), "not \"the first 3\"");
    assert!(!page.contains("The first"));
    let back = scraper::Html::parse_document(&page)
        .select(&scraper::Selector::parse(r#"input[name="back"]"#).unwrap())
        .next()
        .and_then(|i| i.value().attr("value").map(str::to_owned))
        .expect("Cancel carries the list to return to");
    assert_eq!(back, list);

    let discarded = app
        .post_form(&format!("{job}/discard"), &[("back", back.as_str())])
        .await;
    assert_eq!(location(&discarded), list, "back to the same list, filters kept");
    // Anywhere else is not a place to send the person back to.
    let again = preview(&app, &[("intent", "delete_filtered"), ("country", "GB")]).await;
    let elsewhere = app
        .post_form(
            &format!("{again}/discard"),
            &[("back", "https://evil.example/w/acme-shop/customers")],
        )
        .await;
    assert_eq!(location(&elsewhere), format!("{WS}/customers"));
    assert_eq!(app.count("customers"), 4);
}
