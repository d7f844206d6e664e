//! The erasure journal is on disk before an erasure commits: when it cannot be
//! written, the erasure is refused and nothing is erased, whichever path asked; and a
//! destination hears nothing of the erasure that rolled back.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::api::{call, issue_key};
use crate::helpers::arrange::NewPerson;
use crate::helpers::destinations::add_destination;
use crate::helpers::webhook_receiver::WebhookReceiver;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_profile_deletion_is_refused_without_the_journal,
    a_profile_archive_is_refused_without_the_journal,
    an_api_deletion_is_refused_without_the_journal,
    an_api_suppression_is_refused_without_the_journal,
    a_suppression_added_by_hand_is_refused_without_the_journal,
    a_bulk_job_erases_nothing_without_the_journal,
);

const WS: &str = "/w/acme-shop";

#[derive(Debug, Clone, Copy)]
enum Path {
    ProfileDelete,
    ProfileArchive,
    ApiDelete,
    ApiSuppress,
    SuppressionPage,
    Bulk,
}

/// A customer, two bystanders, and a journal that cannot be opened: a folder stands
/// where its file would be.
async fn arranged(backend: Backend) -> (TestApp, i64) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    for n in 0..2 {
        NewPerson::new(&format!("bystander-{n}"))
            .country("DE")
            .insert(&app);
    }
    let id = NewPerson::new("kept-1")
        .email("kept@example.com")
        .name("Kept Person")
        .country("IS")
        .event("order", json!({ "amount": 3 }))
        .insert(&app);
    std::fs::create_dir_all(app.data_dir.join(erasure::erasure::journal::FILE_NAME)).expect("a folder");
    (app, id)
}

async fn refused_without_the_journal(backend: Backend, path: Path) {
    let (app, id) = arranged(backend).await;
    let receiver = WebhookReceiver::start().await;
    add_destination(&app, &receiver.url("/"), &[("include_identifiers", "on")]).await;
    let (_, key) = issue_key(&app, "Backend");
    let status = match path {
        Path::ProfileDelete => app
            .post_form(&format!("{WS}/customers/{id}/delete"), &[])
            .await
            .status(),
        Path::ProfileArchive => app
            .post_form(&format!("{WS}/customers/{id}/archive"), &[])
            .await
            .status(),
        Path::ApiDelete => call(&app, &key, Method::DELETE, "/customers/kept-1", None)
            .await
            .status(),
        Path::ApiSuppress => call(&app, &key, Method::POST, "/customers/kept-1/suppress", None)
            .await
            .status(),
        Path::SuppressionPage => app
            .post_form(
                &format!("{WS}/suppressions/add"),
                &[
                    ("identifier", "kept@example.com"),
                    ("kind", "email"),
                    ("reason", "manual"),
                ],
            )
            .await
            .status(),
        Path::Bulk => {
            let preview = app
                .post_form(
                    &format!("{WS}/customers/bulk"),
                    &[("intent", "delete_filtered"), ("country", "IS")],
                )
                .await;
            let job = location(&preview);
            let confirmed = app.post_form(&format!("{job}/confirm"), &[]).await;
            assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
            // The runner tries the batch, which the missing journal rolls back.
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            let progress: serde_json::Value = app
                .get(&format!("{job}/progress.json"))
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(progress["done"], 0, "{progress}");
            assert_ne!(progress["state"], "done", "{progress}");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    assert!(status.is_server_error(), "{path:?}: refused, answered {status}");
    assert_eq!(
        app.count("customers WHERE external_id = 'kept-1' AND email IS NOT NULL"),
        1,
        "{path:?}"
    );
    assert_eq!(app.count("events"), 1, "{path:?}: the events are kept");
    assert_eq!(app.count("suppressions"), 0, "{path:?}: nothing was suppressed");
    assert_eq!(app.count("outbox"), 0, "{path:?}: no event outlived the rollback");
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(
        receiver.requests().is_empty(),
        "{path:?}: the destination heard nothing"
    );
}

async fn a_profile_deletion_is_refused_without_the_journal(backend: Backend) {
    refused_without_the_journal(backend, Path::ProfileDelete).await;
}

async fn a_profile_archive_is_refused_without_the_journal(backend: Backend) {
    refused_without_the_journal(backend, Path::ProfileArchive).await;
}

async fn an_api_deletion_is_refused_without_the_journal(backend: Backend) {
    refused_without_the_journal(backend, Path::ApiDelete).await;
}

async fn an_api_suppression_is_refused_without_the_journal(backend: Backend) {
    refused_without_the_journal(backend, Path::ApiSuppress).await;
}

async fn a_suppression_added_by_hand_is_refused_without_the_journal(backend: Backend) {
    refused_without_the_journal(backend, Path::SuppressionPage).await;
}

async fn a_bulk_job_erases_nothing_without_the_journal(backend: Backend) {
    refused_without_the_journal(backend, Path::Bulk).await;
}
