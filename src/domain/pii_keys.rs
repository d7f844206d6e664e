use std::fmt;

/// The attribute keys a workspace treats as personal data: erased on archive and
/// masked for viewers without `customers.view_pii`. Stored as a JSON array.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PiiKeys(Vec<String>);

pub const MAX_KEY_CHARS: usize = 64;
pub const MAX_KEYS: usize = 200;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PiiKeysError {
    #[error("\"{0}\" is not a valid key: use 1 to 64 letters, digits, dots, dashes or underscores")]
    BadKey(String),
    #[error("at most 200 keys")]
    TooMany,
    #[error("the stored keys are unreadable")]
    BadStored,
}

fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_CHARS
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

impl PiiKeys {
    /// Keys as typed: separated by commas or new lines, blanks ignored, duplicates kept once.
    pub fn parse(raw: &str) -> Result<PiiKeys, PiiKeysError> {
        let mut keys: Vec<String> = Vec::new();
        for key in raw
            .split([',', '\n', '\r'])
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            if !is_key(key) {
                // Shown back to the person who typed it, so cut it short.
                let shown: String = key.chars().take(MAX_KEY_CHARS + 1).collect();
                return Err(PiiKeysError::BadKey(shown));
            }
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_owned());
            }
        }
        if keys.len() > MAX_KEYS {
            return Err(PiiKeysError::TooMany);
        }
        Ok(PiiKeys(keys))
    }

    /// The value of `workspaces.pii_keys`.
    pub fn parse_stored(stored: &str) -> Result<PiiKeys, PiiKeysError> {
        let keys: Vec<String> = serde_json::from_str(stored).map_err(|_| PiiKeysError::BadStored)?;
        if keys.iter().all(|k| is_key(k)) {
            Ok(PiiKeys(keys))
        } else {
            Err(PiiKeysError::BadStored)
        }
    }

    pub fn to_stored(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".into())
    }

    pub fn keys(&self) -> &[String] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One key per line, as the settings form shows them.
impl fmt::Display for PiiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_and_lines_separate_keys_and_duplicates_collapse() {
        let keys = PiiKeys::parse(" birthday, loyalty.card_no\r\nbirthday\n\n ip-address ,").unwrap();
        assert_eq!(keys.keys(), ["birthday", "loyalty.card_no", "ip-address"]);
        assert_eq!(keys.to_stored(), r#"["birthday","loyalty.card_no","ip-address"]"#);
        assert_eq!(PiiKeys::parse_stored(&keys.to_stored()), Ok(keys));
        assert!(PiiKeys::parse("  \n , ").unwrap().is_empty());
    }

    #[test]
    fn keys_outside_the_alphabet_or_too_long_are_refused() {
        for bad in ["home address", "naïve", "a/b", "x$"] {
            assert!(
                matches!(PiiKeys::parse(bad), Err(PiiKeysError::BadKey(_))),
                "{bad}"
            );
        }
        assert!(PiiKeys::parse(&"k".repeat(64)).is_ok());
        assert!(PiiKeys::parse(&"k".repeat(65)).is_err());
        let many: Vec<String> = (0..201).map(|i| format!("k{i}")).collect();
        assert_eq!(PiiKeys::parse(&many.join(",")), Err(PiiKeysError::TooMany));
    }

    #[test]
    fn stored_values_must_be_arrays_of_keys() {
        assert!(PiiKeys::parse_stored("[]").unwrap().is_empty());
        assert_eq!(PiiKeys::parse_stored("{}"), Err(PiiKeysError::BadStored));
        assert_eq!(PiiKeys::parse_stored(r#"["a b"]"#), Err(PiiKeysError::BadStored));
    }
}
