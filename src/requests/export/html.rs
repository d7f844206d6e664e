//! The export as one HTML page a person can read, written row by row: askama renders
//! a whole template into one string, which for a customer with a million events is
//! the memory this export exists not to use. Every stored value goes through
//! [`escaped`]; the page loads nothing from anywhere.

use std::io::{self, Write};

use chrono::NaiveDateTime;
use serde_json::Value;

use super::json::stored_json;
use super::{ExportCounts, Format};
use crate::format::{iso, thousands};
use crate::store::customers::{Customer, TimelineEvent};
use crate::store::devices::Device;
use crate::store::workspaces::Workspace;

const STYLE: &str =
    "body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1a1a1a}\
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:1px solid #ccc}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.5rem}dt{font-weight:600}dd{margin:0}\
table{border-collapse:collapse;width:100%;margin-bottom:1rem}\
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f4f4f4}td.json{font-family:ui-monospace,monospace;font-size:13px;word-break:break-all}\
.none{color:#777}";

#[derive(Default)]
pub struct Html {
    events_written: u64,
}

/// Writes `text` with the characters that mean something in HTML replaced by their
/// entities; safe inside elements and quoted attributes alike.
pub fn escaped<W: Write>(out: &mut W, text: &str) -> io::Result<()> {
    let mut rest = 0;
    for (at, byte) in text.bytes().enumerate() {
        let entity: &[u8] = match byte {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\'' => b"&#39;",
            _ => continue,
        };
        out.write_all(&text.as_bytes()[rest..at])?;
        out.write_all(entity)?;
        rest = at + 1;
    }
    out.write_all(&text.as_bytes()[rest..])
}

/// A JSON value as a person reads it in a cell: a string as itself, anything else as
/// compact JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn optional<W: Write>(out: &mut W, value: Option<&str>) -> io::Result<()> {
    match value {
        Some(text) => escaped(out, text),
        None => out.write_all(b"<span class=\"none\">none</span>"),
    }
}

fn term<W: Write>(out: &mut W, label: &str, value: Option<&str>) -> io::Result<()> {
    write!(out, "<dt>{label}</dt><dd>")?;
    optional(out, value)?;
    out.write_all(b"</dd>\n")
}

/// A table of a JSON object's members; anything else that was stored, as one cell.
fn attributes_table<W: Write>(out: &mut W, stored: &str) -> io::Result<()> {
    match stored_json(stored) {
        Value::Object(members) if members.is_empty() => out.write_all(b"<p class=\"none\">None.</p>\n"),
        Value::Object(members) => {
            out.write_all(b"<table><thead><tr><th>Attribute</th><th>Value</th></tr></thead><tbody>\n")?;
            for (key, value) in &members {
                out.write_all(b"<tr><td>")?;
                escaped(out, key)?;
                out.write_all(b"</td><td>")?;
                escaped(out, &value_text(value))?;
                out.write_all(b"</td></tr>\n")?;
            }
            out.write_all(b"</tbody></table>\n")
        }
        other => {
            out.write_all(b"<p class=\"json\">")?;
            escaped(out, &value_text(&other))?;
            out.write_all(b"</p>\n")
        }
    }
}

impl Format for Html {
    fn begin<W: Write>(
        &mut self,
        out: &mut W,
        workspace: &Workspace,
        exported_at: NaiveDateTime,
    ) -> io::Result<()> {
        out.write_all(b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")?;
        out.write_all(
            b"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Data held in ",
        )?;
        escaped(out, &workspace.name)?;
        write!(
            out,
            "</title><style>{STYLE}</style></head><body>\n<h1>Data held in "
        )?;
        escaped(out, &workspace.name)?;
        out.write_all(b"</h1>\n<p>Everything stored about the people below, as it stood on ")?;
        escaped(out, &iso(exported_at))?;
        out.write_all(b" (times in UTC).</p>\n")
    }

    fn customer<W: Write>(&mut self, out: &mut W, customer: &Customer, devices: &[Device]) -> io::Result<()> {
        self.events_written = 0;
        write!(
            out,
            "<section id=\"customer-{id}\"><h2>Customer {id}</h2>\n<dl>\n",
            id = customer.id
        )?;
        term(out, "External id", customer.external_id.as_deref())?;
        term(out, "Email", customer.email.as_deref())?;
        term(out, "Phone", customer.phone.as_deref())?;
        term(out, "Name", customer.name.as_deref())?;
        term(out, "Country", customer.country.as_deref())?;
        term(out, "City", customer.city.as_deref())?;
        term(out, "Created", Some(&iso(customer.created_at)))?;
        term(out, "Last seen", Some(&iso(customer.last_seen_at)))?;
        term(out, "Anonymized", customer.archived_at.map(iso).as_deref())?;
        term(
            out,
            "Legal hold",
            Some(if customer.legal_hold_at.is_some() {
                "yes"
            } else {
                "no"
            }),
        )?;
        out.write_all(b"</dl>\n<h3>Attributes</h3>\n")?;
        attributes_table(out, &customer.attributes)?;
        out.write_all(b"<h3>Devices</h3>\n")?;
        if devices.is_empty() {
            out.write_all(b"<p class=\"none\">None.</p>\n")?;
        } else {
            out.write_all(
                b"<table><thead><tr><th>Token</th><th>Platform</th><th>Last used</th><th>Attributes</th></tr></thead><tbody>\n",
            )?;
            for device in devices {
                out.write_all(b"<tr><td class=\"json\">")?;
                escaped(out, &device.token)?;
                out.write_all(b"</td><td>")?;
                escaped(out, device.platform.label())?;
                out.write_all(b"</td><td>")?;
                escaped(out, &iso(device.last_used))?;
                out.write_all(b"</td><td class=\"json\">")?;
                escaped(out, &device.attributes)?;
                out.write_all(b"</td></tr>\n")?;
            }
            out.write_all(b"</tbody></table>\n")?;
        }
        out.write_all(b"<h3>Events</h3>\n")
    }

    fn event<W: Write>(&mut self, out: &mut W, event: &TimelineEvent) -> io::Result<()> {
        if self.events_written == 0 {
            out.write_all(
                b"<table><thead><tr><th>Event</th><th>When</th><th>Properties</th></tr></thead><tbody>\n",
            )?;
        }
        self.events_written += 1;
        out.write_all(b"<tr><td>")?;
        escaped(out, &event.name)?;
        out.write_all(b"</td><td>")?;
        escaped(out, &iso(event.occurred_at))?;
        out.write_all(b"</td><td class=\"json\">")?;
        // Stored as compact JSON text already: shown as stored.
        escaped(out, &event.properties)?;
        out.write_all(b"</td></tr>\n")
    }

    fn customer_end<W: Write>(&mut self, out: &mut W, events: u64) -> io::Result<()> {
        if events == 0 {
            return out.write_all(b"<p class=\"none\">None.</p>\n</section>\n");
        }
        write!(
            out,
            "</tbody></table>\n<p>{} event{}.</p>\n</section>\n",
            thousands(events as i64),
            if events == 1 { "" } else { "s" }
        )
    }

    fn end<W: Write>(&mut self, out: &mut W, counts: &ExportCounts) -> io::Result<()> {
        if counts.customers == 0 {
            out.write_all(b"<p>No data is held about the people asked for.</p>\n")?;
        }
        out.write_all(b"</body></html>\n")
    }
}
