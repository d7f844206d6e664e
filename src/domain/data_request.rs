//! A data-subject request as it is recorded: what the person asked for, the identifiers
//! they gave, how their identity was checked, and when it arrived; and the legal clock
//! that follows (GDPR Art. 12(3): one month, extendable once by up to two more).

use chrono::{Duration, NaiveDate, NaiveDateTime};

use crate::domain::Email;

/// Days from receipt to the due date.
pub const DUE_DAYS: i64 = 30;
/// The most one extension may add.
pub const MAX_EXTENSION_DAYS: i64 = 60;
/// A request this close to its due date is "due soon".
pub const DUE_SOON_DAYS: i64 = 7;

/// What the person asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A copy of their data (Art. 15, 20).
    Access,
    /// Their data erased (Art. 17).
    Erasure,
    Both,
}

impl RequestKind {
    pub const ALL: [RequestKind; 3] = [RequestKind::Access, RequestKind::Erasure, RequestKind::Both];

    pub const fn key(self) -> &'static str {
        match self {
            RequestKind::Access => "access",
            RequestKind::Erasure => "erasure",
            RequestKind::Both => "both",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RequestKind::Access => "Access (a copy of their data)",
            RequestKind::Erasure => "Erasure",
            RequestKind::Both => "Access and erasure",
        }
    }

    pub fn parse(key: &str) -> Option<RequestKind> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }

    pub fn wants_access(self) -> bool {
        matches!(self, RequestKind::Access | RequestKind::Both)
    }

    pub fn wants_erasure(self) -> bool {
        matches!(self, RequestKind::Erasure | RequestKind::Both)
    }
}

/// Where a request stands, as the list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStanding {
    Open,
    DueSoon,
    Overdue,
    Closed,
}

impl RequestStanding {
    /// From the stored state and due date, at `now`.
    pub fn at(closed: bool, due_at: NaiveDateTime, now: NaiveDateTime) -> RequestStanding {
        if closed {
            RequestStanding::Closed
        } else if now >= due_at {
            RequestStanding::Overdue
        } else if due_at - now <= Duration::days(DUE_SOON_DAYS) {
            RequestStanding::DueSoon
        } else {
            RequestStanding::Open
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RequestStanding::Open => "Open",
            RequestStanding::DueSoon => "Due soon",
            RequestStanding::Overdue => "Overdue",
            RequestStanding::Closed => "Closed",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            RequestStanding::Open => "open",
            RequestStanding::DueSoon => "due-soon",
            RequestStanding::Overdue => "overdue",
            RequestStanding::Closed => "closed",
        }
    }
}

/// A request's intake, checked: at least one identifier, a word on verification, a
/// date of receipt that is not in the future.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIntake {
    pub kind: RequestKind,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub phone: Option<String>,
    pub verification: String,
    pub received_on: NaiveDate,
}

/// The form's values, as typed.
#[derive(Debug, Clone, Default)]
pub struct RequestForm {
    pub kind: String,
    pub email: String,
    pub external_id: String,
    pub phone: String,
    pub verification: String,
    pub received_on: String,
}

