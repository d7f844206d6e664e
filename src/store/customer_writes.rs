//! Creating, updating and deleting customers as the Track API asks.
//!
//! Each operation is one write transaction that first resolves the identifier to a
//! customer and then changes it, so a check on the identifier (a suppression list, say)
//! belongs at the top of that transaction, before anything is written.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value};

use super::suppressions::{self, Digest};
use super::{anonymous_events, events, now, StoreError};
use crate::db::schema::customers;
use crate::db::{write_transaction, DbConnection};
use crate::domain::{Change, CustomerPatch, Identifier, PatchError, TrackEvent};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("no customer has that internal id")]
    NotFound,
    #[error("more than one customer has that email address")]
    Ambiguous,
    #[error("the customer is under a legal hold")]
    LegalHold,
    #[error("the customer is anonymized")]
    Archived,
    #[error("the identifier is suppressed")]
    Suppressed,
    #[error(transparent)]
    Invalid(#[from] PatchError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for WriteError {
    fn from(err: diesel::result::Error) -> Self {
        WriteError::Store(StoreError::Query(err))
    }
}

impl From<diesel::r2d2::PoolError> for WriteError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        WriteError::Store(StoreError::Pool(err))
    }
}

/// The columns a write needs to know about the customer it changes.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = customers)]
pub(super) struct Target {
    pub(super) id: i64,
    attributes: String,
    last_seen_at: NaiveDateTime,
    archived_at: Option<NaiveDateTime>,
}

#[derive(AsChangeset)]
#[diesel(table_name = customers)]
struct CustomerChanges<'a> {
    email: Option<Option<&'a str>>,
    phone: Option<Option<&'a str>>,
    name: Option<Option<&'a str>>,
    country: Option<Option<&'a str>>,
    city: Option<Option<&'a str>>,
    attributes: Option<String>,
    created_at: Option<NaiveDateTime>,
}

impl CustomerChanges<'_> {
    fn is_empty(&self) -> bool {
        self.email.is_none()
            && self.phone.is_none()
            && self.name.is_none()
            && self.country.is_none()
            && self.city.is_none()
            && self.attributes.is_none()
            && self.created_at.is_none()
    }
}

/// `None`: leave the column alone; `Some(None)`: clear it.
fn column<T: AsRef<str>>(change: &Change<T>) -> Option<Option<&str>> {
    match change {
        Change::Keep => None,
        Change::Clear => Some(None),
        Change::Set(value) => Some(Some(value.as_ref())),
    }
}

/// The customer the identifier names in this workspace.
fn find(
    conn: &mut DbConnection,
    workspace_id: i64,
    identifier: &Identifier,
) -> Result<Option<Target>, WriteError> {
    let query = customers::table
        .filter(customers::workspace_id.eq(workspace_id))
        .select(Target::as_select());
    let found = match identifier {
        Identifier::ExternalId(id) => query
            .filter(customers::external_id.eq(id))
            .first(conn)
            .optional()?,
        Identifier::InternalId(id) => query.filter(customers::id.eq(*id)).first(conn).optional()?,
        Identifier::Email(email) => {
            // A customer first seen by this address has it as their external id too,
            // and an address may have been stored decomposed.
            let forms = email.stored_forms();
            let mut matches: Vec<Target> = query
                .filter(
                    customers::email
                        .eq_any(&forms)
                        .or(customers::external_id.eq_any(&forms)),
                )
                .limit(2)
                .load(conn)?;
            if matches.len() > 1 {
                // Picking one would change or delete someone at random, and leave the
                // other's data behind on a deletion request.
                return Err(WriteError::Ambiguous);
            }
            matches.pop()
        }
    };
    Ok(found)
}

