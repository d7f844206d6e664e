//! A real HTTP/1.1 endpoint on a random port, standing in for a destination: it keeps
//! every request it is sent, answers as the test tells it to, and checks Standard
//! Webhooks signatures with its own code (not the product's), so a test can tell
//! whether what Erasure sends would convince a real receiver.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How far a delivery's timestamp may be from the receiver's clock (the
/// specification's recommendation).
const TIMESTAMP_TOLERANCE_SECONDS: i64 = 5 * 60;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub method: String,
    pub path: String,
    /// Names lower-cased, in the order sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub arrived: Instant,
}

impl ReceivedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body_text()))
    }
}

/// What the next requests are answered with.
struct Answers {
    sequence: VecDeque<u16>,
    otherwise: u16,
    /// Where a 3xx answer points.
    location: Option<String>,
}

#[derive(Clone)]
pub struct WebhookReceiver {
    port: u16,
    requests: Arc<Mutex<Vec<ReceivedRequest>>>,
    connections: Arc<AtomicUsize>,
    answers: Arc<Mutex<Answers>>,
    /// While true, requests are recorded but not answered.
    holding: Arc<watch::Sender<bool>>,
}

impl WebhookReceiver {
    /// Listens on 127.0.0.1 and answers 200 to everything until told otherwise.
    pub async fn start() -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for webhooks");
        let receiver = WebhookReceiver {
            port: listener.local_addr().expect("an address").port(),
            requests: Arc::new(Mutex::new(Vec::new())),
            connections: Arc::new(AtomicUsize::new(0)),
            answers: Arc::new(Mutex::new(Answers {
                sequence: VecDeque::new(),
                otherwise: 200,
                location: None,
            })),
            holding: Arc::new(watch::channel(false).0),
        };
        let serving = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let serving = serving.clone();
                serving.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let _ = serving.serve(stream).await;
                });
            }
        });
        receiver
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answers every request from now on with `status`.
    pub fn answer_with(&self, status: u16) {
        let mut answers = self.answers.lock().expect("answers lock");
        answers.sequence.clear();
        answers.otherwise = status;
    }

    /// Answers the next requests with these statuses in turn, then with 200.
    pub fn answer_sequence(&self, statuses: Vec<u16>) {
        let mut answers = self.answers.lock().expect("answers lock");
        answers.sequence = statuses.into();
        answers.otherwise = 200;
    }

    /// Answers every request from now on with a 307 pointing at `location`.
    pub fn redirect_to(&self, location: &str) {
        let mut answers = self.answers.lock().expect("answers lock");
        answers.sequence.clear();
        answers.otherwise = 307;
        answers.location = Some(location.to_owned());
    }

    /// Keeps requests waiting, unanswered, until [`WebhookReceiver::release`].
    pub fn hang_until_released(&self) {
        self.holding.send_replace(true);
    }

    /// Answers the requests held so far, and answers new ones at once again.
    pub fn release(&self) {
        self.holding.send_replace(false);
    }

    /// Every request received so far, in the order they arrived.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.requests.lock().expect("requests lock").clone()
    }

    /// How many connections clients have opened so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` requests have arrived, and returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedRequest> {
        let deadline = Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            if Instant::now() >= deadline {
                panic!(
                    "expected {n} requests within {timeout:?}, received {}: {requests:#?}",
                    requests.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Serves one connection, request after request, for as long as the client keeps it.
    async fn serve(&self, stream: TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        loop {
            let Some(parsed) = read_request(&mut reader).await? else {
                return Ok(());
            };
            let (status, keep_alive) = match parsed {
                Parsed::Request(request, keep_alive) => {
                    self.requests.lock().expect("requests lock").push(request);
                    (self.next_status(), keep_alive)
                }
                Parsed::Chunked => (411, false),
            };
            let mut holding = self.holding.subscribe();
            let _ = holding.wait_for(|held| !*held).await;
            let location = self.answers.lock().expect("answers lock").location.clone();
            write
                .write_all(response(status, keep_alive, location.as_deref()).as_bytes())
                .await?;
            if !keep_alive {
                return write.shutdown().await;
            }
        }
    }

    /// Decided as the request arrives, so answers follow arrival order even when held.
    fn next_status(&self) -> u16 {
        let mut answers = self.answers.lock().expect("answers lock");
        let otherwise = answers.otherwise;
        answers.sequence.pop_front().unwrap_or(otherwise)
    }
}

enum Parsed {
    /// The request, and whether the connection stays open after it.
    Request(ReceivedRequest, bool),
    /// A chunked body, which this receiver does not read: answered 411, then closed.
    Chunked,
}

async fn read_request<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> std::io::Result<Option<Parsed>> {
    let mut line = String::new();
    // A client may send blank lines between requests; a closed connection ends here.
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let arrived = Instant::now();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let version = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let find = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    if find("transfer-encoding").is_some() {
        return Ok(Some(Parsed::Chunked));
    }
    let length: usize = find("content-length")
        .map(|v| v.parse().expect("a numeric Content-Length"))
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    let connection = find("connection").unwrap_or_default().to_ascii_lowercase();
    let keep_alive = if version == "HTTP/1.0" {
        connection == "keep-alive"
    } else {
        connection != "close"
    };
    let request = ReceivedRequest {
        method,
        path,
        headers,
        body,
        arrived,
    };
    Ok(Some(Parsed::Request(request, keep_alive)))
}

fn response(status: u16, keep_alive: bool, location: Option<&str>) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Status");
    let connection = if keep_alive { "keep-alive" } else { "close" };
    // 204 and 304 never have a body, so they must not announce one.
    let length = if matches!(status, 204 | 304) {
        ""
    } else {
        "Content-Length: 0\r\n"
    };
    let location = match location {
        Some(to) if (300..400).contains(&status) => format!("Location: {to}\r\n"),
        _ => String::new(),
    };
    format!("HTTP/1.1 {status} {reason}\r\n{location}{length}Connection: {connection}\r\n\r\n")
}

