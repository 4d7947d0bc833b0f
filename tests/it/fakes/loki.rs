//! A FAKE Loki (no Loki runs here) that answers as Loki 3.x does, per protocols.md section 4 and
//! the corrections of its section 9, read from Loki's code:
//! - `query_range` and `query`: timestamps read as Loki reads them (an integer is unix
//!   nanoseconds, a float is seconds); metric windows `(t − R, t]`; steps from the start up to
//!   and including the end, moved onto the step grid from the epoch as the query frontend does;
//!   steps without lines left out and no series at all when nothing matched; log (stream)
//!   queries over `[start, end)` with `limit` and `direction`; a metric query whose samples still
//!   carry `__error__` fails with Loki's `pipeline error` 400;
//! - Loki's limits with its texts: 11,000 points, the 721h query length, 500 series, 5,000
//!   entries; the tenant header (401 `no org id`) when tenancy is on;
//! - `max_query_lookback` ([`FakeLoki::max_query_lookback_secs`]): a range that ends before it
//!   answers an empty 200 and an older start is moved up to it, so older lines are never read;
//! - faults a test asks for: 503s (`fail_next`, `down`), the querier's 504 timeout
//!   (`timeout_next`) and the frontend's 429 `too many outstanding requests` (`busy_next`);
//! - the JSON form of `/loki/api/v1/push` with Loki's default validation (at least one stream
//!   label, nanosecond timestamps as strings, nothing older than 168h or newer than 10 minutes
//!   ahead, lines up to 256 KiB): the distributor keeps the valid entries and answers 400 listing
//!   the refused ones (204 when all were taken).
//!
//! The LogQL it understands, with Loki 3.x's pipeline rules, is in `loki_logql.rs`.

// Several test areas use parts of it; not every helper has a caller in every build.
#![allow(dead_code)]

#[path = "loki_logql.rs"]
mod logql;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use logql::Parsed;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

const NS: i64 = 1_000_000_000;
const MAX_POINTS: i64 = 11_000;
const MAX_QUERY_LENGTH_NS: i64 = 721 * 3600 * NS;
const MAX_SERIES: usize = 500;
const MAX_ENTRIES: usize = 5000;
/// The querier's answer to a query past `query_timeout` (`pkg/util/server/error.go`).
const DEADLINE_EXCEEDED: &str = "request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed";
/// The query frontend's answer when its queue for the tenant is full (`pkg/queue`).
const TOO_MANY_OUTSTANDING: &str = "too many outstanding requests";

/// Labels of a stream or a series.
type Labels = BTreeMap<String, String>;

/// One log line of one stream.
#[derive(Clone, Debug)]
pub struct Line {
    /// Unix nanoseconds.
    pub ts: i64,
    /// Stream labels.
    pub stream: BTreeMap<String, String>,
    /// The line.
    pub body: String,
}

/// What the fake holds and counts.
#[derive(Default)]
pub struct FakeLoki {
    lines: RwLock<Vec<Line>>,
    /// When set, requests need `X-Scope-OrgID` with this tenant.
    pub tenant: Option<String>,
    /// Answer this many next query requests with a 503.
    pub fail_next: AtomicU32,
    /// Answer every query request with a 503 while set.
    pub down: AtomicBool,
    /// Answer this many next query requests with Loki's 504 (a query past `query_timeout`).
    pub timeout_next: AtomicU32,
    /// Answer this many next query requests with the frontend's 429 (its queue is full).
    pub busy_next: AtomicU32,
    /// Loki's `max_query_lookback` in seconds; 0, Loki's default, is off. Loki says nothing when
    /// data is out of reach: a range that ends before now − lookback answers an empty 200 and
    /// an older start is moved up to it (`pkg/querier/queryrange/limits.go`), so a client sees
    /// "no lines", never an error.
    pub max_query_lookback_secs: AtomicI64,
    /// Answer every push with a 503 while set (an ingester starting or stopping).
    pub push_down: AtomicBool,
    /// Query requests received.
    pub requests: AtomicU64,
    /// Response body bytes sent.
    pub bytes: AtomicU64,
    /// The `(start, end, step)` (ns) of every metric range request, as received.
    pub ranges: RwLock<Vec<(i64, i64, i64)>>,
}

impl FakeLoki {
    /// A fake holding `lines` (any order).
    pub fn new(mut lines: Vec<Line>, tenant: Option<&str>) -> Arc<Self> {
        lines.sort_by_key(|l| l.ts);
        Arc::new(FakeLoki {
            lines: RwLock::new(lines),
            tenant: tenant.map(str::to_string),
            ..FakeLoki::default()
        })
    }

