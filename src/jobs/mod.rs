//! Scheduled work, run inside the binary on tokio-cron-scheduler: SLA reminders and
//! escalations, daily/monthly/yearly snapshots with retention, digests, health checks, and the
//! pull of stock balances from 1C over OData (`onec.interval_minutes`).
//!
//! The scheduler fires one job a minute; [`Jobs::tick`] then decides by *local* time what is
//! due, so schedules stay right across daylight-saving changes (tokio-cron-scheduler's `_tz`
//! jobs freeze the UTC offset). What last ran is kept in redb, so a run missed while the server
//! was off is caught up at start-up. Every job only calls the service; failures are logged and
//! alerted, and never stop the other jobs.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

use crate::archive::{self, Keep, Kind};
use crate::config::{ArchiveConfig, HealthConfig, OnecConfig};
use crate::service::Service;
use crate::store::Reads;

/// What the jobs need of the configuration.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    pub data_dir: PathBuf,
    pub tz: Tz,
    pub archive: ArchiveConfig,
    pub digest_times: Vec<NaiveTime>,
    pub health: HealthConfig,
    /// The 1C OData pull; `None` when off.
    pub onec: Option<OnecConfig>,
}

/// The jobs, one dispatch function each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Sla,
    Snapshots,
    Digest,
    Health,
}

/// Runs the jobs for a service.
pub struct Jobs {
    svc: Service,
    cfg: JobsConfig,
    /// A 1C pull is under way (a slow one must not start a second).
    onec_running: AtomicBool,
}

/// Probes of things outside the process, run by the async part of the health job.
#[derive(Default, Clone)]
pub struct Probes {
    /// Telegram's getMe; `None` when the bot is off.
    pub telegram: Option<crate::bot::FileFetcher>,
    /// The SMTP server; `None` when e-mail is off.
    pub smtp: Option<crate::notify::Mailer>,
}

impl Jobs {
    pub fn new(svc: Service, cfg: JobsConfig) -> Jobs {
        Jobs {
            svc,
            cfg,
            onec_running: AtomicBool::new(false),
        }
    }

    /// Runs every job that is due at the service clock's now (blocking). Returns what ran.
    pub fn tick(&self) -> Vec<(Job, Result<String, String>)> {
        let mut done = Vec::new();
        for job in [Job::Sla, Job::Snapshots, Job::Digest, Job::Health] {
            let result = match job {
                Job::Sla => self.sla(),
                Job::Snapshots => self.snapshots(),
                Job::Digest => self.digest(),
                Job::Health => self.health_local(),
            };
            match &result {
                Ok(s) if s.is_empty() => continue,
                Ok(s) => tracing::info!(?job, "{s}"),
                Err(e) => tracing::error!(?job, "job failed: {e}"),
            }
            done.push((job, result));
        }
        done
    }

    fn now_local(&self) -> NaiveDateTime {
        let now = DateTime::from_timestamp(self.svc.now(), 0).unwrap_or_default();
        now.with_timezone(&self.cfg.tz).naive_local()
    }

    fn sla(&self) -> Result<String, String> {
        let r = self.svc.sla_scan().map_err(|e| e.to_string())?;
        Ok(if r.reminders + r.escalations == 0 {
            String::new()
        } else {
            format!(
                "SLA: {} reminders, {} escalations",
                r.reminders, r.escalations
            )
        })
    }

