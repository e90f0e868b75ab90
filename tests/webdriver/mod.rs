//! A minimal W3C WebDriver client for browser tests: it starts `chromedriver` on a free
//! loopback port, opens one headless Chromium session with a fresh profile, and speaks the
//! WebDriver HTTP protocol with reqwest's blocking client. Include it with `mod webdriver;`.
//!
//! * [`browser_binaries`] finds Chromium and its driver (`/usr/bin/chromium`,
//!   `/usr/bin/chromedriver`, or the paths in `CHROMIUM_BIN` / `CHROMEDRIVER_BIN`).
//! * [`Driver::start`] starts both; dropping the [`Driver`] ends the session (which quits the
//!   browser) and kills the driver.
//! * Lookups wait: [`Driver::find`] polls for up to [`WAIT`]; [`Driver::wait_until`] polls any
//!   condition. Nothing here sleeps for a fixed time as a way of waiting for the page.
//! * Navigation by a form: [`Driver::mark_page`] tags the current document, and
//!   [`Driver::wait_new_page`] waits until a different, fully loaded document is showing —
//!   needed when a form posts and redirects back to the same address.
//! * Downloads land in [`Driver::download_dir`] (Chrome's `download.default_directory`);
//!   [`Driver::wait_download`] waits for a finished file.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

/// How long element lookups and [`Driver::wait_until`] poll by default.
pub const WAIT: Duration = Duration::from_secs(10);
/// Interval between polls.
const POLL: Duration = Duration::from_millis(50);
/// The W3C key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Paths of the browser and its driver.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// Chromium and chromedriver, if both are installed; otherwise what is missing.
pub fn browser_binaries() -> Result<Binaries, String> {
    let pick = |var: &str, default: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(default))
    };
    let chromium = pick("CHROMIUM_BIN", "/usr/bin/chromium");
    let chromedriver = pick("CHROMEDRIVER_BIN", "/usr/bin/chromedriver");
    let missing: Vec<String> = [&chromium, &chromedriver]
        .iter()
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        Ok(Binaries {
            chromium,
            chromedriver,
        })
    } else {
        Err(format!("not found: {}", missing.join(", ")))
    }
}

