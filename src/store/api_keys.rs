//! Track API keys. Only a keyed digest of each key is stored, plus its first characters
//! so people can tell keys apart: a copy of this table lets nobody call the API.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::RngCore;

use super::audit::{self, Actor, NewEntry, RequestOrigin};
use super::{now, StoreError, StoreResult};
use crate::db::schema::api_keys;
use crate::db::{write_transaction, DbConnection};
use crate::domain::{ApiKeyName, AuditAction};
use crate::secret::SecretKey;

/// The purpose label of key digests (see [`SecretKey::digest`]).
const DIGEST_PURPOSE: &str = "api-key";
pub const PREFIX_CHARS: usize = 8;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: i64,
    pub workspace_id: i64,
    pub name: String,
    pub key_prefix: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A key just made: the only moment its plain value exists.
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: String,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey")
            .field("key", &self.key)
            .field("secret", &"***")
            .finish()
    }
}

/// The digest a presented key is looked up by.
pub fn digest(secret: &SecretKey, key: &str) -> String {
    secret.digest(DIGEST_PURPOSE, key.as_bytes())
}

/// 32 random bytes, hex-encoded: 256 bits, so guessing is hopeless and no throttle on
/// failed attempts is needed.
fn new_plain_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Makes a key for a workspace and records it in the audit log, in one transaction.
pub fn issue(
    conn: &mut DbConnection,
    secret: &SecretKey,
    workspace_id: i64,
    name: &ApiKeyName,
    actor: Actor,
    origin: &RequestOrigin,
) -> StoreResult<IssuedKey> {
    let plain = new_plain_key();
    let key_digest = digest(secret, &plain);
    let created_by = match actor {
        Actor::User(id) => Some(id),
        _ => None,
    };
    write_transaction(conn, |conn| {
        diesel::insert_into(api_keys::table)
            .values((
                api_keys::workspace_id.eq(workspace_id),
                api_keys::name.eq(name.as_str()),
                api_keys::key_digest.eq(&key_digest),
                api_keys::key_prefix.eq(&plain[..PREFIX_CHARS]),
                api_keys::created_by.eq(created_by),
                api_keys::created_at.eq(now()),
            ))
            .execute(conn)?;
        let key = api_keys::table
            .filter(api_keys::key_digest.eq(&key_digest))
            .select(ApiKey::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| StoreError::Inconsistent("an API key just inserted cannot be found".into()))?;
        audit::append(
            conn,
            NewEntry::new(actor, AuditAction::ApiKeyCreated, origin)
                .workspace(workspace_id)
                .target(format!("api_key:{}", key.id)),
        )?;
        Ok(IssuedKey { key, secret: plain })
    })
}

/// A workspace's keys, newest first, revoked ones included.
pub fn list(conn: &mut DbConnection, workspace_id: i64) -> StoreResult<Vec<ApiKey>> {
    Ok(api_keys::table
        .filter(api_keys::workspace_id.eq(workspace_id))
        .order((api_keys::created_at.desc(), api_keys::id.desc()))
        .select(ApiKey::as_select())
        .load(conn)?)
}

/// Revokes one of the workspace's keys and records it; `None` when there is no such
/// live key (unknown, another workspace's, or already revoked).
pub fn revoke(
    conn: &mut DbConnection,
    workspace_id: i64,
    key_id: i64,
    actor: Actor,
    origin: &RequestOrigin,
) -> StoreResult<Option<ApiKey>> {
    write_transaction(conn, |conn| {
        let changed = diesel::update(
            api_keys::table
                .find(key_id)
                .filter(api_keys::workspace_id.eq(workspace_id))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(now()))
        .execute(conn)?;
        if changed == 0 {
            return Ok(None);
        }
        audit::append(
            conn,
            NewEntry::new(actor, AuditAction::ApiKeyRevoked, origin)
                .workspace(workspace_id)
                .target(format!("api_key:{key_id}")),
        )?;
        Ok(api_keys::table
            .find(key_id)
            .select(ApiKey::as_select())
            .first(conn)
            .optional()?)
    })
}

/// The workspace's live key with this digest.
pub fn find_active(
    conn: &mut DbConnection,
    workspace_id: i64,
    key_digest: &str,
) -> StoreResult<Option<ApiKey>> {
    Ok(api_keys::table
        .filter(api_keys::workspace_id.eq(workspace_id))
        .filter(api_keys::key_digest.eq(key_digest))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKey::as_select())
        .first(conn)
        .optional()?)
}

/// Records that a key was used, at most once a minute: "last used" needs no more
/// precision, and a write per API request would make every call contend for SQLite's
/// write lock. The caller passes what it read so no write happens at all when recent.
pub fn touch_last_used(conn: &mut DbConnection, key: &ApiKey) -> StoreResult<()> {
    let at = now();
    let cutoff = at - Duration::minutes(1);
    if key.last_used_at.is_some_and(|last| last > cutoff) {
        return Ok(());
    }
    diesel::update(
        api_keys::table.find(key.id).filter(
            api_keys::last_used_at
                .is_null()
                .or(api_keys::last_used_at.le(cutoff)),
        ),
    )
    .set(api_keys::last_used_at.eq(at))
    .execute(conn)?;
    Ok(())
}

/// The names of a workspace's keys (revoked ones included), for the audit log.
pub fn names_by_id(
    conn: &mut DbConnection,
    workspace_id: i64,
    ids: &[i64],
) -> StoreResult<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(api_keys::table
        .filter(api_keys::workspace_id.eq(workspace_id))
        .filter(api_keys::id.eq_any(ids))
        .select((api_keys::id, api_keys::name))
        .load(conn)?)
}
