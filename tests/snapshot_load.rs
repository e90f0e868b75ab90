//! Snapshots under write load (issue 7), end to end: the real `helpdesk serve` talks to the
//! Telegram Bot API emulator while 50 requesters file tickets and follow-up messages through
//! the bot for the whole test (`tests/snapshot_support`). Meanwhile the test takes several
//! snapshots with the CLI (`helpdesk snapshot`, which reaches the running server through its
//! control socket) and, for each archive, while the load goes on:
//!
//! * `helpdesk verify` accepts it;
//! * `helpdesk restore` into a fresh folder loads exactly the per-table row counts of the
//!   manifest (what the snapshot's read transaction saw), and a snapshot of the restored
//!   folder has the same counts and the same per-table SHA-256 (nothing lost or added);
//! * the restored data is whole: ticket ids are exactly 1..=`seq.ticket`, audit ids exactly
//!   1..=`seq.audit`; every ticket has its timeline (events numbered 1..k, `created` first),
//!   its one `ticket.create` audit row, its idempotency key, its requester, and as many
//!   `ticket.message` audit rows as inbound messages; nothing points at a missing ticket;
//! * everything the bot had confirmed before the snapshot was requested (tickets with their
//!   requester and description, acknowledged follow-ups) is in it;
//! * the writers were writing: tickets, events and audit rows grew between snapshots.

mod common;
mod snapshot_support;
mod tg_emulator;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Sandbox, Server, archive_entry};
use serde_json::Value;
use snapshot_support::{Progress, TOKEN};
use tg_emulator::Emulator;

const REQUESTERS: i64 = 50;
const FIRST_USER: i64 = 7001;
const SNAPSHOTS: usize = 5;
/// Load between two snapshots.
const GAP: Duration = Duration::from_secs(5);

