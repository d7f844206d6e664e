//! The account owner's one-time code, which unlocks the erasures that could empty a
//! workspace: "Delete all", and any bulk erasure whose frozen set is the whole
//! workspace or larger than the workspace's threshold.
//!
//! The person who asks types the workspace's name (delete all) or presses "Send the
//! code" (a previewed job); a six-digit code goes by email to the account owner,
//! whoever asked. It lives ten minutes, allows five tries, works once, and only for
//! the person, browser session, workspace and action it was made for. The owner may
//! type their authenticator code instead, under the same expiry and binding. Each
//! person may ask for three codes in fifteen minutes.

use chrono::Duration;

use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, JobKind, JobState, OtpCode};
use crate::erasure::eraser::Eraser;
use crate::erasure::preview::{create_preview, Selection};
use crate::erasure::ErasureError;
use crate::mail::OutgoingMail;
use crate::store::audit::{self, NewEntry};
use crate::store::jobs::{self, Job};
use crate::store::otp::{self, Challenge, NewChallenge};
use crate::store::users::User;
use crate::store::{customers, now, StoreError};

pub const CODE_LIFETIME_MINUTES: i64 = 10;
pub const CODES_PER_WINDOW: i64 = 3;
pub const WINDOW_MINUTES: i64 = 15;

/// What a code unlocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// Delete every customer of the workspace, frozen when the code is accepted.
    DeleteAll,
    /// Confirm this previewed job, whose set was frozen at its preview.
    ConfirmJob(i64),
}

impl CodePurpose {
    /// The challenge's `purpose`, part of what the code is bound to.
    fn key(self) -> String {
        match self {
            CodePurpose::DeleteAll => "delete_all".to_owned(),
            CodePurpose::ConfirmJob(job_id) => format!("job:{job_id}"),
        }
    }
}

/// Who asks for or types a code, in which browser session.
pub struct CodeHolder<'a> {
    pub eraser: &'a Eraser,
    pub user: &'a User,
    /// A random value kept in the person's session: a code asked for in one browser
    /// is worthless in another.
    pub session_nonce: &'a str,
}

impl CodeHolder<'_> {
    /// What a code is bound to, hashed together with it: a code for another person,
    /// session, workspace or action hashes differently and is worthless there.
    fn code_hash(&self, purpose: CodePurpose, code: &OtpCode) -> String {
        let bound = format!(
            "{}:{}:{}:{}:{}",
            purpose.key(),
            self.eraser.workspace.id,
            self.user.id,
            self.session_nonce,
            code.as_str()
        );
        self.eraser.secret.digest("otp", bound.as_bytes())
    }

    fn session_digest(&self) -> String {
        self.eraser
            .secret
            .digest("otp-session", self.session_nonce.as_bytes())
    }
}

/// Why a code was not sent.
#[derive(Debug, thiserror::Error)]
pub enum CodeRequestError {
    #[error("{CODES_PER_WINDOW} codes were already sent at your request in the last {WINDOW_MINUTES} minutes. Wait, then try again.")]
    TooMany,
    #[error(transparent)]
    Erasure(#[from] ErasureError),
}

impl From<StoreError> for CodeRequestError {
    fn from(err: StoreError) -> Self {
        CodeRequestError::Erasure(err.into())
    }
}

impl From<diesel::r2d2::PoolError> for CodeRequestError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        CodeRequestError::Erasure(err.into())
    }
}

impl From<diesel::result::Error> for CodeRequestError {
    fn from(err: diesel::result::Error) -> Self {
        CodeRequestError::Erasure(err.into())
    }
}

/// A code made and recorded; the mail to the owner is for the caller to send.
pub struct SentCode {
    pub owner: User,
    pub challenge: Challenge,
    pub mail: OutgoingMail,
}

