//! What the `allot` binary leaves on disk is its owner's alone, and the
//! operator can find a value in the records with `allot privacy hash`.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every file and directory under `dir`, `dir` included.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_path_buf());
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn data_files_are_owner_only_and_values_hash_as_recorded() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("decisions");
    let mut server = Command::new(env!("CARGO_BIN_EXE_allot"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-metrics",
            "--no-explorer",
        ])
        .arg("--decisions-dir")
        .arg(&data)
        .env_remove("ALLOT_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let wanted = [
        data.join("decisions.redb"),
        data.join("privacy.key"),
        data.join("state"),
    ];
    let started = Instant::now();
    while !wanted.iter().all(|p| p.exists()) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the server did not create its data files: {wanted:?}"
        );
        assert!(server.try_wait().unwrap().is_none(), "the server exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut paths = Vec::new();
    walk(&data, &mut paths);
    for path in &paths {
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "{} is readable by others than its owner ({mode:o})",
            path.display()
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();

    let hash = |value: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_allot"))
            .args(["privacy", "hash", value, "--decisions-dir"])
            .arg(&data)
            .env_remove("ALLOT_CONFIG")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let keys = allot_service::privacy::Pseudonymizer::load(&Default::default(), &data).unwrap();
    assert_eq!(hash("ann@example.com"), keys.pseudonym("ann@example.com"));
    assert!(hash("ann@example.com").starts_with(&format!("hmac:{}:", keys.key_id())));

    // Without a key there is nothing to hash with: an error, not a new key.
    let empty = root.path().join("empty");
    let out = Command::new(env!("CARGO_BIN_EXE_allot"))
        .args(["privacy", "hash", "x", "--decisions-dir"])
        .arg(&empty)
        .env_remove("ALLOT_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!empty.join("privacy.key").exists());
}
