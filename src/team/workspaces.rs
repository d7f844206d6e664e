//! Adding a workspace to the account.

use super::{AccountPower, TeamError, TeamResult};
use crate::accounts;
use crate::db::{write_transaction, DbConnection};
use crate::domain::WorkspaceName;
use crate::store::audit::RequestOrigin;
use crate::store::workspaces::Workspace;
use crate::store::{self};

/// Creates a workspace with `creator_id` as its owner-level member. Whoever creates a
/// workspace administers it, so only the account owner and account admins may: anyone
/// else could make themselves an admin of something new. The creator is read again
/// inside the transaction, so a power taken away a moment ago is already gone.
pub fn create_workspace(
    conn: &mut DbConnection,
    creator_id: i64,
    name: &WorkspaceName,
    origin: &RequestOrigin,
) -> TeamResult<Workspace> {
    write_transaction(conn, |conn| {
        let creator = store::users::find(conn, creator_id)?
            .filter(|user| !user.disabled)
            .ok_or(TeamError::NotFound)?;
        if !AccountPower::of(&creator).is_account_wide() {
            return Err(TeamError::Refused(
                "Only the account owner and account admins can create workspaces.".into(),
            ));
        }
        Ok(accounts::add_workspace(conn, &creator, name, origin)?)
    })
}