/// The customer the identifier names, created if it is an id or an address nobody has
/// yet. An internal id must name an existing customer.
///
/// Two requests may create the same new customer at once. SQLite's write lock makes them
/// take turns; on PostgreSQL the second insert hits the unique (workspace, external id)
/// index, so it runs in a savepoint and, on that violation, reads the winner's row.
fn find_or_create(
    conn: &mut DbConnection,
    workspace_id: i64,
    identifier: &Identifier,
) -> Result<Target, WriteError> {
    if let Some(target) = find(conn, workspace_id, identifier)? {
        return Ok(target);
    }
    let Some(external_id) = identifier.external_id_for_new() else {
        return Err(WriteError::NotFound);
    };
    let email = match identifier {
        Identifier::Email(email) => Some(email.as_str()),
        _ => None,
    };
    let at = now();
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(customers::table)
            .values((
                customers::workspace_id.eq(workspace_id),
                customers::external_id.eq(external_id),
                customers::email.eq(email),
                customers::attributes.eq("{}"),
                customers::created_at.eq(at),
                customers::last_seen_at.eq(at),
            ))
            .execute(conn)
    });
    match inserted.map_err(StoreError::from) {
        Ok(_) => {}
        Err(err) if err.is_unique_violation() => {}
        Err(err) => return Err(err.into()),
    }
    find(conn, workspace_id, identifier)?
        .ok_or_else(|| StoreError::Inconsistent("a customer just created cannot be found".into()).into())
}

/// The customer the identifier names (created if need be, as [`find_or_create`]), its
/// row locked until the transaction ends.
///
/// On PostgreSQL two identify calls for one customer could otherwise both read the same
/// attributes and each write back only its own merge, losing the other's keys. With the
/// lock the second waits, then reads what the first committed. A deletion (a bulk job's
/// batch, say) may also take the customer away between the lookup and the write, which
/// then hit the events' foreign key, or updated nothing and still answered 200: the lock
/// waits for that deletion to commit, finds the row gone, and the lookup runs again and
/// creates the customer anew, as it would for a call that came a moment later. SQLite's
/// write transaction already makes them take turns.
pub(super) fn find_or_create_locked(
    conn: &mut DbConnection,
    workspace_id: i64,
    identifier: &Identifier,
) -> Result<Target, WriteError> {
    // A deleted customer is created again at once, so a second miss means deletions
    // keep racing this call; give up rather than spin.
    for _ in 0..3 {
        let target = find_or_create(conn, workspace_id, identifier)?;
        if let Some(target) = locked(conn, target)? {
            return Ok(target);
        }
    }
    Err(StoreError::Inconsistent("the customer kept being deleted while written".into()).into())
}

/// The target's row again, locked until the transaction ends (PostgreSQL; SQLite's
/// writers take turns anyway); `None` when a deletion took it meanwhile.
fn locked(conn: &mut DbConnection, target: Target) -> Result<Option<Target>, WriteError> {
    let DbConnection::Postgres(pg) = conn else {
        return Ok(Some(target));
    };
    Ok(customers::table
        .find(target.id)
        .select(Target::as_select())
        .for_update()
        .first(pg)
        .optional()?)
}

/// The target's attributes after the patch, as stored; `None` when the patch changes
/// none. Refuses a merge that would take the customer past the attribute limit.
pub(super) fn merged_attributes(
    target: &Target,
    patch: &CustomerPatch,
) -> Result<Option<String>, WriteError> {
    if !patch.changes_attributes() {
        return Ok(None);
    }
    let mut stored: Map<String, Value> = serde_json::from_str(&target.attributes)
        .map_err(|_| StoreError::Inconsistent(format!("customer {} has unreadable attributes", target.id)))?;
    patch.merge_attributes(&mut stored)?;
    Ok(Some(Value::Object(stored).to_string()))
}

/// Writes the patch to the target. Refuses (before writing anything) a merge that
/// would take the customer past the attribute limit.
fn apply(conn: &mut DbConnection, target: &Target, patch: &CustomerPatch) -> Result<(), WriteError> {
    let attributes = merged_attributes(target, patch)?;
    let changes = CustomerChanges {
        email: column(&patch.email),
        phone: column(&patch.phone),
        name: column(&patch.name),
        country: column(&patch.country),
        city: column(&patch.city),
        attributes,
        created_at: patch.created_at,
    };
    if !changes.is_empty() {
        diesel::update(customers::table.find(target.id))
            .set(&changes)
            .execute(conn)?;
    }
    Ok(())
}

