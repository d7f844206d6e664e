//! The core: anonymize, delete, suppress; the job runner that does bulk work in
//! resumable batches; receipts. Every way of erasing goes through these functions,
//! which own their transaction, audit entry and guarantees (legal hold, suppression
//! digests, the journal synced before the commit, the search index's secure delete,
//! the flush after it); the web layer only asks for them.

pub mod anonymize;
pub mod anonymous;
pub mod batch;
pub mod confirm;
pub mod eraser;
pub mod erasure_audit;
mod error;
pub mod import;
pub mod import_report;
pub mod journal;
pub mod legal_hold;
pub mod merge;
pub mod outgoing;
pub mod owner_code;
pub mod pending_imports;
pub mod preview;
pub mod receipt;
pub mod replay;
pub mod runner;
pub mod single;
pub mod suppress;
pub mod suppression;
pub mod track_batch;

pub use eraser::Eraser;
pub use error::ErasureError;
