//! Snapshot → verify → restore round-trips and the corruption checks.

use std::path::Path;

use super::*;
use crate::domain::*;
use crate::service::testing::service;
use crate::service::{NewStaff, NewTicket};
use crate::store::{Reads, Store};

/// A store with `n` tickets in several statuses, staff, stock, FAQ and outbox rows.
fn populated(n: usize) -> crate::service::testing::TestService {
    let t = service();
    let svc = &t.svc;
    svc.add_staff(
        &Actor::Cli,
        NewStaff {
            login: "olga".into(),
            password: "password1".into(),
            role: Role::Operator,
            telegram_id: Some(5),
            display_name: None,
        },
    )
    .unwrap();
    let olga = Actor::Staff {
        login: "olga".into(),
        role: Role::Operator,
    };
    for r in 0..20 {
        svc.register_requester(
            100 + r,
            &format!("Сотрудник {}", "А".repeat(r as usize % 5 + 1)),
            None,
            None,
            None,
            None,
        )
        .unwrap();
    }
    svc.upsert_stock_item(
        &Actor::Cli,
        "CE285A",
        "HP 85A",
        StockKind::Cartridge,
        &["HP P1102".into()],
        2,
    )
    .unwrap();
    svc.move_stock(&Actor::Cli, "CE285A", MoveReason::Receipt, 50, None, "")
        .unwrap();
    svc.create_api_token(&Actor::Cli, "backup-check", crate::domain::ApiScope::Read)
        .unwrap();
    svc.upsert_faq(
        &olga,
        None,
        "Как подключить VPN?",
        &["vpn".into()],
        "Так: …",
        true,
    )
    .unwrap();
    for i in 0..n {
        let tk = svc
            .create_ticket(
                &Actor::Requester {
                    tg_id: 100 + (i as i64 % 20),
                },
                NewTicket {
                    requester: Some(100 + (i as i64 % 20)),
                    requester_name: None,
                    category: Category::Printer,
                    priority: Priority::ALL[i % 4],
                    subject: format!("Заявка номер {i} ✓"),
                    description: "Не печатает \"принтер\"\nи шумит".into(),
                    order: vec![],
                    source: Source::Telegram,
                    idempotency_key: None,
                    attachments: vec![],
                },
            )
            .unwrap();
        if i % 4 == 0 {
            svc.change_status(&olga, tk.id, TicketAction::Take).unwrap();
        }
    }
    t
}

fn snapshot(store: &Store, dir: &Path) -> std::path::PathBuf {
    write_snapshot(store, dir, Kind::Manual, 1_750_000_000).unwrap()
}

#[test]
fn snapshot_verify_restore_round_trip_with_thousands_of_tickets() {
    let t = populated(2000);
    let out = tempfile::tempdir().unwrap();
    let path = snapshot(t.svc.store(), out.path());
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        "helpdesk-manual-20250615T150640Z.tar.zst"
    );
    let m = verify(&path).unwrap();
    assert_eq!(m.format_version, FORMAT_VERSION);
    assert_eq!(m.kind, Kind::Manual);
    assert_eq!(m.created_at, "2025-06-15T15:06:40Z");
    let live: std::collections::BTreeMap<String, u64> = t
        .svc
        .read()
        .unwrap()
        .table_counts()
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    for (name, sum) in &m.tables {
        assert_eq!(sum.rows, live[name], "rows of {name}");
    }
    assert_eq!(m.tables["tickets"].rows, 2000);
    assert_eq!(m.tables["api_tokens"].rows, 1);

    let target = out.path().join("restored");
    let report = restore(&path, &target).unwrap();
    assert_eq!(report.rows["tickets"], 2000);
    let restored = Store::open(&target).unwrap();
    let tx = restored.read().unwrap();
    // API tokens survive a restore (only their hashes were ever stored).
    assert_eq!(
        tx.api_token("backup-check").unwrap(),
        t.svc.read().unwrap().api_token("backup-check").unwrap()
    );
    assert_eq!(
        tx.ticket(1234).unwrap(),
        t.svc.read().unwrap().ticket(1234).unwrap()
    );
    // Indexes were rebuilt: lists by status and requester answer as before.
    let f = crate::store::TicketFilter {
        statuses: vec![TicketStatus::InProgress],
        ..Default::default()
    };
    assert_eq!(
        tx.tickets(&f, 0, 10_000).unwrap(),
        t.svc.read().unwrap().tickets(&f, 0, 10_000).unwrap()
    );
    let f = crate::store::TicketFilter {
        requester: Some(107),
        ..Default::default()
    };
    assert_eq!(tx.tickets(&f, 0, 10_000).unwrap().tickets.len(), 100);
    drop(tx);
    // A snapshot of the restored store has the very same checksums.
    let again = write_snapshot(
        &restored,
        &out.path().join("again"),
        Kind::Manual,
        1_750_000_000,
    )
    .unwrap();
    assert_eq!(verify(&again).unwrap().tables, m.tables);
    // Sequences carried over: the next ticket is #2001.
    let svc2 = crate::service::Service::new(
        restored,
        std::sync::Arc::new(crate::clock::FakeClock::new(1_750_000_100)),
        Default::default(),
    );
    let next = svc2
        .create_ticket(
            &Actor::Cli,
            NewTicket {
                requester: None,
                requester_name: Some("Гость".into()),
                category: Category::Other,
                priority: Priority::Low,
                subject: "after restore".into(),
                description: String::new(),
                order: vec![],
                source: Source::Cli,
                idempotency_key: None,
                attachments: vec![],
            },
        )
        .unwrap();
    assert_eq!(next.id, 2001);
}

