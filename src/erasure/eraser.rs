//! Who erases, where, and with which key and journal: everything an erasure needs
//! besides the database connection, owned, so that a handler can build it from the
//! request and hand it to a blocking database call.

use crate::erasure::batch::ErasureScope;
use crate::erasure::journal::Journal;
use crate::secret::SecretKey;
use crate::store::audit::{Actor, RequestOrigin};
use crate::store::workspaces::Workspace;

#[derive(Clone)]
pub struct Eraser {
    pub workspace: Workspace,
    pub secret: SecretKey,
    pub journal: Journal,
    pub actor: Actor,
    pub origin: RequestOrigin,
}

impl Eraser {
    /// The person behind the erasure, recorded on anonymized profiles and jobs.
    pub fn by_user(&self) -> Option<i64> {
        match self.actor {
            Actor::User(id) => Some(id),
            _ => None,
        }
    }

    /// How the suppression list names who suppressed: an id, never a name.
    pub fn label(&self) -> String {
        match self.actor {
            Actor::User(id) => format!("user:{id}"),
            Actor::ApiKey(id) => format!("api_key:{id}"),
            Actor::System => "system".to_owned(),
            Actor::Anonymous => "anonymous".to_owned(),
        }
    }

    pub fn scope(&self) -> ErasureScope<'_> {
        ErasureScope {
            workspace: &self.workspace,
            secret: &self.secret,
            by_user: self.by_user(),
            actor_label: self.label(),
            journal: &self.journal,
        }
    }
}
