//! The one way deliveries leave Erasure: an HTTP client that only connects to
//! addresses a destination may have (public ones, or this machine when the URL named
//! it), follows redirects only within the destination's own host, and gives up at a
//! deadline.
//!
//! Addresses are checked on the addresses actually connected to, after resolution, so
//! a name that changes what it points to between saving and sending gains nothing.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::redirect::Policy;
use reqwest::Response;
use url::{Host, Url};

use crate::domain::destination_url::address_allowed;
use crate::domain::DestinationUrl;

/// Redirects followed within the destination's host before giving up.
const MAX_REDIRECTS: usize = 3;
/// A receiver's answer is only ever acknowledged, never used: reading a little of it
/// lets the connection be reused, reading all of it would let a receiver make Erasure
/// read without end.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// The longest wait for a connection, when the whole attempt may take longer.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a delivery attempt got no answer. The messages are short and fit to show the
/// destination's owner; none holds the request body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryFailure {
    #[error("timed out: no answer within {0}")]
    Timeout(String),
    #[error("connection refused")]
    ConnectionRefused,
    #[error("host not found: {0}")]
    HostNotFound(String),
    #[error("refused address: {0}")]
    RefusedAddress(String),
    #[error("redirected to another host ({0}): not followed")]
    RedirectedElsewhere(String),
    #[error("too many redirects (more than {MAX_REDIRECTS})")]
    TooManyRedirects,
    #[error("secure connection failed: {0}")]
    Tls(String),
    #[error("connection failed: {0}")]
    Connection(String),
    /// A header the delivery was built with cannot be sent: a fault of ours, not the receiver's.
    #[error("invalid header: {0}")]
    InvalidHeader(String),
}

/// Posts deliveries. Cheap to clone; clones share their connections.
#[derive(Debug, Clone)]
pub struct GuardedClient {
    client: reqwest::Client,
    timeout: Duration,
}

impl GuardedClient {
    /// A client whose every attempt, from connecting to reading the answer and
    /// following its redirects, ends within `timeout`.
    pub fn new(timeout: Duration) -> GuardedClient {
        let client = reqwest::Client::builder()
            // A proxy from the environment would connect on our behalf, past the
            // address checks.
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
            .dns_resolver(Arc::new(PublicOnlyResolver))
            // Followed by hand (see `redirect_target`): reqwest would turn the POST
            // of a 301 or 302 into a GET without the body.
            .redirect(Policy::none())
            .user_agent(concat!("Erasure/", env!("CARGO_PKG_VERSION")))
            .build()
            // Only fails when the TLS backend cannot start, which no configuration can fix.
            .expect("an HTTP client with the built-in TLS roots");
        GuardedClient { client, timeout }
    }

    /// Posts `body` with `headers` to `url`; the status of the final answer, whatever
    /// it is, or why there was none.
    pub async fn post(
        &self,
        url: &DestinationUrl,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<u16, DeliveryFailure> {
        self.post_url(url.url(), headers, body).await
    }

    async fn post_url(
        &self,
        url: &Url,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<u16, DeliveryFailure> {
        // An address written in the URL is connected to without resolving, so the
        // resolver never sees it: it is checked here instead. Redirects stay on this
        // host, so this one check covers them.
        if let Some(ip) = literal_ip(url) {
            if !address_allowed(ip, ip.is_loopback() || ipv4_mapped_loopback(ip)) {
                return Err(DeliveryFailure::RefusedAddress(format!(
                    "{ip} is not a public address"
                )));
            }
        }
        let headers = header_map(headers)?;
        match tokio::time::timeout(self.timeout, self.post_following(url, headers, Bytes::from(body))).await {
            Ok(answered) => answered,
            Err(_) => Err(self.timed_out()),
        }
    }

    async fn post_following(
        &self,
        first: &Url,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<u16, DeliveryFailure> {
        let mut url = first.clone();
        let mut redirects = 0;
        loop {
            let mut response = self
                .client
                .post(url.clone())
                .headers(headers.clone())
                .body(body.clone())
                .send()
                .await
                .map_err(|e| self.failure(&url, &e))?;
            let next = redirect_target(first, &url, &response)?;
            // The status is the answer; a body cut short or slow does not change it.
            let mut read = 0;
            while read < MAX_RESPONSE_BYTES {
                match response.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    Ok(None) | Err(_) => break,
                }
            }
            match next {
                None => return Ok(response.status().as_u16()),
                Some(_) if redirects == MAX_REDIRECTS => return Err(DeliveryFailure::TooManyRedirects),
                Some(next) => {
                    redirects += 1;
                    url = next;
                }
            }
        }
    }

    fn timed_out(&self) -> DeliveryFailure {
        DeliveryFailure::Timeout(format!("{:?}", self.timeout))
    }

    fn failure(&self, url: &Url, error: &reqwest::Error) -> DeliveryFailure {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        let mut innermost = error.to_string();
        let mut tls_suspected = false;
        while let Some(cause) = source {
            if let Some(ours) = cause.downcast_ref::<DeliveryFailure>() {
                return ours.clone();
            }
            if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return DeliveryFailure::ConnectionRefused,
                    // How rustls reports a failed handshake through the IO layer.
                    std::io::ErrorKind::InvalidData => tls_suspected = true,
                    _ => {}
                }
            }
            innermost = cause.to_string();
            source = next_cause(cause);
        }
        if error.is_timeout() {
            return self.timed_out();
        }
        if tls_suspected && url.scheme() == "https" {
            return DeliveryFailure::Tls(innermost);
        }
        DeliveryFailure::Connection(innermost)
    }
}

