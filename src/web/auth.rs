//! First-run setup, sign-in (with the optional authenticator step) and sign-out.

use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::extractors::{request_origin, CurrentUser};
use super::hashing::{hash_password, password_matches};
use super::invitations::home_for;
use super::layout::{render, render_with_status, see_other, Layout};
use super::session::{FlashKind, TypedSession};
use super::state::AppState;
use super::WebError;
use crate::accounts::attempt_keys::{known_address_digest, AttemptKeys};
use crate::accounts::sign_in::{self, ClaimedAttempt};
use crate::accounts::{self, Account, AccountError, SetupError};
use crate::domain::{Email, PersonName, WorkspaceName};
use crate::password;
use crate::store;
use crate::store::audit::RequestOrigin;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(root)))
        .service(
            web::resource("/setup")
                .route(web::get().to(setup_form))
                .route(web::post().to(setup_submit)),
        )
        .service(
            web::resource("/login")
                .route(web::get().to(login_form))
                .route(web::post().to(login_submit)),
        )
        .service(
            web::resource("/login/totp")
                .route(web::get().to(totp_form))
                .route(web::post().to(totp_submit)),
        )
        .service(web::resource("/logout").route(web::post().to(logout)));
}

async fn user_count(state: &AppState) -> Result<i64, WebError> {
    Ok(state.db.run(store::users::count).await?)
}

/// Where `/` leads: setup, sign-in, or the user's first workspace.
async fn root(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
) -> Result<HttpResponse, WebError> {
    if user_count(&state).await? == 0 {
        return Ok(see_other("/setup"));
    }
    if session.user_id().is_none() {
        return Ok(see_other("/login"));
    }
    let user = match CurrentUser::extract(&req).await {
        Ok(user) => user,
        Err(WebError::SignInRequired) => return Ok(see_other("/login")),
        Err(err) => return Err(err),
    };
    // The first page the role opens: a role without the customers list (an auditor's,
    // say) lands on what it may see, not on a refusal.
    Ok(match user.memberships.first() {
        Some((workspace, role)) => see_other(home_for(&role.permission_set(), &workspace.slug)),
        None => see_other("/settings/security"),
    })
}

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    layout: Layout,
    form: SetupForm,
    errors: SetupErrors,
}

#[derive(Debug, Default, Deserialize)]
struct SetupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    #[serde(default)]
    workspace: String,
}

#[derive(Debug, Default)]
struct SetupErrors {
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
    password_confirm: Option<String>,
    workspace: Option<String>,
}

impl SetupErrors {
    fn any(&self) -> bool {
        self.name.is_some()
            || self.email.is_some()
            || self.password.is_some()
            || self.password_confirm.is_some()
            || self.workspace.is_some()
    }
}

async fn setup_form(state: web::Data<AppState>, session: TypedSession) -> Result<HttpResponse, WebError> {
    if user_count(&state).await? > 0 {
        return Err(WebError::NotFound);
    }
    render(&SetupPage {
        layout: Layout::public("Set up Erasure", &session),
        form: SetupForm::default(),
        errors: SetupErrors::default(),
    })
}

async fn setup_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, WebError> {
    if user_count(&state).await? > 0 {
        return Err(WebError::NotFound);
    }
    let mut form = form.into_inner();
    let mut errors = SetupErrors::default();
    let name = PersonName::parse(&form.name)
        .map_err(|e| errors.name = Some(e.to_string()))
        .ok();
    let email = Email::parse(&form.email)
        .map_err(|e| errors.email = Some(e.to_string()))
        .ok();
    let workspace = WorkspaceName::parse(&form.workspace)
        .map_err(|e| errors.workspace = Some(e.to_string()))
        .ok();
    if let Err(e) = password::check_new(&form.password, &[&form.email, &form.name, &form.workspace]) {
        errors.password = Some(e.to_string());
    } else if form.password != form.password_confirm {
        errors.password_confirm = Some("the two passwords differ".into());
    }
    let (Some(name), Some(email), Some(workspace), false) = (name, email, workspace, errors.any()) else {
        form.password.clear();
        form.password_confirm.clear();
        return render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage {
                layout: Layout::public("Set up Erasure", &session),
                form,
                errors,
            },
        );
    };
    let hash = hash_password(&state, form.password).await?;
    let origin = request_origin(&req);
    let known_address = known_address_digest(&state.secret, &origin.client_ip);
    let created = state
        .db
        .run(move |conn| {
            accounts::create_owner(
                conn,
                &email,
                name.as_str(),
                &hash,
                &workspace,
                &origin,
                Some(&known_address),
            )
        })
        .await;
    let (user, workspace) = match created {
        Ok(created) => created,
        Err(SetupError::AlreadySetUp) => return Err(WebError::NotFound),
        Err(SetupError::Store(err)) => return Err(err.into()),
    };
    session.sign_in(user.id).map_err(WebError::internal)?;
    session.flash(
        FlashKind::Success,
        format!("Welcome. Your workspace {} is ready.", workspace.name),
    );
    Ok(see_other(format!("/w/{}/customers", workspace.slug)))
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn login_form(state: web::Data<AppState>, session: TypedSession) -> Result<HttpResponse, WebError> {
    if user_count(&state).await? == 0 {
        return Ok(see_other("/setup"));
    }
    if session.user_id().is_some() {
        return Ok(see_other("/"));
    }
    render(&LoginPage {
        layout: Layout::public("Sign in", &session),
        email: String::new(),
        error: None,
    })
}

