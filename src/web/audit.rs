//! The audit log of a workspace: filters, pages, verification and streamed exports.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use futures_util::stream;
use serde::Deserialize;

use super::audit_result;
use super::extractors::{perm, Authorized, WorkspaceAccess};
use super::layout::{render, see_other, Layout, Section};
use super::session::{FlashKind, TypedSession};
use super::state::AppState;
use super::WebError;
use crate::domain::{AuditAction, Permission, TimeZone};
use crate::store::audit::{self, AccountEntries, AuditEntry, AuditQuery, ChainReport, HeadCheck};
use crate::store::{self, StoreError};

const PAGE_SIZE: i64 = 50;
const EXPORT_PAGE: i64 = 1000;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/w/{workspace}/audit").route(web::get().to(list)))
        .service(web::resource("/w/{workspace}/audit/verify").route(web::post().to(verify)))
        .service(web::resource("/w/{workspace}/audit/export.csv").route(web::get().to(export_csv)))
        .service(web::resource("/w/{workspace}/audit/export.jsonl").route(web::get().to(export_jsonl)));
}

/// The filter form as typed; every field optional.
#[derive(Debug, Default, Deserialize)]
struct AuditParams {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: Option<i64>,
}

fn parse_date(raw: &str, field: &str) -> Result<Option<NaiveDate>, WebError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        // `%Y` takes any year chrono knows; PostgreSQL refuses those before 4713 BC.
        .filter(|date| (1..=9999).contains(&date.year()))
        .map(Some)
        .ok_or_else(|| WebError::BadRequest(format!("The {field} date must look like 2026-01-31.")))
}

/// When the day begins for the viewer, in UTC as the log is stored: the dates of the
/// filter are the viewer's, as the times the page shows are.
fn start_of(date: NaiveDate, zone: TimeZone) -> NaiveDateTime {
    zone.to_utc(date.and_hms_opt(0, 0, 0).unwrap_or_default())
}

impl AuditParams {
    fn to_query(
        &self,
        workspace_id: i64,
        account_entries: AccountEntries,
        zone: TimeZone,
    ) -> Result<AuditQuery, WebError> {
        let actor_user_id = match self.actor.trim() {
            "" => None,
            raw => Some(
                raw.parse::<i64>()
                    .map_err(|_| WebError::BadRequest("Choose an actor from the list.".into()))?,
            ),
        };
        let action = match self.action.trim() {
            "" => None,
            raw => Some(
                AuditAction::parse(raw)
                    .ok_or_else(|| WebError::BadRequest("Choose an action from the list.".into()))?,
            ),
        };
        let from = parse_date(&self.from, "from")?;
        let to = parse_date(&self.to, "to")?;
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                return Err(WebError::BadRequest(
                    "The to date is before the from date.".into(),
                ));
            }
        }
        Ok(AuditQuery {
            workspace_id,
            account_entries,
            actor_user_id,
            action,
            from: from.map(|d| start_of(d, zone)),
            until: to.and_then(|d| d.succ_opt()).map(|d| start_of(d, zone)),
        })
    }

    /// The filters again, for links that keep them.
    fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("actor", self.actor.trim()),
            ("action", self.action.trim()),
            ("from", self.from.trim()),
            ("to", self.to.trim()),
        ])
        .unwrap_or_default()
    }
}

pub struct EntryView {
    pub id: i64,
    pub when: String,
    pub actor: String,
    /// The action in words, and its stored key (shown on hover, and in exports).
    pub action: String,
    pub action_key: String,
    /// What it was done to, in words, and where that is, when it has a page.
    pub target: String,
    pub target_href: Option<String>,
    pub selection: String,
    /// What it did, in words, and the receipt it names, as a link.
    pub result: String,
    pub receipt: Option<(String, String)>,
    pub request_id: String,
    pub client_ip: String,
    pub hash_prefix: String,
}

pub struct ActorOption {
    pub id: i64,
    pub name: String,
    pub selected: bool,
}

pub struct ActionOption {
    pub key: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "audit/list.html")]