#[test]
fn archive_is_readable_by_stock_tools_layout() {
    let t = populated(3);
    let out = tempfile::tempdir().unwrap();
    let path = snapshot(t.svc.store(), out.path());
    let dec = zstd::Decoder::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut ar = tar::Archive::new(dec);
    let names: Vec<String> = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(names[0], "manifest.json");
    assert!(names.contains(&"tables/tickets.jsonl".to_string()));
    assert!(
        !names.iter().any(|n| n.contains("sessions")),
        "sessions are never archived"
    );
    // Each ticket row carries its number as `id`.
    let dec = zstd::Decoder::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut ar = tar::Archive::new(dec);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == "tables/tickets.jsonl" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut e, &mut s).unwrap();
            let ids: Vec<u64> = s
                .lines()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                        .as_u64()
                        .unwrap()
                })
                .collect();
            assert_eq!(ids, vec![1, 2, 3]);
        }
    }
    // Two snapshots in the same second get distinct names.
    let second = snapshot(t.svc.store(), out.path());
    assert_ne!(second, path);
    assert_eq!(list(out.path()).len(), 2);
}

#[test]
fn verify_detects_flipped_bytes_and_truncation() {
    let t = populated(300);
    let out = tempfile::tempdir().unwrap();
    let path = snapshot(t.svc.store(), out.path());
    let bytes = std::fs::read(&path).unwrap();
    // Flip one byte at many positions: every one must be caught.
    let mut caught = 0;
    let positions: Vec<usize> = (1..20).map(|k| bytes.len() * k / 20).collect();
    for &pos in &positions {
        let mut b = bytes.clone();
        b[pos] ^= 0x40;
        let p = out.path().join(format!("flipped-{pos}.tar.zst"));
        std::fs::write(&p, &b).unwrap();
        if verify(&p).is_err() {
            caught += 1;
        }
    }
    assert_eq!(caught, positions.len());
    for cut in [bytes.len() / 2, bytes.len() - 1, 10, 0] {
        let p = out.path().join(format!("cut-{cut}.tar.zst"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let err = verify(&p).unwrap_err();
        assert!(
            matches!(err, ArchiveError::Corrupt { .. }),
            "cut at {cut}: {err}"
        );
    }
    let p = out.path().join("text.tar.zst");
    std::fs::write(&p, "hello").unwrap();
    assert!(verify(&p).is_err());
    assert!(verify(&out.path().join("missing.tar.zst")).is_err());
}

#[test]
fn restore_refuses_a_non_empty_folder_and_leaves_it_alone() {
    let t = populated(5);
    let out = tempfile::tempdir().unwrap();
    let path = snapshot(t.svc.store(), out.path());
    let target = out.path().join("busy");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("keep.txt"), "precious").unwrap();
    let err = restore(&path, &target).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(
        std::fs::read_to_string(target.join("keep.txt")).unwrap(),
        "precious"
    );
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 1);
    // An empty existing folder is fine.
    let empty = out.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    restore(&path, &empty).unwrap();
}