/// Refuses the write when any of `digests` is suppressed, inside the write's own
/// transaction and under the digests' locks, so a suppression racing this write can
/// never leave a suppressed customer behind.
pub(super) fn ensure_not_suppressed(
    conn: &mut DbConnection,
    workspace_id: i64,
    digests: &[Digest],
) -> Result<(), WriteError> {
    suppressions::lock_digests(conn, digests)?;
    if suppressions::first_suppressed(conn, workspace_id, digests)?.is_some() {
        return Err(WriteError::Suppressed);
    }
    Ok(())
}

/// Refuses a write to an anonymized (archived) customer: archiving is irreversible, and
/// an identify or an event would bring personal data back to a profile everyone may
/// read as anonymous.
pub(super) fn ensure_not_archived(target: &Target) -> Result<(), WriteError> {
    match target.archived_at {
        Some(_) => Err(WriteError::Archived),
        None => Ok(()),
    }
}

/// Creates or updates a customer (Customer.io's identify); returns its internal id.
/// `suppression_digests` are the identifiers of this write that must not be suppressed.
pub fn identify(
    conn: &mut DbConnection,
    workspace_id: i64,
    identifier: &Identifier,
    patch: &CustomerPatch,
    suppression_digests: &[Digest],
) -> Result<i64, WriteError> {
    identify_claiming(conn, workspace_id, identifier, patch, suppression_digests, None)
}

/// [`identify`], and in the same transaction the anonymous events sent under
/// `anonymous_digest` (the keyed digest of the `anonymous_id` the identify carried)
/// become the customer's events, moving their "last seen" forward as tracking them
/// would have. Returns the customer's internal id.
pub fn identify_claiming(
    conn: &mut DbConnection,
    workspace_id: i64,
    identifier: &Identifier,
    patch: &CustomerPatch,
    suppression_digests: &[Digest],
    anonymous_digest: Option<&str>,
) -> Result<i64, WriteError> {
    write_transaction(conn, |conn| {
        ensure_not_suppressed(conn, workspace_id, suppression_digests)?;
        let target = find_or_create_locked(conn, workspace_id, identifier)?;
        ensure_not_archived(&target)?;
        apply(conn, &target, patch)?;
        if let Some(digest) = anonymous_digest {
            let claimed = anonymous_events::claim(conn, workspace_id, digest, target.id)?;
            if let Some(latest) = claimed.latest {
                move_last_seen_forward(conn, &target, latest)?;
            }
        }
        Ok(target.id)
    })
}

fn move_last_seen_forward(
    conn: &mut DbConnection,
    target: &Target,
    at: NaiveDateTime,
) -> Result<(), WriteError> {
    if at > target.last_seen_at {
        diesel::update(
            customers::table
                .find(target.id)
                .filter(customers::last_seen_at.lt(at)),
        )
        .set(customers::last_seen_at.eq(at))
        .execute(conn)?;
    }
    Ok(())
}

/// Stores an event for a customer, creating the customer first if needed (as
/// Customer.io does), and moves their "last seen" forward to the event's time.
pub fn record_event(
    conn: &mut DbConnection,
    workspace_id: i64,
    identifier: &Identifier,
    event: &TrackEvent,
    suppression_digests: &[Digest],
) -> Result<i64, WriteError> {
    write_transaction(conn, |conn| {
        ensure_not_suppressed(conn, workspace_id, suppression_digests)?;
        let target = find_or_create_locked(conn, workspace_id, identifier)?;
        ensure_not_archived(&target)?;
        events::insert(conn, workspace_id, target.id, event)?;
        if event.occurred_at > target.last_seen_at {
            diesel::update(
                customers::table
                    .find(target.id)
                    .filter(customers::last_seen_at.lt(event.occurred_at)),
            )
            .set(customers::last_seen_at.eq(event.occurred_at))
            .execute(conn)?;
        }
        Ok(target.id)
    })
}

/// The internal id of the customer an identifier names, if any.
pub fn resolve(
    conn: &mut DbConnection,
    workspace_id: i64,
    identifier: &Identifier,
) -> Result<Option<i64>, WriteError> {
    Ok(find(conn, workspace_id, identifier)?.map(|t| t.id))
}
