//! Where a destination's deliveries go: an https URL on the public internet, or any
//! http(s) URL on this machine.
//!
//! Erasure posts to these URLs from inside the network it runs in, so a URL that
//! points back into that network (a database's admin port, the cloud metadata service)
//! would let whoever can add a destination make requests as Erasure. Addresses written
//! into the URL are judged here; a host name's addresses are judged again when a
//! delivery resolves it, since a name can point anywhere at any time.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Long enough for any real endpoint with a token in its query, short enough to show.
const MAX_URL_CHARS: usize = 2_000;

/// The link-local address every major cloud serves instance credentials on, in its
/// IPv4 and its AWS IPv6 form.
const METADATA_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);
const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

/// A URL a delivery may be posted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationUrl {
    url: Url,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DestinationUrlError {
    #[error("Enter the URL deliveries should be sent to")]
    Empty,
    #[error("A URL can be at most 2,000 characters")]
    TooLong,
    #[error("That is not a URL; it should look like https://example.com/webhooks/erasure")]
    NotAUrl,
    #[error("Use an https:// URL")]
    UnsupportedScheme,
    #[error("Use https:// — plain http is allowed only for this machine (localhost)")]
    PlainHttp,
    #[error("Take the user name and password out of the URL: they would be written to logs")]
    Credentials,
    #[error("Remove the part from # on: it is never sent to the server")]
    Fragment,
    #[error("The URL needs a host, like https://example.com/webhooks/erasure")]
    NoHost,
    #[error("The cloud metadata address is never reachable")]
    MetadataAddress,
    #[error(
        "That address is on a private network; Erasure only delivers to public addresses, or to this machine"
    )]
    PrivateAddress,
    #[error("That address cannot receive deliveries: it is unspecified, broadcast or multicast")]
    UnusableAddress,
}

/// What kind of address an IP is, for deciding whether Erasure may connect to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddressKind {
    Public,
    Loopback,
    Metadata,
    /// Private, link-local, unique-local, shared (CGNAT) or "this network".
    Internal,
    /// Unspecified, broadcast or multicast: nothing to deliver to.
    Unusable,
}

impl DestinationUrl {
    pub fn parse(raw: &str) -> Result<DestinationUrl, DestinationUrlError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(DestinationUrlError::Empty);
        }
        if text.chars().count() > MAX_URL_CHARS {
            return Err(DestinationUrlError::TooLong);
        }
        let url = Url::parse(text).map_err(|_| DestinationUrlError::NotAUrl)?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(DestinationUrlError::UnsupportedScheme);
        }
        let host = url.host().ok_or(DestinationUrlError::NoHost)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(DestinationUrlError::Credentials);
        }
        if url.fragment().is_some() {
            return Err(DestinationUrlError::Fragment);
        }
        if let Some(ip) = host_ip(&host) {
            match address_kind(ip) {
                AddressKind::Public | AddressKind::Loopback => {}
                AddressKind::Metadata => return Err(DestinationUrlError::MetadataAddress),
                AddressKind::Internal => return Err(DestinationUrlError::PrivateAddress),
                AddressKind::Unusable => return Err(DestinationUrlError::UnusableAddress),
            }
        }
        // After the address, whose refusal https would not cure.
        if url.scheme() == "http" && !host_is_loopback(&host) {
            return Err(DestinationUrlError::PlainHttp);
        }
        Ok(DestinationUrl { url })
    }

    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Whether the host is this machine: `localhost`, 127.0.0.0/8 or `[::1]`.
    pub fn host_is_loopback(&self) -> bool {
        self.url.host().is_some_and(|host| host_is_loopback(&host))
    }
}

impl fmt::Display for DestinationUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether Erasure may connect to `ip`. `loopback_host` says the URL named this
/// machine (`localhost` or a loopback address), the one case where loopback addresses
/// are wanted: a public name that resolves to 127.0.0.1 is someone pointing Erasure at
/// itself.
pub fn address_allowed(ip: IpAddr, loopback_host: bool) -> bool {
    match address_kind(ip) {
        AddressKind::Public => true,
        AddressKind::Loopback => loopback_host,
        AddressKind::Metadata | AddressKind::Internal | AddressKind::Unusable => false,
    }
}

fn host_is_loopback<S: AsRef<str>>(host: &Host<S>) -> bool {
    match host {
        Host::Domain(name) => name.as_ref().eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => address_kind(IpAddr::V6(*ip)) == AddressKind::Loopback,
    }
}

fn host_ip<S>(host: &Host<S>) -> Option<IpAddr> {
    match host {
        Host::Domain(_) => None,
        Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
    }
}

