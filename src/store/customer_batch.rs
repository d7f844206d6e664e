//! Creating and updating many customers in one transaction, for a CSV import: what
//! `customer_writes::identify` does row by row, in a few statements per batch instead
//! of several per row.
//!
//! The common cases (a new id, an existing id, an email naming one customer) go in
//! bulk. A row whose outcome depends on another row of the same batch (an email
//! identifier that another row sets as its address, two rows reaching one customer),
//! an internal id, and an insert that lost a race are written one at a time through
//! `identify` itself, each in a savepoint so that its refusal leaves nothing behind.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::bulk_load::CustomerRow;
use super::customer_writes::{self, Target, WriteError};
use super::suppressions::{self, Digest};
use super::{now, StoreError, StoreResult};
use crate::db::schema::customers;
use crate::db::{write_transaction, DbConnection};
use crate::domain::{Change, CustomerPatch, Identifier};

/// Values per IN list, and rows per INSERT (ten parameters each).
const CHUNK: usize = 500;

/// One customer to create or update.
pub struct BatchWrite<'a> {
    pub identifier: &'a Identifier,
    pub patch: &'a CustomerPatch,
    /// The identifiers of this write that must not be suppressed.
    pub digests: &'a [Digest],
}

#[derive(Debug)]
pub enum Outcome {
    Created,
    Updated,
    /// Refused as `identify` would refuse it: suppressed, ambiguous, no such internal
    /// id, or too many attributes after the merge.
    Skipped(WriteError),
}

/// Who an identifier names now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Nobody,
    One(i64),
    /// An email address that more than one customer has.
    Ambiguous,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = customers)]
struct Found {
    external_id: Option<String>,
    email: Option<String>,
    #[diesel(embed)]
    target: Target,
}

/// Which column a lookup matches on.
enum By<'a> {
    ExternalIds(&'a [&'a str]),
    Emails(&'a [&'a str]),
    Ids(&'a [i64]),
}

/// The customers a lookup matches; on PostgreSQL with `lock`, locked until the
/// transaction ends, so that an API call changing one of them meanwhile merges after
/// the import rather than over it.
fn load(conn: &mut DbConnection, workspace_id: i64, by: By<'_>, lock: bool) -> StoreResult<Vec<Found>> {
    macro_rules! load_where {
        ($filter:expr) => {{
            let query = customers::table
                .filter(customers::workspace_id.eq(workspace_id))
                .filter($filter);
            match conn {
                DbConnection::Postgres(pg) if lock => query
                    .order(customers::id)
                    .select(Found::as_select())
                    .for_update()
                    .load(pg)?,
                _ => query.select(Found::as_select()).load(conn)?,
            }
        }};
    }
    Ok(match by {
        By::ExternalIds(ids) => load_where!(customers::external_id.eq_any(ids)),
        By::Emails(emails) => load_where!(customers::email.eq_any(emails)),
        By::Ids(ids) => load_where!(customers::id.eq_any(ids)),
    })
}

/// Resolves each identifier the way `identify` does, in a few queries.
pub fn existing(
    conn: &mut DbConnection,
    workspace_id: i64,
    identifiers: &[&Identifier],
) -> StoreResult<Vec<Existing>> {
    Ok(resolve(conn, workspace_id, identifiers, false)?.0)
}

