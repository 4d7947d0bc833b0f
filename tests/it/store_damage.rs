//! A damaged store never panics and never reads as other data (issue 11, item 16). Bytes of a
//! real store file are flipped over many seeds: every open either refuses the file with a clear
//! message or reads exactly what was written, with damaged parts missing. A value damaged behind
//! redb's back (its page checksums intact) reads as missing, is counted, listed by
//! `slowburn store verify`, removed by `--repair`, and a daemon queries its buckets again.

use crate::common::*;
use redb::ReadableTable;
use slowburn::budget::Bucket;
use slowburn::store::{CHUNK, FILE_NAME, Store};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::Duration;

const WIDTH: i64 = 60;
/// Ten days of one-minute buckets per series: 225 chunks each.
const BUCKETS: usize = 10 * 1440;
const START: i64 = 1_767_225_600;

/// Everything readable from a store.
#[derive(Debug, Clone, PartialEq)]
struct Contents {
    series: BTreeMap<String, Vec<Bucket>>,
    alerts: Vec<(String, Vec<u8>)>,
    silences: Vec<(String, Vec<u8>)>,
    outbox: Vec<(u64, Vec<u8>)>,
}

fn read_all(store: &Store) -> Result<Contents, String> {
    let e = |e: slowburn::store::StoreError| e.to_string();
    let mut series = BTreeMap::new();
    for (key, id) in store.series_keys().map_err(e)? {
        series.insert(key, store.get(id, START, WIDTH, BUCKETS).map_err(e)?);
    }
    Ok(Contents {
        series,
        alerts: store.alerts().map_err(e)?,
        silences: store.silences().map_err(e)?,
        outbox: store.outbox().map_err(e)?,
    })
}

