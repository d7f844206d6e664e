//! A destination's signing secret, derived from the server's key and a random nonce
//! stored with the destination: the database alone cannot sign a delivery, and a
//! rotation is a new nonce.

use rand::distributions::{Alphanumeric, DistString};

use crate::propagation::signature::SigningSecret;
use crate::secret::SecretKey;

/// A fresh nonce for a new destination or a rotation.
pub fn new_nonce() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 32)
}

/// The secret a nonce stands for: 32 bytes of HMAC-SHA256 under the server's key.
pub fn signing_secret(server: &SecretKey, nonce: &str) -> SigningSecret {
    let digest = server.digest("destination-signing-secret", nonce.as_bytes());
    SigningSecret::from_bytes(&hex::decode(digest).expect("a digest is hex"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_always_stands_for_the_same_secret_and_another_for_another() {
        let server = SecretKey::from_configured(&"k".repeat(32)).unwrap();
        let nonce = new_nonce();
        assert_eq!(
            signing_secret(&server, &nonce).display(),
            signing_secret(&server, &nonce).display()
        );
        assert_ne!(
            signing_secret(&server, &nonce).display(),
            signing_secret(&server, &new_nonce()).display()
        );
        assert!(signing_secret(&server, &nonce).display().starts_with("whsec_"));
        let other_server = SecretKey::from_configured(&"j".repeat(32)).unwrap();
        assert_ne!(
            signing_secret(&server, &nonce).display(),
            signing_secret(&other_server, &nonce).display()
        );
    }
}