/// [`existing`], with the customers found (locked, when `lock`).
fn resolve(
    conn: &mut DbConnection,
    workspace_id: i64,
    identifiers: &[&Identifier],
    lock: bool,
) -> StoreResult<(Vec<Existing>, HashMap<i64, Target>)> {
    // An address may have been stored decomposed: each is looked up in every form.
    let email_forms: Vec<Vec<String>> = identifiers
        .iter()
        .map(|identifier| match identifier {
            Identifier::Email(email) => email.stored_forms(),
            _ => Vec::new(),
        })
        .collect();
    let mut external_ids = Vec::new();
    let mut emails = Vec::new();
    let mut internal_ids = Vec::new();
    for (identifier, forms) in identifiers.iter().zip(&email_forms) {
        match identifier {
            Identifier::ExternalId(id) => external_ids.push(id.as_str()),
            // A customer first seen by this address has it as their external id too.
            Identifier::Email(_) => {
                external_ids.extend(forms.iter().map(String::as_str));
                emails.extend(forms.iter().map(String::as_str));
            }
            Identifier::InternalId(id) => internal_ids.push(*id),
        }
    }
    let mut found: Vec<Found> = Vec::new();
    for chunk in external_ids.chunks(CHUNK) {
        found.extend(load(conn, workspace_id, By::ExternalIds(chunk), lock)?);
    }
    for chunk in emails.chunks(CHUNK) {
        found.extend(load(conn, workspace_id, By::Emails(chunk), lock)?);
    }
    for chunk in internal_ids.chunks(CHUNK) {
        found.extend(load(conn, workspace_id, By::Ids(chunk), lock)?);
    }
    let mut by_external_id: HashMap<String, i64> = HashMap::new();
    let mut by_email: HashMap<String, Vec<i64>> = HashMap::new();
    let mut targets: HashMap<i64, Target> = HashMap::with_capacity(found.len());
    for f in found {
        let id = f.target.id;
        if let Some(external_id) = f.external_id {
            by_external_id.insert(external_id, id);
        }
        if let Some(email) = f.email {
            by_email.entry(email).or_default().push(id);
        }
        targets.insert(id, f.target);
    }
    let existing = identifiers
        .iter()
        .zip(&email_forms)
        .map(|(identifier, forms)| match identifier {
            Identifier::ExternalId(id) => by_external_id
                .get(id.as_str())
                .map_or(Existing::Nobody, |id| Existing::One(*id)),
            Identifier::Email(_) => {
                let mut matches: Vec<i64> = Vec::new();
                for form in forms {
                    matches.extend(by_email.get(form).into_iter().flatten());
                    matches.extend(by_external_id.get(form));
                }
                matches.sort_unstable();
                matches.dedup();
                match matches[..] {
                    [] => Existing::Nobody,
                    [one] => Existing::One(one),
                    _ => Existing::Ambiguous,
                }
            }
            Identifier::InternalId(id) if targets.contains_key(id) => Existing::One(*id),
            Identifier::InternalId(_) => Existing::Nobody,
        })
        .collect();
    Ok((existing, targets))
}

