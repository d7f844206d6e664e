//! Roles belong to workspaces, and what reaches across the whole account (creating
//! workspaces, disabling, enabling and signing out people, the account-level audit
//! entries of people elsewhere) belongs to the account owner and account admins.

use diesel::sql_types::{BigInt, Text};
use diesel::RunQueryDsl;
use reqwest::StatusCode;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_team_and_settings_manager_of_a_never_gains_customer_or_audit_access_in_a,
    an_admin_of_b_cannot_disable_enable_or_sign_out_a_member_of_a,
    an_admin_of_b_does_not_see_the_sign_ins_of_a_s_members,
    only_the_owner_and_account_admins_create_workspaces,
    only_the_owner_names_account_admins_who_then_act_account_wide,
    a_custom_role_is_listed_and_assigned_only_in_its_own_workspace,
    a_membership_holding_another_workspaces_role_grants_nothing,
);

const A: &str = "/w/acme-shop";
const B: &str = "/w/second-shop";
const PASSWORD: &str = "member password 123";
const ALL_PERMISSIONS: [&str; 9] = [
    "customers.view",
    "customers.view_pii",
    "customers.archive",
    "customers.delete",
    "customers.delete_all",
    "suppressions.manage",
    "audit.view",
    "team.manage",
    "settings.manage",
];

