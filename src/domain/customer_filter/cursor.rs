use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Datelike, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::CustomerSort;

/// Where the next page starts: the sort key and id of the last customer shown, or the
/// id alone when the sort key is personal data.
///
/// It travels in links as base64url of a small JSON object. It is opaque to people but
/// not secret, and it is not signed: a changed cursor can at worst start a page
/// somewhere else in the same workspace's list, never reach past the filters or the
/// workspace, so anything that decodes is harmless and anything that does not is a
/// plain input error. Because it is not secret, it carries no personal value: a link
/// ends up in browser history, server logs and `Referer` headers, and a name cursor
/// used to spell out the last name of every page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "s", rename_all = "snake_case")]
pub enum Cursor {
    LastSeen {
        at: NaiveDateTime,
        id: i64,
    },
    Created {
        at: NaiveDateTime,
        id: i64,
    },
    /// Names sort A to Z with customers without a name after all others. Only the
    /// last customer's id: the store reads their name where the page starts.
    Name {
        id: i64,
    },
}

/// Longer than any cursor we make: a moment and an id in a small object.
const MAX_ENCODED_LEN: usize = 256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CursorError {
    #[error("this page link is damaged: start again from the first page")]
    Malformed,
    #[error("this page link belongs to another sort order: start again from the first page")]
    OtherSort,
}

impl Cursor {
    pub fn sort(&self) -> CustomerSort {
        match self {
            Cursor::LastSeen { .. } => CustomerSort::LastSeen,
            Cursor::Created { .. } => CustomerSort::Created,
            Cursor::Name { .. } => CustomerSort::Name,
        }
    }

    pub fn id(&self) -> i64 {
        match self {
            Cursor::LastSeen { id, .. } | Cursor::Created { id, .. } | Cursor::Name { id, .. } => *id,
        }
    }

    pub fn encode(&self) -> String {
        // Serializing a plain enum of strings, numbers and dates cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a cursor made for `sort`.
    pub fn decode(raw: &str, sort: CustomerSort) -> Result<Cursor, CursorError> {
        if raw.len() > MAX_ENCODED_LEN {
            return Err(CursorError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .map_err(|_| CursorError::Malformed)?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| CursorError::Malformed)?;
        if cursor.id() <= 0 {
            return Err(CursorError::Malformed);
        }
        // No stored value looks like this, and PostgreSQL would refuse it as a
        // parameter: a moment outside years 1 to 9999.
        let impossible = match &cursor {
            Cursor::Name { .. } => false,
            Cursor::LastSeen { at, .. } | Cursor::Created { at, .. } => !(1..=9999).contains(&at.year()),
        };
        if impossible {
            return Err(CursorError::Malformed);
        }
        if cursor.sort() != sort {
            return Err(CursorError::OtherSort);
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn moment() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 2, 3)
            .unwrap()
            .and_hms_micro_opt(4, 5, 6, 789_012)
            .unwrap()
    }

    #[test]
    fn cursors_round_trip_with_full_precision() {
        for cursor in [
            Cursor::LastSeen { at: moment(), id: 7 },
            Cursor::Created { at: moment(), id: 8 },
            Cursor::Name { id: 9 },
        ] {
            let encoded = cursor.encode();
            assert!(encoded
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
            assert_eq!(Cursor::decode(&encoded, cursor.sort()), Ok(cursor));
        }
    }

    #[test]
    fn tampered_cursors_are_refused() {
        let good = Cursor::LastSeen { at: moment(), id: 7 }.encode();
        let mut flipped = good.clone().into_bytes();
        flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        for bad in [
            "",
            "!!!",
            "eyJzIjoibGFzdF9zZWVuIn0",
            flipped.as_str(),
            &"A".repeat(5000),
        ] {
            assert!(
                Cursor::decode(bad, CustomerSort::LastSeen).is_err(),
                "{bad:?} was accepted"
            );
        }
        let negative = URL_SAFE_NO_PAD.encode(r#"{"s":"created","at":"2026-01-01T00:00:00","id":-1}"#);
        assert_eq!(
            Cursor::decode(&negative, CustomerSort::Created),
            Err(CursorError::Malformed)
        );
    }

    #[test]
    fn a_name_cursor_carries_no_name() {
        let encoded = Cursor::Name { id: 9 }.encode();
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(&encoded).unwrap()).unwrap();
        assert_eq!(json, r#"{"s":"name","id":9}"#);
        let old_style = URL_SAFE_NO_PAD.encode(r#"{"s":"name","name":"Lovelace","id":9}"#);
        assert_eq!(
            Cursor::decode(&old_style, CustomerSort::Name),
            Ok(Cursor::Name { id: 9 }),
            "a link made before keeps working, and its name is not used"
        );
    }

    #[test]
    fn a_cursor_of_another_sort_is_refused() {
        let cursor = Cursor::Created { at: moment(), id: 7 }.encode();
        assert_eq!(
            Cursor::decode(&cursor, CustomerSort::LastSeen),
            Err(CursorError::OtherSort)
        );
    }
}
