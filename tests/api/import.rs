//! CSV import: upload, preflight report, confirmation, the job, and its result.

use reqwest::multipart::{Form, Part};
use reqwest::{Response, StatusCode};
use scraper::{Html, Selector};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    the_preflight_counts_every_row_and_the_job_creates_updates_and_skips_exactly_those,
    a_suppression_added_after_the_preflight_is_honoured_when_the_import_runs,
    in_id_or_email_workspaces_rows_may_be_identified_by_email_alone,
    rows_that_reach_the_same_customer_are_written_in_turn,
    malformed_files_get_a_message_and_no_job,
    a_member_without_the_permission_gets_403_and_no_import_link,
    cancelling_the_preflight_imports_nothing_and_keeps_no_rows,
);

const WS: &str = "/w/acme-shop";

async fn owner_app(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app
}

async fn upload_with(app: &TestApp, client: &reqwest::Client, file_name: &str, bytes: Vec<u8>) -> Response {
    let token = app.csrf_token_for(client).await;
    let form = Form::new().part(
        "file",
        Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str("text/csv")
            .unwrap(),
    );
    client
        .post(app.url(&format!("{WS}/customers/import?csrf_token={token}")))
        .multipart(form)
        .send()
        .await
        .expect("POST the upload")
}

pub(crate) async fn upload(app: &TestApp, csv: &str) -> Response {
    upload_with(app, &app.client, "customers.csv", csv.as_bytes().to_vec()).await
}

/// Uploads a file that passes the preflight; returns the import page's path.
pub(crate) async fn preflight(app: &TestApp, csv: &str) -> String {
    let response = upload(app, csv).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    let path = location(&response);
    assert!(path.starts_with(&format!("{WS}/imports/")), "{path}");
    path
}

pub(crate) fn job_id(import_path: &str) -> i64 {
    import_path.rsplit('/').next().unwrap().parse().unwrap()
}