fn number(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db();
    diesel::sql_query(sql)
        .get_result::<Row>(&mut **conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

fn text(app: &TestApp, sql: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        t: String,
    }
    let mut conn = app.db();
    diesel::sql_query(sql)
        .get_result::<Row>(&mut **conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .t
}

fn user_id(app: &TestApp, email: &str) -> i64 {
    number(app, &format!("SELECT id AS n FROM users WHERE email = '{email}'"))
}

/// A user without any membership yet.
fn add_person(app: &TestApp, email: &str, name: &str) -> i64 {
    let hash = erasure::password::hash(PASSWORD).unwrap();
    app.sql(&format!(
        "INSERT INTO users (email, name, password_hash, is_owner, recovery_codes, disabled, created_at) \
         VALUES ('{email}', '{name}', '{hash}', FALSE, '[]', FALSE, '2026-01-01 00:00:00');"
    ));
    user_id(app, email)
}

/// Makes `user` a member of the workspace `slug` with the role picked by `role` (an SQL
/// condition on `r`).
fn join(app: &TestApp, user: i64, slug: &str, role: &str) {
    app.sql(&format!(
        "INSERT INTO memberships (user_id, workspace_id, role_id, created_at) \
         SELECT {user}, w.id, r.id, '2026-01-01 00:00:00' FROM workspaces w, roles r \
         WHERE w.slug = '{slug}' AND {role};"
    ));
}

/// A custom role of the workspace `slug`, made directly in the database.
fn add_role(app: &TestApp, slug: &str, name: &str, permissions: &str) -> i64 {
    app.sql(&format!(
        "INSERT INTO roles (name, builtin, permissions, created_at, workspace_id) \
         SELECT '{name}', NULL, '{permissions}', '2026-01-01 00:00:00', id FROM workspaces WHERE slug = '{slug}';"
    ));
    number(
        app,
        &format!(
            "SELECT r.id AS n FROM roles r JOIN workspaces w ON w.id = r.workspace_id \
             WHERE w.slug = '{slug}' AND r.name = '{name}'"
        ),
    )
}

async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    let client = new_client();
    let response = app.login_with(&client, email, PASSWORD).await;
    assert_eq!(location(&response), "/", "{email} signs in");
    client
}

/// The owner's app with a second workspace, Second Shop, made by the owner.
async fn two_workspaces(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let created = app
        .post_form("/settings/workspaces", &[("name", "Second Shop")])
        .await;
    assert_eq!(location(&created), format!("{B}/settings/workspace"));
    app
}

async fn status(app: &TestApp, client: &reqwest::Client, path: &str) -> StatusCode {
    app.get_with(client, path).await.status()
}

/// A's customers list, a profile, the audit log and its export: what Tim must never
/// reach.
async fn a_is_closed_to(app: &TestApp, client: &reqwest::Client, customer: i64) -> Vec<String> {
    let mut open = Vec::new();
    for path in [
        format!("{A}/customers"),
        format!("{A}/customers/{customer}"),
        format!("{A}/audit"),
        format!("{A}/audit/export.csv"),
    ] {
        let got = status(app, client, &path).await;
        if got != StatusCode::FORBIDDEN {
            open.push(format!("{path}: {got}"));
        }
    }
    open
}

async fn a_team_and_settings_manager_of_a_never_gains_customer_or_audit_access_in_a(backend: Backend) {
    let app = two_workspaces(backend).await;
    app.sql(
        "INSERT INTO customers (workspace_id, external_id, email, name, country, attributes, created_at, last_seen_at) \
         SELECT id, 'c-1', 'c1@example.com', 'Cara Customer', 'GB', '{}', '2026-01-01 00:00:00', '2026-11-01 00:00:00' \
         FROM workspaces WHERE slug = 'acme-shop';",
    );
    let customer = number(&app, "SELECT id AS n FROM customers WHERE external_id = 'c-1'");
    let runner = add_role(&app, "acme-shop", "Team runner", "team.manage settings.manage");
    let tim_id = add_person(&app, "tim@example.com", "Tim Runner");
    join(&app, tim_id, "acme-shop", &format!("r.id = {runner}"));
    // Tim also runs the team of Second Shop, with a custom role of that workspace.
    let b_runner = add_role(&app, "second-shop", "Runner", "team.manage settings.manage");
    join(&app, tim_id, "second-shop", &format!("r.id = {b_runner}"));
    let tim = signed_in(&app, "tim@example.com").await;
    assert!(a_is_closed_to(&app, &tim, customer).await.is_empty());
    let token = app.csrf_token_for(&tim).await;
    let post = |path: String, fields: Vec<(&'static str, String)>| {
        let mut form = vec![("csrf_token", token.clone())];
        form.extend(fields);
        let request = tim.post(app.url(&path)).form(&form);
        async move { request.send().await.unwrap().status() }
    };
    let everything = |name: &str| {
        let mut fields = vec![("name", name.to_owned())];
        fields.extend(ALL_PERMISSIONS.iter().map(|p| ("permission", (*p).to_owned())));
        fields
    };
    let admin = number(&app, "SELECT id AS n FROM roles WHERE builtin = 'admin'").to_string();

    // Every role edit within reach, from either workspace, with every permission.
    let mut answers = Vec::new();
    for (base, role) in [(A, runner), (B, b_runner), (A, b_runner), (B, runner)] {
        answers.push(post(format!("{base}/settings/roles/{role}"), everything("Team runner")).await);
        answers.push(post(format!("{base}/settings/roles"), everything("Everything")).await);
    }
    // Member actions on Tim himself, in both workspaces: the Admin role, and B's role in A.
    for base in [A, B] {
        answers.push(
            post(
                format!("{base}/settings/team/{tim_id}/role"),
                vec![("role", admin.clone())],
            )
            .await,
        );
    }
    answers.push(
        post(
            format!("{A}/settings/team/{tim_id}/role"),
            vec![("role", b_runner.to_string())],
        )
        .await,
    );
    answers.push(
        post(
            format!("{A}/settings/team/invite"),
            vec![("email", "tim2@example.com".into()), ("role", admin.clone())],
        )
        .await,
    );
    answers.push(
        post(
            format!("{A}/settings/team/{tim_id}/account-admin"),
            vec![("account_admin", "grant".into())],
        )
        .await,
    );
    // A workspace of his own, where he would be an admin.
    answers.push(post("/settings/workspaces".into(), vec![("name", "Tim Shop".into())]).await);
    // Had he made it, every role edit and role change from there too.
    for role in [runner, b_runner] {
        answers.push(
            post(
                format!("/w/tim-shop/settings/roles/{role}"),
                everything("Team runner"),
            )
            .await,
        );
        answers.push(
            post(
                format!("/w/tim-shop/settings/team/{tim_id}/role"),
                vec![("role", role.to_string())],
            )
            .await,
        );
    }

    assert!(
        answers.iter().all(|s| !s.is_server_error()),
        "no server error: {answers:?}"
    );
    assert_eq!(
        number(&app, "SELECT COUNT(*) AS n FROM workspaces"),
        2,
        "no workspace for Tim"
    );
    assert_eq!(
        text(
            &app,
            &format!("SELECT permissions AS t FROM roles WHERE id = {runner}")
        ),
        "team.manage settings.manage",
        "A's role still holds what it held"
    );
    let still_closed = a_is_closed_to(&app, &tim, customer).await;
    assert!(still_closed.is_empty(), "Tim reached: {still_closed:?}");
    let tim_again = signed_in(&app, "tim@example.com").await;
    let fresh = a_is_closed_to(&app, &tim_again, customer).await;
    assert!(fresh.is_empty(), "Tim reached after signing in again: {fresh:?}");
    for (role, set) in [(runner, "A's role"), (b_runner, "B's role")] {
        let permissions = text(
            &app,
            &format!("SELECT permissions AS t FROM roles WHERE id = {role}"),
        );
        for forbidden in ["customers.view", "audit.view"] {
            assert!(
                !permissions.contains(forbidden),
                "{set} gained {forbidden}: {permissions}"
            );
        }
    }
}

async fn an_admin_of_b_cannot_disable_enable_or_sign_out_a_member_of_a(backend: Backend) {
    let app = two_workspaces(backend).await;
    let ada_id = add_person(&app, "ada@example.com", "Ada Admin");
    join(&app, ada_id, "second-shop", "r.builtin = 'admin'");
    let mia_id = add_person(&app, "mia@example.com", "Mia Member");
    join(&app, mia_id, "acme-shop", "r.builtin = 'member'");
    join(&app, mia_id, "second-shop", "r.builtin = 'member'");
    let ada = signed_in(&app, "ada@example.com").await;
    let mia = signed_in(&app, "mia@example.com").await;
    let team = app.get_html_with(&ada, &format!("{B}/settings/team")).await;
    assert!(
        team.contains(&format!("/settings/team/{mia_id}/remove")),
        "Ada may remove Mia from B"
    );
    for action in ["disable", "enable", "sign-out"] {
        assert!(
            !team.contains(&format!("/settings/team/{mia_id}/{action}")),
            "no {action} button for Ada"
        );
    }
    let token = app.csrf_token_for(&ada).await;

    let mut answers = Vec::new();
    for action in ["disable", "sign-out", "enable"] {
        let response = ada
            .post(app.url(&format!("{B}/settings/team/{mia_id}/{action}")))
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        answers.push((action, response.status()));
    }

    for (action, got) in answers {
        assert_eq!(got, StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(
        status(&app, &mia, &format!("{A}/customers")).await,
        StatusCode::OK
    );
    assert_eq!(
        number(
            &app,
            &format!("SELECT COUNT(*) AS n FROM users WHERE id = {mia_id} AND disabled")
        ),
        0
    );
    for action in ["member.disabled", "member.enabled", "sessions.revoked"] {
        assert_eq!(
            number(
                &app,
                &format!("SELECT COUNT(*) AS n FROM audit_log WHERE action = '{action}'")
            ),
            0,
            "{action}"
        );
    }
    // What Ada may do: take Mia out of B, and of B only.
    let removed = ada
        .post(app.url(&format!("{B}/settings/team/{mia_id}/remove")))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&removed), format!("{B}/settings/team"));
    assert_eq!(
        status(&app, &mia, &format!("{B}/customers")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&app, &mia, &format!("{A}/customers")).await,
        StatusCode::OK
    );
    // The owner may disable her, which ends her access everywhere.
    let disabled = app
        .post_form(&format!("{A}/settings/team/{mia_id}/disable"), &[])
        .await;
    assert_eq!(location(&disabled), format!("{A}/settings/team"));
    assert_eq!(
        location(&app.get_with(&mia, &format!("{A}/customers")).await),
        "/login"
    );
}

/// The ids of the users whose sign-ins an export of `workspace`'s log shows.
async fn sign_ins_in_export(app: &TestApp, client: &reqwest::Client, base: &str) -> Vec<i64> {
    let response = app
        .get_with(
            client,
            &format!("{base}/audit/export.jsonl?action=sign_in.succeeded"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    body.lines()
        .map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).unwrap();
            entry["actor_id"].as_i64().unwrap()
        })
        .collect()
}

