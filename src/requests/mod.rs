//! Data-subject requests: a person's request (access, erasure or both) from intake to a
//! receipt within the legal deadline, and the export of everything stored about them
//! (GDPR Art. 15 access, Art. 20 portability).

pub mod access_export;
pub mod export;
pub mod lifecycle;
pub mod reminders;
