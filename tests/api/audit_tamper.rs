//! Someone with write access to the database but without the server's key tampers
//! with the audit log: deletes its newest entries, or edits an entry and recomputes
//! the chain with plain SHA-256. `erasure audit verify` and the console's "Verify"
//! both say so. A log from before entries were keyed is sealed once, at start.

use diesel::dsl::max;
use diesel::prelude::*;
use erasure::db::schema::audit_log;
use erasure::store::audit::{
    legacy_hash, page_after, rekey_legacy_chain, AuditEntry, EntryFields, HashFormat, Rekeying, GENESIS_HASH,
    HEAD_FILE_NAME, KEYED_PREFIX,
};
use reqwest::StatusCode;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    deleting_the_newest_entries_is_reported_by_verify,
    a_chain_recomputed_without_the_key_is_reported,
    a_log_from_before_keying_is_sealed_when_the_server_starts,
);

const AUDIT: &str = "/w/acme-shop/audit";

fn newest_id(app: &TestApp) -> i64 {
    let mut conn = app.db();
    audit_log::table
        .select(max(audit_log::id))
        .first::<Option<i64>>(&mut **conn)
        .unwrap()
        .unwrap_or(0)
}

fn entries(app: &TestApp) -> Vec<AuditEntry> {
    page_after(&mut app.db(), 0, 10_000).unwrap()
}

/// `erasure audit verify`: whether it passed, and all it printed.
fn verify_cli(app: &TestApp) -> (bool, String) {
    let (ok, stdout, stderr) = app.run_cli(&["audit", "verify"]);
    (ok, format!("{stdout}{stderr}"))
}

/// The console's "Verify", and the message it shows.
async fn verify_in_console(app: &TestApp) -> String {
    let response = app.post_form(&format!("{AUDIT}/verify"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.get_html(AUDIT).await;
    let doc = scraper::Html::parse_document(&page);
    let flash = scraper::Selector::parse(".flash").unwrap();
    doc.select(&flash)
        .map(|f| f.text().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Signs out and in again: two audited actions.
async fn sign_out_and_in(app: &TestApp) {
    app.logout().await;
    app.login(OWNER_EMAIL, OWNER_PASSWORD).await;
}

/// Rewrites every entry from `from_id` on as someone without the key would: hashed
/// again with the plain SHA-256 rule and linked to the one before, after `edit`.
fn rechain_without_the_key(app: &TestApp, from_id: i64, prefix: &str, edit: impl Fn(&mut AuditEntry)) {
    let mut previous = GENESIS_HASH.to_owned();
    for mut entry in entries(app) {
        if entry.id < from_id {
            previous = entry.hash.clone();
            continue;
        }
        edit(&mut entry);
        let hash = format!(
            "{prefix}{}",
            legacy_hash(&EntryFields {
                prev_hash: &previous,
                ..entry.fields()
            })
        );
        app.sql(&format!(
            "UPDATE audit_log SET affected = {}, prev_hash = '{previous}', hash = '{hash}' WHERE id = {}",
            entry.affected, entry.id
        ));
        previous = hash;
    }
}

async fn deleting_the_newest_entries_is_reported_by_verify(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    for _ in 0..3 {
        sign_out_and_in(&app).await;
    }
    let newest = newest_id(&app);
    assert!(newest >= 6, "{newest} entries");
    let (ok, text) = verify_cli(&app);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("#{newest}, is in the log as recorded")),
        "{text}"
    );

    app.sql(&format!("DELETE FROM audit_log WHERE id > {}", newest - 3));

    let (ok, text) = verify_cli(&app);
    assert!(!ok, "verify fails: {text}");
    let missing = format!("entries #{} to #{newest} are missing", newest - 2);
    assert!(text.contains(&missing), "{text}");
    assert!(text.contains("the newest entries were deleted"), "{text}");
    let flash = verify_in_console(&app).await;
    assert!(
        flash.contains(&format!("Entries #{} to #{newest} are missing", newest - 2)),
        "{flash}"
    );

    // New entries take the deleted ids; the record of the deleted newest one stays, so
    // the deletion is still reported once they pass it.
    while newest_id(&app) <= newest {
        sign_out_and_in(&app).await;
    }
    let (ok, text) = verify_cli(&app);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("audit entry #{newest} is not the one")),
        "{text}"
    );

    // Without the head file only the chain itself is checked, and verify says what it
    // cannot tell.
    std::fs::remove_file(app.data_dir.join(HEAD_FILE_NAME)).unwrap();
    let (ok, text) = verify_cli(&app);
    assert!(ok, "a missing head file is no alteration: {text}");
    assert!(text.contains("warning: there is no"), "{text}");
    assert!(
        text.contains("nothing shows whether the newest entries were deleted"),
        "{text}"
    );
}

