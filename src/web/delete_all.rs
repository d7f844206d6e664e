//! Delete all: the most dangerous button, made the safest. The person types the
//! workspace's name, a one-time code goes to the account owner (whoever asked), and
//! only that code, within ten minutes, in this sign-in, for this workspace and this
//! action, starts the job; the owner may use their authenticator instead.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::Duration;
use serde::Deserialize;

use super::extractors::{perm, Authorized, WorkspaceAccess};
use super::jobs::{plural, thousands};
use super::layout::{render, render_with_status, see_other, Layout, Section};
use super::session::{FlashKind, TypedSession};
use super::state::AppState;
use super::WebError;
use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, JobKind, OtpCode};
use crate::erasure::preview::{create_preview, Selection};
use crate::erasure::ErasureError;
use crate::mail::OutgoingMail;
use crate::store::audit::{self, NewEntry};
use crate::store::otp::{self, NewChallenge};
use crate::store::{customers, jobs, users, StoreError};

const PURPOSE: &str = "delete_all";
const CODE_LIFETIME_MINUTES: i64 = 10;
const CODES_PER_WINDOW: i64 = 3;
const WINDOW_MINUTES: i64 = 15;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/w/{workspace}/customers/delete-all")
            .route(web::get().to(start))
            .route(web::post().to(send_code)),
    )
    .service(
        web::resource("/w/{workspace}/customers/delete-all/confirm")
            .route(web::get().to(code_form))
            .route(web::post().to(confirm)),
    );
}

/// What a code is bound to, hashed together with it: a code for another person,
/// sign-in, workspace or action hashes differently and is worthless there.
fn code_hash(state: &AppState, access: &WorkspaceAccess, nonce: &str, code: &OtpCode) -> String {
    let bound = format!(
        "{PURPOSE}:{}:{}:{}:{}",
        access.workspace.id,
        access.user.user.id,
        nonce,
        code.as_str()
    );
    state.secret.digest("otp", bound.as_bytes())
}

fn session_digest(state: &AppState, nonce: &str) -> String {
    state.secret.digest("otp-session", nonce.as_bytes())
}

fn nonce(session: &TypedSession) -> Result<String, WebError> {
    session.nonce().ok_or(WebError::SignInRequired)
}

#[derive(Template)]
#[template(path = "customers/delete_all.html")]
struct StartPage {
    layout: Layout,
    base: String,
    workspace_name: String,
    customers: String,
    events: String,
    typed: String,
    error: Option<String>,
}

async fn counts(state: &AppState, workspace_id: i64) -> Result<(i64, i64), WebError> {
    Ok(state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            Ok((
                customers::count_all(conn, workspace_id)?,
                crate::store::erasures::count_workspace_events(conn, workspace_id)?,
            ))
        })
        .await?)
}

async fn start_page(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    typed: String,
    error: Option<String>,
) -> Result<StartPage, WebError> {
    let (customers, events) = counts(state, access.workspace.id).await?;
    Ok(StartPage {
        layout: Layout::workspace("Delete all customers", Section::Customers, session, access),
        base: access.base(),
        workspace_name: access.workspace.name.clone(),
        customers: thousands(customers),
        events: thousands(events),
        typed,
        error,
    })
}

async fn start(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersDeleteAll>,
) -> Result<HttpResponse, WebError> {
    render(&start_page(&state, &session, &access, String::new(), None).await?)
}

#[derive(Debug, Deserialize)]
struct NameForm {
    #[serde(default)]
    workspace_name: String,
}

