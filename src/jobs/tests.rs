//! The jobs with a simulated clock: snapshot schedule and retention over a year, catch-up after
//! downtime, a failing snapshot, health alerts raised and cleared, digests.

use std::sync::Arc;

use chrono::{Datelike, TimeZone};

use super::*;
use crate::clock::FakeClock;
use crate::domain::{Actor, OutboxMessage, Role};
use crate::service::{NewStaff, ServiceConfig};
use crate::store::Store;

const TZ: Tz = chrono_tz::Europe::Moscow;

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    TZ.with_ymd_and_hms(y, m, d, h, min, 0)
        .earliest()
        .unwrap()
        .timestamp()
}

struct Fixture {
    svc: Service,
    clock: Arc<FakeClock>,
    dir: tempfile::TempDir,
}

fn fixture(start: i64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FakeClock::new(start));
    let svc = Service::new(
        Store::open(dir.path()).unwrap(),
        clock.clone(),
        ServiceConfig::default(),
    );
    svc.add_staff(
        &Actor::Cli,
        NewStaff {
            login: "root".into(),
            password: "password1".into(),
            role: Role::Superadmin,
            telegram_id: Some(42),
            display_name: None,
        },
    )
    .unwrap();
    Fixture { svc, clock, dir }
}

fn jobs(f: &Fixture, health: HealthConfig) -> Jobs {
    Jobs::new(
        f.svc.clone(),
        JobsConfig {
            data_dir: f.dir.path().to_path_buf(),
            tz: TZ,
            archive: ArchiveConfig {
                time: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
                keep_daily: 14,
                keep_monthly: 12,
                keep_yearly: 5,
            },
            digest_times: vec![NaiveTime::from_hms_opt(9, 0, 0).unwrap()],
            health,
            onec: None,
        },
    )
}

fn quiet_health() -> HealthConfig {
    HealthConfig {
        interval_minutes: 5,
        min_free_disk_mb: 0,
        max_snapshot_age_hours: 24 * 365 * 10,
        max_outbox_backlog: u64::MAX,
        clock_jump_seconds: 120,
        clock_steady_minutes: 30,
        data_dir_retry_seconds: 10,
    }
}

fn count(f: &Fixture, kind: Kind) -> usize {
    archive::list(f.dir.path())
        .iter()
        .filter(|a| a.kind == kind)
        .count()
}

fn alerts_to(f: &Fixture, chat: i64) -> Vec<String> {
    f.svc
        .read()
        .unwrap()
        .outbox_all()
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.message {
            OutboxMessage::Telegram { chat_id, text, .. } if chat_id == chat => Some(text),
            _ => None,
        })
        .collect()
}

#[test]
fn points_follow_local_time() {
    let at = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
    let t = |y, m, d, h, mi| {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
    };
    let p = Points::at(t(2026, 1, 1, 2, 0), at);
    assert_eq!(
        (p.of(Kind::Daily), p.of(Kind::Monthly), p.of(Kind::Yearly)),
        ("2025-12-31".into(), "2025-12".into(), "2025".into())
    );
    let p = Points::at(t(2026, 1, 1, 2, 30), at);
    assert_eq!(
        (p.of(Kind::Daily), p.of(Kind::Monthly), p.of(Kind::Yearly)),
        ("2026-01-01".into(), "2026-01".into(), "2026".into())
    );
    let keep = Keep {
        daily: 1,
        monthly: 1,
        yearly: 0,
    };
    let last = LastRuns {
        daily: Some("2025-12-31".into()),
        monthly: Some("2025-12".into()),
        yearly: Some("2025".into()),
    };
    assert_eq!(
        due_kinds(&p, &last, keep),
        vec![Kind::Daily, Kind::Monthly],
        "yearly kept 0 is off"
    );
}

#[test]
fn a_simulated_year_of_daily_runs_keeps_exactly_the_configured_archives() {
    let f = fixture(local(2025, 1, 1, 0, 0));
    let j = jobs(&f, quiet_health());
    // The first tick of a fresh install only starts the count.
    j.tick();
    assert_eq!(archive::list(f.dir.path()).len(), 0);
    let mut day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    for _ in 0..400 {
        // A few ticks around 02:30 local each day; only one may snapshot.
        for (h, m) in [(2, 29), (2, 30), (2, 31), (14, 0)] {
            f.clock.set(local(day.year(), day.month(), day.day(), h, m));
            j.tick();
        }
        day = day.succ_opt().unwrap();
    }
    assert_eq!(count(&f, Kind::Daily), 14);
    assert_eq!(count(&f, Kind::Monthly), 12);
    // Installed just before 02:30 on 1 Jan 2025: that morning's yearly and 1 Jan 2026's.
    assert_eq!(count(&f, Kind::Yearly), 2);
    for a in archive::list(f.dir.path()) {
        archive::verify(&a.path).unwrap();
    }
}