/// Makes a code for `purpose` and records its challenge, with an audit entry naming
/// who it goes to (by id). For a job, only a preview of this workspace that waits for
/// the owner's code can have one.
pub fn request_code(
    conn: &mut DbConnection,
    holder: &CodeHolder<'_>,
    purpose: CodePurpose,
) -> Result<SentCode, CodeRequestError> {
    let code = OtpCode::generate();
    let hash = holder.code_hash(purpose, &code);
    let session_digest = holder.session_digest();
    let workspace = &holder.eraser.workspace;
    write_transaction(conn, |conn| -> Result<SentCode, CodeRequestError> {
        let since = now() - Duration::minutes(WINDOW_MINUTES);
        if otp::count_asked_by(conn, holder.user.id, since)? >= CODES_PER_WINDOW {
            return Err(CodeRequestError::TooMany);
        }
        let what = match purpose {
            CodePurpose::DeleteAll => {
                let customers = customers::count_all(conn, workspace.id)?;
                format!(
                    "delete every customer of workspace {} ({})",
                    workspace.name,
                    count_words(customers)
                )
            }
            CodePurpose::ConfirmJob(job_id) => {
                let job = waiting_job(conn, workspace.id, job_id)?;
                format!(
                    "{} {} of workspace {} (job #{job_id})",
                    job.kind.label().to_lowercase(),
                    count_words(job.total),
                    workspace.name
                )
            }
        };
        let owner = crate::store::users::find_owner(conn)?
            .ok_or_else(|| StoreError::Inconsistent("the account has no owner".into()))?;
        let challenge = otp::insert(
            conn,
            NewChallenge {
                workspace_id: workspace.id,
                user_id: holder.user.id,
                session_digest: &session_digest,
                purpose: &purpose.key(),
                code_hash: &hash,
                lifetime: Duration::minutes(CODE_LIFETIME_MINUTES),
            },
        )?;
        audit::append(
            conn,
            NewEntry::new(holder.eraser.actor, AuditAction::CodeSent, &holder.eraser.origin)
                .workspace(workspace.id)
                .target(format!("otp_challenge:{}", challenge.id))
                .details(serde_json::json!({
                    "purpose": purpose.key(),
                    "sent_to": format!("user:{}", owner.id),
                })),
        )?;
        let mail = OutgoingMail {
            to: owner.email.clone(),
            subject: match purpose {
                CodePurpose::DeleteAll => format!("Code to delete all customers of {}", workspace.name),
                CodePurpose::ConfirmJob(_) => format!("Code to confirm an erasure in {}", workspace.name),
            },
            body: format!(
                "{} asked to {what}.\n\n\
                 Code: {}\n\n\
                 It works once, for this request only, until {} ({CODE_LIFETIME_MINUTES} minutes).\n\
                 If you did not expect this, do not share the code: without it nothing is erased.\n",
                holder.user.name,
                code.as_str(),
                crate::format::minute(challenge.expires_at, owner.time_zone),
            ),
        };
        Ok(SentCode {
            owner,
            challenge,
            mail,
        })
    })
}

/// What typing a code led to.
#[derive(Debug)]
pub enum CodeOutcome {
    /// Accepted: this job is queued.
    Started(Box<Job>),
    /// Wrong; this many tries are left.
    Wrong(i32),
    /// No tries left: a new code is needed.
    Locked,
    Expired,
    /// No code was asked for here (or it was used already).
    NoChallenge,
}

