use super::{Permission, PermissionSet};

/// The roles every installation has; they can be assigned but not edited or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinRole {
    Owner,
    Admin,
    ComplianceReviewer,
    Member,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 4] = [
        BuiltinRole::Owner,
        BuiltinRole::Admin,
        BuiltinRole::ComplianceReviewer,
        BuiltinRole::Member,
    ];

    /// The value of `roles.builtin`.
    pub fn key(self) -> &'static str {
        match self {
            BuiltinRole::Owner => "owner",
            BuiltinRole::Admin => "admin",
            BuiltinRole::ComplianceReviewer => "compliance",
            BuiltinRole::Member => "member",
        }
    }

    pub fn from_key(key: &str) -> Option<BuiltinRole> {
        BuiltinRole::ALL.into_iter().find(|r| r.key() == key)
    }

    /// Kept in code, not in the database, so that a new permission reaches the built-in
    /// roles without a data migration.
    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        match self {
            BuiltinRole::Owner | BuiltinRole::Admin => PermissionSet::all(),
            BuiltinRole::ComplianceReviewer => PermissionSet::of(&[CustomersView, AuditView]),
            BuiltinRole::Member => PermissionSet::of(&[CustomersView]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_reviewers_cannot_delete_or_see_personal_data() {
        for role in [BuiltinRole::Member, BuiltinRole::ComplianceReviewer] {
            let set = role.permissions();
            assert!(!set.contains(Permission::CustomersDelete));
            assert!(!set.contains(Permission::CustomersViewPii));
        }
    }

    #[test]
    fn owners_and_admins_hold_every_permission() {
        assert_eq!(BuiltinRole::Owner.permissions(), PermissionSet::all());
        assert_eq!(BuiltinRole::Admin.permissions(), PermissionSet::all());
    }
}
