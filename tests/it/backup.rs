//! `slowburn store backup` (issue 12, item 7): a copy taken through a running daemon is a
//! consistent, verified store holding what the daemon had committed (its counts, alert states
//! and silences), while the daemon keeps evaluating; the API refuses it without the token; a copy
//! from a stopped daemon's directory equals that store exactly.

use crate::common;
use crate::common::*;
use slowburn::budget::Bucket;
use slowburn::store::Store;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "backup-test-token";

/// Every series' buckets over the last two days (its width from the key), alerts and silences.
#[derive(Debug, PartialEq)]
struct Contents {
    series: BTreeMap<String, Vec<Bucket>>,
    alerts: Vec<(String, Vec<u8>)>,
    silences: Vec<(String, Vec<u8>)>,
}

fn read(dir: &Path, from: i64) -> Contents {
    let store = Store::open(dir).expect("open store");
    let mut series = BTreeMap::new();
    for (key, id) in store.series_keys().expect("series") {
        let width: i64 = key.rsplit('|').find_map(|w| w.parse().ok()).expect("width");
        let start = from - from.rem_euclid(width);
        let n = (2 * 86_400 / width) as usize;
        series.insert(key, store.get(id, start, width, n).expect("buckets"));
    }
    Contents {
        series,
        alerts: store.alerts().expect("alerts"),
        silences: store.silences().expect("silences"),
    }
}