    /// Daily, monthly and yearly snapshots that are due (or were missed), each verified right
    /// after writing; retention after each success; a failure alerts the superadmins and
    /// deletes nothing.
    fn snapshots(&self) -> Result<String, String> {
        let now = self.now_local();
        let keep = Keep {
            daily: self.cfg.archive.keep_daily,
            monthly: self.cfg.archive.keep_monthly,
            yearly: self.cfg.archive.keep_yearly,
        };
        let mut last = LastRuns::default();
        for kind in [Kind::Daily, Kind::Monthly, Kind::Yearly] {
            let v = self
                .svc
                .job_state(&format!("snapshot.{kind}"))
                .map_err(|e| e.to_string())?;
            last.set(kind, v);
        }
        let points = Points::at(now, self.cfg.archive.time);
        // A point recorded beyond tomorrow's can only come from a clock that was ahead and has
        // been put right: count from now instead of waiting for the clock to get there again.
        // (A smaller backward jump keeps the point, so the same point never runs twice.)
        let ahead = Points::at(now + Duration::days(1), self.cfg.archive.time);
        for kind in [Kind::Daily, Kind::Monthly, Kind::Yearly] {
            if let Some(l) = last.get(kind)
                && l > ahead.of(kind).as_str()
            {
                tracing::warn!(
                    "the last {kind} snapshot is recorded for {l}, ahead of the clock: the clock was ahead and was corrected; counting from {}",
                    points.of(kind)
                );
                self.svc
                    .set_job_state(&format!("snapshot.{kind}"), &points.of(kind))
                    .map_err(|e| e.to_string())?;
                last.set(kind, Some(points.of(kind)));
            }
        }
        if last.is_fresh() {
            // A new installation: start counting from now instead of snapshotting at once.
            for kind in [Kind::Daily, Kind::Monthly, Kind::Yearly] {
                self.svc
                    .set_job_state(&format!("snapshot.{kind}"), &points.of(kind))
                    .map_err(|e| e.to_string())?;
            }
            return Ok(String::new());
        }
        let due = due_kinds(&points, &last, keep);
        if due.is_empty() {
            return Ok(String::new());
        }
        // After a failure, wait a while before the next attempt (a full disk would otherwise
        // be filled and emptied every minute); a pause ending implausibly far ahead comes from
        // a clock that went back and is ignored.
        let wall = self.svc.now();
        if let Some(until) = self
            .svc
            .job_state("snapshot.retry_after")
            .map_err(|e| e.to_string())?
            .and_then(|v| v.parse::<i64>().ok())
            && wall < until
            && until - wall <= SNAPSHOT_RETRY_SECONDS
        {
            return Ok(String::new());
        }
        let mut said = Vec::new();
        for kind in due {
            match self.snapshot_one(kind) {
                Ok(path) => {
                    self.svc
                        .set_job_state(&format!("snapshot.{kind}"), &points.of(kind))
                        .map_err(|e| e.to_string())?;
                    self.svc
                        .set_job_state("snapshot.retry_after", "0")
                        .map_err(|e| e.to_string())?;
                    // Clears (and announces the recovery of) an earlier failure.
                    self.svc
                        .record_health("archive", true, "")
                        .map_err(|e| e.to_string())?;
                    said.push(format!("{kind} snapshot {}", path.display()));
                    match archive::apply_retention(&self.cfg.data_dir, keep) {
                        Ok(gone) if !gone.is_empty() => {
                            said.push(format!("retention removed {}", gone.len()))
                        }
                        Ok(_) => {}
                        Err(e) => tracing::error!("retention failed: {e}"),
                    }
                }
                Err(e) => {
                    let detail = format!("{kind} snapshot failed: {e}");
                    // Alerts once per failure streak (the check changes only once).
                    if let Err(e) = self.svc.record_health("archive", false, &detail) {
                        tracing::error!("cannot record the failed snapshot: {e}");
                    }
                    let _ = self.svc.set_job_state(
                        "snapshot.retry_after",
                        &(wall + SNAPSHOT_RETRY_SECONDS).to_string(),
                    );
                    return Err(format!("{detail}; next attempt in 10 min"));
                }
            }
        }
        Ok(said.join("; "))
    }

