//! Data-subject requests: recorded, extended, linked to their erasure job, exported,
//! closed with their identifiers turned into digests.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{now, StoreResult};
use crate::db::schema::requests;
use crate::db::DbConnection;
use crate::domain::data_request::{RequestIntake, RequestKind, RequestStanding};

#[diesel::declare_sql_function]
extern "SQL" {
    /// An address matches in any case.
    fn lower(
        text: diesel::sql_types::Nullable<diesel::sql_types::Text>,
    ) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

pub const OPEN: &str = "open";
pub const CLOSED: &str = "closed";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = requests)]
pub struct DataRequest {
    pub id: i64,
    pub workspace_id: i64,
    pub kind: String,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub phone: Option<String>,
    pub identifier_digests: String,
    pub verification: String,
    pub received_at: NaiveDateTime,
    pub due_at: NaiveDateTime,
    pub extension_reason: Option<String>,
    pub state: String,
    pub outcome: Option<String>,
    pub job_id: Option<i64>,
    pub exported_at: Option<NaiveDateTime>,
    pub export_expires_at: Option<NaiveDateTime>,
    pub due_soon_mailed_at: Option<NaiveDateTime>,
    pub overdue_mailed_at: Option<NaiveDateTime>,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
}

impl DataRequest {
    pub fn request_kind(&self) -> RequestKind {
        RequestKind::parse(&self.kind).unwrap_or(RequestKind::Both)
    }

    pub fn is_closed(&self) -> bool {
        self.state == CLOSED
    }

    pub fn standing(&self, at: NaiveDateTime) -> RequestStanding {
        RequestStanding::at(self.is_closed(), self.due_at, at)
    }
}

pub fn insert(
    conn: &mut DbConnection,
    workspace_id: i64,
    intake: &RequestIntake,
    created_by: i64,
) -> StoreResult<i64> {
    Ok(diesel::insert_into(requests::table)
        .values((
            requests::workspace_id.eq(workspace_id),
            requests::kind.eq(intake.kind.key()),
            requests::email.eq(intake.email.as_deref()),
            requests::external_id.eq(intake.external_id.as_deref()),
            requests::phone.eq(intake.phone.as_deref()),
            requests::verification.eq(&intake.verification),
            requests::received_at.eq(intake.received_at()),
            requests::due_at.eq(intake.due_at()),
            requests::state.eq(OPEN),
            requests::created_by.eq(created_by),
            requests::created_at.eq(now()),
        ))
        .returning(requests::id)
        .get_result(conn)?)
}

pub fn find(conn: &mut DbConnection, workspace_id: i64, id: i64) -> StoreResult<Option<DataRequest>> {
    Ok(requests::table
        .filter(requests::workspace_id.eq(workspace_id))
        .filter(requests::id.eq(id))
        .select(DataRequest::as_select())
        .first(conn)
        .optional()?)
}

/// Open requests first, soonest due first; then the latest closed ones.
pub fn list(conn: &mut DbConnection, workspace_id: i64, closed_limit: i64) -> StoreResult<Vec<DataRequest>> {
    let mut open: Vec<DataRequest> = requests::table
        .filter(requests::workspace_id.eq(workspace_id))
        .filter(requests::state.eq(OPEN))
        .order((requests::due_at, requests::id))
        .select(DataRequest::as_select())
        .load(conn)?;
    let closed: Vec<DataRequest> = requests::table
        .filter(requests::workspace_id.eq(workspace_id))
        .filter(requests::state.eq(CLOSED))
        .order(requests::closed_at.desc())
        .limit(closed_limit)
        .select(DataRequest::as_select())
        .load(conn)?;
    open.extend(closed);
    Ok(open)
}

/// The request that started this job, if one did.
pub fn for_job(conn: &mut DbConnection, workspace_id: i64, job_id: i64) -> StoreResult<Option<DataRequest>> {
    Ok(requests::table
        .filter(requests::workspace_id.eq(workspace_id))
        .filter(requests::job_id.eq(job_id))
        .select(DataRequest::as_select())
        .first(conn)
        .optional()?)
}

