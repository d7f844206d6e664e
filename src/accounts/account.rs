//! Who acts on an account, and how an account change can fail.

use chrono::NaiveDateTime;

use crate::store::audit::{Actor, RequestOrigin};
use crate::store::StoreError;

/// A person acting on their own account (signing in, or changing their own security
/// settings), and where the request came from.
#[derive(Debug, Clone)]
pub struct Account {
    pub user_id: i64,
    pub origin: RequestOrigin,
}

impl Account {
    pub fn new(user_id: i64, origin: RequestOrigin) -> Account {
        Account { user_id, origin }
    }

    pub fn actor(&self) -> Actor {
        Actor::User(self.user_id)
    }

    pub fn target(&self) -> String {
        format!("user:{}", self.user_id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The password, the code or the account did not check out. One answer for all of
    /// them, so a refusal tells a guesser nothing about which one was wrong.
    #[error("refused")]
    Refused,
    /// Too many failed attempts: the account name is locked until then.
    #[error("too many failed attempts")]
    Throttled(NaiveDateTime),
    /// The authenticator code was right, but its time step was already used.
    #[error("that code was already used")]
    Replayed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for AccountError {
    fn from(err: diesel::result::Error) -> Self {
        AccountError::Store(StoreError::Query(err))
    }
}

impl From<diesel::r2d2::PoolError> for AccountError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        AccountError::Store(StoreError::Pool(err))
    }
}

pub type AccountResult<T> = Result<T, AccountError>;