fn start(sb: &Sandbox) -> Server {
    let server = sb.serve(&["--config", "config.toml"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.get("/healthz").json()["bot"] != "polling" {
        assert!(Instant::now() < deadline, "the bot never polled");
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Rows of `tables/<table>.jsonl`.
fn jsonl(archive: &Path, table: &str) -> Vec<Value> {
    let bytes = archive_entry(archive, &format!("tables/{table}.jsonl"));
    String::from_utf8(bytes)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON row"))
        .collect()
}

fn manifest(archive: &Path) -> Value {
    serde_json::from_slice(&archive_entry(archive, "manifest.json")).expect("manifest JSON")
}

/// Table name → (rows, sha256) from a manifest.
fn sums(m: &Value) -> BTreeMap<String, (u64, String)> {
    m["tables"]
        .as_object()
        .expect("tables in the manifest")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                (
                    v["rows"].as_u64().expect("rows"),
                    v["sha256"].as_str().expect("sha256").to_string(),
                ),
            )
        })
        .collect()
}

/// `helpdesk snapshot` (through the control socket when a server runs on `data_dir`);
/// returns the archive's path.
fn snapshot(sb: &Sandbox, data_dir: Option<&Path>) -> PathBuf {
    let mut args = vec![
        "--config".to_string(),
        "config.toml".into(),
        "snapshot".into(),
    ];
    if let Some(d) = data_dir {
        args.push("--data-dir".into());
        args.push(d.display().to_string());
    }
    let run = sb.run(&args);
    run.success();
    let p = PathBuf::from(run.last_stdout_line());
    let p = if p.is_absolute() { p } else { sb.join(p) };
    assert!(p.exists(), "the snapshot's path {} exists", p.display());
    p
}

/// The ticket id of an audit target `ticket:#N`.
fn audit_ticket(a: &Value) -> Option<u64> {
    a["target"].as_str()?.strip_prefix("ticket:#")?.parse().ok()
}

/// Checks the restored data (rows of a snapshot of the restored folder) is whole, and holds
/// everything confirmed in `before`. Returns what it counted.
fn check_whole(archive: &Path, before: &Progress) -> Counts {
    let meta: BTreeMap<String, u64> = jsonl(archive, "meta")
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["value"].as_u64().unwrap(),
            )
        })
        .collect();
    let tickets = jsonl(archive, "tickets");
    let events = jsonl(archive, "ticket_events");
    let audit = jsonl(archive, "audit");
    let idem = jsonl(archive, "idempotency");
    let users: BTreeSet<i64> = jsonl(archive, "users")
        .iter()
        .map(|u| u["tg_id"].as_i64().expect("tg_id"))
        .collect();
    let sla = jsonl(archive, "sla");
    let outbox = jsonl(archive, "outbox");

    // Ids: every allocated number is there, and nothing beyond.
    let ids: Vec<u64> = tickets.iter().map(|t| t["id"].as_u64().unwrap()).collect();
    let seq = meta.get("seq.ticket").copied().unwrap_or(0);
    assert_eq!(
        ids,
        (1..=seq).collect::<Vec<_>>(),
        "ticket ids are 1..=seq.ticket"
    );
    let audit_ids: Vec<u64> = audit.iter().map(|a| a["id"].as_u64().unwrap()).collect();
    let seq_audit = meta.get("seq.audit").copied().unwrap_or(0);
    assert_eq!(
        audit_ids,
        (1..=seq_audit).collect::<Vec<_>>(),
        "audit ids are 1..=seq.audit"
    );
    let seq_outbox = meta.get("seq.outbox").copied().unwrap_or(0);
    for o in &outbox {
        assert!(
            o["id"].as_u64().unwrap() <= seq_outbox,
            "outbox id beyond its sequence: {o}"
        );
    }
    let by_id: BTreeMap<u64, &Value> = tickets
        .iter()
        .map(|t| (t["id"].as_u64().unwrap(), t))
        .collect();

    // Timelines.
    let mut timeline: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for e in &events {
        let t = e["ticket_id"].as_u64().unwrap();
        assert!(
            by_id.contains_key(&t),
            "an event of missing ticket #{t}: {e}"
        );
        timeline.entry(t).or_default().push(e);
    }
    let mut creates: BTreeMap<u64, usize> = BTreeMap::new();
    let mut messages: BTreeMap<u64, usize> = BTreeMap::new();
    for a in &audit {
        let Some(t) = audit_ticket(a) else { continue };
        match a["action"].as_str().unwrap_or("") {
            "ticket.create" => *creates.entry(t).or_default() += 1,
            "ticket.message" => *messages.entry(t).or_default() += 1,
            _ => {}
        }
        assert!(
            by_id.contains_key(&t),
            "an audit row of missing ticket #{t}: {a}"
        );
    }
    let idem_of: BTreeMap<u64, usize> = idem.iter().fold(BTreeMap::new(), |mut m, r| {
        let t = r["ticket_id"].as_u64().unwrap();
        assert!(
            by_id.contains_key(&t),
            "an idempotency key of missing ticket #{t}: {r}"
        );
        *m.entry(t).or_default() += 1;
        m
    });
    for s in &sla {
        let t = s["ticket_id"].as_u64().unwrap();
        assert!(by_id.contains_key(&t), "an SLA plan of missing ticket #{t}");
    }
    for (&id, t) in &by_id {
        let evs = timeline.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        let seqs: Vec<u64> = evs.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(
            seqs,
            (1..=evs.len() as u64).collect::<Vec<_>>(),
            "ticket #{id}: events numbered 1..k"
        );
        assert_eq!(
            evs.first().map(|e| &e["kind"]),
            Some(&Value::from("created")),
            "#{id} starts with created"
        );
        assert_eq!(
            creates.get(&id),
            Some(&1),
            "ticket #{id}: one ticket.create audit row"
        );
        let inbound = evs
            .iter()
            .filter(|e| e["kind"].get("inbound_message").is_some())
            .count();
        assert_eq!(
            messages.get(&id).copied().unwrap_or(0),
            inbound,
            "ticket #{id}: one ticket.message audit row per inbound message"
        );
        assert_eq!(
            idem_of.get(&id),
            Some(&1),
            "ticket #{id}: its idempotency key"
        );
        let r = t["requester"]
            .as_i64()
            .expect("a bot ticket has its requester");
        assert!(users.contains(&r), "ticket #{id}: requester {r} exists");
    }

    // Everything confirmed before the snapshot was asked for is in it.
    for (n, (requester, description)) in &before.tickets {
        let t = by_id.get(n).unwrap_or_else(|| {
            panic!("ticket #{n} was confirmed before the snapshot but is not in it")
        });
        assert_eq!(
            t["requester"].as_i64(),
            Some(*requester),
            "#{n}'s requester"
        );
        assert_eq!(
            t["description"].as_str(),
            Some(description.as_str()),
            "#{n}'s description"
        );
    }
    for (n, text) in &before.follow_ups {
        let found = timeline.get(n).is_some_and(|evs| {
            evs.iter()
                .any(|e| e["kind"]["inbound_message"]["text"].as_str() == Some(text.as_str()))
        });
        assert!(
            found,
            "follow-up {text:?} to #{n} was acknowledged before the snapshot but is not in it"
        );
    }
    Counts {
        tickets: tickets.len(),
        events: events.len(),
        audit: audit.len(),
        message_log: jsonl(archive, "messages").len(),
        outbox_seq: seq_outbox,
    }
}

/// What a snapshot held.
#[derive(Debug, Clone, Copy)]
struct Counts {
    tickets: usize,
    events: usize,
    audit: usize,
    /// Rows of the bot's message log (every update and reply).
    message_log: usize,
    /// Outbox rows ever queued (`seq.outbox`; delivered rows are deleted).
    outbox_seq: u64,
}