pub fn extend(conn: &mut DbConnection, id: i64, due_at: NaiveDateTime, reason: &str) -> StoreResult<()> {
    diesel::update(requests::table.find(id))
        .set((
            requests::due_at.eq(due_at),
            requests::extension_reason.eq(Some(reason)),
            // The reminders follow the new date.
            requests::due_soon_mailed_at.eq(None::<NaiveDateTime>),
            requests::overdue_mailed_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_job(conn: &mut DbConnection, id: i64, job_id: i64) -> StoreResult<()> {
    diesel::update(requests::table.find(id))
        .set(requests::job_id.eq(Some(job_id)))
        .execute(conn)?;
    Ok(())
}

pub fn set_export(
    conn: &mut DbConnection,
    id: i64,
    at: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(requests::table.find(id))
        .set((
            requests::exported_at.eq(Some(at)),
            requests::export_expires_at.eq(Some(expires_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Requests whose export has outlived its time, across workspaces.
pub fn expired_exports(conn: &mut DbConnection, at: NaiveDateTime) -> StoreResult<Vec<DataRequest>> {
    Ok(requests::table
        .filter(requests::export_expires_at.le(at))
        .select(DataRequest::as_select())
        .load(conn)?)
}

pub fn clear_export(conn: &mut DbConnection, id: i64) -> StoreResult<()> {
    diesel::update(requests::table.find(id))
        .set(requests::export_expires_at.eq(None::<NaiveDateTime>))
        .execute(conn)?;
    Ok(())
}

/// Closes the request: the plain identifiers give way to their digests.
pub fn close(conn: &mut DbConnection, id: i64, outcome: &str, digests: &str) -> StoreResult<()> {
    diesel::update(requests::table.find(id))
        .set((
            requests::state.eq(CLOSED),
            requests::outcome.eq(Some(outcome)),
            requests::closed_at.eq(Some(now())),
            requests::identifier_digests.eq(digests),
            requests::email.eq(None::<String>),
            requests::external_id.eq(None::<String>),
            requests::phone.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Open requests, across workspaces, that a reminder may be due for at `at`.
pub fn open_due_by(conn: &mut DbConnection, until: NaiveDateTime) -> StoreResult<Vec<DataRequest>> {
    Ok(requests::table
        .filter(requests::state.eq(OPEN))
        .filter(requests::due_at.le(until))
        .select(DataRequest::as_select())
        .load(conn)?)
}

pub fn mark_due_soon_mailed(conn: &mut DbConnection, id: i64) -> StoreResult<()> {
    diesel::update(requests::table.find(id))
        .set(requests::due_soon_mailed_at.eq(Some(now())))
        .execute(conn)?;
    Ok(())
}

pub fn mark_overdue_mailed(conn: &mut DbConnection, id: i64) -> StoreResult<()> {
    diesel::update(requests::table.find(id))
        .set(requests::overdue_mailed_at.eq(Some(now())))
        .execute(conn)?;
    Ok(())
}

/// id, external id, email, name, archived at.
type MatchRow = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
);

/// A customer a request's identifiers name, with how much is stored about them.
#[derive(Debug, Clone)]
pub struct MatchedCustomer {
    pub id: i64,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub archived: bool,
    pub events: i64,
    pub devices: i64,
}

/// The customers the given identifiers name: the external id and phone exactly, the
/// email in any case.
pub fn matching_customers(
    conn: &mut DbConnection,
    workspace_id: i64,
    email: Option<&str>,
    external_id: Option<&str>,
    phone: Option<&str>,
) -> StoreResult<Vec<MatchedCustomer>> {
    use crate::db::schema::{customers, devices, events};
    let mut found: Vec<MatchRow> = Vec::new();
    let columns = (
        customers::id,
        customers::external_id,
        customers::email,
        customers::name,
        customers::archived_at,
    );
    if let Some(email) = email {
        found.extend(
            customers::table
                .filter(customers::workspace_id.eq(workspace_id))
                .filter(lower(customers::email).eq(email.to_lowercase()))
                .select(columns)
                .load::<MatchRow>(conn)?,
        );
    }
    if let Some(external_id) = external_id {
        found.extend(
            customers::table
                .filter(customers::workspace_id.eq(workspace_id))
                .filter(customers::external_id.eq(external_id))
                .select(columns)
                .load::<MatchRow>(conn)?,
        );
    }
    if let Some(phone) = phone {
        found.extend(
            customers::table
                .filter(customers::workspace_id.eq(workspace_id))
                .filter(customers::phone.eq(phone))
                .select(columns)
                .load::<MatchRow>(conn)?,
        );
    }
    found.sort_by_key(|row| row.0);
    found.dedup_by_key(|row| row.0);
    let mut matched = Vec::with_capacity(found.len());
    for (id, external_id, email, name, archived_at) in found {
        let events: i64 = events::table
            .filter(events::customer_id.eq(id))
            .count()
            .get_result(conn)?;
        let devices: i64 = devices::table
            .filter(devices::customer_id.eq(id))
            .count()
            .get_result(conn)?;
        matched.push(MatchedCustomer {
            id,
            external_id,
            email,
            name,
            archived: archived_at.is_some(),
            events,
            devices,
        });
    }
    Ok(matched)
}
