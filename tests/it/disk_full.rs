//! A full disk (issue 22, item 6): after one failed write redb answers every later transaction
//! with "Previous I/O error occurred" until the database is reopened. The daemon's store lives on
//! a small tmpfs here. The test fills it, then asks for a write that cannot fit: a reload adding
//! three SLOs whose history is three times what the whole store file holds, so it must grow the
//! file, and the write fails with ENOSPC whatever redb's free pages are. (A tick alone writes a
//! few pages that redb may find among its free ones, so waiting for a tick to fail depends on
//! the file's layout: it did in CI.) The reload is refused and the running config kept; once the
//! disk is freed, the daemon tries the reload again by itself and it succeeds on the reopened
//! store, evaluation goes on, and
//! nothing committed is lost: every SLO's 1-day counts equal a report straight from Prometheus
//! at the same instant, and `store verify` is clean after a stop. That `/healthz` fails while
//! ticks fail is checked in-process (`server::healthz_fails_once_the_engine_stalls`).

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
    let more = format!("{}{MORE_SLOS}", fast_config(&prom.url));
    std::fs::write(&cfg, &more).expect("write config");
    d.signal("HUP");
    wait_for(
        "the reload refused for lack of space",
        &d,
        Duration::from_secs(60),
        || d.log_text().contains("config reload failed in the store"),
    );
    let log = d.log_text();
    assert!(log.contains("No space left on device"), "{log}");
    assert_eq!(metric(&d, "slowburn_config_reload_success "), Some(0.0));
    assert_eq!(slo_count(&d), 1, "the running config is kept");

    // The file watcher reloads too (debounced 500 ms): let it fail on the full disk as well, so
    // that after the disk is freed only the daemon's own retry can load the new SLOs.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(slo_count(&d), 1, "every reload on the full disk refused");
    // Freeing the disk is enough: the refused reload is tried again, on the reopened store.
    std::fs::remove_file(&filler).expect("free the disk");
    wait_for(
        "the reload tried again on a freed disk",
        &d,
        Duration::from_secs(120),
        || metric(&d, "slowburn_config_reload_success ") == Some(1.0),
    );
    assert_eq!(slo_count(&d), 4, "the new SLOs run");
    let log = d.log_text();
    assert!(
        log.contains("trying again the config reload that the store refused"),
        "{log}"
    );
    let before = last_eval(&d);
    wait_for("evaluation going on", &d, Duration::from_secs(60), || {
        last_eval(&d) > before
    });
    assert_eq!(d.get("/healthz").0, 200, "healthy");
    assert!(
        metric(&d, "slowburn_store_reopens_total ").unwrap_or(0.0) >= 1.0,
        "the store was reopened"
    );
    // Buckets of failed ticks, if any, were asked again: each day is whole and equals Prometheus.
    let ids = [
        ("svc15", "availability"),
        ("svc30", "latency"),
        ("svc30", "availability"),
        ("svc15", "availability-99"),
    ];
    for (service, slo) in ids {
        let coverage =
            format!("slo_coverage_ratio{{service=\"{service}\",slo=\"{slo}\",window=\"1d\"}} ");
        wait_for("the day fully known", &d, Duration::from_secs(60), || {
            metric(&d, &coverage) == Some(1.0)
        });
    }
    for (service, slo) in ids {
        let api: serde_json::Value =
            serde_json::from_str(&d.get(&format!("/api/v1/slos/{service}/{slo}")).1)
                .expect("API JSON");
        let at = chrono_like_parse(api["at"].as_str().expect("at"));
        let direct = report_json(&cfg, at);
        let row = direct["slos"]
            .as_array()
            .expect("slos")
            .iter()
            .find(|r| r["service"] == service && r["name"] == slo)
            .expect("the SLO in the report");
        for key in ["good", "total"] {
            assert_eq!(
                api["periods"]["1d"][key], row["periods"]["1d"][key],
                "{service}/{slo} {key} at {at}: daemon after a full disk vs Prometheus"
            );
        }
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

/// Three SLOs added by the reload: with `fast_config`'s two, four whose 4-day histories need
/// about three times the bytes of the store file that holds svc15's alone.
const MORE_SLOS: &str = r#"  - service: svc30
    name: availability
    objective: 99.5
    sli:
      ratio:
        errors: http_requests_total{service="svc30",code=~"5.."}
        total: http_requests_total{service="svc30"}
  - service: svc15
    name: availability-99
    objective: 99
    sli:
      ratio:
        errors: http_requests_total{service="svc15",code=~"5.."}
        total: http_requests_total{service="svc15"}
"#;

/// How many SLOs the daemon's API lists.
fn slo_count(d: &Daemon) -> usize {
    let list: serde_json::Value = serde_json::from_str(&d.get("/api/v1/slos").1).expect("API JSON");
    list["slos"].as_array().map_or(0, Vec::len)
}

/// Unix seconds of an RFC 3339 time the API printed (`2026-12-04T16:20:00Z`).
fn chrono_like_parse(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("RFC 3339")
        .timestamp()
}
