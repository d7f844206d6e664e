use crate::store::StoreError;

/// What can stop an erasure.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the customer does not exist")]
    NotFound,
    #[error("the customer is under legal hold")]
    Held,
    #[error("the job's lease passed to another server")]
    LostLease,
    #[error("the job's workspace no longer exists")]
    WorkspaceGone,
    #[error("nothing matches this selection")]
    EmptySelection,
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