    /// The HTTP routes.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/ready", get(|| async { "ready\n" }))
            .route("/loki/api/v1/query_range", get(range_get).post(range_post))
            .route("/loki/api/v1/query", get(instant_get).post(instant_post))
            .route("/loki/api/v1/push", axum::routing::post(push))
            .with_state(Arc::clone(self))
    }

    /// Lines received through the push API (and given to [`FakeLoki::new`]).
    pub fn lines(&self) -> Vec<Line> {
        self.lines.read().map(|l| l.clone()).unwrap_or_default()
    }

    /// The oldest timestamp a query may read (ns): now − `max_query_lookback`, or no bound.
    fn oldest(&self) -> i64 {
        match self.max_query_lookback_secs.load(Ordering::Relaxed) {
            s if s <= 0 => i64::MIN,
            s => now_ns() - s * NS,
        }
    }
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Takes one from a fault counter; whether there was one.
fn take(n: &AtomicU32) -> bool {
    n.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

/// Loki's defaults for what an ingester takes.
const REJECT_OLD_NS: i64 = 168 * 3600 * NS;
const CREATION_GRACE_NS: i64 = 600 * NS;
const MAX_LINE_BYTES: usize = 256 * 1024;
const MISSING_LABELS: &str = "error at least one label pair is required per stream";

/// `POST /loki/api/v1/push` with `Content-Type: application/json`: `{"streams": [{"stream":
/// {labels}, "values": [["<ns>", "<line>"(, {metadata})?], …]}]}`. A body that is not JSON is read
/// by Loki as snappy protobuf and fails; an entry of the wrong shape makes the body unreadable.
/// Otherwise, as Loki's distributor does, the valid entries are kept and the refused ones are
/// listed in a 400 (`pkg/distributor/distributor.go`, `pkg/validation/validate.go`).
async fn push(State(f): State<Arc<FakeLoki>>, h: HeaderMap, body: Bytes) -> Response {
    if let Some(t) = &f.tenant
        && h.get("x-scope-orgid").and_then(|v| v.to_str().ok()) != Some(t.as_str())
    {
        return text(StatusCode::UNAUTHORIZED, "no org id\n");
    }
    if f.push_down.load(Ordering::Relaxed) {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "Ingester is shutting down\n",
        );
    }
    let json = h
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return text(StatusCode::BAD_REQUEST, "snappy: corrupt input\n");
    }
    let Ok(req) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return text(
            StatusCode::BAD_REQUEST,
            "loghttp: cannot parse push request\n",
        );
    };
    let streams = match push_streams(&req) {
        Ok(s) => s,
        Err(e) => return text(StatusCode::BAD_REQUEST, e),
    };
    if streams.is_empty() {
        return text(
            StatusCode::UNPROCESSABLE_ENTITY,
            "error at least one valid stream is required for ingestion\n",
        );
    }
    let now = now_ns();
    let mut taken = Vec::new();
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    for (labels, entries) in streams {
        if entries.is_empty() {
            continue;
        }
        if labels.is_empty() {
            *refused.entry(MISSING_LABELS.to_string()).or_default() += 1;
            continue;
        }
        let shown = prom_labels(&labels);
        for (ts, line) in entries {
            let problem = if ts < now - REJECT_OLD_NS {
                Some(format!(
                    "entry for stream '{shown}' has timestamp too old: {}, oldest acceptable timestamp is: {}",
                    rfc3339(ts),
                    rfc3339(now - REJECT_OLD_NS)
                ))
            } else if ts > now + CREATION_GRACE_NS {
                Some(format!(
                    "entry for stream '{shown}' has timestamp too new: {}",
                    rfc3339(ts)
                ))
            } else if line.len() > MAX_LINE_BYTES {
                Some(format!(
                    "max entry size '{MAX_LINE_BYTES}' bytes exceeded for stream '{shown}' while adding an entry with length '{}' bytes",
                    line.len()
                ))
            } else {
                None
            };
            match problem {
                Some(p) => *refused.entry(p).or_default() += 1,
                None => taken.push(Line {
                    ts,
                    stream: labels.clone(),
                    body: line,
                }),
            }
        }
    }
    if let Ok(mut lines) = f.lines.write() {
        lines.extend(taken);
        lines.sort_by_key(|l| l.ts);
    }
    if refused.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    text(StatusCode::BAD_REQUEST, format!("{}\n", grouped(&refused)))
}

/// Each stream's labels and `(ns, line)` entries; an entry that is not `["<ns>", "<line>"]`
/// (with optional metadata) is Loki's decoding error for the whole body.
/// A pushed stream: its labels and its entries (nanosecond time, line).
type Pushed = (Labels, Vec<(i64, String)>);

