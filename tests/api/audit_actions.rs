//! Every action the audit log knows, performed over HTTP the way a person or an
//! integration would: each writes exactly one entry with the right actor, workspace,
//! target, request id and client address, and no entry holds a customer's personal
//! data. Refusals made inside handlers are recorded like the extractor's.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use chrono::NaiveDateTime;
use erasure::domain::AuditAction;
use erasure::store::audit::{AuditEntry, ChainReport};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::api::{call, Credentials};
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    every_audited_action_writes_one_entry_with_its_fields_and_no_personal_data,
    refusals_inside_handlers_write_one_denial_naming_what_was_missing,
);

const WS: &str = "/w/acme-shop";
const PASSWORD: &str = "a long enough password";

/// Whether an action's entry belongs to one workspace or to the account as a whole.
/// Adding an action fails to compile here until it is placed, and then fails
/// `every_audited_action_…` until a step there performs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Workspace,
    Account,
}

fn scope(action: AuditAction) -> Scope {
    use AuditAction::*;
    match action {
        SetupCompleted
        | WorkspaceCreated
        | WorkspaceUpdated
        | MemberInvited
        | InvitationRevoked
        | MemberJoined
        | MemberRoleChanged
        | MemberRemoved
        | RoleCreated
        | RoleUpdated
        | RoleDeleted
        | ApiKeyCreated
        | ApiKeyRevoked
        | CustomerArchived
        | CustomerDeleted
        | CustomersImported
        | IdentifierSuppressed
        | IdentifierUnsuppressed
        | LegalHoldSet
        | LegalHoldReleased
        | CodeSent
        | CodeFailed
        | CodeAccepted
        | JobStarted
        | JobFinished
        | JobCancelled
        | ErasuresReplayed
        | CustomersMerged
        | DestinationCreated
        | DestinationUpdated
        | DestinationSecretRotated
        | DestinationPaused
        | DestinationResumed
        | DestinationRemoved
        | DeliveryResent
        | RequestRecorded
        | RequestExtended
        | RequestErasureStarted
        | RequestExported
        | RequestExportDownloaded
        | RequestClosed
        | RetentionPolicyCreated
        | RetentionPolicyUpdated
        | RetentionPolicyPaused
        | RetentionPolicyResumed
        | RetentionPolicyDeleted => Scope::Workspace,
        // Refusing to create a workspace names none (see the second test); every other
        // refusal happens inside one.
        PermissionDenied => Scope::Workspace,
        // Sign-ins, sessions, passwords and two-step sign-in are a person's; disabling,
        // account admins and ownership span every workspace. Roles belong to one workspace
        // each.
        SignInSucceeded
        | SignInFailed
        | SignInThrottled
        | SignInFlood
        | SignOut
        | SessionsRevoked
        | TotpEnabled
        | TotpDisabled
        | RecoveryCodeUsed
        | RecoveryCodesRegenerated
        | PasswordChanged
        | PasswordResetRequested
        | PasswordReset
        | TimeZoneChanged
        | MemberDisabled
        | MemberEnabled
        | AccountAdminGranted
        | AccountAdminRevoked
        | OwnershipTransferred => Scope::Account,
    }
}

/// Who an entry must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    User(i64),
    ApiKey(i64),
    /// The command line, replaying the erasure journal.
    System,
    /// Nobody known: strangers' refused sign-ins, as a flood.
    Nobody,
}

/// Where an entry must say it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// An HTTP request from this test: a fresh request id and the loopback address.
    Request,
    /// The background runner finishing a job: named after the job, with no address.
    Job(i64),
    /// `erasure replay-erasures`: no request, no address.
    Replay,
}

/// What one entry must hold.
struct Want {
    who: Who,
    workspace: Option<i64>,
    target: String,
    affected: Option<i64>,
    selection: Option<String>,
    from: Origin,
}

impl Want {
    fn new(who: Who, workspace: Option<i64>, target: impl Into<String>) -> Want {
        Want {
            who,
            workspace,
            target: target.into(),
            affected: None,
            selection: None,
            from: Origin::Request,
        }
    }

    fn affected(mut self, affected: i64) -> Want {
        self.affected = Some(affected);
        self
    }

    fn selection(mut self, selection: impl Into<String>) -> Want {
        self.selection = Some(selection.into());
        self
    }

    fn by_job(mut self, job: i64) -> Want {
        self.from = Origin::Job(job);
        self
    }
}

fn entries_after(app: &TestApp, after: i64) -> Vec<AuditEntry> {
    let mut conn = app.db();
    erasure::store::audit::page_after(&mut conn, after, 100_000).unwrap()
}

fn last_id(app: &TestApp) -> i64 {
    app.number("SELECT COALESCE(MAX(id), 0) AS v FROM audit_log")
}

/// Walks the log one step at a time: `mark` before an action, `one` after it for
/// each action the step must have written.
struct Audit<'a> {
    app: &'a TestApp,
    mark: i64,
    step_started: NaiveDateTime,
    covered: BTreeSet<&'static str>,
    /// Request id → the mark of the step that first used it.
    request_ids: HashMap<String, i64>,
}

impl<'a> Audit<'a> {
    fn new(app: &'a TestApp) -> Audit<'a> {
        Audit {
            app,
            mark: 0,
            step_started: erasure::store::now(),
            covered: BTreeSet::new(),
            request_ids: HashMap::new(),
        }
    }

    fn mark(&mut self) {
        self.mark = last_id(self.app);
        self.step_started = erasure::store::now();
    }

    /// The one entry of `action` written since the mark, checked against `want`.
    fn one(&mut self, action: AuditAction, want: Want) -> AuditEntry {
        let new = entries_after(self.app, self.mark);
        let mut found: Vec<AuditEntry> = new.iter().filter(|e| e.action == action.key()).cloned().collect();
        assert_eq!(
            found.len(),
            1,
            "{action}: exactly one new entry; the step wrote {:?}",
            new.iter().map(|e| e.action.as_str()).collect::<Vec<_>>()
        );
        let entry = found.remove(0);
        let (kind, id) = match want.who {
            Who::User(id) => ("user", Some(id)),
            Who::ApiKey(id) => ("api_key", Some(id)),
            Who::System => ("system", None),
            Who::Nobody => ("anonymous", None),
        };
        assert_eq!(
            (entry.actor_kind.as_str(), entry.actor_id),
            (kind, id),
            "{action}: the actor"
        );
        assert_eq!(entry.workspace_id, want.workspace, "{action}: the workspace");
        assert_eq!(
            want.workspace.is_some(),
            scope(action) == Scope::Workspace,
            "{action}: the test's expectation disagrees with the action's scope"
        );
        assert_eq!(entry.target, want.target, "{action}: the target");
        if let Some(affected) = want.affected {
            assert_eq!(entry.affected, affected, "{action}: the count");
        }
        if let Some(selection) = &want.selection {
            assert_eq!(&entry.selection, selection, "{action}: the selection in words");
        }
        match want.from {
            Origin::Request => {
                assert!(
                    entry.request_id.len() == 16
                        && entry.request_id.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{action}: a request id, not {:?}",
                    entry.request_id
                );
                assert_eq!(entry.client_ip, "127.0.0.1", "{action}: the client address");
                let first_seen = *self
                    .request_ids
                    .entry(entry.request_id.clone())
                    .or_insert(self.mark);
                assert_eq!(
                    first_seen, self.mark,
                    "{action}: request id {} belongs to an earlier request",
                    entry.request_id
                );
            }
            Origin::Replay => {
                assert_eq!(entry.request_id, "replay", "{action}: named after the replay");
                assert_eq!(entry.client_ip, "", "{action}: a replay has no client address");
            }
            Origin::Job(job) => {
                assert_eq!(
                    entry.request_id,
                    format!("job-{job}"),
                    "{action}: named after its job"
                );
                assert_eq!(entry.client_ip, "", "{action}: a job has no client address");
            }
        }
        // Stored in UTC: the server and this test share a clock.
        let now = erasure::store::now();
        let slack = chrono::Duration::seconds(5);
        assert!(
            entry.created_at >= self.step_started - slack && entry.created_at <= now + slack,
            "{action}: written at {} (UTC), during the step ({} to {})",
            entry.created_at,
            self.step_started,
            now
        );
        self.covered.insert(action.key());
        entry
    }
}

/// Every column of every audit row as one line of text. The columns come from the
/// database's catalog, so a column added later is searched too.
fn audit_rows_as_text(app: &TestApp) -> Vec<String> {
    let columns = match app.state.db.backend() {
        erasure::db::Backend::Sqlite => app.texts("SELECT name AS t FROM pragma_table_info('audit_log')"),
        erasure::db::Backend::Postgres => app.texts(
            "SELECT CAST(column_name AS TEXT) AS t FROM information_schema.columns \
             WHERE table_name = 'audit_log' AND table_schema = current_schema()",
        ),
    };
    assert!(columns.len() >= 14, "the audit log's columns: {columns:?}");
    let joined = columns
        .iter()
        .map(|c| format!("COALESCE(CAST({c} AS TEXT), '')"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    app.texts(&format!("SELECT {joined} AS t FROM audit_log ORDER BY id"))
}

/// The first personal value found in `text`, if any.
fn personal_value_in<'v>(text: &str, values: &'v [String]) -> Option<&'v String> {
    let text = text.to_lowercase();
    values.iter().find(|v| text.contains(&v.to_lowercase()))
}

/// A customer whose every identifying value is recognizable.
struct Canary {
    external_id: String,
    email: String,
    name: String,
    phone: String,
    tier: String,
    ssn: String,
}

impl Canary {
    fn new(n: usize) -> Canary {
        Canary {
            external_id: format!("zq-canary-ext-{n:02}"),
            email: format!("zq.canary{n:02}@example.net"),
            name: format!("Quentin Canaryperson{n:02}"),
            phone: format!("+44 20 7946 09{n:02}"),
            tier: format!("zq-tier-canary-{n:02}"),
            ssn: format!("zq-ssn-canary-{n:02}"),
        }
    }

