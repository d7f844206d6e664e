//! A real SMTP listener on a random port: it speaks just enough of the protocol for
//! lettre to deliver, and keeps every message for the test to read.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub recipients: Vec<String>,
    /// The raw message: headers and body.
    pub raw: String,
}

impl ReceivedMail {
    pub fn subject(&self) -> String {
        self.raw
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_owned()
    }

    /// The body with any quoted-printable encoding undone.
    pub fn body(&self) -> String {
        let body = self
            .raw
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        if self.raw.contains("Content-Transfer-Encoding: quoted-printable") {
            let decoded = quoted_printable::decode(body.as_bytes(), quoted_printable::ParseMode::Robust)
                .unwrap_or_else(|_| body.as_bytes().to_vec());
            String::from_utf8_lossy(&decoded).into_owned()
        } else {
            body.to_owned()
        }
    }

    /// The one-time code of a code mail: the digits after "Code: ".
    pub fn code(&self) -> String {
        self.body()
            .lines()
            .find_map(|l| l.strip_prefix("Code: "))
            .expect("a code line")
            .trim()
            .to_owned()
    }

    pub fn is_to(&self, address: &str) -> bool {
        self.recipients.iter().any(|r| r.eq_ignore_ascii_case(address))
    }
}

#[derive(Clone)]
pub struct MailSink {
    port: u16,
    messages: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl MailSink {
    pub async fn start() -> MailSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port for SMTP");
        let port = listener.local_addr().expect("an address").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, store).await;
                });
            }
        });
        MailSink { port, messages }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn all(&self) -> Vec<ReceivedMail> {
        self.messages.lock().expect("mail lock").clone()
    }

    /// Waits up to ten seconds for a message to arrive that `matches`.
    pub async fn wait_for(&self, matches: impl Fn(&ReceivedMail) -> bool) -> ReceivedMail {
        for _ in 0..200 {
            if let Some(found) = self.all().into_iter().find(|m| matches(m)) {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no matching mail arrived; received: {:#?}", self.all());
    }
}

async fn serve(stream: tokio::net::TcpStream, store: Arc<Mutex<Vec<ReceivedMail>>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 test-smtp ready\r\n").await?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            write.write_all(b"250-test-smtp\r\n250 8BITMIME\r\n").await?;
        } else if command.starts_with("MAIL FROM") {
            recipients.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if command.starts_with("RCPT TO") {
            let address = line
                .trim_end()
                .split_once(':')
                .map(|(_, a)| a.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
                .unwrap_or_default();
            recipients.push(address);
            write.write_all(b"250 OK\r\n").await?;
        } else if command == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut raw = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let content = line.strip_prefix('.').unwrap_or(&line);
                raw.push_str(content);
            }
            store.lock().expect("mail lock").push(ReceivedMail {
                recipients: std::mem::take(&mut recipients),
                raw,
            });
            write.write_all(b"250 OK queued\r\n").await?;
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}
