//! `slowburn rules` (issue 24): the rule files it writes pass Debian's `promtool check rules`
//! for every target, and `promtool test rules` over 200 minutes of counters (a reset, a series
//! that appears late, a histogram turning slow, an SLO without data) finds every recorded value
//! and alert it expects. The expectations in `tests/data/rules/*.test.yaml` are the daemon's
//! arithmetic on the same samples (see that folder's README); here the files under test are
//! written by the release's own binary, not the committed copies.

use crate::common::*;
use std::path::Path;
use std::process::Command;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rules");

/// `slowburn rules` over the test config with `args`, written to `out`.
fn rules(args: &[&str], out: &Path) {
    let config = format!("{DATA}/slo.yaml");
    let mut all = vec![
        "rules",
        "-c",
        &config,
        "--out",
        out.to_str().expect("UTF-8"),
    ];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = slowburn(&all);
    assert_eq!(code, 0, "slowburn rules {args:?}: {stdout}{stderr}");
}

/// `promtool <args>` in `dir`; panics with its output unless it succeeds.
fn promtool(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

/// A flavour's file as promtool 2.42 reads it: without the keys it does not know
/// (`query_offset`, Thanos's `partial_response_strategy`) and Mimir's `namespace:` line.
fn plain(flavoured: &str) -> String {
    flavoured
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("query_offset:")
                || t.starts_with("partial_response_strategy:")
                || l.starts_with("namespace:"))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn the_rules_pass_promtool_check_and_test_for_every_target() {
    if !require_prometheus() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    for test in ["ratio_burn.test.yaml", "ratio_burn_single.test.yaml"] {
        std::fs::copy(format!("{DATA}/{test}"), d.join(test)).expect("copy test file");
    }
    rules(&[], &d.join("ratio_burn.rules.yaml"));
    rules(
        &["--period-interval", "1m"],
        &d.join("ratio_burn_single.rules.yaml"),
    );
    let checked = promtool(
        d,
        &[
            "check",
            "rules",
            "ratio_burn.rules.yaml",
            "ratio_burn_single.rules.yaml",
        ],
    );
    assert!(checked.contains("SUCCESS: 66 rules found"), "{checked}");
    let tested = promtool(
        d,
        &[
            "test",
            "rules",
            "ratio_burn.test.yaml",
            "ratio_burn_single.test.yaml",
        ],
    );
    assert!(tested.contains("SUCCESS"), "{tested}");

    // Thanos's file is Prometheus's plus its keys: without them it computes the same.
    let thanos = d.join("thanos");
    std::fs::create_dir_all(&thanos).expect("mkdir");
    rules(&["--target", "thanos"], &thanos.join("flavoured.yaml"));
    let text = std::fs::read_to_string(thanos.join("flavoured.yaml")).expect("read");
    assert!(text.contains("partial_response_strategy: abort"), "{text}");
    assert!(text.contains("query_offset: 10s"), "{text}");
    std::fs::write(thanos.join("ratio_burn.rules.yaml"), plain(&text)).expect("write");
    std::fs::copy(
        format!("{DATA}/ratio_burn.test.yaml"),
        thanos.join("ratio_burn.test.yaml"),
    )
    .expect("copy");
    promtool(&thanos, &["test", "rules", "ratio_burn.test.yaml"]);

    // Mimir's namespace file and vmalert's file check as rules too.
    for target in ["mimir", "vmalert"] {
        let file = d.join(format!("{target}.yaml"));
        rules(&["--target", target], &file);
        let text = std::fs::read_to_string(&file).expect("read");
        if target == "mimir" {
            assert!(text.contains("\nnamespace: slowburn\n"), "{text}");
        } else {
            assert!(
                !text.contains("query_offset:"),
                "vmalert 1.79 refuses it: {text}"
            );
        }
        let checked_file = d.join(format!("{target}.plain.yaml"));
        std::fs::write(&checked_file, plain(&text)).expect("write");
        let name = checked_file.to_str().expect("UTF-8");
        let out = promtool(d, &["check", "rules", name]);
        assert!(out.contains("SUCCESS"), "{target}: {out}");
    }
}

/// The SLOs a file's groups are for (`slowburn-<service>-<name>`, suffixes dropped).
fn slos_of(yaml: &str) -> std::collections::BTreeSet<String> {
    yaml.lines()
        .filter_map(|l| l.trim_start().strip_prefix("- name: slowburn-"))
        .map(|n| n.split(':').next().unwrap_or(n).to_string())
        .collect()
}

#[test]
fn three_shards_own_every_slo_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("prometheus: {url: \"http://127.0.0.1:9090\"}\nslos:\n");
    for i in 0..30 {
        text.push_str(&format!(
            "  - service: svc{}\n    name: slo{}\n    objective: 99.9\n    sli:\n      ratio:\n        errors: 'r_total{{code=\"5xx\"}}'\n        total: r_total\n",
            i % 10,
            i / 10
        ));
    }
    let config = dir.path().join("slo.yaml");
    std::fs::write(&config, text).expect("write config");
    let config = config.to_str().expect("UTF-8");
    let render = |shard: Option<String>| {
        let mut args = vec!["rules", "-c", config];
        if let Some(s) = &shard {
            args.extend(["--shard", s.as_str()]);
        }
        let (code, stdout, stderr) = slowburn(&args);
        assert_eq!(code, 0, "shard {shard:?}: {stderr}");
        slos_of(&stdout)
    };
    let all = render(None);
    assert_eq!(all.len(), 30, "{all:?}");
    let mut seen = Vec::new();
    for i in 0..3 {
        let owned = render(Some(format!("{i}/3")));
        assert!(
            !owned.is_empty() && owned.len() < 30,
            "shard {i}/3 owns {owned:?}"
        );
        seen.extend(owned);
    }
    seen.sort();
    let all: Vec<String> = all.into_iter().collect();
    assert_eq!(seen, all, "every SLO in exactly one shard");
}