struct AuditPage {
    layout: Layout,
    base: String,
    entries: Vec<EntryView>,
    actors: Vec<ActorOption>,
    actions: Vec<ActionOption>,
    params: AuditParams,
    filters: String,
    next_before: Option<i64>,
    is_later_page: bool,
}

/// The names the log's ids stand for: people, and this workspace's API keys.
#[derive(Default)]
struct Names {
    people: HashMap<i64, String>,
    keys: HashMap<i64, String>,
    /// The customers the page names that still exist: an erased one's profile is gone,
    /// so their entry links nowhere (its receipt, beside it, is the useful link).
    customers: std::collections::HashSet<i64>,
}

impl Names {
    fn person(&self, id: i64) -> String {
        self.people
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("person #{id}"))
    }

    fn key(&self, id: i64) -> String {
        match self.keys.get(&id) {
            Some(name) => format!("API key “{name}”"),
            None => format!("API key #{id}"),
        }
    }
}

fn actor_label(entry: &AuditEntry, names: &Names) -> String {
    match (entry.actor_kind.as_str(), entry.actor_id) {
        ("user", Some(id)) => names.person(id),
        ("api_key", Some(id)) => names.key(id),
        ("system", _) => "Erasure".into(),
        _ => "someone not signed in".into(),
    }
}

/// What an entry was done to, in words and, where it has a page, a link: the stored
/// target is `kind:id`, or for a refusal the route as `METHOD /pattern`.
fn describe_target(target: &str, base: &str, names: &Names) -> (String, Option<String>) {
    if let Some((method, pattern)) = target.split_once(' ') {
        return (describe_route(method, pattern), None);
    }
    let Some((kind, id)) = target.split_once(':') else {
        return (target.to_owned(), None);
    };
    let Ok(id) = id.parse::<i64>() else {
        return (target.to_owned(), None);
    };
    match kind {
        "user" => (names.person(id), None),
        "api_key" => (names.key(id), Some(format!("{base}/settings/api-keys"))),
        "job" => (format!("job #{id}"), Some(format!("{base}/jobs/{id}"))),
        "customer" if names.customers.contains(&id) => {
            (format!("customer #{id}"), Some(format!("{base}/customers/{id}")))
        }
        "customer" => (format!("customer #{id} (erased)"), None),
        "destination" => (
            format!("destination #{id}"),
            Some(format!("{base}/settings/destinations/{id}")),
        ),
        "request" => (format!("request #{id}"), Some(format!("{base}/requests/{id}"))),
        "retention_policy" => (
            format!("retention policy #{id}"),
            Some(format!("{base}/settings/retention/{id}")),
        ),
        "role" => (format!("role #{id}"), Some(format!("{base}/settings/roles/{id}"))),
        "workspace" => (format!("workspace #{id}"), None),
        "invitation" => (format!("invitation #{id}"), Some(format!("{base}/settings/team"))),
        "suppression" => (format!("suppression #{id}"), Some(format!("{base}/suppressions"))),
        "otp_challenge" => (format!("owner's code #{id}"), None),
        _ => (target.to_owned(), None),
    }
}

