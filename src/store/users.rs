use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{now, StoreResult};
use crate::db::schema::users;
use crate::db::DbConnection;
use crate::domain::TimeZone;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub is_owner: bool,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<i64>,
    pub recovery_codes: String,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    /// Granted (and taken back) by the account owner only; see [`User::has_account_power`].
    pub is_account_admin: bool,
    /// The zone this person reads times in; UTC until they choose one.
    #[diesel(deserialize_as = String)]
    pub time_zone: TimeZone,
}

impl User {
    pub fn has_totp(&self) -> bool {
        self.totp_secret.is_some()
    }

    /// Whether this person may do what reaches across the whole account: create
    /// workspaces, disable, enable or sign out other people, and read account-level
    /// audit entries of people outside the workspace in view. The owner, and the
    /// account admins the owner named.
    pub fn has_account_power(&self) -> bool {
        self.is_owner || self.is_account_admin
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub is_owner: bool,
    pub created_at: NaiveDateTime,
}

pub fn count(conn: &mut DbConnection) -> StoreResult<i64> {
    Ok(users::table.count().get_result(conn)?)
}

pub fn insert(conn: &mut DbConnection, new: &NewUser<'_>) -> StoreResult<User> {
    diesel::insert_into(users::table).values(new).execute(conn)?;
    find_by_email(conn, new.email)?
        .ok_or_else(|| super::StoreError::Inconsistent("a user just inserted cannot be found".into()))
}

pub fn find(conn: &mut DbConnection, id: i64) -> StoreResult<Option<User>> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> StoreResult<Option<User>> {
    // No stored address holds NUL (addresses are parsed before they are stored), and
    // PostgreSQL refuses it as a parameter: what a sign-in form sends may hold anything.
    if email.contains('\0') {
        return Ok(None);
    }
    Ok(users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_owner(conn: &mut DbConnection) -> StoreResult<Option<User>> {
    Ok(users::table
        .filter(users::is_owner.eq(true))
        .order(users::id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn set_disabled(conn: &mut DbConnection, id: i64, disabled: bool) -> StoreResult<bool> {
    let changed = diesel::update(users::table.find(id))
        .set(users::disabled.eq(disabled))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Sets the zone the person reads times in. True when it changed.
pub fn set_time_zone(conn: &mut DbConnection, id: i64, zone: TimeZone) -> StoreResult<bool> {
    let changed = diesel::update(users::table.find(id).filter(users::time_zone.ne(zone.name())))
        .set(users::time_zone.eq(zone.name()))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn set_password_hash(conn: &mut DbConnection, id: i64, hash: &str) -> StoreResult<()> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)?;
    Ok(())
}

/// Records that TOTP time step `step` was used, only if it is later than the last one.
/// Returns false when the step (or a later one) was already used: a replayed code.
pub fn consume_totp_step(conn: &mut DbConnection, id: i64, step: i64) -> StoreResult<bool> {
    let changed = diesel::update(
        users::table
            .find(id)
            .filter(users::totp_last_step.is_null().or(users::totp_last_step.lt(step))),
    )
    .set(users::totp_last_step.eq(step))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn set_totp(
    conn: &mut DbConnection,
    id: i64,
    secret: Option<&str>,
    recovery_codes: &str,
) -> StoreResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::totp_secret.eq(secret),
            users::recovery_codes.eq(recovery_codes),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces the stored recovery codes only if they are still `expected`, so that two
/// requests using the same recovery code cannot both succeed.
pub fn swap_recovery_codes(
    conn: &mut DbConnection,
    id: i64,
    expected: &str,
    replacement: &str,
) -> StoreResult<bool> {
    let changed = diesel::update(users::table.find(id).filter(users::recovery_codes.eq(expected)))
        .set(users::recovery_codes.eq(replacement))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn new_user<'a>(email: &'a str, name: &'a str, password_hash: &'a str, is_owner: bool) -> NewUser<'a> {
    NewUser {
        email,
        name,
        password_hash,
        is_owner,
        created_at: now(),
    }
}

pub fn set_owner(conn: &mut DbConnection, id: i64, is_owner: bool) -> StoreResult<bool> {
    let changed = diesel::update(users::table.find(id))
        .set(users::is_owner.eq(is_owner))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn set_account_admin(conn: &mut DbConnection, id: i64, is_account_admin: bool) -> StoreResult<bool> {
    let changed = diesel::update(users::table.find(id))
        .set(users::is_account_admin.eq(is_account_admin))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Owners who can still sign in: the account must always keep at least one.
pub fn count_enabled_owners(conn: &mut DbConnection) -> StoreResult<i64> {
    Ok(users::table
        .filter(users::is_owner.eq(true))
        .filter(users::disabled.eq(false))
        .count()
        .get_result(conn)?)
}

/// Display names of the given users, for labelling ids on a page.
pub fn names_by_id(conn: &mut DbConnection, ids: &[i64]) -> StoreResult<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::name))
        .load(conn)?)
}
