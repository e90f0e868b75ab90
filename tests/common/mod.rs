//! Fixtures shared by the integration tests that drive the real `helpdesk` binary.
//!
//! Every test gets a [`Sandbox`]: a fresh temporary folder that is the working directory of
//! each command it runs, so the built-in default `./data` lands inside it and tests never see
//! each other's files. Commands run with every inherited `HELPDESK_*` variable removed (the
//! config reads `HELPDESK_<SECTION>_<KEY>` from the environment), plus only what the test sets.
//!
//! * [`Sandbox::run`] / [`Sandbox::run_stdin`] run a one-shot command to completion, with a
//!   time limit, and return a [`Run`] (exit status, stdout, stderr) with assertion helpers.
//! * [`Sandbox::serve`] starts `helpdesk serve` on a free loopback port and waits until
//!   `GET /healthz` answers; the returned [`Server`] reads its output in the background,
//!   makes HTTP requests, stops it with SIGTERM ([`Server::terminate`]), and kills it on drop
//!   if a test ends (or panics) while it still runs.
//!
//! Waiting is always by polling a condition with a deadline, never by a fixed sleep.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod browser;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_helpdesk");

/// How long a server gets to answer `/healthz` after start.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a one-shot command may run before the test fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server gets to exit after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval between readiness polls.
pub const POLL: Duration = Duration::from_millis(50);

/// A free TCP port on 127.0.0.1: bound to port 0, read back, released. Another process may
/// take it in between; [`Sandbox::serve`] retries with a new port when the bind fails.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// A `helpdesk` command with `cwd` as working directory and no inherited `HELPDESK_*` variable.
pub fn helpdesk_command(cwd: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("HELPDESK_") {
            cmd.env_remove(&k);
        }
    }
    // No colour codes in output we compare; no backtraces that would hide a panic check.
    cmd.env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LOG");
    cmd
}

/// Collects a child's pipe into a shared string on a background thread.
fn drain(mut pipe: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    })
}

