//! What every signed-in page shows around its content: navigation, the workspace
//! switcher, the user, flash messages and the form token.

use actix_web::HttpResponse;
use askama::Template;

use super::extractors::{CurrentUser, WorkspaceAccess};
use super::session::{Flash, TypedSession};
use super::WebError;
use crate::domain::Permission;

#[derive(Debug, Clone)]
pub struct WorkspaceLink {
    pub slug: String,
    pub name: String,
}

/// Which section the page belongs to, for the highlighted navigation item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    None,
    Customers,
    Suppressions,
    Audit,
    Requests,
    Settings,
}

pub struct Layout {
    pub title: String,
    pub csrf_token: String,
    pub user_name: Option<String>,
    pub workspace: Option<WorkspaceLink>,
    pub workspaces: Vec<WorkspaceLink>,
    pub show_customers: bool,
    pub show_audit: bool,
    pub show_suppressions: bool,
    pub show_requests: bool,
    pub show_settings: bool,
    pub section: Section,
    pub flashes: Vec<Flash>,
}

impl Layout {
    /// For pages seen before sign-in (setup, login).
    pub fn public(title: impl Into<String>, session: &TypedSession) -> Layout {
        Layout {
            title: title.into(),
            csrf_token: session.csrf_token(),
            user_name: None,
            workspace: None,
            workspaces: Vec::new(),
            show_customers: false,
            show_audit: false,
            show_suppressions: false,
            show_requests: false,
            show_settings: false,
            section: Section::None,
            flashes: session.take_flashes(),
        }
    }

    /// For signed-in pages outside any one workspace.
    pub fn signed_in(title: impl Into<String>, session: &TypedSession, user: &CurrentUser) -> Layout {
        Layout {
            title: title.into(),
            csrf_token: session.csrf_token(),
            user_name: Some(user.user.name.clone()),
            workspace: None,
            workspaces: user.workspace_links(),
            show_customers: false,
            show_audit: false,
            show_suppressions: false,
            show_requests: false,
            show_settings: true,
            section: Section::Settings,
            flashes: session.take_flashes(),
        }
    }

    /// For pages inside a workspace: the navigation shows what the role allows.
    pub fn workspace(
        title: impl Into<String>,
        section: Section,
        session: &TypedSession,
        access: &WorkspaceAccess,
    ) -> Layout {
        Layout {
            title: title.into(),
            csrf_token: session.csrf_token(),
            user_name: Some(access.user.user.name.clone()),
            workspace: Some(WorkspaceLink {
                slug: access.workspace.slug.clone(),
                name: access.workspace.name.clone(),
            }),
            workspaces: access.user.workspace_links(),
            show_customers: access.can(Permission::CustomersView),
            show_audit: access.can(Permission::AuditView),
            show_suppressions: access.can(Permission::SuppressionsManage)
                || access.can(Permission::AuditView),
            show_requests: access.can(Permission::RequestsManage) || access.can(Permission::AuditView),
            show_settings: true,
            section,
            flashes: session.take_flashes(),
        }
    }

    pub fn section_is_customers(&self) -> bool {
        self.section == Section::Customers
    }

    pub fn section_is_suppressions(&self) -> bool {
        self.section == Section::Suppressions
    }

    pub fn section_is_requests(&self) -> bool {
        self.section == Section::Requests
    }

    pub fn section_is_audit(&self) -> bool {
        self.section == Section::Audit
    }

    pub fn section_is_settings(&self) -> bool {
        self.section == Section::Settings
    }
}

/// Renders a page to a 200 response.
pub fn render<T: Template>(page: &T) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

/// Renders a page with another status (a form shown again with its errors: 422).
pub fn render_with_status<T: Template>(
    status: actix_web::http::StatusCode,
    page: &T,
) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

/// POST → 303 → GET.
pub fn see_other(location: impl Into<String>) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location.into()))
        .finish()
}
