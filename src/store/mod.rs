//! Every query, one file per table family. Functions are synchronous and take the
//! connection; callers run them off the async threads.

pub mod anonymized;
pub mod anonymous_events;
pub mod api_keys;
pub mod audit;
pub mod bulk_load;
pub mod customer_batch;
pub mod customer_merge;
pub mod customer_writes;
pub mod customers;
pub mod destinations;
pub mod devices;
pub mod erasures;
mod error;
pub mod events;
pub mod exports;
pub mod import_rows;
pub mod invitations;
pub mod jobs;
pub mod login_throttles;
pub mod maintenance;
pub mod memberships;
pub mod otp;
pub mod outbox;
pub mod password_resets;
mod prepared_sql;
pub mod requests;
pub mod retention_policies;
pub mod roles;
pub mod sessions;
pub mod sign_in_addresses;
pub mod sign_in_tallies;
pub mod suppressions;
pub mod tallies;
mod trigram_plan;
mod trigram_sample;
pub mod users;
pub mod workspaces;

pub use error::{StoreError, StoreResult};

use chrono::{NaiveDateTime, SubsecRound, Utc};

/// The current UTC time, at the microsecond precision both backends store.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}