async fn a_chain_recomputed_without_the_key_is_reported(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    sign_out_and_in(&app).await;
    assert!(entries(&app).iter().all(|e| e.hash.starts_with(KEYED_PREFIX)));
    assert!(verify_cli(&app).0);

    // Entry #2 edited, and the chain from it recomputed with plain SHA-256 as the
    // legacy rule had it: every link holds, but the old format after keyed entries
    // is a downgrade.
    rechain_without_the_key(&app, 2, "", |e| {
        if e.id == 2 {
            e.affected = 99
        }
    });
    let (ok, text) = verify_cli(&app);
    assert!(!ok, "{text}");
    assert!(text.contains("audit entry #2 was altered"), "{text}");
    assert!(verify_in_console(&app).await.contains("Entry #2 was altered"));

    // The same SHA-256 hashes marked as keyed do not pass for keyed ones.
    rechain_without_the_key(&app, 2, KEYED_PREFIX, |_| {});
    let (ok, text) = verify_cli(&app);
    assert!(!ok, "{text}");
    assert!(text.contains("audit entry #2 was altered"), "{text}");

    // The whole log recomputed the old way, from the first entry: the chain holds
    // under the legacy rule, but the newest entry is not the one the server recorded;
    // and a restart does not seal the rewritten log with the key.
    rechain_without_the_key(&app, 1, "", |_| {});
    let newest = newest_id(&app);
    let (ok, text) = verify_cli(&app);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("audit entry #{newest} is not the one")),
        "{text}"
    );
    assert_eq!(
        rekey_legacy_chain(&mut app.db(), 1000).unwrap(),
        Rekeying::HeadRecorded
    );
    assert!(!verify_cli(&app).0);
}

async fn a_log_from_before_keying_is_sealed_when_the_server_starts(backend: Backend) {
    let app = spawn_app(backend.clone()).await;
    app.setup_owner().await;
    sign_out_and_in(&app).await;
    // The log as a server from before the keyed chain left it: plain SHA-256 hashes,
    // and no head file.
    rechain_without_the_key(&app, 1, "", |_| {});
    std::fs::remove_file(app.data_dir.join(HEAD_FILE_NAME)).unwrap();
    let count = entries(&app).len() as i64;
    let (ok, text) = verify_cli(&app);
    assert!(ok, "an intact legacy log verifies: {text}");
    assert!(
        text.contains(&format!(
            "the first {count} entries are sealed with the old unkeyed rule"
        )),
        "{text}"
    );

    // A server starting over the same database and data dir seals it.
    let database_url = app.state.settings.database_url.clone();
    let data_dir = app.data_dir.clone();
    let restarted = spawn_app_with(
        backend,
        Box::new(move |settings| {
            settings.database_url = database_url;
            settings.data_dir = data_dir;
        }),
    )
    .await;
    let sealed = entries(&restarted);
    assert_eq!(sealed.len() as i64, count);
    assert!(sealed
        .iter()
        .all(|e| HashFormat::of(&e.hash) == HashFormat::Keyed));
    let (ok, text) = verify_cli(&app);
    assert!(ok, "{text}");
    assert!(!text.contains("warning"), "{text}");
    assert!(
        text.contains(&format!("#{count}, is in the log as recorded")),
        "{text}"
    );
    assert_eq!(
        rekey_legacy_chain(&mut restarted.db(), 1000).unwrap(),
        Rekeying::NotNeeded
    );
}
