//! Plain types that parse at the edge and cannot hold an invalid value afterwards.

mod anonymous_event;
mod api_key_name;
mod audit_action;
mod customer_filter;
mod customer_import;
mod customer_patch;
pub mod data_request;
mod destination_event;
pub mod destination_url;
mod device;
pub mod email;
mod identifier;
mod identifier_kind;
mod identifiers_object;
mod import_row;
mod job_kind;
mod job_state;
pub mod masking;
mod merge_request;
mod otp_code;
mod permission;
mod person_name;
mod personal_data;
mod pii_keys;
mod retention_rule;
mod role;
mod role_name;
mod strict_json;
mod time_zone;
mod track_event;
mod track_operation;
mod workspace_name;

pub use anonymous_event::{AnonymousEvent, AnonymousEventError, AnonymousId, AnonymousIdError};
pub use api_key_name::{ApiKeyName, ApiKeyNameError};
pub use audit_action::AuditAction;
pub use customer_filter::{
    AttributeMatch, Cursor, CursorError, CustomerFilter, CustomerSort, CustomerStatus, FilterErrors,
    FilterField, PageSize, PageStart, QueryMap, SortDirection, Withheld, ACTIVE_WITHIN_DAYS,
};
pub use customer_import::{parse_customer_csv, ImportFileError, ParsedImport, Rejection, MAX_IMPORT_ROWS};
pub use customer_patch::{Change, CustomerPatch, PatchError, MAX_ATTRIBUTES};
pub use destination_event::{
    DeliveryState, DestinationEvent, DestinationEvents, DestinationEventsError, PausedReason,
};
pub use destination_url::{DestinationUrl, DestinationUrlError};
pub use device::{
    DeviceError, DevicePlatform, DeviceToken, DeviceUpdate, MAX_DEVICES_PER_CUSTOMER, MAX_DEVICE_TOKEN_CHARS,
};
pub use email::{Email, EmailError};
pub use identifier::{Identifier, IdentifierError, IdentifierMode, UnknownIdentifierMode};
pub use identifier_kind::{IdentifierKind, UnknownIdentifierKind};
pub use identifiers_object::{parse_identifiers, IdentifiersError};
pub use import_row::{ImportRow, RowCells, RowError};
pub use job_kind::{JobKind, UnknownJobKind};
pub use job_state::{JobState, UnknownJobState};
pub use merge_request::{MergeRequest, MergeRequestError};
pub use otp_code::OtpCode;
pub use permission::{Permission, PermissionSet, UnknownPermission};
pub use person_name::{PersonName, PersonNameError};
pub use personal_data::{Identifying, PersonalData, ALWAYS_PERSONAL, PERSONAL_SUFFIXES};
pub use pii_keys::{PiiKeys, PiiKeysError};
pub use retention_rule::{
    RetentionAction, RetentionErrors, RetentionField, RetentionInput, RetentionRule,
    MAX_DAYS as MAX_RETENTION_DAYS, MIN_DAYS as MIN_RETENTION_DAYS,
};
pub use role::BuiltinRole;
pub use role_name::{RoleName, RoleNameError};
pub use strict_json::parse_strict;
pub use time_zone::{TimeZone, UnknownTimeZone};
pub use track_event::{EventError, TrackEvent};
pub use track_operation::{OperationError, TrackOperation, MAX_BATCH_OPERATIONS};
pub use workspace_name::{slugify, WorkspaceName, WorkspaceNameError};