/// Writes the batch in the caller's transaction (or its own); one outcome per write,
/// in order. Suppressions are checked under the digests' locks, as `identify` does.
pub fn write_batch(
    conn: &mut DbConnection,
    workspace_id: i64,
    writes: &[BatchWrite<'_>],
) -> StoreResult<Vec<Outcome>> {
    write_transaction(conn, |conn| {
        let digests: Vec<Digest> = writes.iter().flat_map(|w| w.digests.iter().cloned()).collect();
        suppressions::lock_many_digests(conn, &digests)?;
        let suppressed = suppressions::suppressed_among(conn, workspace_id, &digests)?;
        let mut outcomes: Vec<Option<Outcome>> = writes.iter().map(|_| None).collect();
        let mut live = Vec::new();
        for (i, write) in writes.iter().enumerate() {
            if write
                .digests
                .iter()
                .any(|(kind, digest)| suppressed.contains(&(kind.to_string(), digest.clone())))
            {
                outcomes[i] = Some(Outcome::Skipped(WriteError::Suppressed));
            } else {
                live.push(i);
            }
        }
        let (fast, mut one_by_one) = split(writes, &live);
        let identifiers: Vec<&Identifier> = fast.iter().map(|&i| writes[i].identifier).collect();
        let (resolved, targets) = resolve(conn, workspace_id, &identifiers, true)?;
        let mut updates: Vec<(usize, i64)> = Vec::new();
        let mut creates: Vec<usize> = Vec::new();
        let mut reached: HashSet<i64> = HashSet::new();
        let mut created: HashSet<&str> = HashSet::new();
        for (&i, found) in fast.iter().zip(resolved) {
            match found {
                Existing::Ambiguous => outcomes[i] = Some(Outcome::Skipped(WriteError::Ambiguous)),
                Existing::One(id) if reached.insert(id) => updates.push((i, id)),
                Existing::Nobody
                    if writes[i]
                        .identifier
                        .external_id_for_new()
                        .is_some_and(|e| created.insert(e)) =>
                {
                    creates.push(i)
                }
                _ => one_by_one.push(i),
            }
        }
        let mut found = Vec::with_capacity(updates.len());
        for (i, id) in updates {
            match targets.get(&id) {
                Some(target) => found.push((i, target)),
                None => one_by_one.push(i),
            }
        }
        // One statement for all the updates of the batch: a statement per row was a
        // round trip each on PostgreSQL and, on SQLite, a fresh compile each (diesel
        // never caches an UPDATE, and compiling one codes every trigger on customers),
        // which was most of a batch's time on both.
        let mut changes = UpdateColumns::default();
        for (i, target) in found {
            let patch = writes[i].patch;
            if clears_a_column(patch) {
                one_by_one.push(i);
                continue;
            }
            outcomes[i] = Some(match customer_writes::merged_attributes(target, patch) {
                Ok(attributes) => {
                    changes.push(target.id, patch, attributes);
                    Outcome::Updated
                }
                Err(WriteError::Store(err)) => return Err(err),
                Err(refused) => Outcome::Skipped(refused),
            });
        }
        changes.write(conn, workspace_id)?;
        let at = now();
        let mut rows = Vec::with_capacity(creates.len());
        let mut row_writes = Vec::with_capacity(creates.len());
        for i in creates {
            match new_row(workspace_id, &writes[i], at) {
                Ok(row) => {
                    rows.push(row);
                    row_writes.push(i);
                }
                Err(refused) => outcomes[i] = Some(Outcome::Skipped(refused)),
            }
        }
        let inserted = insert_new(conn, &rows)?;
        for (row, i) in rows.iter().zip(row_writes) {
            if row.external_id.as_ref().is_some_and(|e| inserted.contains(e)) {
                outcomes[i] = Some(Outcome::Created);
            } else {
                one_by_one.push(i);
            }
        }
        one_by_one.sort_unstable();
        for i in one_by_one {
            outcomes[i] = Some(identify_one(conn, workspace_id, &writes[i])?);
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.ok_or_else(|| StoreError::Inconsistent("an import row was left without an outcome".into()))
            })
            .collect()
    })
}