fn address_kind(ip: IpAddr) -> AddressKind {
    match ip {
        IpAddr::V4(v4) => ipv4_kind(v4),
        // ::ffff:10.0.0.1 reaches 10.0.0.1 on a dual-stack socket.
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => ipv4_kind(v4),
            None => ipv6_kind(v6),
        },
    }
}

fn ipv4_kind(ip: Ipv4Addr) -> AddressKind {
    let [a, b, ..] = ip.octets();
    if ip == METADATA_V4 {
        AddressKind::Metadata
    } else if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() {
        AddressKind::Unusable
    } else if ip.is_loopback() {
        AddressKind::Loopback
    } else if ip.is_private()
        || ip.is_link_local()
        || a == 0
        // 100.64.0.0/10, shared address space (carrier-grade NAT): inside a provider's network.
        || (a == 100 && (b & 0b1100_0000) == 64)
    {
        AddressKind::Internal
    } else {
        AddressKind::Public
    }
}

fn ipv6_kind(ip: Ipv6Addr) -> AddressKind {
    let first = ip.segments()[0];
    if ip == METADATA_V6 {
        AddressKind::Metadata
    } else if ip.is_unspecified() || ip.is_multicast() {
        AddressKind::Unusable
    } else if ip.is_loopback() {
        AddressKind::Loopback
    } else if (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80 {
        // fc00::/7 unique-local, fe80::/10 link-local.
        AddressKind::Internal
    } else {
        AddressKind::Public
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn refused(url: &str) -> DestinationUrlError {
        DestinationUrl::parse(url).expect_err(url)
    }

    #[test]
    fn a_public_https_url_is_kept_as_given() {
        let url = DestinationUrl::parse("  https://hooks.example.com/erasure?token=abc  ").unwrap();
        assert_eq!(url.as_str(), "https://hooks.example.com/erasure?token=abc");
        assert_eq!(url.url().host_str(), Some("hooks.example.com"));
        assert!(!url.host_is_loopback());
        assert_eq!(url.to_string(), url.as_str());
    }

    #[test]
    fn a_public_address_and_a_port_are_fine() {
        assert!(DestinationUrl::parse("https://203.0.113.7:8443/hook").is_ok());
        assert!(DestinationUrl::parse("https://[2001:db8::1]/hook").is_ok());
    }

    #[test]
    fn plain_http_is_only_for_this_machine() {
        assert_eq!(
            refused("http://hooks.example.com/"),
            DestinationUrlError::PlainHttp
        );
        assert_eq!(refused("http://203.0.113.7/"), DestinationUrlError::PlainHttp);
        assert_eq!(refused("http://10.0.0.1/"), DestinationUrlError::PrivateAddress);
        for url in [
            "http://localhost:8080/hook",
            "http://LOCALHOST/hook",
            "http://127.0.0.1:9000/",
            "http://127.8.9.10/",
            "http://[::1]:9000/",
        ] {
            let parsed = DestinationUrl::parse(url).expect(url);
            assert!(parsed.host_is_loopback(), "{url}");
        }
        assert!(DestinationUrl::parse("https://localhost/")
            .unwrap()
            .host_is_loopback());
    }

    #[test]
    fn other_schemes_are_refused() {
        assert_eq!(
            refused("ftp://example.com/"),
            DestinationUrlError::UnsupportedScheme
        );
        assert_eq!(
            refused("file:///etc/passwd"),
            DestinationUrlError::UnsupportedScheme
        );
        assert_eq!(
            refused("mailto:a@example.com"),
            DestinationUrlError::UnsupportedScheme
        );
        assert_eq!(
            refused("javascript:alert(1)"),
            DestinationUrlError::UnsupportedScheme
        );
    }

    #[test]
    fn blank_overlong_and_malformed_urls_are_refused() {
        assert_eq!(refused("   "), DestinationUrlError::Empty);
        assert_eq!(refused("hooks.example.com/erasure"), DestinationUrlError::NotAUrl);
        assert_eq!(refused("https://"), DestinationUrlError::NotAUrl);
        let long = format!("https://example.com/{}", "a".repeat(2_000));
        assert_eq!(refused(&long), DestinationUrlError::TooLong);
        let exactly = format!("https://example.com/{}", "a".repeat(2_000 - 20));
        assert!(DestinationUrl::parse(&exactly).is_ok());
    }

    #[test]
    fn credentials_in_the_url_are_refused_because_they_would_reach_logs() {
        assert_eq!(
            refused("https://user:pass@example.com/"),
            DestinationUrlError::Credentials
        );
        assert_eq!(
            refused("https://user@example.com/"),
            DestinationUrlError::Credentials
        );
        assert_eq!(
            refused("https://:pass@example.com/"),
            DestinationUrlError::Credentials
        );
    }

    #[test]
    fn a_fragment_is_refused_because_it_is_never_sent() {
        assert_eq!(
            refused("https://example.com/hook#part"),
            DestinationUrlError::Fragment
        );
        assert_eq!(
            refused("https://example.com/hook#"),
            DestinationUrlError::Fragment
        );
    }

    #[test]
    fn private_network_addresses_are_refused() {
        for url in [
            "https://10.0.0.1/",
            "https://172.16.5.4/",
            "https://172.31.255.255/",
            "https://192.168.1.1/",
            "https://169.254.1.1/",
            "https://100.64.0.1/",
            "https://100.127.255.254/",
            "https://0.1.2.3/",
            "https://[fd12:3456::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
        ] {
            assert_eq!(refused(url), DestinationUrlError::PrivateAddress, "{url}");
        }
    }

    #[test]
    fn the_metadata_address_is_never_reachable() {
        assert_eq!(
            refused("http://169.254.169.254/latest/"),
            DestinationUrlError::MetadataAddress
        );
        assert_eq!(
            refused("https://169.254.169.254/"),
            DestinationUrlError::MetadataAddress
        );
        assert_eq!(
            refused("https://[fd00:ec2::254]/"),
            DestinationUrlError::MetadataAddress
        );
        assert_eq!(
            refused("https://[::ffff:169.254.169.254]/"),
            DestinationUrlError::MetadataAddress
        );
    }

    #[test]
    fn disguised_addresses_are_judged_as_the_address_they_are() {
        // The URL standard reads these as 10.0.0.1 and 127.0.0.1; so do browsers and HTTP clients.
        assert_eq!(refused("https://167772161/"), DestinationUrlError::PrivateAddress);
        assert_eq!(
            refused("https://0x0a.0.0.1/"),
            DestinationUrlError::PrivateAddress
        );
        assert!(DestinationUrl::parse("http://2130706433/")
            .unwrap()
            .host_is_loopback());
    }

    #[test]
    fn addresses_that_name_nobody_are_refused() {
        assert_eq!(refused("https://0.0.0.0/"), DestinationUrlError::UnusableAddress);
        assert_eq!(refused("https://[::]/"), DestinationUrlError::UnusableAddress);
        assert_eq!(
            refused("https://255.255.255.255/"),
            DestinationUrlError::UnusableAddress
        );
        assert_eq!(
            refused("https://224.0.0.1/"),
            DestinationUrlError::UnusableAddress
        );
        assert_eq!(
            refused("https://[ff02::1]/"),
            DestinationUrlError::UnusableAddress
        );
    }

    #[test]
    fn a_host_name_is_fine_whatever_it_resolves_to_later() {
        assert!(DestinationUrl::parse("https://internal.corp/").is_ok());
        assert!(DestinationUrl::parse("https://localtest.me/").is_ok());
        assert!(!DestinationUrl::parse("https://localtest.me/")
            .unwrap()
            .host_is_loopback());
    }

    #[test]
    fn public_addresses_are_allowed() {
        for text in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
        ] {
            assert!(address_allowed(ip(text), false), "{text}");
            assert!(address_allowed(ip(text), true), "{text}");
        }
    }

    #[test]
    fn loopback_addresses_are_allowed_only_when_the_url_named_this_machine() {
        for text in ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"] {
            assert!(address_allowed(ip(text), true), "{text}");
            assert!(!address_allowed(ip(text), false), "{text}");
        }
    }

    #[test]
    fn internal_and_unusable_addresses_are_never_allowed() {
        for text in [
            "169.254.169.254",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.0.1",
            "192.168.0.10",
            "169.254.0.5",
            "100.64.0.1",
            "0.0.0.1",
            "fe80::1",
            "fc00::1",
            "fdff::1",
            "::ffff:192.168.0.1",
            "0.0.0.0",
            "::",
            "255.255.255.255",
            "239.1.2.3",
            "ff05::2",
        ] {
            assert!(!address_allowed(ip(text), true), "{text}");
            assert!(!address_allowed(ip(text), false), "{text}");
        }
    }

    #[test]
    fn neighbours_of_the_private_ranges_are_public() {
        for text in [
            "172.15.255.255",
            "172.32.0.0",
            "192.167.1.1",
            "11.0.0.1",
            "169.253.0.1",
            "fbff::1",
        ] {
            assert!(address_allowed(ip(text), false), "{text}");
        }
    }

    #[test]
    fn errors_say_what_to_do() {
        assert_eq!(
            DestinationUrlError::PlainHttp.to_string(),
            "Use https:// — plain http is allowed only for this machine (localhost)"
        );
        assert_eq!(
            DestinationUrlError::PrivateAddress.to_string(),
            "That address is on a private network; Erasure only delivers to public addresses, or to this machine"
        );
        assert_eq!(
            DestinationUrlError::MetadataAddress.to_string(),
            "The cloud metadata address is never reachable"
        );
    }
}
