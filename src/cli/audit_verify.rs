//! `erasure audit verify`: walks the chain with the server's key, compares its end with
//! the data dir's head file, and fails on anything broken.

use crate::config::Settings;
use crate::secret::SecretKey;
use crate::startup::open_database;
use crate::store::audit::{verify_chain, ChainReport, HeadCheck, HEAD_FILE_NAME};

pub fn run(settings: &Settings) -> Result<(), String> {
    // Never a new key: one made now would only mismatch every entry.
    let secret = SecretKey::load_existing(settings.secret_key.as_deref(), &settings.data_dir)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "no secret key: set SECRET_KEY, or DATA_DIR to the server's data dir (no secret.key in {}); \
                 the audit log is sealed with the server's key and can only be checked with it",
                settings.data_dir.display()
            )
        })?;
    let database = open_database(settings, &secret).map_err(|e| e.to_string())?;
    let mut conn = database.pool().get().map_err(|e| e.to_string())?;
    let head_file = settings.data_dir.join(HEAD_FILE_NAME);
    let head_file = head_file.display();
    match verify_chain(&mut conn, 1000).map_err(|e| e.to_string())? {
        ChainReport::Intact {
            entries,
            last_hash,
            legacy_entries,
            head,
        } => {
            println!("audit log intact: {entries} entries, last hash {last_hash}");
            match head {
                HeadCheck::Confirmed { id } => {
                    println!("the newest entry recorded in {head_file}, #{id}, is in the log as recorded")
                }
                HeadCheck::NoFile if entries > 0 => eprintln!(
                    "warning: there is no {head_file}, so nothing shows whether the newest entries were \
                     deleted: this data dir has recorded no entry (a new data dir, or another server's), or \
                     its file was removed. The next entry appended records one."
                ),
                HeadCheck::NoFile => {}
            }
            if legacy_entries > 0 {
                eprintln!(
                    "warning: the first {legacy_entries} entries are sealed with the old unkeyed rule, which \
                     anyone with write access to the database could recompute; the server seals them with \
                     its key when it next starts"
                );
            }
            Ok(())
        }
        ChainReport::Altered { id } => Err(format!(
            "audit entry #{id} was altered: its content does not match its hash"
        )),
        ChainReport::Missing { after_id, before_id } => Err(format!(
            "audit entries are missing between #{after_id} and #{before_id}"
        )),
        ChainReport::NewestMissing { from_id, to_id } => Err(format!(
            "{} {head_file} records #{to_id} as the newest entry; the newest entries were deleted, or the \
             database was restored from an older backup",
            missing_range(from_id, to_id)
        )),
        ChainReport::Replaced { id } => Err(format!(
            "audit entry #{id} is not the one {head_file} recorded as the newest: the log from #{id} on was \
             replaced, or the database was restored from an older backup and written to since"
        )),
        ChainReport::HeadInvalid { reason } => {
            Err(format!("the audit head file cannot be trusted: {reason}"))
        }
    }
}

fn missing_range(from_id: i64, to_id: i64) -> String {
    if from_id == to_id {
        format!("audit entry #{to_id} is missing:")
    } else {
        format!("audit entries #{from_id} to #{to_id} are missing:")
    }
}
