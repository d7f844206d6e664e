//! The small navigation beside every settings page: the account's own pages, then for
//! each workspace the settings pages the user's role there allows. A link the role
//! does not allow is not shown (and its page refuses anyway).

use crate::domain::Permission;
use crate::store::roles::Role;
use crate::store::workspaces::Workspace;

pub struct NavLink {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

pub struct NavGroup {
    /// The workspace's name; `None` for the account's own pages.
    pub title: Option<String>,
    pub links: Vec<NavLink>,
}

pub struct SettingsNav {
    pub groups: Vec<NavGroup>,
}

impl SettingsNav {
    /// `current` is the path of the page being shown.
    pub fn new(memberships: &[(Workspace, Role)], current: &str) -> SettingsNav {
        let link = |href: String, label| NavLink {
            current: href == current,
            href,
            label,
        };
        let mut groups = vec![NavGroup {
            title: None,
            links: vec![
                link("/settings/security".into(), "Security"),
                link("/settings/preferences".into(), "Preferences"),
                link("/settings/workspaces".into(), "Workspaces"),
            ],
        }];
        for (workspace, role) in memberships {
            let can = role.permission_set();
            let base = format!("/w/{}", workspace.slug);
            let mut links = Vec::new();
            if can.contains(Permission::SettingsManage) {
                links.push(link(format!("{base}/settings/workspace"), "Workspace"));
                links.push(link(format!("{base}/settings/api-keys"), "API keys"));
                links.push(link(format!("{base}/settings/destinations"), "Destinations"));
                links.push(link(format!("{base}/settings/retention"), "Retention"));
                links.push(link(format!("{base}/settings/owner-code"), "The owner's code"));
            }
            if can.contains(Permission::TeamManage) {
                links.push(link(format!("{base}/settings/team"), "Team"));
                links.push(link(format!("{base}/settings/roles"), "Roles"));
            }
            if can.contains(Permission::AuditView) {
                links.push(link(format!("{base}/anonymized"), "Anonymized customers"));
            }
            if !links.is_empty() {
                groups.push(NavGroup {
                    title: Some(workspace.name.clone()),
                    links,
                });
            }
        }
        SettingsNav { groups }
    }
}
