//! Rules of the layers, kept by reading the source: a change of state is one function
//! below `web`, which owns its transaction and its audit entry, and a text column with
//! a domain enum is read into the enum rather than compared to string literals.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Each line of code (comments cut off) under `dir` containing any of `needles`, as
/// `path:line: text`, with the path relative to the crate.
fn lines_containing(dir: &str, needles: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join(dir), &mut files);
    let mut hits = Vec::new();
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        let relative = path.strip_prefix(root).unwrap().display().to_string();
        for (n, line) in source.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if needles.iter().any(|needle| code.contains(needle)) {
                hits.push(format!("{relative}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    hits
}

#[test]
fn nothing_under_web_opens_a_write_transaction_or_appends_to_the_audit_log() {
    let hits = lines_containing("src/web", &["write_transaction", "audit::append", "transaction("]);
    assert!(
        hits.is_empty(),
        "a change of state belongs in accounts/, team/ or erasure/, with its transaction and audit entry:\n{}",
        hits.join("\n")
    );
    assert!(
        !lines_containing("src/erasure", &["write_transaction"]).is_empty(),
        "the scan reads the source"
    );
}

#[test]
fn the_layers_below_web_do_not_reach_up_into_it() {
    for layer in [
        "src/accounts",
        "src/team",
        "src/erasure",
        "src/store",
        "src/db",
        "src/domain",
    ] {
        let hits = lines_containing(layer, &["crate::web", "super::web"]);
        assert!(hits.is_empty(), "{layer} reaches into web:\n{}", hits.join("\n"));
    }
}

#[test]
fn job_kinds_and_states_are_compared_as_types_not_strings() {
    let hits = lines_containing(
        "src",
        &[
            "kind == \"",
            "kind != \"",
            "state == \"",
            "state != \"",
            "JobKind::parse(&job",
            "JobState::parse(&job",
        ],
    );
    assert!(
        hits.is_empty(),
        "a job column compared to a string literal; it is read into JobKind or JobState:\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_identifier_mode_is_compared_as_a_domain_enum_only() {
    let hits = lines_containing(
        "src",
        &[
            "\"id_or_email\"",
            "identifier_mode == \"",
            "identifier_mode != \"",
        ],
    );
    let offending: Vec<&String> = hits
        .iter()
        .filter(|hit| !hit.starts_with("src/domain/identifier.rs:"))
        .collect();
    assert!(
        offending.is_empty(),
        "read workspaces.identifier_mode as IdentifierMode, whose keys live in src/domain/identifier.rs:\n{}",
        offending
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        hits.iter()
            .any(|hit| hit.starts_with("src/domain/identifier.rs:")),
        "the scan found the enum's own keys"
    );
}

#[test]
fn the_server_hashes_passwords_only_in_its_bounded_pool() {
    let hits: Vec<String> = lines_containing(
        "src",
        &[
            "password::hash(",
            "password::verify(",
            "spawn_blocking(move || crate::password",
            "Argon2::default()",
        ],
    )
    .into_iter()
    .filter(|hit| !hit.starts_with("src/password/") && !hit.starts_with("src/cli.rs:"))
    .collect();
    assert!(
        hits.is_empty(),
        "a request's password is hashed through state.passwords (src/web/hashing.rs), which bounds the work:\n{}",
        hits.join("\n")
    );
    assert!(
        !lines_containing("src/web", &["password_matches("]).is_empty(),
        "the scan reads the source"
    );
}