#[test]
fn missed_runs_are_caught_up_once_at_start() {
    let f = fixture(local(2026, 11, 20, 12, 0));
    let j = jobs(&f, quiet_health());
    j.tick();
    // The server was off from the 20th until 10:00 on 3 December.
    f.clock.set(local(2026, 12, 3, 10, 0));
    let ran = j.tick();
    assert!(
        ran.iter()
            .any(|(job, r)| *job == Job::Snapshots && r.is_ok()),
        "{ran:?}"
    );
    assert_eq!(
        count(&f, Kind::Daily),
        1,
        "one catch-up daily, not one per missed day"
    );
    assert_eq!(
        count(&f, Kind::Monthly),
        1,
        "December's monthly was missed on the 1st"
    );
    assert_eq!(count(&f, Kind::Yearly), 0);
    j.tick();
    assert_eq!(archive::list(f.dir.path()).len(), 2, "nothing twice");
}

#[test]
fn a_failed_snapshot_alerts_and_deletes_nothing() {
    let f = fixture(local(2026, 11, 20, 12, 0));
    let j = jobs(&f, quiet_health());
    j.tick();
    f.clock.set(local(2026, 11, 21, 3, 0));
    j.tick();
    assert_eq!(count(&f, Kind::Daily), 1);
    let old = archive::list(f.dir.path());
    // The daily folder becomes a file: the next snapshot cannot be written.
    let daily = archive::kind_dir(f.dir.path(), Kind::Daily);
    let moved = f.dir.path().join("daily-moved");
    std::fs::rename(&daily, &moved).unwrap();
    std::fs::write(&daily, b"not a folder").unwrap();
    f.clock.set(local(2026, 11, 22, 3, 0));
    let ran = j.tick();
    assert!(
        ran.iter()
            .any(|(job, r)| *job == Job::Snapshots && r.is_err()),
        "{ran:?}"
    );
    assert!(
        alerts_to(&f, 42).iter().any(|t| t.contains("daily")),
        "{:?}",
        alerts_to(&f, 42)
    );
    std::fs::remove_file(&daily).unwrap();
    std::fs::rename(&moved, &daily).unwrap();
    assert_eq!(archive::list(f.dir.path()), old, "older archives untouched");
    // Not retried at once (a full disk would be filled every minute), but after the pause.
    f.clock.advance(60);
    j.tick();
    assert_eq!(count(&f, Kind::Daily), 1);
    f.clock.advance(600);
    j.tick();
    assert_eq!(count(&f, Kind::Daily), 2);
}

#[test]
fn health_alerts_are_raised_once_and_cleared_once() {
    let f = fixture(local(2026, 11, 20, 12, 0));
    let tight = HealthConfig {
        min_free_disk_mb: u64::MAX,
        ..quiet_health()
    };
    let j = jobs(&f, tight);
    j.tick();
    let fails = |f: &Fixture| {
        alerts_to(f, 42)
            .iter()
            .filter(|t| t.contains("disk") && t.contains('❗'))
            .count()
    };
    assert_eq!(fails(&f), 1);
    assert_eq!(f.svc.failing_health().unwrap().len(), 1);
    f.clock.advance(600);
    j.tick();
    assert_eq!(fails(&f), 1, "not repeated while it stays failing");
    let ok = jobs(&f, quiet_health());
    f.clock.advance(600);
    ok.tick();
    assert_eq!(
        alerts_to(&f, 42)
            .iter()
            .filter(|t| t.contains("disk") && t.contains('✅'))
            .count(),
        1
    );
    assert!(f.svc.failing_health().unwrap().is_empty());
    // Not more often than the interval.
    f.clock.advance(60);
    assert!(ok.tick().iter().all(|(job, _)| *job != Job::Health));
}

