use std::fmt;

/// What a job does: to its targets, or (an import) with the rows of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Delete,
    Archive,
    DeleteAll,
    Import,
}

impl JobKind {
    pub const fn key(self) -> &'static str {
        match self {
            JobKind::Delete => "delete",
            JobKind::Archive => "archive",
            JobKind::DeleteAll => "delete_all",
            JobKind::Import => "import",
        }
    }

    pub fn parse(key: &str) -> Option<JobKind> {
        [
            JobKind::Delete,
            JobKind::Archive,
            JobKind::DeleteAll,
            JobKind::Import,
        ]
        .into_iter()
        .find(|k| k.key() == key)
    }

    /// Deleting removes profiles; archiving keeps them anonymous.
    pub fn deletes(self) -> bool {
        matches!(self, JobKind::Delete | JobKind::DeleteAll)
    }

    /// "Delete", "Archive", "Delete all", "Import": for headings and buttons.
    pub fn label(self) -> &'static str {
        match self {
            JobKind::Delete => "Delete",
            JobKind::Archive => "Archive",
            JobKind::DeleteAll => "Delete all",
            JobKind::Import => "Import",
        }
    }

    /// "deleted", "archived", "imported": for results.
    pub fn past_tense(self) -> &'static str {
        match self {
            JobKind::Delete | JobKind::DeleteAll => "deleted",
            JobKind::Archive => "archived",
            JobKind::Import => "imported",
        }
    }
}

/// A stored kind nobody wrote: read as an error, never run as some other kind.
#[derive(Debug, thiserror::Error)]
#[error("unknown job kind {0:?}")]
pub struct UnknownJobKind(pub String);

impl TryFrom<String> for JobKind {
    type Error = UnknownJobKind;

    fn try_from(key: String) -> Result<JobKind, UnknownJobKind> {
        JobKind::parse(&key).ok_or(UnknownJobKind(key))
    }
}

impl From<JobKind> for String {
    fn from(kind: JobKind) -> String {
        kind.key().to_owned()
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in [
            JobKind::Delete,
            JobKind::Archive,
            JobKind::DeleteAll,
            JobKind::Import,
        ] {
            assert_eq!(JobKind::parse(kind.key()), Some(kind));
        }
        assert_eq!(JobKind::parse("drop"), None);
        assert!(JobKind::try_from("drop".to_owned()).is_err());
    }
}
