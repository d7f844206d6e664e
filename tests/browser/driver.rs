//! A real browser for the tests: Debian's chromium, driven by chromedriver over
//! WebDriver. Elements are found the way a person finds them: by heading, label,
//! button or link text, never by CSS path.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use thirtyfour::prelude::*;

pub struct Browser {
    pub driver: WebDriver,
    chromedriver: Child,
    base: String,
    _profile: tempfile::TempDir,
}

/// Why the browser tests cannot run here, if they cannot.
pub fn unavailable() -> Option<String> {
    for binary in [chromium_path(), chromedriver_path()] {
        if !binary.exists() {
            return Some(format!(
                "{} is not installed (apt-get install chromium chromium-driver)",
                binary.display()
            ));
        }
    }
    None
}

fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into())
}

fn chromedriver_path() -> PathBuf {
    std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromedriver".into())
}

/// Skips (off CI) or fails (on CI) when there is no browser. Returns true to go on.
pub fn browser_or_skip(test: &str) -> bool {
    match unavailable() {
        None => true,
        Some(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{test}: the browser suite must run on CI, but {why}")
        }
        Some(why) => {
            eprintln!("skipped browser test {test}: {why}");
            false
        }
    }
}

pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

impl Browser {
    pub async fn start(base: &str) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let chromedriver = Command::new(chromedriver_path())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(chromium_path().to_str().unwrap()).unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ] {
            caps.add_arg(arg).unwrap();
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..100 {
            match WebDriver::new(&url, caps.clone()).await {
                Ok(driver) => {
                    driver
                        .set_implicit_wait_timeout(Duration::from_millis(0))
                        .await
                        .unwrap();
                    return Browser {
                        driver,
                        chromedriver,
                        base: base.to_owned(),
                        _profile: profile,
                    };
                }
                Err(err) => {
                    last_error = Some(err);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("chromedriver did not answer: {last_error:?}");
    }

    pub async fn open(&self, path: &str) {
        self.driver.goto(format!("{}{}", self.base, path)).await.unwrap();
    }

    pub async fn path(&self) -> String {
        let url = self.driver.current_url().await.unwrap();
        let mut path = url.path().to_owned();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        path
    }

    /// Waits until the browser has left `path` (a form's submission has landed).
    pub async fn wait_until_away_from(&self, path: &str) {
        for _ in 0..100 {
            if self.path().await != path {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot("failed-stuck").await;
        panic!("still on {path}");
    }

    /// The page's visible text; retried while a navigation replaces the page.
    pub async fn text(&self) -> String {
        for _ in 0..50 {
            if let Ok(body) = self.driver.find(By::Tag("body")).await {
                if let Ok(text) = body.text().await {
                    return text;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never settled on {}", self.path().await);
    }

    /// Waits up to ten seconds for an element.
    async fn wait_for(&self, by: By, what: &str) -> WebElement {
        for _ in 0..100 {
            if let Ok(found) = self.driver.find(by.clone()).await {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot(&format!(
            "failed-{}",
            what.replace(|c: char| !c.is_alphanumeric(), "-")
        ))
        .await;
        panic!("not found on {}: {what}", self.path().await);
    }

    pub async fn heading(&self, text: &str) -> WebElement {
        self.wait_for(
            By::XPath(format!(
                "//h1[contains(normalize-space(), {})]",
                xpath_literal(text)
            )),
            text,
        )
        .await
    }

    /// The form control a `<label>` with this text names. Retried while a page is
    /// being replaced, when an element found a moment ago no longer belongs to it.
    pub async fn field(&self, label: &str) -> WebElement {
        let by_label = By::XPath(format!(
            "//label[contains(normalize-space(), {})]",
            xpath_literal(label)
        ));
        for _ in 0..50 {
            if let Ok(label_el) = self.driver.find(by_label.clone()).await {
                let found = match label_el.attr("for").await {
                    Ok(Some(id)) => self.driver.find(By::Id(id)).await,
                    Ok(None) => label_el.find(By::Tag("input")).await,
                    Err(err) => Err(err),
                };
                if let Ok(field) = found {
                    return field;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot(&format!(
            "failed-field-{}",
            label.replace(|c: char| !c.is_alphanumeric(), "-")
        ))
        .await;
        panic!("no field labelled {label:?} on {}", self.path().await);
    }

    pub async fn fill(&self, label: &str, value: &str) {
        for _ in 0..20 {
            let field = self.field(label).await;
            if field.clear().await.is_ok() && field.send_keys(value).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("could not type into {label:?}");
    }

    pub async fn tick(&self, label: &str) {
        let field = self.field(label).await;
        if !field.is_selected().await.unwrap() {
            field.click().await.unwrap();
        }
    }

    pub async fn button(&self, name: &str) -> WebElement {
        self.wait_for(
            By::XPath(format!(
                "//button[contains(normalize-space(), {})]",
                xpath_literal(name)
            )),
            name,
        )
        .await
    }

    pub async fn press(&self, name: &str) {
        self.button(name).await.click().await.unwrap();
    }

    pub async fn follow(&self, link_text: &str) {
        self.wait_for(
            By::XPath(format!(
                "//a[contains(normalize-space(), {})]",
                xpath_literal(link_text)
            )),
            link_text,
        )
        .await
        .click()
        .await
        .unwrap();
    }

    pub async fn has_button(&self, name: &str) -> bool {
        self.driver
            .find(By::XPath(format!(
                "//button[contains(normalize-space(), {})]",
                xpath_literal(name)
            )))
            .await
            .is_ok()
    }

    pub async fn has_link(&self, text: &str) -> bool {
        self.driver
            .find(By::XPath(format!(
                "//a[contains(normalize-space(), {})]",
                xpath_literal(text)
            )))
            .await
            .is_ok()
    }

    /// Waits until the page's text contains `text`.
    pub async fn wait_for_text(&self, text: &str) {
        for _ in 0..150 {
            if self.text().await.contains(text) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot(&format!(
            "failed-text-{}",
            text.replace(|c: char| !c.is_alphanumeric(), "-")
        ))
        .await;
        panic!("{text:?} never appeared on {}", self.path().await);
    }

    pub async fn screenshot(&self, name: &str) {
        let path = screenshot_dir().join(format!("{name}.png"));
        if let Err(err) = self.driver.screenshot(&path).await {
            eprintln!("could not save {}: {err}", path.display());
        }
    }

    pub async fn quit(mut self) {
        let _ = self.driver.clone().quit().await;
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
    }
}

/// Quotes text for XPath, whatever quotes it holds.
fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}