/// A refused route in words: `POST /w/{workspace}/customers/delete-all` is "a change
/// to customers › delete all"; the placeholders (which workspace, which customer) go.
fn describe_route(method: &str, pattern: &str) -> String {
    let parts: Vec<String> = pattern
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{') && *s != "w" && *s != "api" && *s != "v1")
        .map(|s| s.replace('-', " "))
        .collect();
    let place = if parts.is_empty() {
        "the start page".to_owned()
    } else {
        parts.join(" › ")
    };
    match method {
        "GET" | "HEAD" => format!("opening {place}"),
        _ => format!("a change to {place}"),
    }
}

fn view(entry: &AuditEntry, base: &str, names: &Names, zone: TimeZone) -> EntryView {
    let (target, target_href) = describe_target(&entry.target, base, names);
    let action = AuditAction::parse(&entry.action);
    let result = audit_result::describe(action, entry.affected, &entry.details, base);
    EntryView {
        id: entry.id,
        when: crate::format::second(entry.created_at, zone),
        actor: actor_label(entry, names),
        action: action.map_or_else(|| entry.action.clone(), |a| a.label().to_owned()),
        action_key: entry.action.clone(),
        target,
        target_href,
        selection: entry.selection.clone(),
        result: result.words,
        receipt: result.receipt,
        request_id: entry.request_id.clone(),
        client_ip: entry.client_ip.clone(),
        hash_prefix: entry.hash.chars().take(12).collect(),
    }
}

/// Which account-level entries this viewer sees beside the workspace's own: all of them
/// with account-wide power; those of this workspace's people with `team.manage`; none
/// otherwise. The same rule serves the page and both exports.
fn account_entries(access: &WorkspaceAccess) -> AccountEntries {
    if access.user.user.has_account_power() {
        AccountEntries::All
    } else if access.can(Permission::TeamManage) {
        AccountEntries::OfMembers
    } else {
        AccountEntries::None
    }
}

async fn list(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::AuditView>,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, WebError> {
    let params = params.into_inner();
    let query = params.to_query(access.workspace.id, account_entries(&access), access.time_zone())?;
    let before = params.before;
    let workspace_id = access.workspace.id;
    let (entries, members, people, keys, customers) = state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            let entries = audit::list(conn, &query, before, PAGE_SIZE + 1)?;
            let members = store::memberships::members_of(conn, workspace_id)?;
            // Everyone the page names, members or not (someone removed since), and the
            // workspace's keys.
            let ids = |kind: &str| -> Vec<i64> {
                entries
                    .iter()
                    .flat_map(|e| {
                        let actor = (e.actor_kind == kind).then_some(e.actor_id).flatten();
                        let target = e
                            .target
                            .strip_prefix(&format!("{kind}:"))
                            .and_then(|id| id.parse::<i64>().ok());
                        actor.into_iter().chain(target)
                    })
                    .collect()
            };
            let people = store::users::names_by_id(conn, &ids("user"))?;
            let keys = store::api_keys::names_by_id(conn, workspace_id, &ids("api_key"))?;
            let customers = store::erasures::existing_ids(conn, workspace_id, &ids("customer"))?;
            Ok((entries, members, people, keys, customers))
        })
        .await?;
    let names = Names {
        people: people.into_iter().collect(),
        keys: keys.into_iter().collect(),
        customers: customers.into_iter().collect(),
    };
    let base = access.base();
    let has_more = entries.len() as i64 > PAGE_SIZE;
    let shown: Vec<&AuditEntry> = entries.iter().take(PAGE_SIZE as usize).collect();
    let selected_actor = params.actor.trim().parse::<i64>().ok();
    let page = AuditPage {
        base: access.base(),
        entries: shown
            .iter()
            .map(|e| view(e, &base, &names, access.time_zone()))
            .collect(),
        actors: members
            .into_iter()
            .map(|(id, name)| ActorOption {
                id,
                name,
                selected: Some(id) == selected_actor,
            })
            .collect(),
        actions: AuditAction::ALL
            .iter()
            .map(|a| ActionOption {
                key: a.key(),
                label: a.label(),
                selected: a.key() == params.action.trim(),
            })
            .collect(),
        filters: params.query_string(),
        next_before: if has_more {
            shown.last().map(|e| e.id)
        } else {
            None
        },
        is_later_page: before.is_some(),
        params,
        layout: Layout::workspace("Audit log", Section::Audit, &session, &access),
    };
    render(&page)
}

