//! Middleware that every response passes through: request ids, security headers,
//! CSRF and cross-site checks, and error pages for errors the framework makes itself.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};
use rand::distributions::{Alphanumeric, DistString};
use tracing::Instrument;

use super::error::error_page;
use super::session::TypedSession;
use super::session_store::is_storage_unavailable;
use crate::store::audit::RequestOrigin;

/// Gives each request an id and records where it came from, for logs and the audit log.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = Alphanumeric.sample_string(&mut rand::thread_rng(), 16);
    let trusted = req
        .app_data::<actix_web::web::Data<super::state::AppState>>()
        .map(|state| state.settings.trusted_proxies.clone())
        .unwrap_or_default();
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let client_ip = req
        .peer_addr()
        .map(|addr| client_address(addr.ip(), &forwarded, &trusted).to_string())
        .unwrap_or_default();
    req.extensions_mut().insert(RequestOrigin {
        request_id: request_id.clone(),
        client_ip,
    });
    // The path is logged without its query string: filters may hold search terms.
    let path = loggable_path(req.path());
    let span = tracing::info_span!("request", id = %request_id, method = %req.method(), path = %path);
    let started = std::time::Instant::now();
    let res = next.call(req).instrument(span.clone()).await;
    let status = match &res {
        Ok(res) => res.status().as_u16(),
        Err(err) => err.as_response_error().status_code().as_u16(),
    };
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "handled"
        );
    });
    res
}

/// The path for the log. API paths name a customer by their id or email address and a
/// device by its token, and invitation and password reset links carry the secret that
/// uses them: all stay out of the logs, the segment after `customers`, `suppressions`
/// or `devices` (API), `invitations` or `password/reset` replaced.
fn loggable_path(path: &str) -> String {
    let is_api = crate::web::api::is_api_path(path);
    let mut before = "";
    let mut previous = "";
    path.split('/')
        .map(|segment| {
            let shown = match previous {
                "customers" | "suppressions" if is_api && !segment.is_empty() => "{identifier}",
                "devices" if is_api && !segment.is_empty() => "{device_id}",
                "invitations" if !is_api && !segment.is_empty() => "{token}",
                "reset" if !is_api && before == "password" && !segment.is_empty() => "{token}",
                _ => segment,
            };
            // What was shown: an identifier that happens to read "devices" is no keyword.
            before = previous;
            previous = shown;
            shown
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the
/// nearest address in X-Forwarded-For that is not one of the trusted proxies. Entries
/// further left were written by whoever sent the request and prove nothing.
fn client_address(peer: std::net::IpAddr, forwarded: &str, trusted: &[std::net::IpAddr]) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded.rsplit(',') {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(address) if trusted.contains(&address) => client = address,
            Ok(address) => return address,
            Err(_) => return client,
        }
    }
    client
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Security headers on every response, error pages included.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let is_static = req.path().starts_with("/static/");
    let mut res = next.call(req).await?;
    insert_security_headers(res.headers_mut(), is_static);
    Ok(res)
}

fn insert_security_headers(headers: &mut header::HeaderMap, is_static: bool) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if !is_static {
        // Pages carry personal data: no browser or proxy may keep a copy.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Turns the framework's own bare error responses (unknown route, wrong method, body
/// too large, unparseable input) and errors raised by middleware (a session that cannot
/// be loaded) into the error page, or a JSON error under /api.
pub async fn error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let is_api = crate::web::api::is_api_path(req.path());
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(err) => return Err(error_raised_by_middleware(err, is_api)),
    };
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(res);
    }
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("text/html") || content_type.starts_with("application/json") {
        return Ok(res);
    }
    let replacement = if is_api {
        crate::web::api_error::api_error_for_status(status)
    } else {
        error_page(status, None)
    };
    Ok(res.into_response(replacement))
}