    fn snapshot_one(&self, kind: Kind) -> Result<PathBuf, String> {
        let path =
            archive::write_snapshot(self.svc.store(), &self.cfg.data_dir, kind, self.svc.now())
                .map_err(|e| e.to_string())?;
        if let Err(e) = archive::verify(&path) {
            let _ = std::fs::remove_file(&path);
            return Err(format!("the new archive failed verification: {e}"));
        }
        Ok(path)
    }

    /// Digests at the configured local times; a digest more than an hour late is skipped.
    fn digest(&self) -> Result<String, String> {
        let now = self.now_local();
        let mut sent = Vec::new();
        for &t in &self.cfg.digest_times {
            let key = format!("digest.{}", t.format("%H:%M"));
            let point = if now.time() >= t {
                now.date()
            } else {
                now.date() - Duration::days(1)
            };
            let last = self.svc.job_state(&key).map_err(|e| e.to_string())?;
            let point_s = point.format("%Y-%m-%d").to_string();
            // Recorded beyond tomorrow: the clock was ahead and was corrected. Count from now
            // (nothing is sent for this point) instead of waiting for the clock to get there.
            let tomorrow = (point + Duration::days(1)).format("%Y-%m-%d").to_string();
            if last.as_deref().is_some_and(|l| l > tomorrow.as_str()) {
                tracing::warn!(
                    "the {key} digest is recorded for {}, ahead of the clock; counting from {point_s}",
                    last.as_deref().unwrap_or_default()
                );
                self.svc
                    .set_job_state(&key, &point_s)
                    .map_err(|e| e.to_string())?;
                continue;
            }
            if last.as_deref().is_some_and(|l| l >= point_s.as_str()) {
                continue;
            }
            self.svc
                .set_job_state(&key, &point_s)
                .map_err(|e| e.to_string())?;
            let late = now - point.and_time(t);
            if last.is_none() || late > Duration::hours(1) {
                continue;
            }
            let yesterday = point - Duration::days(1);
            let range = (
                self.utc(yesterday.and_time(NaiveTime::MIN)),
                self.utc(point.and_time(NaiveTime::MIN)),
            );
            let n = self
                .svc
                .send_digest(&point_s, range)
                .map_err(|e| e.to_string())?;
            sent.push(format!(
                "digest {point_s} {}: {n} messages",
                t.format("%H:%M")
            ));
        }
        Ok(sent.join("; "))
    }

