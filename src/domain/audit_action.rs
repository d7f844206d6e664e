use std::fmt;

/// Everything the audit log records. The stored key never changes once released,
/// because the hash chain covers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    SetupCompleted,
    SignInSucceeded,
    SignInFailed,
    SignInThrottled,
    SignInFlood,
    SignOut,
    SessionsRevoked,
    TotpEnabled,
    TotpDisabled,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    PermissionDenied,
    RoleCreated,
    RoleUpdated,
    RoleDeleted,
    MemberInvited,
    InvitationRevoked,
    MemberJoined,
    MemberRoleChanged,
    MemberDisabled,
    MemberEnabled,
    MemberRemoved,
    OwnershipTransferred,
    AccountAdminGranted,
    AccountAdminRevoked,
    ApiKeyCreated,
    ApiKeyRevoked,
    WorkspaceCreated,
    WorkspaceUpdated,
    CustomerArchived,
    CustomerDeleted,
    CustomersImported,
    IdentifierSuppressed,
    IdentifierUnsuppressed,
    LegalHoldSet,
    LegalHoldReleased,
    CodeSent,
    CodeFailed,
    CodeAccepted,
    JobStarted,
    JobFinished,
    JobCancelled,
    ErasuresReplayed,
    CustomersMerged,
}

impl AuditAction {
    pub const ALL: [AuditAction; 47] = [
        AuditAction::SetupCompleted,
        AuditAction::SignInSucceeded,
        AuditAction::SignInFailed,
        AuditAction::SignInThrottled,
        AuditAction::SignInFlood,
        AuditAction::SignOut,
        AuditAction::SessionsRevoked,
        AuditAction::TotpEnabled,
        AuditAction::TotpDisabled,
        AuditAction::RecoveryCodeUsed,
        AuditAction::RecoveryCodesRegenerated,
        AuditAction::PasswordChanged,
        AuditAction::PasswordResetRequested,
        AuditAction::PasswordReset,
        AuditAction::PermissionDenied,
        AuditAction::RoleCreated,
        AuditAction::RoleUpdated,
        AuditAction::RoleDeleted,
        AuditAction::MemberInvited,
        AuditAction::InvitationRevoked,
        AuditAction::MemberJoined,
        AuditAction::MemberRoleChanged,
        AuditAction::MemberDisabled,
        AuditAction::MemberEnabled,
        AuditAction::MemberRemoved,
        AuditAction::OwnershipTransferred,
        AuditAction::AccountAdminGranted,
        AuditAction::AccountAdminRevoked,
        AuditAction::ApiKeyCreated,
        AuditAction::ApiKeyRevoked,
        AuditAction::WorkspaceCreated,
        AuditAction::WorkspaceUpdated,
        AuditAction::CustomerArchived,
        AuditAction::CustomerDeleted,
        AuditAction::CustomersImported,
        AuditAction::IdentifierSuppressed,
        AuditAction::IdentifierUnsuppressed,
        AuditAction::LegalHoldSet,
        AuditAction::LegalHoldReleased,
        AuditAction::CodeSent,
        AuditAction::CodeFailed,
        AuditAction::CodeAccepted,
        AuditAction::JobStarted,
        AuditAction::JobFinished,
        AuditAction::JobCancelled,
        AuditAction::ErasuresReplayed,
        AuditAction::CustomersMerged,
    ];

    pub fn key(self) -> &'static str {
        use AuditAction::*;
        match self {
            SetupCompleted => "setup.completed",
            SignInSucceeded => "sign_in.succeeded",
            SignInFailed => "sign_in.failed",
            SignInThrottled => "sign_in.throttled",
            SignInFlood => "sign_in.flood",
            SignOut => "sign_out",
            SessionsRevoked => "sessions.revoked",
            TotpEnabled => "totp.enabled",
            TotpDisabled => "totp.disabled",
            RecoveryCodeUsed => "totp.recovery_code_used",
            RecoveryCodesRegenerated => "totp.recovery_codes_regenerated",
            PasswordChanged => "password.changed",
            PasswordResetRequested => "password.reset_requested",
            PasswordReset => "password.reset",
            PermissionDenied => "permission.denied",
            RoleCreated => "role.created",
            RoleUpdated => "role.updated",
            RoleDeleted => "role.deleted",
            MemberInvited => "member.invited",
            InvitationRevoked => "invitation.revoked",
            MemberJoined => "member.joined",
            MemberRoleChanged => "member.role_changed",
            MemberDisabled => "member.disabled",
            MemberEnabled => "member.enabled",
            MemberRemoved => "member.removed",
            OwnershipTransferred => "ownership.transferred",
            AccountAdminGranted => "account_admin.granted",
            AccountAdminRevoked => "account_admin.revoked",
            ApiKeyCreated => "api_key.created",
            ApiKeyRevoked => "api_key.revoked",
            WorkspaceCreated => "workspace.created",
            WorkspaceUpdated => "workspace.updated",
            CustomerArchived => "customer.archived",
            CustomerDeleted => "customer.deleted",
            CustomersImported => "customers.imported",
            IdentifierSuppressed => "identifier.suppressed",
            IdentifierUnsuppressed => "identifier.unsuppressed",
            LegalHoldSet => "legal_hold.set",
            LegalHoldReleased => "legal_hold.released",
            CodeSent => "code.sent",
            CodeFailed => "code.failed",
            CodeAccepted => "code.accepted",
            JobStarted => "job.started",
            JobFinished => "job.finished",
            JobCancelled => "job.cancelled",
            ErasuresReplayed => "erasures.replayed",
            CustomersMerged => "customers.merged",
        }
    }

    pub fn parse(key: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.key() == key)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_are_unique_and_parse_back() {
        let keys: HashSet<_> = AuditAction::ALL.iter().map(|a| a.key()).collect();
        assert_eq!(keys.len(), AuditAction::ALL.len());
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.key()), Some(action));
        }
    }
}
