//! The append-only audit log. Each entry's hash covers its content and the previous
//! entry's hash, keyed with the server's secret, so changing or removing an entry
//! breaks the chain at that point; the newest entry is also recorded outside the
//! database, so deleting the newest entries shows too.

mod chain_hash;
mod head;
mod rekey;
mod seal;
#[cfg(test)]
mod tests;
mod verify;

pub use chain_hash::{legacy_hash, ChainKey, EntryFields, HashFormat, KEYED_PREFIX};
pub use head::{Head, HeadError, HeadFile, FILE_NAME as HEAD_FILE_NAME};
pub use rekey::{rekey_legacy_chain, Rekeying};
pub use seal::{seal_of, AuditSeal};
pub use verify::{verify_chain, ChainReport, HeadCheck};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{now, StoreResult};
use crate::db::schema::{audit_log, memberships};
use crate::db::DbConnection;
use crate::domain::AuditAction;

/// The hash the first entry chains to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub created_at: NaiveDateTime,
    pub workspace_id: Option<i64>,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub action: String,
    pub target: String,
    pub selection: String,
    pub affected: i64,
    pub details: String,
    pub request_id: String,
    pub client_ip: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Who did it: a signed-in user, an API key, the server itself, or nobody known
/// (a failed sign-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(i64),
    ApiKey(i64),
    System,
    Anonymous,
}

impl Actor {
    fn kind(self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::ApiKey(_) => "api_key",
            Actor::System => "system",
            Actor::Anonymous => "anonymous",
        }
    }

    fn id(self) -> Option<i64> {
        match self {
            Actor::User(id) | Actor::ApiKey(id) => Some(id),
            Actor::System | Actor::Anonymous => None,
        }
    }
}

/// Where a request came from, for the log.
#[derive(Debug, Clone, Default)]
pub struct RequestOrigin {
    pub request_id: String,
    pub client_ip: String,
}

/// One entry to append. Never put an email, phone, name, external id, code or secret in
/// any of these fields: targets are internal ids or counts.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub workspace_id: Option<i64>,
    pub actor: Actor,
    pub action: AuditAction,
    pub target: String,
    pub selection: String,
    pub affected: i64,
    pub details: serde_json::Value,
    pub origin: &'a RequestOrigin,
}

impl<'a> NewEntry<'a> {
    pub fn new(actor: Actor, action: AuditAction, origin: &'a RequestOrigin) -> Self {
        NewEntry {
            workspace_id: None,
            actor,
            action,
            target: String::new(),
            selection: String::new(),
            affected: 0,
            details: serde_json::Value::Object(Default::default()),
            origin,
        }
    }

    pub fn workspace(mut self, id: i64) -> Self {
        self.workspace_id = Some(id);
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = target.into();
        self
    }

    pub fn selection(mut self, selection: impl Into<String>) -> Self {
        self.selection = selection.into();
        self
    }

    pub fn affected(mut self, affected: i64) -> Self {
        self.affected = affected;
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

impl AuditEntry {
    /// What its hash covers, as stored.
    pub fn fields(&self) -> EntryFields<'_> {
        EntryFields {
            id: self.id,
            created_at: self.created_at,
            workspace_id: self.workspace_id,
            actor_kind: &self.actor_kind,
            actor_id: self.actor_id,
            action: &self.action,
            target: &self.target,
            selection: &self.selection,
            affected: self.affected,
            details: &self.details,
            request_id: &self.request_id,
            client_ip: &self.client_ip,
            prev_hash: &self.prev_hash,
        }
    }
}

/// Appends one entry, sealed with the key the connection carries. Call it inside the
/// transaction of the change it describes; alone, it is its own transaction. Once that
/// transaction commits, the entry is recorded as the newest in the head file.
pub fn append(conn: &mut DbConnection, entry: NewEntry<'_>) -> StoreResult<AuditEntry> {
    crate::db::write_transaction(conn, |conn| append_now(conn, entry))
}

fn append_now(conn: &mut DbConnection, entry: NewEntry<'_>) -> StoreResult<AuditEntry> {
    let seal = seal::seal_of(conn)?;
    lock_chain(conn)?;
    let last: Option<(i64, String)> = audit_log::table
        .order(audit_log::id.desc())
        .select((audit_log::id, audit_log::hash))
        .first(conn)
        .optional()?;
    let head_holds = recorded_head_holds(conn, &seal, last.as_ref())?;
    let (id, prev_hash) = match last {
        Some((id, hash)) => (id + 1, hash),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let created_at = now();
    let details = entry.details.to_string();
    let mut row = AuditEntry {
        id,
        created_at,
        workspace_id: entry.workspace_id,
        actor_kind: entry.actor.kind().to_owned(),
        actor_id: entry.actor.id(),
        action: entry.action.key().to_owned(),
        target: entry.target,
        selection: entry.selection,
        affected: entry.affected,
        details,
        request_id: entry.origin.request_id.clone(),
        client_ip: entry.origin.client_ip.clone(),
        prev_hash,
        hash: String::new(),
    };
    row.hash = seal.key.seal(&row.fields());
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(row.id),
            audit_log::created_at.eq(row.created_at),
            audit_log::workspace_id.eq(row.workspace_id),
            audit_log::actor_kind.eq(&row.actor_kind),
            audit_log::actor_id.eq(row.actor_id),
            audit_log::action.eq(&row.action),
            audit_log::target.eq(&row.target),
            audit_log::selection.eq(&row.selection),
            audit_log::affected.eq(row.affected),
            audit_log::details.eq(&row.details),
            audit_log::request_id.eq(&row.request_id),
            audit_log::client_ip.eq(&row.client_ip),
            audit_log::prev_hash.eq(&row.prev_hash),
            audit_log::hash.eq(&row.hash),
        ))
        .execute(conn)?;
    let newest = head_holds.then(|| Head {
        id: row.id,
        hash: row.hash.clone(),
    });
    seal::set_pending(conn, newest)?;
    Ok(row)
}

