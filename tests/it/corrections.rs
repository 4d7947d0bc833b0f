//! Corrections through the API (issue 27, item 3): a past range of svc15's 20-minute incident is
//! excluded at the next tick (its errors no longer count, `excluded_buckets` rises), stays
//! excluded across a restart, and counts again once deleted; bad requests are answered 400 with
//! the reason, and changes need the token (401 wrong, 403 none configured).

use crate::common::*;
use serde_json::Value;
use std::time::Duration;

const TOKEN: &str = "t0ken-for-corrections";
const SLO: &str = "/api/v1/slos/svc15/availability";

/// svc15's 1d period: its remaining budget and excluded buckets.
fn period(d: &Daemon) -> (f64, u64) {
    let (_, body) = d.get(SLO);
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    let p = &v["periods"]["1d"];
    (
        p["error_budget_remaining"].as_f64().unwrap_or(f64::NAN),
        p["excluded_buckets"].as_u64().unwrap_or(0),
    )
}

fn post(d: &Daemon, token: Option<&str>, body: &str) -> (u16, String) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| vec![("Authorization", b)])
        .unwrap_or_default();
    http::request(
        "POST",
        &format!("{}/api/v1/corrections", d.url),
        &headers,
        body,
    )
    .unwrap_or((0, String::new()))
}

fn delete(d: &Daemon, token: &str, id: &str) -> (u16, String) {
    let bearer = format!("Bearer {token}");
    http::request(
        "DELETE",
        &format!("{}/api/v1/corrections/{id}", d.url),
        &[("Authorization", bearer.as_str())],
        "",
    )
    .unwrap_or((0, String::new()))
}

fn body(slos: &str, start: i64, end: i64, reason: &str) -> String {
    format!(
        r#"{{"slos": [{slos}], "start": "{}", "end": "{}"{reason}, "author": "test"}}"#,
        slowburn::time::rfc3339(start),
        slowburn::time::rfc3339(end),
    )
}