    fn utc(&self, local: NaiveDateTime) -> i64 {
        self.cfg
            .tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.timestamp())
            .unwrap_or(0)
    }

    /// The health checks that need nothing outside the process: disk, database, newest
    /// snapshot, outbox backlog. Runs every `health.interval_minutes`.
    fn health_local(&self) -> Result<String, String> {
        if !self.health_due()? {
            return Ok(String::new());
        }
        let mut changed = Vec::new();
        for (check, ok, detail) in self.local_checks() {
            if self
                .svc
                .record_health(check, ok, &detail)
                .map_err(|e| e.to_string())?
            {
                changed.push(format!("{check}: {}", if ok { "ok" } else { "FAILING" }));
            }
        }
        Ok(changed.join("; "))
    }

    fn health_due(&self) -> Result<bool, String> {
        let now = self.svc.now();
        let last = self
            .svc
            .job_state("health.last")
            .map_err(|e| e.to_string())?
            .and_then(|v| v.parse::<i64>().ok());
        // A last run in the future means the clock went back: run now rather than wait.
        if last.is_some_and(|l| {
            (0..i64::from(self.cfg.health.interval_minutes) * 60 - 5).contains(&(now - l))
        }) {
            return Ok(false);
        }
        // A failing database shows here as an error writing this very value.
        if let Err(e) = self.svc.set_job_state("health.last", &now.to_string()) {
            let _ = self.svc.record_health("database", false, &e.to_string());
            return Err(format!("database not writable: {e}"));
        }
        Ok(true)
    }

    /// (check, ok, detail) of the in-process checks.
    pub fn local_checks(&self) -> Vec<(&'static str, bool, String)> {
        let mut out = Vec::new();
        let min = self.cfg.health.min_free_disk_mb;
        match free_disk_mb(&self.cfg.data_dir) {
            Some(free) => out.push((
                "disk",
                free >= min,
                format!(
                    "{free} MB free in {}, minimum {min} MB",
                    self.cfg.data_dir.display()
                ),
            )),
            None => out.push((
                "disk",
                false,
                format!("cannot read free space of {}", self.cfg.data_dir.display()),
            )),
        }
        let unwritable = self.unwritable_folders();
        out.push(("data_dir", unwritable.is_empty(), unwritable.join("; ")));
        let probe = self.svc.set_job_state("probe", &self.svc.now().to_string());
        out.push((
            "database",
            probe.is_ok(),
            probe.err().map(|e| e.to_string()).unwrap_or_default(),
        ));
        let newest = archive::list(&self.cfg.data_dir)
            .into_iter()
            .map(|a| a.created)
            .max();
        let max_age = Duration::hours(i64::from(self.cfg.health.max_snapshot_age_hours));
        let now = DateTime::from_timestamp(self.svc.now(), 0).unwrap_or_default();
        let installed = self
            .svc
            .job_state("installed")
            .ok()
            .flatten()
            .and_then(|v| v.parse::<i64>().ok());
        if installed.is_none() {
            let _ = self
                .svc
                .set_job_state("installed", &self.svc.now().to_string());
        }
        let snapshot_ok = match newest {
            Some(t) => now - t <= max_age,
            // No archive yet: fine until the installation is older than the limit.
            None => installed.is_none_or(|i| self.svc.now() - i <= max_age.num_seconds()),
        };
        let detail = match newest {
            Some(t) => format!("newest snapshot {}", t.format("%Y-%m-%d %H:%M UTC")),
            None => "no snapshot yet".to_string(),
        };
        out.push(("snapshot", snapshot_ok, detail));
        match self.svc.read().and_then(|tx| Ok(tx.outbox_counts()?)) {
            Ok((pending, failed)) => out.push((
                "outbox",
                pending <= self.cfg.health.max_outbox_backlog,
                format!("{pending} waiting, {failed} failed"),
            )),
            Err(e) => out.push(("outbox", false, e.to_string())),
        }
        out
    }

    /// The folders the server writes to (the data folder, archives, search indexes, logs)
    /// that exist and cannot be written, each with the error.
    fn unwritable_folders(&self) -> Vec<String> {
        let d = &self.cfg.data_dir;
        let mut dirs = vec![
            d.clone(),
            d.join("logs"),
            d.join("index").join("faq"),
            d.join("index").join("tickets"),
        ];
        for kind in [Kind::Manual, Kind::Daily, Kind::Monthly, Kind::Yearly] {
            dirs.push(archive::kind_dir(d, kind));
        }
        dirs.into_iter()
            .filter(|dir| dir.is_dir())
            .filter_map(|dir| {
                let probe = dir.join(".write-test");
                match std::fs::write(&probe, b"ok") {
                    Ok(()) => {
                        let _ = std::fs::remove_file(&probe);
                        None
                    }
                    Err(e) => Some(format!("{} is not writable: {e}", dir.display())),
                }
            })
            .collect()
    }

    /// The probes of outside services (Telegram, SMTP), recorded like the others.
    pub async fn health_remote(&self, probes: &Probes) {
        if let Some(tg) = &probes.telegram {
            let r = tg.ping().await;
            let svc = self.svc.clone();
            let _ = tokio::task::spawn_blocking(move || {
                svc.record_health("telegram", r.is_ok(), &r.err().unwrap_or_default())
            })
            .await;
        }
        if let Some(m) = &probes.smtp {
            let r = m.ping().await;
            let svc = self.svc.clone();
            let _ = tokio::task::spawn_blocking(move || {
                svc.record_health("smtp", r.is_ok(), &r.err().unwrap_or_default())
            })
            .await;
        }
    }
}

