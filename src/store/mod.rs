//! Every query, one file per table family. Functions are synchronous and take the
//! connection; callers run them off the async threads.

pub mod audit;
pub mod customers;
mod error;
pub mod login_throttles;
pub mod memberships;
pub mod roles;
pub mod sessions;
pub mod users;
pub mod workspaces;

pub use error::{StoreError, StoreResult};

use chrono::{NaiveDateTime, SubsecRound, Utc};

/// The current UTC time, at the microsecond precision both backends store.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}
