//! What archiving removes from a profile and its events. Pure functions: values are
//! removed, never replaced by something derived from them (a hash of an email is
//! still personal data). What is personal is decided by the same rule that masks it
//! for viewers without `customers.view_pii` ([`crate::domain::PersonalData`]).

use serde_json::Value;

use crate::domain::{Identifying, PersonalData};

/// One person's identifying values to look for in free-form properties: their own
/// fields and whatever their attributes hold under personal keys.
pub fn identifying_values(rule: &PersonalData, fields: &[Option<&str>], attributes: &str) -> Identifying {
    rule.identifying_values(fields, attributes)
}

/// Removes personal keys, and any string that contains one of the person's identifying
/// values ("sent to Ada Lovelace" names Ada as much as "Ada Lovelace" does), at every
/// depth. Returns None when nothing changed.
pub fn scrub_json(text: &str, rule: &PersonalData, identifying: &Identifying) -> Option<String> {
    let mut value: Value = serde_json::from_str(text).ok()?;
    let changed = rule.remove(&mut value, identifying);
    changed.then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_keys_and_the_workspaces_keys_are_removed_in_any_case() {
        let rule = PersonalData::new(&["ssn_number"]);
        let out = scrub_json(
            r#"{"EMAIL":"a@b.co","plan":"pro","SSN_Number":"123","nested":{"Phone":"+1 555"}}"#,
            &rule,
            &Identifying::default(),
        )
        .unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v, serde_json::json!({"plan":"pro","nested":{}}));
    }

    #[test]
    fn values_equal_to_an_identifier_are_removed_wherever_they_are() {
        let rule = PersonalData::default();
        let out = scrub_json(
            r#"{"to":"Ada@Example.com","cc":["x","ada@example.com"],"amount":3}"#,
            &rule,
            &identifying_values(&rule, &[Some("ada@example.com"), None], "{}"),
        )
        .unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v, serde_json::json!({"cc":["x"],"amount":3}));
    }

    #[test]
    fn free_text_that_mentions_the_person_is_removed() {
        let rule = PersonalData::default();
        let out = scrub_json(
            r#"{"note":"Sent to Ada Lovelace today","n":1}"#,
            &rule,
            &identifying_values(&rule, &[Some("Ada Lovelace")], "{}"),
        )
        .unwrap();
        assert_eq!(out, r#"{"n":1}"#);
    }

    #[test]
    fn values_of_personal_attributes_are_looked_for_in_events() {
        let rule = PersonalData::default();
        let identifying = identifying_values(&rule, &[], r#"{"home":{"Street":"12 Rue Oberkampf"}}"#);
        let out = scrub_json(
            r#"{"note":"shipped to 12 rue oberkampf","n":1}"#,
            &rule,
            &identifying,
        )
        .unwrap();
        assert_eq!(out, r#"{"n":1}"#);
    }

    #[test]
    fn nothing_to_remove_is_reported_as_unchanged() {
        let rule = PersonalData::default();
        assert_eq!(
            scrub_json(r#"{"plan":"pro"}"#, &rule, &Identifying::default()),
            None
        );
        assert_eq!(scrub_json("not json", &rule, &Identifying::default()), None);
    }
}
