//! Live demo traffic for the README's run command: a tiny "web API" that Prometheus scrapes.
//!
//! `demo_traffic [LISTEN]` (default 127.0.0.1:19100) simulates about 25 requests a second for
//! `service="api"` and serves their counters at `/metrics`: `http_requests_total{code}` and the
//! `http_request_duration_seconds` histogram. Switch an incident on and off to watch slowburn's
//! burn rates move:
//!
//! ```sh
//! curl -X POST 127.0.0.1:19100/incident/on    # 20% errors and slow responses
//! curl -X POST 127.0.0.1:19100/incident/off
//! ```

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use slowburn::synth::LE;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Counters {
    ok: u64,
    errors: u64,
    under: [u64; 5],
    incident: bool,
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:19100".into());
    let shared: Shared = Arc::default();
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
                if u < err_ratio {
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
            }
        }
    });
    let app = Router::new()
        .route("/metrics", get(metrics))
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
