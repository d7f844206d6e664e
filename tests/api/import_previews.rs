//! An import preview holds the rows it read until someone confirms it: rows naming
//! someone suppressed meanwhile go at once, and a preview nobody confirms goes with all
//! its rows.

use reqwest::{Method, StatusCode};

use crate::helpers::api::*;
use crate::helpers::*;
use crate::import::{confirm_and_wait, job_id, preflight, report_rows};
use crate::on_both_backends;

on_both_backends!(
    a_pending_import_preview_row_disappears_when_its_customer_is_suppressed,
    a_pending_row_naming_an_address_in_another_form_disappears_when_the_address_is_suppressed,
    an_abandoned_import_preview_is_purged_with_its_rows_and_a_fresh_one_is_kept,
);

/// Every stored import row's cells, as text.
fn pending_cells(app: &TestApp) -> Vec<String> {
    use diesel::prelude::*;
    use erasure::db::schema::import_rows;
    let mut conn = app.db();
    import_rows::table
        .order((import_rows::job_id, import_rows::position))
        .select(import_rows::cells)
        .load(&mut **conn)
        .unwrap()
}

fn job_state_and_total(app: &TestApp, id: i64) -> (String, i64) {
    use diesel::prelude::*;
    use erasure::db::schema::jobs;
    let mut conn = app.db();
    jobs::table
        .find(id)
        .select((jobs::state, jobs::total))
        .first(&mut **conn)
        .unwrap()
}

fn rows_of(app: &TestApp, id: i64) -> i64 {
    use diesel::prelude::*;
    use erasure::db::schema::import_rows;
    let mut conn = app.db();
    import_rows::table
        .filter(import_rows::job_id.eq(id))
        .count()
        .get_result(&mut **conn)
        .unwrap()
}

async fn suppress(app: &TestApp, auth: &Credentials, identifier: &str) {
    let response = call(
        app,
        auth,
        Method::POST,
        &format!("/customers/{identifier}/suppress"),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn a_pending_import_preview_row_disappears_when_its_customer_is_suppressed(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let path = preflight(
        &app,
        "id,email,name\nc-1,ann@example.com,Annabel Quist\nc-2,ben@example.com,Ben\n",
    )
    .await;
    assert_eq!(pending_cells(&app).len(), 2);

    suppress(&app, &auth, "c-1").await;

    let left = pending_cells(&app);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].contains("ben@example.com"));
    assert!(
        !left
            .iter()
            .any(|cells| cells.contains("ann@") || cells.contains("Annabel")),
        "{left:?}"
    );
    assert_eq!(
        job_state_and_total(&app, job_id(&path)),
        ("preview".to_owned(), 1)
    );
    let progress = confirm_and_wait(&app, &path).await;
    assert_eq!(progress["done"], 1);
    assert_eq!(app.count("customers"), 1, "only Ben was imported");
    let report = app.get_html(&path).await;
    assert_eq!(
        report_rows(&report, "skipped-rows"),
        [(2, "erased or suppressed after the preview".to_owned())]
    );
    assert!(!report.contains("Annabel"));
}

async fn a_pending_row_naming_an_address_in_another_form_disappears_when_the_address_is_suppressed(
    backend: Backend,
) {
    let (app, auth) = api_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    preflight(
        &app,
        "id,email,name\n,JOSE\u{301}@example.com,Jos\u{e9}\nc-2,ben@example.com,Ben\n",
    )
    .await;

    suppress(&app, &auth, "jos\u{e9}@example.com").await;

    let left = pending_cells(&app);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].contains("ben@example.com"), "{left:?}");
}

async fn an_abandoned_import_preview_is_purged_with_its_rows_and_a_fresh_one_is_kept(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Box::new(|settings| settings.import_preview_sweep = std::time::Duration::from_millis(100)),
    )
    .await;
    app.setup_owner().await;
    let abandoned = job_id(&preflight(&app, "id,name\na-1,Ann\na-2,Abe\n").await);
    let fresh = job_id(&preflight(&app, "id,name\nf-1,Fay\n").await);
    assert_eq!(rows_of(&app, abandoned), 2);

    // Uploaded long ago, never confirmed.
    app.sql(&format!(
        "UPDATE jobs SET created_at = '2000-01-01 00:00:00' WHERE id = {abandoned}"
    ));

    let mut waited = 0;
    while rows_of(&app, abandoned) > 0 {
        assert!(waited < 200, "the abandoned preview still has its rows");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    assert_eq!(job_state_and_total(&app, abandoned).0, "discarded");
    assert_eq!(job_state_and_total(&app, fresh), ("preview".to_owned(), 1));
    assert_eq!(rows_of(&app, fresh), 1);
}
