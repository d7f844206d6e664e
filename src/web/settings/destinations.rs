//! Settings → Destinations: the downstream systems told of every erasure, with their
//! signing secrets (shown once), their events, and their recent deliveries.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::{load_nav, manager, SettingsNav};
use crate::domain::{DeliveryState, DestinationEvent};
use crate::format::filters;
use crate::propagation::destinations::{self as change, DestinationError, DestinationInput};
use crate::store::destinations::{self, Destination};
use crate::store::outbox::{self, OutboxEvent};
use crate::web::extractors::{perm, Authorized, WorkspaceAccess};
use crate::web::layout::{render_with_status, see_other, Layout, Section};
use crate::web::session::{FlashKind, TypedSession};
use crate::web::state::AppState;
use crate::web::WebError;

/// Deliveries listed on a destination's page.
const RECENT_DELIVERIES: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/w/{workspace}/settings/destinations")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/w/{workspace}/settings/destinations/{id}")
            .route(web::get().to(show))
            .route(web::post().to(update)),
    )
    .service(web::resource("/w/{workspace}/settings/destinations/{id}/rotate").route(web::post().to(rotate)))
    .service(web::resource("/w/{workspace}/settings/destinations/{id}/pause").route(web::post().to(pause)))
    .service(web::resource("/w/{workspace}/settings/destinations/{id}/resume").route(web::post().to(resume)))
    .service(web::resource("/w/{workspace}/settings/destinations/{id}/remove").route(web::post().to(remove)))
    .service(web::resource("/w/{workspace}/settings/destinations/{id}/test").route(web::post().to(test)))
    .service(
        web::resource("/w/{workspace}/settings/destinations/{id}/deliveries/{event}/resend")
            .route(web::post().to(resend)),
    );
}

fn list_path(access: &WorkspaceAccess) -> String {
    format!("{}/settings/destinations", access.base())
}

fn page_path(access: &WorkspaceAccess, id: i64) -> String {
    format!("{}/settings/destinations/{id}", access.base())
}

/// One event a destination may subscribe to, as a checkbox.
pub struct EventChoice {
    key: &'static str,
    label: &'static str,
    checked: bool,
}

/// The form's values and the message beside each field that could not be used.
#[derive(Default)]
pub struct FormState {
    input: DestinationInput,
    name_error: Option<String>,
    url_error: Option<String>,
    events_error: Option<String>,
}

impl FormState {
    fn new_destination() -> FormState {
        FormState {
            input: DestinationInput {
                events: DestinationEvent::ALL.iter().map(|e| e.key().to_owned()).collect(),
                ..DestinationInput::default()
            },
            ..FormState::default()
        }
    }

    fn of(destination: &Destination) -> FormState {
        FormState {
            input: DestinationInput {
                name: destination.name.clone(),
                url: destination.url.clone(),
                events: destination
                    .subscriptions()
                    .map(|s| s.iter().map(|e| e.key().to_owned()).collect())
                    .unwrap_or_default(),
                holds_external_id: destination.holds_external_id,
                include_identifiers: destination.include_identifiers,
            },
            ..FormState::default()
        }
    }

    fn with_error(input: DestinationInput, field: &str, message: String) -> FormState {
        let mut state = FormState {
            input,
            ..FormState::default()
        };
        match field {
            "name" => state.name_error = Some(message),
            "url" => state.url_error = Some(message),
            _ => state.events_error = Some(message),
        }
        state
    }

    fn choices(&self) -> Vec<EventChoice> {
        DestinationEvent::ALL
            .iter()
            .map(|e| EventChoice {
                key: e.key(),
                label: e.label(),
                checked: self.input.events.iter().any(|k| k == e.key()),
            })
            .collect()
    }
}

/// A secret just made, shown on this one response and never again.
pub struct NewSecret {
    name: String,
    secret: String,
}

pub struct DestinationRow {
    id: i64,
    name: String,
    url: String,
    events: Vec<&'static str>,
    status: String,
    active: bool,
    include_identifiers: bool,
}

fn status_of(destination: &Destination) -> (String, bool) {
    match destination.paused() {
        Some(reason) => (reason.describe().to_owned(), false),
        None if destination.failing_since.is_some() => ("Active, deliveries failing".to_owned(), true),
        None => ("Active".to_owned(), true),
    }
}

fn row(destination: &Destination) -> DestinationRow {
    let (status, active) = status_of(destination);
    DestinationRow {
        id: destination.id,
        name: destination.name.clone(),
        url: destination.url.clone(),
        events: destination
            .subscriptions()
            .map(|s| s.iter().map(DestinationEvent::label).collect())
            .unwrap_or_default(),
        status,
        active,
        include_identifiers: destination.include_identifiers,
    }
}

#[derive(Template)]
#[template(path = "settings/destinations.html")]
struct ListPage {
    layout: Layout,
    nav: SettingsNav,
    base: String,
    destinations: Vec<DestinationRow>,
    form: FormState,
    choices: Vec<EventChoice>,
    new_secret: Option<NewSecret>,
    new_id: Option<i64>,
}

