//! The command line: `erasure serve | migrate | create-owner`.

mod audit_verify;

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{DatabaseArgs, ServeArgs, Settings};
use crate::domain::{Email, WorkspaceName};
use crate::startup::{load_secret, open_database, open_database_unsealed, Application};
use crate::store::audit::RequestOrigin;

#[derive(Debug, Parser)]
#[command(
    name = "erasure",
    version,
    about = "Delete, anonymize and suppress customer data"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the console (the default when no command is given)
    Serve {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Work with the audit log
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Manage Track API keys
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Fill a workspace with generated customers and events, to try or measure the console
    Seed {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The workspace's slug, as in /w/SLUG
        #[arg(long)]
        workspace: String,
        /// How many customers to add
        #[arg(long, default_value_t = 1000)]
        customers: u64,
        /// How many events each customer gets
        #[arg(long, default_value_t = 10)]
        events_per_customer: u32,
        /// The random seed: the same seed gives the same data
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Apply the erasure journal again to a database restored from an older backup
    ReplayErasures {
        #[command(flatten)]
        db: DatabaseArgs,
        /// Replay what was erased on or after this date (YYYY-MM-DD)
        #[arg(long)]
        since: String,
        /// Journal files to read (default: DATA_DIR/erasure-journal.jsonl); give one per
        /// server when several servers share the database
        #[arg(long)]
        journal: Vec<std::path::PathBuf>,
    },
    /// Work with retention policies
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Apply pending database migrations and exit
    Migrate {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Create the account owner and the first workspace, without the setup page
    CreateOwner {
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Read the password from standard input
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long, default_value = "My workspace")]
        workspace: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and report the first altered or missing entry
    Verify {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Run the retention policies that are due now (the server runs them every minute);
    /// their jobs are erased by a running server's job runner
    Run {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The address people reach the console at, for the links in the owner's mail
        #[arg(long, env = "PUBLIC_URL")]
        public_url: Option<String>,
        /// smtp://user:pass@host:port or smtps://…; when unset mail goes to DATA_DIR/outbox
        #[arg(long, env = "SMTP_URL", hide_env_values = true)]
        smtp_url: Option<String>,
        /// The From: of the owner's mail
        #[arg(long, env = "MAIL_FROM", default_value = "Erasure <erasure@localhost>")]
        mail_from: String,
    },
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// Create a key for a workspace; prints the site id and the key, which is shown only once
    Create {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The workspace's slug, as in /w/SLUG
        #[arg(long)]
        workspace: String,
        /// What the key is for, e.g. the program that will use it
        #[arg(long)]
        name: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or_else(|| {
        // `erasure` alone serves with every default (and the environment).
        match Cli::parse_from(["erasure", "serve"]).command {
            Some(command) => command,
            None => unreachable!("serve was given"),
        }
    });
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn settings_without_server(db: &DatabaseArgs) -> Result<Settings, String> {
    Settings::from_args(db, &serve_args_without_server()?).map_err(|e| e.to_string())
}

/// The server's settings with the defaults, for commands that serve nothing.
fn serve_args_without_server() -> Result<ServeArgs, String> {
    Ok(ServeArgs {
        bind: "127.0.0.1:0".parse().map_err(|_| "bad address")?,
        public_url: None,
        smtp_url: None,
        mail_from: "Erasure <erasure@localhost>".into(),
        session_idle_minutes: 30,
        session_absolute_hours: 12,
        http_workers: None,
        job_batch_size: crate::config::DEFAULT_JOB_BATCH_SIZE,
        job_lease_seconds: 30,
        api_rate_limit: 100,
        import_preview_minutes: 60,
        trusted_proxies: Vec::new(),
        password_workers: None,
        delivery_timeout_seconds: 10,
        delivery_retry_first_ms: 5_000,
        delivery_retry_window_seconds: 259_200,
    })
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Serve { db, serve } => {
            let settings = Settings::from_args(&db, &serve).map_err(|e| e.to_string())?;
            let bind = settings.bind;
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(settings).map_err(|e| e.to_string())?;
                tracing::info!(address = %bind, "console listening");
                app.run_until_stopped().await.map_err(|e| e.to_string())
            })
        }
        Command::Audit {
            command: AuditCommand::Verify { db },
        } => audit_verify::run(&settings_without_server(&db)?),
        Command::ApiKey {
            command: ApiKeyCommand::Create { db, workspace, name },
        } => create_api_key(&db, &workspace, &name),
        Command::Seed {
            db,
            workspace,
            customers,
            events_per_customer,
            seed,
        } => {
            let settings = settings_without_server(&db)?;
            crate::seed::run_command(
                &settings,
                &crate::seed::SeedPlan {
                    workspace_slug: workspace,
                    customers,
                    events_per_customer,
                    seed,
                },
            )
        }
        Command::ReplayErasures { db, since, journal } => {
            let settings = settings_without_server(&db)?;
            let since = chrono::NaiveDate::parse_from_str(&since, "%Y-%m-%d")
                .map_err(|_| "--since: use a date like 2026-01-31".to_owned())?;
            let secret = load_secret(&settings).map_err(|e| e.to_string())?;
            let files = if journal.is_empty() {
                vec![settings.data_dir.join(crate::erasure::journal::FILE_NAME)]
            } else {
                journal
            };
            let mut entries = Vec::new();
            for file in &files {
                let (mut read, unreadable) =
                    crate::erasure::journal::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
                if unreadable > 0 {
                    eprintln!("{}: {unreadable} unreadable line(s) skipped", file.display());
                }
                entries.append(&mut read);
            }
            let start = since.and_hms_opt(0, 0, 0).unwrap_or_default();
            entries.retain(|e| e.at >= start);
            entries.sort_by_key(|e| e.at);
            let database = open_database(&settings, &secret).map_err(|e| e.to_string())?;
            let mut conn = database.pool().get().map_err(|e| e.to_string())?;
            let report =
                crate::erasure::replay::replay(&mut conn, &secret, &entries).map_err(|e| e.to_string())?;
            println!(
                "replayed {} journal entries: {} customers deleted again, {} archived again, {} identifiers suppressed again, {} unsuppressed again",
                report.entries, report.deleted_again, report.archived_again, report.suppressed_again, report.unsuppressed_again
            );
            Ok(())
        }
        Command::Retention {
            command:
                RetentionCommand::Run {
                    db,
                    public_url,
                    smtp_url,
                    mail_from,
                },
        } => {
            // The owner's mail goes out as the server's would, with the same links.
            let serve = ServeArgs {
                public_url: public_url.filter(|u| !u.trim().is_empty()),
                smtp_url,
                mail_from,
                ..serve_args_without_server()?
            };
            run_retention(&Settings::from_args(&db, &serve).map_err(|e| e.to_string())?)
        }
        Command::Migrate { db } => {
            let settings = settings_without_server(&db)?;
            open_database_unsealed(&settings).map_err(|e| e.to_string())?;
            println!("database is up to date");
            Ok(())
        }
        Command::CreateOwner {
            db,
            email,
            name,
            password_stdin: _,
            workspace,
        } => {
            let settings = settings_without_server(&db)?;
            let email = Email::parse(&email).map_err(|e| format!("--email: {e}"))?;
            let name = crate::domain::PersonName::parse(&name).map_err(|e| format!("--name: {e}"))?;
            let workspace = WorkspaceName::parse(&workspace).map_err(|e| format!("--workspace: {e}"))?;
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| format!("reading the password: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            crate::password::check_new(&password, &[email.as_str(), name.as_str(), workspace.as_str()])
                .map_err(|e| format!("password: {e}"))?;
            let hash = crate::password::hash(&password).map_err(|e| e.to_string())?;
            // The first entries of the audit log are appended here, sealed with the key
            // the server will use: the configured one, or the data dir's (made now).
            let secret = load_secret(&settings).map_err(|e| e.to_string())?;
            let database = open_database(&settings, &secret).map_err(|e| e.to_string())?;
            let mut conn = database.pool().get().map_err(|e| e.to_string())?;
            let origin = RequestOrigin {
                request_id: "cli".into(),
                client_ip: String::new(),
            };
            let (user, workspace) = crate::accounts::create_owner(
                &mut conn,
                &email,
                name.as_str(),
                &hash,
                &workspace,
                &origin,
                None,
            )
            .map_err(|e| e.to_string())?;
            println!(
                "owner {} created (user id {}); workspace {} at /w/{}",
                user.email, user.id, workspace.name, workspace.slug
            );
            Ok(())
        }
    }
}

fn run_retention(settings: &Settings) -> Result<(), String> {
    use crate::retention::runs::{RunContext, RunOutcome};
    let secret = load_secret(settings).map_err(|e| e.to_string())?;
    let database = open_database(settings, &secret).map_err(|e| e.to_string())?;
    let mut conn = database.pool().get().map_err(|e| e.to_string())?;
    let mailer = crate::mail::Mailer::new(
        settings.smtp_url.as_deref(),
        settings.data_dir.join("outbox"),
        &settings.mail_from,
    )
    .map_err(|e| e.to_string())?;
    let context = RunContext {
        journal: crate::erasure::journal::Journal::in_data_dir(&settings.data_dir),
        secret,
    };
    let outcomes = crate::retention::schedule::run_and_tell(
        &mut conn,
        &context,
        &mailer,
        &settings.public_url,
        crate::store::now(),
    )
    .map_err(|e| e.to_string())?;
    for outcome in &outcomes {
        match outcome {
            RunOutcome::Started { policy_id, job_id, customers } => {
                println!("policy {policy_id}: job {job_id} queued for {customers} customers")
            }
            RunOutcome::WaitsForOwner { policy_id, job_id, customers, .. } => println!(
                "policy {policy_id}: job {job_id} for {customers} customers waits for the owner's confirmation"
            ),
            RunOutcome::Pending { policy_id, job_id } => {
                println!("policy {policy_id}: job {job_id} from an earlier run is not done yet")
            }
            RunOutcome::NothingNew { policy_id } => println!("policy {policy_id}: nothing new to erase"),
            RunOutcome::NotDue { policy_id } => println!("policy {policy_id}: run elsewhere meanwhile"),
        }
    }
    println!("{} due retention policies run", outcomes.len());
    Ok(())
}

fn create_api_key(db: &DatabaseArgs, slug: &str, name: &str) -> Result<(), String> {
    let settings = settings_without_server(db)?;
    let name = crate::domain::ApiKeyName::parse(name).map_err(|e| format!("--name: {e}"))?;
    let secret = load_secret(&settings).map_err(|e| e.to_string())?;
    let database = open_database(&settings, &secret).map_err(|e| e.to_string())?;
    let mut conn = database.pool().get().map_err(|e| e.to_string())?;
    let workspace = crate::store::workspaces::find_by_slug(&mut conn, slug)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("--workspace: no workspace at /w/{slug}"))?;
    let origin = RequestOrigin {
        request_id: "cli".into(),
        client_ip: String::new(),
    };
    let issued = crate::store::api_keys::issue(
        &mut conn,
        &secret,
        workspace.id,
        &name,
        crate::store::audit::Actor::System,
        &origin,
    )
    .map_err(|e| e.to_string())?;
    eprintln!(
        "API key \"{}\" created for workspace {}. Copy it now: it is not stored and cannot be shown again.",
        issued.key.name, workspace.name
    );
    println!("site id: {}", workspace.site_id);
    println!("api key: {}", issued.secret);
    Ok(())
}
