//! A CSV file of customers, parsed: a header row naming the columns, then a customer a
//! row. Every row is either accepted (an [`ImportRow`]) or rejected with its line
//! number and reason; a file that cannot be read as a whole is an [`ImportFileError`],
//! and then nothing of it is imported.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use super::customer_patch::{MAX_ATTRIBUTES, MAX_ATTRIBUTE_KEY_CHARS};
use super::import_row::{ImportRow, RowCells, RowError};
use super::IdentifierMode;

/// More rows than this is a file to split, not one job.
pub const MAX_IMPORT_ROWS: usize = 1_000_000;

/// Columns that are the customer's own fields; every other column is an attribute.
const KNOWN_COLUMNS: [&str; 6] = ["email", "name", "phone", "country", "city", "created_at"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportFileError {
    #[error("The file is empty.")]
    Empty,
    #[error("Line {line} is not UTF-8 text. Save the file as \"CSV UTF-8\" and upload it again.")]
    NotUtf8 { line: u64 },
    #[error(
        "A quoted value that starts on line {line} is never closed. Check the quotation marks on that line."
    )]
    UnclosedQuote { line: u64 },
    #[error("Line {line} could not be read as CSV.")]
    Unreadable { line: u64 },
    #[error("Column {column} of the header row has no name. The first line must name every column (id, email, name, …).")]
    UnnamedColumn { column: usize },
    #[error("The column \"{0}\" appears more than once in the header row.")]
    DuplicateColumn(String),
    #[error("The header row has both an id and an external_id column. Keep one of them.")]
    TwoIdColumns,
    #[error("The first line must be a header row naming the columns, with an id (or external_id) column: customers in this workspace are identified by id.")]
    NoIdColumn,
    #[error("The first line must be a header row naming the columns, with an id (or external_id) column, an email column, or both.")]
    NoIdentifierColumn,
    #[error("The name of column {column} is longer than {MAX_ATTRIBUTE_KEY_CHARS} characters.")]
    ColumnNameTooLong { column: usize },
    #[error("The file has {0} attribute columns; a customer can have at most {MAX_ATTRIBUTES} attributes.")]
    TooManyColumns(usize),
    #[error("The file has a header row but no customers below it.")]
    NoRows,
    #[error("The file has more than 1,000,000 customers. Split it into smaller files.")]
    TooManyRows,
}

/// A row that will not be imported, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejection {
    pub line: u64,
    pub reason: RowError,
}

#[derive(Debug)]
pub struct ParsedImport {
    /// One per customer, in file order.
    pub rows: Vec<ImportRow>,
    /// In file order.
    pub rejected: Vec<Rejection>,
    /// Data rows read, accepted or not (blank rows are not counted).
    pub data_rows: usize,
}

/// What a header cell names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Id,
    Field(String),
}

pub fn parse_customer_csv(
    bytes: &[u8],
    mode: IdentifierMode,
    now: NaiveDateTime,
) -> Result<ParsedImport, ImportFileError> {
    // Spreadsheets often start a UTF-8 file with a byte order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|err| ImportFileError::NotUtf8 {
        line: line_of(&bytes[..err.valid_up_to()]),
    })?;
    if text.trim().is_empty() {
        return Err(ImportFileError::Empty);
    }
    let delimiter = guess_delimiter(text);
    if let Some(line) = unclosed_quote(text, delimiter) {
        return Err(ImportFileError::UnclosedQuote { line });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        // Spreadsheet exports pad cells; a value with spaces around it is almost always
        // that, not an id that really starts with a space.
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(err)) => return Err(unreadable(&err)),
        None => return Err(ImportFileError::Empty),
    };
    let columns = read_header(&header, mode)?;
    let mut parsed = ParsedImport {
        rows: Vec::new(),
        rejected: Vec::new(),
        data_rows: 0,
    };
    let mut first_line_of: HashMap<String, u64> = HashMap::new();
    for record in records {
        let record = record.map_err(|err| unreadable(&err))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        parsed.data_rows += 1;
        if parsed.data_rows > MAX_IMPORT_ROWS {
            return Err(ImportFileError::TooManyRows);
        }
        let line = record.position().map_or(0, |p| start_line(text, p));
        let row = if record.len() != columns.len() {
            Err(RowError::CellCount {
                found: record.len(),
                expected: columns.len(),
            })
        } else {
            ImportRow::parse(line, cells(&columns, &record), mode, now)
        };
        let row = row.and_then(|row| match first_line_of.get(&row.duplicate_key()) {
            Some(first) => Err(RowError::Duplicate(*first)),
            None => Ok(row),
        });
        match row {
            Ok(row) => {
                first_line_of.insert(row.duplicate_key(), line);
                parsed.rows.push(row);
            }
            Err(reason) => parsed.rejected.push(Rejection { line, reason }),
        }
    }
    if parsed.data_rows == 0 {
        return Err(ImportFileError::NoRows);
    }
    Ok(parsed)
}

