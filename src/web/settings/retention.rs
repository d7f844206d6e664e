//! Settings → Retention: the workspace's retention policies, what each one's next run
//! would touch, its last run, and the changes (add, edit, pause, resume, delete).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::{load_nav, manager, SettingsNav};
use crate::domain::{
    CustomerStatus, RetentionAction, RetentionErrors, RetentionField, RetentionInput, RetentionRule,
};
use crate::format::filters;
use crate::retention::policies as change;
use crate::retention::runs::BIG_RUN_SHARE;
use crate::retention::RetentionError;
use crate::store::jobs::{self, Job};
use crate::store::retention_policies::{self, RetentionPolicy};
use crate::store::{customers, now, StoreError};
use crate::web::extractors::{perm, Authorized, WorkspaceAccess};
use crate::web::layout::{render_with_status, see_other, Layout, Section};
use crate::web::session::{FlashKind, TypedSession};
use crate::web::state::AppState;
use crate::web::WebError;

/// How many of the customers the next run would touch the policy's page lists.
const SAMPLE: i64 = 10;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/w/{workspace}/settings/retention")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/w/{workspace}/settings/retention/{id}")
            .route(web::get().to(show))
            .route(web::post().to(update)),
    )
    .service(web::resource("/w/{workspace}/settings/retention/{id}/pause").route(web::post().to(pause)))
    .service(web::resource("/w/{workspace}/settings/retention/{id}/resume").route(web::post().to(resume)))
    .service(web::resource("/w/{workspace}/settings/retention/{id}/delete").route(web::post().to(delete)));
}

fn list_path(access: &WorkspaceAccess) -> String {
    format!("{}/settings/retention", access.base())
}

fn page_path(access: &WorkspaceAccess, id: i64) -> String {
    format!("{}/settings/retention/{id}", access.base())
}

/// One choice of a select.
pub struct Choice {
    key: &'static str,
    label: &'static str,
    selected: bool,
}

/// The form's values and the message beside each field that could not be used.
#[derive(Default)]
pub struct FormState {
    input: RetentionInput,
    action_error: Option<String>,
    days_error: Option<String>,
    status_error: Option<String>,
    country_error: Option<String>,
}

impl FormState {
    fn new_policy() -> FormState {
        FormState {
            input: RetentionInput {
                action: RetentionAction::Archive.key().to_owned(),
                days: "365".to_owned(),
                ..RetentionInput::default()
            },
            ..FormState::default()
        }
    }

    fn of(rule: &RetentionRule) -> FormState {
        FormState {
            input: RetentionInput {
                action: rule.action().key().to_owned(),
                days: rule.days().to_string(),
                status: rule.status().map(|s| s.key().to_owned()).unwrap_or_default(),
                country: rule.country().unwrap_or_default().to_owned(),
            },
            ..FormState::default()
        }
    }

    fn with_errors(input: RetentionInput, errors: &RetentionErrors) -> FormState {
        let message = |field| errors.message(field).map(str::to_owned);
        FormState {
            action_error: message(RetentionField::Action),
            days_error: message(RetentionField::Days),
            status_error: message(RetentionField::Status),
            country_error: message(RetentionField::Country),
            input,
        }
    }

    fn actions(&self) -> Vec<Choice> {
        RetentionAction::ALL
            .iter()
            .map(|a| Choice {
                key: a.key(),
                label: a.label(),
                selected: self.input.action == a.key(),
            })
            .collect()
    }

    fn statuses(&self) -> Vec<Choice> {
        let mut choices = vec![Choice {
            key: "",
            label: "Any status",
            selected: self.input.status.is_empty(),
        }];
        choices.extend(CustomerStatus::ALL.iter().map(|s| Choice {
            key: s.key(),
            label: s.meaning(),
            selected: self.input.status == s.key(),
        }));
        choices
    }
}

pub struct PolicyRow {
    id: i64,
    action: &'static str,
    describe: String,
    paused: bool,
    next_run: String,
    last_run: String,
}

