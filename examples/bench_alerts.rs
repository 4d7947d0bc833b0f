//! Alert delivery benchmark (issue 4, item 9): N SLOs page at once on live scraped traffic.
//!
//! `bench_alerts SLOWBURN_BIN N WORKDIR` starts, all on loopback:
//! - a live service with 100 requests a second that Prometheus scrapes every second;
//! - a PagerDuty Events API fake that, like the real one, answers 429 beyond 120 events in any
//!   60 s per routing key, and a Slack webhook fake that answers 429 beyond one message a second;
//! - `prometheus` scraping the service, and `slowburn run` with N SLOs on that traffic, paging both.
//!
//! After three clean ticks it switches the service to 100% errors and measures: the time from the
//! evaluation that fired (the daemon's `alert firing` log line) to the first acceptance by each
//! receiver, how long all N pages take to be accepted, the most PagerDuty events in any 60 s, the
//! 429s received (0 when slowburn keeps the limits), and the daemon's peak RSS. Prints JSON.

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Default)]
struct Seen {
    /// (arrival unix seconds, dedup key) of accepted PagerDuty events.
    pd: Vec<(f64, String)>,
    /// Arrival times of accepted Slack messages, and how many alerts each carried.
    slack: Vec<(f64, usize)>,
    /// 429s answered.
    throttled: u64,
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn get_text(url: &str) -> Option<String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/')?);
    let mut s = std::net::TcpStream::connect(host).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    (buf.split_whitespace().nth(1)? == "200")
        .then(|| buf.split_once("\r\n\r\n").map(|(_, b)| b.to_string()))?
}

