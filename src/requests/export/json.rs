//! The export as one JSON document, written piece by piece: the document's brackets
//! and commas by hand, each customer's profile and each event by serde_json.

use std::io::{self, Write};

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;

use super::{ExportCounts, Format};
use crate::format::iso;
use crate::store::customers::{Customer, TimelineEvent};
use crate::store::devices::{Device, PlatformColumn};
use crate::store::workspaces::Workspace;

#[derive(Default)]
pub struct Json {
    customers_written: u64,
    events_written: u64,
}

#[derive(Serialize)]
struct DeviceOut<'a> {
    token: &'a str,
    platform: &'a str,
    last_used: String,
    attributes: Value,
}

#[derive(Serialize)]
struct EventOut<'a> {
    id: i64,
    name: &'a str,
    occurred_at: String,
    properties: Value,
}

/// Stored JSON as it was stored; text that does not parse (written by hand, or by an
/// older version) is kept as a string rather than dropped.
pub fn stored_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn platform_key(platform: &PlatformColumn) -> &str {
    match platform {
        PlatformColumn::Known(platform) => platform.key(),
        PlatformColumn::Other(raw) => raw,
    }
}

/// `"key":value`, preceded by a comma unless it is the object's first member.
fn member<W: Write>(out: &mut W, first: bool, key: &str, value: &impl Serialize) -> io::Result<()> {
    if !first {
        out.write_all(b",")?;
    }
    serde_json::to_writer(&mut *out, key)?;
    out.write_all(b":")?;
    serde_json::to_writer(&mut *out, value)?;
    Ok(())
}

impl Format for Json {
    fn begin<W: Write>(
        &mut self,
        out: &mut W,
        workspace: &Workspace,
        exported_at: NaiveDateTime,
    ) -> io::Result<()> {
        out.write_all(b"{")?;
        member(out, true, "workspace", &workspace.slug)?;
        member(out, false, "exported_at", &iso(exported_at))?;
        out.write_all(b",\"customers\":[")
    }

    fn customer<W: Write>(&mut self, out: &mut W, customer: &Customer, devices: &[Device]) -> io::Result<()> {
        if self.customers_written > 0 {
            out.write_all(b",")?;
        }
        self.customers_written += 1;
        self.events_written = 0;
        out.write_all(b"\n{")?;
        member(out, true, "id", &customer.id)?;
        member(out, false, "external_id", &customer.external_id)?;
        member(out, false, "email", &customer.email)?;
        member(out, false, "phone", &customer.phone)?;
        member(out, false, "name", &customer.name)?;
        member(out, false, "country", &customer.country)?;
        member(out, false, "city", &customer.city)?;
        member(out, false, "attributes", &stored_json(&customer.attributes))?;
        member(out, false, "created_at", &iso(customer.created_at))?;
        member(out, false, "last_seen_at", &iso(customer.last_seen_at))?;
        member(out, false, "archived_at", &customer.archived_at.map(iso))?;
        member(out, false, "legal_hold", &customer.legal_hold_at.is_some())?;
        let devices: Vec<DeviceOut> = devices
            .iter()
            .map(|device| DeviceOut {
                token: &device.token,
                platform: platform_key(&device.platform),
                last_used: iso(device.last_used),
                attributes: stored_json(&device.attributes),
            })
            .collect();
        member(out, false, "devices", &devices)?;
        out.write_all(b",\"events\":[")
    }

    fn event<W: Write>(&mut self, out: &mut W, event: &TimelineEvent) -> io::Result<()> {
        out.write_all(if self.events_written == 0 { b"\n" } else { b",\n" })?;
        self.events_written += 1;
        let event = EventOut {
            id: event.id,
            name: &event.name,
            occurred_at: iso(event.occurred_at),
            properties: stored_json(&event.properties),
        };
        serde_json::to_writer(&mut *out, &event)?;
        Ok(())
    }

    fn customer_end<W: Write>(&mut self, out: &mut W, _events: u64) -> io::Result<()> {
        out.write_all(b"]}")
    }

    fn end<W: Write>(&mut self, out: &mut W, _counts: &ExportCounts) -> io::Result<()> {
        out.write_all(b"]}\n")
    }
}