/// A middleware's own error (the session store's, say) leaves no request to answer
/// with: the framework answers it with the error's response. That response is made
/// here as any other error's, with the security headers the outer middleware cannot add
/// to it. The database out of reach is a 503, whatever the session middleware said.
fn error_raised_by_middleware(err: actix_web::Error, is_api: bool) -> actix_web::Error {
    let status = if is_storage_unavailable(&err) {
        tracing::warn!(error = ?err, "request failed: the database is unavailable");
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        let status = err.as_response_error().status_code();
        if status.is_server_error() {
            tracing::error!(error = ?err, "request failed");
        }
        status
    };
    let mut response = if !(status.is_client_error() || status.is_server_error()) {
        err.error_response()
    } else if is_api {
        crate::web::api_error::api_error_for_status(status)
    } else {
        error_page(status, None)
    };
    insert_security_headers(response.headers_mut(), false);
    actix_web::error::InternalError::from_response(err, response).into()
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses unsafe requests that come from another site, and (outside the token-
/// authenticated API) those without the session's form token.
///
/// The token is read from the `X-CSRF-Token` header, the `csrf_token` query parameter
/// (used by file uploads), or the `csrf_token` field of a url-encoded form body, which
/// is read here and handed on unchanged.
pub async fn csrf_protection(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !is_unsafe(req.method()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    if is_cross_site(&req) {
        return Ok(reject(req));
    }
    if crate::web::api::is_api_path(req.path()) {
        // The API authenticates every request with its key, never with a cookie.
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    if req.method() != Method::POST {
        // Every state-changing page route is a POST; other methods reach no handler
        // and get their 405 or 404 from the router.
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let session = req.extract::<TypedSession>().await?;
    let accepted = session.accepted_csrf_tokens();
    if accepted.is_empty() {
        return Ok(reject(req));
    }
    let mut presented = header_token(&req).or_else(|| query_token(&req));
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if presented.is_none() && is_form {
        let body = match req.extract::<actix_web::web::Bytes>().await {
            Ok(body) => body,
            Err(err) => {
                let status = err.as_response_error().status_code();
                return Ok(req.into_response(error_page(status, None)));
            }
        };
        presented = form_token(&body);
        req.set_payload(bytes_to_payload(body));
    }
    match presented {
        Some(token)
            if accepted
                .iter()
                .any(|expected| constant_time_eq(token.as_bytes(), expected.as_bytes())) =>
        {
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        _ => Ok(reject(req)),
    }
}

fn reject(req: ServiceRequest) -> ServiceResponse<BoxBody> {
    let response: HttpResponse = if crate::web::api::is_api_path(req.path()) {
        crate::web::api_error::api_error(
            StatusCode::FORBIDDEN,
            "cross_site",
            "Cross-site requests are refused.",
        )
    } else {
        error_page(
            StatusCode::FORBIDDEN,
            Some(
                "The form had expired or came from another site. Go back, reload the page and try again."
                    .into(),
            ),
        )
    };
    req.into_response(response)
}

/// A browser tells us where a request started: `Sec-Fetch-Site`, or failing that the
/// `Origin` header. A request that names another origin is refused.
fn is_cross_site(req: &ServiceRequest) -> bool {
    if let Some(site) = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    if let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if origin == "null" {
            return true;
        }
        let host = req.connection_info().host().to_owned();
        let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
        return !origin_host.eq_ignore_ascii_case(&host);
    }
    false
}

fn header_token(req: &ServiceRequest) -> Option<String> {
    req.headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn query_token(req: &ServiceRequest) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, _)| key == "csrf_token")
        .map(|(_, value)| value.into_owned())
}

fn form_token(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(key, _)| key == "csrf_token")
        .map(|(_, value)| value.into_owned())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn bytes_to_payload(body: actix_web::web::Bytes) -> actix_web::dev::Payload {
    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(body);
    actix_web::dev::Payload::from(payload)
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn api_paths_are_logged_without_the_customer_identifier() {
        assert_eq!(
            loggable_path("/api/v1/customers/ada@example.com/events"),
            "/api/v1/customers/{identifier}/events"
        );
        assert_eq!(
            loggable_path("/api/v1/customers/42"),
            "/api/v1/customers/{identifier}"
        );
        assert_eq!(loggable_path("/w/acme/customers/42"), "/w/acme/customers/42");
    }

    #[test]
    fn api_paths_are_logged_without_the_device_token() {
        assert_eq!(
            loggable_path("/api/v1/customers/42/devices/apns-token-123"),
            "/api/v1/customers/{identifier}/devices/{device_id}"
        );
        assert_eq!(
            loggable_path("/api/v1/customers/42/devices"),
            "/api/v1/customers/{identifier}/devices"
        );
        // A customer whose id is "devices" is still an identifier.
        assert_eq!(
            loggable_path("/api/v1/customers/devices/devices/tok"),
            "/api/v1/customers/{identifier}/devices/{device_id}"
        );
    }

    #[test]
    fn the_client_address_is_read_from_forwarded_for_only_behind_a_trusted_proxy() {
        use super::client_address;
        let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap();
        let peer: std::net::IpAddr = "203.0.113.9".parse().unwrap();
        let trusted = [proxy];
        assert_eq!(
            client_address(peer, "198.51.100.1", &trusted),
            peer,
            "untrusted peer"
        );
        assert_eq!(
            client_address(proxy, "198.51.100.7, 198.51.100.1", &trusted).to_string(),
            "198.51.100.1",
            "the nearest hop, not what the client wrote further left"
        );
        assert_eq!(client_address(proxy, "", &trusted), proxy);
        assert_eq!(client_address(proxy, "garbage", &trusted), proxy);
        assert_eq!(
            client_address(proxy, "198.51.100.1, 10.0.0.2", &trusted).to_string(),
            "198.51.100.1",
            "trusted hops are skipped"
        );
    }

    #[test]
    fn invitation_links_are_logged_without_their_token() {
        assert_eq!(
            loggable_path("/invitations/Xq7w9ZbT4kLm2PvR8sN3dF6hJ1cY5gA0"),
            "/invitations/{token}"
        );
        assert_eq!(loggable_path("/settings/workspaces"), "/settings/workspaces");
    }

    #[test]
    fn password_reset_links_are_logged_without_their_token() {
        assert_eq!(
            loggable_path("/password/reset/Xq7w9ZbT4kLm2PvR8sN3dF6hJ1cY5gA0"),
            "/password/reset/{token}"
        );
        assert_eq!(
            loggable_path("/password/reset/Xq7w9ZbT4kLm2PvR8sN3dF6hJ1cY5gA0/extra"),
            "/password/reset/{token}/extra"
        );
        assert_eq!(loggable_path("/password/forgot"), "/password/forgot");
        assert_eq!(loggable_path("/password/forgot/sent"), "/password/forgot/sent");
        assert_eq!(loggable_path("/password/reset/"), "/password/reset/");
    }
}
