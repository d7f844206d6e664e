//! What archiving removes from a profile and its events. Pure functions: values are
//! removed, never replaced by something derived from them (a hash of an email is
//! still personal data).

use serde_json::{Map, Value};

/// Keys that are personal data in any workspace, whatever its settings say.
pub const ALWAYS_PERSONAL: [&str; 5] = ["email", "phone", "name", "first_name", "last_name"];

fn is_personal_key(key: &str, pii_keys: &[String]) -> bool {
    let lower = key.to_ascii_lowercase();
    ALWAYS_PERSONAL.contains(&lower.as_str()) || pii_keys.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// Removes personal keys, and any string that contains one of the person's identifying
/// values ("sent to Ada Lovelace" names Ada as much as "Ada Lovelace" does), at every
/// depth. Returns None when nothing changed.
pub fn scrub_json(text: &str, pii_keys: &[String], identifying_values: &[String]) -> Option<String> {
    let mut value: Value = serde_json::from_str(text).ok()?;
    let changed = scrub_value(&mut value, pii_keys, identifying_values);
    changed.then(|| value.to_string())
}

fn scrub_value(value: &mut Value, pii_keys: &[String], identifying: &[String]) -> bool {
    match value {
        Value::Object(map) => scrub_map(map, pii_keys, identifying),
        Value::Array(items) => {
            let before = items.len();
            items.retain(|item| !matches_identifying(item, identifying));
            let mut changed = items.len() != before;
            for item in items.iter_mut() {
                changed |= scrub_value(item, pii_keys, identifying);
            }
            changed
        }
        _ => false,
    }
}

fn scrub_map(map: &mut Map<String, Value>, pii_keys: &[String], identifying: &[String]) -> bool {
    let before = map.len();
    map.retain(|key, value| !is_personal_key(key, pii_keys) && !matches_identifying(value, identifying));
    let mut changed = map.len() != before;
    for value in map.values_mut() {
        changed |= scrub_value(value, pii_keys, identifying);
    }
    changed
}

fn matches_identifying(value: &Value, identifying: &[String]) -> bool {
    match value {
        Value::String(s) => {
            let s = s.to_lowercase();
            identifying.iter().any(|v| s.contains(&v.to_lowercase()))
        }
        _ => false,
    }
}

/// The identifying values of a person worth looking for in free-form properties.
pub fn identifying_values(values: &[Option<&str>]) -> Vec<String> {
    values
        .iter()
        .flatten()
        .map(|v| v.trim().to_owned())
        .filter(|v| v.len() >= 3)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn personal_keys_and_the_workspaces_keys_are_removed() {
        let out = scrub_json(
            r#"{"email":"a@b.co","plan":"pro","ssn":"123","nested":{"phone":"+1 555"}}"#,
            &keys(&["ssn"]),
            &[],
        )
        .unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v, serde_json::json!({"plan":"pro","nested":{}}));
    }

    #[test]
    fn values_equal_to_an_identifier_are_removed_wherever_they_are() {
        let out = scrub_json(
            r#"{"to":"Ada@Example.com","cc":["x","ada@example.com"],"amount":3}"#,
            &[],
            &identifying_values(&[Some("ada@example.com"), None]),
        )
        .unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v, serde_json::json!({"cc":["x"],"amount":3}));
    }

    #[test]
    fn free_text_that_mentions_the_person_is_removed() {
        let out = scrub_json(
            r#"{"note":"Sent to Ada Lovelace today","n":1}"#,
            &[],
            &identifying_values(&[Some("Ada Lovelace")]),
        )
        .unwrap();
        assert_eq!(out, r#"{"n":1}"#);
    }

    #[test]
    fn nothing_to_remove_is_reported_as_unchanged() {
        assert_eq!(scrub_json(r#"{"plan":"pro"}"#, &[], &[]), None);
        assert_eq!(scrub_json("not json", &[], &[]), None);
    }
}
