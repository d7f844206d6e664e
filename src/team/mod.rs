//! Team changes: roles, invitations, members and ownership, with the rules that keep
//! the account manageable. There is always an owner who can sign in, and nobody can
//! hand out (or take away) more than they hold themselves: a custom role with
//! `team.manage` alone cannot make anyone an admin, itself included.

mod invitations;
mod members;
mod ownership;
mod roles;
mod sessions;
mod workspaces;

pub use invitations::{accept_invitation, invite, revoke_invitation, Accepted, NewAccount, INVITATION_DAYS};
pub use members::{change_role, remove_member, set_account_admin, set_disabled};
pub use ownership::transfer_ownership;
pub use roles::{create_role, delete_role, update_role};
pub use sessions::sign_out_member;
pub use workspaces::create_workspace;

use crate::domain::PermissionSet;
use crate::store::audit::{Actor, RequestOrigin};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// The member, role or invitation does not exist here (or is out of reach).
    #[error("not found")]
    NotFound,
    /// A rule forbids the change; the message says which, in plain words.
    #[error("{0}")]
    Refused(String),
    /// One form field's value cannot be used; the message goes next to that field.
    #[error("{field}: {message}")]
    Field { field: &'static str, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for TeamError {
    fn from(err: diesel::result::Error) -> Self {
        TeamError::Store(StoreError::Query(err))
    }
}

impl From<diesel::r2d2::PoolError> for TeamError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        TeamError::Store(StoreError::Pool(err))
    }
}

pub type TeamResult<T> = Result<T, TeamError>;

/// What someone may do beyond the workspaces they are members of. Disabling, enabling
/// or signing out a person ends their access to every workspace, and creating a
/// workspace makes its creator an admin of something new: neither is a workspace's to
/// decide, so both need account-wide power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountPower {
    /// Only what their role in each workspace gives them.
    None,
    /// An account admin: named by the owner, account-wide power short of ownership.
    Admin,
    /// The account owner.
    Owner,
}

impl AccountPower {
    pub fn of(user: &crate::store::users::User) -> AccountPower {
        if user.is_owner {
            AccountPower::Owner
        } else if user.is_account_admin {
            AccountPower::Admin
        } else {
            AccountPower::None
        }
    }

    pub fn is_account_wide(self) -> bool {
        self != AccountPower::None
    }
}

/// Who makes a team change, from which workspace, holding which permissions there.
#[derive(Debug, Clone)]
pub struct Manager {
    pub user_id: i64,
    pub workspace_id: i64,
    pub permissions: PermissionSet,
    pub account_power: AccountPower,
    pub origin: RequestOrigin,
}

impl Manager {
    pub fn actor(&self) -> Actor {
        Actor::User(self.user_id)
    }

    /// Refuses a change that reaches beyond this workspace unless the manager holds
    /// account-wide power.
    fn require_account_power(&self) -> TeamResult<()> {
        if self.account_power.is_account_wide() {
            Ok(())
        } else {
            Err(TeamError::Refused(ACCOUNT_WIDE.into()))
        }
    }

    /// Whether this manager holds every permission of `set`, and so may grant it,
    /// take it away, or act on someone who holds it.
    pub fn reaches(&self, set: &PermissionSet) -> bool {
        set.is_subset(&self.permissions)
    }
}

const OUT_OF_REACH: &str =
    "You can only give, change or take away roles whose permissions you hold yourself.";

const ACCOUNT_WIDE: &str = "Only the account owner and account admins can do this: it reaches beyond this workspace. You can remove the person from this workspace instead.";

/// Permission keys for an audit entry: never names or addresses.
fn permission_keys(set: &PermissionSet) -> Vec<&'static str> {
    set.iter().map(|p| p.key()).collect()
}
