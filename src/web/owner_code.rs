//! Asking for and typing the account owner's code, from the delete-all pages and from a
//! previewed job's page alike: the request's person and browser session become the
//! code's holder, and the outcomes become messages.

use super::extractors::WorkspaceAccess;
use super::jobs::plural;
use super::session::{FlashKind, TypedSession};
use super::state::AppState;
use super::WebError;
use crate::erasure::owner_code::{self, CodeHolder, CodeOutcome, CodePurpose, CodeRequestError};
use crate::erasure::ErasureError;

/// Makes a code for `purpose`, mails it to the account owner, and says to whom it went.
pub async fn send(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    purpose: CodePurpose,
) -> Result<String, WebError> {
    let nonce = session.nonce().ok_or(WebError::SignInRequired)?;
    let eraser = access.eraser(state);
    let user = access.user.user.clone();
    let sent = state
        .db
        .run(move |conn| {
            let holder = CodeHolder {
                eraser: &eraser,
                user: &user,
                session_nonce: &nonce,
            };
            owner_code::request_code(conn, &holder, purpose)
        })
        .await
        .map_err(|err| match err {
            CodeRequestError::TooMany => WebError::TooManyRequests(err.to_string()),
            CodeRequestError::Erasure(err) => err.into(),
        })?;
    state.mailer.send(sent.mail).await.map_err(WebError::internal)?;
    let to_whom = if sent.owner.id == access.user.user.id {
        "to your email address".to_owned()
    } else {
        format!("to the account owner, {}", sent.owner.name)
    };
    Ok(format!(
        "A code was sent {to_whom}. It expires in {} minutes.",
        owner_code::CODE_LIFETIME_MINUTES
    ))
}

/// Checks a typed code for `purpose` and, when it is right, starts what it unlocks.
pub async fn enter(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    purpose: CodePurpose,
    typed: String,
    suppress: bool,
) -> Result<CodeOutcome, ErasureError> {
    let Some(nonce) = session.nonce() else {
        return Ok(CodeOutcome::NoChallenge);
    };
    let eraser = access.eraser(state);
    let user = access.user.user.clone();
    let outcome = state
        .db
        .run(move |conn| {
            let holder = CodeHolder {
                eraser: &eraser,
                user: &user,
                session_nonce: &nonce,
            };
            owner_code::enter_code(conn, &holder, purpose, &typed, suppress)
        })
        .await?;
    if let CodeOutcome::Started(_) = outcome {
        state.jobs.wake();
    }
    Ok(outcome)
}

/// What to tell the person after they typed a code.
pub fn message(outcome: &CodeOutcome) -> (FlashKind, String) {
    match outcome {
        CodeOutcome::Started(job) => (
            FlashKind::Info,
            format!(
                "Code accepted. {} job #{} started for {}.",
                job.kind.label(),
                job.id,
                plural(job.total, "customer", "customers")
            ),
        ),
        CodeOutcome::Wrong(left) => (
            FlashKind::Error,
            format!(
                "That code is not right. {} left.",
                plural(i64::from(*left), "attempt", "attempts")
            ),
        ),
        CodeOutcome::Locked => (
            FlashKind::Error,
            "Too many wrong codes: this code no longer works. Send a new one.".to_owned(),
        ),
        CodeOutcome::Expired => (FlashKind::Error, "This code has expired. Send a new one.".to_owned()),
        CodeOutcome::NoChallenge => (
            FlashKind::Error,
            "There is no code waiting for you here. Send a code first (it works only in the browser session that asked for it).".to_owned(),
        ),
    }
}