#[test]
fn a_damaged_archive_restores_nothing() {
    let t = populated(50);
    let out = tempfile::tempdir().unwrap();
    let path = snapshot(t.svc.store(), out.path());
    let mut b = std::fs::read(&path).unwrap();
    let n = b.len();
    b[n / 2] ^= 1;
    std::fs::write(&path, &b).unwrap();
    let target = out.path().join("new");
    assert!(restore(&path, &target).is_err());
    assert!(
        !target.exists(),
        "a failed restore leaves no half-made folder"
    );
}

#[test]
fn retention_deletes_old_files_on_disk() {
    let t = populated(1);
    let out = tempfile::tempdir().unwrap();
    for day in 0..5 {
        write_snapshot(
            t.svc.store(),
            out.path(),
            Kind::Daily,
            1_750_000_000 + day * 86_400,
        )
        .unwrap();
    }
    snapshot(t.svc.store(), out.path());
    let deleted = apply_retention(
        out.path(),
        Keep {
            daily: 2,
            monthly: 1,
            yearly: 1,
        },
    )
    .unwrap();
    assert_eq!(deleted.len(), 3);
    let left = list(out.path());
    assert_eq!(left.iter().filter(|a| a.kind == Kind::Daily).count(), 2);
    assert_eq!(left.iter().filter(|a| a.kind == Kind::Manual).count(), 1);
    assert_eq!(left[0].created.timestamp(), 1_750_000_000 + 4 * 86_400);
}

/// Found by `tests/fuzz.rs` (archive_verify_and_restore): the tar reader's message quoted a
/// damaged header's bytes, line breaks included, so the refusal took several lines.
#[test]
fn fuzz_regression_damaged_header_error_is_one_line() {
    let mut header = [0u8; 512];
    header[..14].copy_from_slice(b"manifest\n.json");
    header[148..156].copy_from_slice(b"zz\nzz\nzz");
    let mut tar = header.to_vec();
    tar.extend_from_slice(&[0u8; 1024]);
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("bad.tar.zst");
    std::fs::write(&path, zstd::encode_all(&tar[..], 1).unwrap()).unwrap();
    let e = verify(&path).unwrap_err().to_string();
    assert!(e.contains("damaged") && !e.contains('\n'), "{e:?}");
}

/// Found by `tests/fuzz.rs` (archive_verify_and_restore): an archive whose `meta` row said
/// schema 0 (checksums matching) restored "successfully" into a store that then would not open
/// ("no migration from schema 0"); the restore now refuses it and leaves no folder.
#[test]
fn fuzz_regression_schema_zero_is_refused_by_restore() {
    use sha2::{Digest, Sha256};
    use std::io::{Read, Write};
    let t = populated(2);
    let out = tempfile::tempdir().unwrap();
    let path = snapshot(t.svc.store(), out.path());
    let bytes = std::fs::read(&path).unwrap();
    let mut ar = tar::Archive::new(zstd::Decoder::new(&bytes[..]).unwrap());
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).unwrap();
        entries.push((name, buf));
    }
    let meta = entries
        .iter_mut()
        .find(|(n, _)| n == "tables/meta.jsonl")
        .unwrap();
    let text = String::from_utf8(meta.1.clone()).unwrap();
    let changed = text.replace(
        &format!(
            "\"schema_version\",\"value\":{}",
            crate::store::SCHEMA_VERSION
        ),
        "\"schema_version\",\"value\":0",
    );
    assert_ne!(text, changed, "{text}");
    meta.1 = changed.into_bytes();
    let sha = hex::encode(Sha256::digest(&meta.1));
    let m = entries
        .iter_mut()
        .find(|(n, _)| n == "manifest.json")
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&m.1).unwrap();
    v["tables"]["meta"]["sha256"] = serde_json::json!(sha);
    m.1 = serde_json::to_vec(&v).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in &entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    let mut enc = zstd::Encoder::new(Vec::new(), 1).unwrap();
    enc.write_all(&b.into_inner().unwrap()).unwrap();
    let bad = out.path().join("schema0.tar.zst");
    std::fs::write(&bad, enc.finish().unwrap()).unwrap();

    verify(&bad).unwrap();
    let target = out.path().join("restored");
    let e = restore(&bad, &target).unwrap_err().to_string();
    assert!(e.contains("schema 0"), "{e}");
    assert!(!target.exists());
}
