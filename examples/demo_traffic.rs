//! Live demo traffic for the README's run command: a tiny "web API" that Prometheus scrapes.
//!
//! `demo_traffic [LISTEN] [--loki URL]` (default 127.0.0.1:19100) simulates about 25 requests a
//! second for `service="api"` and serves their counters at `/metrics`: `http_requests_total{code}`
//! and the `http_request_duration_seconds` histogram. With `--loki`, every request is also a JSON
//! log line (`{"level":"error","status":500,"duration_ms":182,"path":"/api/orders"}`) of the
//! stream `{app="backend"}`, pushed to Loki's `/loki/api/v1/push` once a second, so the compose
//! stack's log SLOs see the same requests as its metric SLOs. Switch an incident on and off to
//! watch slowburn's burn rates move:
//!
//! ```sh
//! curl -X POST 127.0.0.1:19100/incident/on    # 20% errors and slow responses
//! curl -X POST 127.0.0.1:19100/incident/off
//! ```
//!
//! Lines Loki does not take (it is starting, or down) wait and are pushed with the next batch, up
//! to 100,000; `demo_log_lines_total{result="pushed|dropped"}` counts them.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use slowburn::synth::LE;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Lines held while Loki does not answer; older ones are dropped beyond this.
const MAX_PENDING_LINES: usize = 100_000;

#[derive(Default)]
struct Counters {
    ok: u64,
    errors: u64,
    under: [u64; 5],
    incident: bool,
    /// `(unix nanoseconds, JSON line)` not yet accepted by Loki (only with `--loki`).
    pending: Vec<(i128, String)>,
    logging: bool,
    last_ns: i128,
    pushed: u64,
    dropped: u64,
}

type Shared = Arc<Mutex<Counters>>;

async fn metrics(State(c): State<Shared>) -> ([(&'static str, &'static str); 1], String) {
    let c = match c.lock() {
        Ok(c) => c,
        Err(p) => p.into_inner(),
    };
    let mut out = String::new();
    out.push_str(
        "# HELP http_requests_total Total HTTP requests.\n# TYPE http_requests_total counter\n",
    );
    out.push_str(&format!(
        "http_requests_total{{service=\"api\",code=\"200\"}} {}\n",
        c.ok
    ));
    out.push_str(&format!(
        "http_requests_total{{service=\"api\",code=\"500\"}} {}\n",
        c.errors
    ));
    out.push_str("# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n");
    for (le, n) in LE.iter().zip(c.under) {
        out.push_str(&format!(
            "http_request_duration_seconds_bucket{{service=\"api\",le=\"{le}\"}} {n}\n"
        ));
    }
    let total = c.ok + c.errors;
    out.push_str(&format!(
        "http_request_duration_seconds_bucket{{service=\"api\",le=\"+Inf\"}} {total}\n"
    ));
    out.push_str(&format!(
        "http_request_duration_seconds_count{{service=\"api\"}} {total}\n"
    ));
    out.push_str(&format!("# HELP demo_incident 1 while the demo incident is on.\n# TYPE demo_incident gauge\ndemo_incident {}\n", u8::from(c.incident)));
    out.push_str("# HELP demo_log_lines_total Log lines pushed to Loki, or dropped.\n# TYPE demo_log_lines_total counter\n");
    out.push_str(&format!(
        "demo_log_lines_total{{result=\"pushed\"}} {}\ndemo_log_lines_total{{result=\"dropped\"}} {}\n",
        c.pushed, c.dropped
    ));
    ([("content-type", "text/plain; version=0.0.4")], out)
}

async fn set_incident(State(c): State<Shared>, on: bool) -> &'static str {
    if let Ok(mut c) = c.lock() {
        c.incident = on;
    }
    if on {
        "incident on\n"
    } else {
        "incident off\n"
    }
}

