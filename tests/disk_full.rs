//! A snapshot that runs out of disk space removes its partial archive, leaves older archives
//! intact and exits non-zero with a clear message. The full disk is real: a small tmpfs mounted
//! over the archive folder (needs root, as CI runs; elsewhere the test says it was skipped).

use std::path::Path;
use std::process::Command;

fn helpdesk(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_helpdesk"))
        .args(args)
        .current_dir(dir)
        .env_remove("HELPDESK_CONFIG")
        .output()
        .expect("run helpdesk")
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// FAQ text that compresses poorly, so the archive outgrows the small file system.
fn noisy_faq(rows: usize) -> String {
    let mut s = String::from("question,answer\n");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..rows {
        let mut answer = String::new();
        for _ in 0..40 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            answer.push_str(&format!("{:x} ", x));
        }
        s.push_str(&format!("Question number {i}?,{answer}\n"));
    }
    s
}

#[test]
fn full_disk_during_snapshot_removes_the_partial_archive_and_keeps_old_ones() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting a small tmpfs needs root (CI runs as root)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("faq.csv"), noisy_faq(3000)).unwrap();
    let out = helpdesk(dir, &["faq", "import", "faq.csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // An older archive, made while there was room.
    let out = helpdesk(dir, &["snapshot"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let old = std::path::PathBuf::from(stdout.lines().last().unwrap());
    let old_bytes = std::fs::read(dir.join(&old)).unwrap();
    assert!(
        old_bytes.len() > 200_000,
        "the archive should be large: {}",
        old_bytes.len()
    );

    // Mount a file system just big enough for the old archive, and put it back there.
    let archive_dir = dir.join("data/archive");
    let keep = std::env::temp_dir().join(format!("hd-old-{}.tar.zst", std::process::id()));
    std::fs::copy(dir.join(&old), &keep).unwrap();
    std::fs::remove_dir_all(&archive_dir).unwrap();
    std::fs::create_dir_all(&archive_dir).unwrap();
    let size = old_bytes.len() + old_bytes.len() / 2;
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(&archive_dir)
        .status()
        .unwrap();
    assert!(st.success(), "mount tmpfs failed");
    let _guard = Unmount(archive_dir.clone());
    std::fs::create_dir_all(archive_dir.join("manual")).unwrap();
    std::fs::copy(&keep, dir.join(&old)).unwrap();
    std::fs::remove_file(&keep).unwrap();

    let out = helpdesk(dir, &["snapshot"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "snapshot on a full disk must fail");
    assert!(
        stderr.contains("disk is full") || stderr.contains("No space"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    let left: Vec<String> = std::fs::read_dir(archive_dir.join("manual"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(
        left,
        vec![old.file_name().unwrap().to_string_lossy().to_string()],
        "partial removed, old kept"
    );
    assert_eq!(std::fs::read(dir.join(&old)).unwrap(), old_bytes);
    let out = helpdesk(dir, &["verify", old.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
