use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

const BODY: &[u8] = br#"{"type":"customer.erased","secret-marker":"do-not-echo"}"#;

/// What the test server does with a request to a path.
#[derive(Clone)]
enum Answer {
    Raw(String),
    /// Holds the connection open without a word.
    Hang,
    /// A 200 whose body never ends.
    Endless,
}

/// One request as the test server read it.
#[derive(Debug, Clone)]
struct Seen {
    head: String,
    body: Vec<u8>,
}

impl Seen {
    fn path(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or_default()
    }
}

struct TestServer {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    async fn start(answer: impl Fn(&str, u16) -> Answer + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(answer);
        let store = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, answer) = (store.clone(), answer.clone());
                tokio::spawn(async move {
                    let _ = answer_one(stream, store, move |path| answer(path, port)).await;
                });
            }
        });
        TestServer { port, seen }
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://127.0.0.1:{}{path}", self.port)).unwrap()
    }

    fn destination(&self, path: &str) -> DestinationUrl {
        DestinationUrl::parse(self.url(path).as_str()).unwrap()
    }

    fn paths(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.path().to_owned())
            .collect()
    }
}

/// Reads one request (head and Content-Length body), answers it, and closes.
async fn answer_one(
    mut stream: TcpStream,
    store: Arc<Mutex<Vec<Seen>>>,
    answer: impl Fn(&str) -> Answer,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let seen = Seen {
        head,
        body: buffer[head_end..].to_vec(),
    };
    let path = seen.path().to_owned();
    store.lock().unwrap().push(seen);
    match answer(&path) {
        Answer::Raw(response) => stream.write_all(response.as_bytes()).await?,
        Answer::Hang => tokio::time::sleep(Duration::from_secs(60)).await,
        Answer::Endless => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                .await?;
            let block = vec![b'x'; 16 * 1024];
            loop {
                stream.write_all(&block).await?;
            }
        }
    }
    stream.shutdown().await
}

