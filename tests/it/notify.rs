//! Notifications end to end against a PagerDuty fake: the page is stored before it is sent,
//! survives a `kill -9` while PagerDuty is failing, is retried after a 429, reaches PagerDuty once
//! with a valid Events v2 body, and is followed by its resolve, in that order.
//!
//! The PagerDuty and Slack endpoints are FAKES (`fakes/pagerduty.rs`, `fakes/slack.rs`):
//! in-test HTTP servers that check and limit what the real services check and limit.

use crate::common::*;
use crate::fakes::pagerduty as pd;
use crate::fakes::slack;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct FakeState {
    /// Answer every request with 500 while set.
    failing: bool,
    /// Answer the next N valid requests with 429.
    throttle: u32,
    /// Every valid event accepted with 202.
    accepted: Vec<Value>,
    /// Requests refused (status, reason).
    refused: Vec<(u16, String)>,
    /// Bodies posted to the generic webhook path.
    hooks: Vec<Value>,
    /// Slack messages accepted.
    slack: Vec<Value>,
    /// PagerDuty's own limit per integration key.
    pd_limit: pd::Limiter,
    /// Slack's own pace per webhook.
    slack_limit: slack::Limiter,
}

/// Starts the fake on a free port; returns its base URL and state.
fn fake_pagerduty() -> (String, Arc<Mutex<FakeState>>) {
    use axum::Router;
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::post;
    let state = Arc::new(Mutex::new(FakeState::default()));
    let st = Arc::clone(&state);
    let st2 = Arc::clone(&st);
    let st3 = Arc::clone(&st);
    let app = Router::new()
        .route(
            "/v2/enqueue",
            post(move |headers: HeaderMap, body: Bytes| {
                let st = Arc::clone(&st);
                async move {
                    let mut s = st.lock().unwrap();
                    let ct = headers.get("content-type").and_then(|v| v.to_str().ok());
                    let v = match pd::check(ct, &body) {
                        Ok(v) => v,
                        Err((code, why)) => {
                            s.refused.push((code, why.clone()));
                            return (pd::status(code), pd::invalid(&why));
                        }
                    };
                    if s.failing {
                        s.refused.push((500, "failing".into()));
                        return (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "upstream trouble".to_string(),
                        );
                    }
                    let key = v["routing_key"].as_str().unwrap_or("").to_string();
                    // Like PagerDuty: no Retry-After on a 429.
                    if s.throttle > 0 || !s.pd_limit.admit(&key, Instant::now()) {
                        s.throttle = s.throttle.saturating_sub(1);
                        s.refused.push((429, "throttled".into()));
                        return (
                            StatusCode::TOO_MANY_REQUESTS,
                            "Request Limit Exceeded".to_string(),
                        );
                    }
                    let dedup = v["dedup_key"].as_str().unwrap_or("").to_string();
                    s.accepted.push(v);
                    (StatusCode::ACCEPTED, pd::accepted(&dedup))
                }
            }),
        )
        .route("/slack", {
            let st = Arc::clone(&st3);
            post(move |headers: HeaderMap, body: Bytes| {
                let st = Arc::clone(&st);
                async move {
                    let ct = headers.get("content-type").and_then(|v| v.to_str().ok());
                    let mut s = st.lock().unwrap();
                    let v = match slack::check(ct, &body) {
                        Ok(v) => v,
                        Err(code) => {
                            s.refused.push((400, code.to_string()));
                            return (StatusCode::BAD_REQUEST, code).into_response();
                        }
                    };
                    if let Err(secs) = s.slack_limit.admit("/slack", Instant::now()) {
                        s.refused.push((429, "rate_limited".into()));
                        return (
                            StatusCode::TOO_MANY_REQUESTS,
                            [("retry-after", secs.to_string())],
                            r#"{"ok":false,"error":"rate_limited"}"#,
                        )
                            .into_response();
                    }
                    s.slack.push(v);
                    (StatusCode::OK, "ok").into_response()
                }
            })
        })
        .route(
            "/hook",
            post(move |body: Bytes| {
                let st = Arc::clone(&st2);
                async move {
                    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                        st.lock().unwrap().hooks.push(v);
                    }
                    StatusCode::OK
                }
            }),
        );
    let port = serve(app);
    (format!("http://127.0.0.1:{port}"), state)
}