/// Seconds between a failed scheduled snapshot and the next attempt.
const SNAPSHOT_RETRY_SECONDS: i64 = 600;

/// Free space of the file system holding `dir`, in MiB.
fn free_disk_mb(dir: &std::path::Path) -> Option<u64> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| (st.f_bavail as u64).saturating_mul(st.f_frsize as u64) / (1024 * 1024))
}

/// When each kind last ran, as its scheduled point ("2026-11-21", "2026-11", "2026").
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LastRuns {
    pub daily: Option<String>,
    pub monthly: Option<String>,
    pub yearly: Option<String>,
}

impl LastRuns {
    fn set(&mut self, kind: Kind, v: Option<String>) {
        match kind {
            Kind::Daily => self.daily = v,
            Kind::Monthly => self.monthly = v,
            Kind::Yearly => self.yearly = v,
            Kind::Manual => {}
        }
    }

    fn get(&self, kind: Kind) -> Option<&str> {
        match kind {
            Kind::Daily => self.daily.as_deref(),
            Kind::Monthly => self.monthly.as_deref(),
            Kind::Yearly => self.yearly.as_deref(),
            Kind::Manual => None,
        }
    }

    fn is_fresh(&self) -> bool {
        self.daily.is_none() && self.monthly.is_none() && self.yearly.is_none()
    }
}

/// The latest scheduled point of each kind at or before a local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Points {
    pub daily: NaiveDate,
    pub monthly: (i32, u32),
    pub yearly: i32,
}

impl Points {
    /// Daily at `at`; monthly on the 1st at `at`; yearly on 1 January at `at`.
    pub fn at(now: NaiveDateTime, at: NaiveTime) -> Points {
        let today = now.date();
        let before = now.time() < at;
        let daily = if before {
            today - Duration::days(1)
        } else {
            today
        };
        let monthly = if today.day() == 1 && before {
            let prev = today - Duration::days(1);
            (prev.year(), prev.month())
        } else {
            (today.year(), today.month())
        };
        let yearly = if today.month() == 1 && today.day() == 1 && before {
            today.year() - 1
        } else {
            today.year()
        };
        Points {
            daily,
            monthly,
            yearly,
        }
    }

    pub fn of(&self, kind: Kind) -> String {
        match kind {
            Kind::Daily => self.daily.format("%Y-%m-%d").to_string(),
            Kind::Monthly => format!("{:04}-{:02}", self.monthly.0, self.monthly.1),
            Kind::Yearly => format!("{:04}", self.yearly),
            Kind::Manual => String::new(),
        }
    }
}