#[test]
fn digests_go_to_subscribers_once_and_late_ones_are_skipped() {
    let f = fixture(local(2026, 11, 20, 8, 0));
    let root = Actor::Staff {
        login: "root".into(),
        role: Role::Superadmin,
    };
    f.svc.set_digest_subscription(&root, "root", true).unwrap();
    let j = jobs(&f, quiet_health());
    j.tick();
    f.clock.set(local(2026, 11, 20, 9, 0));
    let ran = j.tick();
    assert!(
        ran.iter().any(|(job, r)| *job == Job::Digest && r.is_ok()),
        "{ran:?}"
    );
    f.clock.set(local(2026, 11, 20, 9, 1));
    j.tick();
    assert_eq!(
        alerts_to(&f, 42)
            .iter()
            .filter(|t| t.contains("📊"))
            .count(),
        1
    );
    // Down from 8:00 to 11:00 the next day: that digest is stale and skipped.
    f.clock.set(local(2026, 11, 21, 11, 0));
    j.tick();
    assert_eq!(
        alerts_to(&f, 42)
            .iter()
            .filter(|t| t.contains("📊"))
            .count(),
        1
    );
}

/// A folder that cannot be written while the guard lives: a read-only bind mount as root (a
/// mode does not stop root), the mode 0555 otherwise.
struct ReadOnly {
    dir: std::path::PathBuf,
    mounted: bool,
}

impl ReadOnly {
    fn new(dir: &std::path::Path) -> ReadOnly {
        use std::os::unix::fs::PermissionsExt;
        use std::process::Command;
        std::fs::create_dir_all(dir).unwrap();
        // SAFETY: geteuid has no preconditions.
        let mounted = unsafe { libc::geteuid() } == 0;
        if mounted {
            let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
            assert!(ok(Command::new("mount").arg("--bind").arg(dir).arg(dir)));
            assert!(ok(Command::new("mount")
                .args(["-o", "remount,ro,bind"])
                .arg(dir)));
        } else {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        assert!(
            std::fs::write(dir.join("probe"), b"x").is_err(),
            "the folder should refuse writes"
        );
        ReadOnly {
            dir: dir.to_path_buf(),
            mounted,
        }
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.mounted {
            let _ = std::process::Command::new("umount").arg(&self.dir).status();
        } else {
            let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755));
        }
    }
}

fn alert_count(f: &Fixture, needle: &str, mark: char) -> usize {
    alerts_to(f, 42)
        .iter()
        .filter(|t| t.contains(needle) && t.contains(mark))
        .count()
}

#[test]
fn an_unwritable_archive_folder_fails_cleanly_alerts_once_and_recovers() {
    let f = fixture(local(2026, 11, 20, 12, 0));
    let j = jobs(&f, quiet_health());
    j.tick();
    let daily = archive::kind_dir(f.dir.path(), Kind::Daily);
    let guard = ReadOnly::new(&daily);
    f.clock.set(local(2026, 11, 21, 3, 0));
    let ran = j.tick();
    let err = ran
        .iter()
        .find(|(job, _)| *job == Job::Snapshots)
        .and_then(|(_, r)| r.clone().err())
        .expect("the snapshot fails");
    assert!(err.contains("daily snapshot failed"), "{err}");
    let failing = f.svc.failing_health().unwrap();
    let archive_detail = failing
        .iter()
        .find(|(c, _)| c == "archive")
        .map(|(_, d)| d.clone())
        .expect("the archive check fails");
    assert!(archive_detail.contains("daily"), "{archive_detail}");
    let data_dir_detail = failing
        .iter()
        .find(|(c, _)| c == "data_dir")
        .map(|(_, d)| d.clone())
        .expect("the data_dir check names the folder");
    assert!(
        data_dir_detail.contains(&daily.display().to_string()),
        "{data_dir_detail}"
    );
    assert_eq!(alert_count(&f, "«archive»", '❗'), 1);
    // Minutes and retries later: still one alert, nothing partial left in the folder.
    for _ in 0..30 {
        f.clock.advance(60);
        j.tick();
    }
    assert_eq!(alert_count(&f, "«archive»", '❗'), 1, "alerted once");
    assert_eq!(alert_count(&f, "«data_dir»", '❗'), 1, "alerted once");
    assert_eq!(
        std::fs::read_dir(&daily).unwrap().count(),
        0,
        "nothing partial"
    );
    drop(guard);
    f.clock.advance(600);
    j.tick();
    assert_eq!(count(&f, Kind::Daily), 1, "the next attempt succeeds");
    f.clock.advance(600);
    j.tick();
    assert!(f.svc.failing_health().unwrap().is_empty());
    assert_eq!(alert_count(&f, "«archive»", '✅'), 1);
    assert_eq!(alert_count(&f, "«data_dir»", '✅'), 1);
    assert_eq!(count(&f, Kind::Daily), 1, "not twice");
}

