//! Every way of erasing customers leaves an entry a compliance reader finds by filtering
//! the audit log by "Customers deleted", "Customers archived" or "Identifier
//! suppressed": one customer at once or a bulk job (one entry for the whole job, done
//! or cancelled part-way, delete-all with the owner's code included), through the
//! console, the Track API, a merge, or the command line's replay after a restore;
//! each with how many customers it erased, what else it removed, and its receipt.
//!
//! Imports add and update customers and never erase one (a suppressed row is skipped),
//! so they have no path here.

use erasure::domain::AuditAction;
use erasure::store::audit::{AuditEntry, ChainReport};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::api::{call, issue_key, Credentials};
use crate::helpers::arrange::NewPerson;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    every_erasure_path_writes_one_entry_under_its_action_with_its_counts_and_receipt,
    a_receipt_named_in_a_message_is_a_link,
);

const WS: &str = "/w/acme-shop";

/// Every way of erasing, in the order the test takes them (delete-all last: it takes
/// everyone left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErasurePath {
    ConsoleDelete,
    ConsoleDeleteAndSuppress,
    ConsoleArchive,
    TrackApiDelete,
    TrackApiSuppress,
    /// The secondary of a merge is deleted.
    Merge,
    DeleteSelected,
    DeleteSelectedAndSuppress,
    DeleteFiltered,
    ArchiveSelected,
    ArchiveFiltered,
    /// A bulk deletion cancelled while it runs: what it did until then.
    CancelledPartWay,
    /// `erasure replay-erasures` after a restore brings a deleted customer back.
    CliReplay,
    DeleteAllWithTheOwnersCode,
}

const PATHS: [ErasurePath; 14] = [
    ErasurePath::ConsoleDelete,
    ErasurePath::ConsoleDeleteAndSuppress,
    ErasurePath::ConsoleArchive,
    ErasurePath::TrackApiDelete,
    ErasurePath::TrackApiSuppress,
    ErasurePath::Merge,
    ErasurePath::DeleteSelected,
    ErasurePath::DeleteSelectedAndSuppress,
    ErasurePath::DeleteFiltered,
    ErasurePath::ArchiveSelected,
    ErasurePath::ArchiveFiltered,
    ErasurePath::CancelledPartWay,
    ErasurePath::CliReplay,
    ErasurePath::DeleteAllWithTheOwnersCode,
];

/// Who must be named as having done it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Owner,
    ApiKey,
    System,
}

/// What the erasure's entry must say.
#[derive(Debug)]
struct Expected {
    action: AuditAction,
    by: By,
    /// `customer:{id}`, `job:{id}` or `journal`.
    target: String,
    customers: i64,
    events_removed: i64,
    skipped_legal_hold: i64,
    /// Whether an "identifier suppressed" entry must stand beside it.
    suppressed: bool,
    /// Whether it names a receipt (a replay has none: its erasures had theirs).
    receipt: bool,
    cancelled: bool,
}

impl Expected {
    fn new(action: AuditAction, by: By, target: impl Into<String>, customers: i64) -> Expected {
        Expected {
            action,
            by,
            target: target.into(),
            customers,
            events_removed: 0,
            skipped_legal_hold: 0,
            suppressed: false,
            receipt: true,
            cancelled: false,
        }
    }

    fn events(mut self, events: i64) -> Expected {
        self.events_removed = events;
        self
    }
}

struct Context {
    owner: i64,
    key_id: i64,
    key: Credentials,
    ws: i64,
    /// A customer deleted from the console, for the replay to bring back.
    deleted_earlier: Option<(i64, String)>,
}

/// `count` customers `{tag}-{n}`, each with one event, in `country`.
fn arrange(app: &TestApp, tag: &str, count: usize, country: &str) -> Vec<i64> {
    (0..count)
        .map(|n| {
            NewPerson::new(&format!("{tag}-{n}"))
                .country(country)
                .event("seen", json!({}))
                .insert(app)
        })
        .collect()
}

fn ids_field(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

async fn see_other(response: reqwest::Response, what: &str) -> String {
    let status = response.status();
    let to = location(&response);
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{what}: {}",
        response.text().await.unwrap_or_default()
    );
    to
}