const WRONG_CREDENTIALS: &str = "That email and password do not match an account.";

fn throttle_message(until: chrono::NaiveDateTime) -> String {
    // Rounded up: a wait of 30 seconds is not shown as 29 because a moment has passed.
    let seconds = ((until - store::now()).num_milliseconds() + 999)
        .div_euclid(1000)
        .max(1);
    let wait = if seconds < 90 {
        format!("{seconds} second{}", if seconds == 1 { "" } else { "s" })
    } else {
        let minutes = (seconds + 59) / 60;
        format!("{minutes} minutes")
    };
    format!("Too many failed attempts for this account from here. Try again in {wait}.")
}

/// What the password step decided.
enum PasswordOutcome {
    Accepted(store::users::User),
    Refused,
    Throttled(chrono::NaiveDateTime),
    /// The right password for an account that was turned off: who can turn it back on.
    TurnedOff(Option<String>),
}

async fn login_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, WebError> {
    let LoginForm { email, password } = form.into_inner();
    let typed_email = email.trim().to_owned();
    let normalized = crate::domain::email::normalize(&typed_email);
    let origin = request_origin(&req);
    let keys = AttemptKeys::for_password(&state.secret, &normalized, &origin.client_ip);
    let outcome = check_password(&state, normalized, password, keys, origin).await?;
    match outcome {
        PasswordOutcome::Accepted(user) if user.has_totp() => {
            session.set_pending_user(user.id).map_err(WebError::internal)?;
            Ok(see_other("/login/totp"))
        }
        PasswordOutcome::Accepted(user) => {
            session.sign_in(user.id).map_err(WebError::internal)?;
            Ok(see_other("/"))
        }
        PasswordOutcome::Refused => render_with_status(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                layout: Layout::public("Sign in", &session),
                email: typed_email,
                error: Some(WRONG_CREDENTIALS.into()),
            },
        ),
        PasswordOutcome::Throttled(until) => render_with_status(
            StatusCode::TOO_MANY_REQUESTS,
            &LoginPage {
                layout: Layout::public("Sign in", &session),
                email: typed_email,
                error: Some(throttle_message(until)),
            },
        ),
        PasswordOutcome::TurnedOff(owner) => render_with_status(
            StatusCode::FORBIDDEN,
            &LoginPage {
                layout: Layout::public("Sign in", &session),
                email: typed_email,
                error: Some(match owner {
                    Some(owner) => format!(
                        "Your access to this console was turned off. Ask {owner}, the account owner, to turn it back on."
                    ),
                    None => "Your access to this console was turned off. Ask the account owner to turn it back on."
                        .to_owned(),
                }),
            },
        ),
    }
}

