//! What a sign-in attempt is counted under, and how many failures each count allows.
//!
//! One lock per account name let anyone shut the owner out by typing wrong passwords
//! for their address. Failures are counted three ways instead:
//!
//! - per account **and** client address: guessing one account from one place slows
//!   down fast, and locks out nobody anywhere else;
//! - per client address: one place guessing many accounts slows down too;
//! - per account: past [`PER_ACCOUNT`]'s hundred failures (NIST SP 800-63B, 5.2.2) the
//!   account takes no more attempts from addresses it has never signed in from.
//!
//! An address the person has signed in from before is held only to the first count,
//! so the owner at their usual address, with their password and second factor, gets
//! in whatever strangers do elsewhere.

use std::net::IpAddr;

use crate::secret::SecretKey;
use crate::store::login_throttles::Policy;

/// Five tries, then 30 seconds, doubling to 15 minutes per try; forgotten after a day.
pub const PER_ACCOUNT_AT_ADDRESS: Policy = Policy {
    free: 5,
    first_wait_seconds: 30,
    longest_wait_seconds: 15 * 60,
    forget_after_seconds: 24 * 3600,
};

/// Twenty failures from one address (any accounts), then the same growing waits;
/// forgotten after a quiet hour.
pub const PER_ADDRESS: Policy = Policy {
    free: 20,
    first_wait_seconds: 30,
    longest_wait_seconds: 15 * 60,
    forget_after_seconds: 3600,
};

/// A hundred failures from addresses the person never signed in from, then an hour,
/// doubling to a day; forgotten after a quiet day or at a successful sign-in.
pub const PER_ACCOUNT: Policy = Policy {
    free: 100,
    first_wait_seconds: 3600,
    longest_wait_seconds: 24 * 3600,
    forget_after_seconds: 24 * 3600,
};

/// The second step: an authenticator code has a million values, so fewer tries.
pub const CODE_AT_ADDRESS: Policy = PER_ACCOUNT_AT_ADDRESS;
pub const CODE_PER_ACCOUNT: Policy = Policy {
    free: 20,
    first_wait_seconds: 3600,
    longest_wait_seconds: 24 * 3600,
    forget_after_seconds: 24 * 3600,
};

/// The keys of one attempt: keyed digests, so no address or account name is stored.
#[derive(Debug, Clone)]
pub struct AttemptKeys {
    /// The account at this client address.
    pub at_address: String,
    /// The client address alone.
    pub address: String,
    /// The account alone.
    pub account: String,
    /// The client address as the person's known addresses are recorded.
    pub address_digest: String,
}

impl AttemptKeys {
    /// For the password step: the account is named by its (normalized) email, known
    /// or not, so unknown accounts are counted exactly as known ones.
    pub fn for_password(secret: &SecretKey, normalized_email: &str, client_ip: &str) -> AttemptKeys {
        AttemptKeys::new(secret, "sign-in", normalized_email, client_ip)
    }

    /// For the second step, which only a known account reaches.
    pub fn for_second_step(secret: &SecretKey, user_id: i64, client_ip: &str) -> AttemptKeys {
        AttemptKeys::new(secret, "second-step", &user_id.to_string(), client_ip)
    }

    fn new(secret: &SecretKey, step: &str, account: &str, client_ip: &str) -> AttemptKeys {
        let address = address_block(client_ip);
        let pair = format!("{account}\n{address}");
        AttemptKeys {
            at_address: secret.digest(&format!("{step}:account-at-address"), pair.as_bytes()),
            address: secret.digest(&format!("{step}:address"), address.as_bytes()),
            account: secret.digest(&format!("{step}:account"), account.as_bytes()),
            address_digest: known_address_digest(secret, client_ip),
        }
    }
}

/// The digest a person's known address is recorded under.
pub fn known_address_digest(secret: &SecretKey, client_ip: &str) -> String {
    secret.digest("sign-in:known-address", address_block(client_ip).as_bytes())
}

/// The block an address is counted as: an IPv4 address alone, an IPv6 address by its
/// /64, since one subscriber is usually given a whole /64 to pick addresses from.
fn address_block(client_ip: &str) -> String {
    match client_ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => String::from("unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_by_their_64_block() {
        assert_eq!(address_block("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(address_block("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(address_block("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(address_block("192.0.2.7"), "192.0.2.7");
        assert_eq!(address_block(""), "unknown");
    }

    #[test]
    fn every_count_has_its_own_key_and_none_holds_the_address_or_account() {
        let secret = SecretKey::from_configured(&"k".repeat(32)).unwrap();
        let keys = AttemptKeys::for_password(&secret, "ada@example.com", "192.0.2.7");
        let all = [
            &keys.at_address,
            &keys.address,
            &keys.account,
            &keys.address_digest,
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(!a.contains("ada") && !a.contains("192.0.2.7"));
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let second = AttemptKeys::for_second_step(&secret, 1, "192.0.2.7");
        assert_ne!(second.at_address, keys.at_address);
        assert_eq!(second.address_digest, keys.address_digest);
    }
}