/// Makes appends take turns, so two transactions can never chain to the same
/// predecessor: on PostgreSQL a transaction-scoped advisory lock, while SQLite's write
/// lock does the same by itself.
fn lock_chain(conn: &mut DbConnection) -> StoreResult<()> {
    if let DbConnection::Postgres(_) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7261001)").execute(conn)?;
    }
    Ok(())
}

/// Whether the entry the head file names is still in the log as recorded, `last` being
/// the log's newest entry. When it is not, entries were deleted or replaced since it
/// was recorded; the file is then kept as it is, as the evidence, rather than moved
/// past it by the entries appended after the deletion.
fn recorded_head_holds(
    conn: &mut DbConnection,
    seal: &AuditSeal,
    last: Option<&(i64, String)>,
) -> StoreResult<bool> {
    let recorded = match seal.head.read() {
        Ok(Some(head)) => head,
        Ok(None) => return Ok(true),
        Err(err) => {
            tracing::error!(error = %err, "the audit head file is left as it is; run `erasure audit verify`");
            return Ok(false);
        }
    };
    let stored = match last {
        Some((id, hash)) if *id == recorded.id => Some(hash.clone()),
        Some((id, _)) if *id > recorded.id => audit_log::table
            .find(recorded.id)
            .select(audit_log::hash)
            .first::<String>(conn)
            .optional()?,
        _ => None,
    };
    if stored.as_deref() == Some(recorded.hash.as_str()) {
        return Ok(true);
    }
    tracing::error!(
        recorded = recorded.id,
        newest = last.map(|(id, _)| *id),
        "the audit log no longer holds the newest entry recorded in the head file: entries were deleted \
         or replaced; the file is kept as it is; run `erasure audit verify`"
    );
    Ok(false)
}

/// Entries with ids in `(after, after + limit]` order, for walking the chain in pages.
pub fn page_after(conn: &mut DbConnection, after: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
    Ok(audit_log::table
        .filter(audit_log::id.gt(after))
        .order(audit_log::id)
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)?)
}

pub fn count_action(conn: &mut DbConnection, action: AuditAction) -> StoreResult<i64> {
    Ok(audit_log::table
        .filter(audit_log::action.eq(action.key()))
        .count()
        .get_result(conn)?)
}

/// Which of the entries that belong to no workspace (sign-ins, sessions, two-step and
/// password changes, people disabled or enabled) a workspace's log shows beside its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AccountEntries {
    /// None of them.
    #[default]
    None,
    /// Those made by a member of the workspace, and about nobody or about a member: a
    /// workspace's admins see what their own people did, never another workspace's.
    OfMembers,
    /// All of them: for the account owner and account admins.
    All,
}

/// Which entries an audit page or export shows.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub workspace_id: i64,
    pub account_entries: AccountEntries,
    pub actor_user_id: Option<i64>,
    pub action: Option<AuditAction>,
    pub from: Option<NaiveDateTime>,
    /// Exclusive upper bound.
    pub until: Option<NaiveDateTime>,
}

/// Newest first, ids below `before_id` when given: keyset pages of the filtered log.
pub fn list(
    conn: &mut DbConnection,
    query: &AuditQuery,
    before_id: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    let mut q = audit_log::table.into_boxed();
    q = match query.account_entries {
        AccountEntries::None => q.filter(audit_log::workspace_id.eq(query.workspace_id)),
        AccountEntries::All => q.filter(
            audit_log::workspace_id
                .eq(query.workspace_id)
                .or(audit_log::workspace_id.is_null()),
        ),
        AccountEntries::OfMembers => {
            let members: Vec<i64> = memberships::table
                .filter(memberships::workspace_id.eq(query.workspace_id))
                .select(memberships::user_id)
                .load(conn)?;
            let member_targets: Vec<String> = members.iter().map(|id| format!("user:{id}")).collect();
            q.filter(
                audit_log::workspace_id
                    .eq(query.workspace_id)
                    .or(audit_log::workspace_id
                        .is_null()
                        .and(audit_log::actor_kind.eq("user"))
                        .and(audit_log::actor_id.eq_any(members))
                        .and(
                            audit_log::target
                                .not_like("user:%")
                                .or(audit_log::target.eq_any(member_targets)),
                        )),
            )
        }
    };
    if let Some(actor) = query.actor_user_id {
        q = q
            .filter(audit_log::actor_kind.eq("user"))
            .filter(audit_log::actor_id.eq(actor));
    }
    if let Some(action) = query.action {
        q = q.filter(audit_log::action.eq(action.key()));
    }
    if let Some(from) = query.from {
        q = q.filter(audit_log::created_at.ge(from));
    }
    if let Some(until) = query.until {
        q = q.filter(audit_log::created_at.lt(until));
    }
    if let Some(before) = before_id {
        q = q.filter(audit_log::id.lt(before));
    }
    Ok(q.order(audit_log::id.desc())
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)?)
}