    fn values(&self) -> Vec<String> {
        vec![
            self.external_id.clone(),
            self.email.clone(),
            self.name.clone(),
            self.phone.clone(),
            self.tier.clone(),
            self.ssn.clone(),
        ]
    }
}

fn customer_id(app: &TestApp, external_id: &str) -> i64 {
    app.number(&format!(
        "SELECT id AS v FROM customers WHERE external_id = '{external_id}'"
    ))
}

/// The number at the end of a path such as `/w/acme-shop/jobs/12`.
fn trailing_id(path: &str) -> i64 {
    path.rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id at the end of {path:?}"))
}

async fn see_other(response: Response, what: &str) -> String {
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

fn select_texts(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(selector).unwrap();
    doc.select(&selector)
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

fn select_attr(html: &str, selector: &str, attr: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(selector).unwrap();
    doc.select(&selector)
        .next()
        .and_then(|e| e.value().attr(attr).map(str::to_owned))
}

/// Polls a job until it has ended; returns its progress.
async fn finished(app: &TestApp, job: i64) -> Value {
    for _ in 0..600 {
        let progress: Value = app
            .get(&format!("{WS}/jobs/{job}/progress.json"))
            .await
            .json()
            .await
            .unwrap();
        if progress["finished"] == true {
            return progress;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("job {job} did not end within half a minute");
}

async fn upload_csv(app: &TestApp, client: &reqwest::Client, csv: &str) -> Response {
    let token = app.csrf_token_for(client).await;
    let form = Form::new().part(
        "file",
        Part::bytes(csv.as_bytes().to_vec())
            .file_name("customers.csv")
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

/// The six digits of the delete-all code mailed to the owner (each test asks once).
async fn mailed_code(app: &TestApp) -> String {
    let mail = app
        .mail
        .wait_for(|m| m.subject().starts_with("Code to delete all"))
        .await;
    let body = mail.body();
    let at = body.find("Code: ").expect("a code in the mail") + "Code: ".len();
    body[at..at + 6].to_owned()
}

fn add_user(app: &TestApp, email: &str, name: &str, role_builtin: &str) -> i64 {
    let hash = erasure::password::hash(PASSWORD).unwrap();
    app.sql(&format!(
        "INSERT INTO users (email, name, password_hash, is_owner, recovery_codes, disabled, created_at) \
         VALUES ('{email}', '{name}', '{hash}', FALSE, '[]', FALSE, '2026-01-01 00:00:00');
         INSERT INTO memberships (user_id, workspace_id, role_id, created_at) \
         SELECT u.id, w.id, r.id, '2026-01-01 00:00:00' FROM users u, workspaces w, roles r \
         WHERE u.email = '{email}' AND w.slug = 'acme-shop' AND r.builtin = '{role_builtin}';"
    ));
    app.number(&format!("SELECT id AS v FROM users WHERE email = '{email}'"))
}

async fn every_audited_action_writes_one_entry_with_its_fields_and_no_personal_data(backend: Backend) {
    // One customer per batch makes a job of thousands slow enough to cancel.
    let app = spawn_app_with(backend, Box::new(|settings| settings.job_batch_size = 1)).await;
    let mut audit = Audit::new(&app);
    let secret = app.state.secret.clone();

    // Setting up: the owner and the first workspace.
    audit.mark();
    app.setup_owner().await;
    // Bulk erasures below "everyone" run without the owner's code here (owner_code.rs tests it).
    app.sql("UPDATE workspaces SET owner_code_threshold = 1000000");
    let owner = app.number(&format!(
        "SELECT id AS v FROM users WHERE email = '{OWNER_EMAIL}'"
    ));
    let ws = app.number("SELECT id AS v FROM workspaces WHERE slug = 'acme-shop'");
    let me = Who::User(owner);
    audit.one(
        AuditAction::SetupCompleted,
        Want::new(me, Some(ws), format!("user:{owner}")),
    );
    audit.one(
        AuditAction::WorkspaceCreated,
        Want::new(me, Some(ws), format!("workspace:{ws}")),
    );

    // Signing out, failing, and signing in.
    audit.mark();
    see_other(app.logout().await, "sign out").await;
    audit.one(AuditAction::SignOut, Want::new(me, None, ""));
    audit.mark();
    let refused = app.login(OWNER_EMAIL, "not the password at all").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    audit.one(
        AuditAction::SignInFailed,
        Want::new(me, None, format!("user:{owner}")),
    );
    audit.mark();
    see_other(app.login(OWNER_EMAIL, OWNER_PASSWORD).await, "sign in").await;
    audit.one(
        AuditAction::SignInSucceeded,
        Want::new(me, None, format!("user:{owner}")),
    );

    // An API key, made on the settings page.
    audit.mark();
    let created = app
        .post_form(&format!("{WS}/settings/api-keys"), &[("name", "Backend")])
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let key_secret = select_attr(&created.text().await.unwrap(), "input#new-key", "value")
        .expect("the new key, shown once");
    let key = app.number("SELECT id AS v FROM api_keys WHERE name = 'Backend'");
    audit.one(
        AuditAction::ApiKeyCreated,
        Want::new(me, Some(ws), format!("api_key:{key}")),
    );
    let site_id = app
        .texts("SELECT site_id AS t FROM workspaces WHERE slug = 'acme-shop'")
        .remove(0);
    let credentials = Credentials {
        site_id,
        key: key_secret,
    };
    let by_key = Who::ApiKey(key);

    // Customers with recognizable personal data, sent as an integration would.
    let canaries: Vec<Canary> = (1..=8).map(Canary::new).collect();
    for c in &canaries {
        let body = json!({
            "email": c.email, "name": c.name, "phone": c.phone, "country": "GB",
            "tier": c.tier, "ssn": c.ssn,
        });
        let response = call(
            &app,
            &credentials,
            Method::PUT,
            &format!("/customers/{}", c.external_id),
            Some(body),
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
    }
    // Someone no erasure below is for: no bulk erasure here is of everyone.
    let bystander = call(
        &app,
        &credentials,
        Method::PUT,
        "/customers/bystander",
        Some(json!({ "country": "FR" })),
    )
    .await;
    assert_eq!(bystander.status(), StatusCode::OK);
    let mut personal: Vec<String> = canaries.iter().flat_map(Canary::values).collect();

    // The workspace's settings: emails identify people too, and ssn is personal data.
    audit.mark();
    see_other(
        app.post_form(
            &format!("{WS}/settings/workspace"),
            &[
                ("name", WORKSPACE_NAME),
                ("identifier_mode", "id_or_email"),
                ("pii_keys", "ssn"),
            ],
        )
        .await,
        "workspace settings",
    )
    .await;
    audit.one(
        AuditAction::WorkspaceUpdated,
        Want::new(me, Some(ws), format!("workspace:{ws}")),
    );

    // The Track API: delete by email, suppress and unsuppress by id.
    let c1 = customer_id(&app, &canaries[0].external_id);
    audit.mark();
    let deleted = call(
        &app,
        &credentials,
        Method::DELETE,
        &format!("/customers/{}", canaries[0].email),
        None,
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    audit.one(
        AuditAction::CustomerDeleted,
        Want::new(by_key, Some(ws), format!("customer:{c1}")).affected(1),
    );

    let c2 = customer_id(&app, &canaries[1].external_id);
    let c2_digest = erasure::erasure::suppress::id_digest(&secret, &canaries[1].external_id);
    audit.mark();
    let suppressed = call(
        &app,
        &credentials,
        Method::POST,
        &format!("/customers/{}/suppress", canaries[1].external_id),
        None,
    )
    .await;
    assert_eq!(suppressed.status(), StatusCode::OK);
    audit.one(
        AuditAction::IdentifierSuppressed,
        Want::new(by_key, Some(ws), format!("suppression:{}", &c2_digest[..12])).affected(1),
    );
    audit.one(
        AuditAction::CustomerDeleted,
        Want::new(by_key, Some(ws), format!("customer:{c2}"))
            .affected(1)
            .selection(format!("customer #{c2}")),
    );
    audit.mark();
    let freed = call(
        &app,
        &credentials,
        Method::POST,
        &format!("/customers/{}/unsuppress", canaries[1].external_id),
        None,
    )
    .await;
    assert_eq!(freed.status(), StatusCode::OK);
    audit.one(
        AuditAction::IdentifierUnsuppressed,
        Want::new(by_key, Some(ws), format!("suppression:{}", &c2_digest[..12])).affected(1),
    );

    // A duplicate merged into its primary by the API: the secondary is deleted.
    let pair = [Canary::new(30), Canary::new(31)];
    for c in &pair {
        let body = json!({ "email": c.email, "name": c.name, "tier": c.tier, "ssn": c.ssn });
        let path = format!("/customers/{}", c.external_id);
        let response = call(&app, &credentials, Method::PUT, &path, Some(body)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    personal.extend(pair.iter().flat_map(Canary::values));
    let (primary, secondary) = (
        customer_id(&app, &pair[0].external_id),
        customer_id(&app, &pair[1].external_id),
    );
    audit.mark();
    let merged = call(
        &app,
        &credentials,
        Method::POST,
        "/merge_customers",
        Some(json!({ "primary": { "email": pair[0].email }, "secondary": { "id": pair[1].external_id } })),
    )
    .await;
    assert_eq!(merged.status(), StatusCode::OK);
    let entry = audit.one(
        AuditAction::CustomersMerged,
        Want::new(by_key, Some(ws), format!("customer:{primary}")).affected(1),
    );
    let details: Value = serde_json::from_str(&entry.details).unwrap();
    assert_eq!(
        (&details["primary"], &details["secondary"]),
        (&json!(primary), &json!(secondary))
    );
    audit.one(
        AuditAction::CustomerDeleted,
        Want::new(by_key, Some(ws), format!("customer:{secondary}"))
            .affected(1)
            .selection(format!("customer #{secondary}")),
    );

    // The suppression list, by hand: an email address.
    let c3_digest = erasure::erasure::suppress::email_digest(&secret, &canaries[2].email);
    audit.mark();
    see_other(
        app.post_form(
            &format!("{WS}/suppressions/add"),
            &[("identifier", &canaries[2].email), ("reason", "manual")],
        )
        .await,
        "suppress by hand",
    )
    .await;
    // The address's own digest, and the one it has as the id of a customer first seen
    // by it, as the Track API suppresses it.
    audit.one(
        AuditAction::IdentifierSuppressed,
        Want::new(me, Some(ws), format!("suppression:{}", &c3_digest[..12])).affected(2),
    );
    let suppression = app.number(&format!(
        "SELECT id AS v FROM suppressions WHERE digest = '{c3_digest}'"
    ));
    audit.mark();
    see_other(
        app.post_form(&format!("{WS}/suppressions/{suppression}/unsuppress"), &[])
            .await,
        "unsuppress by hand",
    )
    .await;
    audit.one(
        AuditAction::IdentifierUnsuppressed,
        Want::new(me, Some(ws), format!("suppression:{}", &c3_digest[..12])).affected(1),
    );

    // Legal hold, with a reason that names the customer.
    let c4 = customer_id(&app, &canaries[3].external_id);
    audit.mark();
    let reason = format!("Litigation: {} v. Acme", canaries[3].name);
    see_other(
        app.post_form(&format!("{WS}/customers/{c4}/legal-hold"), &[("reason", &reason)])
            .await,
        "legal hold",
    )
    .await;
    audit.one(
        AuditAction::LegalHoldSet,
        Want::new(me, Some(ws), format!("customer:{c4}")).affected(1),
    );
    audit.mark();
    see_other(
        app.post_form(&format!("{WS}/customers/{c4}/legal-hold"), &[("release", "1")])
            .await,
        "release the hold",
    )
    .await;
    audit.one(
        AuditAction::LegalHoldReleased,
        Want::new(me, Some(ws), format!("customer:{c4}")).affected(1),
    );

    // One customer archived, one deleted, from their profiles.
    let c5 = customer_id(&app, &canaries[4].external_id);
    audit.mark();
    see_other(
        app.post_form(&format!("{WS}/customers/{c5}/archive"), &[]).await,
        "archive",
    )
    .await;
    audit.one(
        AuditAction::CustomerArchived,
        Want::new(me, Some(ws), format!("customer:{c5}"))
            .affected(1)
            .selection(format!("customer #{c5}")),
    );
    let c6 = customer_id(&app, &canaries[5].external_id);
    audit.mark();
    see_other(
        app.post_form(&format!("{WS}/customers/{c6}/delete"), &[]).await,
        "delete",
    )
    .await;
    audit.one(
        AuditAction::CustomerDeleted,
        Want::new(me, Some(ws), format!("customer:{c6}"))
            .affected(1)
            .selection(format!("customer #{c6}")),
    );

    // Bulk jobs over filters typed from personal data: a search for an email address,
    // and an attribute's value.
    for (intent, filter, words) in [
        (
            "delete_filtered",
            ("q", canaries[6].email.clone()),
            "customers, matching a search",
        ),
        (
            "archive_filtered",
            ("attr", format!("tier={}", canaries[7].tier)),
            "customers, with a chosen tier",
        ),
    ] {
        let preview = see_other(
            app.post_form(
                &format!("{WS}/customers/bulk"),
                &[("intent", intent), (filter.0, &filter.1)],
            )
            .await,
            intent,
        )
        .await;
        let job = trailing_id(&preview);
        audit.mark();
        see_other(
            app.post_form(&format!("{WS}/jobs/{job}/confirm"), &[]).await,
            "confirm",
        )
        .await;
        audit.one(
            AuditAction::JobStarted,
            Want::new(me, Some(ws), format!("job:{job}"))
                .affected(1)
                .selection(words),
        );
        let progress = finished(&app, job).await;
        assert_eq!(progress["state"], "done", "{intent}: {progress}");
        audit.one(
            AuditAction::JobFinished,
            Want::new(me, Some(ws), format!("job:{job}"))
                .affected(1)
                .selection(words)
                .by_job(job),
        );
    }

    // A CSV import of more personal data.
    let imported: Vec<Canary> = (20..22).map(Canary::new).collect();
    let mut csv = "id,email,name,phone,tier,ssn\n".to_owned();
    for c in &imported {
        csv.push_str(&format!(
            "{},{},{},{},{},{}\n",
            c.external_id, c.email, c.name, c.phone, c.tier, c.ssn
        ));
        personal.extend(c.values());
    }
    let import = trailing_id(&see_other(upload_csv(&app, &app.client, &csv).await, "upload").await);
    audit.mark();
    see_other(
        app.post_form(&format!("{WS}/jobs/{import}/confirm"), &[]).await,
        "confirm the import",
    )
    .await;
    audit.one(
        AuditAction::JobStarted,
        Want::new(me, Some(ws), format!("job:{import}"))
            .affected(2)
            .selection("CSV import, 2 rows"),
    );
    let progress = finished(&app, import).await;
    assert_eq!(progress["done"], 2, "{progress}");
    audit.one(
        AuditAction::CustomersImported,
        Want::new(me, Some(ws), format!("job:{import}"))
            .affected(2)
            .by_job(import),
    );
    audit.one(
        AuditAction::JobFinished,
        Want::new(me, Some(ws), format!("job:{import}"))
            .affected(2)
            .by_job(import),
    );

    // Delete all: the owner's code, a wrong one first.
    audit.mark();
    see_other(
        app.post_form(
            &format!("{WS}/customers/delete-all"),
            &[("workspace_name", WORKSPACE_NAME)],
        )
        .await,
        "send the code",
    )
    .await;
    let challenge = app.number("SELECT MAX(id) AS v FROM otp_challenges");
    audit.one(
        AuditAction::CodeSent,
        Want::new(me, Some(ws), format!("otp_challenge:{challenge}")),
    );
    let code = mailed_code(&app).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    audit.mark();
    let refused = app
        .post_form(&format!("{WS}/customers/delete-all/confirm"), &[("code", wrong)])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    audit.one(
        AuditAction::CodeFailed,
        Want::new(me, Some(ws), format!("otp_challenge:{challenge}")),
    );
    audit.mark();
    let started = see_other(
        app.post_form(&format!("{WS}/customers/delete-all/confirm"), &[("code", &code)])
            .await,
        "the right code",
    )
    .await;
    let job = trailing_id(&started);
    let remaining = app.number(&format!("SELECT total AS v FROM jobs WHERE id = {job}"));
    assert!(remaining > 0, "customers were left to delete");
    audit.one(
        AuditAction::CodeAccepted,
        Want::new(me, Some(ws), format!("otp_challenge:{challenge}")),
    );
    let every = format!("every customer of workspace {WORKSPACE_NAME}");
    audit.one(
        AuditAction::JobStarted,
        Want::new(me, Some(ws), format!("job:{job}"))
            .affected(remaining)
            .selection(every.clone()),
    );
    finished(&app, job).await;
    audit.one(
        AuditAction::JobFinished,
        Want::new(me, Some(ws), format!("job:{job}"))
            .affected(remaining)
            .selection(every)
            .by_job(job),
    );

    // A job cancelled while it runs.
    app.sql(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \
         INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         SELECT {ws}, 'bulk-' || i, 'NL', '{{}}', '2026-01-01 00:00:00', '2026-11-01 00:00:00' FROM n;
         INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         VALUES ({ws}, 'not-nl', 'FR', '{{}}', '2026-01-01 00:00:00', '2026-11-01 00:00:00')"
    ));
    let job = trailing_id(
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
    audit.mark();
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
    let progress = finished(&app, job).await;
    assert_eq!(progress["state"], "cancelled", "{progress}");
    audit.one(
        AuditAction::JobStarted,
        Want::new(me, Some(ws), format!("job:{job}")).affected(3000),
    );
    audit.one(
        AuditAction::JobCancelled,
        Want::new(me, Some(ws), format!("job:{job}"))
            .affected(progress["done"].as_i64().unwrap())
            .by_job(job),
    );

    // Two-step sign-in: on, used with a recovery code, off.
    see_other(
        app.post_form("/settings/security/totp/start", &[]).await,
        "start two-step",
    )
    .await;
    let page = app.get_html("/settings/security/totp").await;
    let totp_secret = select_texts(&page, "#totp-secret").pop().expect("the secret");
    let now = || chrono::Utc::now().timestamp() as u64;
    audit.mark();
    let enrolled = app
        .post_form(
            "/settings/security/totp/confirm",
            &[("code", &erasure::totp::code_at(&totp_secret, now()).unwrap())],
        )
        .await;
    assert_eq!(enrolled.status(), StatusCode::OK);
    let recovery = select_texts(&enrolled.text().await.unwrap(), ".recovery-codes code");
    assert_eq!(recovery.len(), 10);
    audit.one(
        AuditAction::TotpEnabled,
        Want::new(me, None, format!("user:{owner}")),
    );
    app.logout().await;
    assert_eq!(
        see_other(app.login(OWNER_EMAIL, OWNER_PASSWORD).await, "password step").await,
        "/login/totp"
    );
    audit.mark();
    see_other(
        app.post_form("/login/totp", &[("code", &recovery[0])]).await,
        "recovery code",
    )
    .await;
    audit.one(AuditAction::RecoveryCodeUsed, Want::new(me, None, "").affected(9));
    audit.one(
        AuditAction::SignInSucceeded,
        Want::new(me, None, format!("user:{owner}")),
    );
    audit.mark();
    // The next time step: the one used to enrol is spent.
    let regenerated = app
        .post_form(
            "/settings/security/recovery-codes",
            &[
                ("password", OWNER_PASSWORD),
                ("code", &erasure::totp::code_at(&totp_secret, now() + 30).unwrap()),
            ],
        )
        .await;
    assert_eq!(regenerated.status(), StatusCode::OK);
    let recovery = select_texts(&regenerated.text().await.unwrap(), ".recovery-codes code");
    assert_eq!(recovery.len(), 10);
    audit.one(
        AuditAction::RecoveryCodesRegenerated,
        Want::new(me, None, format!("user:{owner}")),
    );
    audit.mark();
    // That step is spent too: a new recovery code instead.
    see_other(
        app.post_form(
            "/settings/security/totp/disable",
            &[("password", OWNER_PASSWORD), ("code", &recovery[0])],
        )
        .await,
        "turn two-step off",
    )
    .await;
    audit.one(
        AuditAction::TotpDisabled,
        Want::new(me, None, format!("user:{owner}")),
    );

    // The team: an invitation accepted, a custom role, a refusal, member changes.
    let invitee_email = "ivy.invitee@example.org";
    let member_role = app.number("SELECT id AS v FROM roles WHERE builtin = 'member'");
    audit.mark();
    see_other(
        app.post_form(
            &format!("{WS}/settings/team/invite"),
            &[("email", invitee_email), ("role", &member_role.to_string())],
        )
        .await,
        "invite",
    )
    .await;
    let invitation = app.number("SELECT MAX(id) AS v FROM invitations");
    audit.one(
        AuditAction::MemberInvited,
        Want::new(me, Some(ws), format!("invitation:{invitation}")),
    );
    // An invitation sent to the wrong address, revoked.
    see_other(
        app.post_form(
            &format!("{WS}/settings/team/invite"),
            &[
                ("email", "wrong.address@example.com"),
                ("role", &member_role.to_string()),
            ],
        )
        .await,
        "invite the wrong address",
    )
    .await;
    let wrong = app.number("SELECT MAX(id) AS v FROM invitations");
    audit.mark();
    see_other(
        app.post_form(&format!("{WS}/settings/team/invitations/{wrong}/revoke"), &[])
            .await,
        "revoke",
    )
    .await;
    audit.one(
        AuditAction::InvitationRevoked,
        Want::new(me, Some(ws), format!("invitation:{wrong}")),
    );
    let mail = app.mail.wait_for(|m| m.is_to(invitee_email)).await;
    let body = mail.body();
    let at = body.find("/invitations/").expect("a link") + "/invitations/".len();
    let token: String = body[at..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let ivy = new_client();
    audit.mark();
    see_other(
        app.post_form_with(
            &ivy,
            &format!("/invitations/{token}"),
            &[
                ("name", "Ivy Invitee"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await,
        "accept",
    )
    .await;
    let ivy_id = app.number(&format!(
        "SELECT id AS v FROM users WHERE email = '{invitee_email}'"
    ));
    audit.one(
        AuditAction::MemberJoined,
        Want::new(Who::User(ivy_id), Some(ws), format!("user:{ivy_id}")),
    );

    audit.mark();
    see_other(
        app.post_form(
            &format!("{WS}/settings/roles"),
            &[
                ("name", "Auditor"),
                ("permission", "customers.view"),
                ("permission", "audit.view"),
            ],
        )
        .await,
        "create a role",
    )
    .await;
    let role = app.number("SELECT id AS v FROM roles WHERE name = 'Auditor'");
    audit.one(
        AuditAction::RoleCreated,
        Want::new(me, Some(ws), format!("role:{role}")),
    );
    audit.mark();
    see_other(
        app.post_form(
            &format!("{WS}/settings/roles/{role}"),
            &[("name", "Auditor"), ("permission", "customers.view")],
        )
        .await,
        "edit the role",
    )
    .await;
    audit.one(
        AuditAction::RoleUpdated,
        Want::new(me, Some(ws), format!("role:{role}")),
    );
    audit.mark();
    see_other(
        app.post_form(
            &format!("{WS}/settings/team/{ivy_id}/role"),
            &[("role", &role.to_string())],
        )
        .await,
        "change the role",
    )
    .await;
    audit.one(
        AuditAction::MemberRoleChanged,
        Want::new(me, Some(ws), format!("user:{ivy_id}")),
    );
    audit.mark();
    let denied = app.get_with(&ivy, &format!("{WS}/audit")).await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let denial = audit.one(
        AuditAction::PermissionDenied,
        Want::new(Who::User(ivy_id), Some(ws), "GET /w/{workspace}/audit"),
    );
    let details: Value = serde_json::from_str(&denial.details).unwrap();
    assert_eq!(details["permission"], "audit.view");
    app.post_form(
        &format!("{WS}/settings/team/{ivy_id}/role"),
        &[("role", &member_role.to_string())],
    )
    .await;
    audit.mark();
    see_other(
        app.post_form(&format!("{WS}/settings/roles/{role}/delete"), &[])
            .await,
        "delete the role",
    )
    .await;
    audit.one(
        AuditAction::RoleDeleted,
        Want::new(me, Some(ws), format!("role:{role}")),
    );
    audit.mark();
    see_other(
        app.post_form(&format!("{WS}/settings/team/{ivy_id}/disable"), &[])
            .await,
        "disable",
    )
    .await;
    audit.one(
        AuditAction::MemberDisabled,
        Want::new(me, None, format!("user:{ivy_id}")),
    );
    audit.mark();
    see_other(
        app.post_form(&format!("{WS}/settings/team/{ivy_id}/enable"), &[])
            .await,
        "enable",
    )
    .await;
    audit.one(
        AuditAction::MemberEnabled,
        Want::new(me, None, format!("user:{ivy_id}")),
    );
    for (grant, action) in [
        ("grant", AuditAction::AccountAdminGranted),
        ("revoke", AuditAction::AccountAdminRevoked),
    ] {
        audit.mark();
        see_other(
            app.post_form(
                &format!("{WS}/settings/team/{ivy_id}/account-admin"),
                &[("account_admin", grant)],
            )
            .await,
            grant,
        )
        .await;
        audit.one(action, Want::new(me, None, format!("user:{ivy_id}")));
    }

    // Ivy signs in again and ends all her sessions.
    see_other(
        app.login_with(&ivy, invitee_email, PASSWORD).await,
        "Ivy signs in",
    )
    .await;
    audit.mark();
    see_other(
        app.post_form_with(&ivy, "/settings/security/sign-out-everywhere", &[])
            .await,
        "sign out everywhere",
    )
    .await;
    audit.one(
        AuditAction::SessionsRevoked,
        Want::new(Who::User(ivy_id), None, format!("user:{ivy_id}")).affected(1),
    );

    // A member changes her password, forgets it, and sets a new one with the mailed link.
    let pia_email = "pia.password@example.org";
    let pia = add_user(&app, pia_email, "Pia Password", "member");
    let pia_client = new_client();
    see_other(
        app.login_with(&pia_client, pia_email, PASSWORD).await,
        "Pia signs in",
    )
    .await;
    let changed_password = "pia's changed passphrase";
    audit.mark();
    see_other(
        app.post_form_with(
            &pia_client,
            "/settings/security/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", changed_password),
                ("new_password_confirm", changed_password),
            ],
        )
        .await,
        "change the password",
    )
    .await;
    audit.one(
        AuditAction::PasswordChanged,
        Want::new(Who::User(pia), None, format!("user:{pia}")),
    );
    let forgetful = new_client();
    audit.mark();
    see_other(
        app.post_form_with(&forgetful, "/password/forgot", &[("email", pia_email)])
            .await,
        "ask for a reset link",
    )
    .await;
    // Recorded before it is mailed.
    let mail = app
        .mail
        .wait_for(|m| m.is_to(pia_email) && m.body().contains("/password/reset/"))
        .await;
    audit.one(
        AuditAction::PasswordResetRequested,
        Want::new(Who::User(pia), None, format!("user:{pia}")),
    );
    let body = mail.body();
    let at = body.find("/password/reset/").expect("a link") + "/password/reset/".len();
    let reset_token: String = body[at..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let reset_password = "pia's passphrase set by link";
    audit.mark();
    see_other(
        app.post_form_with(
            &forgetful,
            &format!("/password/reset/{reset_token}"),
            &[("password", reset_password), ("password_confirm", reset_password)],
        )
        .await,
        "set a new password",
    )
    .await;
    audit.one(
        AuditAction::PasswordReset,
        Want::new(Who::User(pia), None, format!("user:{pia}")),
    );
    // She signs in again, and reads the console's times in her own zone.
    let pia_again = new_client();
    see_other(
        app.login_with(&pia_again, pia_email, reset_password).await,
        "Pia signs in with her new password",
    )
    .await;
    audit.mark();
    see_other(
        app.post_form_with(
            &pia_again,
            "/settings/preferences",
            &[("time_zone", "Europe/Lisbon")],
        )
        .await,
        "choose a time zone",
    )
    .await;
    let zone = audit.one(
        AuditAction::TimeZoneChanged,
        Want::new(Who::User(pia), None, format!("user:{pia}")),
    );
    assert_eq!(zone.details, r#"{"time_zone":"Europe/Lisbon"}"#);
    // None of it may reach the log: not her address, the passwords or the link.
    personal.extend([
        pia_email.to_owned(),
        changed_password.to_owned(),
        reset_password.to_owned(),
        reset_token,
    ]);

    // Another member: removed, then locked out by failed sign-ins.
    let vic = add_user(&app, "vic.member@example.org", "Vic Member", "member");
    audit.mark();
    see_other(
        app.post_form(&format!("{WS}/settings/team/{vic}/remove"), &[])
            .await,
        "remove",
    )
    .await;
    audit.one(
        AuditAction::MemberRemoved,
        Want::new(me, Some(ws), format!("user:{vic}")),
    );
    let stranger = new_client();
    for attempt in 1..=5 {
        let response = app
            .login_with(&stranger, "vic.member@example.org", "a wrong password")
            .await;
        let expected = if attempt < 5 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(response.status(), expected, "attempt {attempt}");
    }
    // As if guessed at from many places: the hundredth failure closes the account to
    // addresses it never signed in from, once.
    app.sql("UPDATE login_throttles SET failures = 99, wait_until = NULL");
    audit.mark();
    let throttled = app
        .login_with(&stranger, "vic.member@example.org", "a wrong password")
        .await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    audit.one(
        AuditAction::SignInThrottled,
        Want::new(Who::User(vic), None, format!("user:{vic}")).affected(100),
    );

    // Strangers' failures are counted, and audited only as a flood (from an address
    // whose own count the guessing above did not leave waiting).
    app.sql("DELETE FROM login_throttles");
    // 99 in this hour and the next, so that the hour turning over changes nothing.
    app.sql("DELETE FROM sign_in_tallies");
    let now = chrono::Utc::now().naive_utc();
    for hour in [now, now + chrono::Duration::hours(1)] {
        app.sql(&format!(
            "INSERT INTO sign_in_tallies (hour, refused) VALUES ('{}', 99)",
            hour.format("%Y-%m-%d %H:00:00")
        ));
    }
    let elsewhere = new_client();
    audit.mark();
    let refused = app
        .login_with(&elsewhere, "nobody.at.all@example.org", "a wrong password")
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    audit.one(
        AuditAction::SignInFlood,
        Want::new(Who::Nobody, None, "").affected(100),
    );

    // A destination told of erasures: added, changed, its secret rotated, paused and
    // resumed, an event sent again, removed.
    audit.mark();
    let added = app
        .post_form(
            &format!("{WS}/settings/destinations"),
            &[
                ("name", "Warehouse"),
                ("url", "http://127.0.0.1:9/hook"),
                ("events", "customer.deleted"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::OK);
    let destination = app.number("SELECT id AS v FROM destinations WHERE name = 'Warehouse'");
    let target = format!("destination:{destination}");
    audit.one(
        AuditAction::DestinationCreated,
        Want::new(me, Some(ws), target.clone()),
    );
    let page = format!("{WS}/settings/destinations/{destination}");
    for (path, fields, action) in [
        (
            page.clone(),
            vec![
                ("name", "Warehouse EU"),
                ("url", "http://127.0.0.1:9/hook"),
                ("events", "customer.deleted"),
            ],
            AuditAction::DestinationUpdated,
        ),
        (
            format!("{page}/rotate"),
            vec![],
            AuditAction::DestinationSecretRotated,
        ),
        (format!("{page}/pause"), vec![], AuditAction::DestinationPaused),
    ] {
        audit.mark();
        let response = app.post_form(&path, &fields).await;
        assert!(
            response.status().is_success() || response.status().is_redirection(),
            "{path}"
        );
        audit.one(action, Want::new(me, Some(ws), target.clone()));
    }
    app.sql(&format!(
        "INSERT INTO outbox (workspace_id, destination_id, message_id, event_type, body, state, next_attempt_at, retry_from, created_at) \
         VALUES ({ws}, {destination}, 'msg_audit', 'customer.deleted', '{{}}', 'failed', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    ));
    let event = app.number("SELECT id AS v FROM outbox WHERE message_id = 'msg_audit'");
    for (path, action) in [
        (
            format!("{page}/deliveries/{event}/resend"),
            AuditAction::DeliveryResent,
        ),
        (format!("{page}/resume"), AuditAction::DestinationResumed),
        (format!("{page}/remove"), AuditAction::DestinationRemoved),
    ] {
        audit.mark();
        see_other(app.post_form(&path, &[]).await, "a destination's change").await;
        audit.one(action, Want::new(me, Some(ws), target.clone()));
    }

    // A data-subject request: recorded, extended, exported and downloaded, its erasure
    // started, closed.
    crate::helpers::arrange::NewPerson::new("requested-1").insert(&app);
    audit.mark();
    let recorded = app
        .post_form(
            &format!("{WS}/requests"),
            &[
                ("kind", "both"),
                ("external_id", "requested-1"),
                ("verification", "Signed letter"),
                ("received_on", &erasure::store::now().date().to_string()),
            ],
        )
        .await;
    let request = see_other(recorded, "record a request").await;
    let request_id: i64 = request.rsplit('/').next().unwrap().parse().unwrap();
    let target = format!("request:{request_id}");
    audit.one(
        AuditAction::RequestRecorded,
        Want::new(me, Some(ws), target.clone()),
    );
    for (path, fields, action) in [
        (
            format!("{request}/extend"),
            vec![("days", "10"), ("reason", "Many at once")],
            AuditAction::RequestExtended,
        ),
        (format!("{request}/export"), vec![], AuditAction::RequestExported),
        (
            format!("{request}/erase"),
            vec![("intent", "archive")],
            AuditAction::RequestErasureStarted,
        ),
        (
            format!("{request}/close"),
            vec![("outcome", "completed")],
            AuditAction::RequestClosed,
        ),
    ] {
        audit.mark();
        see_other(app.post_form(&path, &fields).await, "a request's change").await;
        audit.one(action, Want::new(me, Some(ws), target.clone()));
        if action == AuditAction::RequestExported {
            audit.mark();
            let downloaded = app.get(&format!("{request}/export.json")).await;
            assert_eq!(downloaded.status(), StatusCode::OK);
            audit.one(
                AuditAction::RequestExportDownloaded,
                Want::new(me, Some(ws), target.clone()),
            );
        }
    }

    // A retention policy: added, changed, paused, resumed, deleted.
    audit.mark();
    see_other(
        app.post_form(
            &format!("{WS}/settings/retention"),
            &[("action", "archive"), ("days", "3650")],
        )
        .await,
        "add a retention policy",
    )
    .await;
    let policy = app.number("SELECT MAX(id) AS v FROM retention_policies");
    let target = format!("retention_policy:{policy}");
    audit.one(
        AuditAction::RetentionPolicyCreated,
        Want::new(me, Some(ws), target.clone()),
    );
    let page = format!("{WS}/settings/retention/{policy}");
    for (path, fields, action) in [
        (
            page.clone(),
            vec![("action", "archive"), ("days", "3000"), ("country", "NL")],
            AuditAction::RetentionPolicyUpdated,
        ),
        (
            format!("{page}/pause"),
            vec![],
            AuditAction::RetentionPolicyPaused,
        ),
        (
            format!("{page}/resume"),
            vec![],
            AuditAction::RetentionPolicyResumed,
        ),
        (
            format!("{page}/delete"),
            vec![],
            AuditAction::RetentionPolicyDeleted,
        ),
    ] {
        audit.mark();
        see_other(app.post_form(&path, &fields).await, "a retention policy's change").await;
        audit.one(action, Want::new(me, Some(ws), target.clone()));
    }

    // The key is revoked once the integration is done with it.
    audit.mark();
    see_other(
        app.post_form(&format!("{WS}/settings/api-keys/{key}/revoke"), &[])
            .await,
        "revoke",
    )
    .await;
    audit.one(
        AuditAction::ApiKeyRevoked,
        Want::new(me, Some(ws), format!("api_key:{key}")),
    );

    // A second workspace, then the account handed over.
    audit.mark();
    see_other(
        app.post_form("/settings/workspaces", &[("name", "Second Shop")])
            .await,
        "create a workspace",
    )
    .await;
    let second = app.number("SELECT id AS v FROM workspaces WHERE slug = 'second-shop'");
    audit.one(
        AuditAction::WorkspaceCreated,
        Want::new(me, Some(second), format!("workspace:{second}")),
    );
    audit.mark();
    see_other(
        app.post_form(
            &format!("{WS}/settings/team/transfer"),
            &[("user", &ivy_id.to_string()), ("password", OWNER_PASSWORD)],
        )
        .await,
        "transfer",
    )
    .await;
    audit.one(
        AuditAction::OwnershipTransferred,
        Want::new(me, None, format!("user:{ivy_id}")).affected(2),
    );

    // A database restored from a backup: the journal's erasures applied again.
    let journal = app.data_dir.join(erasure::erasure::journal::FILE_NAME);
    let (entries, _) = erasure::erasure::journal::read(&journal).unwrap();
    audit.mark();
    let report = {
        let mut conn = app.db();
        erasure::erasure::replay::replay(&mut conn, &app.state.secret, &entries).unwrap()
    };
    let mut replayed =
        Want::new(Who::System, Some(ws), "journal").affected(report.deleted_again + report.archived_again);
    replayed.from = Origin::Replay;
    audit.one(AuditAction::ErasuresReplayed, replayed);

    // Every action was performed and checked.
    let all: BTreeSet<&str> = AuditAction::ALL.iter().map(|a| a.key()).collect();
    let missing: Vec<&&str> = all.difference(&audit.covered).collect();
    assert!(missing.is_empty(), "actions no step performed: {missing:?}");

    // Nobody's personal data anywhere: not in any column of any entry …
    for row in audit_rows_as_text(&app) {
        if let Some(value) = personal_value_in(&row, &personal) {
            panic!("the audit log holds {value:?}: {row}");
        }
    }
    // … nor in the exports, which hold every entry the old owner (now a workspace's
    // admin, without account-wide power) may read: the workspace's own, and the
    // account-level ones of its members about nobody or about its members.
    let in_export = app.number(&format!(
            "SELECT COUNT(*) AS v FROM audit_log WHERE workspace_id = {ws} OR (workspace_id IS NULL \
             AND actor_kind = 'user' AND actor_id IN (SELECT user_id FROM memberships WHERE workspace_id = {ws}) \
             AND (target NOT LIKE 'user:%' \
                  OR target IN (SELECT 'user:' || CAST(user_id AS TEXT) FROM memberships WHERE workspace_id = {ws})))"
        ),
    );
    let csv = app.get_html(&format!("{WS}/audit/export.csv")).await;
    let rows = csv::Reader::from_reader(csv.as_bytes()).records().count() as i64;
    assert_eq!(rows, in_export, "the CSV export has every entry");
    let jsonl = app.get_html(&format!("{WS}/audit/export.jsonl")).await;
    assert_eq!(
        jsonl.lines().count() as i64,
        in_export,
        "the JSON Lines export has every entry"
    );
    for (name, body) in [("CSV", &csv), ("JSON Lines", &jsonl)] {
        if let Some(value) = personal_value_in(body, &personal) {
            panic!("the {name} export holds {value:?}");
        }
    }
    // The search finds what is there: the newest entry's hash, in both.
    let newest = app.texts("SELECT hash AS t FROM audit_log ORDER BY id DESC LIMIT 1");
    assert!(personal_value_in(&csv, &newest).is_some() && personal_value_in(&jsonl, &newest).is_some());
    assert!(audit_rows_as_text(&app)
        .iter()
        .any(|row| personal_value_in(row, &newest).is_some()));

    // And the chain holds.
    let mut conn = app.db();
    let report = erasure::store::audit::verify_chain(&mut conn, 1000).unwrap();
    assert!(matches!(report, ChainReport::Intact { .. }), "{report:?}");
}

/// One refusal made inside a handler, after the extractor let the request through.
struct Refusal {
    who: &'static str,
    method: Method,
    path: String,
    pattern: &'static str,
    form: Vec<(&'static str, String)>,
    required: &'static str,
    in_workspace: bool,
}

async fn refusals_inside_handlers_write_one_denial_naming_what_was_missing(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let owner = app.number(&format!(
        "SELECT id AS v FROM users WHERE email = '{OWNER_EMAIL}'"
    ));
    let ws = app.number("SELECT id AS v FROM workspaces WHERE slug = 'acme-shop'");
    let member = add_user(&app, "mia.member@example.org", "Mia Member", "member");
    let admin = add_user(&app, "ada.admin@example.org", "Ada Admin", "admin");
    let mia = new_client();
    see_other(
        app.login_with(&mia, "mia.member@example.org", PASSWORD).await,
        "Mia",
    )
    .await;
    let ada = new_client();
    see_other(
        app.login_with(&ada, "ada.admin@example.org", PASSWORD).await,
        "Ada",
    )
    .await;
    app.sql(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4) \
         INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         SELECT {ws}, 'c-' || i, 'NL', '{{}}', '2026-01-01 00:00:00', '2026-11-01 00:00:00' FROM n"
    ));
    let customer = customer_id(&app, "c-1");
    let gone = customer_id(&app, "c-2");

    // What the refusals are about: a deletion with a receipt, a previewed deletion, a
    // previewed import, and a delete-all job.
    see_other(
        app.post_form(&format!("{WS}/customers/{gone}/delete"), &[]).await,
        "delete",
    )
    .await;
    let receipt = app
        .texts("SELECT receipt_id AS t FROM jobs WHERE state = 'done'")
        .remove(0);
    let preview = trailing_id(
        &see_other(
            app.post_form(
                &format!("{WS}/customers/bulk"),
                &[("intent", "delete_selected"), ("ids", &customer.to_string())],
            )
            .await,
            "preview",
        )
        .await,
    );
    let import = trailing_id(&see_other(upload_csv(&app, &app.client, "id\nnew-1\n").await, "upload").await);
    see_other(
        app.post_form(
            &format!("{WS}/customers/delete-all"),
            &[("workspace_name", WORKSPACE_NAME)],
        )
        .await,
        "send the code",
    )
    .await;
    let code = mailed_code(&app).await;
    let delete_all = trailing_id(
        &see_other(
            app.post_form(&format!("{WS}/customers/delete-all/confirm"), &[("code", &code)])
                .await,
            "delete all",
        )
        .await,
    );
    finished(&app, delete_all).await;

    let refusal = |who: &'static str,
                   method: Method,
                   path: String,
                   pattern: &'static str,
                   form: Vec<(&'static str, String)>,
                   required: &'static str| Refusal {
        who,
        method,
        path,
        pattern,
        form,
        required,
        in_workspace: true,
    };
    let delete = "customers.delete";
    let reader = "suppressions.manage or audit.view";
    let mut refusals = vec![
        refusal(
            "mia",
            Method::POST,
            format!("{WS}/customers/bulk"),
            "/w/{workspace}/customers/bulk",
            vec![
                ("intent", "delete_selected".into()),
                ("ids", customer.to_string()),
            ],
            delete,
        ),
        refusal(
            "mia",
            Method::POST,
            format!("{WS}/customers/bulk"),
            "/w/{workspace}/customers/bulk",
            vec![("intent", "archive_filtered".into())],
            "customers.archive",
        ),
        refusal(
            "mia",
            Method::POST,
            format!("{WS}/customers/{customer}/legal-hold"),
            "/w/{workspace}/customers/{id}/legal-hold",
            vec![("reason", "litigation".into())],
            "the Owner or Admin role",
        ),
        refusal(
            "mia",
            Method::GET,
            format!("{WS}/jobs/{preview}"),
            "/w/{workspace}/jobs/{id}",
            vec![],
            delete,
        ),
        refusal(
            "mia",
            Method::GET,
            format!("{WS}/jobs/{preview}/progress.json"),
            "/w/{workspace}/jobs/{id}/progress.json",
            vec![],
            delete,
        ),
    ];
    for action in ["confirm", "discard", "cancel"] {
        refusals.push(Refusal {
            who: "mia",
            method: Method::POST,
            path: format!("{WS}/jobs/{preview}/{action}"),
            pattern: match action {
                "confirm" => "/w/{workspace}/jobs/{id}/confirm",
                "discard" => "/w/{workspace}/jobs/{id}/discard",
                _ => "/w/{workspace}/jobs/{id}/cancel",
            },
            form: vec![],
            required: delete,
            in_workspace: true,
        });
    }
    refusals.extend([
        // The owner may delete everything, but only through the code's own page.
        refusal(
            "owner",
            Method::POST,
            format!("{WS}/jobs/{delete_all}/confirm"),
            "/w/{workspace}/jobs/{id}/confirm",
            vec![],
            "the account owner's code",
        ),
        refusal(
            "mia",
            Method::GET,
            format!("{WS}/receipts/{receipt}"),
            "/w/{workspace}/receipts/{receipt}",
            vec![],
            "audit.view",
        ),
        refusal(
            "mia",
            Method::GET,
            format!("{WS}/receipts/{receipt}.json"),
            "/w/{workspace}/receipts/{receipt}.json",
            vec![],
            "audit.view",
        ),
        refusal(
            "mia",
            Method::GET,
            format!("{WS}/suppressions"),
            "/w/{workspace}/suppressions",
            vec![],
            reader,
        ),
        refusal(
            "mia",
            Method::POST,
            format!("{WS}/suppressions/lookup"),
            "/w/{workspace}/suppressions/lookup",
            vec![("identifier", "c-3".into())],
            reader,
        ),
        refusal(
            "mia",
            Method::GET,
            format!("{WS}/suppressions/export.csv"),
            "/w/{workspace}/suppressions/export.csv",
            vec![],
            reader,
        ),
        refusal(
            "mia",
            Method::GET,
            format!("{WS}/imports/{import}"),
            "/w/{workspace}/imports/{id}",
            vec![],
            "settings.manage",
        ),
        refusal(
            "ada",
            Method::POST,
            format!("{WS}/settings/team/transfer"),
            "/w/{workspace}/settings/team/transfer",
            vec![("user", member.to_string()), ("password", PASSWORD.into())],
            "the account owner",
        ),
        refusal(
            "ada",
            Method::POST,
            format!("{WS}/settings/team/{member}/disable"),
            "/w/{workspace}/settings/team/{user}/disable",
            vec![],
            "the account owner or an account admin",
        ),
        refusal(
            "ada",
            Method::POST,
            format!("{WS}/settings/team/{member}/sign-out"),
            "/w/{workspace}/settings/team/{user}/sign-out",
            vec![],
            "the account owner or an account admin",
        ),
        refusal(
            "ada",
            Method::POST,
            format!("{WS}/settings/team/{member}/account-admin"),
            "/w/{workspace}/settings/team/{user}/account-admin",
            vec![("account_admin", "grant".into())],
            "the account owner",
        ),
        Refusal {
            who: "ada",
            method: Method::POST,
            path: "/settings/workspaces".into(),
            pattern: "/settings/workspaces",
            form: vec![("name", "Sneaky Shop".into())],
            required: "the account owner or an account admin",
            in_workspace: false,
        },
    ]);

    let mut failures = Vec::new();
    for r in &refusals {
        let (client, user) = match r.who {
            "mia" => (&mia, member),
            "ada" => (&ada, admin),
            _ => (&app.client, owner),
        };
        let before = last_id(&app);
        let response = if r.method == Method::GET {
            app.get_with(client, &r.path).await
        } else {
            let fields: Vec<(&str, &str)> = r.form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form_with(client, &r.path, &fields).await
        };
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let label = format!("{} {} {}", r.who, r.method, r.path);
        if status != StatusCode::FORBIDDEN || body.contains("The form had expired") {
            failures.push(format!("{label}: expected a refusal, got {status}"));
            continue;
        }
        let new = entries_after(&app, before);
        let denials: Vec<&AuditEntry> = new.iter().filter(|e| e.action == "permission.denied").collect();
        if denials.len() != 1 || new.len() != 1 {
            failures.push(format!(
                "{label}: expected one permission.denied and nothing else, got {:?}",
                new.iter().map(|e| e.action.as_str()).collect::<Vec<_>>()
            ));
            continue;
        }
        let entry = denials[0];
        let details: Value = serde_json::from_str(&entry.details).unwrap_or(Value::Null);
        let expected = (
            "user",
            Some(user),
            r.in_workspace.then_some(ws),
            format!("{} {}", r.method, r.pattern),
            json!(r.required),
        );
        let got = (
            entry.actor_kind.as_str(),
            entry.actor_id,
            entry.workspace_id,
            entry.target.clone(),
            details["permission"].clone(),
        );
        if got != expected {
            failures.push(format!("{label}: expected {expected:?}, got {got:?}"));
        }
        if entry.client_ip != "127.0.0.1" || entry.request_id.len() != 16 {
            failures.push(format!(
                "{label}: request {:?} from {:?}",
                entry.request_id, entry.client_ip
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} refusals were not recorded as they should be:\n{}",
        failures.len(),
        refusals.len(),
        failures.join("\n")
    );
}

/// Refusals go through `deny`, which records them: a bare `WebError::Forbidden`
/// anywhere else would answer 403 and leave no trace in the audit log.
#[test]
fn every_refusal_in_the_web_layer_goes_through_deny() {
    fn visit(dir: &Path, found: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                visit(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                for (n, line) in source.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or_default();
                    if code.contains("WebError::Forbidden") {
                        found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    visit(&root, &mut found);
    let allowed = |hit: &String| {
        // The variant's definition and status, and `deny` itself.
        hit.contains("src/web/error.rs") || hit.contains("src/web/extractors.rs")
    };
    let unrecorded: Vec<&String> = found.iter().filter(|hit| !allowed(hit)).collect();
    assert!(
        unrecorded.is_empty(),
        "403s that would not be audited; refuse with `deny` or `WorkspaceAccess::deny` instead:\n{}",
        unrecorded
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        found.iter().any(|hit| hit.contains("src/web/extractors.rs")),
        "the scan found `deny` itself"
    );
}