/// A WebDriver error: the protocol's error code and message, or a transport failure.
#[derive(Debug, Clone)]
pub struct WdError {
    /// e.g. `no such element`, `stale element reference`; `transport` for HTTP failures.
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

type WdResult<T> = Result<T, WdError>;

/// A running chromedriver with one open browser session.
pub struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
    downloads: PathBuf,
    // Profile, downloads and the driver's log; removed after the browser has quit.
    dir: TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Driver {
    /// Starts chromedriver and a headless Chromium session with a fresh profile.
    pub fn start(bins: &Binaries) -> Result<Driver, String> {
        let dir = tempfile::Builder::new()
            .prefix("helpdesk-browser-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let profile = dir.path().join("profile");
        let downloads = dir.path().join("downloads");
        std::fs::create_dir_all(&profile).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&downloads).map_err(|e| e.to_string())?;
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let log = dir.path().join("chromedriver.log");
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(&bins.chromedriver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", bins.chromedriver.display()))?;
            let base = format!("http://127.0.0.1:{port}");
            match wait_driver_ready(&http, &base, &mut child) {
                Ok(()) => {
                    let mut d = Driver {
                        child,
                        base,
                        session: String::new(),
                        http,
                        downloads,
                        dir,
                    };
                    d.session = d.new_session(&bins.chromium, &profile).map_err(|e| {
                        format!(
                            "cannot open a browser session: {e}\nchromedriver log:\n{}",
                            d.driver_log_tail()
                        )
                    })?;
                    return Ok(d);
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last = e;
                }
            }
        }
        Err(format!("chromedriver did not start: {last}"))
    }

    fn new_session(&self, chromium: &Path, profile: &Path) -> WdResult<String> {
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "goog:chromeOptions": {
                        "binary": chromium.display().to_string(),
                        "args": args,
                        "prefs": {
                            "download.default_directory": self.downloads.display().to_string(),
                            "download.prompt_for_download": false,
                            "download.directory_upgrade": true,
                        },
                    },
                    "timeouts": { "implicit": 0, "pageLoad": 30000, "script": 10000 },
                }
            }
        });
        let v = self.raw("POST", "/session", Some(caps))?;
        v["sessionId"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| WdError {
                error: "protocol".into(),
                message: format!("no sessionId in {v}"),
            })
    }

    /// One HTTP exchange with the driver; returns the answer's `value`.
    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> WdResult<Value> {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self
                .http
                .post(&url)
                .json(&body.unwrap_or_else(|| json!({}))),
        };
        let transport = |e: reqwest::Error| WdError {
            error: "transport".into(),
            message: format!("{method} {path}: {e}"),
        };
        let resp = req.send().map_err(transport)?;
        let ok = resp.status().is_success();
        let v: Value = resp.json().map_err(transport)?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if ok {
            Ok(value)
        } else {
            Err(WdError {
                error: value["error"].as_str().unwrap_or("unknown").to_string(),
                message: value["message"]
                    .as_str()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            })
        }
    }

    /// A session command: `path` is relative to `/session/{id}`.
    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> WdResult<Value> {
        self.raw(method, &format!("/session/{}{path}", self.session), body)
    }

    /// The last lines of chromedriver's log, for failure messages.
    pub fn driver_log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// The folder Chrome saves downloads into.
    pub fn download_dir(&self) -> &Path {
        &self.downloads
    }

    // ----- navigation -----

    /// Opens `url` and waits for it to load.
    #[track_caller]
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })))
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The address of the current page.
    #[track_caller]
    pub fn current_url(&self) -> String {
        self.cmd("GET", "/url", None)
            .map(|v| v.as_str().unwrap_or("").to_string())
            .unwrap_or_else(|e| panic!("current url: {e}"))
    }

    /// The page's title.
    #[track_caller]
    pub fn title(&self) -> String {
        self.cmd("GET", "/title", None)
            .map(|v| v.as_str().unwrap_or("").to_string())
            .unwrap_or_else(|e| panic!("title: {e}"))
    }

    /// The current document's HTML.
    #[track_caller]
    pub fn page_source(&self) -> String {
        self.cmd("GET", "/source", None)
            .map(|v| v.as_str().unwrap_or("").to_string())
            .unwrap_or_else(|e| panic!("page source: {e}"))
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub fn try_execute(&self, script: &str, args: Vec<Value>) -> WdResult<Value> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Like [`Driver::try_execute`], panicking on error.
    #[track_caller]
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.try_execute(script, args)
            .unwrap_or_else(|e| panic!("script {script:?}: {e}"))
    }

    /// Tags the current document, so that [`Driver::wait_new_page`] can tell when another one
    /// has replaced it (even at the same address).
    #[track_caller]
    pub fn mark_page(&self) {
        self.execute("window.__helpdesk_old_page = true; return true;", vec![]);
    }

    /// Waits until the document tagged by [`Driver::mark_page`] is gone and the new one has
    /// finished loading.
    #[track_caller]
    pub fn wait_new_page(&self) {
        self.wait_until("a new page to load", WAIT, || {
            match self.try_execute(
                "return window.__helpdesk_old_page !== true && document.readyState === 'complete';",
                vec![],
            ) {
                Ok(Value::Bool(true)) => Some(()),
                _ => None,
            }
        });
    }

    /// Polls `f` until it returns `Some`, for up to `limit`; panics naming `what` (with the
    /// current address) when it never does.
    #[track_caller]
    pub fn wait_until<T>(
        &self,
        what: &str,
        limit: Duration,
        mut f: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(v) = f() {
                return v;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {limit:?} waiting for {what}\n{}",
                    self.describe_page()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// The current address and the start of the page's visible text, for failure messages.
    pub fn describe_page(&self) -> String {
        let url = self.cmd("GET", "/url", None).unwrap_or_default();
        let text = self
            .try_execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let clipped: String = text.chars().take(2000).collect();
        format!("page {url}; its text:\n{clipped}")
    }

    // ----- elements -----

    /// The first element matching `css` right now.
    pub fn try_find(&self, css: &str) -> WdResult<Element<'_>> {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        element_id(&v).map(|id| Element { d: self, id })
    }

    /// All elements matching `css` right now (maybe none).
    #[track_caller]
    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let v = self
            .cmd(
                "POST",
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .unwrap_or_else(|e| panic!("find all {css:?}: {e}"));
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| element_id(e).ok())
            .map(|id| Element { d: self, id })
            .collect()
    }

    /// The first element matching `css`, waiting up to [`WAIT`] for it to appear.
    #[track_caller]
    pub fn find(&self, css: &str) -> Element<'_> {
        let deadline = Instant::now() + WAIT;
        loop {
            let err = match self.try_find(css) {
                Ok(e) => return e,
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {WAIT:?} waiting for element {css:?} (last error: {err})\n{}",
                    self.describe_page()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the text of the element matching `css` satisfies `pred`; returns the text.
    #[track_caller]
    pub fn wait_text(&self, css: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_until(&format!("{css:?} to show {what}"), WAIT, || {
            let text = self.try_find(css).ok()?.try_text().ok()?;
            pred(&text).then_some(text)
        })
    }

    // ----- screenshots and cookies -----

    /// A PNG of the viewport, written to `path` (parent folders created).
    #[track_caller]
    pub fn screenshot(&self, path: &Path) {
        let v = self
            .cmd("GET", "/screenshot", None)
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        let png = base64_decode(v.as_str().unwrap_or("")).expect("screenshot is base64");
        assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("screenshot folder");
        }
        std::fs::write(path, png).expect("write screenshot");
    }

    /// A PNG of the whole page height: the window is resized to the document, shot, and
    /// restored.
    #[track_caller]
    pub fn full_screenshot(&self, path: &Path) {
        let rect = self.cmd("GET", "/window/rect", None).unwrap_or_default();
        let h = self
            .execute(
                "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight);",
                vec![],
            )
            .as_u64()
            .unwrap_or(900)
            .clamp(300, 8000);
        let outer = self
            .execute("return window.outerHeight - window.innerHeight;", vec![])
            .as_u64()
            .unwrap_or(0);
        let _ = self.cmd(
            "POST",
            "/window/rect",
            Some(json!({ "width": rect["width"].as_u64().unwrap_or(1280), "height": h + outer })),
        );
        self.screenshot(path);
        let _ = self.cmd(
            "POST",
            "/window/rect",
            Some(json!({ "width": rect["width"], "height": rect["height"] })),
        );
    }

    /// The browser's cookies for the current page, as `(name, value)`.
    #[track_caller]
    pub fn cookies(&self) -> Vec<(String, String)> {
        let v = self
            .cmd("GET", "/cookie", None)
            .unwrap_or_else(|e| panic!("cookies: {e}"));
        v.as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or("").to_string(),
                    c["value"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// Waits up to `limit` for a finished download whose name ends with `suffix`.
    #[track_caller]
    pub fn wait_download(&self, suffix: &str, limit: Duration) -> PathBuf {
        self.wait_until(&format!("a downloaded *{suffix}"), limit, || {
            let entries = std::fs::read_dir(&self.downloads).ok()?;
            let names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            // Chrome writes `*.crdownload` and renames it when done.
            if names
                .iter()
                .any(|p| p.to_string_lossy().ends_with(".crdownload"))
            {
                return None;
            }
            names
                .into_iter()
                .find(|p| p.to_string_lossy().ends_with(suffix))
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Quits the browser; the driver itself is killed below either way.
            let _ = self.raw("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_driver_ready(
    http: &reqwest::blocking::Client,
    base: &str,
    child: &mut Child,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("chromedriver exited: {status}"));
        }
        if let Ok(r) = http
            .get(format!("{base}/status"))
            .timeout(Duration::from_secs(2))
            .send()
            && let Ok(v) = r.json::<Value>()
            && v["value"]["ready"] == true
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err("no answer on /status within 10 s".into());
        }
        std::thread::sleep(POLL);
    }
}

fn element_id(v: &Value) -> WdResult<String> {
    v[ELEMENT_KEY]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| WdError {
            error: "protocol".into(),
            message: format!("not an element reference: {v}"),
        })
}

/// An element of the current page.
pub struct Element<'a> {
    d: &'a Driver,
    id: String,
}