async fn an_admin_of_b_does_not_see_the_sign_ins_of_a_s_members(backend: Backend) {
    let app = two_workspaces(backend).await;
    let ada_id = add_person(&app, "ada@example.com", "Ada Admin");
    join(&app, ada_id, "second-shop", "r.builtin = 'admin'");
    let mia_id = add_person(&app, "mia@example.com", "Mia Onlya");
    join(&app, mia_id, "acme-shop", "r.builtin = 'member'");
    let pat_id = add_person(&app, "pat@example.com", "Pat Bothways");
    join(&app, pat_id, "acme-shop", "r.builtin = 'member'");
    join(&app, pat_id, "second-shop", "r.builtin = 'member'");
    signed_in(&app, "mia@example.com").await;
    signed_in(&app, "pat@example.com").await;
    let ada = signed_in(&app, "ada@example.com").await;

    let in_b = sign_ins_in_export(&app, &ada, B).await;
    let page = app.get_html_with(&ada, &format!("{B}/audit")).await;
    let csv = app
        .get_with(&ada, &format!("{B}/audit/export.csv"))
        .await
        .text()
        .await
        .unwrap();
    let by_owner = sign_ins_in_export(&app, &app.client, B).await;

    assert!(!in_b.contains(&mia_id), "Mia's sign-in is not B's: {in_b:?}");
    assert!(in_b.contains(&pat_id), "Pat, a member of B, is: {in_b:?}");
    assert!(in_b.contains(&ada_id), "and so is Ada: {in_b:?}");
    // The page names people: neither Mia's sign-in nor her as a target is on it.
    assert!(
        !page.contains("Mia Onlya") && !page.contains(&format!("person #{mia_id}<")),
        "not on the page"
    );
    assert!(page.contains("Pat Bothways"), "Pat's entries are");
    assert!(!csv.contains(&format!("user:{mia_id},")), "not in the CSV export");
    assert!(csv.contains(&format!("user:{pat_id},")));
    assert!(
        by_owner.contains(&mia_id),
        "the owner sees every sign-in: {by_owner:?}"
    );
}

