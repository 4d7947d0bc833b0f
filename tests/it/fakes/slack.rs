//! A FAKE Slack incoming webhook (no Slack is reachable here), as strict as the real one per
//! protocols.md section 6: a JSON body with a non-empty `text`; at most 50 blocks of known types;
//! a `header` of plain_text ≤ 150 characters; a `section`'s text ≤ 3000 and at most 10 `fields` of
//! ≤ 2000 each; a `context` of 1-10 elements; `block_id`s ≤ 255 characters and unique in the
//! message. Errors are Slack's plain-text codes with 400. It limits by itself like Slack: about one
//! message a second per webhook (a burst of 2), then 429 with `Retry-After: 1`.

// Several test areas use parts of it; not every helper has a caller in every build.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Messages a webhook takes at once before the 1/s pace applies.
pub const BURST: f64 = 2.0;

/// A token bucket per webhook path: one message a second, a burst of [`BURST`].
#[derive(Debug, Default)]
pub struct Limiter {
    buckets: HashMap<String, (f64, Instant)>,
}

impl Limiter {
    /// `Ok` when a message to `hook` fits now; `Err(seconds)` to put in `Retry-After`.
    pub fn admit(&mut self, hook: &str, now: Instant) -> Result<(), u64> {
        let (tokens, at) = self.buckets.entry(hook.to_string()).or_insert((BURST, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64()).min(BURST);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(1.0 - *tokens).as_secs().max(1))
        }
    }
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

fn text_object(t: &Value) -> Result<(), &'static str> {
    match t["type"].as_str() {
        Some("mrkdwn") | Some("plain_text") if t["text"].is_string() => Ok(()),
        _ => Err("invalid_blocks"),
    }
}

/// What an incoming webhook checks of one message; `Err` is Slack's error code.
pub fn check(content_type: Option<&str>, body: &[u8]) -> Result<Value, &'static str> {
    let v: Value = serde_json::from_slice(body).map_err(|_| "invalid_payload")?;
    if !content_type.is_some_and(|c| c.starts_with("application/json")) {
        return Err("invalid_payload");
    }
    if chars(&v["text"]) == 0 {
        return Err("no_text");
    }
    let Some(blocks) = v.get("blocks") else {
        return Ok(v);
    };
    let blocks = blocks.as_array().ok_or("invalid_blocks_format")?;
    if blocks.len() > 50 {
        return Err("invalid_blocks");
    }
    let mut ids = HashSet::new();
    for b in blocks {
        if let Some(id) = b.get("block_id") {
            let id = id.as_str().ok_or("invalid_blocks")?;
            if id.is_empty() || id.chars().count() > 255 || !ids.insert(id.to_string()) {
                return Err("invalid_blocks");
            }
        }
        match b["type"].as_str() {
            Some("header") => {
                if b["text"]["type"] != "plain_text" || chars(&b["text"]["text"]) > 150 {
                    return Err("invalid_blocks");
                }
            }
            Some("section") => {
                let (text, fields) = (b.get("text"), b.get("fields"));
                if text.is_none() && fields.is_none() {
                    return Err("invalid_blocks");
                }
                if let Some(t) = text {
                    text_object(t)?;
                    if chars(&t["text"]) > 3000 {
                        return Err("invalid_blocks");
                    }
                }
                if let Some(f) = fields {
                    let f = f.as_array().ok_or("invalid_blocks")?;
                    if f.is_empty() || f.len() > 10 {
                        return Err("invalid_blocks");
                    }
                    for field in f {
                        text_object(field)?;
                        if chars(&field["text"]) > 2000 {
                            return Err("invalid_blocks");
                        }
                    }
                }
            }
            Some("context") => {
                let e = b["elements"].as_array().ok_or("invalid_blocks")?;
                if e.is_empty() || e.len() > 10 {
                    return Err("invalid_blocks");
                }
                for el in e {
                    if el["type"] != "image" {
                        text_object(el)?;
                    }
                }
            }
            Some("divider") => {}
            _ => return Err("invalid_blocks"),
        }
    }
    Ok(v)
}
