//! What a viewer may see of a customer, decided once on the server.
//!
//! Without `customers.view_pii`, emails, phones, names and the workspace's personal
//! attribute keys are masked here, before any template sees them, so the raw values
//! never reach the browser. An anonymous (archived) customer shows no identifiers to
//! anyone.

use std::collections::HashSet;

use chrono::NaiveDateTime;

use crate::domain::masking::{mask_email, mask_name, mask_other, mask_phone};
use crate::domain::{CustomerStatus, Permission, PiiKeys};
use crate::store::customers::{Customer, TimelineEvent};
use crate::web::extractors::WorkspaceAccess;

/// Who is looking, and at what moment (for the active / inactive badge).
pub struct Viewer {
    sees_pii: bool,
    pii_keys: HashSet<String>,
    now: NaiveDateTime,
}

impl Viewer {
    pub fn new(access: &WorkspaceAccess) -> Viewer {
        // An unreadable list marks no attribute; email, phone and name are masked anyway.
        let pii_keys = PiiKeys::parse_stored(&access.workspace.pii_keys).unwrap_or_default();
        Viewer {
            sees_pii: access.can(Permission::CustomersViewPii),
            pii_keys: pii_keys.keys().iter().cloned().collect(),
            now: crate::store::now(),
        }
    }

    pub fn sees_pii(&self) -> bool {
        self.sees_pii
    }

    fn email(&self, email: &str) -> String {
        if self.sees_pii {
            email.to_owned()
        } else {
            mask_email(email)
        }
    }

    fn phone(&self, phone: &str) -> String {
        if self.sees_pii {
            phone.to_owned()
        } else {
            mask_phone(phone)
        }
    }

    fn name(&self, name: &str) -> String {
        if self.sees_pii {
            name.to_owned()
        } else {
            mask_name(name)
        }
    }

    /// External ids are the integration's own keys and shown as they are, except when
    /// the workspace identifies customers by email and the id is one.
    fn external_id(&self, external_id: &str) -> String {
        if !self.sees_pii && external_id.contains('@') {
            mask_email(external_id)
        } else {
            external_id.to_owned()
        }
    }

    /// A JSON object's entries as (key, shown value), personal keys masked.
    fn properties(&self, json: &str) -> Vec<Property> {
        json_entries(json)
            .into_iter()
            .map(|(key, value)| {
                let value = if !self.sees_pii && self.pii_keys.contains(&key) {
                    mask_other(&value)
                } else {
                    value
                };
                Property { key, value }
            })
            .collect()
    }
}

pub struct Property {
    pub key: String,
    pub value: String,
}

pub struct Status {
    pub label: &'static str,
    pub class: &'static str,
}

impl From<CustomerStatus> for Status {
    fn from(status: CustomerStatus) -> Status {
        Status {
            label: status.label(),
            class: match status {
                CustomerStatus::Active => "badge badge-active",
                CustomerStatus::Inactive => "badge badge-inactive",
                CustomerStatus::Anonymous => "badge badge-anonymous",
            },
        }
    }
}

/// A moment as shown (minutes, UTC) and as machine-readable `datetime`.
pub struct Moment {
    pub shown: String,
    pub iso: String,
}

