//! Delivers the outbox in the background: claims due events under a lease (on
//! PostgreSQL, rows another server is claiming are skipped, so each event is sent by
//! one server), signs each as Standard Webhooks asks, posts it, and records the answer.
//! A 2xx is an acknowledgement; 410 Gone pauses the destination; anything else is tried
//! again after a growing, jittered wait until the retry window has passed. A
//! destination that failed every delivery for the whole window is paused and its
//! owner told by mail. A server that dies mid-delivery leaves its lease to run out, and
//! the event is sent again (at least once: receivers deduplicate on `webhook-id`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::db::{write_transaction, Database};
use crate::domain::{DestinationUrl, PausedReason};
use crate::erasure::runner::lease_owner_name;
use crate::mail::{Mailer, OutgoingMail};
use crate::propagation::destinations::pause_on_its_own;
use crate::propagation::guarded_client::GuardedClient;
use crate::propagation::retry::next_attempt_delay;
use crate::propagation::signature::{signature_header, SigningSecret};
use crate::propagation::signing_keys::signing_secret;
use crate::secret::SecretKey;
use crate::store::destinations::{self, Destination};
use crate::store::outbox::{self, AttemptOutcome, OutboxEvent};
use crate::store::{now, users, workspaces, StoreError};

/// How often an idle deliverer looks for due events (it is woken sooner after an
/// erasure on this server).
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Events claimed at once; each destination's are sent one after the other, the
/// destinations side by side.
const CLAIM: i64 = 64;

#[derive(Clone)]
pub struct Deliverer {
    db: Database,
    secret: SecretKey,
    mailer: Mailer,
    settings: Arc<Settings>,
    client: GuardedClient,
    owner: String,
    wake: Arc<Notify>,
}

/// What one attempt came to, before it is recorded.
enum Answer {
    Acknowledged(u16),
    Gone(u16),
    Refused { status: Option<u16>, error: String },
}

impl Deliverer {
    pub fn new(db: Database, secret: SecretKey, mailer: Mailer, settings: Arc<Settings>) -> Deliverer {
        let owner = lease_owner_name();
        Deliverer {
            client: GuardedClient::new(settings.delivery.timeout),
            db,
            secret,
            mailer,
            settings,
            owner,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Looks for due events now instead of at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn spawn(self) {
        tokio::spawn(async move {
            loop {
                match self.deliver_due().await {
                    Ok(0) => {}
                    Ok(_) => continue,
                    Err(err) => tracing::warn!(error = %err, "delivery step failed; retrying"),
                }
                let _ = tokio::time::timeout(IDLE_POLL, self.wake.notified()).await;
            }
        });
    }

    /// Claims what is due and delivers it; returns how many events were attempted.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        let owner = self.owner.clone();
        // Long enough for an attempt to time out, and for a few to go by: a server
        // that dies mid-delivery leaves the rest to another after this long (sending
        // again what it may have sent: receivers deduplicate on `webhook-id`).
        let timeout = chrono::Duration::from_std(self.settings.delivery.timeout)
            .unwrap_or(chrono::Duration::seconds(10));
        let lease = self.settings.job_lease.max(timeout * 2) + timeout;
        let claimed = self
            .db
            .run(move |conn| write_transaction(conn, |conn| outbox::claim_due(conn, &owner, lease, CLAIM)))
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let count = claimed.len();
        let mut by_destination: BTreeMap<i64, Vec<OutboxEvent>> = BTreeMap::new();
        for event in claimed {
            by_destination
                .entry(event.destination_id)
                .or_default()
                .push(event);
        }
        let runs = by_destination
            .into_values()
            .map(|events| self.deliver_in_order(events));
        for result in futures_util::future::join_all(runs).await {
            result?;
        }
        Ok(count)
    }

    /// One destination's events, one after the other. After a 410 the rest are given
    /// back unattempted: they wait with their paused destination.
    async fn deliver_in_order(&self, events: Vec<OutboxEvent>) -> Result<(), StoreError> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        let destination_id = first.destination_id;
        let destination = self
            .db
            .run(move |conn| destinations::get(conn, destination_id))
            .await?;
        let mut events = events.into_iter();
        while let Some(event) = events.next() {
            let answer = self.attempt(&destination, &event).await;
            let gone = matches!(answer, Answer::Gone(_));
            self.record(&destination, event, answer).await?;
            if gone {
                let rest: Vec<i64> = events.map(|e| e.id).collect();
                let owner = self.owner.clone();
                self.db
                    .run(move |conn| write_transaction(conn, |conn| outbox::release(conn, &rest, &owner)))
                    .await?;
                break;
            }
        }
        Ok(())
    }

    async fn attempt(&self, destination: &Destination, event: &OutboxEvent) -> Answer {
        let Some(body) = event.body.clone() else {
            return Answer::Refused {
                status: None,
                error: "its content was cleared".into(),
            };
        };
        self.post_signed(destination, &event.message_id, body).await
    }

    /// Sends a `destination.test` event at once, outside the outbox, so the owner sees
    /// whether the destination answers and verifies: the status it answered, or why
    /// nothing was delivered.
    pub async fn send_test(&self, destination: &Destination, workspace_slug: &str) -> Result<u16, String> {
        let body = serde_json::json!({
            "type": "destination.test",
            "timestamp": crate::format::iso(now()),
            "data": { "workspace": workspace_slug, "destination": destination.id },
        });
        let message_id = crate::propagation::signature::new_message_id();
        match self.post_signed(destination, &message_id, body.to_string()).await {
            Answer::Acknowledged(status) | Answer::Gone(status) => Ok(status),
            Answer::Refused {
                status: Some(status), ..
            } => Ok(status),
            Answer::Refused { status: None, error } => Err(error),
        }
    }