async fn send_code(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersDeleteAll>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, WebError> {
    let typed = form.workspace_name.trim().to_owned();
    if typed != access.workspace.name {
        let page = start_page(
            &state,
            &session,
            &access,
            typed,
            Some("That is not this workspace's name. Type it exactly as shown.".into()),
        )
        .await?;
        return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let nonce = nonce(&session)?;
    let code = OtpCode::generate();
    let hash = code_hash(&state, &access, &nonce, &code);
    let session_digest = session_digest(&state, &nonce);
    let workspace_id = access.workspace.id;
    let user_id = access.user.user.id;
    let actor = access.actor();
    let origin = access.origin.clone();
    let sent = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<_, StoreError> {
                let since = crate::store::now() - Duration::minutes(WINDOW_MINUTES);
                if otp::count_since(conn, workspace_id, PURPOSE, since)? >= CODES_PER_WINDOW {
                    return Ok(None);
                }
                let owner = users::find_owner(conn)?
                    .ok_or_else(|| StoreError::Inconsistent("the account has no owner".into()))?;
                let challenge = otp::insert(
                    conn,
                    NewChallenge {
                        workspace_id,
                        user_id,
                        session_digest: &session_digest,
                        purpose: PURPOSE,
                        code_hash: &hash,
                        lifetime: Duration::minutes(CODE_LIFETIME_MINUTES),
                    },
                )?;
                audit::append(
                    conn,
                    NewEntry::new(actor, AuditAction::CodeSent, &origin)
                        .workspace(workspace_id)
                        .target(format!("otp_challenge:{}", challenge.id))
                        .details(serde_json::json!({ "purpose": PURPOSE, "sent_to": format!("user:{}", owner.id) })),
                )?;
                let customers = customers::count_all(conn, workspace_id)?;
                Ok(Some((owner, challenge, customers)))
            })
        })
        .await?;
    let Some((owner, challenge, customer_count)) = sent else {
        return Err(WebError::TooManyRequests(format!(
            "{CODES_PER_WINDOW} codes were already sent for this workspace in the last {WINDOW_MINUTES} minutes. Wait, then try again."
        )));
    };
    let mail = OutgoingMail {
        to: owner.email.clone(),
        subject: format!("Code to delete all customers of {}", access.workspace.name),
        body: format!(
            "{} asked to delete every customer of workspace {} ({}).\n\n\
             Code: {}\n\n\
             It works once, for this request only, until {} UTC ({} minutes).\n\
             If you did not expect this, do not share the code: without it nothing is deleted.\n",
            access.user.user.name,
            access.workspace.name,
            plural(customer_count, "customer", "customers"),
            code.as_str(),
            challenge.expires_at.format("%Y-%m-%d %H:%M"),
            CODE_LIFETIME_MINUTES,
        ),
    };
    state.mailer.send(mail).await.map_err(WebError::internal)?;
    let to_whom = if owner.id == access.user.user.id {
        "to your email address".to_owned()
    } else {
        format!("to the account owner, {}", owner.name)
    };
    session.flash(
        FlashKind::Info,
        format!("A code was sent {to_whom}. It expires in {CODE_LIFETIME_MINUTES} minutes."),
    );
    Ok(see_other(format!(
        "{}/customers/delete-all/confirm",
        access.base()
    )))
}

#[derive(Template)]
#[template(path = "customers/delete_all_code.html")]
struct CodePage {
    layout: Layout,
    base: String,
    workspace_name: String,
    customers: String,
    owner_may_use_totp: bool,
    error: Option<String>,
}

async fn code_page(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    error: Option<String>,
) -> Result<CodePage, WebError> {
    let (customers, _) = counts(state, access.workspace.id).await?;
    let user = &access.user.user;
    Ok(CodePage {
        layout: Layout::workspace("Enter the code", Section::Customers, session, access),
        base: access.base(),
        workspace_name: access.workspace.name.clone(),
        customers: plural(customers, "customer", "customers"),
        owner_may_use_totp: user.is_owner && user.has_totp(),
        error,
    })
}

async fn code_form(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersDeleteAll>,
) -> Result<HttpResponse, WebError> {
    render(&code_page(&state, &session, &access, None).await?)
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    suppress: Option<String>,
}

enum CodeOutcome {
    Accepted(i64),
    Wrong(i32),
    Locked,
    Expired,
    NoChallenge,
}

