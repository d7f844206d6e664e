//! Plain types that parse at the edge and cannot hold an invalid value afterwards.

mod audit_action;
mod email;
mod permission;
mod role;
mod workspace_name;

pub use audit_action::AuditAction;
pub use email::{Email, EmailError};
pub use permission::{Permission, PermissionSet, UnknownPermission};
pub use role::BuiltinRole;
pub use workspace_name::{slugify, WorkspaceName, WorkspaceNameError};
