//! What counts as personal data in a customer's attributes and events' properties: the
//! one rule that archiving removes by and masking hides by, so the two cannot drift.
//!
//! A value is personal when
//! - its key is personal: one of [`ALWAYS_PERSONAL`] or ends with one of
//!   [`PERSONAL_SUFFIXES`] (`work_email`, `shippingAddress`), or is one of the
//!   workspace's personal-data keys; keys compare case-insensitively and ignoring `_`,
//!   `-`, `.` and spaces (`First_Name`, `firstName` and `first-name` are one key), at
//!   any depth of nested objects and arrays, and everything under a personal key is
//!   personal;
//! - or it is a string that contains one of the person's identifying values (their
//!   email, phone, name, external id, or a value held under a personal key), in any
//!   case: "sent to ada@example.com" names Ada as much as her email does.

use serde_json::{Map, Value};

/// Keys that are personal data in any workspace, whatever its settings say, written
/// in their compared form (lower case, no separators).
pub const ALWAYS_PERSONAL: &[&str] = &[
    // Email
    "email",
    "emailaddress",
    // Phone
    "phone",
    "phonenumber",
    "mobile",
    "mobilenumber",
    "mobilephone",
    "cell",
    "cellphone",
    "telephone",
    "tel",
    "fax",
    // Name
    "name",
    "firstname",
    "lastname",
    "fullname",
    "middlename",
    "givenname",
    "familyname",
    "surname",
    "maidenname",
    "nickname",
    "username",
    // External id
    "externalid",
    // Address
    "address",
    "street",
    "streetaddress",
    "address1",
    "address2",
    "addressline1",
    "addressline2",
    "postcode",
    "postalcode",
    "zip",
    "zipcode",
    // Birth
    "birthdate",
    "birthday",
    "dateofbirth",
    "dob",
    // Government and network identifiers
    "ssn",
    "socialsecuritynumber",
    "nationalid",
    "passport",
    "passportnumber",
    "taxid",
    "ip",
    "ipaddress",
];

/// Endings that make a key personal whatever comes before (`billing_address`,
/// `work_email`, `home_phone`, `customer_first_name`). `name` is not one of them:
/// `product_name` and `campaign_name` are not about a person.
pub const PERSONAL_SUFFIXES: &[&str] = &[
    "email",
    "emailaddress",
    "phone",
    "phonenumber",
    "address",
    "firstname",
    "lastname",
    "fullname",
    "postcode",
    "postalcode",
    "zipcode",
    "birthdate",
    "dateofbirth",
];

/// Identifying values shorter than this are not looked for in free text: "Al" or "42"
/// would match nearly everything.
const MIN_IDENTIFYING_CHARS: usize = 3;

/// A key in the form keys are compared in: lower case, without `_ - .` or spaces.
fn compared(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The personal-data rule of one workspace.
#[derive(Debug, Clone, Default)]
pub struct PersonalData {
    /// The workspace's own personal keys, in compared form.
    workspace_keys: Vec<String>,
}

impl PersonalData {
    /// The rule with the workspace's configured personal-data keys.
    pub fn new<S: AsRef<str>>(workspace_keys: &[S]) -> PersonalData {
        PersonalData {
            workspace_keys: workspace_keys
                .iter()
                .map(|k| compared(k.as_ref()))
                .filter(|k| !k.is_empty())
                .collect(),
        }
    }

    /// Whether a value under `key` is personal, wherever the key is.
    pub fn is_personal_key(&self, key: &str) -> bool {
        let key = compared(key);
        ALWAYS_PERSONAL.contains(&key.as_str())
            || PERSONAL_SUFFIXES.iter().any(|s| key.ends_with(s))
            || self.workspace_keys.contains(&key)
    }

    /// One person's identifying values, to look for in free text: their own fields
    /// (email, phone, name, external id) and every string held under a personal key of
    /// their attributes (JSON text), at any depth.
    pub fn identifying_values(&self, fields: &[Option<&str>], attributes: &str) -> Identifying {
        let mut values: Vec<String> = fields.iter().flatten().map(|v| (*v).to_owned()).collect();
        if let Ok(tree) = serde_json::from_str::<Value>(attributes) {
            self.collect_personal_strings(&tree, false, &mut values);
        }
        Identifying::new(values)
    }

    fn collect_personal_strings(&self, value: &Value, personal: bool, out: &mut Vec<String>) {
        match value {
            Value::String(s) if personal => out.push(s.clone()),
            Value::Array(items) => items
                .iter()
                .for_each(|item| self.collect_personal_strings(item, personal, out)),
            Value::Object(map) => map.iter().for_each(|(key, item)| {
                self.collect_personal_strings(item, personal || self.is_personal_key(key), out)
            }),
            _ => {}
        }
    }

    /// Removes every personal value from a JSON tree: entries under personal keys, and
    /// strings (object entries or array items) that contain an identifying value.
    /// Returns whether anything was removed.
    pub fn remove(&self, value: &mut Value, identifying: &Identifying) -> bool {
        match value {
            Value::Object(map) => self.remove_from_map(map, identifying),
            Value::Array(items) => {
                let before = items.len();
                items.retain(|item| !identifying.is_in(item));
                let mut changed = items.len() != before;
                for item in items.iter_mut() {
                    changed |= self.remove(item, identifying);
                }
                changed
            }
            _ => false,
        }
    }

    fn remove_from_map(&self, map: &mut Map<String, Value>, identifying: &Identifying) -> bool {
        let before = map.len();
        map.retain(|key, value| !self.is_personal_key(key) && !identifying.is_in(value));
        let mut changed = map.len() != before;
        for value in map.values_mut() {
            changed |= self.remove(value, identifying);
        }
        changed
    }

    /// Replaces every personal value of a JSON tree by `mask`, keeping its shape (the
    /// keys stay, so a viewer sees that there is a value without seeing it). Returns
    /// whether anything was masked.
    pub fn mask(&self, value: &mut Value, identifying: &Identifying, mask: &str) -> bool {
        match value {
            Value::String(_) if identifying.is_in(value) => {
                *value = Value::String(mask.to_owned());
                true
            }
            Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
                self.mask(item, identifying, mask) | changed
            }),
            Value::Object(map) => map.iter_mut().fold(false, |changed, (key, item)| {
                let masked = if self.is_personal_key(key) {
                    *item = Value::String(mask.to_owned());
                    true
                } else {
                    self.mask(item, identifying, mask)
                };
                masked | changed
            }),
            _ => false,
        }
    }
}

