//! One Mailer over lettre: SMTP when SMTP_URL is set, otherwise `.eml` files in the
//! outbox folder, so that a fresh machine can still read its codes.

use std::path::PathBuf;

use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::SmtpTransport;
use lettre::{FileTransport, Message, Transport};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address: {0}")]
    Address(#[from] lettre::address::AddressError),
    #[error("the message could not be built: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP delivery failed: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("writing to the outbox failed: {0}")]
    File(#[from] lettre::transport::file::Error),
    #[error("the outbox folder could not be created: {0}")]
    Outbox(std::io::Error),
    #[error("the mail task stopped unexpectedly")]
    Task,
}

#[derive(Clone)]
enum Backend {
    Smtp(SmtpTransport),
    Outbox(PathBuf),
}

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    backend: Backend,
}

/// A plain-text message to one recipient.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Mailer {
    pub fn new(smtp_url: Option<&str>, outbox: PathBuf, from: &str) -> Result<Mailer, MailError> {
        let from: Mailbox = from.parse()?;
        let backend = match smtp_url {
            Some(url) => Backend::Smtp(
                SmtpTransport::from_url(url)?
                    .timeout(Some(std::time::Duration::from_secs(10)))
                    .build(),
            ),
            None => Backend::Outbox(outbox),
        };
        Ok(Mailer { from, backend })
    }

    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Smtp(_) => "SMTP".into(),
            Backend::Outbox(dir) => format!("outbox folder {}", dir.display()),
        }
    }

    /// Sends on a blocking thread so that a slow mail server never stalls a request thread.
    pub async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        let mailer = self.clone();
        tokio::task::spawn_blocking(move || mailer.send_blocking(&mail))
            .await
            .map_err(|_| MailError::Task)?
    }

    pub fn send_blocking(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(mail.to.parse()?)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())?;
        match &self.backend {
            Backend::Smtp(transport) => {
                transport.send(&message)?;
                tracing::info!(subject = %mail.subject, "mail sent over SMTP");
            }
            Backend::Outbox(dir) => {
                std::fs::create_dir_all(dir).map_err(MailError::Outbox)?;
                let id = FileTransport::new(dir).send(&message)?;
                tracing::info!(
                    subject = %mail.subject,
                    path = %dir.join(format!("{id}.eml")).display(),
                    "mail written to the outbox"
                );
            }
        }
        Ok(())
    }
}
