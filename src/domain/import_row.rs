//! One customer of a CSV import: the cells of its row, and what they say once parsed
//! (an identifier and a patch, exactly what the Track API's identify takes).
//!
//! The cells are what is stored between the preflight and the job, and they are parsed
//! again when the job runs: the workspace's identifier mode may have changed meanwhile,
//! and nothing stored is trusted to still be valid.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    Change, CustomerPatch, Email, EmailError, Identifier, IdentifierError, IdentifierMode, PatchError,
};

/// A row's non-empty cells: the identifying id apart, everything else by column name
/// (`email`, `name`, … or an attribute's name). An empty cell is absent: it leaves the
/// customer's current value as it is, where the API would clear it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowCells {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub fields: Map<String, Value>,
}

/// Why a row is not imported. The reasons name columns, never values: they are kept
/// in the job's report, and a rejected row may be someone who asked to be forgotten.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("missing identifier: customers in this workspace are identified by id, and the row has none")]
    MissingId,
    #[error("missing identifier: the row has neither an id nor an email address")]
    MissingIdentifier,
    #[error("invalid id: {0}")]
    Identifier(IdentifierError),
    #[error("invalid email address: {0}")]
    Email(EmailError),
    #[error("{0}")]
    Patch(PatchError),
    #[error("the row has {found} cells, the header row {expected}")]
    CellCount { found: usize, expected: usize },
    #[error("duplicate in file: the same customer as line {0}")]
    Duplicate(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    /// Where the row starts in the file (1 is the header row).
    pub line: u64,
    pub identifier: Identifier,
    pub patch: CustomerPatch,
    pub cells: RowCells,
}

impl ImportRow {
    pub fn parse(
        line: u64,
        cells: RowCells,
        mode: IdentifierMode,
        now: NaiveDateTime,
    ) -> Result<ImportRow, RowError> {
        let email_cell = cells.fields.get("email").and_then(Value::as_str);
        let identifier = match (&cells.id, email_cell) {
            (Some(id), _) => Identifier::parse(id, mode).map_err(RowError::Identifier)?,
            (None, Some(email)) if mode == IdentifierMode::IdOrEmail => {
                Identifier::Email(Email::parse(email).map_err(RowError::Email)?)
            }
            (None, _) if mode == IdentifierMode::Id => return Err(RowError::MissingId),
            (None, _) => return Err(RowError::MissingIdentifier),
        };
        let patch =
            CustomerPatch::from_json(Value::Object(cells.fields.clone()), now).map_err(|err| match err {
                PatchError::Email(err) => RowError::Email(err),
                other => RowError::Patch(other),
            })?;
        Ok(ImportRow {
            line,
            identifier,
            patch,
            cells,
        })
    }

    /// The email address the row sets, if any (besides an email identifier).
    pub fn body_email(&self) -> Option<&str> {
        match &self.patch.email {
            Change::Set(email) => Some(email.as_str()),
            _ => None,
        }
    }

    /// Two rows with the same key are the same customer.
    pub fn duplicate_key(&self) -> String {
        match &self.identifier {
            Identifier::ExternalId(id) => format!("id:{id}"),
            Identifier::Email(email) => format!("email:{email}"),
            Identifier::InternalId(id) => format!("cio:{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    fn cells(id: Option<&str>, fields: Value) -> RowCells {
        RowCells {
            id: id.map(str::to_owned),
            fields: fields.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn the_id_identifies_and_the_other_cells_patch() {
        let row = ImportRow::parse(
            2,
            cells(
                Some("c-1"),
                json!({ "email": "Ada@Example.com", "name": "Ada", "plan": "pro" }),
            ),
            IdentifierMode::Id,
            now(),
        )
        .unwrap();
        assert_eq!(row.identifier, Identifier::ExternalId("c-1".into()));
        assert_eq!(row.body_email(), Some("ada@example.com"));
        assert_eq!(row.patch.name, Change::Set("Ada".into()));
        assert_eq!(
            Value::Object(row.patch.new_attributes().unwrap()),
            json!({ "plan": "pro" })
        );
    }

    #[test]
    fn an_email_identifies_only_in_id_or_email_workspaces() {
        let no_id = cells(None, json!({ "email": "ada@example.com" }));
        assert_eq!(
            ImportRow::parse(2, no_id.clone(), IdentifierMode::Id, now()),
            Err(RowError::MissingId)
        );
        let row = ImportRow::parse(2, no_id, IdentifierMode::IdOrEmail, now()).unwrap();
        assert_eq!(
            row.identifier,
            Identifier::Email(Email::parse("ada@example.com").unwrap())
        );
        assert_eq!(
            ImportRow::parse(
                2,
                cells(None, json!({ "name": "Ada" })),
                IdentifierMode::IdOrEmail,
                now()
            ),
            Err(RowError::MissingIdentifier)
        );
    }

    #[test]
    fn reasons_name_the_problem_without_the_value() {
        let bad_email = ImportRow::parse(
            3,
            cells(Some("c-1"), json!({ "email": "ada-at-example" })),
            IdentifierMode::Id,
            now(),
        );
        let reason = bad_email.unwrap_err().to_string();
        assert!(reason.starts_with("invalid email address"), "{reason}");
        assert!(!reason.contains("ada-at-example"));
        let long_name = ImportRow::parse(
            3,
            cells(Some("c-1"), json!({ "name": "x".repeat(201) })),
            IdentifierMode::Id,
            now(),
        );
        assert!(matches!(
            long_name,
            Err(RowError::Patch(PatchError::TooLong(_, 200)))
        ));
        assert!(matches!(
            ImportRow::parse(3, cells(Some("a\u{7}b"), json!({})), IdentifierMode::Id, now()),
            Err(RowError::Identifier(IdentifierError::ControlCharacter))
        ));
    }

    #[test]
    fn cells_round_trip_through_their_stored_form() {
        let original = cells(Some("c-1"), json!({ "city": "Paris" }));
        let stored = serde_json::to_string(&original).unwrap();
        assert_eq!(serde_json::from_str::<RowCells>(&stored).unwrap(), original);
        let without_id = cells(None, json!({ "email": "a@b.co" }));
        assert_eq!(
            serde_json::to_string(&without_id).unwrap(),
            r#"{"fields":{"email":"a@b.co"}}"#
        );
    }
}