/// Confirms as the preflight page's button does, and waits for the job to end.
pub(crate) async fn confirm_and_wait(app: &TestApp, import_path: &str) -> Value {
    let id = job_id(import_path);
    let confirmed = app.post_form(&format!("{WS}/jobs/{id}/confirm"), &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    for _ in 0..400 {
        let progress: Value = app
            .get(&format!("{WS}/jobs/{id}/progress.json"))
            .await
            .json()
            .await
            .unwrap();
        if progress["finished"] == true {
            return progress;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import did not finish");
}

pub(crate) fn text_of(html: &str, selector: &str) -> String {
    let doc = Html::parse_document(html);
    let selector = Selector::parse(selector).unwrap();
    doc.select(&selector)
        .next()
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .unwrap_or_else(|| panic!("nothing matches {selector:?}"))
}

/// The (line, reason) rows of a report table.
pub(crate) fn report_rows(html: &str, table_id: &str) -> Vec<(u64, String)> {
    let doc = Html::parse_document(html);
    let rows = Selector::parse(&format!("#{table_id} tbody tr")).unwrap();
    let cells = Selector::parse("td").unwrap();
    doc.select(&rows)
        .map(|row| {
            let texts: Vec<String> = row
                .select(&cells)
                .map(|c| c.text().collect::<String>().trim().to_owned())
                .collect();
            (texts[0].parse().unwrap(), texts[1].clone())
        })
        .collect()
}

/// A customer's (name, email, country, attributes) by external id.
type Stored = (Option<String>, Option<String>, Option<String>, Value);

fn customer(app: &TestApp, external_id: &str) -> Option<Stored> {
    use diesel::prelude::*;
    use erasure::db::schema::customers;
    let mut conn = app.db();
    customers::table
        .filter(customers::external_id.eq(external_id))
        .select((
            customers::name,
            customers::email,
            customers::country,
            customers::attributes,
        ))
        .first::<(Option<String>, Option<String>, Option<String>, String)>(&mut **conn)
        .optional()
        .unwrap()
        .map(|(name, email, country, attributes)| {
            (name, email, country, serde_json::from_str(&attributes).unwrap())
        })
}

fn suppress_id(app: &TestApp, id: &str) {
    let digest = erasure::erasure::suppress::id_digest(&app.state.secret, id);
    let mut conn = app.db();
    erasure::store::suppressions::add(
        &mut conn,
        1,
        erasure::erasure::suppress::KIND_ID,
        &digest,
        "deleted",
        "test",
    )
    .unwrap();
}

fn audit_count(app: &TestApp, action: &str) -> i64 {
    use diesel::prelude::*;
    use erasure::db::schema::audit_log;
    let mut conn = app.db();
    audit_log::table
        .filter(audit_log::action.eq(action))
        .count()
        .get_result(&mut **conn)
        .unwrap()
}

const MIXED: &str = "\
id,email,name,plan,Country
c-1,ada@example.com,Ada,pro,GB
c-2,not-an-email,Bob,free,FR
,carol@example.com,Carol,pro,DE
c-1,ada@other.example,Ada Again,,
x,x@example.com,Xavier,pro,ES
old-1,,Olga Updated,pro,
\"c-3\",\"dee@example.com\",\"Dee \"\"D\"\" Smith\",basic,IT
";

async fn the_preflight_counts_every_row_and_the_job_creates_updates_and_skips_exactly_those(
    backend: Backend,
) {
    let app = owner_app(backend).await;
    app.sql(
        "INSERT INTO customers (workspace_id, external_id, email, name, country, attributes, created_at, last_seen_at) \
         VALUES (1, 'old-1', 'olga@example.com', 'Olga', 'SE', '{\"plan\":\"free\",\"seats\":3}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    );
    suppress_id(&app, "x");

    let path = preflight(&app, MIXED).await;
    let page = app.get_html(&path).await;

    assert_eq!(text_of(&page, "#to-create"), "2");
    assert_eq!(text_of(&page, "#to-update"), "1");
    assert_eq!(text_of(&page, "#rejected"), "3");
    assert_eq!(text_of(&page, "#suppressed"), "1");
    let problems = report_rows(&page, "problems");
    let lines: Vec<u64> = problems.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [3, 4, 5, 6]);
    assert!(problems[0].1.starts_with("invalid email address"), "{problems:?}");
    assert!(problems[1].1.starts_with("missing identifier"), "{problems:?}");
    assert_eq!(problems[2].1, "duplicate in file: the same customer as line 2");
    assert_eq!(problems[3].1, "suppressed");
    assert!(page.contains("Import 3 customers"));
    assert!(
        !page.contains("not-an-email") && !page.contains("x@example.com"),
        "the report names no one"
    );
    assert_eq!(
        app.count("customers"),
        1,
        "nothing is written before the confirmation"
    );

    let progress = confirm_and_wait(&app, &path).await;

    assert_eq!(progress["state"], "done");
    assert_eq!(progress["done"], 3);
    assert_eq!(progress["skipped_other"], 0);
    let (name, email, country, attributes) = customer(&app, "c-1").expect("c-1 created");
    assert_eq!(
        (name.as_deref(), email.as_deref(), country.as_deref()),
        (Some("Ada"), Some("ada@example.com"), Some("GB"))
    );
    assert_eq!(attributes, json!({ "plan": "pro" }));
    let (name, _, _, attributes) = customer(&app, "c-3").expect("c-3 created");
    assert_eq!(name.as_deref(), Some("Dee \"D\" Smith"));
    assert_eq!(attributes, json!({ "plan": "basic" }));
    let (name, email, country, attributes) = customer(&app, "old-1").unwrap();
    assert_eq!(name.as_deref(), Some("Olga Updated"));
    assert_eq!(
        email.as_deref(),
        Some("olga@example.com"),
        "an empty cell leaves the value alone"
    );
    assert_eq!(country.as_deref(), Some("SE"));
    assert_eq!(
        attributes,
        json!({ "plan": "pro", "seats": 3 }),
        "attributes are merged"
    );
    assert!(
        customer(&app, "x").is_none(),
        "the suppressed row is not imported"
    );
    assert!(customer(&app, "c-2").is_none());
    assert_eq!(app.count("customers"), 3);
    assert_eq!(app.count("import_rows"), 0, "no row of the file outlives the job");
    assert_eq!(audit_count(&app, "customers.imported"), 1);
    assert_eq!(audit_count(&app, "job.finished"), 1);

    let result = app.get_html(&path).await;
    assert!(
        text_of(&result, "#import-result").contains("3 imported (2 created, 1 updated), 0 skipped"),
        "{result}"
    );
    assert_eq!(
        report_rows(&result, "problems").len(),
        4,
        "the preflight's rejections stay on the result"
    );
    let job_page = app.get(&format!("{WS}/jobs/{}", job_id(&path))).await;
    assert_eq!(
        location(&job_page),
        path,
        "the job page of an import is the import's page"
    );
    let mail = app.mail.wait_for(|m| m.subject().contains("Import job")).await;
    assert!(mail.is_to(OWNER_EMAIL));
    assert!(
        mail.body()
            .contains("Customers imported: 3 (2 created, 1 updated)"),
        "{}",
        mail.body()
    );
    assert!(!mail.subject().contains("Erasure"));
}

async fn a_suppression_added_after_the_preflight_is_honoured_when_the_import_runs(backend: Backend) {
    let app = owner_app(backend).await;
    let path = preflight(&app, "id,name\na-1,Ann\nb-2,Ben\n").await;
    suppress_id(&app, "b-2");

    let progress = confirm_and_wait(&app, &path).await;

    assert_eq!(progress["done"], 1);
    assert_eq!(progress["skipped_other"], 1);
    assert!(customer(&app, "a-1").is_some());
    assert!(customer(&app, "b-2").is_none());
    let result = app.get_html(&path).await;
    assert_eq!(
        report_rows(&result, "skipped-rows"),
        [(3, "suppressed".to_owned())]
    );
}

async fn in_id_or_email_workspaces_rows_may_be_identified_by_email_alone(backend: Backend) {
    let app = owner_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    app.sql(
        "INSERT INTO customers (workspace_id, external_id, email, name, attributes, created_at, last_seen_at) \
         VALUES (1, 'k-1', 'kim@example.com', 'Kim', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    );
    let digest = erasure::erasure::suppress::email_digest(&app.state.secret, "sam@example.com");
    {
        let mut conn = app.db();
        erasure::store::suppressions::add(
            &mut conn,
            1,
            erasure::erasure::suppress::KIND_EMAIL,
            &digest,
            "deleted",
            "test",
        )
        .unwrap();
    }
    // Line 4 is no address; line 5 has no value at all and is not a customer.
    let csv = "Email,Name,tier\nKIM@example.com,Kim K,gold\nnew@example.com,Nia,silver\nno-address,,\n,,\nsam@example.com,Sam,\n";
    let path = preflight(&app, csv).await;
    let page = app.get_html(&path).await;
    assert_eq!(text_of(&page, "#to-create"), "1");
    assert_eq!(text_of(&page, "#to-update"), "1");
    assert_eq!(text_of(&page, "#rejected"), "1");
    assert_eq!(text_of(&page, "#suppressed"), "1");
    let problems = report_rows(&page, "problems");
    assert_eq!(problems.iter().map(|p| p.0).collect::<Vec<_>>(), [4, 6]);
    assert!(problems[0].1.starts_with("invalid email address"));
    assert_eq!(problems[1].1, "suppressed");

    confirm_and_wait(&app, &path).await;

    let (name, _, _, attributes) = customer(&app, "k-1").unwrap();
    assert_eq!(name.as_deref(), Some("Kim K"));
    assert_eq!(attributes, json!({ "tier": "gold" }));
    let (name, email, _, _) = customer(&app, "new@example.com").expect("created with the address as its id");
    assert_eq!(
        (name.as_deref(), email.as_deref()),
        (Some("Nia"), Some("new@example.com"))
    );
    assert!(customer(&app, "sam@example.com").is_none());
}

async fn rows_that_reach_the_same_customer_are_written_in_turn(backend: Backend) {
    let app = owner_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    app.sql(
        "INSERT INTO customers (workspace_id, external_id, email, name, attributes, created_at, last_seen_at) \
         VALUES (1, 'k-1', 'kim@example.com', 'Kim', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    );
    let kim = {
        use diesel::prelude::*;
        use erasure::db::schema::customers;
        let mut conn = app.db();
        customers::table
            .select(customers::id)
            .first::<i64>(&mut **conn)
            .unwrap()
    };
    let csv = format!(
        "id,email,name,tier,vip\n\
         cio_{kim},,Kim Internal,,\n\
         k-1,,,gold,\n\
         ,kim@example.com,,,yes\n\
         p-1,pat@example.com,Pat,,\n\
         ,pat@example.com,Pat Again,,\n\
         cio_999999,,Ghost,,\n"
    );
    let path = preflight(&app, &csv).await;
    let page = app.get_html(&path).await;
    assert_eq!(text_of(&page, "#to-update"), "3");
    assert_eq!(text_of(&page, "#to-create"), "2");
    assert_eq!(
        report_rows(&page, "problems"),
        [(7, "no customer has this internal id".to_owned())]
    );

    let progress = confirm_and_wait(&app, &path).await;

    assert_eq!(progress["done"], 5);
    let (name, _, _, attributes) = customer(&app, "k-1").unwrap();
    assert_eq!(name.as_deref(), Some("Kim Internal"));
    assert_eq!(
        attributes,
        json!({ "tier": "gold", "vip": "yes" }),
        "no row's merge is lost"
    );
    let (name, email, _, _) = customer(&app, "p-1").unwrap();
    assert_eq!(
        (name.as_deref(), email.as_deref()),
        (Some("Pat Again"), Some("pat@example.com"))
    );
    assert_eq!(
        app.count("customers"),
        2,
        "the address names Pat, created by the row before"
    );
    let result = app.get_html(&path).await;
    assert!(
        text_of(&result, "#import-result").contains("5 imported (1 created, 4 updated)"),
        "{result}"
    );
}

async fn malformed_files_get_a_message_and_no_job(backend: Backend) {
    let app = owner_app(backend).await;
    let too_large = {
        let mut csv = b"id,note\n".to_vec();
        let line = format!("c,{}\n", "x".repeat(1000));
        while csv.len() <= 20 * 1024 * 1024 {
            csv.extend_from_slice(line.as_bytes());
        }
        csv
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not UTF-8",
            b"id,name\nc-1,Jos\xe9\n".to_vec(),
            "Line 2 is not UTF-8",
        ),
        ("UTF-16", b"\xff\xfei\x00d\x00\n\x00".to_vec(), "is not UTF-8"),
        (
            "unbalanced quotes",
            b"id,name\nc-1,\"Ada\nc-2,Bob\n".to_vec(),
            "never closed",
        ),
        (
            "no header",
            b"c-1,ada@example.com\nc-2,bob@example.com\n".to_vec(),
            "must be a header row",
        ),
        ("empty", Vec::new(), "Choose a CSV file"),
        ("blank", b"\n\n".to_vec(), "The file is empty"),
        ("header only", b"id,name\n".to_vec(), "no customers below it"),
        (
            "two id columns",
            b"id,external_id\na,b\n".to_vec(),
            "both an id and an external_id",
        ),
        ("over the size limit", too_large, "larger than 20 MB"),
    ];
    for (what, bytes, message) in cases {
        let file_name = if what == "empty" { "" } else { "customers.csv" };
        let response = upload_with(&app, &app.client, file_name, bytes).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        let html = response.text().await.unwrap();
        assert!(
            text_of(&html, "#upload-error").contains(message),
            "{what}: {html}"
        );
        assert!(html.contains("Nothing was imported"), "{what}");
    }
    // Not a multipart body at all.
    let token = app.csrf_token().await;
    let response = app
        .client
        .post(app.url(&format!("{WS}/customers/import?csrf_token={token}")))
        .header("content-type", "text/csv")
        .body("id\nc-1\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("jobs"), 0);
    assert_eq!(app.count("import_rows"), 0);
    assert_eq!(app.count("customers"), 0);
}

async fn a_member_without_the_permission_gets_403_and_no_import_link(backend: Backend) {
    let app = owner_app(backend).await;
    let owner_list = app.get_html(&format!("{WS}/customers")).await;
    assert!(owner_list.contains(&format!("href=\"{WS}/customers/import\"")));
    let form = app.get_html(&format!("{WS}/customers/import")).await;
    assert!(form.contains("<label for=\"import-file\""));
    assert!(form.contains("enctype=\"multipart/form-data\""));
    let owner_import = preflight(&app, "id\nc-1\n").await;
    let hash = erasure::password::hash("member password 123").unwrap();
    app.sql(&format!(
        "INSERT INTO users (email, name, password_hash, is_owner, recovery_codes, disabled, created_at) \
         VALUES ('member@example.com', 'Mia Member', '{hash}', FALSE, '[]', FALSE, '2026-01-01 00:00:00');
         INSERT INTO memberships (user_id, workspace_id, role_id, created_at) \
         SELECT u.id, 1, r.id, '2026-01-01 00:00:00' FROM users u, roles r WHERE u.email = 'member@example.com' AND r.builtin = 'member';"
    ));
    let member = new_client();
    app.login_with(&member, "member@example.com", "member password 123")
        .await;

    let list = app.get_html_with(&member, &format!("{WS}/customers")).await;
    assert!(
        !list.contains("/customers/import"),
        "no Import link without the permission"
    );
    assert_eq!(
        app.get_with(&member, &format!("{WS}/customers/import"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let response = upload_with(&app, &member, "customers.csv", b"id\nm-1\n".to_vec()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get_with(&member, &owner_import).await.status(),
        StatusCode::FORBIDDEN,
        "nor the preflight"
    );
    let id = job_id(&owner_import);
    let confirm = app
        .post_form_with(&member, &format!("{WS}/jobs/{id}/confirm"), &[])
        .await;
    assert_eq!(confirm.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("jobs"), 1);
    assert_eq!(app.count("customers"), 0);
}

async fn cancelling_the_preflight_imports_nothing_and_keeps_no_rows(backend: Backend) {
    let app = owner_app(backend).await;
    let path = preflight(&app, "id,name\nc-1,Ada\nc-2,Bob\n").await;
    assert_eq!(app.count("import_rows"), 2);

    let response = app
        .post_form(&format!("{WS}/jobs/{}/discard", job_id(&path)), &[])
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("import_rows"), 0);
    assert_eq!(app.count("customers"), 0);
    assert_eq!(app.get(&path).await.status(), StatusCode::NOT_FOUND);
}
