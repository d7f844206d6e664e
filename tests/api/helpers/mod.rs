//! Starts the real server on a random port over a fresh database, with a real SMTP
//! listener for its mail, and talks to it over HTTP like a browser would.

pub mod api;
pub mod arrange;
pub mod destinations;
pub mod erasure_paths;
pub mod smtp;
pub mod webhook_receiver;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use erasure::config::Settings;
use erasure::db::{DatabaseUrl, DbConnection};
use erasure::startup::Application;
use erasure::web::state::AppState;
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};

pub use smtp::MailSink;

pub const OWNER_EMAIL: &str = "owner@example.com";
pub const OWNER_NAME: &str = "Olivia Owner";
pub const OWNER_PASSWORD: &str = "correct horse battery staple";
pub const WORKSPACE_NAME: &str = "Acme Shop";
pub const WORKSPACE_SLUG: &str = "acme-shop";

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when `TEST_DATABASE_URL` is set. On CI its absence is an error, so a
    /// PostgreSQL pass can never silently not happen.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Some(Backend::Postgres(url)),
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL pass must run")
            }
            _ => {
                eprintln!("skipped on PostgreSQL: TEST_DATABASE_URL is not set");
                None
            }
        }
    }
}

/// Runs each named `async fn name(backend: Backend)` once on SQLite and once on
/// PostgreSQL, as `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = $crate::helpers::Backend::postgres() {
                        super::$name(backend).await
                    }
                }
            )*
        }
    };
}

/// A database made for one test and dropped after it.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    admin_url: Option<String>,
    name: String,
}

impl TestDatabase {
    pub fn create(backend: &Backend, dir: &std::path::Path) -> TestDatabase {
        match backend {
            Backend::Sqlite => TestDatabase {
                url: DatabaseUrl::Sqlite(dir.join("erasure.db")),
                admin_url: None,
                name: String::new(),
            },
            Backend::Postgres(admin_url) => {
                let name = format!("erasure_test_{}", random_suffix());
                let mut admin = PgConnection::establish(admin_url).expect("connect to TEST_DATABASE_URL");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create a test database");
                let url = with_database(admin_url, &name);
                TestDatabase {
                    url: DatabaseUrl::Postgres(url),
                    admin_url: Some(admin_url.clone()),
                    name,
                }
            }
        }
    }
}

impl TestDatabase {
    /// The URL as the command line takes it (the resilience suite passes it to processes).
    #[allow(dead_code)]
    pub fn url_string(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(admin_url) = &self.admin_url {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
            }
        }
    }
}

fn random_suffix() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric
        .sample_string(&mut rand::thread_rng(), 12)
        .to_lowercase()
}

/// The same server URL with another database name.
fn with_database(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub mail: MailSink,
    pub data_dir: PathBuf,
    _dir: Arc<tempfile::TempDir>,
    _database: Arc<TestDatabase>,
}

/// Changes to the settings a test needs before the server starts.
pub type Tweak = Box<dyn FnOnce(&mut Settings) + Send>;

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Box::new(|_| {})).await
}

pub async fn spawn_app_with(backend: Backend, tweak: Tweak) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let database = TestDatabase::create(&backend, dir.path());
    let mail = MailSink::start().await;
    let data_dir = dir.path().join("data");
    let mut settings = Settings::for_database(database.url.clone(), data_dir.clone());
    settings.smtp_url = Some(format!("smtp://127.0.0.1:{}", mail.port()));
    settings.secret_key = Some("test-secret-key-that-is-long-enough-0123456789".into());
    tweak(&mut settings);
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let application = Application::build_with_listener(settings, listener).expect("the application starts");
    let port = application.port();
    let state = application.state.clone();
    tokio::spawn(application.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: new_client(),
        state,
        mail,
        data_dir,
        _dir: Arc::new(dir),
        _database: Arc::new(database),
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()
        .expect("an HTTP client")
}

/// A client whose connections come from another loopback address (127.0.0.2 and up
/// all reach a server listening on 127.0.0.1): another place on the internet, as far
/// as the server can tell.
pub fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .local_address(Some(address.parse().expect("an IP address")))
        .build()
        .expect("an HTTP client")
}