/// A person's identifying values, trimmed, lower-cased, long enough to look for.
#[derive(Debug, Clone, Default)]
pub struct Identifying(Vec<String>);

impl Identifying {
    pub fn new(values: Vec<String>) -> Identifying {
        let mut values: Vec<String> = values
            .into_iter()
            .map(|v| v.trim().to_lowercase())
            .filter(|v| v.chars().count() >= MIN_IDENTIFYING_CHARS)
            .collect();
        values.sort_unstable();
        values.dedup();
        Identifying(values)
    }

    /// Whether `text` contains one of the values, in any case.
    pub fn contained_in(&self, text: &str) -> bool {
        if self.0.is_empty() {
            return false;
        }
        let text = text.to_lowercase();
        self.0.iter().any(|v| text.contains(v.as_str()))
    }

    fn is_in(&self, value: &Value) -> bool {
        matches!(value, Value::String(s) if self.contained_in(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(keys: &[&str]) -> PersonalData {
        PersonalData::new(keys)
    }

    #[test]
    fn keys_are_personal_in_any_case_and_spelling() {
        let rule = rule(&["loyalty.card_no"]);
        for key in [
            "email",
            "EMAIL",
            "First_Name",
            "firstName",
            "last-name",
            "Phone",
            "date_of_birth",
            "ip_address",
            "IP",
            "zip",
            "work_email",
            "shippingAddress",
            "Loyalty.Card_No",
            "loyalty_card_no",
        ] {
            assert!(rule.is_personal_key(key), "{key} is not personal");
        }
        for key in [
            "plan",
            "product_name",
            "amount",
            "emails_sent_count",
            "zipped",
            "ipo",
        ] {
            assert!(!rule.is_personal_key(key), "{key} is personal");
        }
    }

    #[test]
    fn masking_reaches_every_depth_and_keeps_the_shape() {
        let rule = rule(&["loyalty"]);
        let mut tree = json!({
            "EMAIL": "ada@example.com",
            "plan": "pro",
            "shipping": {"address": {"line": "1 Main St", "city": "Leeds"}, "method": "post"},
            "contacts": [{"First_Name": "Grace", "role": "friend"}, "ok"],
            "Loyalty": 42
        });
        assert!(rule.mask(&mut tree, &Identifying::default(), "•"));
        assert_eq!(
            tree,
            json!({
                "EMAIL": "•",
                "plan": "pro",
                "shipping": {"address": "•", "method": "post"},
                "contacts": [{"First_Name": "•", "role": "friend"}, "ok"],
                "Loyalty": "•"
            })
        );
    }

    #[test]
    fn strings_that_quote_an_identifying_value_are_masked_under_any_key() {
        let rule = rule(&[]);
        let identifying = rule.identifying_values(
            &[Some("ada@example.com"), Some("Ada Lovelace"), None, Some("x")],
            r#"{"nick":{"Username":"countess_ada"}}"#,
        );
        let mut tree = json!({
            "note": "Sent to ADA@example.com today",
            "tags": ["vip", "ada lovelace"],
            "deep": [{"text": "hi countess_ada"}],
            "count": 3,
            "short": "x marks"
        });
        assert!(rule.mask(&mut tree, &identifying, "•"));
        assert_eq!(
            tree,
            json!({"note": "•", "tags": ["vip", "•"], "deep": [{"text": "•"}], "count": 3, "short": "x marks"})
        );
        let mut clean = json!({"plan": "pro"});
        assert!(!rule.mask(&mut clean, &identifying, "•"));
    }

    #[test]
    fn removing_drops_what_masking_would_hide() {
        let rule = rule(&["ssn"]);
        let identifying = Identifying::new(vec!["ada@example.com".into()]);
        let mut tree = json!({
            "Email": "a@b.co",
            "plan": "pro",
            "SSN": "123",
            "nested": {"phone": "+1 555", "to": ["x", "Ada@Example.com"]},
            "note": "for ada@example.com"
        });
        assert!(rule.remove(&mut tree, &identifying));
        assert_eq!(tree, json!({"plan": "pro", "nested": {"to": ["x"]}}));
        assert!(!rule.remove(&mut tree, &identifying));
    }
}
