//! `helpdesk serve`: opens the store, prints the first-run setup link, starts the web server
//! and the control channel, and stops cleanly on SIGINT/SIGTERM.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use tokio::net::TcpListener;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::service::{Service, ServiceConfig};
use crate::store::{Store, StoreError};
use crate::web::{AppState, BotState, Health};
use crate::{bot, control, jobs, logging, notify, web};

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let data_dir = config.storage.data_dir.clone();
    let (log, log_problem) = logging::init_server(&config.log, &data_dir.join("logs"))?;
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    if let Some(p) = log_problem {
        tracing::warn!("logging to stdout only: {p}");
    }

    // A data folder that cannot be written (read-only mount, wrong owner after a restore) is
    // an outage, not a reason to exit: serve the maintenance mode and retry until it heals.
    let mut early_listener = None;
    let mut outage = None;
    if let Some(problem) = data_dir_problem(&data_dir)? {
        let listener = bind(&config).await?;
        let since = chrono::Utc::now();
        match maintenance(&config, &listener, problem).await? {
            Maintenance::Writable => {}
            Maintenance::Stopped => return Ok(()),
        }
        if let Err(e) = log.open_files(&data_dir.join("logs")) {
            tracing::warn!("logging to stdout only: {e}");
        }
        early_listener = Some(listener);
        outage = Some(since);
    }

    let service = open_service(&config)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        data_dir = %data_dir.display(),
        config = %config.source.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "built-in defaults".into()),
        "helpdesk starting"
    );
    if let Some(since) = outage {
        let minutes = (chrono::Utc::now() - since).num_minutes().to_string();
        let since = since
            .with_timezone(&config.ui.timezone)
            .format("%Y-%m-%d %H:%M")
            .to_string();
        tracing::info!("the data folder is writable again; leaving maintenance mode");
        if let Err(e) = service.alert_superadmins(
            "alert.data_dir_recovered",
            &[("since", &since), ("minutes", &minutes)],
        ) {
            tracing::warn!("cannot queue the recovery alert: {e}");
        }
    }

    let listener = match early_listener {
        Some(l) => l,
        None => bind(&config).await?,
    };
    let addr = listener.local_addr()?;

    if let Some(token) = service.begin_setup()? {
        let base = setup_base(&config, addr);
        println!(
            "No staff account exists yet. Open this one-time link to create the first administrator:"
        );
        println!("  {base}/setup/{token}");
        println!("(or run: helpdesk admin add --login NAME --role admin --password-stdin)");
        tracing::info!("one-time setup link printed on stdout");
    }

    let health = Arc::new(Health::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    // Derived search index: rebuilt from redb when missing, stale or corrupt.
    let faq_dir = data_dir.join("index").join("faq");
    let svc = service.clone();
    match tokio::task::spawn_blocking(move || svc.attach_faq_index(&faq_dir)).await {
        Ok(Ok(())) => {}
        other => tracing::error!(
            "FAQ search is unavailable: {other:?}; the bot hands every question to a person"
        ),
    }

    // Ticket full-text index: opened now, filled (or caught up) in the background; until then
    // the panel's search falls back to a substring filter.
    let ticket_dir = data_dir.join("index").join("tickets");
    let svc = service.clone();
    match tokio::task::spawn_blocking(move || svc.attach_ticket_index(&ticket_dir)).await {
        Ok(Ok(())) => {
            let svc = service.clone();
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                loop {
                    let s = svc.clone();
                    match tokio::task::spawn_blocking(move || s.sync_ticket_index()).await {
                        Ok(Ok(n)) if n > 0 => {
                            tracing::debug!(tickets = n, "ticket index caught up")
                        }
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::warn!("ticket search index: {e}"),
                        Err(e) => tracing::warn!("ticket search index task: {e}"),
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                        _ = stop.changed() => break,
                    }
                }
            });
        }
        other => tracing::error!(
            "ticket full-text search is unavailable: {other:?}; the panel searches by substring"
        ),
    }

    // Outgoing messages wake the sender at once.
    let wake = Arc::new(tokio::sync::Notify::new());
    let w = wake.clone();
    service.set_outbox_waker(move || w.notify_one());

    let mut bot_task = None;
    let mut files = None;
    let mut webhook = None;
    let telegram = if config.bot_enabled() {
        match bot::start(&config, service.clone(), health.clone(), stop_rx.clone()).await {
            Some(started) => {
                bot_task = Some(started.task);
                files = Some(started.files);
                webhook = started.webhook;
                Some(started.out)
            }
            None => None,
        }
    } else {
        tracing::info!(
            "Telegram bot is off: set telegram.token (or HELPDESK_TELEGRAM_TOKEN) to turn it on"
        );
        health.set_bot(BotState::Disabled);
        None
    };
    let mail = if config.smtp.enabled {
        match notify::Mailer::new(&config.smtp) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::error!("e-mail is off: {e}");
                None
            }
        }
    } else {
        None
    };
    let probes = jobs::Probes {
        telegram: files.clone(),
        smtp: mail.clone(),
    };
    let sender = tokio::spawn(
        notify::Sender::new(service.clone(), telegram, mail, wake).run(stop_rx.clone()),
    );

    // Scheduled work: SLA, snapshots (with catch-up), digests, health, the 1C pull.
    let job_cfg = jobs::JobsConfig {
        data_dir: data_dir.clone(),
        tz: config.ui.timezone,
        archive: config.archive.clone(),
        digest_times: config.reports.digest_times.clone(),
        health: config.health.clone(),
        onec: config.onec.clone(),
    };
    let _scheduler = jobs::start(
        Arc::new(jobs::Jobs::new(service.clone(), job_cfg)),
        probes,
        stop_rx.clone(),
    )
    .await;

    let control = match control::bind(&data_dir) {
        Ok(l) => Some(tokio::spawn(control::serve(
            l,
            service.clone(),
            data_dir.clone(),
        ))),
        Err(e) => {
            tracing::warn!(
                "control socket unavailable ({e}); CLI commands must wait until the server stops"
            );
            None
        }
    };

    let mut state = AppState::new(service.clone(), health);
    state.files = files;
    state.webhook = webhook;
    state.tz = config.ui.timezone;
    state.miniapp =
        web::miniapp::MiniAppAuth::new(config.telegram.token.clone(), config.web.miniapp_max_age);
    println!(
        "helpdesk {} listening on http://{addr}",
        env!("CARGO_PKG_VERSION")
    );
    tracing::info!(%addr, "web panel listening");
    launch(state, listener, shutdown_signal()).await;

    let _ = stop_tx.send(true);
    if let Some(t) = bot_task
        && tokio::time::timeout(std::time::Duration::from_secs(15), t)
            .await
            .is_err()
    {
        tracing::warn!("the bot did not stop within 15 s");
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), sender).await;

    if let Some(c) = control {
        c.abort();
    }
    let _ = std::fs::remove_file(control::socket_path(&data_dir));
    tracing::info!("helpdesk stopped");
    Ok(())
}

