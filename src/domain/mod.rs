//! Plain types that parse at the edge and cannot hold an invalid value afterwards.

mod api_key_name;
mod audit_action;
mod customer_filter;
mod customer_patch;
mod email;
mod identifier;
mod job_kind;
mod otp_code;
pub mod masking;
mod permission;
mod pii_keys;
mod role;
mod role_name;
mod track_event;
mod workspace_name;

pub use api_key_name::{ApiKeyName, ApiKeyNameError};
pub use audit_action::AuditAction;
pub use customer_filter::{
    AttributeMatch, Cursor, CursorError, CustomerFilter, CustomerSort, CustomerStatus, FilterErrors, FilterField,
    QueryMap, ACTIVE_WITHIN_DAYS,
};
pub use customer_patch::{Change, CustomerPatch, PatchError};
pub use email::{Email, EmailError};
pub use identifier::{Identifier, IdentifierError, IdentifierMode, UnknownIdentifierMode};
pub use job_kind::JobKind;
pub use otp_code::OtpCode;
pub use permission::{Permission, PermissionSet, UnknownPermission};
pub use pii_keys::{PiiKeys, PiiKeysError};
pub use role::BuiltinRole;
pub use role_name::{RoleName, RoleNameError};
pub use track_event::{EventError, TrackEvent};
pub use workspace_name::{slugify, WorkspaceName, WorkspaceNameError};