/// Kinds whose latest point has not been snapshotted yet (kinds kept 0 are off).
pub fn due_kinds(points: &Points, last: &LastRuns, keep: Keep) -> Vec<Kind> {
    [
        (Kind::Daily, keep.daily),
        (Kind::Monthly, keep.monthly),
        (Kind::Yearly, keep.yearly),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .filter(|(k, _)| last.get(*k).is_none_or(|l| l < points.of(*k).as_str()))
    .map(|(k, _)| k)
    .collect()
}

/// Starts the minute tick; runs one tick at once (the catch-up). Stops with `shutdown`.
///
/// tokio-cron-scheduler fires the tick at every wall-clock minute. A cron scheduler waits for
/// the next wall-clock minute, so a clock set back two hours would stop it for two hours: a
/// watchdog paced by the monotonic clock runs the tick itself whenever the scheduler has not
/// for [`TICK_OVERDUE`]. The same watchdog compares the wall clock with the monotonic one every
/// [`CLOCK_SAMPLE`] ([`clock_watch`]); a jump fails the health check `clock`.
pub async fn start(
    jobs: Arc<Jobs>,
    probes: Probes,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio_cron_scheduler::JobScheduler> {
    use tokio_cron_scheduler::{Job as CronJob, JobScheduler};
    // When the tick last ran (monotonic); held while it runs, so two never overlap.
    let last_run = Arc::new(tokio::sync::Mutex::new(tokio::time::Instant::now()));
    let run = {
        let jobs = jobs.clone();
        let last_run = last_run.clone();
        move |min_gap: std::time::Duration| {
            let jobs = jobs.clone();
            let probes = probes.clone();
            let last_run = last_run.clone();
            async move {
                let mut last = last_run.lock().await;
                if last.elapsed() < min_gap {
                    return;
                }
                let j = jobs.clone();
                let ran = tokio::task::spawn_blocking(move || j.tick()).await;
                if let Err(e) = ran {
                    tracing::error!("the scheduled jobs panicked: {e}");
                }
                if jobs.remote_health_due() {
                    jobs.health_remote(&probes).await;
                }
                if jobs.onec_due() && !jobs.onec_running.swap(true, Ordering::SeqCst) {
                    // In its own task: a pull may take longer than the minute tick.
                    let j = jobs.clone();
                    tokio::spawn(async move {
                        match j.onec_pull().await {
                            Ok(s) => tracing::info!(job = "onec", "{s}"),
                            Err(e) => tracing::error!(job = "onec", "job failed: {e}"),
                        }
                        j.onec_running.store(false, Ordering::SeqCst);
                    });
                }
                *last = tokio::time::Instant::now();
            }
        }
    };
    // A failed 1C pull stays failing in /healthz until a pull works: when the scheduled pull
    // has been turned off since, clear it.
    if !jobs.onec_scheduled() {
        let j = jobs.clone();
        let _ = tokio::task::spawn_blocking(move || j.svc.record_health("onec", true, "")).await;
    }
    // The catch-up tick at start-up.
    run(std::time::Duration::ZERO).await;
    let svc = jobs.svc.clone();
    let failing = tokio::task::spawn_blocking(move || svc.failing_health())
        .await
        .ok()
        .and_then(Result::ok)
        .is_some_and(|f| f.iter().any(|(c, _)| c == "clock"));
    let mut watch = clock_watch::ClockWatch::new(
        jobs.cfg.health.clock_jump_seconds,
        std::time::Duration::from_secs(u64::from(jobs.cfg.health.clock_steady_minutes) * 60),
        failing,
    );
    // The first observation is the baseline, taken before the server answers anyone.
    let origin = tokio::time::Instant::now();
    watch.observe(origin.elapsed(), jobs.svc.now());

    let sched = match JobScheduler::new().await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!("the scheduler did not start (the watchdog runs the jobs): {e}");
            None
        }
    };
    if let Some(sched) = &sched {
        let cron_run = run.clone();
        // A tick the watchdog ran moments ago is not run again.
        let job = CronJob::new_async("0 * * * * *", move |_id, _l| {
            let f = cron_run.clone();
            Box::pin(async move { f(MIN_GAP).await })
        });
        let started = match job {
            Ok(j) => match sched.add(j).await {
                Ok(_) => sched.start().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = started {
            tracing::error!("cannot schedule the minute job (the watchdog runs the jobs): {e}");
        }
    }
    let mut stop_sched = sched.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(CLOCK_SAMPLE) => {}
                _ = shutdown.changed() => break,
            }
            let event = watch.observe(origin.elapsed(), jobs.svc.now());
            if let Some(event) = event {
                let j = jobs.clone();
                let _ = tokio::task::spawn_blocking(move || j.clock_event(event)).await;
            }
            // The scheduler is late (the wall clock went back, or it stopped): run it here.
            run(TICK_OVERDUE).await;
        }
        if let Some(s) = stop_sched.as_mut() {
            let _ = s.shutdown().await;
        }
    });
    sched
}

