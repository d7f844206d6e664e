//! Standard Webhooks signatures (standardwebhooks.com): each delivery carries
//! `webhook-id`, `webhook-timestamp` and `webhook-signature`, the last an HMAC-SHA256
//! of `{id}.{timestamp}.{body}` under the destination's secret, so any receiver with a
//! Standard Webhooks library can check that a delivery came from Erasure, unchanged
//! and recently.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::distributions::{Alphanumeric, DistString};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// How a secret is shown to people, so it is recognisable as one.
const SECRET_PREFIX: &str = "whsec_";
/// The specification asks for 24 to 64 random bytes.
const GENERATED_BYTES: usize = 24;
const MIN_BYTES: usize = 24;
const MAX_BYTES: usize = 64;

/// The key a destination's deliveries are signed with; the receiver holds the same.
#[derive(Clone)]
pub struct SigningSecret(Vec<u8>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigningSecretError {
    #[error("a signing secret starts with whsec_")]
    MissingPrefix,
    #[error("a signing secret is whsec_ followed by base64")]
    NotBase64,
    #[error("a signing secret holds 24 to 64 bytes")]
    WrongLength,
}

impl SigningSecret {
    pub fn generate() -> SigningSecret {
        let mut bytes = vec![0u8; GENERATED_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SigningSecret(bytes)
    }

    /// A secret as stored: the bytes [`SigningSecret::as_bytes`] gave.
    pub fn from_bytes(bytes: &[u8]) -> SigningSecret {
        SigningSecret(bytes.to_vec())
    }

    /// A secret in its shown form, `whsec_` and standard base64.
    pub fn parse(text: &str) -> Result<SigningSecret, SigningSecretError> {
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SigningSecretError::MissingPrefix)?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| SigningSecretError::NotBase64)?;
        if !(MIN_BYTES..=MAX_BYTES).contains(&bytes.len()) {
            return Err(SigningSecretError::WrongLength);
        }
        Ok(SigningSecret(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The form a person copies into the receiving system.
    pub fn display(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// One signature, `v1,<base64>`, of the delivery `msg_id` sent at `timestamp`
    /// (Unix seconds) with `body` exactly as it goes on the wire.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(***)")
    }
}

impl PartialEq for SigningSecret {
    fn eq(&self, other: &SigningSecret) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SigningSecret {}

/// The `webhook-signature` value: one signature per secret, space-separated, so that
/// while a secret is being rotated a receiver holding either the old or the new one
/// accepts the delivery.
pub fn signature_header(secrets: &[&SigningSecret], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A new `webhook-id`: the same for every attempt of one delivery, so receivers can
/// drop repeats. Letters and digits only, since the signed content is split on dots.
pub fn new_message_id() -> String {
    format!("msg_{}", Alphanumeric.sample_string(&mut rand::rngs::OsRng, 27))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector of the Standard Webhooks reference libraries.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1614265330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_the_specifications_test_vector() {
        let secret = SigningSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(
            secret.sign(SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY),
            SPEC_SIGNATURE
        );
    }

    #[test]
    fn any_change_to_id_time_or_body_changes_the_signature() {
        let secret = SigningSecret::parse(SPEC_SECRET).unwrap();
        assert_ne!(
            secret.sign("msg_other", SPEC_TIMESTAMP, SPEC_BODY),
            SPEC_SIGNATURE
        );
        assert_ne!(
            secret.sign(SPEC_MSG_ID, SPEC_TIMESTAMP + 1, SPEC_BODY),
            SPEC_SIGNATURE
        );
        assert_ne!(
            secret.sign(SPEC_MSG_ID, SPEC_TIMESTAMP, br#"{"test":2432232314}"#),
            SPEC_SIGNATURE
        );
    }

    #[test]
    fn two_secrets_give_two_space_separated_signatures_new_first() {
        let old = SigningSecret::parse(SPEC_SECRET).unwrap();
        let new = SigningSecret::generate();
        let header = signature_header(&[&new, &old], SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY);
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], new.sign(SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY));
        assert_eq!(parts[1], SPEC_SIGNATURE);
    }

    #[test]
    fn one_secret_gives_one_signature() {
        let secret = SigningSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(
            signature_header(&[&secret], SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY),
            SPEC_SIGNATURE
        );
    }

    #[test]
    fn a_generated_secret_is_24_random_bytes_shown_as_whsec() {
        let secret = SigningSecret::generate();
        assert_eq!(secret.as_bytes().len(), 24);
        assert_ne!(secret, SigningSecret::generate());
        let shown = secret.display();
        assert!(shown.starts_with("whsec_"), "{shown}");
        assert_eq!(SigningSecret::parse(&shown).unwrap(), secret);
        assert_eq!(SigningSecret::from_bytes(secret.as_bytes()), secret);
    }

    #[test]
    fn the_shown_form_round_trips_the_specifications_secret() {
        assert_eq!(SigningSecret::parse(SPEC_SECRET).unwrap().display(), SPEC_SECRET);
    }

    #[test]
    fn malformed_secrets_are_refused() {
        assert_eq!(
            SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SigningSecretError::MissingPrefix)
        );
        assert_eq!(
            SigningSecret::parse("whsec_not base64!"),
            Err(SigningSecretError::NotBase64)
        );
        assert_eq!(
            SigningSecret::parse("whsec_c2hvcnQ="),
            Err(SigningSecretError::WrongLength)
        );
        let too_long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
        assert_eq!(
            SigningSecret::parse(&too_long),
            Err(SigningSecretError::WrongLength)
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = SigningSecret::parse(SPEC_SECRET).unwrap();
        let debug = format!("{secret:?}");
        assert!(!debug.contains("MfKQ"), "{debug}");
        assert!(!debug.contains(&format!("{:?}", secret.as_bytes())), "{debug}");
    }

    #[test]
    fn message_ids_are_msg_and_27_letters_or_digits() {
        let id = new_message_id();
        let rest = id.strip_prefix("msg_").expect(&id);
        assert_eq!(rest.len(), 27);
        assert!(rest.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
        assert_ne!(new_message_id(), id);
    }
}
