//! A typed face over the session: what we keep in it and nothing else.

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use rand::distributions::{Alphanumeric, DistString};
use serde::{Deserialize, Serialize};
use std::future::{ready, Ready};

use super::form_key::FormKey;
use super::session_store::{SIGNED_IN_AT_KEY, USER_ID_KEY};

const CSRF_KEY: &str = "csrf";
const FLASH_KEY: &str = "flash";
const NONCE_KEY: &str = "nonce";
const PENDING_USER_KEY: &str = "pending_user_id";
const PENDING_AT_KEY: &str = "pending_at";
const TOTP_ENROLMENT_KEY: &str = "totp_enrolment";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlashKind {
    Success,
    Error,
    Info,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
    /// A link shown after the message (a receipt): its own field, rendered as an
    /// escaped `<a>`, so a message never carries markup.
    #[serde(default)]
    pub link: Option<FlashLink>,
}

/// Where a flash points, and its words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashLink {
    pub href: String,
    pub label: String,
}

impl FlashLink {
    /// The receipt of an erasure, on this workspace's pages (`base` is `/w/{slug}`).
    pub fn receipt(base: &str, receipt_id: &str) -> FlashLink {
        FlashLink {
            href: format!("{base}/receipts/{receipt_id}"),
            label: format!("Receipt {receipt_id}"),
        }
    }
}

impl Flash {
    pub fn css_class(&self) -> &'static str {
        match self.kind {
            FlashKind::Success => "flash flash-success",
            FlashKind::Error => "flash flash-error",
            FlashKind::Info => "flash flash-info",
        }
    }
}

pub struct TypedSession {
    session: Session,
    /// The visitor's cookie-bound form token, for pages shown before any session.
    form_key: Option<FormKey>,
}

fn random_token() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 43)
}

impl TypedSession {
    pub fn user_id(&self) -> Option<i64> {
        self.session.get::<i64>(USER_ID_KEY).ok().flatten()
    }

    pub fn signed_in_at(&self) -> Option<i64> {
        self.session.get::<i64>(SIGNED_IN_AT_KEY).ok().flatten()
    }

    /// Signs the user in under a brand-new session id, so an id planted before sign-in
    /// (session fixation) is worthless afterwards.
    pub fn sign_in(&self, user_id: i64) -> Result<(), actix_session::SessionInsertError> {
        self.session.renew();
        self.session.remove(PENDING_USER_KEY);
        self.session.remove(PENDING_AT_KEY);
        self.session.insert(USER_ID_KEY, user_id)?;
        self.session
            .insert(SIGNED_IN_AT_KEY, chrono::Utc::now().timestamp())?;
        self.session.insert(CSRF_KEY, random_token())?;
        self.session.insert(NONCE_KEY, random_token())?;
        Ok(())
    }

    /// Keeps this browser signed in under a brand-new session id, after a change that
    /// ended every session of the person (its old id among them).
    pub fn keep_under_new_id(&self) {
        self.session.renew();
    }

    pub fn sign_out(&self) {
        self.session.purge();
    }

    /// Whether this visitor has a session with something in it (which is, or will be,
    /// stored): a stranger's is empty, and must stay so.
    pub fn is_stored(&self) -> bool {
        !self.session.entries().is_empty()
    }

    /// The synchronizer token every form carries: the session's, made on first use;
    /// or, while there is no session to keep, the visitor's cookie-bound token, so that
    /// showing a form to a stranger stores nothing.
    pub fn csrf_token(&self) -> String {
        if let Ok(Some(token)) = self.session.get::<String>(CSRF_KEY) {
            return token;
        }
        if self.session.entries().is_empty() {
            if let Some(key) = &self.form_key {
                return key.token.clone();
            }
        }
        let token = random_token();
        if let Err(err) = self.session.insert(CSRF_KEY, &token) {
            tracing::error!(error = %err, "could not store the CSRF token");
        }
        token
    }