async fn verify(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::AuditView>,
) -> Result<HttpResponse, WebError> {
    let report = state
        .db
        .run(|conn| audit::verify_chain(conn, EXPORT_PAGE))
        .await?;
    let (kind, message) = match report {
        ChainReport::Intact {
            entries,
            last_hash,
            legacy_entries,
            head,
        } => {
            let mut message = format!(
                "The audit log is intact: {entries} entries, each matching its hash and linked to the one before. Latest hash {}.",
                &last_hash[..16.min(last_hash.len())]
            );
            if head == HeadCheck::NoFile && entries > 0 {
                message.push_str(
                    " This server's data dir has no record of the newest entry (DATA_DIR/audit.head), so nothing shows whether the newest entries were deleted; the next entry records one.",
                );
            }
            if legacy_entries > 0 {
                message.push_str(&format!(
                    " The first {legacy_entries} entries are sealed with the old unkeyed rule, which anyone with access to the database could recompute."
                ));
            }
            let kind = if head == HeadCheck::NoFile && entries > 0 || legacy_entries > 0 {
                FlashKind::Info
            } else {
                FlashKind::Success
            };
            (kind, message)
        }
        ChainReport::Altered { id } => (
            FlashKind::Error,
            format!("Entry #{id} was altered: its content no longer matches its hash."),
        ),
        ChainReport::Missing { after_id, before_id } => (
            FlashKind::Error,
            format!("Entries are missing between #{after_id} and #{before_id}: the chain is broken there."),
        ),
        ChainReport::NewestMissing { from_id, to_id } => (
            FlashKind::Error,
            if from_id == to_id {
                format!("Entry #{to_id} is missing: the newest entry was deleted (this server recorded it), or the database was restored from an older backup.")
            } else {
                format!("Entries #{from_id} to #{to_id} are missing: the newest entries were deleted (this server recorded #{to_id}), or the database was restored from an older backup.")
            },
        ),
        ChainReport::Replaced { id } => (
            FlashKind::Error,
            format!("Entry #{id} is not the one this server recorded as the newest: the log from #{id} on was replaced, or the database was restored from an older backup and written to since."),
        ),
        ChainReport::HeadInvalid { reason } => (
            FlashKind::Error,
            format!("The record of the newest entry (DATA_DIR/audit.head) cannot be trusted: {reason}."),
        ),
    };
    session.flash(kind, message);
    Ok(see_other(format!("{}/audit", access.base())))
}