fn read_header(header: &csv::StringRecord, mode: IdentifierMode) -> Result<Vec<Column>, ImportFileError> {
    let mut columns = Vec::with_capacity(header.len());
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut ids = 0;
    for (index, name) in header.iter().enumerate() {
        let column = index + 1;
        if name.is_empty() {
            return Err(ImportFileError::UnnamedColumn { column });
        }
        if name.chars().count() > MAX_ATTRIBUTE_KEY_CHARS {
            return Err(ImportFileError::ColumnNameTooLong { column });
        }
        let lower = name.to_lowercase();
        if seen.insert(lower.clone(), ()).is_some() {
            return Err(ImportFileError::DuplicateColumn(name.to_owned()));
        }
        columns.push(match lower.as_str() {
            "id" | "external_id" => {
                ids += 1;
                Column::Id
            }
            known if KNOWN_COLUMNS.contains(&known) => Column::Field(lower),
            // Attribute names are kept as written: they are the workspace's own keys.
            _ => Column::Field(name.to_owned()),
        });
    }
    if ids > 1 {
        return Err(ImportFileError::TwoIdColumns);
    }
    let has_email = columns.contains(&Column::Field("email".into()));
    match (ids, mode) {
        (0, IdentifierMode::Id) => return Err(ImportFileError::NoIdColumn),
        (0, IdentifierMode::IdOrEmail) if !has_email => return Err(ImportFileError::NoIdentifierColumn),
        _ => {}
    }
    let attributes = columns
        .iter()
        .filter(|c| matches!(c, Column::Field(name) if !KNOWN_COLUMNS.contains(&name.as_str())))
        .count();
    if attributes > MAX_ATTRIBUTES {
        return Err(ImportFileError::TooManyColumns(attributes));
    }
    Ok(columns)
}

fn cells(columns: &[Column], record: &csv::StringRecord) -> RowCells {
    let mut id = None;
    let mut fields = Map::new();
    for (column, value) in columns.iter().zip(record.iter()) {
        if value.is_empty() {
            continue;
        }
        match column {
            Column::Id => id = Some(value.to_owned()),
            Column::Field(name) => {
                fields.insert(name.clone(), Value::String(value.to_owned()));
            }
        }
    }
    RowCells { id, fields }
}

fn unreadable(err: &csv::Error) -> ImportFileError {
    ImportFileError::Unreadable {
        line: err.position().map_or(1, |p| p.line()),
    }
}

/// The line a record starts on. The reader's position is where it began to read, so
/// it points at any blank lines it skipped before the record.
fn start_line(text: &str, position: &csv::Position) -> u64 {
    let skipped = text.as_bytes()[position.byte() as usize..]
        .iter()
        .take_while(|b| matches!(b, b'\n' | b'\r'))
        .filter(|&&b| b == b'\n')
        .count();
    position.line() + skipped as u64
}

/// The 1-based line the end of `bytes` is on.
fn line_of(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

/// Comma, or the semicolon or tab that some spreadsheets write instead: whichever the
/// header line has most of.
fn guess_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| (header.bytes().filter(|b| b == d).count(), *d == b','))
        .unwrap_or(b',')
}