    /// The tokens a form may carry, without making one: the session's, and the
    /// visitor's cookie-bound one when the request presented its cookie.
    pub fn accepted_csrf_tokens(&self) -> Vec<String> {
        let session = self.session.get::<String>(CSRF_KEY).ok().flatten();
        let visitor = self
            .form_key
            .as_ref()
            .filter(|k| k.presented)
            .map(|k| k.token.clone());
        session.into_iter().chain(visitor).collect()
    }

    /// A random value that names this sign-in, for binding one-time codes to it.
    pub fn nonce(&self) -> Option<String> {
        self.session.get::<String>(NONCE_KEY).ok().flatten()
    }

    pub fn flash(&self, kind: FlashKind, message: impl Into<String>) {
        self.push_flash(Flash {
            kind,
            message: message.into(),
            link: None,
        });
    }

    /// A flash message followed by a link (a receipt).
    pub fn flash_with_link(&self, kind: FlashKind, message: impl Into<String>, link: FlashLink) {
        self.push_flash(Flash {
            kind,
            message: message.into(),
            link: Some(link),
        });
    }

    fn push_flash(&self, flash: Flash) {
        let mut flashes = self
            .session
            .get::<Vec<Flash>>(FLASH_KEY)
            .ok()
            .flatten()
            .unwrap_or_default();
        flashes.push(flash);
        if let Err(err) = self.session.insert(FLASH_KEY, flashes) {
            tracing::error!(error = %err, "could not store a flash message");
        }
    }

    pub fn take_flashes(&self) -> Vec<Flash> {
        // `remove` marks the session changed whether or not the key was there, and a
        // changed session is written back to the database: every page view was a
        // write, which on SQLite waited for the write lock behind any running job.
        if !self.session.contains_key(FLASH_KEY) {
            return Vec::new();
        }
        self.session
            .remove_as::<Vec<Flash>>(FLASH_KEY)
            .and_then(Result::ok)
            .unwrap_or_default()
    }

    /// Password accepted, second factor still to come. Whoever this browser was signed
    /// in as before is signed out: a pending sign-in is no sign-in.
    pub fn set_pending_user(&self, user_id: i64) -> Result<(), actix_session::SessionInsertError> {
        self.session.renew();
        self.session.remove(USER_ID_KEY);
        self.session.remove(SIGNED_IN_AT_KEY);
        self.session.insert(PENDING_USER_KEY, user_id)?;
        self.session
            .insert(PENDING_AT_KEY, chrono::Utc::now().timestamp())
    }

    /// The user waiting for their second factor, if they passed the password step in
    /// the last five minutes.
    pub fn pending_user(&self) -> Option<i64> {
        let at = self.session.get::<i64>(PENDING_AT_KEY).ok().flatten()?;
        if chrono::Utc::now().timestamp() - at > 300 {
            return None;
        }
        self.session.get::<i64>(PENDING_USER_KEY).ok().flatten()
    }

    pub fn clear_pending_user(&self) {
        self.session.remove(PENDING_USER_KEY);
        self.session.remove(PENDING_AT_KEY);
    }

    /// An authenticator secret shown for enrolment, kept here (never in the user's row)
    /// until a code from it proves the app has it.
    pub fn set_totp_enrolment(&self, secret: &str) -> Result<(), actix_session::SessionInsertError> {
        self.session.insert(TOTP_ENROLMENT_KEY, secret)
    }

    pub fn totp_enrolment(&self) -> Option<String> {
        self.session.get::<String>(TOTP_ENROLMENT_KEY).ok().flatten()
    }

    pub fn clear_totp_enrolment(&self) {
        self.session.remove(TOTP_ENROLMENT_KEY);
    }
}

impl FromRequest for TypedSession {
    type Error = actix_web::Error;
    type Future = Ready<Result<TypedSession, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(TypedSession {
            session: req.get_session(),
            form_key: req.extensions().get::<FormKey>().cloned(),
        }))
    }
}