/// Checks a request as a Standard Webhooks receiver holding `secret_whsec` would:
/// an id, a timestamp within five minutes of now, and at least one `v1,` signature
/// of `{id}.{timestamp}.{body}` that matches.
pub fn verify(secret_whsec: &str, request: &ReceivedRequest) -> Result<(), String> {
    verify_at(secret_whsec, request, chrono::Utc::now().timestamp())
}

/// [`verify`] with the receiver's clock at `now` (Unix seconds).
pub fn verify_at(secret_whsec: &str, request: &ReceivedRequest, now: i64) -> Result<(), String> {
    let key = secret_whsec
        .strip_prefix("whsec_")
        .ok_or("the secret does not start with whsec_")?;
    let key = STANDARD
        .decode(key)
        .map_err(|e| format!("the secret is not base64: {e}"))?;
    let id = request
        .header("webhook-id")
        .filter(|id| !id.is_empty())
        .ok_or("no webhook-id header")?;
    let timestamp = request
        .header("webhook-timestamp")
        .ok_or("no webhook-timestamp header")?;
    let seconds: i64 = timestamp
        .parse()
        .map_err(|_| format!("webhook-timestamp is not whole seconds: {timestamp}"))?;
    if (now - seconds).abs() > TIMESTAMP_TOLERANCE_SECONDS {
        return Err(format!(
            "webhook-timestamp {seconds} is more than five minutes from now ({now})"
        ));
    }
    let signatures = request
        .header("webhook-signature")
        .ok_or("no webhook-signature header")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&request.body);
    let matches = signatures
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|signature| mac.clone().verify_slice(&signature).is_ok());
    if matches {
        Ok(())
    } else {
        Err(format!("no v1 signature matches: {signatures}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector of the Standard Webhooks reference libraries.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const TIMESTAMP: i64 = 1614265330;

    fn spec_request(signature: &str, body: &[u8]) -> ReceivedRequest {
        ReceivedRequest {
            method: "POST".into(),
            path: "/".into(),
            headers: vec![
                ("webhook-id".into(), "msg_p5jXN8AQM9LWM0D4loKWxJek".into()),
                ("webhook-timestamp".into(), TIMESTAMP.to_string()),
                ("webhook-signature".into(), signature.into()),
            ],
            body: body.to_vec(),
            arrived: Instant::now(),
        }
    }

    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn the_verifier_accepts_the_specifications_test_vector() {
        assert_eq!(
            verify_at(SECRET, &spec_request(SIGNATURE, BODY), TIMESTAMP + 60),
            Ok(())
        );
    }

    #[test]
    fn the_verifier_accepts_one_good_signature_among_several() {
        let header = format!("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,abc {SIGNATURE}");
        assert_eq!(verify_at(SECRET, &spec_request(&header, BODY), TIMESTAMP), Ok(()));
    }

    #[test]
    fn the_verifier_rejects_a_changed_body_an_old_timestamp_and_a_wrong_secret() {
        let changed = spec_request(SIGNATURE, br#"{"test": 2432232315}"#);
        assert!(verify_at(SECRET, &changed, TIMESTAMP).is_err());
        assert!(verify_at(SECRET, &spec_request(SIGNATURE, BODY), TIMESTAMP + 301).is_err());
        assert!(verify_at(SECRET, &spec_request(SIGNATURE, BODY), TIMESTAMP - 301).is_err());
        let other = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(verify_at(other, &spec_request(SIGNATURE, BODY), TIMESTAMP).is_err());
        let mut unsigned = spec_request(SIGNATURE, BODY);
        unsigned.headers.retain(|(name, _)| name != "webhook-signature");
        assert!(verify_at(SECRET, &unsigned, TIMESTAMP).is_err());
    }

    #[tokio::test]
    async fn the_receiver_records_requests_and_answers_in_sequence_over_one_connection() {
        let receiver = WebhookReceiver::start().await;
        receiver.answer_sequence(vec![500, 503]);
        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        for n in 0..4 {
            let response = client
                .post(receiver.url(&format!("/hook/{n}")))
                .header("Webhook-Id", format!("msg_{n}"))
                .body(format!("body {n}"))
                .send()
                .await
                .expect("an answer");
            statuses.push(response.status().as_u16());
        }
        assert_eq!(statuses, [500, 503, 200, 200]);
        assert_eq!(receiver.connections(), 1, "the client kept its connection");
        let requests = receiver.wait_for(4, Duration::from_secs(5)).await;
        assert_eq!(requests.len(), 4);
        assert_eq!(requests[2].method, "POST");
        assert_eq!(requests[2].path, "/hook/2");
        assert_eq!(requests[2].header("webhook-id"), Some("msg_2"));
        assert_eq!(requests[2].body_text(), "body 2");
        assert!(requests[1].arrived <= requests[2].arrived);

        receiver.answer_with(410);
        let gone = client
            .post(receiver.url("/"))
            .body("x")
            .send()
            .await
            .expect("an answer");
        assert_eq!(gone.status().as_u16(), 410);
    }

    #[tokio::test]
    async fn a_held_request_is_recorded_at_once_and_answered_on_release() {
        let receiver = WebhookReceiver::start().await;
        receiver.answer_with(204);
        receiver.hang_until_released();
        let url = receiver.url("/held");
        let sending = tokio::spawn(async move { reqwest::Client::new().post(url).body("x").send().await });
        receiver.wait_for(1, Duration::from_secs(5)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!sending.is_finished(), "a held request is not answered");
        receiver.release();
        let response = sending.await.expect("the task").expect("an answer");
        assert_eq!(response.status().as_u16(), 204);
    }

    #[tokio::test]
    async fn a_delivery_signed_and_sent_by_erasure_passes_the_independent_check() {
        use erasure::domain::DestinationUrl;
        use erasure::propagation::guarded_client::GuardedClient;
        use erasure::propagation::signature::{new_message_id, signature_header, SigningSecret};

        let receiver = WebhookReceiver::start().await;
        let (current, previous) = (SigningSecret::generate(), SigningSecret::generate());
        let body = br#"{"type":"customer.erased","customer":{"id":"42"}}"#.to_vec();
        let id = new_message_id();
        let timestamp = chrono::Utc::now().timestamp();
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("webhook-id", id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                signature_header(&[&current, &previous], &id, timestamp, &body),
            ),
        ];
        let url = DestinationUrl::parse(&receiver.url("/erasures")).expect("a loopback URL");
        let status = GuardedClient::new(Duration::from_secs(5))
            .post(&url, &headers, body)
            .await
            .expect("an answer");
        assert_eq!(status, 200);

        let request = receiver.wait_for(1, Duration::from_secs(5)).await.remove(0);
        assert_eq!(request.json()["customer"]["id"], "42");
        assert_eq!(verify(&current.display(), &request), Ok(()));
        assert_eq!(verify(&previous.display(), &request), Ok(()));
        let stranger = SigningSecret::generate().display();
        assert!(verify(&stranger, &request).is_err());
    }
}
