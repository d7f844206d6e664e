//! Authenticator codes (RFC 6238, 6 digits, 30 s) and single-use recovery codes.

use rand::Rng;
use sha2::{Digest, Sha256};
use totp_rs::{Builder, Secret, Totp};

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

/// Ten recovery codes like `4f7q-9x2m`, and their digests for storage.
pub fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
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
    let digests = codes.iter().map(|c| recovery_code_digest(c)).collect();
    (codes, digests)
}

pub fn recovery_code_digest(code: &str) -> String {
    let normalized: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(normalized.as_bytes()))
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

    #[test]
    fn recovery_codes_are_distinct_and_digest_without_formatting() {
        let (codes, digests) = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        assert_eq!(
            recovery_code_digest(&codes[0].to_uppercase().replace('-', " ")),
            digests[0]
        );
    }
}