impl From<NaiveDateTime> for Moment {
    fn from(at: NaiveDateTime) -> Moment {
        Moment {
            shown: at.format("%Y-%m-%d %H:%M UTC").to_string(),
            iso: at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }
}

/// One row of the customers table.
pub struct CustomerRow {
    pub id: i64,
    pub label: String,
    pub email: String,
    pub location: String,
    pub last_seen: Moment,
    pub status: Status,
}

impl CustomerRow {
    pub fn new(customer: &Customer, viewer: &Viewer) -> CustomerRow {
        let anonymous = customer.is_anonymous();
        let email = match (&customer.email, anonymous) {
            (Some(email), false) => viewer.email(email),
            _ => "—".to_owned(),
        };
        CustomerRow {
            id: customer.id,
            label: label(customer, viewer),
            email,
            location: location(customer).unwrap_or_else(|| "—".to_owned()),
            last_seen: customer.last_seen_at.into(),
            status: customer.status(viewer.now).into(),
        }
    }
}

/// How a customer is named in headings and links: the name, else the external id,
/// else the internal id; never an identifier once anonymous.
fn label(customer: &Customer, viewer: &Viewer) -> String {
    if customer.is_anonymous() {
        return format!("Anonymous customer #{}", customer.id);
    }
    if let Some(name) = customer.name.as_deref().filter(|n| !n.trim().is_empty()) {
        return viewer.name(name);
    }
    if let Some(external_id) = &customer.external_id {
        return viewer.external_id(external_id);
    }
    format!("Customer #{}", customer.id)
}

fn location(customer: &Customer) -> Option<String> {
    match (&customer.city, &customer.country) {
        (Some(city), Some(country)) => Some(format!("{city}, {country}")),
        (Some(place), None) | (None, Some(place)) => Some(place.clone()),
        (None, None) => None,
    }
}

/// Everything the profile shows about one customer.
pub struct Profile {
    pub id: i64,
    pub heading: String,
    pub status: Status,
    pub anonymous: bool,
    pub masked: bool,
    pub archived_at: Option<Moment>,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub location: Option<String>,
    pub created: Moment,
    pub last_seen: Moment,
    pub attributes: Vec<Property>,
    pub legal_hold: Option<LegalHold>,
}

pub struct LegalHold {
    pub reason: String,
    pub since: Moment,
}

impl Profile {
    pub fn new(customer: &Customer, viewer: &Viewer) -> Profile {
        let anonymous = customer.is_anonymous();
        // Once anonymous, identifiers are not shown even if some survived erasure.
        let identifier = |value: &Option<String>, show: &dyn Fn(&str) -> String| {
            value.as_deref().filter(|_| !anonymous).map(show)
        };
        let mut attributes = viewer.properties(&customer.attributes);
        if anonymous {
            attributes.retain(|p| !viewer.pii_keys.contains(&p.key));
        }
        Profile {
            id: customer.id,
            heading: label(customer, viewer),
            status: customer.status(viewer.now).into(),
            anonymous,
            masked: !viewer.sees_pii && !anonymous,
            archived_at: customer.archived_at.map(Moment::from),
            external_id: identifier(&customer.external_id, &|v| viewer.external_id(v)),
            email: identifier(&customer.email, &|v| viewer.email(v)),
            phone: identifier(&customer.phone, &|v| viewer.phone(v)),
            name: identifier(&customer.name, &|v| viewer.name(v)),
            location: location(customer),
            created: customer.created_at.into(),
            last_seen: customer.last_seen_at.into(),
            attributes,
            legal_hold: customer.legal_hold_at.map(|at| LegalHold {
                reason: customer.legal_hold_reason.clone().unwrap_or_default(),
                since: at.into(),
            }),
        }
    }
}

/// One entry of the activity timeline.
pub struct EventView {
    pub name: String,
    pub at: Moment,
    pub properties: Vec<Property>,
}

impl EventView {
    pub fn new(event: &TimelineEvent, viewer: &Viewer) -> EventView {
        EventView {
            name: event.name.clone(),
            at: event.occurred_at.into(),
            properties: viewer.properties(&event.properties),
        }
    }
}

/// A JSON object's entries by key, strings without their quotes and other
/// values as JSON. Anything that is not an object is shown whole under "value", so a
/// malformed row is visible rather than hidden.
fn json_entries(json: &str) -> Vec<(String, String)> {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .map(|(key, value)| {
                let shown = match value {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (key, shown)
            })
            .collect(),
        Ok(serde_json::Value::Null) => Vec::new(),
        Ok(other) => vec![("value".to_owned(), other.to_string())],
        Err(_) if json.trim().is_empty() => Vec::new(),
        Err(_) => vec![("value".to_owned(), json.to_owned())],
    }
}

/// `12408` → `12,408`.
pub use crate::format::thousands;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(12408), "12,408");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(-1234), "-1,234");
    }

    #[test]
    fn json_objects_become_entries() {
        assert_eq!(
            json_entries(r#"{"plan":"pro","seats":3,"tags":["a"]}"#),
            [
                ("plan".to_owned(), "pro".to_owned()),
                ("seats".to_owned(), "3".to_owned()),
                ("tags".to_owned(), r#"["a"]"#.to_owned()),
            ]
        );
        assert!(json_entries("{}").is_empty());
        assert_eq!(json_entries("oops"), [("value".to_owned(), "oops".to_owned())]);
    }
}
