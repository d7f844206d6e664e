//! A person's data as one document: every customer row asked for, their devices and
//! all their events, as JSON (portable, Art. 20) or as a page a person can read
//! (Art. 15).
//!
//! Both are streamed: customers one at a time, events a page at a time in the order
//! the `(customer_id, occurred_at)` index gives, each serialized straight to the
//! writer. Memory stays flat however many events a customer has; the writer should be
//! buffered (a `BufWriter` round a file or a response body), since rows are written a
//! few bytes at a time. Everything is read in one snapshot, so the counts returned
//! describe exactly the rows written.

mod counting;
mod html;
mod json;
#[cfg(test)]
mod tests;

use std::io::Write;

use chrono::NaiveDateTime;

use self::counting::Counting;
use crate::db::DbConnection;
use crate::store::customers::{Customer, TimelineEvent};
use crate::store::devices::Device;
use crate::store::exports::{self, EventPosition, IDS_PER_STATEMENT};
use crate::store::workspaces::Workspace;
use crate::store::StoreError;

/// Events read per query: large enough that round trips do not dominate, small
/// enough that a page's rows are a few hundred kilobytes.
const EVENTS_PER_PAGE: i64 = 2_000;

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportCounts {
    pub customers: u64,
    pub events: u64,
    pub devices: u64,
    /// The document's size.
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the export could not be written")]
    Io(#[from] std::io::Error),
}

impl From<diesel::result::Error> for ExportError {
    fn from(err: diesel::result::Error) -> Self {
        ExportError::Store(err.into())
    }
}

/// Writes everything stored about the customers `customer_ids` of `workspace` as one
/// JSON document (ids of other workspaces, or of no one, are left out):
///
/// `{"workspace", "exported_at", "customers": [{"id", "external_id", "email", "phone",
/// "name", "country", "city", "attributes", "created_at", "last_seen_at",
/// "archived_at", "legal_hold", "devices": [{"token", "platform", "last_used",
/// "attributes"}], "events": [{"id", "name", "occurred_at", "properties"}]}]}`
///
/// Times are ISO 8601 in UTC; attributes and properties are the stored JSON objects.
/// `out` should be buffered; it is flushed at the end.
pub fn write_json(
    conn: &mut DbConnection,
    workspace: &Workspace,
    customer_ids: &[i64],
    out: &mut impl Write,
) -> Result<ExportCounts, ExportError> {
    export(conn, workspace, customer_ids, out, &mut json::Json::default())
}

/// Writes the same as [`write_json`] as one self-contained HTML page: a section per
/// customer with the profile, attributes, devices and events. Every stored value is
/// escaped. `out` should be buffered; it is flushed at the end.
pub fn write_html(
    conn: &mut DbConnection,
    workspace: &Workspace,
    customer_ids: &[i64],
    out: &mut impl Write,
) -> Result<ExportCounts, ExportError> {
    export(conn, workspace, customer_ids, out, &mut html::Html::default())
}

/// How one format writes the parts of the document, in the order the walk meets them.
trait Format {
    fn begin<W: Write>(
        &mut self,
        out: &mut W,
        workspace: &Workspace,
        exported_at: NaiveDateTime,
    ) -> std::io::Result<()>;
    /// The customer's profile and devices, up to where their events begin.
    fn customer<W: Write>(
        &mut self,
        out: &mut W,
        customer: &Customer,
        devices: &[Device],
    ) -> std::io::Result<()>;
    fn event<W: Write>(&mut self, out: &mut W, event: &TimelineEvent) -> std::io::Result<()>;
    fn customer_end<W: Write>(&mut self, out: &mut W, events: u64) -> std::io::Result<()>;
    fn end<W: Write>(&mut self, out: &mut W, counts: &ExportCounts) -> std::io::Result<()>;
}

fn export<W: Write, F: Format>(
    conn: &mut DbConnection,
    workspace: &Workspace,
    customer_ids: &[i64],
    out: &mut W,
    format: &mut F,
) -> Result<ExportCounts, ExportError> {
    let mut ids = customer_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Counting::new(out);
    let mut counts = exports::in_snapshot(conn, |conn| {
        let mut counts = ExportCounts::default();
        format.begin(&mut out, workspace, crate::store::now())?;
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            for customer in exports::customers_by_ids(conn, workspace.id, chunk)? {
                let devices = exports::devices_of(conn, workspace.id, customer.id)?;
                format.customer(&mut out, &customer, &devices)?;
                let events = write_events(conn, workspace.id, customer.id, &mut out, format)?;
                format.customer_end(&mut out, events)?;
                counts.customers += 1;
                counts.devices += devices.len() as u64;
                counts.events += events;
            }
        }
        format.end(&mut out, &counts)?;
        Ok::<_, ExportError>(counts)
    })?;
    out.flush()?;
    counts.bytes = out.bytes();
    Ok(counts)
}

/// Writes all of one customer's events, a page at a time; returns how many.
fn write_events<W: Write, F: Format>(
    conn: &mut DbConnection,
    workspace_id: i64,
    customer_id: i64,
    out: &mut W,
    format: &mut F,
) -> Result<u64, ExportError> {
    let mut written = 0;
    let mut after = None;
    loop {
        let page = exports::events_page(conn, workspace_id, customer_id, after, EVENTS_PER_PAGE)?;
        for event in &page {
            format.event(out, event)?;
        }
        written += page.len() as u64;
        match page.last() {
            Some(last) if page.len() as i64 == EVENTS_PER_PAGE => after = Some(EventPosition::of(last)),
            _ => return Ok(written),
        }
    }
}
