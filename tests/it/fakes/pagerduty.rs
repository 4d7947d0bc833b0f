//! A FAKE PagerDuty Events API v2 (no PagerDuty is reachable here), as strict as the real one per
//! protocols.md section 7: `Content-Type: application/json`, a 32-character `routing_key`, a known
//! `event_action`, `dedup_key` ≤ 255 (required for acknowledge and resolve), a trigger's
//! `payload.summary` ≤ 1024 characters, `source` and a known `severity`, `links[].href` and
//! `images[].src` on https, bodies ≤ 512 KB. It limits by itself like PagerDuty: 120 events per
//! integration key in any 60 s, then 429 "Request Limit Exceeded" with **no** `Retry-After`
//! (PagerDuty documents none). Errors are PagerDuty's `{"status":"invalid event",...}` bodies.
//! The status of an oversized body is not documented; the fake answers 413.

// Several test areas use parts of it; not every helper has a caller in every build.
#![allow(dead_code)]

use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// PagerDuty's body limit.
pub const MAX_BODY: usize = 512 * 1024;
/// Events per integration key per [`WINDOW`].
pub const LIMIT: usize = 120;
/// PagerDuty's sliding window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// The real service's per-key limiter: a sliding window of accepted events.
#[derive(Debug, Default)]
pub struct Limiter {
    seen: HashMap<String, VecDeque<Instant>>,
}

impl Limiter {
    /// Whether one more event for `key` fits now (and records it when it does).
    pub fn admit(&mut self, key: &str, now: Instant) -> bool {
        let q = self.seen.entry(key.to_string()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            q.pop_front();
        }
        if q.len() >= LIMIT {
            return false;
        }
        q.push_back(now);
        true
    }
}

/// What the Events API checks of one request; `Err` is the status and PagerDuty's error text.
pub fn check(content_type: Option<&str>, body: &[u8]) -> Result<Value, (u16, String)> {
    if body.len() > MAX_BODY {
        return Err((413, format!("body of {} bytes exceeds 512 KB", body.len())));
    }
    let v: Value =
        serde_json::from_slice(body).map_err(|_| (400, "body is not JSON".to_string()))?;
    if !content_type.is_some_and(|c| c.starts_with("application/json")) {
        return Err((400, "Content-Type must be application/json".into()));
    }
    validate(&v).map_err(|why| (400, why))?;
    Ok(v)
}

fn validate(v: &Value) -> Result<(), String> {
    let key = v["routing_key"].as_str().ok_or("routing_key missing")?;
    if key.len() != 32 {
        return Err("routing_key must be a 32-character integration key".into());
    }
    let action = v["event_action"].as_str().ok_or("event_action missing")?;
    if !["trigger", "acknowledge", "resolve"].contains(&action) {
        return Err(format!("invalid event_action {action}"));
    }
    match v["dedup_key"].as_str() {
        Some(d) if d.len() > 255 => return Err("dedup_key longer than 255".into()),
        Some(_) => {}
        None if action != "trigger" => {
            return Err("dedup_key is required for acknowledge and resolve".into());
        }
        None => {}
    }
    if action == "trigger" {
        let p = &v["payload"];
        let summary = p["summary"].as_str().ok_or("payload.summary missing")?;
        if summary.chars().count() > 1024 {
            return Err("payload.summary longer than 1024".into());
        }
        p["source"].as_str().ok_or("payload.source missing")?;
        let sev = p["severity"].as_str().ok_or("payload.severity missing")?;
        if !["critical", "error", "warning", "info"].contains(&sev) {
            return Err(format!("invalid payload.severity {sev}"));
        }
    }
    for (list, field) in [("links", "href"), ("images", "src")] {
        if let Some(items) = v.get(list) {
            let items = items.as_array().ok_or(format!("{list} must be an array"))?;
            for item in items {
                let url = item[field]
                    .as_str()
                    .ok_or(format!("{list}[].{field} missing"))?;
                if !url.starts_with("https://") {
                    return Err(format!("{list}[].{field} must be an https URL: {url}"));
                }
            }
        }
    }
    Ok(())
}

/// PagerDuty's error body for a refused event.
pub fn invalid(why: &str) -> String {
    json!({"status": "invalid event", "message": "Event object is invalid", "errors": [why]})
        .to_string()
}

/// PagerDuty's answer to an accepted event.
pub fn accepted(dedup_key: &str) -> String {
    json!({"status": "success", "message": "Event processed", "dedup_key": dedup_key}).to_string()
}

/// The status code as axum's type.
pub fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
