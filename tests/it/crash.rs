//! Crash safety: `kill -9` at random moments during backfill and during steady state loses no
//! committed bucket and double-counts none. The store of a run that was killed over and over (and
//! left down for a while, like a host outage) must equal the store of a clean run, bucket for
//! bucket, over the time both cover.

use crate::common::*;
use slowburn::budget::Bucket;
use slowburn::store::Store;
use std::collections::BTreeMap;
use std::time::Duration;

const WIDTH: i64 = 10;

/// Every series of a store by definition key: (first bucket start, buckets) over `[from, to)`.
fn dump(dir: &std::path::Path, from: i64, to: i64) -> BTreeMap<String, Vec<Bucket>> {
    let store = Store::open(dir).expect("open store");
    let n = ((to - from) / WIDTH) as usize;
    store
        .series_keys()
        .unwrap()
        .into_iter()
        .map(|(k, id)| (k, store.get(id, from, WIDTH, n).unwrap()))
        .collect()
}

/// Pseudo-random milliseconds in `lo..hi`, different on each call.
fn jitter_ms(lo: u64, hi: u64, salt: u64) -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    lo + (t ^ salt.wrapping_mul(0x9e37_79b9)) % (hi - lo)
}

#[test]
fn kill_9_anywhere_loses_nothing_and_double_counts_nothing() {
    if !require_prometheus() {
        return;
    }
    let prom = start_prometheus(&short_live_history());
    let root = tempfile::tempdir().unwrap();
    let cfg = write_config(root.path(), &fast_config(&prom.url));

    // The clean run: start, two ticks, SIGTERM.
    let clean_dir = root.path().join("clean");
    let mut clean = Daemon::start(&cfg, &clean_dir, &[]);
    clean.wait_ready(Duration::from_secs(120));
    wait_ticks(&clean, 2, WIDTH);
    clean.signal("TERM");
    assert_eq!(clean.wait_exit(Duration::from_secs(10)), Some(0));
    // The clean run's last tick: at least two buckets after its backfill.
    let clean_last = backfill_at(&clean) + 2 * WIDTH;
    drop(clean);

    // The killed run: kill -9 five times during backfill, then three times in steady state, stay
    // down for three buckets once, then finish cleanly. `SLOWBURN_SOAK_KILLS=100` (the soak
    // script) kills that many times, in the same 5:3 proportion.
    let total: u64 = std::env::var("SLOWBURN_SOAK_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let during_backfill = total * 5 / 8;
    let dir = root.path().join("killed");
    let mut kills = 0;
    for i in 0..during_backfill {
        let d = Daemon::start(&cfg, &dir, &[]);
        std::thread::sleep(Duration::from_millis(jitter_ms(50, 900, i)));
        d.signal("KILL");
        kills += 1;
        drop(d);
    }
    for i in 0..total - during_backfill {
        let mut d = Daemon::start(&cfg, &dir, &[]);
        d.wait_ready(Duration::from_secs(120));
        if i < 3 {
            wait_ticks(&d, 1, WIDTH);
        }
        std::thread::sleep(Duration::from_millis(jitter_ms(0, 9000, 100 + i)));
        d.signal("KILL");
        kills += 1;
        drop(d);
        if i == 1 {
            std::thread::sleep(Duration::from_secs(3 * WIDTH as u64));
        }
    }
    let mut last = Daemon::start(&cfg, &dir, &[]);
    last.wait_ready(Duration::from_secs(120));
    wait_ticks(&last, 2, WIDTH);
    // The restarted daemon's rolling sums equal a fresh computation at the same instant: nothing
    // counted twice in memory either.
    let (api, at) = loop {
        let at = last_eval(&last);
        let api: serde_json::Value = serde_json::from_str(&last.get("/api/v1/slos").1).unwrap();
        if last_eval(&last) == at {
            break (api, at);
        }
    };
    let rep = report_json(&cfg, at);
    for (a, r) in api["slos"]
        .as_array()
        .unwrap()
        .iter()
        .zip(rep["slos"].as_array().unwrap())
    {
        for w in ["5m", "30m", "1h", "6h", "1d", "3d"] {
            let (x, y) = (a["burn_rates"][w].as_f64(), r["burn_rates"][w].as_f64());
            assert!(
                x == y || (x.unwrap_or(0.0) - y.unwrap_or(0.0)).abs() < 1e-9,
                "{} burn {w}: daemon {x:?} vs report {y:?}",
                a["id"]
            );
        }
        let (x, y) = (&a["periods"]["1d"]["good"], &r["periods"]["1d"]["good"]);
        assert_eq!(x, y, "{} 1d good events", a["id"]);
    }
    last.signal("TERM");
    assert_eq!(last.wait_exit(Duration::from_secs(10)), Some(0));
    assert_eq!(kills, total);

    // Compare over what both runs must hold: from the start of the last run's 3-day window (it
    // started after the clean run) to the clean run's last tick.
    let from = backfill_at(&last) - 3 * 86400;
    let to = clean_last;
    assert!(
        to - from > 3 * 86400 - 600,
        "compared span too short: {from}..{to}"
    );
    let a = dump(&clean_dir, from, to);
    let b = dump(&dir, from, to);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (key, buckets) in &a {
        let other = &b[key];
        let known = buckets
            .iter()
            .filter(|x| matches!(x, Bucket::Known { .. }))
            .count();
        assert!(
            known as f64 >= 0.999 * buckets.len() as f64,
            "{key}: clean run has only {known} known buckets"
        );
        for (i, (x, y)) in buckets.iter().zip(other).enumerate() {
            assert_eq!(
                x,
                y,
                "{key}: bucket {} differs after {kills} kills",
                from + i as i64 * WIDTH
            );
        }
    }
    eprintln!(
        "{kills} kill -9s ({during_backfill} during backfill): {} series x {} buckets equal the clean run's",
        a.len(),
        (to - from) / WIDTH
    );
}

/// `at` of the daemon's latest completed backfill, from its JSON log.
fn backfill_at(d: &Daemon) -> i64 {
    d.log_text()
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "backfill done; ready")
        .find_map(|v| v["at"].as_i64())
        .expect("backfill line")
}
