//! Telling downstream systems about erasures: destinations and their signing secrets,
//! the signature a receiver checks, the guarded HTTP client that delivers, when to try
//! again after a failure, the worker that delivers the outbox, and what a receipt says
//! of it.

pub mod deliverer;
pub mod destinations;
pub mod guarded_client;
pub mod receipts;
pub mod retry;
pub mod signature;
pub mod signing_keys;
