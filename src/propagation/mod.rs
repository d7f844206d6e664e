//! Telling downstream systems about erasures: the signature a receiver checks, the
//! guarded HTTP client that delivers, and when to try again after a failure.

pub mod guarded_client;
pub mod retry;
pub mod signature;