/// Time after which the watchdog runs a tick the scheduler did not.
const TICK_OVERDUE: std::time::Duration = std::time::Duration::from_secs(75);
/// A scheduled tick this soon after the last one is skipped.
const MIN_GAP: std::time::Duration = std::time::Duration::from_secs(30);
/// Time between two comparisons of the wall clock with the monotonic clock.
const CLOCK_SAMPLE: std::time::Duration = std::time::Duration::from_secs(10);

impl Jobs {
    /// Records a clock jump (the check `clock` fails, superadmins are alerted once) or the
    /// clock being steady again.
    pub fn clock_event(&self, event: clock_watch::ClockEvent) {
        let r = match event {
            clock_watch::ClockEvent::Jumped { by, at } => {
                let detail = clock_watch::describe(by, at, self.cfg.tz);
                tracing::warn!("{detail}");
                self.svc.record_health("clock", false, &detail)
            }
            clock_watch::ClockEvent::Steady => {
                tracing::info!("the wall clock has been steady since its last jump");
                self.svc.record_health("clock", true, "")
            }
        };
        if let Err(e) = r {
            tracing::error!("cannot record the clock check: {e}");
        }
    }
}

impl Jobs {
    /// Whether a scheduled 1C pull is due: configured with an interval, and that long since
    /// the last one started (never: at once, so a start-up pulls).
    pub fn onec_due(&self) -> bool {
        let Some(cfg) = self.cfg.onec.as_ref().filter(|c| c.interval_minutes > 0) else {
            return false;
        };
        let last = self
            .svc
            .job_state("onec.last")
            .ok()
            .flatten()
            .and_then(|v| v.parse::<i64>().ok());
        last.is_none_or(|l| self.svc.now() - l >= i64::from(cfg.interval_minutes) * 60 - 5)
    }

    /// Whether the 1C pull runs on a schedule.
    fn onec_scheduled(&self) -> bool {
        self.cfg
            .onec
            .as_ref()
            .is_some_and(|c| c.interval_minutes > 0)
    }

    /// Pulls the balances from 1C and applies them (actor "system", label "1C OData"). The
    /// result is recorded as the health check `onec`: a failure alerts the superadmins once,
    /// shows in `/healthz` and changes no stock.
    pub async fn onec_pull(&self) -> Result<String, String> {
        let Some(cfg) = self.cfg.onec.clone() else {
            return Ok(String::new());
        };
        self.svc
            .set_job_state("onec.last", &self.svc.now().to_string())
            .map_err(|e| e.to_string())?;
        let pulled = crate::onec::fetch(&cfg).await;
        let svc = self.svc.clone();
        let done = tokio::task::spawn_blocking(move || {
            let result = pulled.and_then(|p| {
                let d = svc
                    .import_stock(
                        &crate::domain::Actor::System,
                        &p.rows,
                        &crate::onec::import_options(),
                        true,
                        &mut |_, _| {},
                    )
                    .map_err(|e| format!("1C OData pull: {e}"))?;
                Ok(format!(
                    "1C OData pull: {}; {} changed, {} unknown, {} unchanged{}",
                    p.summary(),
                    d.changed.len(),
                    d.unknown.len(),
                    d.unchanged,
                    if d.applied {
                        ""
                    } else {
                        " (nothing to change)"
                    }
                ))
            });
            let detail = result.as_ref().err().cloned().unwrap_or_default();
            if let Err(e) = svc.record_health("onec", result.is_ok(), &detail) {
                tracing::error!("cannot record the 1C pull's health: {e}");
            }
            result
        })
        .await;
        done.unwrap_or_else(|e| Err(format!("1C OData pull panicked: {e}")))
    }

    /// The remote probes run with the local checks (the local pass just stamped the time).
    fn remote_health_due(&self) -> bool {
        let now = self.svc.now();
        self.svc
            .job_state("health.last")
            .ok()
            .flatten()
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|l| (0..60).contains(&(now - l)))
    }
}

pub mod clock_watch;

#[cfg(test)]
mod tests;
