//! Anonymized customers: what a compliance reviewer checks. Internal ids, when and by
//! whom each customer was anonymized, and how much activity was kept; nothing that
//! could identify anyone.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{DateTime, Datelike};
use serde::Deserialize;

use super::extractors::{perm, Authorized};
use super::layout::{render, Layout, Section};
use super::session::TypedSession;
use super::state::AppState;
use super::WebError;
use crate::format::filters;
use crate::store::anonymized::{self, Position};
use crate::store::{self, StoreError};

const PAGE_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/w/{workspace}/anonymized").route(web::get().to(list)));
}

#[derive(Debug, Default, Deserialize)]
struct PageParams {
    #[serde(default)]
    after: Option<String>,
}

/// A page position in a link: `{archived_at as unix microseconds}_{id}`.
fn encode(position: Position) -> String {
    format!(
        "{}_{}",
        position.archived_at.and_utc().timestamp_micros(),
        position.id
    )
}

fn decode(raw: &str) -> Result<Position, WebError> {
    let bad = || WebError::BadRequest("That page link is damaged. Start again from the first page.".into());
    let (micros, id) = raw.split_once('_').ok_or_else(bad)?;
    let archived_at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        // No row was archived outside years 1 to 9999, and PostgreSQL refuses moments
        // before 4713 BC as parameters.
        .filter(|at| (1..=9999).contains(&at.year()))
        .ok_or_else(bad)?
        .naive_utc();
    let id = id.parse::<i64>().map_err(|_| bad())?;
    Ok(Position { archived_at, id })
}

struct Row {
    id: i64,
    archived_at: String,
    archived_by: String,
    events: i64,
}

#[derive(Template)]
#[template(path = "anonymized/list.html")]
struct AnonymizedPage {
    layout: Layout,
    base: String,
    total: i64,
    rows: Vec<Row>,
    next: Option<String>,
    is_later_page: bool,
}

async fn list(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::AuditView>,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, WebError> {
    let after = params
        .after
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(decode)
        .transpose()?;
    let workspace_id = access.workspace.id;
    let (total, mut customers, events, names) = state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            let total = anonymized::count(conn, workspace_id)?;
            let customers = anonymized::page(conn, workspace_id, after, PAGE_SIZE + 1)?;
            let ids: Vec<i64> = customers.iter().map(|c| c.id).collect();
            let events = anonymized::event_counts(conn, workspace_id, &ids)?;
            let mut by: Vec<i64> = customers.iter().filter_map(|c| c.archived_by).collect();
            by.sort_unstable();
            by.dedup();
            let names: HashMap<i64, String> = store::users::names_by_id(conn, &by)?.into_iter().collect();
            Ok((total, customers, events, names))
        })
        .await?;
    let next = if customers.len() as i64 > PAGE_SIZE {
        customers.truncate(PAGE_SIZE as usize);
        customers.last().map(|c| {
            encode(Position {
                archived_at: c.archived_at,
                id: c.id,
            })
        })
    } else {
        None
    };
    let zone = access.time_zone();
    let rows = customers
        .into_iter()
        .map(|c| Row {
            id: c.id,
            archived_at: crate::format::minute(c.archived_at, zone),
            archived_by: match c.archived_by {
                Some(id) => names.get(&id).cloned().unwrap_or_else(|| format!("user #{id}")),
                None => "an API key or Erasure itself".into(),
            },
            events: events.get(&c.id).copied().unwrap_or_default(),
        })
        .collect();
    render(&AnonymizedPage {
        layout: Layout::workspace("Anonymized customers", Section::Audit, &session, &access),
        base: access.base(),
        total,
        rows,
        next,
        is_later_page: after.is_some(),
    })
}
