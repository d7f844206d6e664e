//! Runs the retention policies that are due, and mails the account owner of each run
//! that waits for them, with the link to its preview. Called every minute by the
//! server, and by `erasure retention run`.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::format::thousands;
use crate::mail::{Mailer, OutgoingMail};
use crate::retention::runs::{run_due, RunContext, RunOutcome};
use crate::retention::RetentionResult;
use crate::store::{users, workspaces};

/// Runs what is due at `now`, then tells the owner of every run that waits for them.
/// A mail that cannot be sent is logged: the preview waits on the policy's page anyway.
pub fn run_and_tell(
    conn: &mut DbConnection,
    context: &RunContext,
    mailer: &Mailer,
    public_url: &str,
    now: NaiveDateTime,
) -> RetentionResult<Vec<RunOutcome>> {
    let outcomes = run_due(conn, context, now)?;
    for outcome in &outcomes {
        let RunOutcome::WaitsForOwner {
            policy_id,
            workspace_id,
            job_id,
            customers,
            workspace_customers,
        } = outcome
        else {
            continue;
        };
        let (Some(owner), Some(workspace)) =
            (users::find_owner(conn)?, workspaces::find(conn, *workspace_id)?)
        else {
            tracing::warn!(policy = policy_id, "no account owner to confirm a retention run");
            continue;
        };
        let mail = OutgoingMail {
            to: owner.email.clone(),
            subject: format!(
                "A retention policy of {} waits for your confirmation (job #{job_id})",
                workspace.name
            ),
            body: format!(
                "Retention policy #{policy_id} of {workspace} would erase {customers} of the workspace's {total} customers.\n\n\
                 A run that touches that many waits for the account owner: nothing happens until you confirm it with your code.\n\n\
                 See exactly whom it touches, and confirm or discard it:\n{public_url}/w/{slug}/jobs/{job_id}\n\n\
                 The policy: {public_url}/w/{slug}/settings/retention/{policy_id}\n",
                workspace = workspace.name,
                customers = thousands(*customers),
                total = thousands(*workspace_customers),
                slug = workspace.slug,
            ),
        };
        if let Err(err) = mailer.send_blocking(&mail) {
            tracing::warn!(policy = policy_id, error = %err, "could not mail the owner about a retention run");
        }
    }
    Ok(outcomes)
}