#[test]
fn a_backward_jump_does_not_run_a_snapshot_point_twice() {
    let f = fixture(local(2026, 11, 20, 12, 0));
    let j = jobs(&f, quiet_health());
    j.tick();
    f.clock.set(local(2026, 11, 21, 3, 0));
    j.tick();
    assert_eq!(count(&f, Kind::Daily), 1);
    // Back two hours, across the 02:30 point, and forward through it again.
    f.clock.set(local(2026, 11, 21, 1, 0));
    j.tick();
    for _ in 0..120 {
        f.clock.advance(60);
        j.tick();
    }
    assert_eq!(
        count(&f, Kind::Daily),
        1,
        "the same point does not run twice"
    );
    // The next day's point runs as usual.
    f.clock.set(local(2026, 11, 22, 2, 31));
    j.tick();
    assert_eq!(count(&f, Kind::Daily), 2);
}

#[test]
fn a_forward_jump_catches_up_once_per_kind_and_its_correction_blocks_nothing() {
    let f = fixture(local(2026, 11, 20, 12, 0));
    let j = jobs(&f, quiet_health());
    j.tick();
    // The clock leaps 400 days ahead: one catch-up of each kind, not 400 dailies.
    f.clock.set(local(2027, 12, 25, 12, 0));
    j.tick();
    j.tick();
    assert_eq!(
        (
            count(&f, Kind::Daily),
            count(&f, Kind::Monthly),
            count(&f, Kind::Yearly)
        ),
        (1, 1, 1)
    );
    // Put right: the schedule is not blocked until the clock reaches 2027 again.
    f.clock.set(local(2026, 11, 20, 12, 5));
    j.tick();
    assert_eq!(count(&f, Kind::Daily), 1, "nothing extra at the correction");
    f.clock.set(local(2026, 11, 21, 2, 31));
    j.tick();
    assert_eq!(count(&f, Kind::Daily), 2, "the next daily point runs");
    f.clock.set(local(2026, 12, 1, 2, 31));
    j.tick();
    assert_eq!(count(&f, Kind::Monthly), 2, "the next monthly point runs");
}

#[test]
fn health_checks_keep_running_after_the_clock_goes_back() {
    let f = fixture(local(2026, 11, 20, 12, 0));
    let j = jobs(&f, quiet_health());
    j.tick();
    f.clock.set(local(2026, 11, 20, 10, 0));
    let ran = j.tick();
    assert!(ran.iter().all(|(_, r)| r.is_ok()), "{ran:?}");
    assert_eq!(
        f.svc.job_state("health.last").unwrap(),
        Some(local(2026, 11, 20, 10, 0).to_string()),
        "the health checks ran instead of waiting two hours"
    );
    assert!(j.remote_health_due());
}

#[test]
fn digests_are_not_blocked_by_a_corrected_forward_jump() {
    let f = fixture(local(2026, 11, 20, 8, 0));
    let root = Actor::Staff {
        login: "root".into(),
        role: Role::Superadmin,
    };
    f.svc.set_digest_subscription(&root, "root", true).unwrap();
    let j = jobs(&f, quiet_health());
    j.tick();
    let digests = |f: &Fixture| alerts_to(f, 42).iter().filter(|t| t.contains("📊")).count();
    f.clock.set(local(2030, 1, 1, 9, 5));
    j.tick();
    assert_eq!(digests(&f), 1);
    // Corrected back: today's 09:00 digest is counted from now, tomorrow's is sent.
    f.clock.set(local(2026, 11, 20, 9, 10));
    j.tick();
    f.clock.set(local(2026, 11, 20, 9, 20));
    j.tick();
    assert_eq!(digests(&f), 1, "nothing extra at the correction");
    f.clock.set(local(2026, 11, 21, 9, 0));
    j.tick();
    assert_eq!(digests(&f), 2, "the next digest goes out");
}

#[test]
fn a_clock_jump_fails_the_clock_check_once_and_clears_once() {
    let f = fixture(local(2026, 11, 20, 12, 0));
    let j = jobs(&f, quiet_health());
    let at = local(2026, 11, 20, 9, 57);
    j.clock_event(clock_watch::ClockEvent::Jumped { by: -7380, at });
    j.clock_event(clock_watch::ClockEvent::Jumped { by: 600, at });
    let failing = f.svc.failing_health().unwrap();
    assert_eq!(
        failing,
        vec![(
            "clock".to_string(),
            "wall clock jumped back 2 h 03 min at 2026-11-20 09:57 (Europe/Moscow)".to_string()
        )]
    );
    assert_eq!(alert_count(&f, "«clock»", '❗'), 1);
    j.clock_event(clock_watch::ClockEvent::Steady);
    assert!(f.svc.failing_health().unwrap().is_empty());
    assert_eq!(alert_count(&f, "«clock»", '✅'), 1);
}
