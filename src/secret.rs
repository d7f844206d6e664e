//! The server's secret key: it keys suppression digests, code hashes and webhook
//! signatures. Losing it means suppressed identifiers can no longer be matched.

use std::fs;
use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error("SECRET_KEY must be at least 32 characters")]
    TooShort,
    #[error("could not read or create the secret key file {path}: {source}")]
    File { path: String, source: std::io::Error },
}

impl SecretKey {
    pub fn from_configured(value: &str) -> Result<SecretKey, SecretKeyError> {
        if value.trim().len() < 32 {
            return Err(SecretKeyError::TooShort);
        }
        Ok(SecretKey(value.trim().as_bytes().to_vec()))
    }

    /// The configured key, or the one in `DATA_DIR/secret.key`, made on first start.
    pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> Result<SecretKey, SecretKeyError> {
        if let Some(value) = configured {
            return SecretKey::from_configured(value);
        }
        let path = data_dir.join("secret.key");
        let file_error = |source| SecretKeyError::File {
            path: path.display().to_string(),
            source,
        };
        match fs::read_to_string(&path) {
            Ok(contents) => SecretKey::from_configured(&contents),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(data_dir).map_err(file_error)?;
                let mut bytes = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                let encoded = hex::encode(bytes);
                let mut file = create_private(&path).map_err(file_error)?;
                file.write_all(encoded.as_bytes()).map_err(file_error)?;
                Ok(SecretKey(encoded.into_bytes()))
            }
            Err(err) => Err(file_error(err)),
        }
    }

    /// The configured key or the one in `DATA_DIR/secret.key`, never making one: for
    /// commands that check what a running server wrote, where a new key would only
    /// mismatch everything.
    pub fn load_existing(
        configured: Option<&str>,
        data_dir: &Path,
    ) -> Result<Option<SecretKey>, SecretKeyError> {
        if let Some(value) = configured {
            return SecretKey::from_configured(value).map(Some);
        }
        let path = data_dir.join("secret.key");
        match fs::read_to_string(&path) {
            Ok(contents) => SecretKey::from_configured(&contents).map(Some),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SecretKeyError::File {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// A key for one purpose only, derived from this one: code that holds it can make
    /// and check that purpose's digests and nothing else.
    pub fn derive(&self, purpose: &str) -> SecretKey {
        SecretKey(self.digest(purpose, b"").into_bytes())
    }

    /// HMAC-SHA256 of `message` under this key, with a purpose label so that a digest
    /// made for one use can never stand in for another.
    pub fn digest(&self, purpose: &str, message: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_depend_on_purpose_and_key() {
        let a = SecretKey::from_configured(&"a".repeat(32)).unwrap();
        let b = SecretKey::from_configured(&"b".repeat(32)).unwrap();
        assert_ne!(a.digest("x", b"1"), a.digest("y", b"1"));
        assert_ne!(a.digest("x", b"1"), b.digest("x", b"1"));
        assert_eq!(a.digest("x", b"1"), a.digest("x", b"1"));
    }

    #[test]
    fn a_generated_key_is_kept_for_the_next_start() {
        let dir = std::env::temp_dir().join(format!("erasure-key-{}", std::process::id()));
        let first = SecretKey::load_or_create(None, &dir).unwrap();
        let second = SecretKey::load_or_create(None, &dir).unwrap();
        assert_eq!(first.digest("p", b"m"), second.digest("p", b"m"));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_derived_key_differs_from_its_parent_and_by_purpose() {
        let key = SecretKey::from_configured(&"a".repeat(32)).unwrap();
        assert_ne!(key.derive("x").digest("p", b"m"), key.digest("p", b"m"));
        assert_ne!(
            key.derive("x").digest("p", b"m"),
            key.derive("y").digest("p", b"m")
        );
        assert_eq!(
            key.derive("x").digest("p", b"m"),
            key.derive("x").digest("p", b"m")
        );
    }

    #[test]
    fn loading_an_existing_key_never_makes_one() {
        let dir = std::env::temp_dir().join(format!("erasure-key-existing-{}", std::process::id()));
        assert!(SecretKey::load_existing(None, &dir).unwrap().is_none());
        assert!(!dir.join("secret.key").exists());
        let made = SecretKey::load_or_create(None, &dir).unwrap();
        let loaded = SecretKey::load_existing(None, &dir).unwrap().unwrap();
        assert_eq!(made.digest("p", b"m"), loaded.digest("p", b"m"));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn short_configured_keys_are_refused() {
        assert!(SecretKey::from_configured("short").is_err());
    }
}
