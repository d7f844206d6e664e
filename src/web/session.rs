//! A typed face over the session: what we keep in it and nothing else.

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use rand::distributions::{Alphanumeric, DistString};
use serde::{Deserialize, Serialize};
use std::future::{ready, Ready};

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

pub struct TypedSession(Session);

fn random_token() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 43)
}

impl TypedSession {
    pub fn user_id(&self) -> Option<i64> {
        self.0.get::<i64>(USER_ID_KEY).ok().flatten()
    }

    pub fn signed_in_at(&self) -> Option<i64> {
        self.0.get::<i64>(SIGNED_IN_AT_KEY).ok().flatten()
    }

    /// Signs the user in under a brand-new session id, so an id planted before sign-in
    /// (session fixation) is worthless afterwards.
    pub fn sign_in(&self, user_id: i64) -> Result<(), actix_session::SessionInsertError> {
        self.0.renew();
        self.0.remove(PENDING_USER_KEY);
        self.0.remove(PENDING_AT_KEY);
        self.0.insert(USER_ID_KEY, user_id)?;
        self.0.insert(SIGNED_IN_AT_KEY, chrono::Utc::now().timestamp())?;
        self.0.insert(CSRF_KEY, random_token())?;
        self.0.insert(NONCE_KEY, random_token())?;
        Ok(())
    }

    /// Keeps this browser signed in under a brand-new session id, after a change that
    /// ended every session of the person (its old id among them).
    pub fn keep_under_new_id(&self) {
        self.0.renew();
    }

    pub fn sign_out(&self) {
        self.0.purge();
    }

    /// The synchronizer token every form carries; made on first use.
    pub fn csrf_token(&self) -> String {
        if let Ok(Some(token)) = self.0.get::<String>(CSRF_KEY) {
            return token;
        }
        let token = random_token();
        if let Err(err) = self.0.insert(CSRF_KEY, &token) {
            tracing::error!(error = %err, "could not store the CSRF token");
        }
        token
    }

    /// The stored token, without making one.
    pub fn existing_csrf_token(&self) -> Option<String> {
        self.0.get::<String>(CSRF_KEY).ok().flatten()
    }

    /// A random value that names this sign-in, for binding one-time codes to it.
    pub fn nonce(&self) -> Option<String> {
        self.0.get::<String>(NONCE_KEY).ok().flatten()
    }

    pub fn flash(&self, kind: FlashKind, message: impl Into<String>) {
        let mut flashes = self
            .0
            .get::<Vec<Flash>>(FLASH_KEY)
            .ok()
            .flatten()
            .unwrap_or_default();
        flashes.push(Flash {
            kind,
            message: message.into(),
        });
        if let Err(err) = self.0.insert(FLASH_KEY, flashes) {
            tracing::error!(error = %err, "could not store a flash message");
        }
    }

    pub fn take_flashes(&self) -> Vec<Flash> {
        // `remove` marks the session changed whether or not the key was there, and a
        // changed session is written back to the database: every page view was a
        // write, which on SQLite waited for the write lock behind any running job.
        if !self.0.contains_key(FLASH_KEY) {
            return Vec::new();
        }
        self.0
            .remove_as::<Vec<Flash>>(FLASH_KEY)
            .and_then(Result::ok)
            .unwrap_or_default()
    }

    /// Password accepted, second factor still to come. Whoever this browser was signed
    /// in as before is signed out: a pending sign-in is no sign-in.
    pub fn set_pending_user(&self, user_id: i64) -> Result<(), actix_session::SessionInsertError> {
        self.0.renew();
        self.0.remove(USER_ID_KEY);
        self.0.remove(SIGNED_IN_AT_KEY);
        self.0.insert(PENDING_USER_KEY, user_id)?;
        self.0.insert(PENDING_AT_KEY, chrono::Utc::now().timestamp())
    }

    /// The user waiting for their second factor, if they passed the password step in
    /// the last five minutes.
    pub fn pending_user(&self) -> Option<i64> {
        let at = self.0.get::<i64>(PENDING_AT_KEY).ok().flatten()?;
        if chrono::Utc::now().timestamp() - at > 300 {
            return None;
        }
        self.0.get::<i64>(PENDING_USER_KEY).ok().flatten()
    }

    pub fn clear_pending_user(&self) {
        self.0.remove(PENDING_USER_KEY);
        self.0.remove(PENDING_AT_KEY);
    }

    /// An authenticator secret shown for enrolment, kept here (never in the user's row)
    /// until a code from it proves the app has it.
    pub fn set_totp_enrolment(&self, secret: &str) -> Result<(), actix_session::SessionInsertError> {
        self.0.insert(TOTP_ENROLMENT_KEY, secret)
    }

    pub fn totp_enrolment(&self) -> Option<String> {
        self.0.get::<String>(TOTP_ENROLMENT_KEY).ok().flatten()
    }

    pub fn clear_totp_enrolment(&self) {
        self.0.remove(TOTP_ENROLMENT_KEY);
    }
}

impl FromRequest for TypedSession {
    type Error = actix_web::Error;
    type Future = Ready<Result<TypedSession, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(TypedSession(req.get_session())))
    }
}
