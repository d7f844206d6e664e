use diesel::sql_types::{BigInt, Text};
use diesel::RunQueryDsl;
use reqwest::StatusCode;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    an_invitation_link_works_once_and_gives_the_chosen_role,
    an_expired_invitation_is_refused,
    a_revoked_invitation_answers_like_an_expired_one,
    an_invitation_to_an_existing_account_adds_the_membership_and_asks_to_sign_in,
    disabling_a_member_ends_their_live_session,
    nobody_can_remove_disable_or_demote_the_last_owner,
    only_the_owner_transfers_ownership_and_roles_follow,
    custom_roles_are_created_edited_and_deleted_but_built_in_ones_are_not,
    a_role_with_customers_view_only_cannot_open_team_or_roles,
    each_role_lands_on_a_page_it_may_open,
    a_role_change_takes_effect_on_the_next_request,
    two_step_sign_in_is_enrolled_used_and_turned_off,
    workspaces_are_created_renamed_and_configured,
    another_workspaces_slug_answers_404_and_changes_nothing,
    a_compliance_reviewer_pages_through_anonymized_customers,
);

const WS: &str = "/w/acme-shop";
const PASSWORD: &str = "member password 123";

/// The first row's `n` column of a query.
fn number(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db();
    let row: Row = diesel::sql_query(sql)
        .get_result(&mut **conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.n
}

fn text(app: &TestApp, sql: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        t: String,
    }
    let mut conn = app.db();
    let row: Row = diesel::sql_query(sql)
        .get_result(&mut **conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.t
}

fn audit_count(app: &TestApp, action: &str) -> i64 {
    number(
        app,
        &format!("SELECT COUNT(*) AS n FROM audit_log WHERE action = '{action}'"),
    )
}

fn user_id(app: &TestApp, email: &str) -> i64 {
    number(app, &format!("SELECT id AS n FROM users WHERE email = '{email}'"))
}

fn role_id(app: &TestApp, name: &str) -> i64 {
    number(app, &format!("SELECT id AS n FROM roles WHERE name = '{name}'"))
}

/// The name of the role `email` holds in the workspace `slug`.
fn role_of(app: &TestApp, email: &str, slug: &str) -> String {
    text(
        app,
        &format!(
            "SELECT r.name AS t FROM memberships m \
             JOIN users u ON u.id = m.user_id JOIN roles r ON r.id = m.role_id \
             JOIN workspaces w ON w.id = m.workspace_id \
             WHERE u.email = '{email}' AND w.slug = '{slug}'"
        ),
    )
}

/// A user with the named role in Acme Shop, made directly in the database.
fn add_user(app: &TestApp, email: &str, name: &str, role: &str) -> i64 {
    let hash = erasure::password::hash(PASSWORD).unwrap();
    app.sql(&format!(
        "INSERT INTO users (email, name, password_hash, is_owner, recovery_codes, disabled, created_at) \
         VALUES ('{email}', '{name}', '{hash}', FALSE, '[]', FALSE, '2026-01-01 00:00:00');
         INSERT INTO memberships (user_id, workspace_id, role_id, created_at) \
         SELECT u.id, w.id, r.id, '2026-01-01 00:00:00' FROM users u, workspaces w, roles r \
         WHERE u.email = '{email}' AND w.slug = 'acme-shop' AND r.name = '{role}';"
    ));
    user_id(app, email)
}

/// A new browser signed in as `email`.
async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    let client = new_client();
    let response = app.login_with(&client, email, PASSWORD).await;
    assert_eq!(location(&response), "/", "{email} signs in");
    client
}

async fn owner_app(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app
}

fn flash_errors(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(".flash-error").unwrap();
    doc.select(&selector)
        .map(|e| e.text().collect::<String>())
        .collect()
}

/// Follows a 303 and returns the page it leads to.
async fn follow(app: &TestApp, client: &reqwest::Client, response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "a redirect");
    app.get_html_with(client, &location(&response)).await
}