fn backup(args: &[&str], token: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slowburn"));
    cmd.args(["store", "backup"])
        .args(args)
        .env_remove("SLOWBURN_API_TOKEN");
    if let Some(t) = token {
        cmd.env("SLOWBURN_API_TOKEN", t);
    }
    let out = cmd.output().expect("run slowburn");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_backup_of_a_running_daemon_is_consistent_and_the_daemon_keeps_ticking() {
    if !require_prometheus() {
        return;
    }
    let prom = start_prometheus(&short_live_history());
    let root = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(root.path(), &fast_config(&prom.url));
    let data = root.path().join("data");
    let mut d = Daemon::start(&cfg, &data, &[("SLOWBURN_API_TOKEN", TOKEN)]);
    d.wait_ready(Duration::from_secs(120));
    let from = now_secs() - 86_400;
    // A silence, so the backup must carry more than counts.
    let body = format!(
        r#"{{"slo": "svc15/availability", "ends_at": "{}", "comment": "backup", "created_by": "test"}}"#,
        slowburn::time::rfc3339(now_secs() + 3600)
    );
    let bearer = format!("Bearer {TOKEN}");
    let silences = format!("{}/api/v1/silences", d.url);
    let (code, resp) = http::request("POST", &silences, &[("Authorization", &bearer)], &body)
        .expect("create silence");
    assert_eq!(code, 201, "{resp}");

    // The API: no token, a wrong one.
    let url = format!("{}/api/v1/store/backup", d.url);
    assert_eq!(http::request("POST", &url, &[], "").map(|r| r.0), Some(401));
    let wrong = [("Authorization", "Bearer nope")];
    assert_eq!(
        http::request("POST", &url, &wrong, "").map(|r| r.0),
        Some(401)
    );
    let (code, _, err) = backup(&["--server", &d.url, "--out", "/nonexistent/x"], None);
    assert_eq!(code, 1);
    assert!(err.contains("API token"), "{err}");

    // The store is the daemon's: a direct copy is refused, pointing at --server.
    let direct = root.path().join("direct");
    let (code, _, err) = backup(
        &[
            "--data-dir",
            data.to_str().expect("path"),
            "--out",
            direct.to_str().expect("path"),
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--server"), "{err}");

    // Through the daemon, while it ticks.
    let online = root.path().join("online");
    let tick_before = last_eval(&d);
    let (code, out, err) = backup(
        &["--server", &d.url, "--out", online.to_str().expect("path")],
        Some(TOKEN),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("verified"), "{out}");
    eprintln!("{}", out.trim());
    // Into the same directory again: refused, the first copy kept.
    let (code, _, err) = backup(
        &["--server", &d.url, "--out", online.to_str().expect("path")],
        Some(TOKEN),
    );
    assert_eq!(code, 1);
    assert!(err.contains("already holds a store"), "{err}");
    wait_ticks(&d, 2, 10);
    assert!(last_eval(&d) > tick_before, "the daemon kept evaluating");
    assert!(
        std::fs::read_dir(&data)
            .expect("data dir")
            .filter_map(Result::ok)
            .all(|e| !e.file_name().to_string_lossy().starts_with(".backup-")),
        "the daemon left no temporary copy behind"
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(20)), Some(0));

    let copy = read(&online, from);
    let last = read(&data, from);
    assert_eq!(copy.silences.len(), 1, "the silence is in the backup");
    assert_eq!(copy.silences, last.silences);
    assert_eq!(
        copy.series.keys().collect::<Vec<_>>(),
        last.series.keys().collect::<Vec<_>>()
    );
    // Every bucket the copy knows, the daemon still has with the same counts, except the last
    // few, which later ticks re-query for late samples.
    let mut known = 0;
    for (key, buckets) in &copy.series {
        let newest = buckets
            .iter()
            .rposition(|b| !matches!(b, Bucket::Missing))
            .unwrap_or(0);
        for (i, (a, b)) in buckets.iter().zip(&last.series[key]).enumerate() {
            if matches!(a, Bucket::Missing) || i + 4 > newest {
                continue;
            }
            assert_eq!(a, b, "{key} bucket {i}");
            known += 1;
        }
    }
    assert!(known > 10_000, "a day of 10 s buckets per series: {known}");

    // From the stopped daemon's directory: equal to the store, exactly.
    let offline = root.path().join("offline");
    let (code, out, err) = backup(
        &[
            "--data-dir",
            data.to_str().expect("path"),
            "--out",
            offline.to_str().expect("path"),
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(read(&offline, from), last);
    // A backup is a store: `store verify` (and `backtest --data-dir`) read it.
    let (code, out, err) = slowburn(&[
        "store",
        "verify",
        "--data-dir",
        online.to_str().expect("path"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
}

/// A `/metrics` value, 0 when absent.
fn metric(d: &Daemon, prefix: &str) -> f64 {
    common::metric(d, prefix).unwrap_or(0.0)
}

/// Scheduled backups (issue 22, item 13): `backup: {every: 10s, to: DIR, keep: 2}` takes a
/// verified copy every 10 s into its own directory, keeps the newest two, says when the last good
/// one was taken (metric and the internals page); each copy is a store that `store verify`
/// passes and holds the daemon's series; after a restart the newest copy on disk is reported.
#[test]
fn scheduled_backups_are_verified_pruned_and_reported() {
    if !require_prometheus() {
        return;
    }
    let prom = start_prometheus(&short_live_history());
    let root = tempfile::tempdir().expect("tempdir");
    let to = root.path().join("backups");
    let cfg = write_config(
        root.path(),
        &format!(
            "{}backup: {{every: 10s, to: \"{}\", keep: 2}}\nslos:\n{SVC15_AVAILABILITY}",
            fast_head(&prom.url),
            to.display()
        ),
    );
    let data = root.path().join("data");
    let mut d = Daemon::start(&cfg, &data, &[]);
    d.wait_ready(Duration::from_secs(120));
    wait_until("three scheduled backups", Duration::from_secs(60), || {
        metric(&d, "slowburn_backups_total{result=\"ok\"} ") >= 3.0
    });
    let last = metric(&d, "slowburn_backup_last_success_timestamp_seconds ");
    assert!(
        (now_secs() as f64 - last).abs() < 30.0,
        "the last good backup is recent: {last}"
    );
    assert_eq!(
        metric(&d, "slowburn_backups_total{result=\"failed\"} "),
        0.0
    );
    let page = d.get("/internals").1;
    assert!(page.contains("Last good backup"), "{page}");
    // Stopped, so no copy is being taken or pruned while the directory is read.
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(15)), Some(0));
    let mut copies: Vec<_> = std::fs::read_dir(&to)
        .expect("backup dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    copies.sort();
    assert_eq!(copies.len(), 2, "keep: 2 leaves two copies: {copies:?}");
    for c in &copies {
        let name = c
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with("slowburn-20"), "{name}");
        let (code, out, err) =
            slowburn(&["store", "verify", "--data-dir", c.to_str().expect("UTF-8")]);
        assert_eq!(code, 0, "{name}: {out}{err}");
    }
    let newest = copies.last().expect("a copy").clone();
    let keys = Store::open(&newest)
        .expect("the copy opens")
        .series_keys()
        .expect("series");
    assert!(
        keys.iter()
            .any(|(k, _)| k.starts_with("svc15/availability|")),
        "the copy holds the SLO's series: {keys:?}"
    );

    let on_disk = slowburn::backups::newest(&to).expect("a copy").1 as f64;
    let mut d = Daemon::start(&cfg, &data, &[]);
    d.wait_ready(Duration::from_secs(120));
    wait_until("the newest copy reported", Duration::from_secs(10), || {
        metric(&d, "slowburn_backup_last_success_timestamp_seconds ") >= on_disk
    });

    // Item 11: a store redb refuses names the newest copy and how to put it in place.
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(15)), Some(0));
    let file = data.join(slowburn::store::FILE_NAME);
    let mut bytes = std::fs::read(&file).expect("store");
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b = !*b;
    }
    std::fs::write(&file, &bytes).expect("damage");
    let (code, _, err) = slowburn(&[
        "run",
        "--config",
        cfg.to_str().expect("UTF-8"),
        "--data-dir",
        data.to_str().expect("UTF-8"),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 1, "{err}");
    let newest = slowburn::backups::newest(&to).expect("a copy").0;
    assert!(err.contains("newest verified backup"), "{err}");
    assert!(err.contains(&newest.display().to_string()), "{err}");
    std::fs::rename(&data, root.path().join("data.damaged")).expect("aside");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::copy(newest.join(slowburn::store::FILE_NAME), &file).expect("restore");
    let mut d = Daemon::start(&cfg, &data, &[]);
    d.wait_ready(Duration::from_secs(120));
    assert_eq!(d.get("/healthz").0, 200, "restored from the copy");
}
