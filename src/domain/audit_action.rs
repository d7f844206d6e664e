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
    TimeZoneChanged,
    DestinationCreated,
    DestinationUpdated,
    DestinationSecretRotated,
    DestinationPaused,
    DestinationResumed,
    DestinationRemoved,
    DeliveryResent,
    RetentionPolicyCreated,
    RetentionPolicyUpdated,
    RetentionPolicyPaused,
    RetentionPolicyResumed,
    RetentionPolicyDeleted,
}

impl AuditAction {
    pub const ALL: [AuditAction; 60] = [
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
        AuditAction::TimeZoneChanged,
        AuditAction::DestinationCreated,
        AuditAction::DestinationUpdated,
        AuditAction::DestinationSecretRotated,
        AuditAction::DestinationPaused,
        AuditAction::DestinationResumed,
        AuditAction::DestinationRemoved,
        AuditAction::DeliveryResent,
        AuditAction::RetentionPolicyCreated,
        AuditAction::RetentionPolicyUpdated,
        AuditAction::RetentionPolicyPaused,
        AuditAction::RetentionPolicyResumed,
        AuditAction::RetentionPolicyDeleted,
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
            TimeZoneChanged => "time_zone.changed",
            DestinationCreated => "destination.created",
            DestinationUpdated => "destination.updated",
            DestinationSecretRotated => "destination.secret_rotated",
            DestinationPaused => "destination.paused",
            DestinationResumed => "destination.resumed",
            DestinationRemoved => "destination.removed",
            DeliveryResent => "delivery.resent",
            RetentionPolicyCreated => "retention_policy.created",
            RetentionPolicyUpdated => "retention_policy.updated",
            RetentionPolicyPaused => "retention_policy.paused",
            RetentionPolicyResumed => "retention_policy.resumed",
            RetentionPolicyDeleted => "retention_policy.deleted",
        }
    }

    /// The action in words, for people reading the log; the key stays what is stored.
    pub fn label(self) -> &'static str {
        use AuditAction::*;
        match self {
            SetupCompleted => "Console set up",
            SignInSucceeded => "Signed in",
            SignInFailed => "Sign-in failed",
            SignInThrottled => "Sign-ins from new places stopped",
            SignInFlood => "Many failed sign-ins",
            SignOut => "Signed out",
            SessionsRevoked => "Signed out everywhere",
            TotpEnabled => "Two-step sign-in turned on",
            TotpDisabled => "Two-step sign-in turned off",
            RecoveryCodeUsed => "Recovery code used",
            RecoveryCodesRegenerated => "New recovery codes",
            PasswordChanged => "Password changed",
            PasswordResetRequested => "Password reset asked for",
            PasswordReset => "Password reset",
            PermissionDenied => "Refused: no permission",
            RoleCreated => "Role created",
            RoleUpdated => "Role changed",
            RoleDeleted => "Role deleted",
            MemberInvited => "Person invited",
            InvitationRevoked => "Invitation revoked",
            MemberJoined => "Person joined",
            MemberRoleChanged => "Person's role changed",
            MemberDisabled => "Person turned off",
            MemberEnabled => "Person turned back on",
            MemberRemoved => "Person removed",
            OwnershipTransferred => "Ownership handed over",
            AccountAdminGranted => "Made account admin",
            AccountAdminRevoked => "No longer account admin",
            ApiKeyCreated => "API key created",
            ApiKeyRevoked => "API key revoked",
            WorkspaceCreated => "Workspace created",
            WorkspaceUpdated => "Workspace settings changed",
            CustomerArchived => "Customers archived",
            CustomerDeleted => "Customers deleted",
            CustomersImported => "Customers imported",
            IdentifierSuppressed => "Identifier suppressed",
            IdentifierUnsuppressed => "Identifier unsuppressed",
            LegalHoldSet => "Legal hold set",
            LegalHoldReleased => "Legal hold released",
            CodeSent => "Owner's code sent",
            CodeFailed => "Owner's code wrong",
            CodeAccepted => "Owner's code accepted",
            JobStarted => "Bulk job started",
            JobFinished => "Bulk job finished",
            JobCancelled => "Bulk job cancelled",
            ErasuresReplayed => "Erasures replayed after a restore",
            CustomersMerged => "Customers merged",
            TimeZoneChanged => "Time zone changed",
            DestinationCreated => "Destination added",
            DestinationUpdated => "Destination changed",
            DestinationSecretRotated => "Destination secret rotated",
            DestinationPaused => "Destination paused",
            DestinationResumed => "Destination resumed",
            DestinationRemoved => "Destination removed",
            DeliveryResent => "Delivery resent",
            RetentionPolicyCreated => "Retention policy added",
            RetentionPolicyUpdated => "Retention policy changed",
            RetentionPolicyPaused => "Retention policy paused",
            RetentionPolicyResumed => "Retention policy resumed",
            RetentionPolicyDeleted => "Retention policy deleted",
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
    fn labels_are_words_and_unique() {
        let labels: HashSet<_> = AuditAction::ALL.iter().map(|a| a.label()).collect();
        assert_eq!(labels.len(), AuditAction::ALL.len());
        for action in AuditAction::ALL {
            let label = action.label();
            assert!(!label.contains('.') && !label.contains('_'), "{label}");
            assert!(label.chars().next().is_some_and(char::is_uppercase), "{label}");
        }
    }

    #[test]
    fn keys_are_unique_and_parse_back() {
        let keys: HashSet<_> = AuditAction::ALL.iter().map(|a| a.key()).collect();
        assert_eq!(keys.len(), AuditAction::ALL.len());
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.key()), Some(action));
        }
    }
}
