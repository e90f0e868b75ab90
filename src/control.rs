//! The control channel: a Unix socket `<data_dir>/control.sock` (mode 0600) through which CLI
//! commands reach a running `helpdesk serve` that holds the database lock.
//!
//! It is local-only by construction (a Unix socket), and authenticated twice: the socket file
//! is readable and writable by the server's user only, and the server checks each caller's
//! uid (`SO_PEERCRED`) is its own or root's. One JSON request line, one JSON response line.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::cli::{self, Command};
use crate::service::Service;

/// File name of the socket in the data folder.
pub const SOCKET: &str = "control.sock";

/// Largest request accepted (an FAQ import can be large).
pub const MAX_REQUEST: u64 = 64 << 20;

/// The server's answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    pub lines: Vec<String>,
    pub error: Option<String>,
}

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// Binds the socket (replacing a stale one left by a crash) with mode 0600.
pub fn bind(data_dir: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(data_dir);
    if path.exists() {
        // We hold the database lock, so no other server can be listening on it.
        std::fs::remove_file(&path)?;
    }
    let old = unsafe { libc::umask(0o177) };
    let listener = UnixListener::bind(&path);
    unsafe { libc::umask(old) };
    let listener = listener?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves control requests until the task is dropped.
pub async fn serve(listener: UnixListener, svc: Service, data_dir: PathBuf) {
    let me = unsafe { libc::geteuid() };
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("control socket accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
        };
        let uid = stream.peer_cred().map(|c| c.uid()).ok();
        if !matches!(uid, Some(u) if u == me || u == 0) {
            tracing::warn!(?uid, "control request from another user refused");
            continue;
        }
        let svc = svc.clone();
        let data_dir = data_dir.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(stream, svc, data_dir).await {
                tracing::warn!("control request failed: {e}");
            }
        });
    }
}

async fn handle(stream: UnixStream, svc: Service, data_dir: PathBuf) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut line = String::new();
    BufReader::new(r.take_limited())
        .read_line(&mut line)
        .await?;
    let resp = match serde_json::from_str::<Command>(&line) {
        Err(e) => Response {
            ok: false,
            lines: vec![],
            error: Some(format!("bad control request: {e}")),
        },
        Ok(cmd) => {
            tracing::info!(?cmd, "control request");
            let res = tokio::task::spawn_blocking(move || cli::execute(&svc, &data_dir, cmd))
                .await
                .unwrap_or_else(|e| Err(format!("the command failed: {e}")));
            match res {
                Ok(lines) => Response {
                    ok: true,
                    lines,
                    error: None,
                },
                Err(e) => Response {
                    ok: false,
                    lines: vec![],
                    error: Some(e),
                },
            }
        }
    };
    let mut out = serde_json::to_vec(&resp).expect("response serialises");
    out.push(b'\n');
    w.write_all(&out).await?;
    w.shutdown().await
}

trait TakeLimited {
    fn take_limited(self) -> tokio::io::Take<Self>
    where
        Self: Sized;
}

impl<R: tokio::io::AsyncRead> TakeLimited for R {
    fn take_limited(self) -> tokio::io::Take<Self> {
        tokio::io::AsyncReadExt::take(self, MAX_REQUEST)
    }
}

/// Sends `cmd` to a running server. `Ok(None)` when no server answers on the socket.
pub fn call(data_dir: &Path, cmd: &Command) -> Result<Option<Response>, String> {
    use std::io::{BufRead, Write};
    let path = socket_path(data_dir);
    let mut stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => s,
        Err(_) => return Ok(None),
    };
    let mut req = serde_json::to_vec(cmd).map_err(|e| e.to_string())?;
    req.push(b'\n');
    if req.len() as u64 > MAX_REQUEST {
        return Err(format!(
            "the request is too large for the running server's control socket ({} MiB, at most {} MiB): \
             stop `helpdesk serve` and run the command again, or split the input",
            req.len() >> 20,
            MAX_REQUEST >> 20
        ));
    }
    stream
        .write_all(&req)
        .map_err(|e| format!("control socket {}: {e}", path.display()))?;
    let mut line = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|e| format!("control socket {}: {e}", path.display()))?;
    if line.is_empty() {
        return Err(format!(
            "the running helpdesk closed the control socket {} without answering (is it running as another user?)",
            path.display()
        ));
    }
    serde_json::from_str(&line)
        .map(Some)
        .map_err(|e| format!("bad answer on the control socket: {e}"))
}
