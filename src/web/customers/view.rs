//! What a viewer may see of a customer, decided once on the server.
//!
//! Without `customers.view_pii`, emails, phones, names, external ids and every
//! personal value of the attributes and events' properties (by the one rule of
//! [`PersonalData`]: personal keys at any depth, and any text quoting one of the
//! customer's identifying values) are masked here, before any template sees them, so
//! the raw values never reach the browser. An anonymous (archived) customer shows no
//! identifiers and no personal value to anyone.

use chrono::NaiveDateTime;

use crate::domain::masking::{mask_email, mask_name, mask_other, mask_phone};
use crate::domain::{
    CustomerFilter, CustomerStatus, Identifying, Permission, PersonalData, PiiKeys, TimeZone, Withheld,
};
use crate::store::customers::{Customer, TimelineEvent};
use crate::store::devices::Device;
use crate::web::extractors::WorkspaceAccess;

/// Who is looking, at what moment (for the active / inactive badge), and in which
/// time zone.
pub struct Viewer {
    sees_pii: bool,
    rule: PersonalData,
    now: NaiveDateTime,
    zone: TimeZone,
}

impl Viewer {
    pub fn new(access: &WorkspaceAccess) -> Viewer {
        // An unreadable list marks no attribute; email, phone and name are masked anyway.
        let pii_keys = PiiKeys::parse_stored(&access.workspace.pii_keys).unwrap_or_default();
        Viewer {
            sees_pii: access.can(Permission::CustomersViewPii),
            rule: PersonalData::new(pii_keys.keys()),
            now: crate::store::now(),
            zone: access.time_zone(),
        }
    }

    /// A moment as this viewer reads it.
    pub fn moment(&self, at: NaiveDateTime) -> Moment {
        Moment {
            shown: crate::format::minute(at, self.zone),
            iso: crate::format::iso(at),
        }
    }

    pub fn sees_pii(&self) -> bool {
        self.sees_pii
    }

    /// The filters this viewer may use, and what was left out of those asked for:
    /// without `customers.view_pii`, nothing that runs over personal data.
    pub fn allowed_filter(&self, filter: CustomerFilter) -> (CustomerFilter, Withheld) {
        if self.sees_pii {
            (filter, Withheld::default())
        } else {
            filter.without_personal_criteria(&self.rule)
        }
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

    /// External ids identify a person as much as their email does.
    fn external_id(&self, external_id: &str) -> String {
        if self.sees_pii {
            external_id.to_owned()
        } else {
            mask_other(external_id)
        }
    }

    /// Whether personal values of this customer are hidden from this viewer: always
    /// once anonymous, otherwise without `customers.view_pii`.
    fn hides_personal_values(&self, customer: &Customer) -> bool {
        !self.sees_pii || customer.is_anonymous()
    }

    /// What this viewer must not see quoted anywhere about this customer (their
    /// devices' tokens included); nothing for a viewer who sees everything.
    pub fn identifying(&self, customer: &Customer, devices: &[Device]) -> Identifying {
        if !self.hides_personal_values(customer) {
            return Identifying::default();
        }
        let mut fields = vec![
            customer.external_id.as_deref(),
            customer.email.as_deref(),
            customer.phone.as_deref(),
            customer.name.as_deref(),
        ];
        fields.extend(devices.iter().map(|d| Some(d.token.as_str())));
        self.rule.identifying_values(&fields, &customer.attributes)
    }

    /// A device token: personal data, masked like an external id.
    fn device_token(&self, token: &str, customer: &Customer) -> String {
        if self.hides_personal_values(customer) {
            mask_other(token)
        } else {
            token.to_owned()
        }
    }

    /// Free text about a customer (an event's name, a hold's reason), masked when it
    /// quotes one of their identifying values.
    fn text(&self, text: &str, identifying: &Identifying) -> String {
        if identifying.contained_in(text) {
            mask_other(text)
        } else {
            text.to_owned()
        }
    }

    /// A JSON object's entries as (key, shown value), every personal value masked when
    /// `hide`.
    fn properties(&self, json: &str, hide: bool, identifying: &Identifying) -> Vec<Property> {
        if !hide {
            return json_entries(json);
        }
        let masked = match serde_json::from_str::<serde_json::Value>(json) {
            Ok(mut tree) => {
                self.rule.mask(&mut tree, identifying, &mask_other(""));
                tree.to_string()
            }
            // Not JSON: shown whole under "value", so masked whole if it quotes anyone.
            Err(_) => self.text(json, identifying),
        };
        // Keys at any depth may quote someone too (`{"ada@example.com": 1}`).
        json_entries(&masked)
            .into_iter()
            .map(|p| Property {
                key: self.text(&p.key, identifying),
                value: p.value,
                tree: p
                    .tree
                    .into_iter()
                    .map(|row| TreeRow {
                        key: self.text(&row.key, identifying),
                        ..row
                    })
                    .collect(),
            })
            .collect()
    }
}

/// One top-level entry of a JSON object: a scalar shown as `value`, or an object or
/// array shown as the nested `tree` of its contents (`value` then holds its JSON).
#[derive(Debug, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
    pub tree: Vec<TreeRow>,
}