/// A CSV cell that a spreadsheet will show as text, never run as a formula.
pub fn csv_safe(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

#[derive(Clone, Copy)]
enum ExportFormat {
    Csv,
    JsonLines,
}

fn export_row(entry: &AuditEntry, format: ExportFormat) -> Vec<u8> {
    let when = entry.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let actor = format!(
        "{}:{}",
        entry.actor_kind,
        entry.actor_id.map(|i| i.to_string()).unwrap_or_default()
    );
    match format {
        ExportFormat::Csv => {
            let mut writer = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            let fields = [
                entry.id.to_string(),
                when,
                entry.workspace_id.map(|w| w.to_string()).unwrap_or_default(),
                actor,
                entry.action.clone(),
                entry.target.clone(),
                entry.selection.clone(),
                entry.affected.to_string(),
                entry.details.clone(),
                entry.request_id.clone(),
                entry.client_ip.clone(),
                entry.prev_hash.clone(),
                entry.hash.clone(),
            ];
            let _ = writer.write_record(fields.iter().map(|f| csv_safe(f)));
            writer.into_inner().unwrap_or_default()
        }
        ExportFormat::JsonLines => {
            let details: serde_json::Value =
                serde_json::from_str(&entry.details).unwrap_or(serde_json::Value::Null);
            let mut line = serde_json::to_vec(&serde_json::json!({
                "id": entry.id,
                "created_at": when,
                "workspace_id": entry.workspace_id,
                "actor_kind": entry.actor_kind,
                "actor_id": entry.actor_id,
                "action": entry.action,
                "target": entry.target,
                "selection": entry.selection,
                "affected": entry.affected,
                "details": details,
                "request_id": entry.request_id,
                "client_ip": entry.client_ip,
                "prev_hash": entry.prev_hash,
                "hash": entry.hash,
            }))
            .unwrap_or_default();
            line.push(b'\n');
            line
        }
    }
}

const CSV_HEADER: &str = "id,created_at,workspace_id,actor,action,target,selection,affected,details,request_id,client_ip,prev_hash,hash\n";

/// Streams the filtered log page by page: one page of rows in memory at a time,
/// however long the log.
fn export(
    state: web::Data<AppState>,
    query: AuditQuery,
    format: ExportFormat,
    filename: &str,
) -> HttpResponse {
    struct Cursor {
        state: web::Data<AppState>,
        query: AuditQuery,
        before: Option<i64>,
        header_sent: bool,
        done: bool,
    }
    let start = Cursor {
        state,
        query,
        before: None,
        header_sent: false,
        done: false,
    };
    let body = stream::unfold(start, move |mut cursor| async move {
        if cursor.done {
            return None;
        }
        if !cursor.header_sent {
            cursor.header_sent = true;
            if let ExportFormat::Csv = format {
                return Some((
                    Ok::<_, WebError>(web::Bytes::from_static(CSV_HEADER.as_bytes())),
                    cursor,
                ));
            }
        }
        let query = cursor.query.clone();
        let before = cursor.before;
        let page = cursor
            .state
            .db
            .run(move |conn| audit::list(conn, &query, before, EXPORT_PAGE))
            .await;
        match page {
            Ok(entries) if entries.is_empty() => None,
            Ok(entries) => {
                cursor.before = entries.last().map(|e| e.id);
                cursor.done = (entries.len() as i64) < EXPORT_PAGE;
                let mut chunk = Vec::with_capacity(entries.len() * 256);
                for entry in &entries {
                    chunk.extend(export_row(entry, format));
                }
                Some((Ok(web::Bytes::from(chunk)), cursor))
            }
            Err(err) => {
                tracing::error!(error = %err, "audit export stopped");
                cursor.done = true;
                Some((Err(WebError::from(err)), cursor))
            }
        }
    });
    let content_type = match format {
        ExportFormat::Csv => "text/csv; charset=utf-8",
        ExportFormat::JsonLines => "application/x-ndjson",
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(body)
}

async fn export_csv(
    state: web::Data<AppState>,
    access: Authorized<perm::AuditView>,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, WebError> {
    let query = params.to_query(access.workspace.id, account_entries(&access), access.time_zone())?;
    Ok(export(
        state,
        query,
        ExportFormat::Csv,
        &format!("audit-{}.csv", access.workspace.slug),
    ))
}

async fn export_jsonl(
    state: web::Data<AppState>,
    access: Authorized<perm::AuditView>,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, WebError> {
    let query = params.to_query(access.workspace.id, account_entries(&access), access.time_zone())?;
    Ok(export(
        state,
        query,
        ExportFormat::JsonLines,
        &format!("audit-{}.jsonl", access.workspace.slug),
    ))
}

#[cfg(test)]
mod tests {
    use super::{describe_route, describe_target, Names};

    #[test]
    fn targets_are_words_and_links_never_route_templates() {
        let mut names = Names::default();
        names.people.insert(1, "Olivia Owner".into());
        names.keys.insert(2, "Backend".into());
        let base = "/w/acme";
        assert_eq!(
            describe_target("user:1", base, &names),
            ("Olivia Owner".into(), None)
        );
        assert_eq!(describe_target("user:9", base, &names).0, "person #9");
        assert_eq!(
            describe_target("api_key:2", base, &names),
            (
                "API key “Backend”".into(),
                Some("/w/acme/settings/api-keys".into())
            )
        );
        assert_eq!(
            describe_target("job:7", base, &names),
            ("job #7".into(), Some("/w/acme/jobs/7".into()))
        );
        assert_eq!(
            describe_target("customer:42", base, &names),
            ("customer #42 (erased)".into(), None),
            "an erased customer's profile is gone: no link to it"
        );
        names.customers.insert(42);
        assert_eq!(
            describe_target("customer:42", base, &names).1,
            Some("/w/acme/customers/42".into())
        );
        assert_eq!(
            describe_target("request:3", base, &names).1,
            Some("/w/acme/requests/3".into())
        );
        let (refused, link) = describe_target("POST /w/{workspace}/customers/delete-all", base, &names);
        assert_eq!(refused, "a change to customers › delete all");
        assert!(link.is_none() && !refused.contains('{'));
        assert_eq!(describe_route("GET", "/w/{workspace}/audit"), "opening audit");
    }

    use super::csv_safe;

    #[test]
    fn formulas_are_neutralized() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("+1"), "'+1");
        assert_eq!(csv_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_safe("customer:42"), "customer:42");
    }
}