#[test]
fn a_page_is_stored_retried_delivered_once_and_resolved() {
    if !require_prometheus() {
        return;
    }
    // 50% errors from 20 minutes ago until 90 seconds from now.
    let history = svc15_incident(-1200, 90, 0.5, 8);
    let prom = start_prometheus(&history);
    let (fake, state) = fake_pagerduty();
    state.lock().unwrap().failing = true;
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        r#"{}receivers:
  - name: oncall
    pagerduty: {{routing_key: "${{SB_TEST_PD_KEY}}", url: "{fake}/v2/enqueue"}}
    severities: [page]
  - name: hook
    webhook: {{url: "{fake}/hook"}}
  - name: team
    slack: {{webhook_url: "{fake}/slack"}}
    severities: [page]
slos:
{}{}"#,
        fast_head(&prom.url),
        burn_only_slo("svc15", "availability", 99.9),
        burn_only_slo("svc15", "availability-loose", 99.0),
    );
    let cfg = write_config(dir.path(), &cfg);
    let data = dir.path().join("data");
    let key = [("SB_TEST_PD_KEY", "0123456789abcdef0123456789abcdef")];

    // PagerDuty is failing: the page is stored and retried, not lost.
    let mut d = Daemon::start(&cfg, &data, &key);
    d.wait_ready(Duration::from_secs(120));
    wait_until("a failed attempt", Duration::from_secs(30), || {
        state.lock().unwrap().refused.iter().any(|(s, _)| *s == 500)
    });
    wait_until("the retry counter", Duration::from_secs(30), || {
        d.get("/metrics")
            .1
            .contains("slowburn_notifications_total{receiver=\"oncall\",result=\"retry\"}")
    });
    assert!(state.lock().unwrap().accepted.is_empty());
    let pending = |d: &Daemon| -> f64 {
        d.get("/metrics")
            .1
            .lines()
            .find_map(|l| l.strip_prefix("slowburn_notifications_pending{receiver=\"oncall\"} "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1.0)
    };
    assert!(pending(&d) >= 1.0, "the page waits in the outbox");
    d.signal("KILL");
    drop(d);

    // PagerDuty recovers but throttles once: after the restart the stored page goes out.
    {
        let mut s = state.lock().unwrap();
        s.failing = false;
        s.throttle = 1;
    }
    let mut d = Daemon::start(&cfg, &data, &key);
    d.wait_ready(Duration::from_secs(120));
    wait_until("the trigger", Duration::from_secs(60), || {
        !state.lock().unwrap().accepted.is_empty()
    });
    wait_until("an empty outbox", Duration::from_secs(30), || {
        pending(&d) == 0.0
    });
    wait_until("the resolve", Duration::from_secs(240), || {
        state
            .lock()
            .unwrap()
            .accepted
            .iter()
            .any(|v| v["event_action"] == "resolve")
    });
    // Slack's resolve may come a tick after PagerDuty's (the looser SLO clears later).
    let slack_resolved = |m: &Value| {
        m["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("Resolved")
    };
    wait_until("the Slack resolve", Duration::from_secs(120), || {
        state.lock().unwrap().slack.iter().any(slack_resolved)
    });
    let s = state.lock().unwrap();
    assert!(
        s.refused.iter().all(|(code, _)| *code != 400),
        "every body was valid: {:?}",
        s.refused
    );
    assert!(
        s.refused.iter().any(|(code, _)| *code == 429),
        "the 429 was honoured and retried"
    );
    let ours: Vec<&Value> = s
        .accepted
        .iter()
        .filter(|v| v["dedup_key"] == "slowburn/svc15/availability/page")
        .collect();
    let actions: Vec<&str> = ours
        .iter()
        .map(|v| v["event_action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["trigger", "resolve"],
        "one trigger, then its resolve"
    );
    let trigger = ours[0];
    assert_eq!(trigger["payload"]["severity"], "critical");
    let summary = trigger["payload"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("svc15/availability") && summary.contains("burning"),
        "{summary}"
    );
    let details = &trigger["payload"]["custom_details"];
    assert!(
        details["burn_rates"]["5m"].is_number()
            && details["error_budget_remaining"]["1d"].is_number(),
        "{details}"
    );
    assert!(
        details["queries"][0]
            .as_str()
            .unwrap()
            .contains("http_requests_total")
    );
    // The webhook receiver got the documented body for the same page.
    let hook = s
        .hooks
        .iter()
        .find(|h| h["severity"] == "page" && h["status"] == "firing")
        .expect("webhook page");
    assert_eq!(hook["version"], "1");
    assert_eq!(hook["dedup_key"], "slowburn/svc15/availability/page");
    assert!(d.log_text().matches("\"message\":\"alert firing\"").count() >= 1);
    // Slack: both SLOs paged in the same tick, so one message carries both.
    let first = s.slack.first().expect("a Slack message");
    let text = first["text"].as_str().unwrap();
    assert!(
        text.contains("svc15/availability") && text.contains("svc15/availability-loose"),
        "one grouped message: {text}"
    );

    drop(s);
    // `backtest` over the daemon's own store finds the episodes it finds over Prometheus.
    let to = last_eval(&d);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(20)), Some(0));
    let range = [
        "--from".to_string(),
        (to - 1800).to_string(),
        "--to".to_string(),
        to.to_string(),
    ];
    let backtest = |extra: &[&str]| -> Value {
        let mut args = vec!["backtest", "-c", cfg.to_str().unwrap(), "--format", "json"];
        args.extend(range.iter().map(String::as_str));
        args.extend(extra);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_slowburn"))
            .args(&args)
            .env("SB_TEST_PD_KEY", key[0].1)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let from_prometheus = backtest(&[]);
    let from_store = backtest(&["--data-dir", data.to_str().unwrap()]);
    assert!(
        from_prometheus["summary"]["pages"].as_u64().unwrap() >= 2,
        "{from_prometheus}"
    );
    assert_eq!(from_store["episodes"], from_prometheus["episodes"]);
    let (code, out, err) = slowburn(&[
        "notify-test",
        "--receiver",
        "oncall",
        "-c",
        cfg.to_str().unwrap(),
    ]);
    // The key comes from the environment of the command, which this call does not set.
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("SB_TEST_PD_KEY"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slowburn"))
        .args([
            "notify-test",
            "--receiver",
            "oncall",
            "-c",
            cfg.to_str().unwrap(),
        ])
        .env("SB_TEST_PD_KEY", "0123456789abcdef0123456789abcdef")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = state.lock().unwrap();
    let test: Vec<&Value> = s
        .accepted
        .iter()
        .filter(|v| v["dedup_key"] == "slowburn/slowburn/notify-test/ticket")
        .collect();
    assert_eq!(test.len(), 2, "a test trigger and its resolve");
    assert!(
        test[0]["payload"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("[TEST]")
    );
}

/// A live service for Prometheus to scrape: 100 requests a second, all failing while `outage` is
/// set. Returns its `host:port`.
fn live_service(outage: Arc<std::sync::atomic::AtomicBool>) -> String {
    use axum::Router;
    use axum::routing::get;
    use std::sync::atomic::Ordering;
    let counts = Arc::new(Mutex::new((0u64, 0u64)));
    let c = Arc::clone(&counts);
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let mut c = c.lock().unwrap();
            if outage.load(Ordering::Relaxed) {
                c.1 += 10;
            } else {
                c.0 += 10;
            }
        }
    });
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let c = Arc::clone(&counts);
            async move {
                let (ok, err) = *c.lock().unwrap();
                format!(
                    "# TYPE http_requests_total counter\n\
                     http_requests_total{{service=\"live\",code=\"200\"}} {ok}\n\
                     http_requests_total{{service=\"live\",code=\"500\"}} {err}\n"
                )
            }
        }),
    );
    format!("127.0.0.1:{}", serve(app))
}

