//! Arranging test data through the schema's types instead of SQL strings: a customer
//! with their events, a user with a role, a second workspace.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use erasure::db::schema::{customers, events, memberships, roles, users, workspaces};
use erasure::db::DbConnection;
use serde_json::Value;

use super::TestApp;

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("a test date")
}

/// A customer to insert, with the events that go with them.
#[derive(Debug, Clone)]
pub struct NewPerson {
    /// The internal id to insert with (a restored backup's row); the next one when None.
    pub id: Option<i64>,
    pub workspace_id: i64,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub attributes: Value,
    pub last_seen_at: NaiveDateTime,
    /// (name, properties) of each event.
    pub events: Vec<(String, Value)>,
}

impl NewPerson {
    /// Someone in the test workspace (id 1) with an external id and nothing else.
    pub fn new(external_id: &str) -> NewPerson {
        NewPerson {
            id: None,
            workspace_id: 1,
            external_id: Some(external_id.to_owned()),
            email: None,
            phone: None,
            name: None,
            country: None,
            city: None,
            attributes: serde_json::json!({}),
            last_seen_at: at("2026-11-01 00:00:00"),
            events: Vec::new(),
        }
    }

    pub fn with_id(mut self, id: i64) -> Self {
        self.id = Some(id);
        self
    }

    pub fn workspace(mut self, id: i64) -> Self {
        self.workspace_id = id;
        self
    }

    pub fn email(mut self, email: &str) -> Self {
        self.email = Some(email.to_owned());
        self
    }

