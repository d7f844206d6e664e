//! Mails about requests running out of time: to the account owner and to whoever
//! recorded the request, once when it is seven days from its due date and once when it
//! becomes overdue. They name the request by number and date, never by the person.

use chrono::{Duration, NaiveDateTime};

use crate::db::{write_transaction, Database, DbConnection};
use crate::domain::data_request::{RequestStanding, DUE_SOON_DAYS};
use crate::mail::{Mailer, OutgoingMail};
use crate::store::{now, requests, users, workspaces, StoreError, StoreResult};

/// One mail to send.
#[derive(Debug, Clone)]
pub struct Reminder {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// The reminders due at `at`, each marked as sent in the same transaction (a mail that
/// then fails is logged, not sent twice).
pub fn take_due(conn: &mut DbConnection, at: NaiveDateTime, public_url: &str) -> StoreResult<Vec<Reminder>> {
    write_transaction(conn, |conn| {
        let mut reminders = Vec::new();
        for request in requests::open_due_by(conn, at + Duration::days(DUE_SOON_DAYS))? {
            let standing = request.standing(at);
            let (overdue, already) = match standing {
                RequestStanding::Overdue => (true, request.overdue_mailed_at.is_some()),
                RequestStanding::DueSoon => (false, request.due_soon_mailed_at.is_some()),
                _ => continue,
            };
            if already {
                continue;
            }
            if overdue {
                requests::mark_overdue_mailed(conn, request.id)?;
            } else {
                requests::mark_due_soon_mailed(conn, request.id)?;
            }
            let Some(workspace) = workspaces::find(conn, request.workspace_id)? else {
                continue;
            };
            let mut to: Vec<String> = Vec::new();
            if let Some(owner) = users::find_owner(conn)? {
                to.push(owner.email);
            }
            if let Some(recorder) = users::find(conn, request.created_by)? {
                if !to.contains(&recorder.email) {
                    to.push(recorder.email);
                }
            }
            let due = crate::format::second(request.due_at, crate::domain::TimeZone::UTC);
            let link = format!("{public_url}/w/{}/requests/{}", workspace.slug, request.id);
            let (subject, said) = if overdue {
                (
                    format!("Request #{} in {} is overdue", request.id, workspace.name),
                    format!("was due on {due} and is still open"),
                )
            } else {
                (
                    format!("Request #{} in {} is due in 7 days", request.id, workspace.name),
                    format!("is due on {due}"),
                )
            };
            for recipient in to {
                reminders.push(Reminder {
                    to: recipient,
                    subject: subject.clone(),
                    body: format!(
                        "Data-subject request #{} of workspace {} {said}.\n\nOpen it:\n{link}\n",
                        request.id, workspace.name
                    ),
                });
            }
        }
        Ok::<_, StoreError>(reminders)
    })
}

/// Sends what is due now.
pub async fn send_due(db: &Database, mailer: &Mailer, public_url: &str) -> Result<usize, StoreError> {
    let url = public_url.to_owned();
    let reminders = db.run(move |conn| take_due(conn, now(), &url)).await?;
    let count = reminders.len();
    for reminder in reminders {
        let mail = OutgoingMail {
            to: reminder.to,
            subject: reminder.subject,
            body: reminder.body,
        };
        if let Err(err) = mailer.send(mail).await {
            tracing::warn!(error = %err, "could not send a request reminder");
        }
    }
    Ok(count)
}