async fn render_list(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    status: StatusCode,
    form: FormState,
    created: Option<(Destination, NewSecret)>,
) -> Result<HttpResponse, WebError> {
    let workspace_id = access.workspace.id;
    let found = state
        .db
        .run(move |conn| destinations::list(conn, workspace_id))
        .await?;
    let nav = load_nav(state, access.user.user.id, list_path(access)).await?;
    let new_id = created.as_ref().map(|(d, _)| d.id);
    render_with_status(
        status,
        &ListPage {
            layout: Layout::workspace("Destinations", Section::Settings, session, access),
            nav,
            base: access.base(),
            destinations: found.iter().map(row).collect(),
            choices: form.choices(),
            form,
            new_secret: created.map(|(_, s)| s),
            new_id,
        },
    )
}

async fn list(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
) -> Result<HttpResponse, WebError> {
    render_list(
        &state,
        &session,
        &access,
        StatusCode::OK,
        FormState::new_destination(),
        None,
    )
    .await
}

/// The destination's settings as the form sent them.
fn read_form(pairs: &[(String, String)]) -> DestinationInput {
    let mut input = DestinationInput::default();
    for (key, value) in pairs {
        match key.as_str() {
            "name" => input.name = value.clone(),
            "url" => input.url = value.clone(),
            "events" => input.events.push(value.clone()),
            "holds_external_id" => input.holds_external_id = true,
            "include_identifiers" => input.include_identifiers = true,
            _ => {}
        }
    }
    input
}

/// Shows the new secret in this response itself rather than redirecting: carrying it to
/// the next page would mean writing it into the session, which is kept in the database.
async fn create(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let input = read_form(&form);
    let manager = manager(&access);
    let server = state.secret.clone();
    let asked = input.clone();
    let made = state
        .db
        .run(move |conn| change::create(conn, &manager, &server, &asked))
        .await;
    match made {
        Ok((destination, secret)) => {
            let shown = NewSecret {
                name: destination.name.clone(),
                secret: secret.display(),
            };
            let form = FormState::new_destination();
            render_list(
                &state,
                &session,
                &access,
                StatusCode::OK,
                form,
                Some((destination, shown)),
            )
            .await
        }
        Err(DestinationError::Field { field, message }) => {
            let form = FormState::with_error(input, field, message);
            render_list(
                &state,
                &session,
                &access,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                None,
            )
            .await
        }
        Err(err) => Err(refused(err)),
    }
}

pub struct DeliveryRow {
    id: i64,
    message_id: String,
    event_type: String,
    customers: i64,
    state: &'static str,
    state_key: &'static str,
    attempts: i32,
    last_status: String,
    last_attempt: String,
    receipt: Option<String>,
    can_resend: bool,
}

fn delivery_row(event: &OutboxEvent, access: &WorkspaceAccess) -> DeliveryRow {
    let zone = access.time_zone();
    let state = event.delivery_state();
    DeliveryRow {
        id: event.id,
        message_id: event.message_id.clone(),
        event_type: event.event_type.clone(),
        customers: event.customers,
        state: state.label(),
        state_key: state.key(),
        attempts: event.attempts,
        last_status: match (event.last_status, &event.last_error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => error.clone(),
            (None, None) => "—".to_owned(),
        },
        last_attempt: event
            .last_attempt_at
            .map_or_else(|| "Not yet".to_owned(), |at| crate::format::second(at, zone)),
        receipt: event.receipt_id.clone(),
        can_resend: event.body.is_some() && state != DeliveryState::Dropped,
    }
}

#[derive(Template)]
#[template(path = "settings/destination.html")]
struct DestinationPage {
    layout: Layout,
    nav: SettingsNav,
    base: String,
    destination: DestinationRow,
    form: FormState,
    choices: Vec<EventChoice>,
    deliveries: Vec<DeliveryRow>,
    new_secret: Option<NewSecret>,
    previous_secret_until: Option<String>,
    test_result: Option<(bool, String)>,
}

struct Shown {
    form: Option<FormState>,
    new_secret: Option<NewSecret>,
    test_result: Option<(bool, String)>,
}

async fn render_destination(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    status: StatusCode,
    id: i64,
    shown: Shown,
) -> Result<HttpResponse, WebError> {
    let workspace_id = access.workspace.id;
    let (destination, deliveries) = state
        .db
        .run(move |conn| -> Result<_, crate::store::StoreError> {
            let Some(destination) = destinations::find(conn, workspace_id, id)? else {
                return Ok((None, Vec::new()));
            };
            let deliveries = outbox::recent_for_destination(conn, id, RECENT_DELIVERIES)?;
            Ok((Some(destination), deliveries))
        })
        .await?;
    let destination = destination.ok_or(WebError::NotFound)?;
    let nav = load_nav(state, access.user.user.id, list_path(access)).await?;
    let form = shown.form.unwrap_or_else(|| FormState::of(&destination));
    let zone = access.time_zone();
    render_with_status(
        status,
        &DestinationPage {
            layout: Layout::workspace(&destination.name, Section::Settings, session, access),
            nav,
            base: access.base(),
            destination: row(&destination),
            choices: form.choices(),
            form,
            deliveries: deliveries.iter().map(|e| delivery_row(e, access)).collect(),
            new_secret: shown.new_secret,
            previous_secret_until: destination
                .previous_secret_until
                .filter(|until| *until > crate::store::now())
                .map(|until| crate::format::minute(until, zone)),
            test_result: shown.test_result,
        },
    )
}