/// Which writes can go in bulk, and which depend on another write of the batch.
fn split(writes: &[BatchWrite<'_>], live: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut set_emails: HashMap<&str, usize> = HashMap::new();
    for &i in live {
        if let Change::Set(email) = &writes[i].patch.email {
            *set_emails.entry(email.as_str()).or_default() += 1;
        }
    }
    live.iter().partition(|&&i| match writes[i].identifier {
        Identifier::ExternalId(_) => true,
        Identifier::InternalId(_) => false,
        Identifier::Email(email) => {
            let own = matches!(&writes[i].patch.email, Change::Set(set) if set == email);
            set_emails.get(email.as_str()).copied().unwrap_or(0) <= usize::from(own)
        }
    })
}

/// A `Clear` cannot be told from `Keep` in the one-statement update, which keeps a
/// column whose new value is NULL. (A CSV import never clears one.)
fn clears_a_column(patch: &CustomerPatch) -> bool {
    matches!(patch.email, Change::Clear)
        || [&patch.phone, &patch.name, &patch.country, &patch.city]
            .iter()
            .any(|c| matches!(c, Change::Clear))
}

/// The updates of a batch as one column each, for one `UPDATE … FROM` the lot.
/// NULL keeps the stored value, as `apply`'s `Keep` does.
#[derive(Default)]
struct UpdateColumns {
    ids: Vec<i64>,
    emails: Vec<Option<String>>,
    phones: Vec<Option<String>>,
    names: Vec<Option<String>>,
    countries: Vec<Option<String>>,
    cities: Vec<Option<String>>,
    attributes: Vec<Option<String>>,
    created_at: Vec<Option<NaiveDateTime>>,
}

impl UpdateColumns {
    fn push(&mut self, id: i64, patch: &CustomerPatch, attributes: Option<String>) {
        let set = |change: &Change<String>| match change {
            Change::Set(value) => Some(value.clone()),
            _ => None,
        };
        let email = match &patch.email {
            Change::Set(email) => Some(email.as_str().to_owned()),
            _ => None,
        };
        let (phone, name, country, city) = (
            set(&patch.phone),
            set(&patch.name),
            set(&patch.country),
            set(&patch.city),
        );
        let nothing = [&email, &phone, &name, &country, &city, &attributes]
            .iter()
            .all(|v| v.is_none());
        if nothing && patch.created_at.is_none() {
            return;
        }
        self.ids.push(id);
        self.emails.push(email);
        self.phones.push(phone);
        self.names.push(name);
        self.countries.push(country);
        self.cities.push(city);
        self.attributes.push(attributes);
        self.created_at.push(patch.created_at);
    }

    fn write(self, conn: &mut DbConnection, workspace_id: i64) -> StoreResult<()> {
        match conn {
            DbConnection::Postgres(pg) => self.write_pg(pg, workspace_id),
            DbConnection::Sqlite(sqlite) => self.write_sqlite(sqlite, workspace_id),
        }
    }

    fn write_pg(self, pg: &mut diesel::PgConnection, workspace_id: i64) -> StoreResult<()> {
        use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
        if self.ids.is_empty() {
            return Ok(());
        }
        diesel::sql_query(
            "UPDATE customers AS c SET \
               email = COALESCE(u.email, c.email), phone = COALESCE(u.phone, c.phone), \
               name = COALESCE(u.name, c.name), country = COALESCE(u.country, c.country), \
               city = COALESCE(u.city, c.city), attributes = COALESCE(u.attributes, c.attributes), \
               created_at = COALESCE(u.created_at, c.created_at) \
             FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) \
               AS u(id, email, phone, name, country, city, attributes, created_at) \
             WHERE c.id = u.id AND c.workspace_id = $9",
        )
        .bind::<Array<BigInt>, _>(self.ids)
        .bind::<Array<Nullable<Text>>, _>(self.emails)
        .bind::<Array<Nullable<Text>>, _>(self.phones)
        .bind::<Array<Nullable<Text>>, _>(self.names)
        .bind::<Array<Nullable<Text>>, _>(self.countries)
        .bind::<Array<Nullable<Text>>, _>(self.cities)
        .bind::<Array<Nullable<Text>>, _>(self.attributes)
        .bind::<Array<Nullable<Timestamp>>, _>(self.created_at)
        .bind::<BigInt, _>(workspace_id)
        .execute(pg)?;
        Ok(())
    }

    /// SQLite has no arrays: the rows go in as one JSON array bound as one parameter,
    /// so the statement's text depends only on which columns change, and compiling it
    /// (which codes every trigger on customers) costs the same for 10 rows as for
    /// 1,000. The rows are grouped by the columns they set, and each group's statement
    /// sets only those: SQLite rewrites the entries of every index over a column an
    /// `UPDATE` assigns, even to its own value, so `col = COALESCE(new, col)` for every
    /// column cost more index writes than the compiles it saved.
    fn write_sqlite(self, sqlite: &mut diesel::SqliteConnection, workspace_id: i64) -> StoreResult<()> {
        use diesel::sql_types::{BigInt, Text};
        // The text SQLite stores a timestamp as (diesel's own format), so the column
        // reads back the same whichever path wrote it.
        let at = |t: &NaiveDateTime| serde_json::Value::from(t.format("%Y-%m-%d %H:%M:%S%.f").to_string());
        let mut groups: std::collections::BTreeMap<u8, Vec<serde_json::Value>> = Default::default();
        for i in 0..self.ids.len() {
            let values = [
                self.emails[i].clone().map(serde_json::Value::from),
                self.phones[i].clone().map(serde_json::Value::from),
                self.names[i].clone().map(serde_json::Value::from),
                self.countries[i].clone().map(serde_json::Value::from),
                self.cities[i].clone().map(serde_json::Value::from),
                self.attributes[i].clone().map(serde_json::Value::from),
                self.created_at[i].as_ref().map(at),
            ];
            let mut set = 0u8;
            let mut row = vec![serde_json::Value::from(self.ids[i])];
            for (bit, value) in values.into_iter().enumerate() {
                if let Some(value) = value {
                    set |= 1 << bit;
                    row.push(value);
                }
            }
            groups.entry(set).or_default().push(serde_json::Value::Array(row));
        }
        for (set, rows) in groups {
            let columns: Vec<&str> = UPDATABLE
                .iter()
                .enumerate()
                .filter(|(bit, _)| set & (1 << bit) != 0)
                .map(|(_, column)| *column)
                .collect();
            let read: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(at, column)| format!("value ->> {} AS {column}", at + 1))
                .collect();
            let assign: Vec<String> = columns
                .iter()
                .map(|column| format!("{column} = u.{column}"))
                .collect();
            diesel::sql_query(format!(
                "WITH u AS (SELECT value ->> 0 AS id, {} FROM json_each(?)) \
                 UPDATE customers SET {} FROM u WHERE customers.id = u.id AND customers.workspace_id = ?",
                read.join(", "),
                assign.join(", ")
            ))
            .bind::<Text, _>(serde_json::Value::Array(rows).to_string())
            .bind::<BigInt, _>(workspace_id)
            .execute(sqlite)?;
        }
        Ok(())
    }
}