impl Element<'_> {
    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    /// Clicks it (scrolling it into view).
    #[track_caller]
    pub fn click(&self) {
        self.d
            .cmd("POST", &self.path("/click"), None)
            .unwrap_or_else(|e| panic!("click: {e}"));
    }

    /// Types `text` into it.
    #[track_caller]
    pub fn send_keys(&self, text: &str) {
        self.d
            .cmd("POST", &self.path("/value"), Some(json!({ "text": text })))
            .unwrap_or_else(|e| panic!("send keys: {e}"));
    }

    /// Empties an input or textarea.
    #[track_caller]
    pub fn clear(&self) {
        self.d
            .cmd("POST", &self.path("/clear"), None)
            .unwrap_or_else(|e| panic!("clear: {e}"));
    }

    /// Its rendered text.
    pub fn try_text(&self) -> WdResult<String> {
        self.d
            .cmd("GET", &self.path("/text"), None)
            .map(|v| v.as_str().unwrap_or("").to_string())
    }

    /// Its rendered text, panicking on error.
    #[track_caller]
    pub fn text(&self) -> String {
        self.try_text().unwrap_or_else(|e| panic!("text: {e}"))
    }

    /// An HTML attribute, if present.
    #[track_caller]
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.d
            .cmd("GET", &self.path(&format!("/attribute/{name}")), None)
            .unwrap_or_else(|e| panic!("attribute {name}: {e}"))
            .as_str()
            .map(str::to_string)
    }

    /// A DOM property (e.g. an input's current `value`).
    #[track_caller]
    pub fn property(&self, name: &str) -> Value {
        self.d
            .cmd("GET", &self.path(&format!("/property/{name}")), None)
            .unwrap_or_else(|e| panic!("property {name}: {e}"))
    }
}

/// Decodes standard base64 (with or without padding; whitespace ignored).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let data = clean
        .strip_suffix(b"==")
        .or_else(|| clean.strip_suffix(b"="))
        .unwrap_or(&clean);
    if data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn decodes_base64() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
        assert_eq!(base64_decode("Zm9vYg").unwrap(), b"foob");
        assert_eq!(base64_decode("iVBO\nRw0K").unwrap(), b"\x89PNG\r\n");
        assert!(base64_decode("Zm9v!").is_none());
    }
}
