//! Customers' devices: added, updated and removed as the Track API asks, read for the
//! profile, and removed with their customer by every erasure.
//!
//! A token is unique per workspace: adding a token another customer holds moves the
//! device to the customer named now (the phone changed hands, or its app signed in as
//! someone else), as Customer.io does.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::customer_writes::{self, WriteError};
use super::suppressions::Digest;
use super::{now, StoreError, StoreResult};
use crate::db::schema::devices;
use crate::db::{write_transaction, DbConnection};
use crate::domain::{
    DeviceError, DevicePlatform, DeviceToken, DeviceUpdate, Identifier, MAX_DEVICES_PER_CUSTOMER,
};

/// Ids per statement, well under both backends' bound-parameter limits.
const IDS_PER_STATEMENT: usize = 500;

/// One device as the profile shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = devices)]
pub struct Device {
    pub id: i64,
    pub token: String,
    #[diesel(deserialize_as = String)]
    pub platform: PlatformColumn,
    pub last_used: NaiveDateTime,
    pub attributes: String,
}

/// `devices.platform` as read; a value this version does not know is shown as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformColumn {
    Known(DevicePlatform),
    Other(String),
}

impl From<String> for PlatformColumn {
    fn from(raw: String) -> PlatformColumn {
        match DevicePlatform::parse(&raw) {
            Some(platform) => PlatformColumn::Known(platform),
            None => PlatformColumn::Other(raw),
        }
    }
}

