//! The core: anonymize, delete, suppress; the job runner that does bulk work in
//! resumable batches; receipts.

pub mod anonymize;
pub mod batch;
mod error;
pub mod import;
pub mod import_report;
pub mod journal;
pub mod pending_imports;
pub mod preview;
pub mod receipt;
pub mod replay;
pub mod runner;
pub mod single;
pub mod suppress;

pub use error::ErasureError;