async fn invite(app: &TestApp, email: &str, role: &str) -> String {
    let role = role_id(app, role).to_string();
    let response = app
        .post_form(
            &format!("{WS}/settings/team/invite"),
            &[("email", email), ("role", &role)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "the invitation is made");
    let mail = app.mail.wait_for(|m| m.is_to(email)).await;
    assert!(mail.subject().contains("Acme Shop"), "{}", mail.subject());
    let body = mail.body();
    let start = body.find("/invitations/").expect("a link in the mail") + "/invitations/".len();
    let token: String = body[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    assert!(token.len() >= 32, "a long random token");
    assert!(
        body.contains(&format!("http://127.0.0.1/invitations/{token}")),
        "the link starts with PUBLIC_URL"
    );
    token
}

async fn an_invitation_link_works_once_and_gives_the_chosen_role(backend: Backend) {
    let app = owner_app(backend).await;

    let token = invite(&app, "ivy@example.com", "Compliance reviewer").await;

    assert_eq!(
        number(
            &app,
            "SELECT COUNT(*) AS n FROM invitations WHERE accepted_at IS NULL"
        ),
        1
    );
    assert_eq!(
        number(
            &app,
            &format!("SELECT COUNT(*) AS n FROM invitations WHERE token_digest LIKE '%{token}%'")
        ),
        0,
        "only a digest of the token is stored"
    );
    let team = app.get_html(&format!("{WS}/settings/team")).await;
    assert!(team.contains("ivy@example.com"), "listed as an open invitation");

    let ivy = new_client();
    let page = app.get_with(&ivy, &format!("/invitations/{token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Compliance reviewer"));
    let mismatch = app
        .post_form_with(
            &ivy,
            &format!("/invitations/{token}"),
            &[
                ("name", "Ivy"),
                ("password", PASSWORD),
                ("password_confirm", "something else 123"),
            ],
        )
        .await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch
        .text()
        .await
        .unwrap()
        .contains("the two passwords differ"));
    let accepted = app
        .post_form_with(
            &ivy,
            &format!("/invitations/{token}"),
            &[
                ("name", "Ivy Investigator"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&accepted), format!("{WS}/customers"));
    // Signed in at once, with the role the invitation named.
    assert_eq!(
        app.get_with(&ivy, &format!("{WS}/audit")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_with(&ivy, &format!("{WS}/settings/team")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        role_of(&app, "ivy@example.com", "acme-shop"),
        "Compliance reviewer"
    );

    // The link works once.
    let users_before = app.count("users");
    let other = new_client();
    let again = app.get_with(&other, &format!("/invitations/{token}")).await;
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("This invitation has expired or was already used"));
    let reused = app
        .post_form_with(
            &other,
            &format!("/invitations/{token}"),
            &[
                ("name", "Mallory"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(reused.status(), StatusCode::GONE);
    assert_eq!(app.count("users"), users_before);

    // The invitee signs in later with the password they chose.
    let later = signed_in(&app, "ivy@example.com").await;
    assert_eq!(
        app.get_with(&later, &format!("{WS}/audit")).await.status(),
        StatusCode::OK
    );

    assert_eq!(audit_count(&app, "member.invited"), 1);
    assert_eq!(audit_count(&app, "member.joined"), 1);
    assert_eq!(
        number(
            &app,
            "SELECT COUNT(*) AS n FROM audit_log WHERE details LIKE '%ivy%' OR target LIKE '%ivy%' \
             OR selection LIKE '%ivy%'"
        ),
        0,
        "no address in the audit log"
    );
}

async fn a_revoked_invitation_answers_like_an_expired_one(backend: Backend) {
    let app = owner_app(backend).await;
    let token = invite(&app, "wrong@example.com", "Member").await;
    let kept = invite(&app, "right@example.com", "Member").await;
    let team = app.get_html(&format!("{WS}/settings/team")).await;
    assert!(team.contains("Revoke the invitation for wrong@example.com"));
    let id = number(
        &app,
        "SELECT id AS n FROM invitations WHERE email = 'wrong@example.com'",
    );

    let revoked = app
        .post_form(&format!("{WS}/settings/team/invitations/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let team = app.get_html(&format!("{WS}/settings/team")).await;
    assert!(!team.contains("wrong@example.com"), "no longer listed as open");
    assert!(team.contains("right@example.com"), "the other stays open");

    let stranger = new_client();
    let page = app.get_with(&stranger, &format!("/invitations/{token}")).await;
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("This invitation has expired or was already used"));
    let accepted = app
        .post_form_with(
            &stranger,
            &format!("/invitations/{token}"),
            &[
                ("name", "Wrong"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(accepted.status(), StatusCode::GONE);
    assert_eq!(
        number(
            &app,
            "SELECT COUNT(*) AS n FROM users WHERE email = 'wrong@example.com'"
        ),
        0
    );
    let other = new_client();
    assert_eq!(
        app.get_with(&other, &format!("/invitations/{kept}"))
            .await
            .status(),
        StatusCode::OK
    );
    // Revoking again finds nothing open.
    let again = app
        .post_form(&format!("{WS}/settings/team/invitations/{id}/revoke"), &[])
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

async fn an_expired_invitation_is_refused(backend: Backend) {
    let app = owner_app(backend).await;
    let token = invite(&app, "late@example.com", "Member").await;

    app.sql("UPDATE invitations SET expires_at = '2000-01-01 00:00:00'");

    let late = new_client();
    let page = app.get_with(&late, &format!("/invitations/{token}")).await;
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("This invitation has expired or was already used"));
    let post = app
        .post_form_with(
            &late,
            &format!("/invitations/{token}"),
            &[
                ("name", "Late"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(post.status(), StatusCode::GONE);
    assert_eq!(
        number(
            &app,
            "SELECT COUNT(*) AS n FROM users WHERE email = 'late@example.com'"
        ),
        0
    );
    assert_eq!(audit_count(&app, "member.joined"), 0);
}

async fn an_invitation_to_an_existing_account_adds_the_membership_and_asks_to_sign_in(backend: Backend) {
    let app = owner_app(backend).await;
    add_user(&app, "mia@example.com", "Mia Member", "Member");
    let created = app
        .post_form("/settings/workspaces", &[("name", "Second Shop")])
        .await;
    assert_eq!(location(&created), "/w/second-shop/settings/workspace");
    let admin_role = role_id(&app, "Admin").to_string();
    let response = app
        .post_form(
            "/w/second-shop/settings/team/invite",
            &[("email", "Mia@Example.com"), ("role", &admin_role)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let body = app.mail.wait_for(|m| m.is_to("mia@example.com")).await.body();
    let start = body.find("/invitations/").unwrap() + "/invitations/".len();
    let token: String = body[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();

    let mia = new_client();
    let page = app.get_html_with(&mia, &format!("/invitations/{token}")).await;
    assert!(page.contains("already has an account"));
    let accepted = app
        .post_form_with(&mia, &format!("/invitations/{token}"), &[])
        .await;

    assert_eq!(location(&accepted), "/login");
    assert_eq!(role_of(&app, "mia@example.com", "second-shop"), "Admin");
    assert_eq!(role_of(&app, "mia@example.com", "acme-shop"), "Member");
    let signed_in = signed_in(&app, "mia@example.com").await;
    assert_eq!(
        app.get_with(&signed_in, "/w/second-shop/settings/team")
            .await
            .status(),
        StatusCode::OK
    );
    // Inviting someone who is already a member is answered next to the field.
    let member_role = role_id(&app, "Member").to_string();
    let twice = app
        .post_form(
            &format!("{WS}/settings/team/invite"),
            &[("email", "mia@example.com"), ("role", &member_role)],
        )
        .await;
    assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice
        .text()
        .await
        .unwrap()
        .contains("already a member of this workspace"));
}

async fn disabling_a_member_ends_their_live_session(backend: Backend) {
    let app = owner_app(backend).await;
    let mia_id = add_user(&app, "mia@example.com", "Mia Member", "Member");
    let mia = signed_in(&app, "mia@example.com").await;
    assert_eq!(
        app.get_with(&mia, &format!("{WS}/customers")).await.status(),
        StatusCode::OK
    );

    let response = app
        .post_form(&format!("{WS}/settings/team/{mia_id}/disable"), &[])
        .await;

    assert_eq!(location(&response), format!("{WS}/settings/team"));
    assert_eq!(
        location(&app.get_with(&mia, &format!("{WS}/customers")).await),
        "/login"
    );
    assert_eq!(
        number(
            &app,
            &format!("SELECT COUNT(*) AS n FROM sessions WHERE user_id = {mia_id}")
        ),
        0
    );
    let refused = app.login_with(&new_client(), "mia@example.com", PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("turned off"));
    assert!(app
        .get_html(&format!("{WS}/settings/team"))
        .await
        .contains("Disabled"));

    app.post_form(&format!("{WS}/settings/team/{mia_id}/enable"), &[])
        .await;
    signed_in(&app, "mia@example.com").await;

    // Removing her from her only workspace ends her sessions too.
    let mia = signed_in(&app, "mia@example.com").await;
    let removed = app
        .post_form(&format!("{WS}/settings/team/{mia_id}/remove"), &[])
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&app.get_with(&mia, "/settings/security").await),
        "/login"
    );
    assert_eq!(
        number(
            &app,
            &format!("SELECT COUNT(*) AS n FROM memberships WHERE user_id = {mia_id}")
        ),
        0
    );
    for action in ["member.disabled", "member.enabled", "member.removed"] {
        assert_eq!(audit_count(&app, action), 1, "{action}");
    }
}

async fn nobody_can_remove_disable_or_demote_the_last_owner(backend: Backend) {
    let app = owner_app(backend).await;
    let owner_id = user_id(&app, OWNER_EMAIL);
    add_user(&app, "ada@example.com", "Ada Admin", "Admin");
    add_user(&app, "mia@example.com", "Mia Member", "Member");
    let ada = signed_in(&app, "ada@example.com").await;
    let mia = signed_in(&app, "mia@example.com").await;
    let member_role = role_id(&app, "Member").to_string();
    let admin_role = role_id(&app, "Admin").to_string();
    let team = format!("{WS}/settings/team");

    let remove = app
        .post_form_with(&ada, &format!("{team}/{owner_id}/remove"), &[])
        .await;
    assert!(flash_errors(&follow(&app, &ada, remove).await).contains("account owner"));
    // Disabling reaches every workspace: a workspace's Admin may not even try, and an
    // account admin may not disable the owner either.
    let disable = app
        .post_form_with(&ada, &format!("{team}/{owner_id}/disable"), &[])
        .await;
    assert_eq!(disable.status(), StatusCode::FORBIDDEN);
    app.sql("UPDATE users SET is_account_admin = TRUE WHERE email = 'ada@example.com'");
    let disable = app
        .post_form_with(&ada, &format!("{team}/{owner_id}/disable"), &[])
        .await;
    assert!(flash_errors(&follow(&app, &ada, disable).await).contains("cannot be disabled"));
    let demote = app
        .post_form_with(
            &ada,
            &format!("{team}/{owner_id}/role"),
            &[("role", &member_role)],
        )
        .await;
    assert!(flash_errors(&follow(&app, &ada, demote).await).contains("keeps the Owner role"));
    // The owner cannot demote themselves while sole owner either.
    let self_demote = app
        .post_form(&format!("{team}/{owner_id}/role"), &[("role", &admin_role)])
        .await;
    assert!(flash_errors(&follow(&app, &app.client, self_demote).await).contains("keeps the Owner role"));
    // Nobody else can be given the Owner role outside a transfer.
    let mia_id = user_id(&app, "mia@example.com");
    let owner_role = role_id(&app, "Owner").to_string();
    let promote = app
        .post_form_with(&ada, &format!("{team}/{mia_id}/role"), &[("role", &owner_role)])
        .await;
    assert!(flash_errors(&follow(&app, &ada, promote).await).contains("comes only with ownership"));
    // A plain member may not even try.
    let by_member = app
        .post_form_with(&mia, &format!("{team}/{owner_id}/remove"), &[])
        .await;
    assert_eq!(by_member.status(), StatusCode::FORBIDDEN);

    assert_eq!(role_of(&app, OWNER_EMAIL, "acme-shop"), "Owner");
    assert_eq!(role_of(&app, "mia@example.com", "acme-shop"), "Member");
    assert_eq!(
        number(
            &app,
            "SELECT COUNT(*) AS n FROM users WHERE is_owner = TRUE AND disabled = FALSE"
        ),
        1
    );
    for action in ["member.removed", "member.disabled", "member.role_changed"] {
        assert_eq!(audit_count(&app, action), 0, "{action}");
    }
}

async fn only_the_owner_transfers_ownership_and_roles_follow(backend: Backend) {
    let app = owner_app(backend).await;
    app.post_form("/settings/workspaces", &[("name", "Second Shop")])
        .await;
    let ada_id = add_user(&app, "ada@example.com", "Ada Admin", "Admin");
    let ada = signed_in(&app, "ada@example.com").await;
    let id = ada_id.to_string();
    let transfer = format!("{WS}/settings/team/transfer");

    let by_admin = app
        .post_form_with(&ada, &transfer, &[("user", &id), ("password", PASSWORD)])
        .await;
    assert_eq!(by_admin.status(), StatusCode::FORBIDDEN);
    let wrong_password = app
        .post_form(
            &transfer,
            &[("user", &id), ("password", "not my password at all")],
        )
        .await;
    assert!(flash_errors(&follow(&app, &app.client, wrong_password).await).contains("password"));
    assert_eq!(audit_count(&app, "ownership.transferred"), 0);

    let done = app
        .post_form(&transfer, &[("user", &id), ("password", OWNER_PASSWORD)])
        .await;

    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        text(&app, "SELECT email AS t FROM users WHERE is_owner = TRUE"),
        "ada@example.com"
    );
    for slug in ["acme-shop", "second-shop"] {
        assert_eq!(role_of(&app, "ada@example.com", slug), "Owner");
        assert_eq!(role_of(&app, OWNER_EMAIL, slug), "Admin");
    }
    assert_eq!(audit_count(&app, "ownership.transferred"), 1);
    // The old owner, now an admin, can no longer transfer it.
    let back = app
        .post_form(
            &transfer,
            &[
                ("user", &user_id(&app, OWNER_EMAIL).to_string()),
                ("password", OWNER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(back.status(), StatusCode::FORBIDDEN);
}

async fn custom_roles_are_created_edited_and_deleted_but_built_in_ones_are_not(backend: Backend) {
    let app = owner_app(backend).await;
    let roles = format!("{WS}/settings/roles");
    let form = app.get_html(&format!("{roles}/new")).await;
    assert!(form.contains("See personal data"), "labels are shown");
    assert!(form.contains("See email addresses, phone numbers and names unmasked."));

    let created = app
        .post_form(&roles, &[("name", " Support "), ("permission", "customers.view")])
        .await;
    assert_eq!(location(&created), roles);
    let support = role_id(&app, "Support");
    assert_eq!(
        text(
            &app,
            &format!("SELECT permissions AS t FROM roles WHERE id = {support}")
        ),
        "customers.view"
    );
    let duplicate = app
        .post_form(&roles, &[("name", "support"), ("permission", "audit.view")])
        .await;
    assert_eq!(duplicate.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = duplicate.text().await.unwrap();
    assert!(page.contains(r#"class="field-error""#) && page.contains("another role already has this name"));
    let empty = app.post_form(&roles, &[("name", "  ")]).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().await.unwrap().contains("enter a name for the role"));
    let too_long = app.post_form(&roles, &[("name", &"x".repeat(61))]).await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let edited = app
        .post_form(
            &format!("{roles}/{support}"),
            &[
                ("name", "Support desk"),
                ("permission", "customers.view"),
                ("permission", "audit.view"),
            ],
        )
        .await;
    assert_eq!(location(&edited), roles);
    assert_eq!(
        text(&app, &format!("SELECT name AS t FROM roles WHERE id = {support}")),
        "Support desk"
    );
    assert_eq!(
        text(
            &app,
            &format!("SELECT permissions AS t FROM roles WHERE id = {support}")
        ),
        "customers.view audit.view"
    );

    // Refused while anyone holds it.
    let mia_id = add_user(&app, "mia@example.com", "Mia Member", "Support desk");
    let refused = app.post_form(&format!("{roles}/{support}/delete"), &[]).await;
    assert!(flash_errors(&follow(&app, &app.client, refused).await).contains("still assigned to 1 member"));
    assert_eq!(
        number(
            &app,
            &format!("SELECT COUNT(*) AS n FROM roles WHERE id = {support}")
        ),
        1
    );
    let member = role_id(&app, "Member").to_string();
    app.post_form(&format!("{WS}/settings/team/{mia_id}/role"), &[("role", &member)])
        .await;
    let deleted = app.post_form(&format!("{roles}/{support}/delete"), &[]).await;
    assert_eq!(location(&deleted), roles);
    assert_eq!(
        number(
            &app,
            &format!("SELECT COUNT(*) AS n FROM roles WHERE id = {support}")
        ),
        0
    );

    // Built-in roles cannot be edited or deleted, whatever is posted.
    let admin = role_id(&app, "Admin");
    let roles_before = app.count("roles");
    assert_eq!(
        app.get(&format!("{roles}/{admin}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let edit_builtin = app
        .post_form(
            &format!("{roles}/{admin}"),
            &[("name", "Boss"), ("permission", "customers.view")],
        )
        .await;
    assert_eq!(edit_builtin.status(), StatusCode::NOT_FOUND);
    let delete_builtin = app.post_form(&format!("{roles}/{admin}/delete"), &[]).await;
    assert_eq!(delete_builtin.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count("roles"), roles_before);
    assert_eq!(
        text(&app, &format!("SELECT name AS t FROM roles WHERE id = {admin}")),
        "Admin"
    );
    let list = app.get_html(&roles).await;
    assert!(list.contains("Compliance reviewer") && list.contains("Read the audit log"));

    for action in ["role.created", "role.updated", "role.deleted"] {
        assert_eq!(audit_count(&app, action), 1, "{action}");
    }
    assert_eq!(
        text(
            &app,
            "SELECT details AS t FROM audit_log WHERE action = 'role.created'"
        ),
        r#"{"permissions":["customers.view"]}"#
    );
    assert_eq!(
        text(
            &app,
            "SELECT target AS t FROM audit_log WHERE action = 'role.deleted'"
        ),
        format!("role:{support}")
    );
}

async fn a_role_with_customers_view_only_cannot_open_team_or_roles(backend: Backend) {
    let app = owner_app(backend).await;
    app.post_form(
        &format!("{WS}/settings/roles"),
        &[("name", "Viewer"), ("permission", "customers.view")],
    )
    .await;
    add_user(&app, "vic@example.com", "Vic Viewer", "Viewer");
    let vic = signed_in(&app, "vic@example.com").await;

    assert_eq!(
        app.get_with(&vic, &format!("{WS}/customers")).await.status(),
        StatusCode::OK
    );
    for page in [
        "settings/team",
        "settings/roles",
        "settings/roles/new",
        "settings/workspace",
        "anonymized",
    ] {
        assert_eq!(
            app.get_with(&vic, &format!("{WS}/{page}")).await.status(),
            StatusCode::FORBIDDEN,
            "{page}"
        );
    }
    let invite = app
        .post_form_with(
            &vic,
            &format!("{WS}/settings/team/invite"),
            &[("email", "friend@example.com"), ("role", "1")],
        )
        .await;
    assert_eq!(invite.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("invitations"), 0);
    for page in [
        "/settings/security",
        "/settings/workspaces",
        "/w/acme-shop/customers",
    ] {
        let html = app.get_html_with(&vic, page).await;
        assert!(!html.contains("/settings/team"), "no Team link on {page}");
        assert!(!html.contains("/settings/roles"), "no Roles link on {page}");
    }
    let create = app
        .post_form_with(&vic, "/settings/workspaces", &[("name", "Mine")])
        .await;
    assert_eq!(create.status(), StatusCode::FORBIDDEN);
    // The owner does see them.
    let owner_nav = app.get_html("/settings/security").await;
    assert!(
        owner_nav.contains("/w/acme-shop/settings/team") && owner_nav.contains("/w/acme-shop/settings/roles")
    );
}

async fn each_role_lands_on_a_page_it_may_open(backend: Backend) {
    let app = owner_app(backend).await;
    for (name, permission) in [("Auditor", "audit.view"), ("Team lead", "team.manage")] {
        app.post_form(
            &format!("{WS}/settings/roles"),
            &[("name", name), ("permission", permission)],
        )
        .await;
    }
    add_user(&app, "aud@example.com", "Ann Auditor", "Auditor");
    add_user(&app, "lead@example.com", "Leo Lead", "Team lead");
    add_user(&app, "mia@example.com", "Mia Member", "Member");
    for (email, home) in [
        ("aud@example.com", format!("{WS}/audit")),
        ("lead@example.com", format!("{WS}/settings/team")),
        ("mia@example.com", format!("{WS}/customers")),
    ] {
        let client = signed_in(&app, email).await;
        let landing = app.get_with(&client, "/").await;
        assert_eq!(landing.status(), StatusCode::SEE_OTHER, "{email}");
        assert_eq!(location(&landing), home, "{email}");
        assert_eq!(
            app.get_with(&client, &home).await.status(),
            StatusCode::OK,
            "{email}"
        );
    }
}

async fn a_role_change_takes_effect_on_the_next_request(backend: Backend) {
    let app = owner_app(backend).await;
    let mia_id = add_user(&app, "mia@example.com", "Mia Member", "Member");
    let mia = signed_in(&app, "mia@example.com").await;
    assert_eq!(
        app.get_with(&mia, &format!("{WS}/audit")).await.status(),
        StatusCode::FORBIDDEN
    );

    let reviewer = role_id(&app, "Compliance reviewer").to_string();
    let changed = app
        .post_form(
            &format!("{WS}/settings/team/{mia_id}/role"),
            &[("role", &reviewer)],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);

    assert_eq!(
        app.get_with(&mia, &format!("{WS}/audit")).await.status(),
        StatusCode::OK
    );
    assert!(app
        .get_html_with(&mia, &format!("{WS}/customers"))
        .await
        .contains(&format!("{WS}/audit")));
    assert_eq!(audit_count(&app, "member.role_changed"), 1);
    assert_eq!(
        text(
            &app,
            "SELECT target AS t FROM audit_log WHERE action = 'member.role_changed'"
        ),
        format!("user:{mia_id}")
    );
}

fn now() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

fn select_texts(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(selector).unwrap();
    doc.select(&selector)
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

fn totp_secret_stored(app: &TestApp) -> bool {
    number(
        app,
        &format!("SELECT COUNT(*) AS n FROM users WHERE email = '{OWNER_EMAIL}' AND totp_secret IS NOT NULL"),
    ) == 1
}

async fn two_step_sign_in_is_enrolled_used_and_turned_off(backend: Backend) {
    let app = owner_app(backend).await;
    // A session opened with the password alone, elsewhere.
    let elsewhere = new_client();
    app.login_with(&elsewhere, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(
        app.get_with(&elsewhere, "/settings/security").await.status(),
        StatusCode::OK
    );
    let start = app.post_form("/settings/security/totp/start", &[]).await;
    assert_eq!(location(&start), "/settings/security/totp");
    let page = app.get_html("/settings/security/totp").await;
    let secret = select_texts(&page, "#totp-secret")
        .pop()
        .expect("the secret in text");
    assert!(
        page.contains(r#"src="data:image/png;base64,"#),
        "the QR code inline"
    );
    assert!(
        !totp_secret_stored(&app),
        "nothing stored before the code is confirmed"
    );

    let wrong = app
        .post_form("/settings/security/totp/confirm", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let enrol_code = erasure::totp::code_at(&secret, now()).unwrap();
    let confirmed = app
        .post_form("/settings/security/totp/confirm", &[("code", &enrol_code)])
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let codes = select_texts(&confirmed.text().await.unwrap(), ".recovery-codes code");
    assert_eq!(codes.len(), 10, "ten recovery codes, shown once");
    assert!(totp_secret_stored(&app));
    // Turning it on ended every other session, and kept this one.
    let ended = app.get_with(&elsewhere, "/settings/security").await;
    assert_eq!(location(&ended), "/login", "the other session is over");
    assert_eq!(app.get("/settings/security").await.status(), StatusCode::OK);
    assert!(app
        .get_html("/settings/security")
        .await
        .contains("10 recovery codes left"));

    // Signing in now asks for a code; the one used to enrol is spent.
    app.logout().await;
    assert_eq!(
        location(&app.login(OWNER_EMAIL, OWNER_PASSWORD).await),
        "/login/totp"
    );
    let replayed = app.post_form("/login/totp", &[("code", &enrol_code)]).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    let next_code = erasure::totp::code_at(&secret, now() + 30).unwrap();
    let accepted = app.post_form("/login/totp", &[("code", &next_code)]).await;
    assert_eq!(location(&accepted), "/");
    let other = new_client();
    app.login_with(&other, OWNER_EMAIL, OWNER_PASSWORD).await;
    let again = app
        .post_form_with(&other, "/login/totp", &[("code", &next_code)])
        .await;
    assert_eq!(
        again.status(),
        StatusCode::UNAUTHORIZED,
        "a replayed code is refused"
    );

    // A recovery code works once.
    let recovered = app
        .post_form_with(&other, "/login/totp", &[("code", &codes[0])])
        .await;
    assert_eq!(location(&recovered), "/");
    let third = new_client();
    app.login_with(&third, OWNER_EMAIL, OWNER_PASSWORD).await;
    let reused = app
        .post_form_with(&third, "/login/totp", &[("code", &codes[0])])
        .await;
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);

    // Turning it off needs the password and a code.
    let disable = "/settings/security/totp/disable";
    let no_password = app
        .post_form(
            disable,
            &[("password", "not the password at all"), ("code", &codes[1])],
        )
        .await;
    assert!(flash_errors(&follow(&app, &app.client, no_password).await).contains("still on"));
    let no_code = app
        .post_form(disable, &[("password", OWNER_PASSWORD), ("code", "000000")])
        .await;
    assert!(flash_errors(&follow(&app, &app.client, no_code).await).contains("still on"));
    assert!(totp_secret_stored(&app));
    let off = app
        .post_form(disable, &[("password", OWNER_PASSWORD), ("code", &codes[1])])
        .await;
    assert_eq!(location(&off), "/settings/security");
    assert!(!totp_secret_stored(&app));
    // Turning it off ended the session signed in with a recovery code, and kept this one.
    let ended = app.get_with(&other, "/settings/security").await;
    assert_eq!(location(&ended), "/login", "the other session is over");
    assert_eq!(app.get("/settings/security").await.status(), StatusCode::OK);
    app.logout().await;
    assert_eq!(location(&app.login(OWNER_EMAIL, OWNER_PASSWORD).await), "/");

    assert_eq!(audit_count(&app, "totp.enabled"), 1);
    assert_eq!(audit_count(&app, "totp.disabled"), 1);
}

async fn workspaces_are_created_renamed_and_configured(backend: Backend) {
    let app = owner_app(backend).await;
    let bad = app.post_form("/settings/workspaces", &[("name", "!!!")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("field-error"));

    let created = app
        .post_form("/settings/workspaces", &[("name", "Second Shop")])
        .await;
    assert_eq!(location(&created), "/w/second-shop/settings/workspace");
    assert_eq!(role_of(&app, OWNER_EMAIL, "second-shop"), "Owner");
    let settings = "/w/second-shop/settings/workspace";
    let page = app.get_html(settings).await;
    assert!(page.contains(
        "Switching to ID or email starts checking email addresses against suppressions made from now on; \
         suppressions made earlier only cover IDs."
    ));

    let saved = app
        .post_form(
            settings,
            &[
                ("name", "Second Store"),
                ("identifier_mode", "id_or_email"),
                ("pii_keys", "birthday, loyalty.card_no\nbirthday"),
            ],
        )
        .await;
    assert_eq!(location(&saved), settings, "the slug stays");
    let stored = |column: &str| {
        text(
            &app,
            &format!("SELECT {column} AS t FROM workspaces WHERE slug = 'second-shop'"),
        )
    };
    assert_eq!(stored("name"), "Second Store");
    assert_eq!(stored("identifier_mode"), "id_or_email");
    assert_eq!(stored("pii_keys"), r#"["birthday","loyalty.card_no"]"#);

    let bad_key = app
        .post_form(
            settings,
            &[
                ("name", "Renamed"),
                ("identifier_mode", "id"),
                ("pii_keys", "home address"),
            ],
        )
        .await;
    assert_eq!(bad_key.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad_key.text().await.unwrap();
    let errors = select_texts(&html, ".field.has-error .field-error");
    assert!(errors.iter().any(|e| e.contains("home address")), "{errors:?}");
    let bad_mode = app
        .post_form(
            settings,
            &[
                ("name", "Renamed"),
                ("identifier_mode", "email"),
                ("pii_keys", ""),
            ],
        )
        .await;
    assert_eq!(bad_mode.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        stored("name"),
        "Second Store",
        "nothing saved from a refused form"
    );
    assert_eq!(stored("identifier_mode"), "id_or_email");

    let listed = app.get_html("/settings/workspaces").await;
    assert!(listed.contains("Second Store") && listed.contains("Acme Shop"));
    assert_eq!(audit_count(&app, "workspace.created"), 2);
    assert_eq!(audit_count(&app, "workspace.updated"), 1);
    assert_eq!(
        text(
            &app,
            "SELECT details AS t FROM audit_log WHERE action = 'workspace.updated'"
        ),
        r#"{"changed":["name","identifier_mode","pii_keys"],"identifier_mode":"id_or_email","pii_keys":2}"#
    );
}

async fn another_workspaces_slug_answers_404_and_changes_nothing(backend: Backend) {
    let app = owner_app(backend).await;
    app.post_form("/settings/workspaces", &[("name", "Other Shop")])
        .await;
    let owner_id = user_id(&app, OWNER_EMAIL);
    // Ada runs Acme Shop, with account-wide power even, but is no member of Other Shop.
    let ada_id = add_user(&app, "ada@example.com", "Ada Admin", "Admin");
    app.sql("UPDATE users SET is_account_admin = TRUE WHERE email = 'ada@example.com'");
    let ada = signed_in(&app, "ada@example.com").await;
    let other = "/w/other-shop";
    let member = role_id(&app, "Member").to_string();
    let audit_before = app.count("audit_log");
    let roles_before = app.count("roles");

    for page in [
        "settings/team",
        "settings/roles",
        "settings/roles/new",
        "settings/workspace",
        "anonymized",
    ] {
        assert_eq!(
            app.get_with(&ada, &format!("{other}/{page}")).await.status(),
            StatusCode::NOT_FOUND,
            "{page}"
        );
    }
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("{other}/settings/team/{owner_id}/disable"), vec![]),
        (format!("{other}/settings/team/{owner_id}/remove"), vec![]),
        (
            format!("{other}/settings/team/{owner_id}/role"),
            vec![("role", &member)],
        ),
        (
            format!("{other}/settings/team/invite"),
            vec![("email", "x@example.com"), ("role", &member)],
        ),
        (
            format!("{other}/settings/roles"),
            vec![("name", "Sneaky"), ("permission", "customers.view")],
        ),
        (
            format!("{other}/settings/workspace"),
            vec![("name", "Taken"), ("identifier_mode", "id"), ("pii_keys", "")],
        ),
    ];
    for (path, fields) in &posts {
        let response = app.post_form_with(&ada, path, fields).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Someone outside Acme Shop is not found through Acme Shop's URLs either.
    let outsider = {
        app.sql(
            "INSERT INTO users (email, name, password_hash, is_owner, recovery_codes, disabled, created_at) \
             VALUES ('out@example.com', 'Otto Outsider', 'x', FALSE, '[]', FALSE, '2026-01-01 00:00:00');",
        );
        user_id(&app, "out@example.com")
    };
    let cross = app
        .post_form_with(&ada, &format!("{WS}/settings/team/{outsider}/disable"), &[])
        .await;
    assert_eq!(cross.status(), StatusCode::NOT_FOUND);

    assert_eq!(
        app.count("audit_log"),
        audit_before,
        "nothing was recorded as done"
    );
    assert_eq!(app.count("roles"), roles_before);
    assert_eq!(app.count("invitations"), 0);
    assert_eq!(
        text(&app, "SELECT name AS t FROM workspaces WHERE slug = 'other-shop'"),
        "Other Shop"
    );
    assert_eq!(
        number(&app, "SELECT COUNT(*) AS n FROM users WHERE disabled = TRUE"),
        0
    );
    assert_eq!(role_of(&app, OWNER_EMAIL, "other-shop"), "Owner");
    assert_eq!(
        number(
            &app,
            &format!("SELECT COUNT(*) AS n FROM memberships WHERE user_id = {ada_id}")
        ),
        1
    );
}

async fn a_compliance_reviewer_pages_through_anonymized_customers(backend: Backend) {
    let app = owner_app(backend).await;
    let owner_id = user_id(&app, OWNER_EMAIL);
    add_user(&app, "rey@example.com", "Rey Reviewer", "Compliance reviewer");
    add_user(&app, "mia@example.com", "Mia Member", "Member");
    let mut rows = vec![
        "(1, 'live-1', 'live@example.com', 'Lou Live', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL, NULL)".to_owned(),
    ];
    for i in 0..55 {
        rows.push(format!(
            "(1, NULL, NULL, NULL, '{{}}', '2026-01-01 00:00:00', '2026-01-01 00:00:00', \
             '2026-02-01 10:{:02}:00', {owner_id})",
            i
        ));
    }
    app.sql(&format!(
        "INSERT INTO customers (workspace_id, external_id, email, name, attributes, created_at, last_seen_at, \
         archived_at, archived_by) VALUES {};",
        rows.join(", ")
    ));
    let newest = number(&app, "SELECT MAX(id) AS n FROM customers");
    app.sql(&format!(
        "INSERT INTO events (workspace_id, customer_id, name, properties, occurred_at) VALUES \
         (1, {newest}, 'viewed', '{{}}', '2026-01-05 00:00:00'), \
         (1, {newest}, 'bought', '{{}}', '2026-01-06 00:00:00');"
    ));
    let rey = signed_in(&app, "rey@example.com").await;

    let first = app.get_html_with(&rey, &format!("{WS}/anonymized")).await;

    let ids = select_texts(&first, "table.data tbody td a");
    assert_eq!(ids.len(), 50);
    assert_eq!(ids[0], format!("cio_{newest}"), "newest first");
    assert!(first.contains(&format!(r#"href="{WS}/customers/{newest}""#)));
    assert!(first.contains("Olivia Owner") && first.contains("55 anonymized customers"));
    let counts = select_texts(&first, "table.data tbody td.num");
    assert_eq!(counts[0], "2", "the newest has two events kept");
    assert!(!first.contains("live@example.com") && !first.contains("Lou Live"));
    let doc = scraper::Html::parse_document(&first);
    let older = scraper::Selector::parse("nav.pager a").unwrap();
    let next = doc
        .select(&older)
        .find(|a| a.text().collect::<String>() == "Older")
        .and_then(|a| a.value().attr("href"))
        .expect("a link to the next page")
        .to_owned();
    let second = app.get_html_with(&rey, &next).await;
    let rest = select_texts(&second, "table.data tbody td a");
    assert_eq!(rest.len(), 5);
    assert!(rest.iter().all(|id| !ids.contains(id)), "no row twice");
    assert_eq!(
        app.get_with(&rey, &format!("{WS}/anonymized?after=garbage"))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert!(app
        .get_html_with(&rey, &format!("{WS}/audit"))
        .await
        .contains(&format!("{WS}/anonymized")));
    let mia = signed_in(&app, "mia@example.com").await;
    assert_eq!(
        app.get_with(&mia, &format!("{WS}/anonymized")).await.status(),
        StatusCode::FORBIDDEN
    );
}
