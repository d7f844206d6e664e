//! Request lines that carry a secret are logged without it: an invitation link's or a
//! password reset link's token never reaches the log, whether the link is opened, used
//! or refused.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    an_invitation_link_is_logged_without_its_token,
    a_password_reset_link_is_logged_without_its_token,
);

async fn an_invitation_link_is_logged_without_its_token(backend: Backend) {
    let log = server_log();
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let member_role = {
        use diesel::prelude::*;
        use erasure::db::schema::roles;
        let mut pooled = app.db();
        let conn: &mut erasure::db::DbConnection = &mut pooled;
        roles::table
            .filter(roles::builtin.eq("member"))
            .select(roles::id)
            .first::<i64>(conn)
            .expect("the Member role")
            .to_string()
    };
    let invited = app
        .post_form(
            "/w/acme-shop/settings/team/invite",
            &[("email", "ivy@example.com"), ("role", member_role.as_str())],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::SEE_OTHER);
    let body = app.mail.wait_for(|m| m.is_to("ivy@example.com")).await.body();
    let start = body.find("/invitations/").expect("a link") + "/invitations/".len();
    let token: String = body[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    assert!(token.len() >= 32, "a long token");

    let ivy = new_client();
    let opened = app.get_with(&ivy, &format!("/invitations/{token}")).await;
    assert_eq!(opened.status(), StatusCode::OK);
    let refused = app
        .post_form_with(
            &ivy,
            &format!("/invitations/{token}"),
            &[
                ("name", "Ivy"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert!(refused.status().is_client_error());
    let wrong = app.get_with(&ivy, &format!("/invitations/{token}x")).await;
    assert_ne!(wrong.status(), StatusCode::OK);

    let logged = std::fs::read_to_string(log).expect("the log");
    assert!(
        logged.contains("/invitations/{token}"),
        "the requests were logged"
    );
    assert!(!logged.contains(&token), "the token is in the log");
}

async fn a_password_reset_link_is_logged_without_its_token(backend: Backend) {
    let log = server_log();
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.logout().await;
    let asked = app.post_form("/password/forgot", &[("email", OWNER_EMAIL)]).await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let body = app
        .mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.body().contains("/password/reset/"))
        .await
        .body();
    let start = body.find("/password/reset/").expect("a link") + "/password/reset/".len();
    let token: String = body[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    assert!(token.len() >= 32, "a long token");

    let opened = app.get(&format!("/password/reset/{token}")).await;
    assert_eq!(opened.status(), StatusCode::OK);
    let refused = app
        .post_form(
            &format!("/password/reset/{token}"),
            &[("password", "short"), ("password_confirm", "short")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let used = app
        .post_form(
            &format!("/password/reset/{token}"),
            &[
                ("password", "a new password for the log test"),
                ("password_confirm", "a new password for the log test"),
            ],
        )
        .await;
    assert_eq!(used.status(), StatusCode::SEE_OTHER);
    let again = app.get(&format!("/password/reset/{token}")).await;
    assert_eq!(again.status(), StatusCode::GONE);
    let wrong = app.get(&format!("/password/reset/{token}x")).await;
    assert_eq!(wrong.status(), StatusCode::GONE);

    let logged = std::fs::read_to_string(log).expect("the log");
    assert!(
        logged.contains("/password/reset/{token}"),
        "the requests were logged"
    );
    assert!(!logged.contains(&token), "the token is in the log");
}