/// The line on which a quoted value opens that the file never closes.
///
/// The csv reader takes such a value to the end of the file without complaint, which
/// would turn the rest of the file into one cell. This follows the same rule it does:
/// a quote opens a value only at the start of a cell, and `""` inside is a quote.
fn unclosed_quote(text: &str, delimiter: u8) -> Option<u64> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        CellStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::CellStart;
    let mut line = 1;
    let mut opened_on = 1;
    for byte in text.bytes() {
        let ends_cell = byte == delimiter || byte == b'\n' || byte == b'\r';
        state = match (state, byte) {
            (State::CellStart, b'"') => {
                opened_on = line;
                State::Quoted
            }
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::QuoteInQuoted, b'"') => State::Quoted,
            (_, _) if ends_cell => State::CellStart,
            (_, _) => State::Unquoted,
        };
        if byte == b'\n' {
            line += 1;
        }
    }
    (state == State::Quoted).then_some(opened_on)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Change, Identifier};

    fn now() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    fn parse(text: &str, mode: IdentifierMode) -> Result<ParsedImport, ImportFileError> {
        parse_customer_csv(text.as_bytes(), mode, now())
    }

    fn lines(parsed: &ParsedImport) -> Vec<u64> {
        parsed.rejected.iter().map(|r| r.line).collect()
    }

    #[test]
    fn rows_are_accepted_or_rejected_with_their_line() {
        let parsed = parse(
            "ID,Email,Name,Plan\n\
             c-1,ada@example.com,Ada,pro\n\
             c-2,not-an-address,Bob,free\n\
             ,carol@example.com,Carol,\n\
             c-1,ada2@example.com,Ada again,\n\
             \n\
             c-3,,\"Dee, \"\"D\"\" Smith\",basic\n\
             c-4,too,many,cells,here\n",
            IdentifierMode::Id,
        )
        .unwrap();
        assert_eq!(parsed.data_rows, 6);
        let ids: Vec<String> = parsed.rows.iter().map(|r| r.identifier.to_string()).collect();
        assert_eq!(ids, ["c-1", "c-3"]);
        assert_eq!(lines(&parsed), [3, 4, 5, 8]);
        assert!(matches!(parsed.rejected[0].reason, RowError::Email(_)));
        assert_eq!(parsed.rejected[1].reason, RowError::MissingId);
        assert_eq!(parsed.rejected[2].reason, RowError::Duplicate(2));
        assert!(matches!(
            parsed.rejected[3].reason,
            RowError::CellCount {
                found: 5,
                expected: 4
            }
        ));
        assert_eq!(parsed.rows[1].patch.name, Change::Set("Dee, \"D\" Smith".into()));
        assert_eq!(
            parsed.rows[1].patch.email,
            Change::Keep,
            "an empty cell leaves the value alone"
        );
        assert_eq!(parsed.rows[1].line, 7);
    }

    #[test]
    fn column_names_are_case_insensitive_and_attributes_keep_theirs() {
        let parsed = parse("EXTERNAL_ID;E-Mail;COUNTRY\nc-1;x;FR\n", IdentifierMode::Id).unwrap();
        let row = &parsed.rows[0];
        assert_eq!(row.identifier, Identifier::ExternalId("c-1".into()));
        assert_eq!(row.patch.country, Change::Set("FR".into()));
        assert!(row.cells.fields.contains_key("E-Mail"));
    }

    #[test]
    fn in_id_or_email_workspaces_an_email_column_is_enough() {
        let parsed = parse(
            "email,name\nAda@Example.com,Ada\nada@example.com,Ada\n",
            IdentifierMode::IdOrEmail,
        )
        .unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rejected[0].reason, RowError::Duplicate(2));
        assert_eq!(
            parse("email,name\na@b.co,A\n", IdentifierMode::Id).unwrap_err(),
            ImportFileError::NoIdColumn
        );
    }

    #[test]
    fn a_quoted_cell_may_span_lines_and_rows_keep_their_starting_line() {
        let parsed = parse("id,note\nc-1,\"two\nlines\"\nc-2,\n", IdentifierMode::Id).unwrap();
        assert_eq!(parsed.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
    }

    #[test]
    fn malformed_files_are_refused_whole() {
        let id = IdentifierMode::Id;
        assert_eq!(parse("", id).unwrap_err(), ImportFileError::Empty);
        assert_eq!(parse(" \n\n", id).unwrap_err(), ImportFileError::Empty);
        assert_eq!(parse("id,name\n", id).unwrap_err(), ImportFileError::NoRows);
        assert_eq!(
            parse("id,name\nc-1,\"Ada\n", id).unwrap_err(),
            ImportFileError::UnclosedQuote { line: 2 }
        );
        assert_eq!(
            parse("42,ada@example.com\n43,bob@example.com\n", id).unwrap_err(),
            ImportFileError::NoIdColumn
        );
        assert_eq!(
            parse("id,,name\nc-1,,A\n", id).unwrap_err(),
            ImportFileError::UnnamedColumn { column: 2 }
        );
        assert_eq!(
            parse("id,Name,name\nc,a,b\n", id).unwrap_err(),
            ImportFileError::DuplicateColumn("name".into())
        );
        assert_eq!(
            parse("id,external_id\na,b\n", id).unwrap_err(),
            ImportFileError::TwoIdColumns
        );
        let latin1 = b"id,name\nc-1,Jos\xE9\n";
        assert_eq!(
            parse_customer_csv(latin1, id, now()).unwrap_err(),
            ImportFileError::NotUtf8 { line: 2 }
        );
        let wide: String = (0..=MAX_ATTRIBUTES).map(|i| format!(",a{i}")).collect();
        assert!(matches!(
            parse(&format!("id{wide}\n"), id),
            Err(ImportFileError::TooManyColumns(301))
        ));
    }

    #[test]
    fn a_byte_order_mark_and_stray_quotes_inside_cells_are_fine() {
        let parsed = parse("\u{feff}id,height\nc-1,5'11\"\n", IdentifierMode::Id).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert!(parsed.rejected.is_empty());
    }
}