fn job_of(path: &str) -> i64 {
    path.rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no job id at the end of {path:?}"))
}

async fn progress(app: &TestApp, job: i64) -> Value {
    app.get(&format!("{WS}/jobs/{job}/progress.json"))
        .await
        .json()
        .await
        .expect("the job's progress")
}

async fn wait_for_end(app: &TestApp, job: i64) -> Value {
    for _ in 0..1200 {
        let now = progress(app, job).await;
        if now["finished"] == true {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("job {job} did not end within a minute");
}

/// Previews a bulk action, confirms it with `confirm` fields and waits for its end.
async fn bulk(app: &TestApp, fields: &[(&str, &str)], confirm: &[(&str, &str)]) -> i64 {
    let job = job_of(
        &see_other(
            app.post_form(&format!("{WS}/customers/bulk"), fields).await,
            "preview",
        )
        .await,
    );
    app.wait_until_frozen(&format!("{WS}/jobs/{job}")).await;
    see_other(
        app.post_form(&format!("{WS}/jobs/{job}/confirm"), confirm).await,
        "confirm",
    )
    .await;
    let ended = wait_for_end(app, job).await;
    assert_eq!(ended["state"], "done", "{ended}");
    job
}

/// Erases through `path`; returns what its entry must say.
async fn erase(app: &TestApp, cx: &mut Context, path: ErasurePath) -> Expected {
    use AuditAction::{CustomerArchived as Archived, CustomerDeleted as Deleted};
    use ErasurePath::*;
    match path {
        ConsoleDelete | ConsoleDeleteAndSuppress => {
            let suppress = path == ConsoleDeleteAndSuppress;
            let tag = if suppress {
                "console-suppress"
            } else {
                "console-delete"
            };
            let id = arrange(app, tag, 1, "DE")[0];
            let fields: &[(&str, &str)] = if suppress { &[("suppress", "on")] } else { &[] };
            see_other(
                app.post_form(&format!("{WS}/customers/{id}/delete"), fields)
                    .await,
                "delete",
            )
            .await;
            if !suppress {
                cx.deleted_earlier = Some((id, format!("{tag}-0")));
            }
            Expected {
                suppressed: suppress,
                ..Expected::new(Deleted, By::Owner, format!("customer:{id}"), 1).events(1)
            }
        }
        ConsoleArchive => {
            let id = arrange(app, "console-archive", 1, "DE")[0];
            see_other(
                app.post_form(&format!("{WS}/customers/{id}/archive"), &[]).await,
                "archive",
            )
            .await;
            Expected::new(Archived, By::Owner, format!("customer:{id}"), 1)
        }
        TrackApiDelete => {
            let id = arrange(app, "api-delete", 1, "DE")[0];
            let response = call(app, &cx.key, Method::DELETE, "/customers/api-delete-0", None).await;
            assert_eq!(response.status(), StatusCode::OK);
            Expected::new(Deleted, By::ApiKey, format!("customer:{id}"), 1).events(1)
        }
        TrackApiSuppress => {
            let id = arrange(app, "api-suppress", 1, "DE")[0];
            let response = call(
                app,
                &cx.key,
                Method::POST,
                "/customers/api-suppress-0/suppress",
                None,
            )
            .await;
            assert_eq!(response.status(), StatusCode::OK);
            Expected {
                suppressed: true,
                ..Expected::new(Deleted, By::ApiKey, format!("customer:{id}"), 1).events(1)
            }
        }
        Merge => {
            arrange(app, "merge-primary", 1, "DE");
            let secondary = arrange(app, "merge-secondary", 1, "DE")[0];
            let response = call(
                app,
                &cx.key,
                Method::POST,
                "/merge_customers",
                Some(json!({ "primary": { "id": "merge-primary-0" }, "secondary": { "id": "merge-secondary-0" } })),
            )
            .await;
            assert_eq!(response.status(), StatusCode::OK);
            // Its events went to the primary first.
            Expected::new(Deleted, By::ApiKey, format!("customer:{secondary}"), 1)
        }
        DeleteSelected => {
            let ids = arrange(app, "selected", 3, "DE");
            app.sql(&format!(
                "UPDATE customers SET legal_hold_reason = 'litigation', legal_hold_at = '2026-01-01 00:00:00' \
                 WHERE id = {}",
                ids[2]
            ));
            let job = bulk(
                app,
                &[("intent", "delete_selected"), ("ids", &ids_field(&ids))],
                &[],
            )
            .await;
            Expected {
                skipped_legal_hold: 1,
                ..Expected::new(Deleted, By::Owner, format!("job:{job}"), 2).events(2)
            }
        }
        DeleteSelectedAndSuppress => {
            let ids = arrange(app, "selected-suppress", 2, "DE");
            let job = bulk(
                app,
                &[("intent", "delete_selected"), ("ids", &ids_field(&ids))],
                &[("suppress", "on")],
            )
            .await;
            Expected {
                suppressed: true,
                ..Expected::new(Deleted, By::Owner, format!("job:{job}"), 2).events(2)
            }
        }
        DeleteFiltered => {
            arrange(app, "filtered", 3, "FI");
            let job = bulk(app, &[("intent", "delete_filtered"), ("country", "FI")], &[]).await;
            Expected::new(Deleted, By::Owner, format!("job:{job}"), 3).events(3)
        }
        ArchiveSelected => {
            let ids = arrange(app, "archive-selected", 2, "DE");
            let job = bulk(
                app,
                &[("intent", "archive_selected"), ("ids", &ids_field(&ids))],
                &[],
            )
            .await;
            Expected::new(Archived, By::Owner, format!("job:{job}"), 2)
        }
        ArchiveFiltered => {
            arrange(app, "archive-filtered", 2, "SE");
            let job = bulk(app, &[("intent", "archive_filtered"), ("country", "SE")], &[]).await;
            Expected::new(Archived, By::Owner, format!("job:{job}"), 2)
        }
        CancelledPartWay => {
            // One customer a batch (see the app's settings): long enough to cancel.
            app.sql(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) \
                 INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
                 SELECT {}, 'cancelled-' || i, 'NL', '{{}}', '2026-01-01 00:00:00', '2026-11-01 00:00:00' FROM n",
                cx.ws
            ));
            let job = job_of(
                &see_other(
                    app.post_form(
                        &format!("{WS}/customers/bulk"),
                        &[("intent", "delete_filtered"), ("country", "NL")],
                    )
                    .await,
                    "preview",
                )
                .await,
            );
            app.wait_until_frozen(&format!("{WS}/jobs/{job}")).await;
            see_other(
                app.post_form(&format!("{WS}/jobs/{job}/confirm"), &[]).await,
                "confirm",
            )
            .await;
            see_other(
                app.post_form(&format!("{WS}/jobs/{job}/cancel"), &[]).await,
                "cancel",
            )
            .await;
            let ended = wait_for_end(app, job).await;
            assert_eq!(ended["state"], "cancelled", "{ended}");
            let done = ended["done"].as_i64().expect("a count");
            assert!(done < 1500, "cancelled part-way: {ended}");
            Expected {
                cancelled: true,
                ..Expected::new(Deleted, By::Owner, format!("job:{job}"), done)
            }
        }
        CliReplay => {
            // A backup from before the console deletion is restored: the row is back,
            // with its internal id.
            let (id, external_id) = cx.deleted_earlier.clone().expect("a deletion earlier");
            NewPerson::new(&external_id)
                .with_id(id)
                .event("seen", json!({}))
                .insert(app);
            let (ok, stdout, stderr) = app.run_cli(&["replay-erasures", "--since", "2000-01-01"]);
            assert!(ok, "{stdout}{stderr}");
            Expected {
                receipt: false,
                ..Expected::new(Deleted, By::System, "journal", 1)
            }
        }
        DeleteAllWithTheOwnersCode => {
            let held = app.number(&format!(
                "SELECT COUNT(*) AS v FROM customers WHERE workspace_id = {} AND legal_hold_at IS NOT NULL",
                cx.ws
            ));
            let everyone = app.number(&format!(
                "SELECT COUNT(*) AS v FROM customers WHERE workspace_id = {}",
                cx.ws
            ));
            let events = app.number(&format!(
                "SELECT COUNT(*) AS v FROM events e JOIN customers c ON c.id = e.customer_id \
                 WHERE c.workspace_id = {} AND c.legal_hold_at IS NULL",
                cx.ws
            ));
            see_other(
                app.post_form(
                    &format!("{WS}/customers/delete-all"),
                    &[("workspace_name", WORKSPACE_NAME)],
                )
                .await,
                "send the code",
            )
            .await;
            let mail = app
                .mail
                .wait_for(|m| m.subject().starts_with("Code to delete all"))
                .await;
            let started = see_other(
                app.post_form(
                    &format!("{WS}/customers/delete-all/confirm"),
                    &[("code", mail.code().as_str()), ("suppress", "on")],
                )
                .await,
                "the owner's code",
            )
            .await;
            let job = job_of(&started);
            let ended = wait_for_end(app, job).await;
            assert_eq!(ended["state"], "done", "{ended}");
            Expected {
                skipped_legal_hold: held,
                suppressed: true,
                ..Expected::new(Deleted, By::Owner, format!("job:{job}"), everyone - held).events(events)
            }
        }
    }
}