fn push_streams(req: &serde_json::Value) -> Result<Vec<Pushed>, String> {
    let mut out = Vec::new();
    for s in req
        .get("streams")
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
    {
        let labels: Labels = s
            .get("stream")
            .and_then(|l| l.as_object())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let mut entries = Vec::new();
        for v in s
            .get("values")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            let pair = v.as_array().filter(|a| a.len() == 2 || a.len() == 3);
            let ts = pair
                .and_then(|a| a[0].as_str())
                .and_then(|t| t.parse::<i64>().ok());
            let line = pair.and_then(|a| a[1].as_str());
            let (Some(ts), Some(line)) = (ts, line) else {
                return Err(format!("loghttp: bad entry {v}\n"));
            };
            entries.push((ts, line.to_string()));
        }
        out.push((labels, entries));
    }
    Ok(out)
}

/// Loki's `GroupedErrors` text: each distinct message once, joined by `; `, with `N errors
/// like: ` before it when there is more than one message or more than one of it.
fn grouped(errors: &BTreeMap<String, usize>) -> String {
    let several = errors.len() > 1;
    errors
        .iter()
        .map(|(msg, n)| {
            if several || *n > 1 {
                format!("{n} errors like: {msg}")
            } else {
                msg.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Labels as Prometheus prints them: `{app="api", env="prod"}`.
fn prom_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// Go's `time.RFC3339` of a UTC instant, as Loki's push errors print timestamps.
fn rfc3339(ns: i64) -> String {
    let t = chrono::DateTime::from_timestamp(ns.div_euclid(NS), ns.rem_euclid(NS) as u32);
    t.map_or_else(
        || ns.to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        [("content-type", "text/plain; charset=utf-8")],
        msg.into(),
    )
        .into_response()
}

fn form(body: &Bytes) -> HashMap<String, String> {
    url_decode_pairs(&String::from_utf8_lossy(body))
}

fn url_decode_pairs(s: &str) -> HashMap<String, String> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(h, 16).unwrap_or(b'?'));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn range_get(
    State(f): State<Arc<FakeLoki>>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    f.answer(&h, &q, true)
}
async fn range_post(State(f): State<Arc<FakeLoki>>, h: HeaderMap, body: Bytes) -> Response {
    f.answer(&h, &form(&body), true)
}
async fn instant_get(
    State(f): State<Arc<FakeLoki>>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    f.answer(&h, &q, false)
}
async fn instant_post(State(f): State<Arc<FakeLoki>>, h: HeaderMap, body: Bytes) -> Response {
    f.answer(&h, &form(&body), false)
}

/// Loki's timestamp reading: integer = ns, float = seconds, else RFC 3339.
fn timestamp(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    if let Ok(f) = s.parse::<f64>() {
        return Some((f * NS as f64) as i64);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
}

/// A duration (`60s`, `1m`, `250ms`) or float seconds, in ns.
fn duration(s: &str) -> Option<i64> {
    if let Ok(f) = s.parse::<f64>() {
        return Some((f * NS as f64) as i64);
    }
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok()?;
    let mult = match unit {
        "ms" => 1_000_000.0,
        "s" => NS as f64,
        "m" => 60.0 * NS as f64,
        "h" => 3600.0 * NS as f64,
        "d" => 86400.0 * NS as f64,
        _ => return None,
    };
    Some((n * mult) as i64)
}

/// Go's `time.Duration` text of a whole number of seconds of an hour or more (`960h0m0s`).
fn go_hours(ns: i64) -> String {
    let s = ns / NS;
    format!("{}h{}m{}s", s / 3600, s / 60 % 60, s % 60)
}

/// A refusal: its status and plain-text body.
type Refusal = (StatusCode, String);

/// A query's JSON answer, or its refusal.
type Answer = Result<serde_json::Value, Refusal>;

fn bad(msg: &str) -> Refusal {
    (StatusCode::BAD_REQUEST, msg.to_string())
}

impl FakeLoki {
    fn answer(&self, h: &HeaderMap, q: &HashMap<String, String>, range: bool) -> Response {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(t) = &self.tenant {
            match h.get("x-scope-orgid").and_then(|v| v.to_str().ok()) {
                None => return text(StatusCode::UNAUTHORIZED, "no org id\n"),
                Some(got) if got != t => return self.body(json_result(range, Vec::new())),
                Some(_) => {}
            }
        }
        if self.down.load(Ordering::Relaxed) || take(&self.fail_next) {
            return text(StatusCode::SERVICE_UNAVAILABLE, "fake: injected failure\n");
        }
        if take(&self.timeout_next) {
            return text(StatusCode::GATEWAY_TIMEOUT, DEADLINE_EXCEEDED);
        }
        if take(&self.busy_next) {
            return text(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_OUTSTANDING);
        }
        let Some(query) = q.get("query") else {
            return text(StatusCode::BAD_REQUEST, "query parameter is missing\n");
        };
        let parsed = match logql::parse(query) {
            Ok(p) => p,
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("parse error : {e}\n")),
        };
        let answer = if range {
            self.range(&parsed, q)
        } else {
            self.instant(&parsed, q)
        };
        match answer {
            Ok(v) => self.body(v),
            Err((status, msg)) => text(status, msg),
        }
    }

    fn body(&self, v: serde_json::Value) -> Response {
        let s = v.to_string();
        self.bytes.fetch_add(s.len() as u64, Ordering::Relaxed);
        ([("content-type", "application/json")], s).into_response()
    }

    /// `query_range`: a metric query's matrix, or a log query's streams.
    fn range(&self, p: &Parsed, q: &HashMap<String, String>) -> Answer {
        let (Some(start), Some(end)) = (
            q.get("start").and_then(|s| timestamp(s)),
            q.get("end").and_then(|s| timestamp(s)),
        ) else {
            return Err(bad("invalid start or end\n"));
        };
        if p.range == 0 {
            return self.streams(p, q, start, end);
        }
        let Some(step) = q.get("step").and_then(|s| duration(s)) else {
            return Err(bad("invalid step\n"));
        };
        if let Ok(mut r) = self.ranges.write() {
            r.push((start, end, step));
        }
        if step <= 0 {
            return Err(bad(
                "zero or negative query resolution step widths are not accepted. Try a positive integer\n",
            ));
        }
        if end < start {
            return Err(bad(
                "end timestamp must not be before or equal to start time\n",
            ));
        }
        if (end - start) / step > MAX_POINTS {
            return Err(bad(
                "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter\n",
            ));
        }
        // The frontend's limits: a range wholly out of reach is an empty answer, an older
        // start moves up to the lookback, and only then is the query length checked.
        let oldest = self.oldest();
        if end < oldest {
            return Ok(json_result(true, Vec::new()));
        }
        let start = start.max(oldest);
        if end - start > MAX_QUERY_LENGTH_NS {
            return Err(bad(&format!(
                "the query time range exceeds the limit (query length: {}, limit: 30d1h)\n",
                go_hours(end - start)
            )));
        }
        // The query frontend's split moves the range onto the step grid from the epoch.
        let start = start.div_euclid(step) * step;
        let end = (end + step - 1).div_euclid(step) * step;
        let steps: Vec<i64> = (0..)
            .map(|k| start + k * step)
            .take_while(|t| *t <= end)
            .collect();
        let series = self.evaluate(p, &steps, oldest).map_err(|e| bad(&e))?;
        Ok(json_result(true, series))
    }

    /// `query`: one window `(t − R, t]` of a metric query.
    fn instant(&self, p: &Parsed, q: &HashMap<String, String>) -> Answer {
        if p.range == 0 {
            return Err(bad(
                "log queries are not supported as an instant query type, please change your query to a range query type\n",
            ));
        }
        let Some(t) = q.get("time").and_then(|s| timestamp(s)) else {
            return Err(bad("invalid time\n"));
        };
        let oldest = self.oldest();
        if t < oldest {
            return Ok(json_result(false, Vec::new()));
        }
        let series = self.evaluate(p, &[t], oldest).map_err(|e| bad(&e))?;
        Ok(json_result(false, series))
    }

    /// A log query: the lines in `[start, end)`, newest first unless `direction=forward`, at
    /// most `limit` of them (default 100), grouped by their labels.
    fn streams(&self, p: &Parsed, q: &HashMap<String, String>, start: i64, end: i64) -> Answer {
        let limit = match q.get("limit") {
            None => 100,
            Some(l) => l.parse::<usize>().map_err(|_| bad("invalid limit\n"))?,
        };
        if limit > MAX_ENTRIES {
            return Err(bad(&format!(
                "max entries limit per query exceeded, limit > max_entries_limit_per_query ({limit} > {MAX_ENTRIES})\n"
            )));
        }
        if end < start {
            return Err(bad(
                "end timestamp must not be before or equal to start time\n",
            ));
        }
        let forward = q
            .get("direction")
            .is_some_and(|d| d.eq_ignore_ascii_case("forward"));
        let from = start.max(self.oldest());
        let lines = self.lines.read().map_err(|_| bad("lock\n"))?;
        let lo = lines.partition_point(|l| l.ts < from);
        let hi = lines.partition_point(|l| l.ts < end).max(lo);
        let mut picked: Vec<(&Line, Labels)> = lines[lo..hi]
            .iter()
            .filter_map(|l| p.sample(l).map(|(labels, _)| (l, labels)))
            .collect();
        if !forward {
            picked.reverse();
        }
        picked.truncate(limit);
        let mut streams: BTreeMap<Labels, Vec<serde_json::Value>> = BTreeMap::new();
        for (l, labels) in picked {
            streams
                .entry(labels)
                .or_default()
                .push(serde_json::json!([l.ts.to_string(), l.body]));
        }
        let mut result = Vec::new();
        for (stream, values) in streams {
            result.push(serde_json::json!({"stream": stream, "values": values}));
        }
        Ok(serde_json::json!({
            "status": "success",
            "data": {
                "resultType": "streams",
                "result": result,
                "stats": {"summary": {"totalLinesProcessed": 0}},
            }
        }))
    }

    /// Per series (labels) the non-empty steps `(t, value)`; lines before `oldest` are not read.
    fn evaluate(&self, p: &Parsed, steps: &[i64], oldest: i64) -> Result<Vec<Series>, String> {
        let lines = self.lines.read().map_err(|_| "lock".to_string())?;
        let visible = lines.partition_point(|l| l.ts < oldest);
        let mut out: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
        for &t in steps {
            // (t − R, t]: first line after t − R up to the last at or before t.
            let hi = lines.partition_point(|l| l.ts <= t);
            let lo = lines
                .partition_point(|l| l.ts <= t - p.range)
                .max(visible)
                .min(hi);
            let mut groups: BTreeMap<Labels, Vec<f64>> = BTreeMap::new();
            for l in &lines[lo..hi] {
                let Some((labels, value)) = p.sample(l) else {
                    continue;
                };
                // Loki fails a metric query when a sample still carries an error label.
                if let Some(kind) = labels.get("__error__").filter(|e| !e.is_empty()) {
                    return Err(pipeline_error(kind, &labels));
                }
                let key = match &p.by {
                    Some(by) => labels.into_iter().filter(|(k, _)| by.contains(k)).collect(),
                    None => labels,
                };
                groups.entry(key).or_default().push(value);
            }
            let mut points: BTreeMap<Labels, f64> = groups
                .into_iter()
                .map(|(k, vals)| (k, p.func.apply(vals)))
                .collect();
            if let Some((agg, by)) = &p.outer {
                let mut grouped: BTreeMap<Labels, f64> = BTreeMap::new();
                for (k, v) in points {
                    let key: Labels = k
                        .into_iter()
                        .filter(|(name, _)| by.contains(name))
                        .collect();
                    grouped
                        .entry(key)
                        .and_modify(|acc| *acc = agg.fold(*acc, v))
                        .or_insert(v);
                }
                points = grouped;
            }
            for (k, v) in points {
                out.entry(k).or_default().push((t, v));
            }
            if out.len() > MAX_SERIES {
                return Err(format!(
                    "maximum number of series ({MAX_SERIES}) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk()\n"
                ));
            }
        }
        Ok(out.into_iter().collect())
    }
}

/// Loki's `PipelineError` text, byte for byte.
fn pipeline_error(kind: &str, labels: &Labels) -> String {
    format!(
        "pipeline error: '{kind}' for series: '{}'.\n\
         Use a label filter to intentionally skip this error. (e.g | __error__!=\"{kind}\").\n\
         To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n\
         The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n",
        prom_labels(labels)
    )
}

type Series = (Labels, Vec<(i64, f64)>);

fn json_result(range: bool, series: Vec<Series>) -> serde_json::Value {
    let secs = |t: i64| serde_json::json!(t as f64 / NS as f64);
    let result: Vec<serde_json::Value> = series
        .into_iter()
        .map(|(labels, pts)| {
            if range {
                let values: Vec<serde_json::Value> = pts
                    .iter()
                    .map(|(t, v)| serde_json::json!([secs(*t), v.to_string()]))
                    .collect();
                serde_json::json!({"metric": labels, "values": values})
            } else {
                let (t, v) = pts[0];
                serde_json::json!({"metric": labels, "value": [secs(t), v.to_string()]})
            }
        })
        .collect();
    serde_json::json!({
        "status": "success",
        "data": {
            "resultType": if range { "matrix" } else { "vector" },
            "result": result,
            "stats": {"summary": {"totalLinesProcessed": 0}},
        }
    })
}