/// Checks a password against the account, counting the attempt first (see
/// `accounts::attempt_keys`). An unknown or disabled account gets the same answer,
/// after the same work, as a wrong password. When every password worker is busy the
/// attempt is turned away (503, with when to come back) and costs the account nothing.
async fn check_password(
    state: &AppState,
    email: String,
    password: String,
    keys: AttemptKeys,
    origin: RequestOrigin,
) -> Result<PasswordOutcome, WebError> {
    if !state.passwords.has_room() {
        return Err(WebError::Busy);
    }
    let claim_keys = keys.clone();
    let claim_origin = origin.clone();
    let claimed = state
        .db
        .run(move |conn| sign_in::claim_attempt(conn, &claim_keys, &email, &claim_origin))
        .await;
    let ClaimedAttempt {
        user,
        known_address,
        waits_until,
    } = match claimed {
        Ok(claimed) => claimed,
        Err(AccountError::Throttled(until)) => return Ok(PasswordOutcome::Throttled(until)),
        Err(err) => return Err(account_error(err)),
    };
    let stored_hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| password::dummy_hash().to_owned());
    let matches = match password_matches(state, password, stored_hash).await {
        Ok(matches) => matches,
        Err(WebError::Busy) => {
            let keys = keys.clone();
            state
                .db
                .run(move |conn| sign_in::release_attempt(conn, &keys, known_address))
                .await
                .map_err(account_error)?;
            return Err(WebError::Busy);
        }
        Err(err) => return Err(err),
    };
    match user {
        Some(user) if matches && !user.disabled => {
            let account = Account::new(user.id, origin);
            let second_step_follows = user.has_totp();
            state
                .db
                .run(move |conn| {
                    sign_in::accept_password(conn, &account, &keys, known_address, second_step_follows)
                })
                .await
                .map_err(account_error)?;
            Ok(PasswordOutcome::Accepted(user))
        }
        user => {
            // Only someone who knows the password learns that the account is turned
            // off, and whom to ask: anyone else gets the answer an unknown address gets.
            let turned_off = matches && user.as_ref().is_some_and(|u| u.disabled);
            state
                .db
                .run(move |conn| sign_in::refuse_password(conn, user.as_ref(), &origin))
                .await
                .map_err(account_error)?;
            if turned_off {
                let owner = state.db.run(store::users::find_owner).await?;
                return Ok(PasswordOutcome::TurnedOff(owner.map(|o| o.name)));
            }
            Ok(match waits_until {
                Some(until) => PasswordOutcome::Throttled(until),
                None => PasswordOutcome::Refused,
            })
        }
    }
}

/// An account change's failure that no page of its own explains.
pub(super) fn account_error(err: AccountError) -> WebError {
    match err {
        AccountError::Store(err) => err.into(),
        other => WebError::Internal(other.to_string().into()),
    }
}

#[derive(Template)]
#[template(path = "auth/totp.html")]
struct TotpPage {
    layout: Layout,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TotpForm {
    #[serde(default)]
    code: String,
}

async fn totp_form(session: TypedSession) -> Result<HttpResponse, WebError> {
    if session.pending_user().is_none() {
        return Ok(see_other("/login"));
    }
    render(&TotpPage {
        layout: Layout::public("Two-step sign-in", &session),
        error: None,
    })
}

async fn totp_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    form: web::Form<TotpForm>,
) -> Result<HttpResponse, WebError> {
    let Some(user_id) = session.pending_user() else {
        // A sign-in that took too long still has its session to carry the message;
        // a stranger posting here has none, and gets none made for them.
        if session.is_stored() {
            session.flash(FlashKind::Info, "Your sign-in took too long. Please start again.");
        }
        return Ok(see_other("/login"));
    };
    let code = form.into_inner().code;
    let account = Account::new(user_id, request_origin(&req));
    let keys = AttemptKeys::for_second_step(&state.secret, user_id, &account.origin.client_ip);
    let key = state.secret.clone();
    let outcome = state
        .db
        .run(move |conn| sign_in::second_step(conn, &account, &keys, &code, &key))
        .await;
    match outcome {
        Ok(()) => {
            session.sign_in(user_id).map_err(WebError::internal)?;
            Ok(see_other("/"))
        }
        Err(AccountError::Refused | AccountError::Replayed) => render_with_status(
            StatusCode::UNAUTHORIZED,
            &TotpPage {
                layout: Layout::public("Two-step sign-in", &session),
                error: Some("That code is not valid, or it was already used. Wait for the next code.".into()),
            },
        ),
        Err(AccountError::Throttled(until)) => {
            session.clear_pending_user();
            render_with_status(
                StatusCode::TOO_MANY_REQUESTS,
                &TotpPage {
                    layout: Layout::public("Two-step sign-in", &session),
                    error: Some(throttle_message(until)),
                },
            )
        }
        Err(err) => Err(account_error(err)),
    }
}

async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
) -> Result<HttpResponse, WebError> {
    let Some(user_id) = session.user_id() else {
        // Nobody to sign out: nothing to store either.
        session.sign_out();
        return Ok(see_other("/login"));
    };
    let account = Account::new(user_id, request_origin(&req));
    state
        .db
        .run(move |conn| sign_in::sign_out(conn, &account))
        .await
        .map_err(account_error)?;
    session.sign_out();
    session.flash(FlashKind::Info, "You are signed out.");
    Ok(see_other("/login"))
}
