use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Datelike, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::{CustomerSort, SortDirection};

/// Where a page starts: the sort key and id of the last customer shown (for the page
/// after it) or of the first (for the page before it), or the id alone when the sort
/// key is personal data.
///
/// A cursor belongs to one sort and one direction: its link says which, as `d` when
/// the direction is not the sort's usual one (so the links made before directions
/// existed read as they always did).
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

/// The direction a cursor was made for, beside its position in the same object.
#[derive(Deserialize)]
struct Direction {
    #[serde(default)]
    d: Option<SortDirection>,
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

    /// The cursor for a link of the list sorted by its sort in `direction`.
    pub fn encode(&self, direction: SortDirection) -> String {
        // Serializing a plain enum of strings, numbers and dates cannot fail, and makes
        // an object, which the direction joins as its last member.
        let mut json = serde_json::to_string(self).unwrap_or_default();
        if direction != self.sort().default_direction() && json.ends_with('}') {
            json.pop();
            json.push_str(&format!(r#","d":"{}"}}"#, direction.key()));
        }
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a cursor made for `sort` in `direction`.
    pub fn decode(raw: &str, sort: CustomerSort, direction: SortDirection) -> Result<Cursor, CursorError> {
        if raw.len() > MAX_ENCODED_LEN {
            return Err(CursorError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .map_err(|_| CursorError::Malformed)?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| CursorError::Malformed)?;
        let made_for = serde_json::from_slice::<Direction>(&bytes)
            .map_err(|_| CursorError::Malformed)?
            .d
            .unwrap_or(cursor.sort().default_direction());
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
        if cursor.sort() != sort || made_for != direction {
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
            for direction in SortDirection::ALL {
                let encoded = cursor.encode(direction);
                assert!(encoded
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
                assert_eq!(
                    Cursor::decode(&encoded, cursor.sort(), direction),
                    Ok(cursor.clone())
                );
            }
        }
    }

    #[test]
    fn tampered_cursors_are_refused() {
        let good = Cursor::LastSeen { at: moment(), id: 7 }.encode(SortDirection::Descending);
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
                Cursor::decode(bad, CustomerSort::LastSeen, SortDirection::Descending).is_err(),
                "{bad:?} was accepted"
            );
        }
        let negative = URL_SAFE_NO_PAD.encode(r#"{"s":"created","at":"2026-01-01T00:00:00","id":-1}"#);
        assert_eq!(
            Cursor::decode(&negative, CustomerSort::Created, SortDirection::Descending),
            Err(CursorError::Malformed)
        );
    }

    #[test]
    fn a_name_cursor_carries_no_name() {
        let encoded = Cursor::Name { id: 9 }.encode(SortDirection::Ascending);
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(&encoded).unwrap()).unwrap();
        assert_eq!(json, r#"{"s":"name","id":9}"#);
        let reversed = Cursor::Name { id: 9 }.encode(SortDirection::Descending);
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(&reversed).unwrap()).unwrap();
        assert_eq!(json, r#"{"s":"name","id":9,"d":"desc"}"#);
        let old_style = URL_SAFE_NO_PAD.encode(r#"{"s":"name","name":"Lovelace","id":9}"#);
        assert_eq!(
            Cursor::decode(&old_style, CustomerSort::Name, SortDirection::Ascending),
            Ok(Cursor::Name { id: 9 }),
            "a link made before keeps working, and its name is not used"
        );
    }

    #[test]
    fn a_cursor_of_another_sort_is_refused() {
        let cursor = Cursor::Created { at: moment(), id: 7 }.encode(SortDirection::Descending);
        assert_eq!(
            Cursor::decode(&cursor, CustomerSort::LastSeen, SortDirection::Descending),
            Err(CursorError::OtherSort)
        );
    }

    #[test]
    fn a_cursor_of_the_other_direction_is_refused() {
        let newest_first = Cursor::LastSeen { at: moment(), id: 7 }.encode(SortDirection::Descending);
        assert_eq!(
            Cursor::decode(&newest_first, CustomerSort::LastSeen, SortDirection::Ascending),
            Err(CursorError::OtherSort)
        );
        let oldest_first = Cursor::LastSeen { at: moment(), id: 7 }.encode(SortDirection::Ascending);
        assert_eq!(
            Cursor::decode(&oldest_first, CustomerSort::LastSeen, SortDirection::Descending),
            Err(CursorError::OtherSort)
        );
        let unknown = URL_SAFE_NO_PAD.encode(r#"{"s":"name","id":9,"d":"sideways"}"#);
        assert_eq!(
            Cursor::decode(&unknown, CustomerSort::Name, SortDirection::Ascending),
            Err(CursorError::Malformed)
        );
    }
}