impl Property {
    fn whole(value: String) -> Property {
        Property {
            key: "value".to_owned(),
            value,
            tree: Vec::new(),
        }
    }
}

/// One line of a nested value, in document order, for a template to render as nested
/// lists without recursion: a row with a `value` is a leaf; a row without one opens a
/// list of the rows that follow, and `closes` says how many open lists end after this
/// row. Everything in it is plain text, escaped by the template like any other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRow {
    /// The key within its object; empty for an array's item.
    pub key: String,
    pub value: Option<String>,
    /// For an opening row: `{…}` or `[n]`.
    pub summary: String,
    pub closes: Vec<()>,
}

/// The rows of an object's or array's contents (see [`TreeRow`]).
fn tree_rows(value: &serde_json::Value) -> Vec<TreeRow> {
    let mut rows = Vec::new();
    push_children(value, &mut rows);
    rows
}

fn push_children(value: &serde_json::Value, rows: &mut Vec<TreeRow>) {
    use serde_json::Value;
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(items) => items.iter().map(|v| (String::new(), v)).collect(),
        _ => return,
    };
    for (key, child) in children {
        let nonempty = match child {
            Value::Object(map) => !map.is_empty(),
            Value::Array(items) => !items.is_empty(),
            _ => false,
        };
        if nonempty {
            let summary = match child {
                Value::Array(items) => format!("[{}]", items.len()),
                _ => "{…}".to_owned(),
            };
            rows.push(TreeRow {
                key,
                value: None,
                summary,
                closes: Vec::new(),
            });
            push_children(child, rows);
            // The child had contents, so its last row closes its list.
            if let Some(last) = rows.last_mut() {
                last.closes.push(());
            }
        } else {
            rows.push(TreeRow {
                key,
                value: Some(scalar_text(child)),
                summary: String::new(),
                closes: Vec::new(),
            });
        }
    }
}

/// A scalar as shown: strings without their quotes, the rest as JSON.
fn scalar_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
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

/// A moment as shown (minutes, in the viewer's zone, named) and as machine-readable
/// `datetime` (UTC).
pub struct Moment {
    pub shown: String,
    pub iso: String,
}

