//! argon2id over memory the caller owns.
//!
//! `argon2`'s `PasswordHasher` allocates its 19 MiB of blocks afresh for every hash and
//! frees them after; under parallel sign-ins each blocking thread's allocator arena
//! kept its share, and the process grew by gigabytes that it never gave back. Here a
//! worker passes in the blocks it allocated once, so the memory that hashing can take
//! is the number of workers times one hash's blocks, whatever the load.

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

use super::MAX_LENGTH;

/// Hashes a new password with the default parameters, into a PHC string.
pub fn hash_with(password: &str, blocks: &mut Vec<Block>) -> Result<String, argon2::password_hash::Error> {
    let params = Params::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    hasher.hash_password_into_with_memory(
        password.as_bytes(),
        salt_bytes,
        &mut out,
        sized(blocks, &params),
    )?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` is the one `stored` was made from. False for a wrong password
/// and for a stored hash that cannot be read. Hashes made with other parameters (an
/// older default) are checked with theirs.
pub fn verify_with(password: &str, stored: &str, blocks: &mut Vec<Block>) -> bool {
    if password.len() > MAX_LENGTH {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let hasher = Argon2::new(algorithm, version, params.clone());
    if hasher
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, sized(blocks, &params))
        .is_err()
    {
        return false;
    }
    bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

/// The worker's blocks, resized when a stored hash asks for more or fewer than the
/// last one (only hashes made under another default do).
fn sized<'a>(blocks: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    let needed = params.block_count();
    if blocks.len() != needed {
        blocks.clear();
        blocks.shrink_to_fit();
        blocks.resize(needed, Block::default());
    }
    &mut blocks[..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, SaltString};

    #[test]
    fn a_hash_verifies_only_its_own_password() {
        let mut blocks = Vec::new();
        let stored = hash_with("correct horse battery staple", &mut blocks).unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_with("correct horse battery staple", &stored, &mut blocks));
        assert!(!verify_with(
            "correct horse battery stapler",
            &stored,
            &mut blocks
        ));
        assert!(!verify_with("x", "not a hash", &mut blocks));
    }

    #[test]
    fn hashes_made_by_the_crate_s_own_hasher_verify_and_the_other_way_round() {
        let mut blocks = Vec::new();
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"twelve chars or more", &salt)
            .unwrap()
            .to_string();
        assert!(verify_with("twelve chars or more", &theirs, &mut blocks));
        let ours = hash_with("twelve chars or more", &mut blocks).unwrap();
        assert!(crate::password::verify("twelve chars or more", &ours));
    }

    #[test]
    fn hashes_with_other_parameters_verify_with_theirs() {
        let mut blocks = Vec::new();
        let params = Params::new(8 * 1024, 3, 1, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let older = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"an older password", &salt)
            .unwrap()
            .to_string();
        assert!(verify_with("an older password", &older, &mut blocks));
        assert!(!verify_with("another password", &older, &mut blocks));
        assert!(
            verify_with("an older password", &older, &mut blocks),
            "blocks resized back and forth"
        );
    }
}