async fn only_the_owner_and_account_admins_create_workspaces(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let ada_id = add_person(&app, "ada@example.com", "Ada Admin");
    join(&app, ada_id, "acme-shop", "r.builtin = 'admin'");
    let ada = signed_in(&app, "ada@example.com").await;
    let owner_page = app.get_html("/settings/workspaces").await;
    let ada_page = app.get_html_with(&ada, "/settings/workspaces").await;
    assert!(owner_page.contains("Create workspace"));
    assert!(
        !ada_page.contains("Create workspace"),
        "no button for a workspace's admin"
    );

    let refused = app
        .post_form_with(&ada, "/settings/workspaces", &[("name", "Ada Shop")])
        .await;

    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(number(&app, "SELECT COUNT(*) AS n FROM workspaces"), 1);
    let created = app
        .post_form("/settings/workspaces", &[("name", "Owner Shop")])
        .await;
    assert_eq!(location(&created), "/w/owner-shop/settings/workspace");
    assert_eq!(
        number(
            &app,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'workspace.created'"
        ),
        2,
        "the first workspace and this one"
    );
}

async fn only_the_owner_names_account_admins_who_then_act_account_wide(backend: Backend) {
    let app = two_workspaces(backend).await;
    let ada_id = add_person(&app, "ada@example.com", "Ada Admin");
    join(&app, ada_id, "acme-shop", "r.builtin = 'admin'");
    let bea_id = add_person(&app, "bea@example.com", "Bea Admin");
    join(&app, bea_id, "acme-shop", "r.builtin = 'admin'");
    let mia_id = add_person(&app, "mia@example.com", "Mia Member");
    join(&app, mia_id, "acme-shop", "r.builtin = 'member'");
    let ada = signed_in(&app, "ada@example.com").await;
    let mia = signed_in(&app, "mia@example.com").await;
    let by_bea = app
        .post_form_with(
            &signed_in(&app, "bea@example.com").await,
            &format!("{A}/settings/team/{ada_id}/account-admin"),
            &[("account_admin", "grant")],
        )
        .await;
    assert_eq!(
        by_bea.status(),
        StatusCode::FORBIDDEN,
        "an Admin cannot name account admins"
    );
    assert!(app
        .get_html(&format!("{A}/settings/team"))
        .await
        .contains(&format!("/settings/team/{ada_id}/account-admin")));

    let granted = app
        .post_form(
            &format!("{A}/settings/team/{ada_id}/account-admin"),
            &[("account_admin", "grant")],
        )
        .await;

    assert_eq!(location(&granted), format!("{A}/settings/team"));
    assert!(app
        .get_html(&format!("{A}/settings/team"))
        .await
        .contains("Account admin"));
    assert!(app
        .get_html_with(&ada, "/settings/workspaces")
        .await
        .contains("Create workspace"));
    let signed_out = app
        .post_form_with(&ada, &format!("{A}/settings/team/{mia_id}/sign-out"), &[])
        .await;
    assert_eq!(location(&signed_out), format!("{A}/settings/team"));
    assert_eq!(
        location(&app.get_with(&mia, &format!("{A}/customers")).await),
        "/login"
    );
    // An account admin does not act on the owner, or on another account admin.
    let owner_id = user_id(&app, OWNER_EMAIL);
    let on_owner = app
        .post_form_with(&ada, &format!("{A}/settings/team/{owner_id}/sign-out"), &[])
        .await;
    assert_eq!(on_owner.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        status(&app, &app.client, &format!("{A}/customers")).await,
        StatusCode::OK
    );
    let made = app
        .post_form_with(&ada, "/settings/workspaces", &[("name", "Ada Shop")])
        .await;
    assert_eq!(location(&made), "/w/ada-shop/settings/workspace");
    assert_eq!(
        text(
            &app,
            &format!(
                "SELECT r.builtin AS t FROM memberships m JOIN roles r ON r.id = m.role_id \
                 JOIN workspaces w ON w.id = m.workspace_id WHERE w.slug = 'ada-shop' AND m.user_id = {ada_id}"
            )
        ),
        "admin"
    );

    let revoked = app
        .post_form(
            &format!("{A}/settings/team/{ada_id}/account-admin"),
            &[("account_admin", "revoke")],
        )
        .await;
    assert_eq!(location(&revoked), format!("{A}/settings/team"));
    let refused = app
        .post_form_with(&ada, "/settings/workspaces", &[("name", "Another Ada Shop")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        number(&app, &format!("SELECT COUNT(*) AS n FROM audit_log WHERE action IN ('account_admin.granted', 'account_admin.revoked') AND target = 'user:{ada_id}' AND workspace_id IS NULL")),
        2,
        "granted and revoked, each with an account-level entry"
    );
}

async fn a_custom_role_is_listed_and_assigned_only_in_its_own_workspace(backend: Backend) {
    let app = two_workspaces(backend).await;
    let mia_id = add_person(&app, "mia@example.com", "Mia Member");
    join(&app, mia_id, "acme-shop", "r.builtin = 'member'");
    join(&app, mia_id, "second-shop", "r.builtin = 'member'");
    let created = app
        .post_form(
            &format!("{A}/settings/roles"),
            &[("name", "Support"), ("permission", "customers.view")],
        )
        .await;
    assert_eq!(location(&created), format!("{A}/settings/roles"));
    let support = number(&app, "SELECT id AS n FROM roles WHERE name = 'Support'");

    // B may have a role of the same name: it is another role.
    let same_name = app
        .post_form(
            &format!("{B}/settings/roles"),
            &[
                ("name", "Support"),
                ("permission", "customers.view_pii"),
                ("permission", "customers.view"),
            ],
        )
        .await;
    assert_eq!(location(&same_name), format!("{B}/settings/roles"));
    assert_eq!(
        number(&app, "SELECT COUNT(*) AS n FROM roles WHERE name = 'Support'"),
        2
    );

    let a_roles = app.get_html(&format!("{A}/settings/roles")).await;
    let b_team = app.get_html(&format!("{B}/settings/team")).await;
    assert!(a_roles.contains(&format!("/settings/roles/{support}")));
    assert!(
        !b_team.contains(&format!("value=\"{support}\"")),
        "A's role is no choice in B"
    );
    assert_eq!(
        app.get(&format!("{B}/settings/roles/{support}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let assigned = app
        .post_form(
            &format!("{B}/settings/team/{mia_id}/role"),
            &[("role", &support.to_string())],
        )
        .await;
    assert_eq!(location(&assigned), format!("{B}/settings/team"));
    assert_eq!(
        text(
            &app,
            &format!(
                "SELECT r.builtin AS t FROM memberships m JOIN roles r ON r.id = m.role_id \
                 JOIN workspaces w ON w.id = m.workspace_id WHERE w.slug = 'second-shop' AND m.user_id = {mia_id}"
            )
        ),
        "member",
        "Mia keeps her role in B"
    );
    let in_a = app
        .post_form(
            &format!("{A}/settings/team/{mia_id}/role"),
            &[("role", &support.to_string())],
        )
        .await;
    assert_eq!(location(&in_a), format!("{A}/settings/team"));
    assert_eq!(
        number(
            &app,
            &format!(
                "SELECT m.role_id AS n FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
                 WHERE w.slug = 'acme-shop' AND m.user_id = {mia_id}"
            )
        ),
        support
    );
    assert_eq!(
        number(
            &app,
            "SELECT workspace_id AS n FROM audit_log WHERE action = 'role.created' ORDER BY id LIMIT 1"
        ),
        number(&app, "SELECT id AS n FROM workspaces WHERE slug = 'acme-shop'"),
        "a role's entry names its workspace"
    );
}

async fn a_membership_holding_another_workspaces_role_grants_nothing(backend: Backend) {
    let app = two_workspaces(backend).await;
    let everything = ALL_PERMISSIONS.join(" ");
    let b_role = add_role(&app, "second-shop", "Everything", &everything);
    let eve_id = add_person(&app, "eve@example.com", "Eve Elsewhere");
    join(&app, eve_id, "second-shop", "r.builtin = 'member'");
    // A row no write makes: a membership of A holding B's role.
    join(&app, eve_id, "acme-shop", &format!("r.id = {b_role}"));

    let eve = signed_in(&app, "eve@example.com").await;

    for page in ["customers", "audit", "settings/team"] {
        assert_eq!(
            status(&app, &eve, &format!("{A}/{page}")).await,
            StatusCode::NOT_FOUND,
            "{page}"
        );
    }
    assert_eq!(
        status(&app, &eve, &format!("{B}/customers")).await,
        StatusCode::OK
    );
    let team = app.get_html(&format!("{A}/settings/team")).await;
    assert!(!team.contains("Eve Elsewhere"), "not listed as a member of A");
}
