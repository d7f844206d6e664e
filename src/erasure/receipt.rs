use rand::distributions::{Alphanumeric, DistString};

/// A receipt id: unguessable, so a receipt link reveals nothing to whoever lacks access.
pub fn new_receipt_id() -> String {
    format!(
        "rcpt_{}",
        Alphanumeric
            .sample_string(&mut rand::rngs::OsRng, 20)
            .to_lowercase()
    )
}