#[test]
fn snapshots_under_write_load_are_consistent_and_restore_whole() {
    let began = Instant::now();
    let emu = Emulator::start(TOKEN);
    let sb = Sandbox::new();
    sb.write("config.toml", snapshot_support::config(&emu, ""));
    let server = start(&sb);

    let stop = AtomicBool::new(false);
    let progress = Mutex::new(Progress::default());
    let stalled = std::thread::scope(|scope| {
        let load = scope.spawn(|| {
            snapshot_support::run(
                &emu,
                FIRST_USER,
                REQUESTERS,
                &stop,
                &progress,
                Duration::from_secs(20),
            )
        });
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // Everyone registered, and tickets are being filed.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let p = progress.lock().unwrap().clone();
                if p.registered == REQUESTERS as u64 && !p.tickets.is_empty() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the requesters did not get going: {p:?}\n{}",
                    server.stdout()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            let mut first: Option<Counts> = None;
            let mut last: Option<Counts> = None;
            let mut report = Vec::new();
            for i in 0..SNAPSHOTS {
                if i > 0 {
                    std::thread::sleep(GAP);
                }
                let before = progress.lock().unwrap().clone();
                let t = Instant::now();
                let archive = snapshot(&sb, None);
                let took = t.elapsed();
                let answers_during = progress.lock().unwrap().answers - before.answers;

                sb.run([
                    "--config",
                    "config.toml",
                    "verify",
                    archive.to_str().unwrap(),
                ])
                .success();
                let m = sums(&manifest(&archive));

                // Restore into a fresh folder: exactly the manifest's rows, table by table.
                let dir = sb.join(format!("restored-{i}"));
                let run = sb.run([
                    "--config",
                    "config.toml",
                    "restore",
                    archive.to_str().unwrap(),
                    "--data-dir",
                    dir.to_str().unwrap(),
                ]);
                run.success();
                let loaded: BTreeMap<String, u64> = run
                    .stdout
                    .lines()
                    .filter_map(|l| {
                        let (t, n) = l.trim().split_once(": ")?;
                        Some((t.to_string(), n.strip_suffix(" rows")?.parse().ok()?))
                    })
                    .collect();
                let want: BTreeMap<String, u64> =
                    m.iter().map(|(k, (n, _))| (k.clone(), *n)).collect();
                assert_eq!(
                    loaded, want,
                    "snapshot {i}: restore loaded the manifest's rows"
                );

                // The restored folder, read back by a snapshot of its own: the same rows.
                let again = snapshot(&sb, Some(&dir));
                let m2 = sums(&manifest(&again));
                assert_eq!(
                    m2, m,
                    "snapshot {i}: the restored folder holds the same rows"
                );

                let counts = check_whole(&again, &before);
                // The requesters move in step (Telegram's limits queue their answers), so
                // tickets are filed in waves; every answer, though, logs messages, queues an
                // outbox row; tickets, events and audit rows must have grown by the end.
                if let Some(prev) = last {
                    assert!(
                        counts.message_log > prev.message_log
                            && counts.outbox_seq > prev.outbox_seq,
                        "snapshot {i}: the writers wrote since the previous snapshot: {prev:?} → {counts:?}; \
                         the bot's last words to {FIRST_USER}: {:?}",
                        emu.sent_to(FIRST_USER)
                            .iter()
                            .rev()
                            .take(4)
                            .map(|m| m.text.clone())
                            .collect::<Vec<_>>()
                    );
                }
                first.get_or_insert(counts);
                last = Some(counts);
                report.push(format!(
                    "#{i}: {} tickets, {} events, {} audit rows, {} logged messages, {} rows in all; snapshot call {:.2} s, {answers_during} bot answers meanwhile",
                    counts.tickets,
                    counts.events,
                    counts.audit,
                    counts.message_log,
                    want.values().sum::<u64>(),
                    took.as_secs_f64()
                ));
            }
            let (first, last) = (first.unwrap(), last.unwrap());
            assert!(
                last.tickets > first.tickets
                    && last.events > first.events
                    && last.audit > first.audit,
                "tickets were filed while the snapshots were taken: {first:?} → {last:?}"
            );
            report
        }));
        stop.store(true, Ordering::Relaxed);
        let stalled = load.join().expect("the load thread");
        match result {
            Ok(report) => {
                for l in report {
                    println!("{l}");
                }
            }
            Err(e) => std::panic::resume_unwind(e),
        }
        stalled
    });
    assert!(
        stalled.is_empty(),
        "requesters waited over 20 s for an answer: {stalled:?}"
    );
    let p = progress.lock().unwrap().clone();
    println!(
        "snapshot_load: {} tickets confirmed, {} follow-ups, {} bot answers in {:.1} s",
        p.tickets.len(),
        p.follow_ups.len(),
        p.answers,
        began.elapsed().as_secs_f64()
    );
}