/// One row of the customers table.
pub struct CustomerRow {
    pub id: i64,
    pub label: String,
    pub email: String,
    pub location: String,
    pub last_seen: Moment,
    pub created: Moment,
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
            last_seen: viewer.moment(customer.last_seen_at),
            created: viewer.moment(customer.created_at),
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
    if let Some(external_id) = customer.external_id.as_deref().filter(|_| viewer.sees_pii) {
        return external_id.to_owned();
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
    pub devices: Vec<DeviceView>,
    pub legal_hold: Option<LegalHold>,
}

/// One of the customer's devices; its token masked unless the viewer sees personal data.
pub struct DeviceView {
    pub token: String,
    pub platform: String,
    pub last_used: Moment,
    pub attributes: Vec<Property>,
}

pub struct LegalHold {
    pub reason: String,
    pub since: Moment,
}

impl Profile {
    pub fn new(customer: &Customer, devices: &[Device], viewer: &Viewer) -> Profile {
        let anonymous = customer.is_anonymous();
        // Once anonymous, identifiers are not shown even if some survived erasure.
        let identifier = |value: &Option<String>, show: &dyn Fn(&str) -> String| {
            value.as_deref().filter(|_| !anonymous).map(show)
        };
        let identifying = viewer.identifying(customer, devices);
        let hide = viewer.hides_personal_values(customer);
        let attributes = viewer.properties(&customer.attributes, hide, &identifying);
        let devices = devices
            .iter()
            .map(|device| DeviceView {
                token: viewer.device_token(&device.token, customer),
                platform: device.platform.label().to_owned(),
                last_used: viewer.moment(device.last_used),
                attributes: viewer.properties(&device.attributes, hide, &identifying),
            })
            .collect();
        Profile {
            id: customer.id,
            heading: label(customer, viewer),
            status: customer.status(viewer.now).into(),
            anonymous,
            masked: !viewer.sees_pii && !anonymous,
            archived_at: customer.archived_at.map(|at| viewer.moment(at)),
            external_id: identifier(&customer.external_id, &|v| viewer.external_id(v)),
            email: identifier(&customer.email, &|v| viewer.email(v)),
            phone: identifier(&customer.phone, &|v| viewer.phone(v)),
            name: identifier(&customer.name, &|v| viewer.name(v)),
            location: location(customer),
            created: viewer.moment(customer.created_at),
            last_seen: viewer.moment(customer.last_seen_at),
            attributes,
            devices,
            legal_hold: customer.legal_hold_at.map(|at| LegalHold {
                reason: viewer.text(
                    customer.legal_hold_reason.as_deref().unwrap_or_default(),
                    &identifying,
                ),
                since: viewer.moment(at),
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
    /// One event of `customer`, whose identifying values are `identifying`
    /// ([`Viewer::identifying`]).
    pub fn new(
        event: &TimelineEvent,
        customer: &Customer,
        viewer: &Viewer,
        identifying: &Identifying,
    ) -> EventView {
        let hide = viewer.hides_personal_values(customer);
        EventView {
            name: viewer.text(&event.name, identifying),
            at: viewer.moment(event.occurred_at),
            properties: viewer.properties(&event.properties, hide, identifying),
        }
    }
}

/// A JSON object's entries by key, strings without their quotes and other
/// values as JSON. Anything that is not an object is shown whole under "value", so a
/// malformed row is visible rather than hidden.
fn json_entries(json: &str) -> Vec<Property> {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .map(|(key, value)| Property {
                key,
                tree: tree_rows(&value),
                value: scalar_text(&value),
            })
            .collect(),
        Ok(serde_json::Value::Null) => Vec::new(),
        Ok(other) => vec![Property::whole(other.to_string())],
        Err(_) if json.trim().is_empty() => Vec::new(),
        Err(_) => vec![Property::whole(json.to_owned())],
    }
}

/// `12408` → `12,408`.
pub use crate::format::thousands;

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(key: &str, value: &str, closes: usize) -> TreeRow {
        TreeRow {
            key: key.to_owned(),
            value: Some(value.to_owned()),
            summary: String::new(),
            closes: vec![(); closes],
        }
    }

    fn open(key: &str, summary: &str) -> TreeRow {
        TreeRow {
            key: key.to_owned(),
            value: None,
            summary: summary.to_owned(),
            closes: Vec::new(),
        }
    }

    #[test]
    fn nested_values_become_rows_that_open_and_close_lists() {
        let tree = tree_rows(&serde_json::json!({
            "a": {"b": [1, {"c": "x"}]},
            "d": {},
            "e": null
        }));
        assert_eq!(
            tree,
            [
                open("a", "{…}"),
                open("b", "[2]"),
                leaf("", "1", 0),
                open("", "{…}"),
                // Closes the innermost object, the array and "a".
                leaf("c", "x", 3),
                leaf("d", "{}", 0),
                leaf("e", "null", 0),
            ]
        );
        let opened = tree.iter().filter(|r| r.value.is_none()).count();
        let closed: usize = tree.iter().map(|r| r.closes.len()).sum();
        assert_eq!(opened, closed);
        assert!(tree_rows(&serde_json::json!("scalar")).is_empty());
    }

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
        let entry = |key: &str, value: &str| Property {
            key: key.to_owned(),
            value: value.to_owned(),
            tree: Vec::new(),
        };
        let entries = json_entries(r#"{"plan":"pro","seats":3,"tags":["a"]}"#);
        assert_eq!(entries[..2], [entry("plan", "pro"), entry("seats", "3")]);
        assert_eq!(entries[2].key, "tags");
        assert_eq!(entries[2].tree, [leaf("", "a", 0)]);
        assert!(json_entries("{}").is_empty());
        assert_eq!(json_entries("oops"), [entry("value", "oops")]);
    }
}