fn entries_after(app: &TestApp, mark: i64) -> Vec<AuditEntry> {
    let mut conn = app.db();
    erasure::store::audit::page_after(&mut conn, mark, 100_000).expect("the log")
}

fn last_id(app: &TestApp) -> i64 {
    app.number("SELECT COALESCE(MAX(id), 0) AS v FROM audit_log")
}

/// The one entry of `action` among `entries`.
fn only(entries: &[AuditEntry], action: AuditAction, path: ErasurePath) -> AuditEntry {
    let found: Vec<&AuditEntry> = entries.iter().filter(|e| e.action == action.key()).collect();
    assert_eq!(
        found.len(),
        1,
        "{path:?}: one {action} entry; the step wrote {:?}",
        entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>()
    );
    found[0].clone()
}

/// Checks the entries one path wrote against what it must have written; returns the
/// erasure's entry id.
fn check(app: &TestApp, cx: &Context, path: ErasurePath, mark: i64, want: &Expected) -> i64 {
    let entries = entries_after(app, mark);
    let entry = only(&entries, want.action, path);
    let other = if want.action == AuditAction::CustomerDeleted {
        AuditAction::CustomerArchived
    } else {
        AuditAction::CustomerDeleted
    };
    assert!(
        entries.iter().all(|e| e.action != other.key()),
        "{path:?}: no {other} entry"
    );
    let (kind, id) = match want.by {
        By::Owner => ("user", Some(cx.owner)),
        By::ApiKey => ("api_key", Some(cx.key_id)),
        By::System => ("system", None),
    };
    assert_eq!(
        (entry.actor_kind.as_str(), entry.actor_id),
        (kind, id),
        "{path:?}: by"
    );
    assert_eq!(entry.workspace_id, Some(cx.ws), "{path:?}: the workspace");
    assert_eq!(entry.target, want.target, "{path:?}: the target");
    assert_eq!(entry.affected, want.customers, "{path:?}: how many customers");
    let details: Value = serde_json::from_str(&entry.details).expect("details as JSON");
    let number = |key: &str| details.get(key).and_then(Value::as_i64).unwrap_or(0);
    assert_eq!(
        number("events_removed"),
        want.events_removed,
        "{path:?}: events removed: {details}"
    );
    assert_eq!(
        number("skipped_legal_hold"),
        want.skipped_legal_hold,
        "{path:?}: skipped on legal hold: {details}"
    );
    if want.cancelled {
        assert_eq!(details["state"], "cancelled", "{path:?}: {details}");
    }
    if want.receipt {
        let receipt = details["receipt"].as_str().expect("a receipt").to_owned();
        // The receipt is the erasure's: same counts, and sealed with this entry's hash.
        let jobs = app.texts(&format!(
            "SELECT report AS t FROM jobs WHERE receipt_id = '{receipt}' AND workspace_id = {}",
            cx.ws
        ));
        assert_eq!(jobs.len(), 1, "{path:?}: the receipt {receipt} is a job's");
        let report: Value = serde_json::from_str(&jobs[0]).expect("the job's report");
        assert_eq!(
            report["audit_hash"],
            entry.hash.as_str(),
            "{path:?}: the receipt's hash"
        );
        let done = app.number(&format!(
            "SELECT done AS v FROM jobs WHERE receipt_id = '{receipt}'"
        ));
        assert_eq!(done, want.customers, "{path:?}: the receipt's count");
    } else {
        assert_eq!(details["replay"], true, "{path:?}: {details}");
    }
    let suppressions: Vec<&AuditEntry> = entries
        .iter()
        .filter(|e| e.action == AuditAction::IdentifierSuppressed.key())
        .collect();
    assert_eq!(
        suppressions.len(),
        usize::from(want.suppressed),
        "{path:?}: identifier suppressed entries"
    );
    entry.id
}

