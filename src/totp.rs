//! Authenticator codes (RFC 6238, 6 digits, 30 s) and single-use recovery codes.

use rand::Rng;
use sha2::{Digest, Sha256};
use totp_rs::{Builder, Secret, Totp};

use crate::secret::SecretKey;

#[derive(Debug, thiserror::Error)]
pub enum TotpSetupError {
    #[error("the stored authenticator secret is unreadable")]
    BadSecret,
    #[error("the authenticator could not be set up: {0}")]
    Totp(#[from] totp_rs::TotpError),
}

pub fn new_secret() -> String {
    Secret::generate().to_base32()
}

fn totp(secret_base32: &str, account: &str) -> Result<Totp, TotpSetupError> {
    let secret = Secret::try_from_base32(secret_base32).map_err(|_| TotpSetupError::BadSecret)?;
    Ok(Builder::new()
        .with_secret(secret)
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some("Erasure"))
        .build()?)
}

/// The time step a code belongs to (the current one, or one either side for clock
/// drift), or None when it matches none. The caller must refuse a step it has seen.
pub fn matching_step(secret_base32: &str, code: &str, unix_time: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret_base32, "account").ok()?;
    totp.check(&code, unix_time)
        .and_then(|step| i64::try_from(step).ok())
}

/// The code for a moment, for tests and for showing during enrolment checks.
pub fn code_at(secret_base32: &str, unix_time: u64) -> Option<String> {
    Some(
        totp(secret_base32, "account")
            .ok()?
            .generate(unix_time)
            .to_string(),
    )
}

/// The enrolment QR code as a PNG in base64, and the otpauth:// URL behind it.
pub fn enrolment(secret_base32: &str, account: &str) -> Result<(String, String), TotpSetupError> {
    let totp = totp(secret_base32, account)?;
    let url = totp.to_url()?;
    let qr = totp.to_qr_base64()?;
    Ok((qr, url))
}

/// How a keyed recovery-code digest is stored: the prefix marks the form, so that an
/// entry is only ever compared in the form it was stored in.
const KEYED_PREFIX: &str = "hmac-sha256:";

/// Ten recovery codes like `4f7q-9x2m`, and their keyed digests for storage.
pub fn new_recovery_codes(key: &SecretKey) -> (Vec<String>, Vec<String>) {
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    let mut rng = rand::rngs::OsRng;
    let codes: Vec<String> = (0..10)
        .map(|_| {
            let mut code = String::with_capacity(9);
            for i in 0..8 {
                if i == 4 {
                    code.push('-');
                }
                code.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
            }
            code
        })
        .collect();
    let digests = codes.iter().map(|c| recovery_code_digest(key, c)).collect();
    (codes, digests)
}

/// A recovery code as stored: HMAC-SHA256 under the server's secret key. A code has
/// about 40 bits, few enough that a plain hash of it, in a copy of the database, could
/// be searched through offline; without the key the keyed digest cannot.
pub fn recovery_code_digest(key: &SecretKey, code: &str) -> String {
    format!(
        "{KEYED_PREFIX}{}",
        key.digest("recovery-code", normalized_code(code).as_bytes())
    )
}

/// Whether `code` is the recovery code behind the stored entry.
///
/// Entries stored before codes were keyed are a bare SHA-256 of the code. Those codes
/// were never kept, so they cannot be re-keyed: they keep working until they are used
/// or replaced (making new codes, or turning two-step sign-in off and on again,
/// replaces them all). Only an entry in that old form, without the keyed prefix, is
/// compared with a plain hash, and every code made now is stored keyed, so the old
/// form can never stand in for a keyed entry; what stays weak is only what already
/// was, and only until the person's old codes are gone.
pub fn recovery_code_matches(key: &SecretKey, stored: &str, code: &str) -> bool {
    let expected = match stored.strip_prefix(KEYED_PREFIX) {
        Some(_) => recovery_code_digest(key, code),
        None => legacy_recovery_code_digest(code),
    };
    constant_time_eq(stored.as_bytes(), expected.as_bytes())
}

/// The unkeyed form entries were stored in before; see [`recovery_code_matches`].
fn legacy_recovery_code_digest(code: &str) -> String {
    hex::encode(Sha256::digest(normalized_code(code).as_bytes()))
}

/// A code as typed, without its formatting: `4F7Q 9X2M` is `4f7q9x2m`.
fn normalized_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_its_own_step_and_its_neighbours_only() {
        let secret = new_secret();
        let now = 1_800_000_000u64;
        let code = code_at(&secret, now).unwrap();
        assert_eq!(matching_step(&secret, &code, now), Some((now / 30) as i64));
        assert!(matching_step(&secret, &code, now + 30).is_some());
        assert_eq!(matching_step(&secret, &code, now + 300), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
    }

    fn key() -> SecretKey {
        SecretKey::from_configured(&"k".repeat(32)).unwrap()
    }

    #[test]
    fn recovery_codes_are_distinct_and_digest_without_formatting() {
        let (codes, digests) = new_recovery_codes(&key());
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        assert_eq!(
            recovery_code_digest(&key(), &codes[0].to_uppercase().replace('-', " ")),
            digests[0]
        );
        assert!(recovery_code_matches(
            &key(),
            &digests[0],
            &codes[0].to_uppercase()
        ));
        assert!(!recovery_code_matches(&key(), &digests[0], &codes[1]));
    }

    #[test]
    fn recovery_codes_are_stored_keyed() {
        let (codes, digests) = new_recovery_codes(&key());
        let plain = legacy_recovery_code_digest(&codes[0]);
        assert!(!digests[0].contains(&plain), "the stored form is no plain hash");
        let other = SecretKey::from_configured(&"o".repeat(32)).unwrap();
        assert_ne!(recovery_code_digest(&other, &codes[0]), digests[0]);
        assert!(!recovery_code_matches(&other, &digests[0], &codes[0]));
    }

    #[test]
    fn legacy_entries_match_only_as_plain_hashes() {
        let code = "4f7q-9x2m";
        let legacy = legacy_recovery_code_digest(code);
        assert!(recovery_code_matches(&key(), &legacy, "4F7Q 9X2M"));
        assert!(!recovery_code_matches(&key(), &legacy, "4f7q-9x2n"));
        // A keyed entry is never compared with a plain hash, even one given the prefix.
        let forged = format!("{KEYED_PREFIX}{legacy}");
        assert!(!recovery_code_matches(&key(), &forged, code));
    }
}