/// The error beneath `error`. An IO error wrapping another error reports that error's
/// own source as its source, skipping the wrapped one (where rustls's handshake
/// failures sit): look inside it instead.
fn next_cause<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    if let Some(inner) = error.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
        return Some(inner);
    }
    error.source()
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Domain(_) => None,
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
    }
}

fn ipv4_mapped_loopback(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()))
}

fn header_map(headers: &[(&str, String)]) -> Result<HeaderMap, DeliveryFailure> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| DeliveryFailure::InvalidHeader(format!("name {name:?}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| DeliveryFailure::InvalidHeader(format!("value of {name}")))?;
        map.append(name, value);
    }
    Ok(map)
}

/// Where a redirect answer asks the delivery to be posted again, if it does.
///
/// 301, 302, 307 and 308 are followed by posting the same body again, as a receiver
/// that moved its endpoint expects (an HTTP client's habit of switching to a GET
/// without the body would turn a lost delivery into an apparent success). A 303 says
/// the post was handled, so it is the answer itself, as are 3xx without a location.
/// Only the origin (scheme, host and port) first posted to may be redirected to:
/// anywhere else is a destination nobody approved, to be reached with a signed body.
fn redirect_target(first: &Url, current: &Url, response: &Response) -> Result<Option<Url>, DeliveryFailure> {
    if !matches!(response.status().as_u16(), 301 | 302 | 307 | 308) {
        return Ok(None);
    }
    let Some(next) = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|location| current.join(location).ok())
    else {
        return Ok(None);
    };
    if next.origin() != first.origin() {
        return Err(DeliveryFailure::RedirectedElsewhere(
            next.origin().ascii_serialization(),
        ));
    }
    Ok(Some(next))
}

/// Resolves with the system resolver and keeps only the addresses a delivery may
/// connect to.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| DeliveryFailure::HostNotFound(host.clone()))?
                .collect();
            let allowed = keep_allowed(&host, found)?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The addresses of `host` a delivery may connect to; a refusal naming them when none.
fn keep_allowed(host: &str, found: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, DeliveryFailure> {
    let loopback_host = host.eq_ignore_ascii_case("localhost");
    let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = found
        .into_iter()
        .partition(|addr| address_allowed(addr.ip(), loopback_host));
    if !allowed.is_empty() {
        return Ok(allowed);
    }
    if refused.is_empty() {
        return Err(DeliveryFailure::HostNotFound(host.to_owned()));
    }
    let addresses: Vec<String> = refused.iter().map(|addr| addr.ip().to_string()).collect();
    Err(DeliveryFailure::RefusedAddress(format!(
        "{host} resolves only to addresses that are not public ({})",
        addresses.join(", ")
    )))
}

#[cfg(test)]
mod tests;