async fn every_erasure_path_writes_one_entry_under_its_action_with_its_counts_and_receipt(backend: Backend) {
    let app = spawn_app_with(backend, Box::new(|settings| settings.job_batch_size = 1)).await;
    app.setup_owner().await;
    // Bulk erasures run without the owner's code here, delete-all aside (see owner_code.rs).
    app.sql("UPDATE workspaces SET owner_code_threshold = 1000000");
    let owner = app.number(&format!(
        "SELECT id AS v FROM users WHERE email = '{OWNER_EMAIL}'"
    ));
    let ws = app.number("SELECT id AS v FROM workspaces WHERE slug = 'acme-shop'");
    let (key_id, key) = issue_key(&app, "Backend");
    // Bystanders, so that no bulk set but delete-all's is the whole workspace.
    arrange(&app, "bystander", 2, "DE");
    let mut cx = Context {
        owner,
        key_id,
        key,
        ws,
        deleted_earlier: None,
    };

    let mut written: Vec<(ErasurePath, AuditAction, i64)> = Vec::new();
    for path in PATHS {
        let mark = last_id(&app);
        let want = erase(&app, &mut cx, path).await;
        let id = check(&app, &cx, path, mark, &want);
        written.push((path, want.action, id));
    }

    // The page: one filter finds single and bulk erasures alike, with their counts in
    // words and their receipts as links that open.
    for (action, words) in [
        (AuditAction::CustomerDeleted, "deleted"),
        (AuditAction::CustomerArchived, "archived"),
    ] {
        let html = app.get_html(&format!("{WS}/audit?action={}", action.key())).await;
        let rows = audit_rows(&html);
        let expected: Vec<i64> = written
            .iter()
            .rev()
            .filter(|(_, a, _)| *a == action)
            .map(|(_, _, id)| *id)
            .collect();
        let listed: Vec<i64> = rows.iter().map(|r| r.id).collect();
        assert_eq!(listed, expected, "{action}: every such erasure, newest first");
        for row in &rows {
            assert!(
                row.result.contains(&format!(" {words}")),
                "{action}: the count in words: {:?}",
                row.result
            );
        }
        for (path, a, id) in &written {
            if *a != action {
                continue;
            }
            let row = rows.iter().find(|r| r.id == *id).expect("the row");
            match row.receipt.as_deref() {
                Some(href) => {
                    assert!(
                        href.starts_with(&format!("{WS}/receipts/rcpt_")),
                        "{path:?}: {href}"
                    );
                    assert_eq!(
                        app.get(href).await.status(),
                        StatusCode::OK,
                        "{path:?}: {href} opens"
                    );
                }
                None => assert_eq!(*path, ErasurePath::CliReplay, "{path:?}: a receipt link"),
            }
        }
    }
    let deleted_all = written
        .iter()
        .find(|(p, _, _)| *p == ErasurePath::DeleteAllWithTheOwnersCode)
        .map(|(_, _, id)| *id)
        .unwrap();
    let html = app.get_html(&format!("{WS}/audit?action=customer.deleted")).await;
    let row = audit_rows(&html)
        .into_iter()
        .find(|r| r.id == deleted_all)
        .unwrap();
    assert!(row.result.contains("skipped on legal hold"), "{:?}", row.result);
    // A single deletion's target is a customer who is gone: named, never linked to a
    // profile that would answer "not found".
    assert!(
        html.contains("(erased)"),
        "an erased customer is said to be erased"
    );
    let doc = scraper::Html::parse_document(&html);
    let links = scraper::Selector::parse("table.data a[href]").unwrap();
    for link in doc.select(&links) {
        let href = link.value().attr("href").unwrap_or_default();
        let profile = href
            .strip_prefix(&format!("{WS}/customers/"))
            .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()));
        assert!(!profile, "a link to an erased profile: {href}");
    }
    // "Identifier suppressed" finds every suppression: with a single deletion, a bulk
    // one, delete-all, and the Track API's.
    let html = app
        .get_html(&format!("{WS}/audit?action=identifier.suppressed"))
        .await;
    let rows = audit_rows(&html);
    assert_eq!(
        rows.len(),
        4,
        "{:?}",
        rows.iter().map(|r| &r.result).collect::<Vec<_>>()
    );
    assert!(rows.iter().all(|r| r.receipt.is_some()));

    let mut conn = app.db();
    let report = erasure::store::audit::verify_chain(&mut conn, 1000).unwrap();
    assert!(matches!(report, ChainReport::Intact { .. }), "{report:?}");
}