/// The value of `<meta name="csrf-token">` or of a `csrf_token` field in a page.
pub fn csrf_from(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let meta = scraper::Selector::parse(r#"meta[name="csrf-token"]"#).ok()?;
    if let Some(el) = doc.select(&meta).next() {
        return el.value().attr("content").map(str::to_owned);
    }
    let field = scraper::Selector::parse(r#"input[name="csrf_token"]"#).ok()?;
    doc.select(&field)
        .next()?
        .value()
        .attr("value")
        .map(str::to_owned)
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The session cookie a response sets, if it sets one.
pub fn set_session_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("erasure_session="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        .filter(|value| !value.is_empty())
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_with(&self.client, path).await
    }

    pub async fn get_with(&self, client: &reqwest::Client, path: &str) -> Response {
        client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_html(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("a body")
    }

    pub async fn get_html_with(&self, client: &reqwest::Client, path: &str) -> String {
        self.get_with(client, path).await.text().await.expect("a body")
    }

    /// The session's form token, read from a page the session can see.
    pub async fn csrf_token_for(&self, client: &reqwest::Client) -> String {
        for path in ["/settings/security", "/login", "/setup", "/login/totp"] {
            let response = self.get_with(client, path).await;
            if response.status() == StatusCode::OK {
                let html = response.text().await.expect("a body");
                if let Some(token) = csrf_from(&html) {
                    return token;
                }
            }
        }
        panic!("no page offered a form token");
    }

    pub async fn csrf_token(&self) -> String {
        self.csrf_token_for(&self.client).await
    }

    /// Posts a form as the page would, with the session's token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.post_form_with(&self.client, path, fields).await
    }

    pub async fn post_form_with(
        &self,
        client: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let token = self.csrf_token_for(client).await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        client.post(self.url(path)).form(&all).send().await.expect("POST")
    }

    /// Posts a form exactly as given, token or not.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    pub async fn setup_owner(&self) -> Response {
        let response = self
            .post_form(
                "/setup",
                &[
                    ("name", OWNER_NAME),
                    ("email", OWNER_EMAIL),
                    ("password", OWNER_PASSWORD),
                    ("password_confirm", OWNER_PASSWORD),
                    ("workspace", WORKSPACE_NAME),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "setup succeeds");
        response
    }

    pub async fn login_with(&self, client: &reqwest::Client, email: &str, password: &str) -> Response {
        self.post_form_with(client, "/login", &[("email", email), ("password", password)])
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.login_with(&self.client, email, password).await
    }

    pub async fn logout(&self) -> Response {
        self.post_form("/logout", &[]).await
    }

    /// A direct connection to the app's database, for arranging and inspecting state.
    pub fn db(&self) -> erasure::db::PooledConnection {
        self.state.db.pool().get().expect("a database connection")
    }

    pub fn sql(&self, statement: &str) {
        let mut conn = self.db();
        let conn: &mut DbConnection = &mut conn;
        match conn {
            DbConnection::Sqlite(c) => c.batch_execute(statement),
            DbConnection::Postgres(c) => c.batch_execute(statement),
        }
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    /// Runs a command of the binary against this app's database, data dir and key, as
    /// an operator on the server's machine would; returns whether it succeeded, and
    /// what it printed on standard output and on standard error.
    pub fn run_cli(&self, args: &[&str]) -> (bool, String, String) {
        let url = match &self.state.settings.database_url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        };
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_erasure"));
        command
            .args(args)
            .env("DATABASE_URL", url)
            .env("DATA_DIR", &self.data_dir)
            .env("RUST_LOG", "warn");
        if let Some(key) = &self.state.settings.secret_key {
            command.env("SECRET_KEY", key);
        }
        let output = command.output().expect("the erasure binary runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Ten recovery codes as this server stores them (keyed with its secret key): the
    /// codes, and the JSON for `users.recovery_codes`.
    pub fn new_recovery_codes(&self) -> (Vec<String>, String) {
        let (codes, digests) = erasure::totp::new_recovery_codes(&self.state.secret);
        (codes, serde_json::to_string(&digests).expect("digests as JSON"))
    }

    /// Turns two-step sign-in on for the account, as enrolling would leave it; returns
    /// the authenticator secret and the recovery codes.
    pub fn enable_totp(&self, email: &str) -> (String, Vec<String>) {
        let secret = erasure::totp::new_secret();
        let (codes, stored) = self.new_recovery_codes();
        let mut conn = self.db();
        let user = erasure::store::users::find_by_email(&mut conn, email)
            .expect("a user lookup")
            .expect("the user");
        erasure::store::users::set_totp(&mut conn, user.id, Some(&secret), &stored).expect("two-step on");
        (secret, codes)
    }

    /// The one number a query selects, in a column named `v` (of any integer type on
    /// either backend).
    pub fn number(&self, sql: &str) -> i64 {
        use diesel::sql_types::BigInt;
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct One {
            #[diesel(sql_type = BigInt)]
            v: i64,
        }
        let mut conn = self.db();
        diesel::sql_query(format!("SELECT CAST(v AS BIGINT) AS v FROM ({sql}) AS q"))
            .get_result::<One>(&mut **conn)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .v
    }

    /// The texts a query selects, in a column named `t`.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        use diesel::sql_types::Text;
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct One {
            #[diesel(sql_type = Text)]
            t: String,
        }
        let mut conn = self.db();
        diesel::sql_query(sql)
            .load::<One>(&mut **conn)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .map(|r| r.t)
            .collect()
    }

    /// Waits (up to a minute) until the preview at `job_path` has frozen its whole set,
    /// as its page's script does; returns its status.
    pub async fn wait_until_frozen(&self, job_path: &str) -> serde_json::Value {
        self.wait_until_frozen_with(&self.client, job_path).await
    }

    pub async fn wait_until_frozen_with(
        &self,
        client: &reqwest::Client,
        job_path: &str,
    ) -> serde_json::Value {
        for _ in 0..1200 {
            let status: serde_json::Value = self
                .get_with(client, &format!("{job_path}/progress.json"))
                .await
                .json()
                .await
                .expect("the preview's status as JSON");
            if status["frozen"] == true {
                return status;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the preview at {job_path} was not frozen within a minute");
    }

    /// How many audit entries record the action.
    pub fn audited(&self, action: &str) -> i64 {
        self.number(&format!(
            "SELECT COUNT(*) AS v FROM audit_log WHERE action = '{action}'"
        ))
    }

    pub fn count(&self, table: &str) -> i64 {
        use diesel::sql_types::BigInt;
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut conn = self.db();
        let row: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result(&mut **conn)
            .expect("count");
        row.n
    }
}

/// The servers' log for the whole test binary, at debug level: every test's server
/// logs into this one file once any test has asked for it, so a test can look for what
/// must never be logged.
pub fn server_log() -> &'static std::path::PathBuf {
    static LOG: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("erasure-api-tests-{}.log", std::process::id()));
        let file = std::fs::File::create(&path).expect("a log file");
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .try_init();
        path
    })
}