/// Waits for `child` to exit within `limit`; `None` if it is still running.
fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return Some(s);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A fresh temporary folder used as the working directory of every command run in it.
pub struct Sandbox {
    dir: TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::Builder::new()
                .prefix("helpdesk-it-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    /// The folder itself.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `rel` inside the folder.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The default data folder, `./data`.
    pub fn data_dir(&self) -> PathBuf {
        self.join("data")
    }

    /// Writes `contents` to `rel` (creating parent folders); returns the full path.
    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent folder");
        }
        std::fs::write(&p, contents).expect("write fixture file");
        p
    }

    /// A `helpdesk` command in this folder (see [`helpdesk_command`]).
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = helpdesk_command(self.path());
        cmd.args(args);
        cmd
    }

    /// Runs `helpdesk ARGS` with empty stdin to completion.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_command(self.command(args), None)
    }

    /// Runs `helpdesk ARGS` with `stdin` piped in.
    pub fn run_stdin<I, S>(&self, args: I, stdin: &str) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_command(self.command(args), Some(stdin))
    }

    /// Starts `helpdesk serve --listen 127.0.0.1:PORT EXTRA…` here and waits for `/healthz`.
    #[track_caller]
    pub fn serve(&self, extra: &[&str]) -> Server {
        self.try_serve(extra, Listen::Flag)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Sandbox::serve`], but passes the address as `HELPDESK_WEB_LISTEN`.
    #[track_caller]
    pub fn serve_via_env(&self, extra: &[&str]) -> Server {
        self.try_serve(extra, Listen::Env)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts `helpdesk serve EXTRA…` on a free loopback port and waits for `/healthz`;
    /// returns the failure (with the server's output) instead of panicking. Retries with
    /// another port when the chosen one was taken meanwhile.
    pub fn try_serve(&self, extra: &[&str], listen: Listen) -> Result<Server, String> {
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let addr = format!("127.0.0.1:{port}");
            let mut cmd = self.command(["serve"]);
            match listen {
                Listen::Flag => {
                    cmd.args(["--listen", &addr]);
                }
                Listen::Env => {
                    cmd.env("HELPDESK_WEB_LISTEN", &addr);
                }
            }
            cmd.args(extra);
            let mut server = Server::spawn(cmd, port);
            match server.wait_ready(READY_TIMEOUT) {
                Ok(()) => return Ok(server),
                Err(e) if e.contains("cannot listen") => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}

/// How [`Sandbox::try_serve`] passes the listen address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// `serve --listen ADDR`.
    Flag,
    /// `HELPDESK_WEB_LISTEN=ADDR`.
    Env,
}

/// The outcome of a one-shot command.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to completion (killing it after [`RUN_TIMEOUT`]), feeding `stdin` if given.
pub fn run_command(mut cmd: Command, stdin: Option<&str>) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn helpdesk");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        // The command may exit before reading everything; that is its business.
        let _ = pipe.write_all(input.as_bytes());
    }
    let out = Arc::new(Mutex::new(String::new()));
    let err = Arc::new(Mutex::new(String::new()));
    let t1 = drain(child.stdout.take().expect("stdout pipe"), out.clone());
    let t2 = drain(child.stderr.take().expect("stderr pipe"), err.clone());
    let status = match wait_timeout(&mut child, RUN_TIMEOUT) {
        Some(s) => s,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} did not finish within {RUN_TIMEOUT:?}\nstdout:\n{}\nstderr:\n{}",
                out.lock().unwrap(),
                err.lock().unwrap()
            );
        }
    };
    let _ = t1.join();
    let _ = t2.join();
    let stdout = out.lock().unwrap().clone();
    let stderr = err.lock().unwrap().clone();
    Run {
        status,
        stdout,
        stderr,
    }
}

impl Run {
    /// Asserts exit code 0 and returns `self` for chaining.
    #[track_caller]
    pub fn success(&self) -> &Run {
        assert!(
            self.status.success(),
            "expected success, got {}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts a non-zero exit code (not a signal) and returns `self`.
    #[track_caller]
    pub fn failure(&self) -> &Run {
        assert!(
            matches!(self.status.code(), Some(c) if c != 0),
            "expected a non-zero exit code, got {}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts the contract for user errors: non-zero exit, exactly one non-empty line on
    /// stderr, no panic or backtrace text. Returns that line.
    #[track_caller]
    pub fn one_line_error(&self) -> String {
        self.failure();
        assert_no_panic(&self.stderr);
        assert_no_panic(&self.stdout);
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one line on stderr, got:\n{}",
            self.stderr
        );
        lines[0].to_string()
    }

    /// The last non-empty line of stdout.
    #[track_caller]
    pub fn last_stdout_line(&self) -> String {
        self.stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_else(|| panic!("no output on stdout; stderr:\n{}", self.stderr))
            .trim()
            .to_string()
    }
}

/// Fails if `text` shows a panic or a backtrace.
#[track_caller]
pub fn assert_no_panic(text: &str) {
    let lower = text.to_lowercase();
    assert!(!lower.contains("panicked"), "panic text in output:\n{text}");
    assert!(
        !lower.contains("stack backtrace"),
        "backtrace in output:\n{text}"
    );
    assert!(
        !lower.contains("rust_backtrace"),
        "backtrace hint in output:\n{text}"
    );
}

/// A running `helpdesk serve`. Killed (SIGKILL) on drop if still running.
pub struct Server {
    child: Child,
    port: u16,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    http: reqwest::blocking::Client,
    exited: Option<ExitStatus>,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    /// The body parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}):\n{}", self.body))
    }
}

impl Server {
    /// Spawns `cmd` (a `serve` command listening on `port`) without waiting for readiness.
    pub fn spawn(mut cmd: Command, port: u16) -> Server {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn helpdesk serve");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            drain(child.stdout.take().expect("stdout pipe"), stdout.clone()),
            drain(child.stderr.take().expect("stderr pipe"), stderr.clone()),
        ];
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .expect("http client");
        Server {
            child,
            port,
            stdout,
            stderr,
            readers,
            http,
            exited: None,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Everything it printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything it printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Polls `GET /healthz` every [`POLL`] until it answers 200. Fails (with the server's
    /// output) if the process exits first or `limit` passes.
    pub fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.exited = Some(status);
                self.join_readers();
                return Err(format!(
                    "helpdesk serve exited ({status}) before answering /healthz\nstdout:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                ));
            }
            if let Ok(r) = self
                .http
                .get(self.url("/healthz"))
                .timeout(Duration::from_secs(2))
                .send()
                && r.status().as_u16() == 200
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "helpdesk serve did not answer /healthz with 200 within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until stdout contains `needle`, up to `limit`.
    #[track_caller]
    pub fn wait_stdout(&self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let out = self.stdout();
            if out.contains(needle) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "stdout never contained {needle:?} within {limit:?}; it is:\n{out}"
            );
            std::thread::sleep(POLL);
        }
    }

    /// `GET path`.
    #[track_caller]
    pub fn get(&self, path: &str) -> Reply {
        let r = self
            .http
            .get(self.url(path))
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = r
            .text()
            .unwrap_or_else(|e| panic!("GET {path}: reading the body: {e}"));
        Reply {
            status,
            content_type,
            body,
        }
    }

    /// Sends SIGTERM and waits up to [`STOP_TIMEOUT`] for the exit; panics if it does not stop.
    #[track_caller]
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit(STOP_TIMEOUT)
    }

    /// Sends `sig` to the process.
    pub fn signal(&self, sig: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) on our own child's pid; it has not been reaped yet (we only reap in
        // wait_exit / drop), so the pid cannot have been reused.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(
            rc,
            0,
            "kill({pid}, {sig}) failed: {}",
            std::io::Error::last_os_error()
        );
    }

    /// Waits for the process to exit within `limit`, then for its output to be read.
    #[track_caller]
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        if let Some(s) = self.exited {
            return s;
        }
        match wait_timeout(&mut self.child, limit) {
            Some(s) => {
                self.exited = Some(s);
                self.join_readers();
                s
            }
            None => panic!(
                "helpdesk serve did not exit within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            ),
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.exited.is_none() && self.child.try_wait().expect("try_wait").is_none()
    }

    fn join_readers(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Names of the entries of a `tar.zst` archive, in order, read with the `zstd` and `tar` crates.
pub fn archive_entries(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).expect("open archive");
    let dec = zstd::Decoder::new(file).expect("zstd decoder");
    let mut ar = tar::Archive::new(dec);
    ar.entries()
        .expect("tar entries")
        .map(|e| {
            e.expect("tar entry")
                .path()
                .expect("entry path")
                .to_string_lossy()
                .to_string()
        })
        .collect()
}

/// The contents of entry `name` of a `tar.zst` archive.
pub fn archive_entry(path: &Path, name: &str) -> Vec<u8> {
    let file = std::fs::File::open(path).expect("open archive");
    let dec = zstd::Decoder::new(file).expect("zstd decoder");
    let mut ar = tar::Archive::new(dec);
    for e in ar.entries().expect("tar entries") {
        let mut e = e.expect("tar entry");
        if e.path().expect("entry path").to_string_lossy() == name {
            let mut buf = Vec::new();
            e.read_to_end(&mut buf).expect("read entry");
            return buf;
        }
    }
    panic!("{} has no entry {name}", path.display());
}

/// Whether `tool` can be run (`tool --version` succeeds).
pub fn have_tool(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Every file under `dir` (relative path → bytes), sorted, folders included as empty entries
/// with a trailing `/`.
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let e = e.expect("dir entry");
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
            if e.file_type().expect("file type").is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(root, &p, out);
            } else {
                out.push((rel, std::fs::read(&p).expect("read file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
