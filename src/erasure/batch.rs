//! Erasing one batch of customers, inside the caller's transaction: the unit both
//! single erasures and jobs are made of.

use crate::domain::{DestinationEvent, JobKind, PersonalData};
use crate::erasure::journal::{Journal, JournalEntry};
use crate::erasure::outgoing::{self, ErasedCustomer, Told};
use crate::erasure::pending_imports::{forget_in_pending_imports, Forgotten};
use crate::erasure::{anonymize, suppress};
use crate::secret::SecretKey;
use crate::store::jobs::BatchCounts;
use crate::store::workspaces::Workspace;
use crate::store::{devices, erasures, suppressions, StoreResult};

/// Who erases, in which workspace, with which key.
pub struct ErasureScope<'a> {
    pub workspace: &'a Workspace,
    pub secret: &'a SecretKey,
    /// The user behind the erasure, recorded on anonymized profiles.
    pub by_user: Option<i64>,
    /// How the suppression list names who suppressed ("user:3", "api_key:2").
    pub actor_label: String,
    /// Where the erased ids and added digests are recorded for replay after a restore.
    pub journal: &'a Journal,
}

impl ErasureScope<'_> {
    fn emails_identify(&self) -> bool {
        self.workspace.identifier_mode == crate::domain::IdentifierMode::IdOrEmail
    }

    fn pii_keys(&self) -> Vec<String> {
        serde_json::from_str(&self.workspace.pii_keys).unwrap_or_default()
    }
}

/// Deletes or archives the given customers, and leaves in the outbox the events that
/// tell the workspace's destinations of it. Ids that no longer exist count as already
/// gone, held customers are skipped, and an archived profile archived again is scrubbed
/// again (counted as skipped when it was already clean).
pub fn erase_batch(
    conn: &mut crate::db::DbConnection,
    scope: &ErasureScope<'_>,
    kind: JobKind,
    ids: &[i64],
    suppress_identifiers: bool,
    told: Told<'_>,
) -> StoreResult<BatchCounts> {
    let targets = erasures::load_targets(conn, scope.workspace.id, ids)?;
    let mut counts = BatchCounts {
        skipped_missing: (ids.len() - targets.len()) as i64,
        ..BatchCounts::default()
    };
    let (held, acting): (Vec<_>, Vec<_>) = targets.into_iter().partition(|t| t.is_held());
    counts.skipped_held = held.len() as i64;
    // What a pending import preview read of these people goes with them.
    let mut forgotten = Forgotten::new();
    for target in &acting {
        forgotten.customer(target.id, target.external_id.as_deref(), target.email.as_deref());
    }
    forget_in_pending_imports(conn, scope.secret, scope.workspace.id, &forgotten)?;
    let mut journal = JournalEntry::new(scope.workspace.id);
    if kind.deletes() {
        let mut erased: Vec<ErasedCustomer> = acting.iter().map(ErasedCustomer::from).collect();
        if suppress_identifiers {
            for (target, told_of) in acting.iter().zip(erased.iter_mut()) {
                let digests = suppress::digests_for(
                    scope.secret,
                    target.external_id.as_deref(),
                    target.email.as_deref(),
                    scope.emails_identify(),
                );
                for (digest_kind, digest) in digests {
                    suppressions::add(
                        conn,
                        scope.workspace.id,
                        digest_kind,
                        &digest,
                        "deleted",
                        &scope.actor_label,
                    )?;
                    journal.suppressed.push((digest_kind.to_owned(), digest.clone()));
                    told_of.suppressed.push((digest_kind, digest));
                }
            }
        }
        let ids: Vec<i64> = acting.iter().map(|t| t.id).collect();
        let removed = erasures::delete_customers(conn, scope.workspace.id, &ids)?;
        counts.events_removed = removed.events;
        counts.devices_removed = removed.devices;
        counts.done = ids.len() as i64;
        journal.deleted = ids;
        outgoing::customers_erased(
            conn,
            scope.workspace,
            DestinationEvent::CustomerDeleted,
            told,
            &erased,
            suppress_identifiers,
        )?;
        scope.journal.record_before_commit(&journal)?;
        return Ok(counts);
    }
    let mut erased = Vec::new();
    let rule = PersonalData::new(&scope.pii_keys());
    for target in acting {
        // Locked (PostgreSQL) so that a device being added now is either committed
        // before and removed below, or refused afterwards as added to an anonymous
        // profile. Their devices' tokens are looked for in free text too.
        erasures::lock_customer(conn, scope.workspace.id, target.id)?;
        let tokens = devices::tokens_for_customer(conn, scope.workspace.id, target.id)?;
        let mut fields = vec![
            target.external_id.as_deref(),
            target.email.as_deref(),
            target.phone.as_deref(),
            target.name.as_deref(),
        ];
        fields.extend(tokens.iter().map(|t| Some(t.as_str())));
        let identifying = anonymize::identifying_values(&rule, &fields, &target.attributes);
        let scrubbed_attributes = anonymize::scrub_json(&target.attributes, &rule, &identifying);
        let mut events_scrubbed = false;
        for (event_id, properties) in erasures::event_properties(conn, target.id)? {
            if let Some(scrubbed) = anonymize::scrub_json(&properties, &rule, &identifying) {
                erasures::set_event_properties(conn, event_id, &scrubbed)?;
                events_scrubbed = true;
            }
        }
        // A device token reaches the person as surely as their email does.
        let devices_removed = devices::delete_for_customers(conn, scope.workspace.id, &[target.id])?;
        counts.devices_removed += devices_removed;
        // Archived again: scrubbed again, since the rule or the workspace's personal
        // keys may have grown since. It counts as done only when something was left to
        // remove; an already clean profile keeps its first archiving's time and author.
        if target.archived_at.is_some() {
            let left_over = target.has_identifiers()
                || scrubbed_attributes.is_some()
                || events_scrubbed
                || devices_removed > 0;
            if !left_over {
                counts.skipped_other += 1;
                continue;
            }
            let attributes = scrubbed_attributes.unwrap_or(target.attributes.clone());
            erasures::rescrub_anonymized(conn, scope.workspace.id, target.id, &attributes)?;
            journal.archived.push(target.id);
            erased.push(ErasedCustomer::from(&target));
            counts.done += 1;
            continue;
        }
        let attributes = scrubbed_attributes.unwrap_or(target.attributes.clone());
        erasures::write_anonymized(conn, scope.workspace.id, target.id, &attributes, scope.by_user)?;
        journal.archived.push(target.id);
        erased.push(ErasedCustomer::from(&target));
        counts.done += 1;
    }
    outgoing::customers_erased(
        conn,
        scope.workspace,
        DestinationEvent::CustomerArchived,
        told,
        &erased,
        false,
    )?;
    scope.journal.record_before_commit(&journal)?;
    Ok(counts)
}