/// A store with three series (some buckets missing, some fractional), alert states, silences
/// and outbox entries.
fn populate(dir: &Path) -> Contents {
    let store = Store::open(dir).unwrap();
    for (k, name) in [
        "api/availability|a|60",
        "api/latency|b|60",
        "web/availability|c|60",
    ]
    .iter()
    .enumerate()
    {
        let id = store.series_id(name).unwrap();
        let buckets: Vec<Bucket> = (0..BUCKETS)
            .map(|i| match (i * 7 + k) % 97 {
                0 => Bucket::Missing,
                1 => Bucket::known(12.5, 13.25),
                n => Bucket::known(1000.0 + n as f64, 1001.0 + n as f64 + (i % 3) as f64),
            })
            .collect();
        store.put(id, START, WIDTH, &buckets).unwrap();
    }
    for i in 0..20 {
        store
            .put_alert(
                &format!("api/availability{i}|page"),
                br#"{"state":"firing"}"#,
            )
            .unwrap();
        store
            .put_silence(&format!("s{i}"), Some(br#"{"ends_at":1767225600}"#))
            .unwrap();
    }
    store
        .outbox_push(
            &(0..30)
                .map(|i| format!("{{\"n\":{i}}}").into_bytes())
                .collect::<Vec<_>>(),
        )
        .unwrap();
    read_all(&store).unwrap()
}

/// What is read is what was written, or missing: never another count or value.
fn subset_of(got: &Contents, want: &Contents) -> Result<(), String> {
    for (k, buckets) in &got.series {
        let Some(w) = want.series.get(k) else {
            return Err(format!("series `{k}` appeared"));
        };
        for (i, (g, w)) in buckets.iter().zip(w).enumerate() {
            if *g != Bucket::Missing && g != w {
                return Err(format!("{k} bucket {i}: {g:?} instead of {w:?}"));
            }
        }
    }
    let kv = |g: &[(String, Vec<u8>)], w: &[(String, Vec<u8>)], what: &str| {
        g.iter()
            .all(|row| w.contains(row))
            .then_some(())
            .ok_or(format!("a changed {what}"))
    };
    kv(&got.alerts, &want.alerts, "alert")?;
    kv(&got.silences, &want.silences, "silence")?;
    got.outbox
        .iter()
        .all(|row| want.outbox.contains(row))
        .then_some(())
        .ok_or("a changed outbox entry".to_string())
}

/// splitmix64, for reproducible seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[test]
fn flipped_bytes_anywhere_in_the_file_are_refused_or_read_as_missing_never_as_other_data() {
    let root = tempfile::tempdir().unwrap();
    let clean = root.path().join("clean");
    let want = populate(&clean);
    let bytes = std::fs::read(clean.join(FILE_NAME)).unwrap();
    let (mut refused, mut intact, mut partial) = (0, 0, 0);
    let seeds = 600u64;
    for seed in 0..seeds {
        let mut damaged = bytes.clone();
        // Half the seeds flip one bit, the others 1-16 random bytes.
        let flips = if seed % 2 == 0 { 1 } else { 1 + mix(seed) % 16 };
        for f in 0..flips {
            let r = mix(seed * 1000 + f);
            let at = (r % damaged.len() as u64) as usize;
            if seed % 2 == 0 {
                damaged[at] ^= 1 << (r >> 60 & 7);
            } else {
                damaged[at] = (r >> 32) as u8;
            }
        }
        let dir = root.path().join(format!("s{seed}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(FILE_NAME), &damaged).unwrap();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            Store::open(&dir)
                .map_err(|e| e.to_string())
                .map(|s| read_all(&s))
        }));
        match outcome {
            Err(_) => panic!("seed {seed}: the store panicked"),
            Ok(Err(message)) => {
                assert!(
                    message.contains(FILE_NAME),
                    "seed {seed}: the error names the file: {message}"
                );
                refused += 1;
            }
            Ok(Ok(Err(message))) => {
                assert!(message.contains(FILE_NAME), "seed {seed}: {message}");
                refused += 1;
            }
            Ok(Ok(Ok(got))) => {
                if let Err(e) = subset_of(&got, &want) {
                    panic!("seed {seed}: {e}");
                }
                if got == want {
                    intact += 1;
                } else {
                    partial += 1;
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!(
        "{seeds} damaged copies of a {} KiB store: {refused} refused with a message, {intact} read intact (the flip hit free space or was repaired), {partial} read with parts missing; none panicked or read other data",
        bytes.len() / 1024
    );
    assert_eq!(refused + intact + partial, seeds as usize);
    assert!(refused > 0, "some damage must be detected at open");
}

/// Rewrites the stored bytes of one chunk through redb itself, so redb's own page checksums
/// stay valid and only slowburn's checksum can tell.
/// Overwrites a run of bytes inside a page of the chunks tree, behind redb's back: found by the
/// bytes of the middle chunk, and every copy of them (older copies may sit in freed pages), so
/// the live page is hit wherever the layout put it.
fn damage_a_chunk_page(file: &Path) {
    use redb::{ReadableDatabase, ReadableTableMetadata};
    const CHUNKS: redb::TableDefinition<(i64, u64), &[u8]> =
        redb::TableDefinition::new("chunks_by_time");
    let value: Vec<u8> = {
        let db = redb::Database::open(file).unwrap();
        let tx = db.begin_read().unwrap();
        let t = tx.open_table(CHUNKS).unwrap();
        let n = t.len().unwrap() as usize;
        let (_, v) = t.iter().unwrap().nth(n / 2).unwrap().unwrap();
        v.value().to_vec()
    };
    let mut bytes = std::fs::read(file).unwrap();
    let at: Vec<usize> = bytes
        .windows(value.len())
        .enumerate()
        .filter(|(_, w)| *w == value.as_slice())
        .map(|(i, _)| i)
        .collect();
    assert!(!at.is_empty(), "the chunk's bytes are in the file");
    for i in at {
        for b in &mut bytes[i..(i + 64).min(i + value.len())] {
            *b = !*b;
        }
    }
    std::fs::write(file, &bytes).unwrap();
}

fn damage_one_chunk(dir: &Path, series: u64, chunk_start: i64) {
    const CHUNKS: redb::TableDefinition<(i64, u64), &[u8]> =
        redb::TableDefinition::new("chunks_by_time");
    let db = redb::Database::create(dir.join(FILE_NAME)).unwrap();
    let tx = db.begin_write().unwrap();
    {
        let mut t = tx.open_table(CHUNKS).unwrap();
        let mut v = t
            .get((chunk_start, series))
            .unwrap()
            .unwrap()
            .value()
            .to_vec();
        // A bit of the first bucket's count.
        v[10] ^= 0x04;
        t.insert((chunk_start, series), v.as_slice()).unwrap();
    }
    tx.commit().unwrap();
}

#[test]
fn a_value_damaged_behind_redbs_back_reads_as_missing_and_verify_finds_and_removes_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let want = populate(&dir);
    let span = WIDTH * CHUNK as i64;
    let chunk_start = (START + 10 * span).div_euclid(span) * span;
    damage_one_chunk(&dir, 1, chunk_start);

    {
        let store = Store::open(&dir).unwrap();
        let got = read_all(&store).unwrap();
        subset_of(&got, &want).unwrap();
        let first = &got.series["api/availability|a|60"];
        let i = ((chunk_start - START) / WIDTH) as usize;
        assert!(first[i..i + CHUNK].iter().all(|b| *b == Bucket::Missing));
        assert_eq!(
            first.iter().filter(|b| **b == Bucket::Missing).count()
                - want.series["api/availability|a|60"]
                    .iter()
                    .filter(|b| **b == Bucket::Missing)
                    .count(),
            CHUNK - 1,
            "exactly the damaged chunk is missing (one of its buckets already was)"
        );
        assert_eq!(store.damaged(), 1, "counted");
    }

    let data = dir.to_str().unwrap();
    let (code, out, err) = slowburn(&["store", "verify", "--data-dir", data]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!("damaged: chunks series 1 from {chunk_start}")),
        "{out}"
    );
    assert!(err.contains("--repair"), "{err}");
    let (code, out, _) = slowburn(&["store", "verify", "--data-dir", data, "--repair"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("removed 1 damaged value"), "{out}");
    let (code, out, _) = slowburn(&["store", "verify", "--data-dir", data]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("sound"), "{out}");
    assert!(out.contains("674 chunks"), "{out}");
}

#[test]
fn a_damaged_file_is_refused_at_start_with_the_way_to_recover() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    populate(&dir);
    let file = dir.join(FILE_NAME);
    damage_a_chunk_page(&file);
    let (code, out, err) = slowburn(&["store", "verify", "--data-dir", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(FILE_NAME), "{err}");
    assert!(err.contains("is damaged"), "{err}");
    assert!(err.contains("--repair"), "{err}");
    assert!(err.contains("move the data directory aside"), "{err}");
}

#[test]
fn a_daemon_queries_a_damaged_chunks_buckets_again() {
    if !require_prometheus() {
        return;
    }
    let prom = start_prometheus(&short_live_history());
    let root = tempfile::tempdir().unwrap();
    let cfg = write_config(root.path(), &fast_config(&prom.url));
    let data = root.path().join("data");
    let mut d = Daemon::start(&cfg, &data, &[]);
    d.wait_ready(Duration::from_secs(120));
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(20)), Some(0));
    // A chunk whose buckets leave svc15's day of 10 s buckets in the next ticks: with running
    // totals stored, a restart does not read old chunks; the daemon meets the damage when it
    // reads the bucket leaving the window, then rebuilds from the buckets and queries the
    // damaged ones again.
    let span = 10 * CHUNK as i64;
    let chunk_start = (now_secs() + 30 - 86_400).div_euclid(span) * span;
    let series = {
        let store = Store::open(&data).unwrap();
        store
            .series_keys()
            .unwrap()
            .into_iter()
            .find(|(k, _)| k.starts_with("svc15/availability"))
            .unwrap()
            .1
    };
    damage_one_chunk(&data, series, chunk_start);

    let mut d = Daemon::start(&cfg, &data, &[]);
    d.wait_ready(Duration::from_secs(120));
    // Found, then whole once the damaged chunk's buckets were queried again.
    wait_until(
        "the damage found and the day fully known",
        Duration::from_secs(120),
        || {
            let m = d.get("/metrics").1;
            !m.contains("slowburn_store_damaged_values_total 0\n")
                && m.contains(
                    "slo_coverage_ratio{service=\"svc15\",slo=\"availability\",window=\"1d\"} 1\n",
                )
        },
    );
    let metrics = d.get("/metrics").1;
    // Read when its bucket left the window, again by the rebuild from the buckets.
    let damaged: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("slowburn_store_damaged_values_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(damaged >= 1.0, "counted: {damaged}");
    assert!(
        metrics.contains(
            "slo_coverage_ratio{service=\"svc15\",slo=\"availability\",window=\"1d\"} 1\n"
        ),
        "the damaged chunk's buckets were queried again: {}",
        d.log_text()
    );
    assert!(
        d.log_text().contains("damaged stored value skipped"),
        "logged"
    );
}

#[test]
fn a_schema_1_store_is_upgraded_in_place() {
    const META: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
    const SERIES: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("series");
    const CHUNKS: redb::TableDefinition<(u64, i64), &[u8]> = redb::TableDefinition::new("chunks");
    const SILENCES: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("silences");
    let root = tempfile::tempdir().unwrap();
    let buckets: [Bucket; CHUNK] = std::array::from_fn(|i| Bucket::known(i as f64, 100.0));
    {
        let db = redb::Database::create(root.path().join(FILE_NAME)).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut meta = tx.open_table(META).unwrap();
            meta.insert("schema_version", 1).unwrap();
            meta.insert("next_series_id", 2).unwrap();
            tx.open_table(SERIES)
                .unwrap()
                .insert("a/b|x|60", 1)
                .unwrap();
            let packed = slowburn::store::codec::encode(&buckets);
            tx.open_table(CHUNKS)
                .unwrap()
                .insert((1, START), packed.as_slice())
                .unwrap();
            tx.open_table(SILENCES)
                .unwrap()
                .insert("s1", b"{}".as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
    }
    let store = Store::open(root.path()).unwrap();
    assert_eq!(store.get(1, START, WIDTH, CHUNK).unwrap(), buckets.to_vec());
    assert_eq!(
        store.silences().unwrap(),
        vec![("s1".into(), b"{}".to_vec())]
    );
    assert_eq!(store.damaged(), 0);
    assert!(store.verify(false).unwrap().damaged.is_empty());
}

/// One flipped bit refuses the whole file (issue 22, item 11); `store verify --repair` salvages
/// what still reads. Over damaged copies that redb refuses, every salvage either says why it
/// cannot or leaves a store that opens, verifies clean and reads a subset of what was written
/// (never other data), and most keep every silence, alert state and outbox entry.
#[test]
fn a_refused_store_is_salvaged_keeping_what_reads_and_nothing_else() {
    let root = tempfile::tempdir().unwrap();
    let clean = root.path().join("clean");
    let want = populate(&clean);
    let bytes = std::fs::read(clean.join(FILE_NAME)).unwrap();
    let (mut refused, mut salvaged, mut failed, mut kept_all_state) = (0, 0, 0, 0);
    for seed in 0..400u64 {
        let mut damaged = bytes.clone();
        let r = mix(seed + 7_000);
        let at = (r % damaged.len() as u64) as usize;
        damaged[at] ^= 1 << (r >> 60 & 7);
        let dir = root.path().join(format!("v{seed}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(FILE_NAME), &damaged).unwrap();
        if Store::open(&dir).is_ok() {
            std::fs::remove_dir_all(&dir).unwrap();
            continue;
        }
        refused += 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            slowburn::store::salvage::salvage(&dir).map_err(|e| e.to_string())
        }));
        match outcome {
            Err(_) => panic!("seed {seed}: the salvage panicked"),
            Ok(Err(message)) => {
                assert!(message.contains(FILE_NAME), "seed {seed}: {message}");
                failed += 1;
            }
            Ok(Ok(s)) => {
                let store = Store::open(&dir)
                    .unwrap_or_else(|e| panic!("seed {seed}: the salvaged store: {e}"));
                let v = store.verify(false).unwrap();
                assert!(v.damaged.is_empty(), "seed {seed}: {:?}", v.damaged);
                let got = read_all(&store).unwrap();
                if let Err(e) = subset_of(&got, &want) {
                    panic!("seed {seed}: {e}");
                }
                assert!(s.aside.exists(), "seed {seed}: the damaged file is kept");
                salvaged += 1;
                if got.silences == want.silences
                    && got.alerts == want.alerts
                    && got.outbox == want.outbox
                {
                    kept_all_state += 1;
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!(
        "{refused} single-bit flips refused by redb: {salvaged} salvaged ({kept_all_state} with every silence, alert state and outbox entry), {failed} not salvageable"
    );
    assert!(refused > 0, "some flips must be refused");
    assert!(
        salvaged * 2 > refused,
        "most refused stores are salvaged: {salvaged} of {refused}"
    );
    assert!(kept_all_state > 0, "silences and alert states survive");
}

#[test]
fn verify_repair_salvages_a_store_redb_refuses() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let want = populate(&dir);
    let file = dir.join(FILE_NAME);
    damage_a_chunk_page(&file);
    let data = dir.to_str().unwrap();
    let (code, out, err) = slowburn(&["store", "verify", "--data-dir", data, "--repair"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("salvaging what still reads"), "{out}");
    assert!(out.contains("damaged file is kept as"), "{out}");
    let (code, out, err) = slowburn(&["store", "verify", "--data-dir", data]);
    assert_eq!(code, 0, "sound after the salvage: {out}{err}");
    let got = read_all(&Store::open(&dir).unwrap()).unwrap();
    subset_of(&got, &want).unwrap();
    assert_eq!(got.silences, want.silences, "the silences survive");
    assert_eq!(got.alerts, want.alerts, "the alert states survive");
}
