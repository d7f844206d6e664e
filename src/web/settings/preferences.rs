//! Settings → Preferences: how the console shows the signed-in person its pages; for
//! now, the time zone its times are shown in.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{load_nav, SettingsNav};
use crate::accounts::{preferences, Account};
use crate::domain::TimeZone;
use crate::store;
use crate::web::auth::account_error;
use crate::web::extractors::{request_origin, CurrentUser};
use crate::web::layout::{render, render_with_status, see_other, Layout};
use crate::web::session::{FlashKind, TypedSession};
use crate::web::state::AppState;
use crate::web::WebError;

const PREFERENCES: &str = "/settings/preferences";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PREFERENCES)
            .route(web::get().to(show))
            .route(web::post().to(save)),
    );
}

pub struct ZoneOption {
    pub name: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "settings/preferences.html")]
struct PreferencesPage {
    layout: Layout,
    nav: SettingsNav,
    zones: Vec<ZoneOption>,
    /// The time now, as pages show it in the zone in force.
    now_shown: String,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    session: &TypedSession,
    user: &CurrentUser,
    chosen: &str,
    error: Option<String>,
) -> Result<PreferencesPage, WebError> {
    let nav = load_nav(state, user.user.id, PREFERENCES.into()).await?;
    let zones = TimeZone::offered()
        .into_iter()
        .map(|z| ZoneOption {
            name: z.name(),
            selected: z.name() == chosen,
        })
        .collect();
    Ok(PreferencesPage {
        nav,
        zones,
        now_shown: crate::format::minute(store::now(), user.time_zone()),
        error,
        layout: Layout::signed_in("Preferences", session, user),
    })
}

async fn show(
    state: web::Data<AppState>,
    session: TypedSession,
    user: CurrentUser,
) -> Result<HttpResponse, WebError> {
    let current = user.time_zone().name();
    let page = page(&state, &session, &user, current, None).await?;
    render(&page)
}

#[derive(Debug, Deserialize)]
struct ZoneForm {
    #[serde(default)]
    time_zone: String,
}

async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    user: CurrentUser,
    form: web::Form<ZoneForm>,
) -> Result<HttpResponse, WebError> {
    let zone = match TimeZone::parse(&form.time_zone) {
        Ok(zone) => zone,
        Err(err) => {
            let page = page(
                &state,
                &session,
                &user,
                user.time_zone().name(),
                Some(err.to_string()),
            )
            .await?;
            return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let account = Account::new(user.user.id, request_origin(&req));
    let changed = state
        .db
        .run(move |conn| preferences::set_time_zone(conn, &account, zone))
        .await
        .map_err(account_error)?;
    let now = crate::format::minute(store::now(), zone);
    session.flash(
        FlashKind::Success,
        if changed {
            format!("Times are now shown in {zone}: it is {now}.")
        } else {
            format!("Times were already shown in {zone}.")
        },
    );
    Ok(see_other(PREFERENCES))
}