impl PlatformColumn {
    pub fn label(&self) -> &str {
        match self {
            PlatformColumn::Known(platform) => platform.label(),
            PlatformColumn::Other(raw) => raw,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceWriteError {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Invalid(#[from] DeviceError),
}

impl From<StoreError> for DeviceWriteError {
    fn from(err: StoreError) -> Self {
        DeviceWriteError::Write(WriteError::Store(err))
    }
}

impl From<diesel::r2d2::PoolError> for DeviceWriteError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        DeviceWriteError::Write(err.into())
    }
}

impl From<diesel::result::Error> for DeviceWriteError {
    fn from(err: diesel::result::Error) -> Self {
        DeviceWriteError::Write(err.into())
    }
}

/// Adds the device to the customer the identifier names, or updates it (moving it to
/// them if another customer had the token), creating the customer as an identify
/// would. Refused, with nothing written, for a suppressed identifier, an anonymized
/// customer, or a customer who already has the most devices allowed.
pub fn add_device(
    conn: &mut DbConnection,
    workspace_id: i64,
    identifier: &Identifier,
    device: &DeviceUpdate,
    suppression_digests: &[Digest],
) -> Result<i64, DeviceWriteError> {
    write_transaction(conn, |conn| {
        customer_writes::ensure_not_suppressed(conn, workspace_id, suppression_digests)?;
        // Locked: two adds for one customer take turns, so the count below holds.
        let target = customer_writes::find_or_create_locked(conn, workspace_id, identifier)?;
        customer_writes::ensure_not_archived(&target)?;
        let holder = holder_of(conn, workspace_id, &device.token)?;
        if holder != Some(target.id)
            && count_for_customer(conn, workspace_id, target.id)? >= MAX_DEVICES_PER_CUSTOMER as i64
        {
            return Err(DeviceError::TooManyDevices.into());
        }
        let at = now();
        if holder.is_none() {
            // A concurrent add of the same new token (PostgreSQL) hits the unique
            // index; the savepoint keeps the transaction usable, and the update below
            // then takes the winner's row.
            let inserted = conn.transaction(|conn| {
                diesel::insert_into(devices::table)
                    .values((
                        devices::workspace_id.eq(workspace_id),
                        devices::customer_id.eq(target.id),
                        devices::token.eq(device.token.as_str()),
                        devices::platform.eq(device.platform.key()),
                        devices::last_used.eq(device.last_used),
                        devices::attributes.eq(&device.attributes),
                        devices::created_at.eq(at),
                        devices::updated_at.eq(at),
                    ))
                    .execute(conn)
            });
            match inserted.map_err(StoreError::from) {
                Ok(_) => return Ok(target.id),
                Err(err) if err.is_unique_violation() => {}
                Err(err) => return Err(err.into()),
            }
        }
        diesel::update(
            devices::table
                .filter(devices::workspace_id.eq(workspace_id))
                .filter(devices::token.eq(device.token.as_str())),
        )
        .set((
            devices::customer_id.eq(target.id),
            devices::platform.eq(device.platform.key()),
            devices::last_used.eq(device.last_used),
            devices::attributes.eq(&device.attributes),
            devices::updated_at.eq(at),
        ))
        .execute(conn)?;
        Ok(target.id)
    })
}

/// Removes the customer's device with that token; whether there was one. An unknown
/// customer or device changes nothing (the API answers 200 as Customer.io does).
pub fn remove_device(
    conn: &mut DbConnection,
    workspace_id: i64,
    identifier: &Identifier,
    token: &DeviceToken,
) -> Result<bool, WriteError> {
    write_transaction(conn, |conn| {
        let Some(customer_id) = customer_writes::resolve(conn, workspace_id, identifier)? else {
            return Ok(false);
        };
        let removed = diesel::delete(
            devices::table
                .filter(devices::workspace_id.eq(workspace_id))
                .filter(devices::customer_id.eq(customer_id))
                .filter(devices::token.eq(token.as_str())),
        )
        .execute(conn)?;
        Ok(removed > 0)
    })
}

/// The customer holding a token in this workspace, if any.
fn holder_of(conn: &mut DbConnection, workspace_id: i64, token: &DeviceToken) -> StoreResult<Option<i64>> {
    Ok(devices::table
        .filter(devices::workspace_id.eq(workspace_id))
        .filter(devices::token.eq(token.as_str()))
        .select(devices::customer_id)
        .first(conn)
        .optional()?)
}

fn count_for_customer(conn: &mut DbConnection, workspace_id: i64, customer_id: i64) -> StoreResult<i64> {
    Ok(devices::table
        .filter(devices::workspace_id.eq(workspace_id))
        .filter(devices::customer_id.eq(customer_id))
        .count()
        .get_result(conn)?)
}

/// A customer's devices, most recently used first.
pub fn for_customer(
    conn: &mut DbConnection,
    workspace_id: i64,
    customer_id: i64,
) -> StoreResult<Vec<Device>> {
    Ok(devices::table
        .filter(devices::workspace_id.eq(workspace_id))
        .filter(devices::customer_id.eq(customer_id))
        .order((devices::last_used.desc(), devices::id.desc()))
        .limit(MAX_DEVICES_PER_CUSTOMER as i64)
        .select(Device::as_select())
        .load(conn)?)
}

/// A customer's device tokens, for an erasure to look for in free text.
pub fn tokens_for_customer(
    conn: &mut DbConnection,
    workspace_id: i64,
    customer_id: i64,
) -> StoreResult<Vec<String>> {
    Ok(devices::table
        .filter(devices::workspace_id.eq(workspace_id))
        .filter(devices::customer_id.eq(customer_id))
        .select(devices::token)
        .load(conn)?)
}

/// How many devices these customers have.
pub fn count_for_customers(conn: &mut DbConnection, workspace_id: i64, ids: &[i64]) -> StoreResult<i64> {
    let mut total = 0;
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        total += devices::table
            .filter(devices::workspace_id.eq(workspace_id))
            .filter(devices::customer_id.eq_any(chunk))
            .count()
            .get_result::<i64>(conn)?;
    }
    Ok(total)
}

/// Removes every device of these customers; how many there were. Part of every
/// erasure, archiving included: a token reaches the person.
pub fn delete_for_customers(conn: &mut DbConnection, workspace_id: i64, ids: &[i64]) -> StoreResult<i64> {
    let mut removed = 0;
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        removed += diesel::delete(
            devices::table
                .filter(devices::workspace_id.eq(workspace_id))
                .filter(devices::customer_id.eq_any(chunk)),
        )
        .execute(conn)? as i64;
    }
    Ok(removed)
}
