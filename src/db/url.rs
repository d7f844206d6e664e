use std::path::PathBuf;

/// A database location, parsed from `sqlite://PATH` or `postgres://…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseUrlError {
    #[error("the database URL is empty")]
    Empty,
    #[error("a sqlite:// URL needs a file path, e.g. sqlite://data/erasure.db")]
    MissingPath,
    #[error("unsupported database URL scheme {0:?}: use sqlite:// or postgres://")]
    UnsupportedScheme(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, DatabaseUrlError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        if let Some(path) = raw.strip_prefix("sqlite://") {
            // `sqlite://data/x.db` is relative, `sqlite:///var/x.db` absolute.
            if path.is_empty() || path.ends_with('/') {
                return Err(DatabaseUrlError::MissingPath);
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_owned()));
        }
        let scheme = raw.split(':').next().unwrap_or_default().to_owned();
        Err(DatabaseUrlError::UnsupportedScheme(scheme))
    }

    /// The URL with any password replaced, fit for logs.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    parsed.to_string()
                }
                Err(_) => "postgres://(unparseable)".to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_sqlite_paths() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/erasure.db").unwrap(),
            DatabaseUrl::Sqlite("data/erasure.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/erasure.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/erasure.db".into())
        );
    }

    #[test]
    fn postgres_urls_are_kept_whole() {
        let url = "postgres://u:p@localhost:5432/erasure";
        assert_eq!(
            DatabaseUrl::parse(url).unwrap(),
            DatabaseUrl::Postgres(url.into())
        );
        assert!(DatabaseUrl::parse("postgresql://localhost/x").is_ok());
    }

    #[test]
    fn other_schemes_and_empty_urls_are_refused() {
        assert_eq!(
            DatabaseUrl::parse("mysql://localhost/x"),
            Err(DatabaseUrlError::UnsupportedScheme("mysql".into()))
        );
        assert_eq!(DatabaseUrl::parse("  "), Err(DatabaseUrlError::Empty));
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::MissingPath)
        );
        assert!(DatabaseUrl::parse("data/erasure.db").is_err());
    }

    #[test]
    fn redaction_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://u:secret@localhost/x").unwrap();
        assert!(!url.redacted().contains("secret"));
    }
}