    pub fn phone(mut self, phone: &str) -> Self {
        self.phone = Some(phone.to_owned());
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    pub fn country(mut self, country: &str) -> Self {
        self.country = Some(country.to_owned());
        self
    }

    pub fn city(mut self, city: &str) -> Self {
        self.city = Some(city.to_owned());
        self
    }

    pub fn attributes(mut self, attributes: Value) -> Self {
        self.attributes = attributes;
        self
    }

    pub fn event(mut self, name: &str, properties: Value) -> Self {
        self.events.push((name.to_owned(), properties));
        self
    }

    /// Inserts the customer and their events; returns the internal id.
    pub fn insert(&self, app: &TestApp) -> i64 {
        let mut pooled = app.db();
        let conn: &mut DbConnection = &mut pooled;
        let row = (
            customers::workspace_id.eq(self.workspace_id),
            customers::external_id.eq(self.external_id.as_deref()),
            customers::email.eq(self.email.as_deref()),
            customers::phone.eq(self.phone.as_deref()),
            customers::name.eq(self.name.as_deref()),
            customers::country.eq(self.country.as_deref()),
            customers::city.eq(self.city.as_deref()),
            customers::attributes.eq(self.attributes.to_string()),
            customers::created_at.eq(at("2026-01-01 00:00:00")),
            customers::last_seen_at.eq(self.last_seen_at),
        );
        let inserted = match self.id {
            Some(id) => diesel::insert_into(customers::table)
                .values((customers::id.eq(id), row))
                .execute(conn),
            None => diesel::insert_into(customers::table).values(row).execute(conn),
        };
        inserted.expect("a customer inserted");
        let id: i64 = match self.id {
            Some(id) => id,
            None => customers::table
                .filter(customers::workspace_id.eq(self.workspace_id))
                .order(customers::id.desc())
                .select(customers::id)
                .first(conn)
                .expect("the customer just inserted"),
        };
        for (n, (name, properties)) in self.events.iter().enumerate() {
            diesel::insert_into(events::table)
                .values((
                    events::workspace_id.eq(self.workspace_id),
                    events::customer_id.eq(id),
                    events::name.eq(name),
                    events::properties.eq(properties.to_string()),
                    events::occurred_at.eq(at("2026-10-01 00:00:00") + chrono::Duration::minutes(n as i64)),
                ))
                .execute(conn)
                .expect("an event inserted");
        }
        id
    }
}

/// Inserts `count` plain customers `{prefix}-{n}` in a workspace, each with one event.
pub fn insert_crowd(app: &TestApp, workspace_id: i64, count: usize, prefix: &str) {
    for n in 0..count {
        NewPerson::new(&format!("{prefix}-{n}"))
            .workspace(workspace_id)
            .email(&format!("{prefix}{n}@example.com"))
            .country("DE")
            .event("seen", serde_json::json!({}))
            .insert(app);
    }
}

/// A user who signs in with `password`, holding a built-in role (`owner`, `admin`,
/// `compliance`, `member`) in the test workspace; returns their id.
pub fn add_user_with_role(app: &TestApp, email: &str, password: &str, builtin: &str) -> i64 {
    let hash = erasure::password::hash(password).expect("a password hash");
    let mut pooled = app.db();
    let conn: &mut DbConnection = &mut pooled;
    diesel::insert_into(users::table)
        .values((
            users::email.eq(email),
            users::name.eq("Someone Else"),
            users::password_hash.eq(hash),
            users::is_owner.eq(false),
            users::recovery_codes.eq("[]"),
            users::disabled.eq(false),
            users::created_at.eq(at("2026-01-01 00:00:00")),
        ))
        .execute(conn)
        .expect("a user inserted");
    let user_id: i64 = users::table
        .filter(users::email.eq(email))
        .select(users::id)
        .first(conn)
        .expect("the user just inserted");
    let role_id: i64 = roles::table
        .filter(roles::builtin.eq(builtin))
        .select(roles::id)
        .first(conn)
        .expect("a built-in role");
    let workspace_id: i64 = workspaces::table
        .order(workspaces::id)
        .select(workspaces::id)
        .first(conn)
        .expect("the test workspace");
    diesel::insert_into(memberships::table)
        .values((
            memberships::user_id.eq(user_id),
            memberships::workspace_id.eq(workspace_id),
            memberships::role_id.eq(role_id),
            memberships::created_at.eq(at("2026-01-01 00:00:00")),
        ))
        .execute(conn)
        .expect("a membership inserted");
    user_id
}

/// A person who joined the test workspace through an invitation, holding a custom role
/// with exactly `permissions`, made through the console as the signed-in owner would.
/// Returns their signed-in client.
pub async fn member_with_permissions(
    app: &TestApp,
    email: &str,
    role_name: &str,
    permissions: &[&str],
) -> reqwest::Client {
    let ws = format!("/w/{}", super::WORKSPACE_SLUG);
    let mut form = vec![("name", role_name)];
    form.extend(permissions.iter().map(|p| ("permission", *p)));
    let created = app.post_form(&format!("{ws}/settings/roles"), &form).await;
    assert_eq!(
        created.status(),
        reqwest::StatusCode::SEE_OTHER,
        "the role is made"
    );
    let role_id: i64 = {
        let mut pooled = app.db();
        let conn: &mut DbConnection = &mut pooled;
        roles::table
            .filter(roles::name.eq(role_name))
            .select(roles::id)
            .first(conn)
            .expect("the role just made")
    };
    let role = role_id.to_string();
    let invited = app
        .post_form(
            &format!("{ws}/settings/team/invite"),
            &[("email", email), ("role", role.as_str())],
        )
        .await;
    assert_eq!(
        invited.status(),
        reqwest::StatusCode::SEE_OTHER,
        "the invitation is made"
    );
    let mail = app.mail.wait_for(|m| m.is_to(email)).await;
    let body = mail.body();
    let start = body.find("/invitations/").expect("a link in the mail") + "/invitations/".len();
    let token: String = body[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let client = super::new_client();
    let password = "a long enough password";
    // The invitation page sets the form token this client needs.
    app.get_with(&client, &format!("/invitations/{token}")).await;
    let accepted = app
        .post_form_with(
            &client,
            &format!("/invitations/{token}"),
            &[
                ("name", "Invited Person"),
                ("password", password),
                ("password_confirm", password),
            ],
        )
        .await;
    assert_eq!(
        accepted.status(),
        reqwest::StatusCode::SEE_OTHER,
        "the invitation is accepted"
    );
    client
}