    async fn post_signed(&self, destination: &Destination, message_id: &str, body: String) -> Answer {
        let url = match DestinationUrl::parse(&destination.url) {
            Ok(url) => url,
            Err(err) => {
                return Answer::Refused {
                    status: None,
                    error: err.to_string(),
                }
            }
        };
        let secrets: Vec<SigningSecret> = destination
            .signing_nonces(now())
            .into_iter()
            .map(|nonce| signing_secret(&self.secret, nonce))
            .collect();
        let timestamp = chrono::Utc::now().timestamp();
        let signature = signature_header(
            &secrets.iter().collect::<Vec<_>>(),
            message_id,
            timestamp,
            body.as_bytes(),
        );
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("user-agent", format!("Erasure/{}", env!("CARGO_PKG_VERSION"))),
            ("webhook-id", message_id.to_owned()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ];
        match self.client.post(&url, &headers, body.into_bytes()).await {
            Ok(status) if (200..300).contains(&status) => Answer::Acknowledged(status),
            Ok(410) => Answer::Gone(410),
            Ok(status) => Answer::Refused {
                status: Some(status),
                error: format!("answered {status}"),
            },
            Err(failure) => Answer::Refused {
                status: None,
                error: failure.to_string(),
            },
        }
    }

    async fn record(
        &self,
        destination: &Destination,
        event: OutboxEvent,
        answer: Answer,
    ) -> Result<(), StoreError> {
        let owner = self.owner.clone();
        let delivery = self.settings.delivery;
        let destination_id = destination.id;
        let jitter: f64 = rand::thread_rng().gen();
        let carried_identifiers = event.carries_identifiers;
        let paused = self
            .db
            .run(move |conn| {
                let paused = write_transaction(conn, |conn| -> Result<Option<PausedReason>, StoreError> {
                    let at = now();
                    match answer {
                        Answer::Acknowledged(status) => {
                            let outcome = AttemptOutcome::Delivered {
                                status: i32::from(status),
                            };
                            if outbox::record_attempt(conn, &event, &owner, outcome)? {
                                destinations::clear_failing(conn, destination_id)?;
                            }
                            Ok(None)
                        }
                        Answer::Gone(status) => {
                            let outcome = AttemptOutcome::Held {
                                status: i32::from(status),
                            };
                            outbox::record_attempt(conn, &event, &owner, outcome)?;
                            Ok(Some(PausedReason::Gone))
                        }
                        Answer::Refused { status, error } => {
                            let next_at = if at - event.retry_from >= delivery.retry_window {
                                None
                            } else {
                                let wait = next_attempt_delay(
                                    event.attempts.max(0) as u32,
                                    delivery.retry_first,
                                    delivery.retry_max,
                                    jitter,
                                );
                                Some(
                                    at + chrono::Duration::from_std(wait)
                                        .unwrap_or(chrono::Duration::hours(6)),
                                )
                            };
                            let outcome = AttemptOutcome::Failed {
                                status: status.map(i32::from),
                                error: &error,
                                next_at,
                            };
                            if !outbox::record_attempt(conn, &event, &owner, outcome)? {
                                return Ok(None);
                            }
                            let since = destinations::mark_failing(conn, destination_id, at)?;
                            Ok((at - since >= delivery.retry_window).then_some(PausedReason::Failing))
                        }
                    }
                })?;
                // An event that named the person lost its body if it is done with: the
                // old body leaves the log files too, as an erasure's pages do.
                if carried_identifiers {
                    if let Err(err) = crate::store::erasures::flush_erased_pages(conn, false) {
                        tracing::warn!(error = %err, "could not flush a cleared event's pages");
                    }
                }
                Ok::<_, StoreError>(paused)
            })
            .await?;
        if let Some(reason) = paused {
            self.pause(destination, reason).await;
        }
        Ok(())
    }

    /// Pauses the destination on its own and tells the account owner.
    async fn pause(&self, destination: &Destination, reason: PausedReason) {
        let paused = destination.clone();
        let result = self
            .db
            .run(
                move |conn| -> Result<_, crate::propagation::destinations::DestinationError> {
                    if !pause_on_its_own(conn, &paused, reason)? {
                        return Ok(None);
                    }
                    let workspace = workspaces::find(conn, paused.workspace_id)?;
                    let owner = users::find_owner(conn)?;
                    Ok(workspace.zip(owner))
                },
            )
            .await;
        let (workspace, owner) = match result {
            Ok(Some(found)) => found,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(error = %err, destination = destination.id, "could not pause the destination");
                return;
            }
        };
        tracing::warn!(
            destination = destination.id,
            reason = reason.key(),
            "destination paused"
        );
        let page = format!(
            "{}/w/{}/settings/destinations/{}",
            self.settings.public_url, workspace.slug, destination.id
        );
        let why = match reason {
            PausedReason::Gone => "it answered 410 Gone, which asks to hear no more".to_owned(),
            _ => format!(
                "every delivery to it has failed for {}",
                crate::format::duration_in_words(self.settings.delivery.retry_window)
            ),
        };
        let mail = OutgoingMail {
            to: owner.email,
            subject: format!(
                "Destination \"{}\" in {} was paused",
                destination.name, workspace.name
            ),
            body: format!(
                "The destination \"{}\" of workspace {} was paused because {why}.\n\n\
                 Its erasure events wait and are delivered once you resume it:\n{page}\n",
                destination.name, workspace.name
            ),
        };
        if let Err(err) = self.mailer.send(mail).await {
            tracing::warn!(error = %err, "could not send the destination-paused mail");
        }
    }
}
