//! Prometheus answers are believed only when whole (issue 11, items 8-10). A tampering proxy in
//! front of a real Prometheus (not a fake: every answer starts as Prometheus's own) duplicates
//! samples, turns counter values into NaN, adds `warnings` or a native-histogram series, or
//! answers with error types the old client did not know. Untrusted answers become missing
//! buckets, counted by reason, that heal to exactly what a daemon reading Prometheus directly
//! stored; 429 waits its `Retry-After`, 413 and 406 are not retried. PromQL annotations
//! (`PromQL warning: …`, `PromQL info: …`, issue 22 item 1) are not partial data: an answer that
//! carries only them is counted, the annotation is logged and shown by `validate --online`.

use crate::common;
use crate::common::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const WIDTH: i64 = 10;

/// What the proxy does to `query_range` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Mode {
    Pass,
    /// Every sample twice (the defect: the 5m burn went from 1.1 to 4.4 and stayed wrong).
    Duplicate,
    /// The last sample of every series `NaN`.
    Nan,
    /// `warnings` added, as Thanos or a failed remote read sends with partial data.
    Warnings,
    /// A native-histogram-only series added (must not break anything).
    Histograms,
    /// 413 `too_large_entry`, Mimir's answer to a too-large response.
    TooLarge,
    /// 406 `not_acceptable`.
    NotAcceptable,
    /// No answer at all (a hung backend: the connection open, nothing sent back).
    Stall,
    /// A `PromQL warning:` and a `PromQL info:` annotation added to every answer, instant ones
    /// too, as Prometheus ≥ 2.46 sends about the query itself (its data is whole).
    Annotations,
}

/// The annotation the proxy adds (Prometheus's `MixedFloatsHistogramsWarning` with its position).
const ANNOTATION: &str = r#"PromQL warning: encountered a mix of histograms and floats for metric name "http_requests_total" (1:1)"#;
/// The info the proxy adds (Prometheus's `PossibleNonCounterInfo`).
const INFO: &str = r#"PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "http_requests" (1:1)"#;

#[derive(Clone)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    mode: Arc<AtomicU8>,
    /// `query_range` answers still to refuse with 429 and `Retry-After: 2`, before the mode applies.
    too_many: Arc<AtomicU32>,
    /// When each `query_range` request arrived.
    seen: Arc<Mutex<Vec<Instant>>>,
}