async fn confirm(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersDeleteAll>,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, WebError> {
    let nonce = nonce(&session)?;
    let typed = OtpCode::parse(&form.code);
    let hash = typed
        .as_ref()
        .map(|code| code_hash(&state, &access, &nonce, code));
    let session_digest = session_digest(&state, &nonce);
    let workspace_id = access.workspace.id;
    let workspace_name = access.workspace.name.clone();
    let user = access.user.user.clone();
    let actor = access.actor();
    let origin = access.origin.clone();
    let raw_code = form.code.clone();
    let suppress = form.suppress.as_deref() == Some("on");
    let outcome = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<CodeOutcome, ErasureError> {
                let Some(challenge) =
                    otp::latest_open(conn, workspace_id, user.id, &session_digest, PURPOSE)?
                else {
                    return Ok(CodeOutcome::NoChallenge);
                };
                // Every code typed here, the mailed one or the owner's authenticator code,
                // takes one of the challenge's tries before it is checked: the authenticator
                // would otherwise be an unlimited second door, and a count read before the
                // check lets parallel guesses all through.
                let Some(attempts) = otp::claim_attempt(conn, challenge.id)? else {
                    return Ok(CodeOutcome::Locked);
                };
                // The owner's authenticator stands in for the mailed code (once per step).
                let by_totp = user.is_owner
                    && user.has_totp()
                    && crate::web::auth::verify_second_factor(conn, &user, &raw_code, &origin)?;
                if !by_totp {
                    if challenge.is_expired(crate::store::now()) {
                        return Ok(CodeOutcome::Expired);
                    }
                    let matches = hash
                        .as_deref()
                        .is_some_and(|h| constant_time_eq(h, &challenge.code_hash));
                    if !matches {
                        audit::append(
                            conn,
                            NewEntry::new(actor, AuditAction::CodeFailed, &origin)
                                .workspace(workspace_id)
                                .target(format!("otp_challenge:{}", challenge.id))
                                .details(serde_json::json!({ "attempts": attempts })),
                        )?;
                        return Ok(if attempts >= otp::MAX_ATTEMPTS {
                            CodeOutcome::Locked
                        } else {
                            CodeOutcome::Wrong(otp::MAX_ATTEMPTS - attempts)
                        });
                    }
                }
                if !otp::mark_used(conn, challenge.id)? {
                    return Ok(CodeOutcome::NoChallenge);
                }
                audit::append(
                    conn,
                    NewEntry::new(actor, AuditAction::CodeAccepted, &origin)
                        .workspace(workspace_id)
                        .target(format!("otp_challenge:{}", challenge.id))
                        .details(serde_json::json!({ "purpose": PURPOSE, "by_authenticator": by_totp })),
                )?;
                Ok(CodeOutcome::Accepted(start_job(
                    conn,
                    workspace_id,
                    &workspace_name,
                    user.id,
                    suppress,
                    actor,
                    &origin,
                )?))
            })
        })
        .await;
    let message = match outcome {
        Ok(CodeOutcome::Accepted(job_id)) => {
            state.jobs.wake();
            session.flash(FlashKind::Info, "Code accepted. Every customer of this workspace is being deleted.");
            return Ok(see_other(format!("{}/jobs/{job_id}", access.base())));
        }
        Err(ErasureError::EmptySelection) => {
            session.flash(FlashKind::Info, "This workspace has no customers: there is nothing to delete.");
            return Ok(see_other(format!("{}/customers", access.base())));
        }
        Err(err) => return Err(err.into()),
        Ok(CodeOutcome::Wrong(left)) => format!(
            "That code is not right. {left} attempt{} left.",
            if left == 1 { "" } else { "s" }
        ),
        Ok(CodeOutcome::Locked) => "Too many wrong codes: this code no longer works. Send a new one.".to_owned(),
        Ok(CodeOutcome::Expired) => "This code has expired. Send a new one.".to_owned(),
        Ok(CodeOutcome::NoChallenge) => {
            "There is no code waiting for you here. Send a code first (it works only in the browser session that asked for it)."
                .to_owned()
        }
    };
    let page = code_page(&state, &session, &access, Some(message)).await?;
    render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// Freezes every customer of the workspace as the job's targets and queues it.
fn start_job(
    conn: &mut DbConnection,
    workspace_id: i64,
    workspace_name: &str,
    user_id: i64,
    suppress: bool,
    actor: crate::store::audit::Actor,
    origin: &crate::store::audit::RequestOrigin,
) -> Result<i64, ErasureError> {
    let job = create_preview(
        conn,
        workspace_id,
        workspace_name,
        user_id,
        JobKind::DeleteAll,
        &Selection::All,
    )?;
    jobs::confirm(conn, job.id, suppress)?;
    audit::append(
        conn,
        NewEntry::new(actor, AuditAction::JobStarted, origin)
            .workspace(workspace_id)
            .target(format!("job:{}", job.id))
            .selection(job.selection.clone())
            .affected(job.total)
            .details(serde_json::json!({ "kind": JobKind::DeleteAll.key(), "suppress": suppress })),
    )?;
    Ok(job.id)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