fn row(policy: &RetentionPolicy, access: &WorkspaceAccess) -> PolicyRow {
    let zone = access.time_zone();
    let rule = policy.rule();
    PolicyRow {
        id: policy.id,
        action: rule.as_ref().map_or("—", |r| r.action().label()),
        describe: rule.as_ref().map(RetentionRule::describe).unwrap_or_default(),
        paused: policy.paused,
        next_run: if policy.paused {
            "Paused".to_owned()
        } else if policy.next_run_at <= now() {
            "Within a minute".to_owned()
        } else {
            crate::format::minute(policy.next_run_at, zone)
        },
        last_run: policy
            .last_run_at
            .map_or_else(|| "Not yet".to_owned(), |at| crate::format::minute(at, zone)),
    }
}

#[derive(Template)]
#[template(path = "settings/retention.html")]
struct ListPage {
    layout: Layout,
    nav: SettingsNav,
    base: String,
    policies: Vec<PolicyRow>,
    form: FormState,
    actions: Vec<Choice>,
    statuses: Vec<Choice>,
    big_run_percent: i64,
}

async fn render_list(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    status: StatusCode,
    form: FormState,
) -> Result<HttpResponse, WebError> {
    let workspace_id = access.workspace.id;
    let found = state
        .db
        .run(move |conn| retention_policies::list(conn, workspace_id))
        .await?;
    let nav = load_nav(state, access.user.user.id, list_path(access)).await?;
    render_with_status(
        status,
        &ListPage {
            layout: Layout::workspace("Retention", Section::Settings, session, access),
            nav,
            base: access.base(),
            policies: found.iter().map(|p| row(p, access)).collect(),
            actions: form.actions(),
            statuses: form.statuses(),
            form,
            big_run_percent: 100 / BIG_RUN_SHARE,
        },
    )
}

async fn list(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
) -> Result<HttpResponse, WebError> {
    render_list(&state, &session, &access, StatusCode::OK, FormState::new_policy()).await
}

fn read_form(pairs: &[(String, String)]) -> RetentionInput {
    let mut input = RetentionInput::default();
    for (key, value) in pairs {
        match key.as_str() {
            "action" => input.action = value.clone(),
            "days" => input.days = value.clone(),
            "status" => input.status = value.clone(),
            "country" => input.country = value.clone(),
            _ => {}
        }
    }
    input
}

async fn create(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let input = read_form(&form);
    let manager = manager(&access);
    let asked = input.clone();
    let made = state
        .db
        .run(move |conn| change::create(conn, &manager, &asked))
        .await;
    match made {
        Ok(policy) => {
            session.flash(
                FlashKind::Success,
                "The policy is saved. Its first run is previewed within a minute.",
            );
            Ok(see_other(page_path(&access, policy.id)))
        }
        Err(RetentionError::Fields(errors)) => {
            let form = FormState::with_errors(input, &errors);
            render_list(&state, &session, &access, StatusCode::UNPROCESSABLE_ENTITY, form).await
        }
        Err(err) => Err(refused(err)),
    }
}

/// What the policy's next run would touch, as of now.
pub struct NextRun {
    count: i64,
    sample: Vec<i64>,
    last_seen_day: String,
}

/// The policy's last job, with where to see it.
pub struct LastJob {
    id: i64,
    state: &'static str,
    total: i64,
    done: i64,
    skipped_held: i64,
    waits_for_owner: bool,
    receipt: Option<String>,
}

fn last_job(job: &Job) -> LastJob {
    LastJob {
        id: job.id,
        state: job.state.key(),
        total: job.total,
        done: job.done,
        skipped_held: job.skipped_held,
        waits_for_owner: job.state == crate::domain::JobState::Preview,
        receipt: job.is_finished().then(|| job.receipt_id.clone()),
    }
}

#[derive(Template)]
#[template(path = "settings/retention_policy.html")]
struct PolicyPage {
    layout: Layout,
    nav: SettingsNav,
    base: String,
    policy: PolicyRow,
    next: Option<NextRun>,
    last: Option<LastJob>,
    form: FormState,
    actions: Vec<Choice>,
    statuses: Vec<Choice>,
    big_run_percent: i64,
}