/// One counter's samples: (seconds from the history's start, value).
type Samples = Vec<(i64, f64)>;

/// A small deterministic generator (an LCG), so the history is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

/// A counter scraped every `every` s from `start` to `end`, growing by `inc(t)` a scrape, reset to
/// a small value at `reset`.
fn counter(
    start: i64,
    end: i64,
    every: i64,
    reset: Option<i64>,
    mut inc: impl FnMut(i64) -> f64,
) -> Samples {
    let mut out = Vec::new();
    let mut v = 0.0;
    let mut t = start;
    let mut was_reset = false;
    while t < end {
        if reset.is_some_and(|r| t >= r) && !was_reset {
            was_reset = true;
            v = 1.0;
        } else {
            v += inc(t);
        }
        out.push((t, v));
        t += every;
    }
    out
}

/// The bursty history both sides read, over `hours`: instance `a` scraped every 25 s (reset at
/// 5h 7m 30s), instance `b` every 15 s from 37m 20s (its errors from 2h 0m 10s), an error burst at
/// 3h–3h20m, a histogram on `a` turning slow at 8h–8h30m.
fn bursty(hours: i64) -> Vec<(String, Samples)> {
    let end = hours * 3600;
    let mut r = Lcg(7);
    let burst = |t: i64| (3 * 3600..3 * 3600 + 1200).contains(&t);
    let slow = |t: i64| (8 * 3600..8 * 3600 + 1800).contains(&t);
    let reset = Some(5 * 3600 + 450);
    let mut series = Vec::new();
    let mut r2 = Lcg(11);
    series.push((
        r#"req_total{code="200",inst="a"}"#.to_string(),
        counter(5, end, 25, reset, |_| r.below(50) as f64),
    ));
    series.push((
        r#"req_total{code="500",inst="a"}"#.to_string(),
        counter(5, end, 25, reset, |t| {
            if burst(t) {
                r2.below(40)
            } else {
                r2.below(3) / 2
            }
            .min(39) as f64
        }),
    ));
    let mut r3 = Lcg(13);
    series.push((
        r#"req_total{code="200",inst="b"}"#.to_string(),
        counter(37 * 60 + 20, end, 15, None, |_| r3.below(30) as f64),
    ));
    let mut r4 = Lcg(17);
    series.push((
        r#"req_total{code="500",inst="b"}"#.to_string(),
        counter(2 * 3600 + 10, end, 15, None, |t| {
            if burst(t) { r4.below(20) } else { r4.below(2) }.min(19) as f64
        }),
    ));
    // A histogram: `le="0.2"` of every request, `+Inf` and `_count` of all of them.
    let mut r5 = Lcg(19);
    let mut fast = Vec::new();
    let mut all = Vec::new();
    let (mut f, mut a) = (0.0, 0.0);
    let mut t = 10;
    while t < end {
        let n = r5.below(40) as f64;
        let slow_share = if slow(t) {
            r5.below(n as u64 + 1)
        } else {
            r5.below(2)
        } as f64;
        a += n;
        f += (n - slow_share).max(0.0);
        fast.push((t, f));
        all.push((t, a));
        t += 25;
    }
    series.push((r#"lat_bucket{le="0.2",inst="a"}"#.to_string(), fast));
    series.push((r#"lat_bucket{le="+Inf",inst="a"}"#.to_string(), all.clone()));
    series.push((r#"lat_count{inst="a"}"#.to_string(), all));
    series
}

/// `bursty(hours)` at a recent day boundary (`t0`), backfilled into a real Prometheus: the
/// daemon and the rules count in buckets aligned to the minute, so only offsets within the day
/// matter, and promtool's test (which starts at 0) sees the same samples at `t`.
fn bursty_prometheus(hours: i64) -> (Vec<(String, Samples)>, i64, Prometheus) {
    let series = bursty(hours);
    let t0 = (now_secs() - 2 * 86400) / 86400 * 86400;
    let prom = start_prometheus_with(|f| write_bursty(f, &series, t0));
    (series, t0, prom)
}

/// The bursty series as OpenMetrics from `t0`, for promtool's backfill and VictoriaMetrics.
fn write_bursty(f: &mut dyn std::io::Write, series: &[(String, Samples)], t0: i64) {
    for (name, samples) in series {
        let base = name.split('{').next().unwrap_or(name);
        writeln!(f, "# TYPE {base} counter").expect("write");
        for (t, v) in samples {
            writeln!(f, "{name} {v} {}", t0 + t).expect("write");
        }
    }
    writeln!(f, "# EOF").expect("write");
}

/// promtool's notation for samples on a 5 s grid: values, `_` for a grid point without one.
fn promtool_values(samples: &Samples, end: i64) -> String {
    let mut out = Vec::new();
    let mut gap = 0;
    let mut next = samples.iter().peekable();
    for slot in 0..end / 5 {
        match next.next_if(|(t, _)| *t == slot * 5) {
            Some((_, v)) => {
                if gap > 0 {
                    out.push(format!("_x{gap}"));
                    gap = 0;
                }
                out.push(format!("{v}"));
            }
            None => gap += 1,
        }
    }
    if gap > 0 {
        out.push(format!("_x{gap}"));
    }
    out.join(" ")
}

/// The daemon's side of the equivalence: its config (the given Prometheus), two SLOs.
fn equivalence_config(prometheus: &str) -> String {
    format!(
        r#"prometheus: {{url: "{prometheus}"}}
defaults: {{bucket: 1m, windows: [7d]}}
slos:
  - service: shop
    name: availability
    objective: 99
    sli:
      ratio:
        errors: 'req_total{{code="500"}}'
        total: 'req_total'
  - service: shop
    name: latency
    objective: 95
    sli:
      latency:
        histogram: 'lat{{inst="a"}}'
        threshold: 200ms
"#
    )
}

/// Issue 24, item 2: over a bursty history (25 s and 15 s scrapes, a counter reset, series that
/// start inside a minute, an error burst, a slow spell) what the exported rules record in
/// `promtool test rules` equals what the daemon's `report` computes from a real Prometheus holding
/// the same samples, within 1e-9, at five instants (every burn-rate window; each period's remaining
/// budget, SLI and coverage), and every episode `backtest` finds fires and resolves in the rules
/// in the same minute.
#[test]
fn the_rules_burn_as_the_daemon_on_a_bursty_history() {
    if !require_prometheus() {
        return;
    }
    const HOURS: i64 = 48;
    let end = HOURS * 3600;
    let (series, t0, prom) = bursty_prometheus(HOURS);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cfg = d.join("slo.yaml");
    std::fs::write(&cfg, equivalence_config(&prom.url)).expect("write config");
    let cfg_s = cfg.to_str().expect("UTF-8");
    let rules_file = d.join("slo.rules.yaml");
    let (code, out, err) = slowburn(&[
        "rules",
        "-c",
        cfg_s,
        "--period-interval",
        "1m",
        "--out",
        rules_file.to_str().expect("UTF-8"),
    ]);
    assert_eq!(code, 0, "{out}{err}");

    // The daemon's numbers at a few instants, as promtool expressions that hold within 1e-9.
    let mut checks = String::new();
    let mut compared = 0;
    for at in [
        60 * 60,
        3 * 3600 + 15 * 60,
        5 * 3600 + 10 * 60,
        8 * 3600 + 20 * 60,
        end,
    ] {
        let report = report_json(&cfg, t0 + at);
        let mut exprs = Vec::new();
        for slo in report["slos"].as_array().expect("slos") {
            let (service, name) = (
                slo["service"].as_str().expect("service"),
                slo["name"].as_str().expect("name"),
            );
            for (window, burn) in slo["burn_rates"].as_object().expect("burn_rates") {
                let Some(burn) = burn.as_f64() else { continue };
                let labels = format!(r#"service="{service}",slo="{name}",window="{window}""#);
                exprs.push(format!(
                    "      - expr: 'abs(slo_burn_rate{{{labels}}} - {burn:e}) <= bool {:e}'\n        eval_time: {at}s\n        exp_samples:\n          - labels: '{{{labels}}}'\n            value: 1\n", 1e-9 * (burn.abs() + 1.0)
                ));
                compared += 1;
            }
            // Coverage is exported per period (as `/metrics` does without `metrics.full`).
            let mut more = Vec::new();
            for (period, p) in slo["periods"].as_object().expect("periods") {
                let labels = format!(r#"service="{service}",slo="{name}",period="{period}""#);
                let remaining = p["error_budget_remaining"].as_f64();
                more.push(("slo_error_budget_remaining_ratio", labels, remaining));
                let labels = format!(r#"service="{service}",slo="{name}",window="{period}""#);
                more.push(("slo_coverage_ratio", labels, p["coverage"].as_f64()));
                let labels = format!(r#"service="{service}",slo="{name}",window="{period}""#);
                more.push(("slo_sli_ratio", labels, p["sli"].as_f64()));
            }
            for (family, labels, value) in more {
                let Some(v) = value else { continue };
                exprs.push(format!(
                    "      - expr: 'abs({family}{{{labels}}} - {v:e}) <= bool {:e}'\n        eval_time: {at}s\n        exp_samples:\n          - labels: '{{{labels}}}'\n            value: 1\n", 1e-9 * (v.abs() + 1.0)
                ));
                compared += 1;
            }
        }
        checks.push_str(&exprs.concat());
    }
    // The alerts: each episode `backtest` finds fires in the rules at the same minute, not the
    // minute before, and the rules fire nothing `backtest` does not.
    let (code, out, err) = slowburn(&[
        "backtest",
        "-c",
        cfg_s,
        "--from",
        &(t0 + 60).to_string(),
        "--to",
        &(t0 + end).to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "backtest: {err}");
    let backtest: serde_json::Value = serde_json::from_str(&out).expect("backtest JSON");
    let episodes = backtest["episodes"].as_array().expect("episodes");
    assert!(
        episodes.len() >= 2,
        "the burst and the slow spell page or ticket: {out}"
    );
    let firing = |alertname: &str, id: &str, at: i64, expect: bool| {
        let labels = format!(r#"alertname="{alertname}",alertstate="firing",slo="{id}""#);
        let samples = if expect {
            format!("\n          - labels: '{{{labels}}}'\n            value: 1")
        } else {
            " []".to_string()
        };
        format!(
            "      - expr: 'max by (alertname, alertstate, slo) (ALERTS{{{labels}}})'\n        eval_time: {at}s\n        exp_samples:{samples}\n"
        )
    };
    for e in episodes {
        let id = e["slo"].as_str().expect("slo");
        let alertname = match e["severity"].as_str() {
            Some("page") => "SLOErrorBudgetBurnPage",
            _ => "SLOErrorBudgetBurnTicket",
        };
        let fired = chrono::DateTime::parse_from_rfc3339(e["fired_at"].as_str().expect("fired_at"))
            .expect("RFC 3339")
            .timestamp()
            - t0;
        checks.push_str(&firing(alertname, id, fired, true));
        compared += 1;
        // Resolved in the same minute: firing the minute before, not at it.
        if let Some(resolved) = e["resolved_at"].as_str() {
            let resolved = chrono::DateTime::parse_from_rfc3339(resolved)
                .expect("RFC 3339")
                .timestamp()
                - t0;
            checks.push_str(&firing(alertname, id, resolved - 60, true));
            checks.push_str(&firing(alertname, id, resolved, false));
            compared += 2;
        }
        // Before backtest's first evaluation it cannot say what was firing.
        if fired - 60 > 60 {
            checks.push_str(&firing(alertname, id, fired - 60, false));
            compared += 1;
        }
    }
    eprintln!("values compared: {compared}, {} episodes", episodes.len());
    assert!(compared >= 75, "values compared: {compared}");
    let input: String = series
        .iter()
        .map(|(name, s)| {
            format!(
                "      - series: '{name}'\n        values: '{}'\n",
                promtool_values(s, end)
            )
        })
        .collect();
    let test = format!(
        "rule_files: [slo.rules.yaml]\nevaluation_interval: 1m\ntests:\n  - interval: 5s\n    input_series:\n{input}    promql_expr_test:\n{checks}"
    );
    std::fs::write(d.join("equivalence.test.yaml"), test).expect("write test");
    let tested = promtool(d, &["test", "rules", "equivalence.test.yaml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// Drops every rule's `annotations:` block: vmalert 1.79's replay refuses the `query` template
/// they use (fatal: "`query` template isn't supported in replay mode"), and annotations change
/// neither which alerts fire nor when.
fn without_annotations(yaml: &str) -> String {
    let mut out = String::new();
    let mut skip: Option<usize> = None;
    for line in yaml.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(s) = skip {
            if !line.trim().is_empty() && indent > s {
                continue;
            }
            skip = None;
        }
        if line.trim_start().starts_with("annotations:") {
            skip = Some(indent);
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Issue 24, item 2, the VictoriaMetrics part: vmalert (Debian's `victoria-metrics` 1.79) replays
/// the `--target vmalert` file over VictoriaMetrics holding the same bursty history, and what it
/// records equals `slowburn report` from Prometheus within 1e-9 (VictoriaMetrics stores 12
/// significant digits), while its `ALERTS` fire in exactly the minutes `backtest` says.
#[test]
fn vmalert_replays_the_rules_as_the_daemon_counts() {
    if !require_prometheus()
        || !require(
            "vmalert and victoria-metrics",
            have("vmalert") && have("victoria-metrics"),
            "apt-get install victoria-metrics",
        )
    {
        return;
    }
    const HOURS: i64 = 10;
    let end = HOURS * 3600;
    let (series, t0, prom) = bursty_prometheus(HOURS);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (_vm, vm, _vm_dir) = start_victoria_metrics_with(|f| write_bursty(f, &series, t0));

    let cfg = d.join("slo.yaml");
    std::fs::write(&cfg, equivalence_config(&prom.url)).expect("write config");
    let cfg_s = cfg.to_str().expect("UTF-8");
    let rules_file = d.join("rules.yaml");
    let (code, out, err) = slowburn(&[
        "rules",
        "-c",
        cfg_s,
        "--target",
        "vmalert",
        "--period-interval",
        "1m",
        "--out",
        rules_file.to_str().expect("UTF-8"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let text = std::fs::read_to_string(&rules_file).expect("read rules");
    let dry = std::process::Command::new("vmalert")
        .args(["-dryRun", &format!("-rule={}", rules_file.display())])
        .output()
        .expect("vmalert -dryRun");
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let replay_file = d.join("replay.yaml");
    std::fs::write(&replay_file, without_annotations(&text)).expect("write");

    // Replay: rules run one after another over the whole range, so each must see the previous
    // one's results (a 200 ms flush and 2 s between rules; 1 s lost rows here); the step is the
    // group's interval, not vmalert's default 5m.
    let rfc = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .expect("a time")
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let replay = std::process::Command::new("vmalert")
        .args([
            format!("-rule={}", replay_file.display()),
            format!("-datasource.url={vm}"),
            format!("-remoteWrite.url={vm}"),
            format!("-replay.timeFrom={}", rfc(t0)),
            format!("-replay.timeTo={}", rfc(t0 + end)),
            "-replay.disableProgressBar".into(),
            "-datasource.queryStep=0".into(),
            "-remoteWrite.flushInterval=200ms".into(),
            "-replay.rulesDelay=2s".into(),
            "-httpListenAddr=127.0.0.1:0".into(),
        ])
        .output()
        .expect("vmalert replay");
    assert!(
        replay.status.success(),
        "vmalert replay: {}",
        String::from_utf8_lossy(&replay.stderr)
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        http::get(&format!("{vm}/internal/force_flush")).map(|r| r.0),
        Some(200)
    );

    // The recorded values at five instants against the daemon's.
    let query = |q: &str, at: i64| -> Option<f64> {
        let url = format!(
            "{vm}/api/v1/query?nocache=1&time={at}&query={}",
            q.replace('"', "%22")
                .replace('{', "%7B")
                .replace('}', "%7D")
                .replace(' ', "%20")
                .replace('=', "%3D")
                .replace(',', "%2C")
        );
        let (code, body) = http::get(&url)?;
        assert_eq!(code, 200, "{q}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let mut compared = 0;
    for at in [
        60 * 60,
        3 * 3600 + 15 * 60,
        5 * 3600 + 10 * 60,
        8 * 3600 + 20 * 60,
        end,
    ] {
        let report = report_json(&cfg, t0 + at);
        for slo in report["slos"].as_array().expect("slos") {
            let (service, name) = (
                slo["service"].as_str().expect("service"),
                slo["name"].as_str().expect("name"),
            );
            let mut want: Vec<(String, Option<f64>)> = Vec::new();
            for (window, burn) in slo["burn_rates"].as_object().expect("burn_rates") {
                want.push((
                    format!(
                        r#"slo_burn_rate{{service="{service}",slo="{name}",window="{window}"}}"#
                    ),
                    burn.as_f64(),
                ));
            }
            for (period, p) in slo["periods"].as_object().expect("periods") {
                want.push((
                    format!(r#"slo_error_budget_remaining_ratio{{service="{service}",slo="{name}",period="{period}"}}"#),
                    p["error_budget_remaining"].as_f64(),
                ));
                want.push((
                    format!(
                        r#"slo_sli_ratio{{service="{service}",slo="{name}",window="{period}"}}"#
                    ),
                    p["sli"].as_f64(),
                ));
            }
            for (q, v) in want {
                let Some(v) = v else { continue };
                let got = query(&format!("last_over_time({q}[59s])"), t0 + at)
                    .unwrap_or_else(|| panic!("{q} at {at}: nothing recorded"));
                assert!(
                    (got - v).abs() <= 1e-9 * (v.abs() + 1.0),
                    "{q} at {at}: vmalert {got}, daemon {v}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared >= 80, "values compared: {compared}");

    // ALERTS, minute by minute, against backtest's episodes (fired inclusive, resolved not).
    let (code, out, err) = slowburn(&[
        "backtest",
        "-c",
        cfg_s,
        "--from",
        &(t0 + 60).to_string(),
        "--to",
        &(t0 + end).to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let backtest: serde_json::Value = serde_json::from_str(&out).expect("backtest JSON");
    let ts = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .expect("RFC 3339")
            .timestamp()
    };
    let mut want = std::collections::BTreeSet::new();
    for e in backtest["episodes"].as_array().expect("episodes") {
        let alert = if e["severity"] == "page" {
            "SLOErrorBudgetBurnPage"
        } else {
            "SLOErrorBudgetBurnTicket"
        };
        let from = ts(e["fired_at"].as_str().expect("fired_at"));
        let to = e["resolved_at"].as_str().map_or(t0 + end + 60, ts);
        for t in (from..to).step_by(60) {
            want.insert((
                alert.to_string(),
                e["slo"].as_str().expect("slo").to_string(),
                t,
            ));
        }
    }
    let url = format!(
        "{vm}/api/v1/export?match[]=ALERTS%7Balertstate%3D%22firing%22%7D&start={t0}&end={}",
        t0 + end
    );
    let (code, body) = http::get(&url).expect("export");
    assert_eq!(code, 200, "{body}");
    let mut got = std::collections::BTreeSet::new();
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("export line");
        let (alert, slo) = (
            v["metric"]["alertname"].as_str().unwrap_or("").to_string(),
            v["metric"]["slo"].as_str().unwrap_or("").to_string(),
        );
        for t in v["timestamps"].as_array().into_iter().flatten() {
            got.insert((alert.clone(), slo.clone(), t.as_i64().unwrap_or(0) / 1000));
        }
    }
    let inside =
        |s: &std::collections::BTreeSet<(String, String, i64)>| -> Vec<(String, String, i64)> {
            s.iter()
                .filter(|(_, _, t)| (t0 + 60..=t0 + end).contains(t))
                .cloned()
                .collect()
        };
    let (want, got) = (inside(&want), inside(&got));
    assert!(!want.is_empty(), "backtest finds episodes: {out}");
    let missing: Vec<_> = want.iter().filter(|x| !got.contains(x)).collect();
    let extra: Vec<_> = got.iter().filter(|x| !want.contains(x)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "alert minutes missing in vmalert {missing:?}, extra {extra:?}"
    );
    eprintln!(
        "vmalert: {compared} values and {} alert minutes equal the daemon's",
        want.len()
    );
}

/// A rule with `for: 5m` in a rule file holds (on promtool's Prometheus engine) exactly five
/// minutes after the same rule without it, over the 200 minutes of `ratio_burn.test.yaml`'s
/// counters (the latency SLO's page rule, its factor lowered to 5 so that the slow histogram
/// from 100m holds it from 150m), as the daemon's `for:` does (issue 26, item 5).
#[test]
fn a_rule_with_for_holds_in_the_ruler_exactly_that_much_later() {
    if !require("promtool", have("promtool"), "apt-get install prometheus") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(format!("{DATA}/slo.yaml")).unwrap();
    let test = std::fs::read_to_string(format!("{DATA}/ratio_burn_single.test.yaml")).unwrap();
    let inputs =
        &test[test.find("    input_series:").unwrap()..test.find("    promql_expr_test:").unwrap()];
    let first_hold = |pending: &str| -> i64 {
        let cfg = base.replace("factor: 14.4}", &format!("factor: 5{pending}}}"));
        let path = write_config(&dir.path().join(pending.len().to_string()), &cfg);
        let file = dir.path().join("for.rules.yaml");
        let (code, _, err) = slowburn(&[
            "rules",
            "-c",
            path.to_str().unwrap(),
            "--period-interval",
            "1m",
            "--out",
            file.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        // The first minute at which the page of `latency` holds: promtool passes a test that
        // expects one sample from then on, and none a minute before.
        let holds_at = |t: i64| {
            let text = format!(
                "rule_files: [for.rules.yaml]\nevaluation_interval: 1m\ngroup_eval_order: [\"slowburn-api-availability\", \"slowburn-api-latency\", \"slowburn-api-ghost\"]\ntests:\n  - interval: 1m\n{inputs}    promql_expr_test:\n      - expr: count(slowburn:slo_alert_holding:burn_rate{{slo=\"latency\",severity=\"page\"}})\n        eval_time: {t}m\n        exp_samples:\n          - labels: \"{{}}\"\n            value: 1\n"
            );
            std::fs::write(dir.path().join("for.test.yaml"), text).unwrap();
            Command::new("promtool")
                .args(["test", "rules", "for.test.yaml"])
                .current_dir(dir.path())
                .output()
                .is_ok_and(|o| o.status.success())
        };
        let t = (146..=170).find(|t| holds_at(*t)).unwrap_or(0);
        assert!(
            t > 146 && holds_at(t + 1) && holds_at(199),
            "holds from {t}m on"
        );
        t
    };
    let (at_once, waited) = (first_hold(""), first_hold(", for: 5m"));
    eprintln!("measured: the page holds from {at_once}m without for:, {waited}m with for: 5m");
    assert_eq!(waited - at_once, 5);
}

/// A definition grouped by route: a page at 1.5× over 1h/5m and a ticket at 1× over 6h/30m,
/// without budget conditions, so each severity holds one condition and its annotations read one
/// answer.
const GROUPED: &str = r#"prometheus: {url: "http://127.0.0.1:9090"}
slos:
  - service: api
    name: avail
    objective: 75
    windows: [30d]
    labels: {team: web}
    group_by: [route]
    sli:
      ratio:
        errors: 'req_total{code="500"}'
        total: 'req_total'
    alerting:
      rules:
        - {severity: page, long: 1h, short: 5m, factor: 1.5}
        - {severity: ticket, long: 6h, short: 30m, factor: 1}
      budget_ticket_below: 0
      budget_exhausted: none
"#;

/// The alerts of [`GROUPED`] at 30m: `/a` (half its requests fail: burn 0.5 / 0.25 = 2, budget
/// 1 − 2) pages, `/c` (30 %: burn 1.2) gets a ticket, `/b` nothing; each alert with its route
/// and the member's id, its annotations reading that member's series alone.
const GROUPED_ALERTS: &str = r#"    alert_rule_test:
      - eval_time: 30m
        alertname: SLOErrorBudgetBurnPage
        exp_alerts:
          - exp_labels:
              route: /a
              service: api
              severity: page
              slo: 'api/avail{route="/a"}'
              source: slowburn
              team: web
            exp_annotations:
              summary: '[page] api/avail{route="/a"} is burning its error budget: 1h/5m at 2.0x; 30d budget -100.0% left'
              rule: 1h/5m
              burn_rate: '2.0'
      - eval_time: 30m
        alertname: SLOErrorBudgetBurnTicket
        exp_alerts:
          - exp_labels:
              route: /c
              service: api
              severity: ticket
              slo: 'api/avail{route="/c"}'
              source: slowburn
              team: web
            exp_annotations:
              summary: '[ticket] api/avail{route="/c"} is burning its error budget: 6h/30m at 1.2x; 30d budget -20.0% left'
              rule: 6h/30m
              burn_rate: '1.2'
"#;

/// `group_by: [route]` in a rule file: promtool's ruler computes each route as its own SLO, as
/// the daemon computes each member. Over 30 minutes in which `/a` fails half its requests, `/b`
/// (which has no error series at all: its errors count 0, not its total) none and `/c` 30 %,
/// the page fires for `/a` alone and the ticket for `/c` alone, with `route` and the member's
/// id on each, and each route's recorded SLI, remaining budget and `slo_alert_firing` are its
/// own, exactly (the daemon's arithmetic, the same operations in the same order).
#[test]
fn a_grouped_slo_pages_per_route_in_the_ruler() {
    if !require("promtool", have("promtool"), "apt-get install prometheus") {
        return;
    }
    const MINUTES: f64 = 30.0;
    const OBJECTIVE: f64 = 0.75;
    // (route, code, requests a minute)
    let series = [
        ("/a", "200", 50),
        ("/a", "500", 50),
        ("/b", "200", 100),
        ("/c", "200", 70),
        ("/c", "500", 30),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cfg = write_config(&d.join("cfg"), GROUPED);
    let (code, out, err) = slowburn(&[
        "rules",
        "-c",
        cfg.to_str().expect("UTF-8"),
        "--period-interval",
        "1m",
        "--out",
        d.join("grouped.rules.yaml").to_str().expect("UTF-8"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let text = std::fs::read_to_string(d.join("grouped.rules.yaml")).expect("read rules");
    assert!(text.contains("sum by (route) ("), "{text}");

    let input: String = series
        .iter()
        .map(|(route, code, n)| {
            format!(
                "      - series: 'req_total{{route=\"{route}\",code=\"{code}\"}}'\n        values: '0+{n}x40'\n"
            )
        })
        .collect();
    let sample = |family: &str, labels: &str, value: f64| {
        format!("          - labels: '{family}{{{labels}}}'\n            value: {value:?}\n")
    };
    let mut checks = String::new();
    for family in [
        "slo_sli_ratio",
        "slo_error_budget_remaining_ratio",
        "slo_alert_firing",
    ] {
        checks.push_str(&format!(
            "      - expr: {family}\n        eval_time: 30m\n        exp_samples:\n"
        ));
        for route in ["/a", "/b", "/c"] {
            let count = |errors: bool| -> f64 {
                series
                    .iter()
                    .filter(|(r, c, _)| *r == route && (!errors || *c == "500"))
                    .map(|(_, _, n)| f64::from(*n))
                    .sum::<f64>()
                    * MINUTES
            };
            let (total, bad) = (count(false), count(true));
            let member = format!(r#"route="{route}",service="api",slo="avail""#);
            match family {
                "slo_sli_ratio" => checks.push_str(&sample(
                    family,
                    &format!(r#"{member},window="30d""#),
                    (total - bad) / total,
                )),
                "slo_error_budget_remaining_ratio" => checks.push_str(&sample(
                    family,
                    &format!(r#"{member},period="30d""#),
                    1.0 - bad / ((1.0 - OBJECTIVE) * total),
                )),
                _ => {
                    let burn = bad / total / (1.0 - OBJECTIVE);
                    let page = burn >= 1.5;
                    let ticket = !page && burn >= 1.0;
                    for (severity, on) in [("page", page), ("ticket", ticket)] {
                        checks.push_str(&sample(
                            family,
                            &format!(r#"{member},severity="{severity}""#),
                            if on { 1.0 } else { 0.0 },
                        ));
                    }
                }
            }
        }
    }
    let test = format!(
        "rule_files: [grouped.rules.yaml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n{input}{GROUPED_ALERTS}    promql_expr_test:\n{checks}"
    );
    std::fs::write(d.join("grouped.test.yaml"), test).expect("write test");
    let tested = promtool(d, &["test", "rules", "grouped.test.yaml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// `budget_drop` and `exhaustion_within` in the ruler (issue 27, item 4): 1% errors against a
/// 95% objective burn at 0.2x, so ten minutes of a 40-minute day take about 5% of its budget
/// and the 80% left lasts 4 days. A drop of 3% in 10m pages and `exhaustion_within: 5d`
/// tickets; 8% and 2d hold nothing: the same lines the daemon's `holding` draws.
#[test]
fn budget_consumption_conditions_hold_in_the_ruler_as_in_the_daemon() {
    if !require("promtool", have("promtool"), "apt-get install prometheus") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let run = |percent: u32, within: &str| -> String {
        let cfg = write_config(
            &d.join(format!("cfg{percent}")),
            &format!(
                r#"prometheus: {{url: "http://127.0.0.1:9090"}}
slos:
  - service: api
    name: avail
    objective: 95
    windows: [1d]
    sli:
      ratio:
        errors: 'req_total{{code="500"}}'
        total: 'req_total'
    alerting:
      rules: [{{severity: page, long: 1h, short: 5m, factor: 1000}}]
      budget_ticket_below: 0
      budget_exhausted: none
      no_data_after: none
      budget_drop: {{percent: {percent}, within: 10m}}
      exhaustion_within: {within}
"#
            ),
        );
        let (code, out, err) = slowburn(&[
            "rules",
            "-c",
            cfg.to_str().expect("UTF-8"),
            "--period-interval",
            "1m",
            "--out",
            d.join("c.rules.yaml").to_str().expect("UTF-8"),
        ]);
        assert_eq!(code, 0, "{out}{err}");
        let test = "rule_files: [c.rules.yaml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n      - series: 'req_total{code=\"200\"}'\n        values: '0+990x40'\n      - series: 'req_total{code=\"500\"}'\n        values: '0+10x40'\n    promql_expr_test:\n      - expr: count by (severity, rule) (slowburn:slo_alert_holding:burn_rate)\n        eval_time: 40m\n        exp_samples:\n__SAMPLES__";
        let samples = if percent == 3 {
            "          - labels: '{rule=\"budget 1d dropped 3% in 10m\",severity=\"page\"}'\n            value: 1\n          - labels: '{rule=\"budget 1d gone within 5d\",severity=\"ticket\"}'\n            value: 1\n"
        } else {
            ""
        };
        std::fs::write(d.join("c.test.yaml"), test.replace("__SAMPLES__", samples))
            .expect("write test");
        promtool(d, &["test", "rules", "c.test.yaml"])
    };
    let holds = run(3, "5d");
    assert!(holds.contains("SUCCESS"), "{holds}");
    let quiet = run(8, "2d");
    assert!(quiet.contains("SUCCESS"), "{quiet}");
}