struct AuditRow {
    id: i64,
    result: String,
    receipt: Option<String>,
}

/// The rows of the audit table: entry number, result in words, receipt link.
fn audit_rows(html: &str) -> Vec<AuditRow> {
    let doc = scraper::Html::parse_document(html);
    let rows = scraper::Selector::parse("table.data tbody tr").unwrap();
    let first = scraper::Selector::parse("td").unwrap();
    let result = scraper::Selector::parse("td.result").unwrap();
    let receipt = scraper::Selector::parse("td.result a.receipt").unwrap();
    doc.select(&rows)
        .map(|row| AuditRow {
            id: row
                .select(&first)
                .next()
                .and_then(|td| td.text().collect::<String>().trim().parse().ok())
                .expect("the entry's number"),
            result: row
                .select(&result)
                .next()
                .map(|td| td.text().collect::<String>().trim().to_owned())
                .unwrap_or_default(),
            receipt: row
                .select(&receipt)
                .next()
                .and_then(|a| a.value().attr("href").map(str::to_owned)),
        })
        .collect()
}

async fn a_receipt_named_in_a_message_is_a_link(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    let ids = arrange(&app, "flash", 2, "DE");
    NewPerson::new("suppressed-one")
        .email("suppressed.one@example.com")
        .insert(&app);

    for (action, back) in [
        (
            format!("{WS}/customers/{}/delete", ids[0]),
            format!("{WS}/customers"),
        ),
        (
            format!("{WS}/customers/{}/archive", ids[1]),
            format!("{WS}/customers/{}", ids[1]),
        ),
    ] {
        assert_eq!(see_other(app.post_form(&action, &[]).await, &action).await, back);
        assert_receipt_link(&app, &back).await;
    }
    // A suppression that deletes the customer who had the identifier.
    see_other(
        app.post_form(
            &format!("{WS}/suppressions/add"),
            &[("identifier", "suppressed.one@example.com"), ("reason", "manual")],
        )
        .await,
        "suppress",
    )
    .await;
    assert_receipt_link(&app, &format!("{WS}/suppressions")).await;
}

/// The page's flash names a receipt with a link to it, which opens, and never spells
/// the receipt's address out as text.
async fn assert_receipt_link(app: &TestApp, page: &str) {
    let html = app.get_html(page).await;
    let doc = scraper::Html::parse_document(&html);
    let flash = scraper::Selector::parse(".flash").unwrap();
    let link = scraper::Selector::parse(".flash a").unwrap();
    let text: String = doc.select(&flash).flat_map(|f| f.text()).collect();
    assert!(!text.contains("/receipts/"), "{page}: {text}");
    let href = doc
        .select(&link)
        .next()
        .and_then(|a| a.value().attr("href").map(str::to_owned))
        .unwrap_or_else(|| panic!("{page}: a link in the flash: {text}"));
    assert!(href.starts_with(&format!("{WS}/receipts/rcpt_")), "{href}");
    assert_eq!(app.get(&href).await.status(), StatusCode::OK, "{href}");
}