fn last_eval(url: &str) -> i64 {
    get_text(&format!("{url}/metrics"))
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("slowburn_last_eval_timestamp_seconds "))
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
        .unwrap_or(0.0) as i64
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let bin = args
        .get(1)
        .cloned()
        .unwrap_or("target/release/slowburn".into());
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let work =
        std::path::PathBuf::from(args.get(3).cloned().unwrap_or("target/bench-alerts".into()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;

    // The live service.
    let outage = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Mutex::new((0u64, 0u64)));
    {
        let (c, o) = (Arc::clone(&counts), Arc::clone(&outage));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                if let Ok(mut c) = c.lock() {
                    if o.load(Ordering::Relaxed) {
                        c.1 += 10;
                    } else {
                        c.0 += 10;
                    }
                }
            }
        });
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    let svc_port = free_port();
    let fake_port = free_port();
    let c = Arc::clone(&counts);
    let service = Router::new().route(
        "/metrics",
        get(move || {
            let c = Arc::clone(&c);
            async move {
                let (ok, err) = c.lock().map(|g| *g).unwrap_or((0, 0));
                format!(
                    "# TYPE http_requests_total counter\nhttp_requests_total{{service=\"live\",code=\"200\"}} {ok}\nhttp_requests_total{{service=\"live\",code=\"500\"}} {err}\n"
                )
            }
        }),
    );
    let (s1, s2) = (Arc::clone(&seen), Arc::clone(&seen));
    let fakes = Router::new()
        .route(
            "/v2/enqueue",
            post(move |body: Bytes| {
                let seen = Arc::clone(&s1);
                async move {
                    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                        return (StatusCode::BAD_REQUEST, "invalid event".to_string());
                    };
                    let now = unix_now();
                    let mut s = match seen.lock() {
                        Ok(s) => s,
                        Err(p) => p.into_inner(),
                    };
                    // PagerDuty's limit: 120 events per minute per routing key.
                    let recent = s.pd.iter().filter(|(t, _)| now - t < 60.0).count();
                    if recent >= 120 {
                        s.throttled += 1;
                        return (
                            StatusCode::TOO_MANY_REQUESTS,
                            "Request Limit Exceeded".into(),
                        );
                    }
                    s.pd.push((now, v["dedup_key"].as_str().unwrap_or("").to_string()));
                    (
                        StatusCode::ACCEPTED,
                        json!({"status": "success"}).to_string(),
                    )
                }
            }),
        )
        .route(
            "/slack",
            post(move |body: Bytes| {
                let seen = Arc::clone(&s2);
                async move {
                    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                        return (StatusCode::BAD_REQUEST, "invalid_payload");
                    };
                    let now = unix_now();
                    let mut s = match seen.lock() {
                        Ok(s) => s,
                        Err(p) => p.into_inner(),
                    };
                    // One message per second per webhook.
                    if s.slack.last().is_some_and(|(t, _)| now - t < 1.0) {
                        s.throttled += 1;
                        return (StatusCode::TOO_MANY_REQUESTS, "rate_limited");
                    }
                    let alerts = v["blocks"].as_array().map_or(1, |b| (b.len() - 1) / 2);
                    s.slack.push((now, alerts));
                    (StatusCode::OK, "ok")
                }
            }),
        );
    let l1 = tokio::net::TcpListener::bind(("127.0.0.1", svc_port)).await?;
    let l2 = tokio::net::TcpListener::bind(("127.0.0.1", fake_port)).await?;
    tokio::spawn(async move { axum::serve(l1, service).await });
    tokio::spawn(async move { axum::serve(l2, fakes).await });

    // Prometheus scraping the service every second.
    let prom_port = free_port();
    std::fs::write(
        work.join("prometheus.yml"),
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: live\n    static_configs: [{{targets: ['127.0.0.1:{svc_port}']}}]\n"
        ),
    )?;
    let _prom = Kill(
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                work.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                work.join("pdata").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(work.join("prometheus.log"))?)
            .spawn()?,
    );
    while get_text(&format!("http://127.0.0.1:{prom_port}/-/ready")).is_none() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // slowburn with N SLOs on that traffic.
    let mut cfg = format!(
        "prometheus: {{url: \"http://127.0.0.1:{prom_port}\"}}\ndefaults: {{bucket: 10s, windows: [1d]}}\nengine: {{lag: 3, delay: 1s}}\nreceivers:\n  - {{name: pd, severities: [page], pagerduty: {{routing_key: \"0123456789abcdef0123456789abcdef\", url: \"http://127.0.0.1:{fake_port}/v2/enqueue\"}}}}\n  - {{name: slack, severities: [page], slack: {{webhook_url: \"http://127.0.0.1:{fake_port}/slack\"}}}}\nslos:\n"
    );
    for i in 0..n {
        cfg.push_str(&format!(
            "  - {{service: live, name: slo{i}, objective: 99.9, alerting: {{budget_exhausted: none, budget_ticket_below: 0}}, sli: {{ratio: {{errors: 'http_requests_total{{service=\"live\",code=~\"5..\"}}', total: 'http_requests_total{{service=\"live\"}}'}}}}}}\n"
        ));
    }
    std::fs::write(work.join("slo.yaml"), cfg)?;
    let sb_port = free_port();
    let sb_url = format!("http://127.0.0.1:{sb_port}");
    let log_path = work.join("slowburn.log");
    let sb = Kill(
        Command::new(&bin)
            .args(["run", "--log-format", "json", "-c"])
            .arg(work.join("slo.yaml"))
            .arg("--data-dir")
            .arg(work.join("data"))
            .args(["--listen", &format!("127.0.0.1:{sb_port}")])
            .env("SLOWBURN_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path)?)
            .spawn()?,
    );
    let pid = sb.0.id();
    while get_text(&format!("{sb_url}/readyz")).is_none() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let start = last_eval(&sb_url);
    while last_eval(&sb_url) < start + 30 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rss_before = rss_kib(pid);

    outage.store(true, Ordering::Relaxed);
    let t_on = unix_now();
    let mut rss_peak = rss_before;
    let deadline = Instant::now() + Duration::from_secs(60 + n as u64);
    loop {
        rss_peak = rss_peak.max(rss_kib(pid));
        let (pd, slack_alerts) = {
            let s = seen.lock().map_err(|_| "poisoned")?;
            (s.pd.len(), s.slack.iter().map(|(_, k)| *k).sum::<usize>())
        };
        if (pd >= n && slack_alerts >= n) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The evaluation that fired: the first page's `alert firing` line.
    let log = std::fs::read_to_string(&log_path)?;
    let fired_at = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["message"] == "alert firing" && v["severity"] == "page")
        .and_then(|v| v["timestamp"].as_str().map(String::from))
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.timestamp_micros() as f64 / 1e6)
        .unwrap_or(f64::NAN);
    let s = seen.lock().map_err(|_| "poisoned")?;
    let pd_times: Vec<f64> = s.pd.iter().map(|(t, _)| *t).collect();
    let mut max_per_minute = 0;
    for (i, t) in pd_times.iter().enumerate() {
        let k = pd_times[i..].iter().take_while(|u| **u - t < 60.0).count();
        max_per_minute = max_per_minute.max(k);
    }
    let min_slack_gap = s
        .slack
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .fold(f64::INFINITY, f64::min);
    let distinct: std::collections::HashSet<&str> = s.pd.iter().map(|(_, k)| k.as_str()).collect();
    let out = json!({
        "slos": n,
        "evaluation_to_first_pagerduty_acceptance_ms": ((pd_times.first().copied().unwrap_or(f64::NAN) - fired_at) * 1000.0).round(),
        "evaluation_to_first_slack_acceptance_ms": ((s.slack.first().map_or(f64::NAN, |x| x.0) - fired_at) * 1000.0).round(),
        "outage_to_first_page_s": pd_times.first().map(|t| t - t_on),
        "pagerduty_pages_accepted": s.pd.len(),
        "pagerduty_distinct_dedup_keys": distinct.len(),
        "all_pages_accepted_after_s": pd_times.last().map(|t| t - fired_at),
        "pagerduty_max_events_in_any_60s": max_per_minute,
        "slack_messages": s.slack.len(),
        "slack_alerts_carried": s.slack.iter().map(|(_, k)| *k).sum::<usize>(),
        "slack_min_gap_s": min_slack_gap,
        "http_429_received": s.throttled,
        "rss_before_mib": rss_before as f64 / 1024.0,
        "rss_peak_during_delivery_mib": rss_peak as f64 / 1024.0,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