async fn render_policy(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    status: StatusCode,
    id: i64,
    form: Option<FormState>,
) -> Result<HttpResponse, WebError> {
    let workspace_id = access.workspace.id;
    let found = state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            let Some(policy) = retention_policies::find(conn, workspace_id, id)? else {
                return Ok(None);
            };
            let at = now();
            let next = match policy.rule() {
                Some(rule) => {
                    let filter = rule.customers_at(at);
                    Some(NextRun {
                        count: customers::count(conn, workspace_id, &filter)?,
                        sample: customers::matching_ids(conn, workspace_id, &filter, at, 0, SAMPLE)?,
                        last_seen_day: rule.last_seen_day(at).format("%Y-%m-%d").to_string(),
                    })
                }
                None => None,
            };
            let last = match policy.last_job_id {
                Some(job_id) => jobs::find(conn, workspace_id, job_id)?,
                None => None,
            };
            Ok(Some((policy, next, last)))
        })
        .await?;
    let (policy, next, last) = found.ok_or(WebError::NotFound)?;
    let nav = load_nav(state, access.user.user.id, list_path(access)).await?;
    let form = form.unwrap_or_else(|| policy.rule().map(|r| FormState::of(&r)).unwrap_or_default());
    let title = format!("Retention policy #{}", policy.id);
    render_with_status(
        status,
        &PolicyPage {
            layout: Layout::workspace(&title, Section::Settings, session, access),
            nav,
            base: access.base(),
            policy: row(&policy, access),
            next,
            last: last.as_ref().map(last_job),
            actions: form.actions(),
            statuses: form.statuses(),
            form,
            big_run_percent: 100 / BIG_RUN_SHARE,
        },
    )
}

async fn show(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    render_policy(&state, &session, &access, StatusCode::OK, path.1, None).await
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
        Ok(_) => {
            session.flash(
                FlashKind::Success,
                "The policy is saved; its next run follows it.",
            );
            Ok(see_other(page_path(&access, id)))
        }
        Err(RetentionError::Fields(errors)) => {
            let form = FormState::with_errors(input, &errors);
            render_policy(
                &state,
                &session,
                &access,
                StatusCode::UNPROCESSABLE_ENTITY,
                id,
                Some(form),
            )
            .await
        }
        Err(err) => Err(refused(err)),
    }
}

/// A change that needs nothing but the policy: made, then back to `back` with `done`
/// said.
async fn change_then(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    id: i64,
    change: fn(
        &mut crate::db::DbConnection,
        &crate::team::Manager,
        i64,
    ) -> crate::retention::RetentionResult<()>,
    done: &str,
    back: String,
) -> Result<HttpResponse, WebError> {
    let manager = manager(access);
    state
        .db
        .run(move |conn| change(conn, &manager, id))
        .await
        .map_err(refused)?;
    session.flash(FlashKind::Success, done.to_owned());
    Ok(see_other(back))
}

async fn pause(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let done = "Paused: the policy runs no more until you resume it.";
    let back = page_path(&access, path.1);
    change_then(&state, &session, &access, path.1, change::pause, done, back).await
}

async fn resume(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let done = "Resumed: when its day has passed, it runs within a minute.";
    let back = page_path(&access, path.1);
    change_then(&state, &session, &access, path.1, change::resume, done, back).await
}

async fn delete(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let done = "The policy is deleted. The jobs it ran and their receipts stay.";
    let back = list_path(&access);
    change_then(&state, &session, &access, path.1, change::delete, done, back).await
}

fn refused(err: RetentionError) -> WebError {
    match err {
        RetentionError::NotFound => WebError::NotFound,
        RetentionError::Store(err) => err.into(),
        RetentionError::Fields(errors) => WebError::BadRequest(errors.to_string()),
        RetentionError::Erasure(err) => WebError::internal(err),
    }
}