impl Proxy {
    fn start(upstream: &str) -> (Proxy, String) {
        let p = Proxy {
            upstream: upstream.to_string(),
            client: reqwest::Client::new(),
            mode: Arc::new(AtomicU8::new(Mode::Pass as u8)),
            too_many: Arc::new(AtomicU32::new(0)),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let app = axum::Router::new().fallback(forward).with_state(p.clone());
        let port = serve(app);
        (p, format!("http://127.0.0.1:{port}"))
    }
    fn set(&self, m: Mode) {
        self.mode.store(m as u8, Ordering::SeqCst);
    }
    fn requests(&self) -> Vec<Instant> {
        self.seen.lock().unwrap().clone()
    }
}

fn mode(v: u8) -> Mode {
    [
        Mode::Pass,
        Mode::Duplicate,
        Mode::Nan,
        Mode::Warnings,
        Mode::Histograms,
        Mode::TooLarge,
        Mode::NotAcceptable,
        Mode::Stall,
        Mode::Annotations,
    ][v as usize]
}

async fn forward(State(p): State<Proxy>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let range = path.ends_with("/api/v1/query_range");
    let m = mode(p.mode.load(Ordering::SeqCst));
    // Annotations come with instant answers too; every other tampering is of ranges only.
    let tampered = range || (m == Mode::Annotations && path.ends_with("/api/v1/query"));
    if range {
        p.seen.lock().unwrap().push(Instant::now());
        let refuse = p
            .too_many
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let error = |status: StatusCode, kind: &str, retry: Option<&str>| {
            let body = json!({"status": "error", "errorType": kind, "error": format!("{kind} from the proxy"), "data": null});
            let mut r = (
                status,
                [("content-type", "application/json")],
                body.to_string(),
            )
                .into_response();
            if let Some(s) = retry {
                r.headers_mut().insert("retry-after", s.parse().unwrap());
            }
            r
        };
        if refuse {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                Some("2"),
            );
        }
        match m {
            Mode::TooLarge => return error(StatusCode::PAYLOAD_TOO_LARGE, "too_large_entry", None),
            Mode::NotAcceptable => {
                return error(StatusCode::NOT_ACCEPTABLE, "not_acceptable", None);
            }
            Mode::Stall => std::future::pending::<()>().await,
            _ => {}
        }
    }
    let url = format!(
        "{}{}",
        p.upstream,
        uri.path_and_query().map(|x| x.as_str()).unwrap_or("/")
    );
    let mut req = p.client.post(&url).body(body);
    if let Some(ct) = headers.get("content-type") {
        req = req.header("content-type", ct.clone());
    }
    let Ok(resp) = req.send().await else {
        return (StatusCode::BAD_GATEWAY, "upstream down").into_response();
    };
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap_or_default();
    let mut out = bytes.to_vec();
    if tampered && status == 200 && m != Mode::Pass {
        let mut v: Value = serde_json::from_slice(&bytes).unwrap();
        tamper(&mut v, m);
        out = serde_json::to_vec(&v).unwrap();
    }
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        out,
    )
        .into_response()
}

fn tamper(v: &mut Value, m: Mode) {
    if m == Mode::Annotations {
        v["warnings"] = json!([ANNOTATION]);
        v["infos"] = json!([INFO]);
        return;
    }
    let result = v["data"]["result"].as_array_mut().unwrap();
    match m {
        Mode::Duplicate => {
            for s in result.iter_mut() {
                let values = s["values"].as_array().cloned().unwrap_or_default();
                s["values"] =
                    Value::Array(values.iter().flat_map(|x| [x.clone(), x.clone()]).collect());
            }
        }
        Mode::Nan => {
            for s in result.iter_mut() {
                if let Some(last) = s["values"].as_array_mut().and_then(|a| a.last_mut()) {
                    last[1] = json!("NaN");
                }
            }
        }
        Mode::Warnings => {
            v["warnings"] = json!(["remote read: store 10.0.0.7:10901 unavailable (partial data)"]);
        }
        Mode::Histograms => {
            let t = result
                .first()
                .and_then(|s| s["values"][0][0].as_f64())
                .unwrap_or(0.0);
            result.push(json!({
                "metric": {"__name__": "native_seconds", "job": "proxy"},
                "histograms": [[t, {"count": "3", "sum": "0.4", "buckets": [[0, "0.1", "0.2", "3"]]}]]
            }));
        }
        _ => {}
    }
}

struct Fixture {
    prom: Prometheus,
}

fn fixture() -> Option<&'static Fixture> {
    static F: OnceLock<Option<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        require_prometheus().then(|| Fixture {
            prom: start_prometheus(&short_live_history()),
        })
    })
    .as_ref()
}

/// A `/metrics` value, 0 when absent.
fn metric(d: &Daemon, prefix: &str) -> f64 {
    common::metric(d, prefix).unwrap_or(0.0)
}

const COVERAGE_1D: &str =
    "slo_coverage_ratio{service=\"svc15\",slo=\"availability\",window=\"1d\"} ";

fn untrusted(d: &Daemon, reason: &str) -> f64 {
    metric(
        d,
        &format!(
            "slowburn_source_untrusted_answers_total{{source=\"prometheus\",reason=\"{reason}\"}} "
        ),
    )
}

