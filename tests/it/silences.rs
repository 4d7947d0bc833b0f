//! Silences under concurrency (issue 11, item 14): 200 creates at once are all listed and all
//! survive a restart; 200 deletes at once leave none active.

use crate::common::*;
use serde_json::Value;
use std::time::Duration;

const TOKEN: &str = "t0ken-for-silences";

fn listed(d: &Daemon) -> Vec<String> {
    let (_, body) = d.get("/api/v1/silences");
    serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["silences"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter(|s| s["status"] != "expired")
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn concurrent_creates_and_deletes_are_all_kept() {
    if !require_prometheus() {
        return;
    }
    let prom = start_prometheus(&short_live_history());
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &fast_config(&prom.url));
    let data = dir.path().join("data");
    let env = [("SLOWBURN_API_TOKEN", TOKEN)];
    let mut d = Daemon::start(&cfg, &data, &env);
    d.wait_ready(Duration::from_secs(60));
    let url = format!("{}/api/v1/silences", d.url);
    let bearer = format!("Bearer {TOKEN}");
    let ends = slowburn::time::rfc3339(now_secs() + 3600);
    let created: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..200)
            .map(|i| {
                let (url, bearer, ends) = (&url, &bearer, &ends);
                s.spawn(move || {
                    let body = format!(
                        r#"{{"slo": "svc15/availability", "ends_at": "{ends}", "comment": "load {i}", "created_by": "test"}}"#
                    );
                    let (code, resp) =
                        http::request("POST", url, &[("Authorization", bearer)], &body).expect("answer");
                    assert_eq!(code, 201, "{resp}");
                    serde_json::from_str::<Value>(&resp).expect("JSON")["id"]
                        .as_str()
                        .expect("id")
                        .to_string()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut ids = listed(&d);
    ids.sort();
    let mut want = created.clone();
    want.sort();
    want.dedup();
    assert_eq!(want.len(), 200, "distinct ids");
    assert_eq!(ids, want, "every created silence is listed");
    // And stored: a restart lists the same ones.
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(15)), Some(0));
    let mut d = Daemon::start(&cfg, &data, &env);
    d.wait_ready(Duration::from_secs(60));
    let mut again = listed(&d);
    again.sort();
    assert_eq!(again, want, "all 200 after a restart");
    let url = format!("{}/api/v1/silences", d.url);
    std::thread::scope(|s| {
        for id in &created {
            let (url, bearer) = (&url, &bearer);
            s.spawn(move || {
                let (code, resp) = http::request(
                    "DELETE",
                    &format!("{url}/{id}"),
                    &[("Authorization", bearer)],
                    "",
                )
                .expect("answer");
                assert_eq!(code, 204, "{resp}");
            });
        }
    });
    assert!(
        listed(&d).is_empty(),
        "no deleted silence stays active: {:?}",
        listed(&d)
    );
}