/// Pushes the pending lines once a second as one stream; Loki answers 204. A 4xx other than 429
/// means Loki will never take these lines (too old, malformed): they are counted as dropped and
/// not sent again. A 400 may still have taken part of the batch (Loki keeps the valid entries of
/// a push and lists the refused ones), and sending it again would only repeat those.
async fn push_lines(shared: Shared, loki: String) {
    let url = format!("{}/loki/api/v1/push", loki.trim_end_matches('/'));
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("demo traffic: no HTTP client: {e}");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let batch: Vec<(i128, String)> = match shared.lock() {
            Ok(mut c) => std::mem::take(&mut c.pending),
            Err(_) => continue,
        };
        if batch.is_empty() {
            continue;
        }
        let values: Vec<serde_json::Value> = batch
            .iter()
            .map(|(ns, line)| serde_json::json!([ns.to_string(), line]))
            .collect();
        let body = serde_json::json!({"streams": [{"stream": {"app": "backend", "source": "demo"}, "values": values}]});
        let outcome = client.post(&url).json(&body).send().await;
        let Ok(mut c) = shared.lock() else { continue };
        match outcome {
            Ok(r) if r.status().is_success() => c.pushed += batch.len() as u64,
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                eprintln!(
                    "demo traffic: Loki refused {} lines: HTTP {}",
                    batch.len(),
                    r.status()
                );
                c.dropped += batch.len() as u64;
            }
            other => {
                if let Err(e) = &other {
                    eprintln!("demo traffic: Loki did not answer ({e}); keeping the lines");
                }
                // Put them back in front of what arrived meanwhile, oldest dropped beyond the cap.
                let newer = std::mem::replace(&mut c.pending, batch);
                c.pending.extend(newer);
                let over = c.pending.len().saturating_sub(MAX_PENDING_LINES);
                c.pending.drain(..over);
                c.dropped += over as u64;
            }
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut listen = "127.0.0.1:19100".to_string();
    let mut loki = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--loki" => loki = Some(args.next().ok_or("--loki needs a URL")?),
            _ => listen = a,
        }
    }
    let shared: Shared = Arc::default();
    if let Some(loki) = loki {
        if let Ok(mut c) = shared.lock() {
            c.logging = true;
        }
        tokio::spawn(push_lines(Arc::clone(&shared), loki));
    }
    let traffic = Arc::clone(&shared);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut carry = 0.0f64;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        loop {
            tick.tick().await;
            let Ok(mut c) = traffic.lock() else { continue };
            // ~25 requests a second.
            carry += 5.0;
            let n = carry.floor() as u64;
            carry -= n as f64;
            for _ in 0..n {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let u = (seed >> 11) as f64 / (1u64 << 53) as f64;
                let (err_ratio, fast) = if c.incident {
                    (0.2, [0.1, 0.3, 0.55, 0.9, 0.99])
                } else {
                    (0.0002, [0.5, 0.85, 0.97, 0.995, 0.999])
                };
                let error = u < err_ratio;
                if error {
                    c.errors += 1;
                } else {
                    c.ok += 1;
                }
                let v = (u * 7919.0).fract();
                for (k, share) in fast.iter().enumerate() {
                    if v < *share {
                        c.under[k] += 1;
                    }
                }
                if c.logging {
                    // The latency bucket this request fell in, as milliseconds inside it.
                    let bucket = fast.iter().position(|s| v < *s).unwrap_or(LE.len());
                    let lo = if bucket == 0 { 0.0 } else { LE[bucket - 1] };
                    let hi = LE.get(bucket).copied().unwrap_or(lo * 2.0);
                    let ms = ((lo + (hi - lo) * (u * 104_729.0).fract()) * 1000.0).round();
                    let (level, status) = if error { ("error", 500) } else { ("info", 200) };
                    // Unique, increasing timestamps: Loki keeps one of two equal (time, line) pairs.
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos() as i128);
                    let ns = now.max(c.last_ns + 1);
                    c.last_ns = ns;
                    c.pending.push((
                        ns,
                        format!(r#"{{"level":"{level}","status":{status},"duration_ms":{ms},"path":"/api/orders"}}"#),
                    ));
                }
            }
        }
    });
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/incident/on",
            post(|s: State<Shared>| set_incident(s, true)),
        )
        .route(
            "/incident/off",
            post(|s: State<Shared>| set_incident(s, false)),
        )
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!("demo traffic on http://{listen}/metrics; POST /incident/on or /incident/off");
    axum::serve(listener, app).await?;
    Ok(())
}