/// The SLI of every 20 s (two buckets) of the 1-day period and the SLO's view,
/// read from both daemons at the same evaluation instant.
fn same_instant_views(a: &Daemon, b: &Daemon) -> [(Value, Value); 2] {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let read = |d: &Daemon| {
            let one: Value =
                serde_json::from_str(&d.get("/api/v1/slos/svc15/availability").1).unwrap();
            let hist: Value = serde_json::from_str(
                &d.get("/api/v1/slos/svc15/availability/history?period=1d&step=20s")
                    .1,
            )
            .unwrap();
            (one, hist)
        };
        let (x, y) = (read(a), read(b));
        if x.0["at"] == y.0["at"] && x.1["points"][0]["time"] == y.1["points"][0]["time"] {
            return [x, y];
        }
        assert!(
            Instant::now() < deadline,
            "the daemons never read at one instant"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn untrusted_answers_become_missing_buckets_that_heal_to_a_clean_runs_counts() {
    let Some(f) = fixture() else { return };
    let (proxy, url) = Proxy::start(&f.prom.url);
    let root = tempfile::tempdir().unwrap();
    let clean_cfg = write_config(&root.path().join("clean"), &fast_config(&f.prom.url));
    let tampered_cfg = write_config(&root.path().join("tampered"), &fast_config(&url));
    let mut clean = Daemon::start(&clean_cfg, &root.path().join("clean/data"), &[]);
    let mut tampered = Daemon::start(&tampered_cfg, &root.path().join("tampered/data"), &[]);
    clean.wait_ready(Duration::from_secs(120));
    tampered.wait_ready(Duration::from_secs(120));
    wait_ticks(&tampered, 1, WIDTH);
    wait_until("the day fully known", Duration::from_secs(60), || {
        metric(&tampered, COVERAGE_1D) == 1.0
    });

    // A native-histogram series next to the float ones is read past, not fatal.
    proxy.set(Mode::Histograms);
    wait_ticks(&tampered, 2, WIDTH);
    // Whole again at once or after a heal (a slow machine may time a query out).
    wait_until(
        "the day whole beside histograms",
        Duration::from_secs(60),
        || metric(&tampered, COVERAGE_1D) == 1.0,
    );
    assert_eq!(
        metric(&tampered, COVERAGE_1D),
        1.0,
        "{}",
        tampered.log_text()
    );

    for (m, reason, logged) in [
        (Mode::Duplicate, "contract", "two samples at"),
        (Mode::Nan, "contract", "the counter value `NaN`"),
        (
            Mode::Warnings,
            "partial",
            "store 10.0.0.7:10901 unavailable",
        ),
    ] {
        let before = untrusted(&tampered, reason);
        let errors_before = metric(
            &tampered,
            "slowburn_source_errors_total{slo=\"svc15/availability\",source=\"prometheus\"} ",
        );
        proxy.set(m);
        wait_ticks(&tampered, 2, WIDTH);
        let coverage = metric(&tampered, COVERAGE_1D);
        assert!(
            coverage < 1.0,
            "{m:?}: buckets are missing, coverage {coverage}"
        );
        assert!(
            untrusted(&tampered, reason) > before,
            "{m:?}: counted as {reason}"
        );
        let errors = metric(
            &tampered,
            "slowburn_source_errors_total{slo=\"svc15/availability\",source=\"prometheus\"} ",
        );
        assert!(errors > errors_before, "{m:?}: a source error of the SLO");
        assert!(
            tampered.log_text().contains(logged),
            "{m:?}: the log says why: {}",
            tampered.log_text()
        );
        proxy.set(Mode::Pass);
        let deadline = Instant::now() + Duration::from_secs(90);
        while metric(&tampered, COVERAGE_1D) < 1.0 {
            assert!(
                Instant::now() < deadline,
                "{m:?}: missing buckets never healed: {}",
                tampered.log_text()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    // Healed exactly: every 20 s of the day and every window equal the clean run.
    let [(one_t, hist_t), (one_c, hist_c)] = same_instant_views(&tampered, &clean);
    assert_eq!(
        hist_t["points"].as_array().map(Vec::len),
        Some(4320),
        "{hist_t}"
    );
    assert_eq!(
        hist_t["points"], hist_c["points"],
        "per-bucket SLI and budget"
    );
    for k in ["burn_rates", "coverage", "periods"] {
        assert_eq!(one_t[k], one_c[k], "{k}");
    }
    drop(clean);
    drop(tampered);
}

#[test]
fn a_stalled_source_cannot_freeze_evaluation() {
    let Some(f) = fixture() else { return };
    let (proxy, url) = Proxy::start(&f.prom.url);
    let root = tempfile::tempdir().unwrap();
    // A request timeout far longer than a bucket: only the tick's deadline (10 s − 1 s delay)
    // can end a tick whose source hangs.
    let cfg = fast_config(&url).replace("timeout: 2s", "timeout: 5m");
    let cfg = write_config(root.path(), &cfg);
    let mut d = Daemon::start(&cfg, &root.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(120));
    wait_ticks(&d, 1, WIDTH);
    proxy.set(Mode::Stall);
    let t0 = Instant::now();
    // Each tick still finishes within its bucket, with what did not arrive missing.
    wait_ticks(&d, 3, WIDTH);
    assert!(t0.elapsed() < Duration::from_secs(45), "{:?}", t0.elapsed());
    let coverage = metric(&d, COVERAGE_1D);
    assert!(coverage < 1.0, "coverage {coverage}: {}", d.log_text());
    let api: Value = serde_json::from_str(&d.get("/api/v1/slos/svc15/availability").1).unwrap();
    assert!(
        api["evaluation_age_seconds"].as_f64().unwrap() < 2.0 * WIDTH as f64,
        "evaluation stays fresh: {api}"
    );
    assert!(d.log_text().contains("tick's deadline"), "{}", d.log_text());
    proxy.set(Mode::Pass);
    let deadline = Instant::now() + Duration::from_secs(90);
    while metric(&d, COVERAGE_1D) < 1.0 {
        assert!(Instant::now() < deadline, "never healed: {}", d.log_text());
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(d);
}

/// A config for `report` through the proxy with retries.
fn report_config(dir: &std::path::Path, url: &str, retries: u32) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            r#"prometheus: {{url: "{url}", retries: {retries}, timeout: 5s}}
defaults: {{bucket: 1m, windows: [1d]}}
slos:
{SVC15_AVAILABILITY}"#
        ),
    )
}

#[test]
fn a_429_waits_its_retry_after_and_413_or_406_are_asked_once() {
    let Some(f) = fixture() else { return };
    let at = now_secs() / 60 * 60 - 600;
    let root = tempfile::tempdir().unwrap();
    let direct = report_json(&report_config(&root.path().join("d"), &f.prom.url, 0), at);

    let (proxy, url) = Proxy::start(&f.prom.url);
    proxy.too_many.store(1, Ordering::SeqCst);
    let got = report_json(&report_config(&root.path().join("p"), &url, 2), at);
    // The errors selector is read out of its total's answer, so one request is asked; answered
    // 429, it is asked again after the wait.
    let seen = proxy.requests();
    assert!(seen.len() >= 2, "{} requests", seen.len());
    let gap = seen[seen.len() - 1] - seen[0];
    assert!(
        gap >= Duration::from_millis(1900),
        "the retry waited {gap:?}, not the 2 s of Retry-After"
    );
    assert_eq!(
        got["slos"], direct["slos"],
        "after the wait, the same numbers"
    );

    for (m, status) in [(Mode::TooLarge, "413"), (Mode::NotAcceptable, "406")] {
        let (proxy, url) = Proxy::start(&f.prom.url);
        proxy.set(m);
        let r = report_json(&report_config(&root.path().join(status), &url, 3), at);
        let errors = r["slos"][0]["errors"].to_string();
        assert!(errors.contains(status), "{m:?}: {errors}");
        let requests = proxy.requests().len();
        // One day of 1-minute buckets is one piece, longer than a batch joins: its errors are read
        // out of its total's answer. That request is refused and never retried; the errors are
        // then asked alone (they may fit where the total did not), refused too, and the piece
        // stops there.
        assert_eq!(
            requests, 2,
            "{m:?}: asked {requests} times with 3 retries allowed"
        );
        assert_eq!(r["slos"][0]["periods"]["1d"]["coverage"], json!(0.0));
    }
}

#[test]
fn a_report_over_tampered_answers_has_no_data_rather_than_wrong_data() {
    let Some(f) = fixture() else { return };
    let at = now_secs() / 60 * 60 - 600;
    let root = tempfile::tempdir().unwrap();
    let direct = report_json(&report_config(&root.path().join("d"), &f.prom.url, 0), at);
    let (proxy, url) = Proxy::start(&f.prom.url);
    proxy.set(Mode::Histograms);
    let cfg = report_config(&root.path().join("p"), &url, 0);
    assert_eq!(
        report_json(&cfg, at)["slos"],
        direct["slos"],
        "histograms are read past"
    );
    for m in [Mode::Duplicate, Mode::Nan, Mode::Warnings] {
        proxy.set(m);
        let r = report_json(&cfg, at);
        let p = &r["slos"][0]["periods"]["1d"];
        assert_eq!(p["coverage"], json!(0.0), "{m:?}: {r}");
        assert!(
            r["slos"][0]["errors"]
                .to_string()
                .contains("cannot be trusted"),
            "{m:?}: {r}"
        );
    }
}

/// Issue 22 item 1: an answer whose only remarks are PromQL annotations is whole. Through a
/// proxy that adds a `PromQL warning:` and a `PromQL info:` to every answer, `report` equals the
/// direct one (it counted 0 events of millions before), the annotation is logged, and
/// `validate --online` shows it; a warning that is not an annotation still leaves the buckets
/// missing.
#[test]
fn promql_annotations_are_counted_and_other_warnings_are_not() {
    let Some(f) = fixture() else { return };
    let at = now_secs() / 60 * 60 - 600;
    let root = tempfile::tempdir().unwrap();
    let direct = report_json(&report_config(&root.path().join("d"), &f.prom.url, 0), at);
    let day = &direct["slos"][0]["periods"]["1d"];
    let total = day["total"].as_f64().unwrap_or(0.0);
    assert!(total > 0.0, "the direct report counts events: {direct}");
    let (proxy, url) = Proxy::start(&f.prom.url);
    proxy.set(Mode::Annotations);
    let cfg = report_config(&root.path().join("p"), &url, 0);
    let path = cfg.to_str().unwrap();
    let at_s = at.to_string();
    let (code, out, err) = slowburn(&["report", "-c", path, "--at", &at_s, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let annotated: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(annotated["slos"], direct["slos"], "counted");
    let p = &annotated["slos"][0]["periods"]["1d"];
    assert_eq!(p["coverage"], json!(1.0));
    // Logged, once per query (errors and total: one range query each), not once per answer.
    let logged = err.matches("mix of histograms and floats").count();
    assert!((1..=2).contains(&logged), "logged {logged} times: {err}");

    let (code, out, err) = slowburn(&["validate", "-c", path, "--online"]);
    assert_eq!(code, 0, "warnings, not problems: {out}{err}");
    assert!(
        err.contains("svc15/availability: warning:") && err.contains(ANNOTATION),
        "{err}"
    );
    assert!(err.contains(INFO), "{err}");

    // A warning that is not an annotation (a failed remote read) is still partial data.
    proxy.set(Mode::Warnings);
    let r = report_json(&cfg, at);
    assert_eq!(r["slos"][0]["periods"]["1d"]["coverage"], json!(0.0), "{r}");
}