async fn show(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let shown = Shown {
        form: None,
        new_secret: None,
        test_result: None,
    };
    render_destination(&state, &session, &access, StatusCode::OK, path.1, shown).await
}

async fn update(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    path: web::Path<(String, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let id = path.1;
    let input = read_form(&form);
    let manager = manager(&access);
    let asked = input.clone();
    let changed = state
        .db
        .run(move |conn| change::update(conn, &manager, id, &asked))
        .await;
    match changed {
        Ok(destination) => {
            session.flash(FlashKind::Success, format!("“{}” is saved.", destination.name));
            Ok(see_other(page_path(&access, id)))
        }
        Err(DestinationError::Field { field, message }) => {
            let shown = Shown {
                form: Some(FormState::with_error(input, field, message)),
                new_secret: None,
                test_result: None,
            };
            render_destination(
                &state,
                &session,
                &access,
                StatusCode::UNPROCESSABLE_ENTITY,
                id,
                shown,
            )
            .await
        }
        Err(err) => Err(refused(err)),
    }
}

async fn rotate(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let id = path.1;
    let manager = manager(&access);
    let server = state.secret.clone();
    let secret = state
        .db
        .run(move |conn| change::rotate_secret(conn, &manager, &server, id))
        .await
        .map_err(refused)?;
    let shown = Shown {
        form: None,
        new_secret: Some(NewSecret {
            name: String::new(),
            secret: secret.display(),
        }),
        test_result: None,
    };
    render_destination(&state, &session, &access, StatusCode::OK, id, shown).await
}

/// A change that needs nothing but the destination: made, then back to `back` with
/// `done` said.
async fn change_then(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    id: i64,
    change: fn(&mut crate::db::DbConnection, &crate::team::Manager, i64) -> change::DestinationResult<()>,
    done: &str,
    back: String,
) -> Result<HttpResponse, WebError> {
    let manager = manager(access);
    state
        .db
        .run(move |conn| change(conn, &manager, id))
        .await
        .map_err(refused)?;
    // Events may be due now (after a resume); looking costs one query.
    state.deliverer.wake();
    session.flash(FlashKind::Success, done.to_owned());
    Ok(see_other(back))
}

async fn pause(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let done = "Paused. Erasure events wait, and are delivered when you resume it.";
    let back = page_path(&access, path.1);
    change_then(&state, &session, &access, path.1, change::pause, done, back).await
}

async fn resume(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let done = "Resumed: the events that waited are on their way.";
    let back = page_path(&access, path.1);
    change_then(&state, &session, &access, path.1, change::resume, done, back).await
}

async fn remove(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let done = "The destination is removed. Receipts still show what it was told.";
    let back = list_path(&access);
    change_then(&state, &session, &access, path.1, change::remove, done, back).await
}

async fn test(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let id = path.1;
    let workspace_id = access.workspace.id;
    let destination = state
        .db
        .run(move |conn| destinations::find(conn, workspace_id, id))
        .await?
        .ok_or(WebError::NotFound)?;
    let result = match state
        .deliverer
        .send_test(&destination, &access.workspace.slug)
        .await
    {
        Ok(status) if (200..300).contains(&status) => (true, format!("The destination answered {status}.")),
        Ok(status) => (
            false,
            format!("The destination answered {status}; events are delivered only on a 2xx answer."),
        ),
        Err(error) => (false, format!("Nothing was delivered: {error}.")),
    };
    let shown = Shown {
        form: None,
        new_secret: None,
        test_result: Some(result),
    };
    render_destination(&state, &session, &access, StatusCode::OK, id, shown).await
}

async fn resend(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    path: web::Path<(String, i64, i64)>,
) -> Result<HttpResponse, WebError> {
    let (_, id, event) = path.into_inner();
    let manager = manager(&access);
    let done = state
        .db
        .run(move |conn| change::resend(conn, &manager, id, event))
        .await;
    match done {
        Ok(()) => {
            state.deliverer.wake();
            session.flash(
                FlashKind::Success,
                "The event is on its way again, with the same webhook-id.",
            );
        }
        Err(DestinationError::Refused(message)) => session.flash(FlashKind::Error, message),
        Err(err) => return Err(refused(err)),
    }
    Ok(see_other(page_path(&access, id)))
}

fn refused(err: DestinationError) -> WebError {
    match err {
        DestinationError::NotFound => WebError::NotFound,
        DestinationError::Store(err) => err.into(),
        DestinationError::Field { message, .. } | DestinationError::Refused(message) => {
            WebError::BadRequest(message)
        }
    }
}