/// The SRE Workbook's live promise: an outage on scraped traffic pages within the detection time
/// `factor × long window × (1 − objective) / error ratio` plus two buckets, and resolves once the
/// short windows are clean again.
#[test]
fn a_live_outage_pages_within_theory_plus_two_buckets_and_resolves() {
    use std::sync::atomic::{AtomicBool, Ordering};
    if !require_prometheus() {
        return;
    }
    let outage = Arc::new(AtomicBool::new(false));
    let target = live_service(Arc::clone(&outage));
    let prom = start_scraper(&target);
    let (fake, state) = fake_pagerduty();
    let dir = tempfile::tempdir().unwrap();
    let width = 10.0;
    let cfg = format!(
        r#"{}receivers:
  - name: oncall
    pagerduty: {{routing_key: "0123456789abcdef0123456789abcdef", url: "{fake}/v2/enqueue"}}
    severities: [page]
slos:
{}"#,
        fast_head(&prom.url),
        burn_only_slo("live", "availability", 99.9),
    );
    let cfg = write_config(dir.path(), &cfg);
    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(60));
    // A few clean buckets first, so the windows hold real traffic.
    wait_ticks(&d, 3, 10);
    assert!(
        state.lock().unwrap().accepted.is_empty(),
        "no page on clean traffic"
    );

    // The Workbook's detection time for the fastest page rule, scaled to the 1d period:
    // 1h/5m becomes 120 s / 10 s; 100% errors.
    let (factor, long, objective, ratio) = (14.4, 120.0, 0.999, 1.0);
    let theory = factor * long * (1.0 - objective) / ratio;
    let started = Instant::now();
    outage.store(true, Ordering::Relaxed);
    let got = |action: &str| {
        state
            .lock()
            .unwrap()
            .accepted
            .iter()
            .any(|v| v["event_action"] == action)
    };
    wait_until("the live page", Duration::from_secs(120), || got("trigger"));
    // Each measured time is printed beside its theory and must be within two buckets of it.
    let within = |what: &str, got: f64, theory: f64| {
        let bound = theory + 2.0 * width;
        eprintln!("live {what}: {got:.1} s (theory {theory:.1} s, bound {bound:.1} s)");
        assert!(
            got <= bound,
            "{what} after {got:.1} s; the bound is {theory:.1} + 2 buckets"
        );
    };
    within("detection", started.elapsed().as_secs_f64(), theory);

    // Recovery: the page rules' short windows (10 s and 60 s scaled) clear, then the resolve.
    std::thread::sleep(Duration::from_secs(10));
    let recovered = Instant::now();
    outage.store(false, Ordering::Relaxed);
    let longest_short = 60.0;
    wait_until("the live resolve", Duration::from_secs(180), || {
        got("resolve")
    });
    within("reset", recovered.elapsed().as_secs_f64(), longest_short);
    let s = state.lock().unwrap();
    let actions: Vec<&str> = s
        .accepted
        .iter()
        .map(|v| v["event_action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["trigger", "resolve"], "paged once, resolved once");
    assert!(s.refused.is_empty(), "{:?}", s.refused);
}
