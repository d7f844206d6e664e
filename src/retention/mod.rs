//! Retention policies: per workspace, archive or delete the customers not seen for a
//! number of days, every day. Each change to a policy is one function with its
//! transaction and audit entry (`policies`); each run is an ordinary previewed job,
//! confirmed on the policy creator's behalf unless it must wait for the account owner
//! (`runs`); the schedule runs what is due and tells the owner what waits (`schedule`).

pub mod policies;
pub mod runs;
pub mod schedule;

use crate::erasure::ErasureError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("not found")]
    NotFound,
    /// The form's fields that cannot be used, each with its message.
    #[error("{0}")]
    Fields(crate::domain::RetentionErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Erasure(#[from] ErasureError),
}

impl From<diesel::result::Error> for RetentionError {
    fn from(err: diesel::result::Error) -> Self {
        RetentionError::Store(StoreError::Query(err))
    }
}

impl From<diesel::r2d2::PoolError> for RetentionError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        RetentionError::Store(StoreError::Pool(err))
    }
}

pub type RetentionResult<T> = Result<T, RetentionError>;