fn listed(d: &Daemon) -> Vec<Value> {
    let (_, body) = d.get("/api/v1/corrections");
    serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["corrections"].as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn a_correction_excludes_a_past_incident_until_deleted() {
    if !require_prometheus() {
        return;
    }
    // short_live_history: svc15 at 5% errors over [h - 50 min, h - 30 min), h = history_end().
    let prom = start_prometheus(&short_live_history());
    let h = history_end();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &fast_config(&prom.url));
    let data = dir.path().join("data");
    let env = [("SLOWBURN_API_TOKEN", TOKEN)];
    let mut d = Daemon::start(&cfg, &data, &env);
    d.wait_ready(Duration::from_secs(60));
    let (before, excluded) = period(&d);
    assert!(before.is_finite(), "{}", d.get(SLO).1);
    assert_eq!(excluded, 0, "nothing excluded before");
    // Ten minutes of margin on each side of the incident (history_end moves with the clock).
    let (start, end) = (h - 3600, h - 1200);
    let reason = r#", "reason": "load test sent errors on purpose""#;

    // Refusals first: each says why.
    let now = now_secs();
    for (b, why) in [
        (
            body(r#""svc15/availability""#, end, start, reason),
            "after `start`",
        ),
        (
            body(r#""svc15/availability""#, start, now + 3600, reason),
            "in the future",
        ),
        (
            body(r#""svc15/nope""#, start, end, reason),
            "no SLO `svc15/nope`",
        ),
        (
            body(r#""svc15/availability""#, start, end, ""),
            "`reason` is required",
        ),
        (
            body(r#""svc15/availability""#, now - 400 * 86400, end, reason),
            "older than the store keeps",
        ),
    ] {
        let (code, resp) = post(&d, Some(TOKEN), &b);
        assert_eq!(code, 400, "{b}: {resp}");
        assert!(resp.contains(why), "{b}: {resp}");
    }
    let good = body(r#""svc15/availability""#, start, end, reason);
    assert_eq!(post(&d, Some("wrong"), &good).0, 401);
    assert_eq!(post(&d, None, &good).0, 401);
    assert!(listed(&d).is_empty(), "a refused request stores nothing");

    let (code, resp) = post(&d, Some(TOKEN), &good);
    assert_eq!(code, 201, "{resp}");
    let id = serde_json::from_str::<Value>(&resp).unwrap_or_default()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!id.is_empty(), "{resp}");
    wait_until(
        "the correction applied at the next tick",
        Duration::from_secs(60),
        || period(&d).1 > 0,
    );
    let (after, excluded) = period(&d);
    // The incident spent about 0.7 of the day's budget (20 min at 5% against 0.1%).
    assert!(after > before + 0.3, "budget {before} → {after}");
    assert!(
        excluded >= 200,
        "40 min of 10 s buckets excluded: {excluded}"
    );
    let list = listed(&d);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["slos"][0], "svc15/availability");
    assert_eq!(list[0]["author"], "test");
    assert_eq!(list[0]["start"], slowburn::time::rfc3339(start).as_str());
    assert!(list[0]["created_at"].is_string());
    let (_, page) = d.get("/slos/svc15/availability");
    assert!(
        page.contains("load test sent errors on purpose"),
        "listed on the SLO's page"
    );
    let (_, other) = d.get("/slos/svc30/latency");
    assert!(
        !other.contains("load test sent errors"),
        "not on another SLO's page"
    );
    assert!(d.log_text().contains("correction created"), "audit line");
    assert!(
        page.contains("span-correction"),
        "the charts shade the corrected range"
    );

    // Exactly as maintenance does: a second daemon whose slo.yaml holds a maintenance window
    // over the same range shows the same 1d period at the same evaluation.
    let dir2 = tempfile::tempdir().expect("tempdir");
    let maint = format!(
        "{}maintenance:\n  - name: same-range\n    start: {}\n    end: {}\n    slos: [svc15/availability]\n",
        fast_config(&prom.url),
        slowburn::time::rfc3339(start),
        slowburn::time::rfc3339(end)
    );
    let cfg2 = write_config(dir2.path(), &maint);
    let mut twin = Daemon::start(&cfg2, &dir2.path().join("data"), &[]);
    twin.wait_ready(Duration::from_secs(60));
    let day = |d: &Daemon| {
        let v: Value = serde_json::from_str(&d.get(SLO).1).unwrap_or_default();
        (v["at"].clone(), v["periods"]["1d"].clone())
    };
    let mut same = None;
    for _ in 0..60 {
        let (a, b) = (day(&d), day(&twin));
        if a.0 == b.0 {
            same = Some((a.1, b.1));
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let (corrected, maintained) = same.expect("both daemons evaluated the same bucket");
    eprintln!("measured correction vs maintenance 1d: {corrected} / {maintained}");
    for field in [
        "good",
        "total",
        "excluded_buckets",
        "error_budget_remaining",
        "coverage",
    ] {
        assert_eq!(corrected[field], maintained[field], "{field}");
    }
    twin.signal("TERM");
    let _ = twin.wait_exit(Duration::from_secs(15));

    // The daemon's calendar report counts the correction's buckets as excluded, from its store.
    let month = slowburn::calendar::Calendar {
        unit: slowburn::calendar::Unit::Month,
        tz: chrono_tz::Tz::UTC,
    }
    .period_at(now_secs());
    let (code, json) = d.get(&format!("/reports/{}?format=json", month.label()));
    assert_eq!(code, 200, "{json}");
    let r: Value = serde_json::from_str(&json).unwrap_or_default();
    let c = r["slos"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == "svc15/availability"))
        .map(|s| s["calendar"].clone())
        .unwrap_or_default();
    // 10 s buckets of the correction inside the month so far.
    let inside = ((end.min(now_secs()) - start.max(month.from)).max(0) / 10) as u64;
    assert_eq!(c["excluded_buckets"].as_u64(), Some(inside), "{c}");
    assert_eq!(c["period"], month.label().as_str());
    let (code, html) = d.get(&format!("/reports/{}", month.label()));
    assert_eq!(code, 200);
    assert!(
        html.contains("<tr data-slo=\"svc15/availability\">"),
        "{html}"
    );
    assert_eq!(d.get("/reports/2026-13").0, 400);
    assert_eq!(d.get("/reports/9999-12").0, 400, "a period not begun");

    // A restart keeps it, applied; without a token nothing may change (403).
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(15)), Some(0));
    let mut d = Daemon::start(&cfg, &data, &[]);
    d.wait_ready(Duration::from_secs(60));
    let (again, excluded) = period(&d);
    assert!(
        excluded >= 200,
        "still excluded after a restart: {excluded}"
    );
    assert!(
        again > before + 0.3,
        "budget after a restart {before} → {again}"
    );
    assert_eq!(listed(&d).len(), 1);
    assert_eq!(post(&d, Some(TOKEN), &good).0, 403);
    assert_eq!(delete(&d, TOKEN, &id).0, 403);

    // Deleted: the incident counts again, as before.
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(15)), Some(0));
    let mut d = Daemon::start(&cfg, &data, &env);
    d.wait_ready(Duration::from_secs(60));
    assert_eq!(delete(&d, TOKEN, "no-such-id").0, 404);
    let (code, resp) = delete(&d, TOKEN, &id);
    assert_eq!(code, 204, "{resp}");
    wait_until(
        "the correction removed at the next tick",
        Duration::from_secs(60),
        || period(&d).1 == 0,
    );
    let (back, _) = period(&d);
    assert!(
        (back - before).abs() < 0.05,
        "budget back to {before}: {back}"
    );
    assert!(listed(&d).is_empty());
    assert!(d.log_text().contains("correction deleted"), "audit line");
}