/// Checks a typed code against the newest open challenge of this person, session,
/// workspace and purpose and, when it is right, starts the erasure it unlocks in the
/// same transaction. Every try, the emailed code or the owner's authenticator code,
/// takes one of the challenge's five before it is checked, and both are refused once
/// the challenge expired.
pub fn enter_code(
    conn: &mut DbConnection,
    holder: &CodeHolder<'_>,
    purpose: CodePurpose,
    typed: &str,
    suppress: bool,
) -> Result<CodeOutcome, ErasureError> {
    let parsed = OtpCode::parse(typed);
    let hash = parsed.as_ref().map(|code| holder.code_hash(purpose, code));
    let session_digest = holder.session_digest();
    let eraser = holder.eraser;
    let user = holder.user;
    write_transaction(conn, |conn| -> Result<CodeOutcome, ErasureError> {
        let Some(challenge) = otp::latest_open(
            conn,
            eraser.workspace.id,
            user.id,
            &session_digest,
            &purpose.key(),
        )?
        else {
            return Ok(CodeOutcome::NoChallenge);
        };
        // A count read before the check would let parallel guesses all through.
        let Some(attempts) = otp::claim_attempt(conn, challenge.id)? else {
            return Ok(CodeOutcome::Locked);
        };
        if challenge.is_expired(now()) {
            return Ok(CodeOutcome::Expired);
        }
        let by_emailed_code = hash
            .as_deref()
            .is_some_and(|h| constant_time_eq(h, &challenge.code_hash));
        // The owner's authenticator stands in for the mailed code (each step once).
        let by_authenticator = !by_emailed_code
            && user.is_owner
            && user.has_totp()
            && crate::accounts::second_factor::verify(conn, user, typed, &eraser.secret, &eraser.origin)?;
        if !by_emailed_code && !by_authenticator {
            audit::append(
                conn,
                NewEntry::new(eraser.actor, AuditAction::CodeFailed, &eraser.origin)
                    .workspace(eraser.workspace.id)
                    .target(format!("otp_challenge:{}", challenge.id))
                    .details(serde_json::json!({ "attempts": attempts })),
            )?;
            return Ok(if attempts >= otp::MAX_ATTEMPTS {
                CodeOutcome::Locked
            } else {
                CodeOutcome::Wrong(otp::MAX_ATTEMPTS - attempts)
            });
        }
        if !otp::mark_used(conn, challenge.id)? {
            return Ok(CodeOutcome::NoChallenge);
        }
        audit::append(
            conn,
            NewEntry::new(eraser.actor, AuditAction::CodeAccepted, &eraser.origin)
                .workspace(eraser.workspace.id)
                .target(format!("otp_challenge:{}", challenge.id))
                .details(serde_json::json!({
                    "purpose": purpose.key(),
                    "by_authenticator": by_authenticator,
                })),
        )?;
        let job = match purpose {
            CodePurpose::DeleteAll => create_preview(
                conn,
                &eraser.workspace,
                user.id,
                JobKind::DeleteAll,
                &Selection::All,
            )?,
            CodePurpose::ConfirmJob(job_id) => waiting_job(conn, eraser.workspace.id, job_id)?,
        };
        crate::erasure::confirm::queue(conn, eraser, &job, suppress)?;
        Ok(CodeOutcome::Started(Box::new(jobs::get(conn, job.id)?)))
    })
}

/// A previewed job of this workspace, its set frozen, that waits for the owner's code.
fn waiting_job(conn: &mut DbConnection, workspace_id: i64, job_id: i64) -> Result<Job, ErasureError> {
    match jobs::find(conn, workspace_id, job_id)? {
        Some(job) if job.state == JobState::Preview && job.freezing => Err(ErasureError::NotFrozen),
        Some(job) if job.state == JobState::Preview && job.needs_owner_code => Ok(job),
        Some(_) => Err(ErasureError::Refused(
            "This job was already started or discarded, or does not need a code.".into(),
        )),
        None => Err(ErasureError::NotFound),
    }
}

fn count_words(n: i64) -> String {
    crate::format::count(n, "customer", "customers")
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The most a threshold may be: beyond it the setting would mean "never".
pub const MAX_THRESHOLD: i64 = 1_000_000_000;

/// Sets above how many customers a bulk erasure of this workspace needs the owner's
/// code (`None`: the default). Only the account owner may, because raising it lets
/// others erase more without them; the caller checks who asks.
pub fn set_threshold(
    conn: &mut DbConnection,
    eraser: &Eraser,
    threshold: Option<i64>,
) -> Result<(), ErasureError> {
    if threshold.is_some_and(|t| !(1..=MAX_THRESHOLD).contains(&t)) {
        return Err(ErasureError::Refused(format!(
            "Enter a whole number from 1 to {}, or leave it empty for the default.",
            crate::format::thousands(MAX_THRESHOLD)
        )));
    }
    write_transaction(conn, |conn| {
        if !crate::store::workspaces::set_owner_code_threshold(conn, eraser.workspace.id, threshold)? {
            return Err(ErasureError::WorkspaceGone);
        }
        audit::append(
            conn,
            NewEntry::new(eraser.actor, AuditAction::WorkspaceUpdated, &eraser.origin)
                .workspace(eraser.workspace.id)
                .target(format!("workspace:{}", eraser.workspace.id))
                .details(serde_json::json!({ "owner_code_threshold": threshold })),
        )?;
        Ok(())
    })
}