/// Each field that cannot be used, with what to do about it.
pub type FieldErrors = Vec<(&'static str, String)>;

const MAX_TEXT: usize = 500;

impl RequestIntake {
    pub fn parse(form: &RequestForm, today: NaiveDate) -> Result<RequestIntake, FieldErrors> {
        let mut errors = FieldErrors::new();
        let kind = RequestKind::parse(form.kind.trim());
        if kind.is_none() {
            errors.push(("kind", "Choose what the person asked for.".into()));
        }
        let email = match form.email.trim() {
            "" => None,
            typed => match Email::parse(typed) {
                Ok(email) => Some(email.as_str().to_owned()),
                Err(_) => {
                    errors.push(("email", "That is not an email address.".into()));
                    None
                }
            },
        };
        let short = |value: &str, field: &'static str, errors: &mut FieldErrors| {
            let value = value.trim();
            if value.chars().count() > 200 || value.chars().any(char::is_control) {
                errors.push((field, "Use at most 200 characters, on one line.".into()));
                return None;
            }
            (!value.is_empty()).then(|| value.to_owned())
        };
        let external_id = short(&form.external_id, "external_id", &mut errors);
        let phone = short(&form.phone, "phone", &mut errors);
        if email.is_none()
            && external_id.is_none()
            && phone.is_none()
            && !errors.iter().any(|e| e.0 != "kind")
        {
            errors.push((
                "email",
                "Give at least one identifier the person gave: an email, an external id or a phone.".into(),
            ));
        }
        let verification = form.verification.trim().to_owned();
        if verification.is_empty() {
            errors.push((
                "verification",
                "Say how the person's identity was verified.".into(),
            ));
        } else if verification.chars().count() > MAX_TEXT {
            errors.push(("verification", "Use at most 500 characters.".into()));
        }
        let received_on = match NaiveDate::parse_from_str(form.received_on.trim(), "%Y-%m-%d") {
            Ok(date) if date > today => {
                errors.push(("received_on", "The request cannot arrive in the future.".into()));
                None
            }
            Ok(date) => Some(date),
            Err(_) => {
                errors.push(("received_on", "Give the date it arrived, as YYYY-MM-DD.".into()));
                None
            }
        };
        match (kind, received_on) {
            (Some(kind), Some(received_on)) if errors.is_empty() => Ok(RequestIntake {
                kind,
                email,
                external_id,
                phone,
                verification,
                received_on,
            }),
            _ => Err(errors),
        }
    }

    pub fn received_at(&self) -> NaiveDateTime {
        self.received_on.and_hms_opt(0, 0, 0).expect("midnight exists")
    }

    /// Thirty days after receipt (Art. 12(3)).
    pub fn due_at(&self) -> NaiveDateTime {
        self.received_at() + Duration::days(DUE_DAYS)
    }
}

/// The one extension a request may get: up to sixty days, with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub days: i64,
    pub reason: String,
}

impl Extension {
    pub fn parse(days: &str, reason: &str) -> Result<Extension, FieldErrors> {
        let mut errors = FieldErrors::new();
        let days = match days.trim().parse::<i64>() {
            Ok(days) if (1..=MAX_EXTENSION_DAYS).contains(&days) => Some(days),
            _ => {
                errors.push(("days", "Extend by 1 to 60 days.".into()));
                None
            }
        };
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_TEXT {
            errors.push((
                "reason",
                "Give the reason the person will be told (at most 500 characters).".into(),
            ));
        }
        match days {
            Some(days) if errors.is_empty() => Ok(Extension {
                days,
                reason: reason.to_owned(),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    fn form() -> RequestForm {
        RequestForm {
            kind: "both".into(),
            email: " Ada@Example.com ".into(),
            external_id: "".into(),
            phone: "".into(),
            verification: "Replied from the address on file".into(),
            received_on: "2026-12-01".into(),
        }
    }

    #[test]
    fn a_request_is_due_thirty_days_after_it_arrived() {
        let intake = RequestIntake::parse(&form(), today()).unwrap();
        assert_eq!(intake.email.as_deref(), Some("ada@example.com"));
        assert_eq!(
            intake.due_at().date(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
        assert!(intake.kind.wants_access() && intake.kind.wants_erasure());
    }

    #[test]
    fn every_field_mistake_is_named_at_once() {
        let bad = RequestForm {
            kind: "gossip".into(),
            email: "not-an-address".into(),
            verification: " ".into(),
            received_on: "2027-01-01".into(),
            ..RequestForm::default()
        };
        let errors = RequestIntake::parse(&bad, today()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.0).collect();
        assert_eq!(fields, ["kind", "email", "verification", "received_on"]);
        let none = RequestForm {
            email: "".into(),
            ..form()
        };
        assert_eq!(RequestIntake::parse(&none, today()).unwrap_err()[0].0, "email");
    }

    #[test]
    fn standing_follows_the_clock() {
        let due = NaiveDate::from_ymd_opt(2026, 12, 31)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let at = |d: u32| {
            NaiveDate::from_ymd_opt(2026, 12, d)
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap()
        };
        assert_eq!(RequestStanding::at(false, due, at(1)), RequestStanding::Open);
        assert_eq!(RequestStanding::at(false, due, at(24)), RequestStanding::DueSoon);
        assert_eq!(RequestStanding::at(false, due, due), RequestStanding::Overdue);
        assert_eq!(RequestStanding::at(true, due, due), RequestStanding::Closed);
    }

    #[test]
    fn an_extension_is_up_to_sixty_days_with_a_reason() {
        assert_eq!(Extension::parse("60", "Many requests").unwrap().days, 60);
        assert_eq!(Extension::parse("61", "x").unwrap_err()[0].0, "days");
        assert_eq!(Extension::parse("10", " ").unwrap_err()[0].0, "reason");
    }
}
