//! A full disk (issue 22, item 6): after one failed write redb answers every later transaction
//! with "Previous I/O error occurred" until the database is reopened. The daemon's store lives on
//! a small tmpfs here; the test fills it, lets ticks fail, frees it, and checks that evaluation
//! resumes by itself (the store reopened), that `/healthz` said the daemon was stalled meanwhile,
//! and that nothing committed was lost: the daemon's 1-day counts equal a report straight from
//! Prometheus at the same instant.

use crate::common::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const WIDTH: i64 = 10;

/// A tmpfs of `mib` MiB at `dir` (root only), unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, mib: u32) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes a file until the file system is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).expect("filler");
    let block = vec![0xa5u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
}

fn wait_for(what: &str, d: &Daemon, timeout: Duration, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen in {timeout:?}; log: {}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_full_disk_heals_by_itself_and_loses_nothing_committed() {
    if !require_prometheus() {
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    let Some(fs) = Tmpfs::mount(&root.path().join("fs"), 16) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "mounting a tmpfs needs root, which CI has"
        );
        eprintln!("SKIPPED: cannot mount a tmpfs (not root)");
        return;
    };
    let prom = start_prometheus(&short_live_history());
    let head = fast_head(&prom.url);
    let cfg = write_config(root.path(), &format!("{head}slos:\n{SVC15_AVAILABILITY}"));
    // The store on the tmpfs, the log (beside it, `fs.log`) outside.
    let mut d = Daemon::start(&cfg, &fs.0, &[]);
    d.wait_ready(Duration::from_secs(120));
    wait_ticks(&d, 1, WIDTH);
    assert_eq!(d.get("/healthz").0, 200);

    let filler = fs.0.join("filler.bin");
    fill(&filler);
    wait_for("a failed tick", &d, Duration::from_secs(60), || {
        d.log_text().contains("evaluation failed")
    });
    // Ticks keep failing while the disk is full, and liveness says so once a minute passed.
    wait_for("/healthz failing", &d, Duration::from_secs(120), || {
        d.get("/healthz").0 == 503
    });
    let stalled = d.get("/healthz").1;
    assert!(stalled.contains("stalled"), "{stalled}");

    std::fs::remove_file(&filler).expect("free the disk");
    let before = last_eval(&d);
    wait_for("evaluation resuming", &d, Duration::from_secs(60), || {
        last_eval(&d) > before
    });
    assert_eq!(d.get("/healthz").0, 200, "healthy again");
    assert!(
        metric(&d, "slowburn_store_reopens_total ").unwrap_or(0.0) >= 1.0,
        "the store was reopened"
    );
    // The failed ticks' buckets were asked again: the day is whole and equals Prometheus.
    let coverage = "slo_coverage_ratio{service=\"svc15\",slo=\"availability\",window=\"1d\"} ";
    wait_for("the day fully known", &d, Duration::from_secs(60), || {
        metric(&d, coverage) == Some(1.0)
    });
    let api: serde_json::Value =
        serde_json::from_str(&d.get("/api/v1/slos/svc15/availability").1).expect("API JSON");
    let at = chrono_like_parse(api["at"].as_str().expect("at"));
    let direct = report_json(&cfg, at);
    for key in ["good", "total"] {
        assert_eq!(
            api["periods"]["1d"][key], direct["slos"][0]["periods"]["1d"][key],
            "{key} at {at}: daemon after a full disk vs Prometheus"
        );
    }
    // And the same after a restart, from the store alone.
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(15)), Some(0));
    let (code, out, err) = slowburn(&[
        "store",
        "verify",
        "--data-dir",
        fs.0.to_str().expect("UTF-8"),
    ]);
    assert_eq!(
        code, 0,
        "the store is sound after the full disk: {out}{err}"
    );
}

/// Unix seconds of an RFC 3339 time the API printed (`2026-12-04T16:20:00Z`).
fn chrono_like_parse(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("RFC 3339")
        .timestamp()
}
