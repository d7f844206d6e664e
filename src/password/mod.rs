//! Passwords: the rules for a new one, and argon2id hashing.
//!
//! The server hashes only through the bounded [`pool::HashingPool`]; [`hash`] and
//! [`verify`] here are for the command line and tests, one hash at a time.

mod argon;
pub mod pool;

pub use pool::{HashingPool, PoolError, PoolSize};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("use at least 12 characters")]
    TooShort,
    #[error("use at most 1024 characters")]
    TooLong,
    #[error("this password is too easy to guess{0}; a few unrelated words make a strong one")]
    Guessable(String),
}

/// Words a password must not lean on, besides the person's own (their name and
/// address) and the workspace's name, which callers pass in.
pub const CONTEXT_WORDS: [&str; 4] = ["erasure", "customer", "delete", "suppress"];

/// How much of a password the guessability check reads: its cost grows with the
/// length, and what lies beyond this is strength enough.
const GUESSABILITY_READS: usize = 100;

/// Checks a new password: its length, and that it is not among the passwords people
/// pick most (zxcvbn's frequency lists, keyboard patterns, repeats, dates) nor built
/// from the context: the person's name or address, the workspace, the product.
/// Long passphrases beat composition rules, which are not imposed.
pub fn check_new(password: &str, context: &[&str]) -> Result<(), PasswordError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_LENGTH {
        return Err(PasswordError::TooLong);
    }
    let read: String = password.chars().take(GUESSABILITY_READS).collect();
    // Each context entry whole and in its words: "Olivia Owner" and
    // "olivia.owner@example.com" both give "olivia" and "owner".
    let mut words: Vec<String> = CONTEXT_WORDS.iter().map(|w| (*w).to_owned()).collect();
    for entry in context {
        words.push(entry.to_lowercase());
        words.extend(
            entry
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().count() >= 3)
                .map(str::to_lowercase),
        );
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(&read, &words);
    // Score 3 (10^8 guesses and more) is far out of every top list and out of reach of
    // online guessing under the sign-in limits. A password that leans on the context
    // must reach 4 (10^10): whoever guesses knows the name, the address and the
    // workspace.
    // It leans on the context when knowing the context makes it easier to guess.
    let leans_on_context = estimate.guesses() < zxcvbn::zxcvbn(&read, &[]).guesses();
    let needed = if leans_on_context { 4 } else { 3 };
    if u8::from(estimate.score()) < needed {
        let why = match estimate.feedback().and_then(|f| f.warning()) {
            Some(warning) => format!(" ({})", warning.to_string().trim_end_matches('.').to_lowercase()),
            None if leans_on_context => " (it is built from your name, address or workspace)".to_owned(),
            None => String::new(),
        };
        return Err(PasswordError::Guessable(why));
    }
    Ok(())
}

pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// False for a wrong password and for a stored hash that cannot be read.
pub fn verify(password: &str, stored_hash: &str) -> bool {
    if password.len() > MAX_LENGTH {
        return false;
    }
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password, checked against when the account does not exist, so
/// that an unknown email takes as long to refuse as a wrong password.
pub fn dummy_hash() -> &'static str {
    use std::sync::OnceLock;
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash("a password nobody has, used only to spend the same time")
            .unwrap_or_else(|_| String::from("$argon2id$v=19$m=19456,t=2,p=1$invalid"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_own_password() {
        let stored = hash("correct horse battery staple").unwrap();
        assert!(verify("correct horse battery staple", &stored));
        assert!(!verify("correct horse battery stapler", &stored));
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn length_rules() {
        assert_eq!(check_new("short", &[]), Err(PasswordError::TooShort));
        assert_eq!(check_new(&"a".repeat(1025), &[]), Err(PasswordError::TooLong));
        assert!(check_new("twelve chars", &[]).is_ok());
        assert!(check_new(&"long passphrase of many words ".repeat(30), &[]).is_ok());
    }

    #[test]
    fn common_and_contextual_passwords_are_refused() {
        for weak in [
            "password1234",
            "qwertyuiopasdf",
            "aaaaaaaaaaaaaaa",
            "123456789012",
        ] {
            assert!(
                matches!(check_new(weak, &[]), Err(PasswordError::Guessable(_))),
                "{weak}"
            );
        }
        let context = ["olivia.owner@example.com", "Olivia Owner", "Acme Shop"];
        assert!(matches!(
            check_new("oliviaowner2024", &context),
            Err(PasswordError::Guessable(_))
        ));
        assert!(check_new("correct horse battery staple", &context).is_ok());
    }
}