fn status(code: u16) -> Answer {
    Answer::Raw(format!(
        "HTTP/1.1 {code} Whatever\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    ))
}

fn redirect(location: &str) -> Answer {
    redirect_with(302, location)
}

fn redirect_with(code: u16, location: &str) -> Answer {
    Answer::Raw(format!(
        "HTTP/1.1 {code} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ))
}

fn client() -> GuardedClient {
    GuardedClient::new(Duration::from_secs(5))
}

fn headers() -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".to_owned()),
        ("webhook-id", "msg_test".to_owned()),
    ]
}

#[tokio::test]
async fn the_answers_status_is_returned_whatever_it_is() {
    let server =
        TestServer::start(|path, _| status(path.trim_start_matches('/').parse().unwrap_or(404))).await;
    for code in [200, 204, 500, 410, 429] {
        let answered = client()
            .post(
                &server.destination(&format!("/{code}")),
                &headers(),
                BODY.to_vec(),
            )
            .await;
        assert_eq!(answered, Ok(code));
    }
}

#[tokio::test]
async fn the_body_and_headers_arrive_as_given() {
    let server = TestServer::start(|_, _| status(200)).await;
    client()
        .post(&server.destination("/hook"), &headers(), BODY.to_vec())
        .await
        .unwrap();
    let seen = server.seen.lock().unwrap()[0].clone();
    assert!(seen.head.starts_with("POST /hook HTTP/1.1\r\n"), "{}", seen.head);
    let head = seen.head.to_ascii_lowercase();
    assert!(head.contains("\r\nwebhook-id: msg_test\r\n"), "{head}");
    assert!(head.contains("\r\ncontent-type: application/json\r\n"), "{head}");
    assert!(head.contains("\r\nuser-agent: erasure/"), "{head}");
    assert_eq!(seen.body, BODY);
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_within_the_timeout() {
    let server = TestServer::start(|_, _| Answer::Hang).await;
    let client = GuardedClient::new(Duration::from_millis(300));
    let started = Instant::now();
    let failure = client
        .post(&server.destination("/slow"), &headers(), BODY.to_vec())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(failure, DeliveryFailure::Timeout("300ms".into()));
    assert_eq!(failure.to_string(), "timed out: no answer within 300ms");
}

#[tokio::test]
async fn an_endless_answer_is_not_read_to_its_end() {
    let server = TestServer::start(|_, _| Answer::Endless).await;
    let started = Instant::now();
    let answered = client()
        .post(&server.destination("/flood"), &headers(), BODY.to_vec())
        .await;
    assert_eq!(answered, Ok(200));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_redirect_within_the_same_host_is_followed_with_the_same_post() {
    for code in [301, 302, 307, 308] {
        let server = TestServer::start(move |path, _| match path {
            "/old" => redirect_with(code, "/new"),
            _ => status(204),
        })
        .await;
        let answered = client()
            .post(&server.destination("/old"), &headers(), BODY.to_vec())
            .await;
        assert_eq!(answered, Ok(204), "{code}");
        assert_eq!(server.paths(), ["/old", "/new"], "{code}");
        let again = server.seen.lock().unwrap()[1].clone();
        assert!(again.head.starts_with("POST /new "), "{code}: {}", again.head);
        assert!(again
            .head
            .to_ascii_lowercase()
            .contains("\r\nwebhook-id: msg_test\r\n"));
        assert_eq!(again.body, BODY, "{code}");
    }
}

#[tokio::test]
async fn a_see_other_is_the_answer_itself() {
    let server = TestServer::start(|path, _| match path {
        "/hook" => redirect_with(303, "/receipt"),
        _ => status(200),
    })
    .await;
    let answered = client()
        .post(&server.destination("/hook"), &headers(), BODY.to_vec())
        .await;
    assert_eq!(answered, Ok(303));
    assert_eq!(server.paths(), ["/hook"]);
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    // 127.0.0.2 is this machine too, but another host as far as a URL goes.
    let server = TestServer::start(|_, port| redirect(&format!("http://127.0.0.2:{port}/elsewhere"))).await;
    let failure = client()
        .post(&server.destination("/hook"), &headers(), BODY.to_vec())
        .await
        .unwrap_err();
    let elsewhere = format!("http://127.0.0.2:{}", server.port);
    assert_eq!(failure, DeliveryFailure::RedirectedElsewhere(elsewhere.clone()));
    assert_eq!(
        failure.to_string(),
        format!("redirected to another host ({elsewhere}): not followed")
    );
    assert_eq!(server.paths(), ["/hook"]);
}

#[tokio::test]
async fn a_redirect_to_another_port_or_scheme_is_not_followed() {
    let server = TestServer::start(|path, port| match path {
        "/port" => redirect(&format!("http://127.0.0.1:{}/", port.wrapping_add(1))),
        _ => redirect(&format!("https://127.0.0.1:{port}/")),
    })
    .await;
    for path in ["/port", "/scheme"] {
        let failure = client()
            .post(&server.destination(path), &headers(), BODY.to_vec())
            .await
            .unwrap_err();
        assert!(
            matches!(failure, DeliveryFailure::RedirectedElsewhere(_)),
            "{path}: {failure}"
        );
    }
}

#[tokio::test]
async fn more_than_three_redirects_are_not_followed() {
    let server = TestServer::start(|path, _| {
        let n: u32 = path.trim_start_matches('/').parse().unwrap_or(0);
        redirect(&format!("/{}", n + 1))
    })
    .await;
    let failure = client()
        .post(&server.destination("/0"), &headers(), BODY.to_vec())
        .await
        .unwrap_err();
    assert_eq!(failure, DeliveryFailure::TooManyRedirects);
    assert_eq!(server.paths(), ["/0", "/1", "/2", "/3"]);
}

#[tokio::test]
async fn private_and_metadata_addresses_are_refused_without_connecting() {
    // A connection attempt would end in a timeout or a network error, not this refusal.
    let client = client();
    for url in [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "https://[::ffff:10.0.0.1]/",
    ] {
        let started = Instant::now();
        let failure = client
            .post_url(&Url::parse(url).unwrap(), &headers(), BODY.to_vec())
            .await
            .unwrap_err();
        assert!(
            matches!(failure, DeliveryFailure::RefusedAddress(_)),
            "{url}: {failure}"
        );
        assert!(failure.to_string().starts_with("refused address: "), "{failure}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{url} took {:?}",
            started.elapsed()
        );
        assert!(DestinationUrl::parse(url).is_err(), "{url}");
    }
}

#[tokio::test]
async fn a_closed_port_is_a_refused_connection() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = DestinationUrl::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let failure = client().post(&url, &headers(), BODY.to_vec()).await.unwrap_err();
    assert_eq!(failure, DeliveryFailure::ConnectionRefused);
    assert_eq!(failure.to_string(), "connection refused");
}

#[tokio::test]
async fn localhost_by_name_is_resolved_and_allowed() {
    let server = TestServer::start(|_, _| status(202)).await;
    let url = DestinationUrl::parse(&format!("http://localhost:{}/hook", server.port)).unwrap();
    assert_eq!(client().post(&url, &headers(), BODY.to_vec()).await, Ok(202));
}

#[tokio::test]
async fn another_name_for_this_machine_is_never_connected_to() {
    // "localhost." is not "localhost": whether the system resolves it (to 127.0.0.1,
    // refused) or not (not found), the resolver's verdict is what the owner reads.
    let server = TestServer::start(|_, _| status(200)).await;
    let url = Url::parse(&format!("http://localhost.:{}/hook", server.port)).unwrap();
    let failure = client()
        .post_url(&url, &headers(), BODY.to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(
            failure,
            DeliveryFailure::RefusedAddress(_) | DeliveryFailure::HostNotFound(_)
        ),
        "{failure:?}"
    );
    assert!(server.paths().is_empty());
}

#[tokio::test]
async fn https_to_something_that_does_not_speak_tls_is_a_tls_failure() {
    // Answers in plain HTTP as soon as anything arrives, as a misconfigured port would.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut hello = [0u8; 512];
            let _ = stream.read(&mut hello).await;
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let url = DestinationUrl::parse(&format!("https://localhost:{port}/hook")).unwrap();
    let failure = client().post(&url, &headers(), BODY.to_vec()).await.unwrap_err();
    assert!(matches!(failure, DeliveryFailure::Tls(_)), "{failure:?}");
    assert!(
        failure.to_string().starts_with("secure connection failed: "),
        "{failure}"
    );
}

#[tokio::test]
async fn failures_never_carry_the_body() {
    let hanging = TestServer::start(|_, _| Answer::Hang).await;
    let quick = GuardedClient::new(Duration::from_millis(200));
    let failures = [
        quick
            .post(&hanging.destination("/"), &headers(), BODY.to_vec())
            .await,
        quick
            .post_url(
                &Url::parse("http://10.0.0.1/").unwrap(),
                &headers(),
                BODY.to_vec(),
            )
            .await,
    ];
    for failure in failures {
        let message = failure.unwrap_err().to_string();
        assert!(!message.contains("do-not-echo"), "{message}");
    }
}

#[tokio::test]
async fn a_header_that_cannot_be_sent_is_refused_before_connecting() {
    let server = TestServer::start(|_, _| status(200)).await;
    let bad = [("webhook-id", "line\nbreak".to_owned())];
    let failure = client()
        .post(&server.destination("/"), &bad, BODY.to_vec())
        .await
        .unwrap_err();
    assert_eq!(
        failure,
        DeliveryFailure::InvalidHeader("value of webhook-id".into())
    );
    assert!(server.paths().is_empty());
}

fn addr(text: &str) -> SocketAddr {
    SocketAddr::new(text.parse().unwrap(), 0)
}

#[test]
fn a_name_keeps_only_its_public_addresses() {
    let kept = keep_allowed("hooks.example.com", vec![addr("10.0.0.5"), addr("93.184.215.14")]).unwrap();
    assert_eq!(kept, [addr("93.184.215.14")]);
}

#[test]
fn a_name_with_only_internal_addresses_is_refused_with_them_named() {
    let failure = keep_allowed("internal.example.com", vec![addr("10.0.0.5"), addr("fd00::1")]).unwrap_err();
    assert_eq!(
        failure.to_string(),
        "refused address: internal.example.com resolves only to addresses that are not public (10.0.0.5, fd00::1)"
    );
}

#[test]
fn only_localhost_itself_may_resolve_to_this_machine() {
    assert_eq!(
        keep_allowed("localhost", vec![addr("127.0.0.1"), addr("::1")]).unwrap(),
        [addr("127.0.0.1"), addr("::1")]
    );
    assert!(matches!(
        keep_allowed("localtest.me", vec![addr("127.0.0.1")]),
        Err(DeliveryFailure::RefusedAddress(_))
    ));
    assert!(matches!(
        keep_allowed("metadata.example", vec![addr("169.254.169.254")]),
        Err(DeliveryFailure::RefusedAddress(_))
    ));
}

#[test]
fn a_name_with_no_addresses_is_not_found() {
    assert_eq!(
        keep_allowed("nothing.example", vec![]),
        Err(DeliveryFailure::HostNotFound("nothing.example".into()))
    );
}