/// The columns an identify may set, in the order of `UpdateColumns::write_sqlite`'s bits.
const UPDATABLE: [&str; 7] = [
    "email",
    "phone",
    "name",
    "country",
    "city",
    "attributes",
    "created_at",
];

/// The row `identify` would leave for a new customer.
fn new_row(workspace_id: i64, write: &BatchWrite<'_>, at: NaiveDateTime) -> Result<CustomerRow, WriteError> {
    let text = |change: &Change<String>| match change {
        Change::Set(value) => Some(value.clone()),
        _ => None,
    };
    let email = match (&write.patch.email, write.identifier) {
        (Change::Set(email), _) => Some(email.as_str().to_owned()),
        (Change::Keep, Identifier::Email(email)) => Some(email.as_str().to_owned()),
        _ => None,
    };
    let attributes = serde_json::Value::Object(write.patch.new_attributes()?).to_string();
    Ok(CustomerRow {
        workspace_id,
        external_id: write.identifier.external_id_for_new().map(str::to_owned),
        email,
        phone: text(&write.patch.phone),
        name: text(&write.patch.name),
        country: text(&write.patch.country),
        city: text(&write.patch.city),
        attributes,
        created_at: write.patch.created_at.unwrap_or(at),
        last_seen_at: at,
    })
}

/// Inserts the rows, skipping any whose external id someone else took since the
/// lookup (on PostgreSQL a concurrent API call can); returns the external ids inserted.
fn insert_new(conn: &mut DbConnection, rows: &[CustomerRow]) -> StoreResult<HashSet<String>> {
    let mut inserted = HashSet::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let insert = diesel::insert_into(customers::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .returning(customers::external_id);
        // Multi-row INSERTs do not compile over the multi-backend connection.
        let ids: Vec<Option<String>> = match conn {
            DbConnection::Sqlite(c) => insert.get_results(c)?,
            DbConnection::Postgres(c) => insert.get_results(c)?,
        };
        inserted.extend(ids.into_iter().flatten());
    }
    Ok(inserted)
}

/// One write through `identify`, in a savepoint: a refusal rolls back what it began.
fn identify_one(conn: &mut DbConnection, workspace_id: i64, write: &BatchWrite<'_>) -> StoreResult<Outcome> {
    let result = conn.transaction(|conn| -> Result<Outcome, WriteError> {
        let existed = customer_writes::resolve(conn, workspace_id, write.identifier)?.is_some();
        customer_writes::identify(conn, workspace_id, write.identifier, write.patch, write.digests)?;
        Ok(if existed {
            Outcome::Updated
        } else {
            Outcome::Created
        })
    });
    match result {
        Ok(outcome) => Ok(outcome),
        Err(WriteError::Store(err)) => Err(err),
        Err(refused) => Ok(Outcome::Skipped(refused)),
    }
}
