use std::collections::BTreeSet;
use std::fmt;

/// One thing a role may allow. Deny by default: a role holds only what it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    CustomersView,
    CustomersViewPii,
    CustomersArchive,
    CustomersDelete,
    CustomersDeleteAll,
    SuppressionsManage,
    AuditView,
    TeamManage,
    SettingsManage,
    RequestsManage,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown permission {0:?}")]
pub struct UnknownPermission(pub String);

impl Permission {
    pub const ALL: [Permission; 10] = [
        Permission::CustomersView,
        Permission::CustomersViewPii,
        Permission::CustomersArchive,
        Permission::CustomersDelete,
        Permission::CustomersDeleteAll,
        Permission::SuppressionsManage,
        Permission::AuditView,
        Permission::TeamManage,
        Permission::SettingsManage,
        Permission::RequestsManage,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Permission::CustomersView => "customers.view",
            Permission::CustomersViewPii => "customers.view_pii",
            Permission::CustomersArchive => "customers.archive",
            Permission::CustomersDelete => "customers.delete",
            Permission::CustomersDeleteAll => "customers.delete_all",
            Permission::SuppressionsManage => "suppressions.manage",
            Permission::AuditView => "audit.view",
            Permission::TeamManage => "team.manage",
            Permission::SettingsManage => "settings.manage",
            Permission::RequestsManage => "requests.manage",
        }
    }

    /// The label shown next to the checkbox on the role form.
    pub fn label(self) -> &'static str {
        match self {
            Permission::CustomersView => "View customers",
            Permission::CustomersViewPii => "See personal data",
            Permission::CustomersArchive => "Archive customers",
            Permission::CustomersDelete => "Delete customers",
            Permission::CustomersDeleteAll => "Delete all customers",
            Permission::SuppressionsManage => "Manage suppressions",
            Permission::AuditView => "Read the audit log",
            Permission::TeamManage => "Manage the team",
            Permission::SettingsManage => "Manage workspace settings",
            Permission::RequestsManage => "Handle data-subject requests",
        }
    }

    /// What the permission allows, in plain words.
    pub fn explanation(self) -> &'static str {
        match self {
            Permission::CustomersView => "Open the customers list and profiles. Personal data stays masked.",
            Permission::CustomersViewPii => "See email addresses, phone numbers and names unmasked.",
            Permission::CustomersArchive => {
                "Anonymize customers: erase their identifying data and keep their activity."
            }
            Permission::CustomersDelete => {
                "Delete customers forever: one, the selected ones, or everyone matching filters."
            }
            Permission::CustomersDeleteAll => {
                "Start deleting every customer of a workspace (still needs the account owner's code)."
            }
            Permission::SuppressionsManage => "Look up, add and remove suppressed identifiers.",
            Permission::AuditView => "Read the audit log and erasure receipts.",
            Permission::TeamManage => "Invite, change and remove team members; edit roles.",
            Permission::SettingsManage => "Change workspace settings and API keys.",
            Permission::RequestsManage => {
                "Record data-subject requests, export a person's data for them, erase it and close the request."
            }
        }
    }

    pub fn parse(key: &str) -> Result<Permission, UnknownPermission> {
        Permission::ALL
            .into_iter()
            .find(|p| p.key() == key)
            .ok_or_else(|| UnknownPermission(key.to_owned()))
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The permissions one role grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionSet(BTreeSet<Permission>);

impl PermissionSet {
    pub fn all() -> Self {
        PermissionSet(Permission::ALL.into_iter().collect())
    }

    pub fn of(permissions: &[Permission]) -> Self {
        PermissionSet(permissions.iter().copied().collect())
    }

    pub fn contains(&self, permission: Permission) -> bool {
        self.0.contains(&permission)
    }

    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `other` grants everything this set grants: what someone may hand on.
    pub fn is_subset(&self, other: &PermissionSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Parses the space-separated form stored in the database.
    pub fn parse_stored(stored: &str) -> Result<Self, UnknownPermission> {
        stored
            .split_whitespace()
            .map(Permission::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(PermissionSet)
    }

    pub fn to_stored(&self) -> String {
        self.0.iter().map(|p| p.key()).collect::<Vec<_>>().join(" ")
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        PermissionSet(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_round_trips_through_its_key() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.key()), Ok(p));
        }
    }

    #[test]
    fn stored_sets_round_trip_and_reject_unknown_keys() {
        let set = PermissionSet::of(&[Permission::AuditView, Permission::CustomersDelete]);
        assert_eq!(PermissionSet::parse_stored(&set.to_stored()), Ok(set));
        assert!(PermissionSet::parse_stored("customers.view root").is_err());
        assert!(PermissionSet::parse_stored("").unwrap().is_empty());
    }
}