async fn bind(config: &Config) -> anyhow::Result<TcpListener> {
    TcpListener::bind(config.web.listen)
        .await
        .map_err(|e| anyhow!("cannot listen on {}: {e}", config.web.listen))
}

/// How the maintenance mode ended.
enum Maintenance {
    Writable,
    Stopped,
}

/// Serves the maintenance mode (health, metrics, a page saying what to do) on a duplicate of
/// `listener` while the data folder cannot be written, retrying every
/// `health.data_dir_retry_seconds`; tells the superadmins once (directly through Telegram:
/// the outbox lives in the folder that cannot be written). Returns when the folder is
/// writable, or on SIGINT/SIGTERM.
async fn maintenance(
    config: &Config,
    listener: &TcpListener,
    problem: String,
) -> anyhow::Result<Maintenance> {
    let data_dir = &config.storage.data_dir;
    tracing::error!(
        "maintenance mode: {problem}; serving /healthz and a maintenance page, retrying every {} s",
        config.health.data_dir_retry_seconds
    );
    println!(
        "helpdesk {}: the data folder cannot be written ({problem}); maintenance mode on http://{}",
        env!("CARGO_PKG_VERSION"),
        listener.local_addr()?
    );
    let outage = Arc::new(web::degraded::Outage::new(
        std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.clone()),
        problem.clone(),
        config.health.data_dir_retry_seconds,
        config.ui.language,
        config.bot_enabled(),
    ));
    // The same socket, so the full server takes over the port without a gap.
    let dup = {
        use std::os::fd::AsFd;
        let fd = listener.as_fd().try_clone_to_owned()?;
        let std = std::net::TcpListener::from(fd);
        std.set_nonblocking(true)?;
        TcpListener::from_std(std)?
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::degraded::serve(dup, outage.clone(), async {
        let _ = stop_rx.await;
    }));
    let mut alerted = !config.bot_enabled() || config.telegram.superadmins.is_empty();
    let mut signal = std::pin::pin!(shutdown_signal());
    let every = std::time::Duration::from_secs(u64::from(config.health.data_dir_retry_seconds));
    let ended = loop {
        if !alerted {
            let text = crate::domain::texts::render(
                crate::domain::texts::default_text(config.ui.language, "alert.data_dir_readonly"),
                &[("detail", &outage.detail())],
            );
            match tokio::time::timeout(
                std::time::Duration::from_secs(20),
                bot::alert_superadmins_direct(config, &text),
            )
            .await
            {
                Ok(Ok(n)) => {
                    tracing::info!(sent = n, "superadmins told of the maintenance mode");
                    alerted = true;
                }
                Ok(Err(e)) => tracing::warn!("cannot tell the superadmins yet: {e}"),
                Err(_) => tracing::warn!("cannot tell the superadmins yet: Telegram timed out"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = &mut signal => break Maintenance::Stopped,
        }
        match data_dir_problem(data_dir).map_err(|e| e.to_string()) {
            Ok(None) => break Maintenance::Writable,
            Ok(Some(p)) | Err(p) => {
                if p != outage.detail() {
                    tracing::warn!("maintenance mode: {p}");
                }
                outage.set_detail(p);
            }
        }
    };
    let _ = stop_tx.send(());
    if tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .is_err()
    {
        tracing::warn!("the maintenance server did not stop within 5 s");
    }
    Ok(ended)
}

/// Why the data folder cannot be used for writing, if it cannot: `Ok(Some(reason))` for an
/// outage the server waits out (read-only, not ours, full: the folder can be fixed while it
/// runs), `Err` for a mistake in the configuration (a path through a regular file …).
pub fn data_dir_problem(dir: &Path) -> anyhow::Result<Option<String>> {
    fn classify(e: &std::io::Error, msg: String) -> anyhow::Result<Option<String>> {
        match e.raw_os_error() {
            Some(libc::EROFS | libc::EACCES | libc::EPERM | libc::ENOSPC) => Ok(Some(msg)),
            _ => Err(anyhow!(msg)),
        }
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        return classify(
            &e,
            format!("cannot create the data folder {}: {e}", dir.display()),
        );
    }
    let probe = dir.join(".write-test");
    if let Err(e) = std::fs::write(&probe, b"ok") {
        return classify(
            &e,
            format!("the data folder {} is not writable: {e}", dir.display()),
        );
    }
    let _ = std::fs::remove_file(probe);
    let db = dir.join(crate::store::DB_FILE);
    if db.exists()
        && let Err(e) = std::fs::OpenOptions::new().read(true).write(true).open(&db)
    {
        return classify(
            &e,
            format!(
                "the database file {} cannot be opened for writing: {e}",
                db.display()
            ),
        );
    }
    Ok(None)
}

/// Serves HTTP on `listener` until `shutdown` completes.
pub async fn launch(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    warp::serve(web::routes(state))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

/// Opens the store, saying clearly what to do when another process holds it.
pub fn open_service(config: &Config) -> anyhow::Result<Service> {
    let data_dir = &config.storage.data_dir;
    let store = Store::open(data_dir).map_err(|e| match e {
        StoreError::Locked(p) => anyhow!(
            "another helpdesk is already running on this data folder ({} is locked); stop it first or use another storage.data_dir",
            p.display()
        ),
        other => anyhow!(other),
    })?;
    let cfg = ServiceConfig {
        staff_chat_id: config.telegram.staff_chat_id,
        default_language: config.ui.language,
        email_enabled: config.smtp.enabled,
        sla: config.sla.clone(),
    };
    Ok(Service::new(store, Arc::new(SystemClock), cfg))
}

/// Creates the data folder and checks it can be written, with a message that says which.
pub fn ensure_writable(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data folder {}", dir.display()))?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok")
        .map_err(|e| anyhow!("the data folder {} is not writable: {e}", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn setup_base(config: &Config, addr: SocketAddr) -> String {
    if let Some(u) = &config.web.public_url {
        return u.as_str().trim_end_matches('/').to_string();
    }
    let host = if addr.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        addr.ip().to_string()
    };
    format!("http://{host}:{}", addr.port())
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received, stopping"),
        _ = int.recv() => tracing::info!("SIGINT received, stopping"),
    }
}
