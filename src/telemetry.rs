use tracing_subscriber::{fmt, EnvFilter};

/// Logs to stderr, filtered by RUST_LOG (default: info). Log lines carry ids and
/// counts, never passwords, codes, tokens or customers' personal data.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
