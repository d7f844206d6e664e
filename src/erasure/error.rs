use crate::store::customer_writes::WriteError;
use crate::store::StoreError;

/// What can stop an erasure, or a change around one (a suppression, a job's
/// confirmation, a legal hold). Nothing was changed when one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the customer does not exist")]
    NotFound,
    #[error("more than one customer has that email address")]
    Ambiguous,
    #[error("the customer is under legal hold")]
    Held,
    #[error("the job's lease passed to another server")]
    LostLease,
    #[error("the job's workspace no longer exists")]
    WorkspaceGone,
    #[error("nothing matches this selection")]
    EmptySelection,
    /// A rule forbids it; the message says which, in plain words.
    #[error("{0}")]
    Refused(String),
    /// Erasing every customer, or more than the workspace's threshold, waits for the
    /// account owner's one-time code.
    #[error("this erasure needs the account owner's code")]
    NeedsOwnerCode,
    /// A preview whose set is still being frozen: confirming it would erase part of
    /// what it shows.
    #[error("the preview's set is still being frozen")]
    NotFrozen,
}

impl From<diesel::result::Error> for ErasureError {
    fn from(err: diesel::result::Error) -> Self {
        ErasureError::Store(StoreError::Query(err))
    }
}

impl From<diesel::r2d2::PoolError> for ErasureError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        ErasureError::Store(StoreError::Pool(err))
    }
}

impl From<WriteError> for ErasureError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::LegalHold => ErasureError::Held,
            WriteError::NotFound => ErasureError::NotFound,
            WriteError::Ambiguous => ErasureError::Ambiguous,
            WriteError::Store(err) => ErasureError::Store(err),
            other => ErasureError::Store(StoreError::Inconsistent(other.to_string())),
        }
    }
}
