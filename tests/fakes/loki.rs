//! A FAKE Loki (no Loki runs here), strict where Loki is strict, per protocols.md section 4:
//! `query_range`, `query`, `/ready` and the JSON form of `/loki/api/v1/push` (204 on success;
//! Loki's default validation: at least one stream label, nanosecond timestamps as strings,
//! nothing older than 168h or newer than 10 minutes ahead, lines up to 256 KiB, each refusal a
//! plain-text 400); timestamps read as Loki reads them (an integer is unix
//! nanoseconds, a float is seconds); the metric windows `(t − R, t]`; steps from the start up
//! to and including the end; the query frontend's move of start down and end up onto the step
//! grid from the epoch; steps without lines left out and no series at all when nothing matched;
//! the 11,000-point and 721h limits and the 500-series limit as Loki's plain-text 400s; the
//! tenant header (401 `no org id`) when tenancy is on. Pipelines follow Loki's rules: a line a
//! parser could not read keeps going with `__error__` set, a numeric filter on a missing label
//! drops the line, and a metric query whose samples still carry `__error__` fails with Loki's
//! `pipeline error` 400. It understands only the LogQL slowburn emits and documents: an optional
//! `sum(…)` or `max(…)` around `count_over_time`, `max_over_time` or `quantile_over_time` (with
//! `| unwrap`, optionally `by (…)`), `=` and `!=` matchers, `|=` and `!=` line filters, `| json`,
//! and label filters on strings, numbers and durations. Anything else is a 400, so a query
//! outside that shape fails loudly.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

const NS: i64 = 1_000_000_000;
const MAX_POINTS: i64 = 11_000;
const MAX_QUERY_LENGTH_NS: i64 = 721 * 3600 * NS;
const MAX_SERIES: usize = 500;

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
    /// Answer every push with a 503 while set (an ingester starting or stopping).
    pub push_down: AtomicBool,
    /// Query requests received.
    pub requests: AtomicU64,
    /// Response body bytes sent.
    pub bytes: AtomicU64,
    /// The `(start, end, step)` (ns) of every range request, as received.
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
    #[allow(dead_code)] // each test binary compiles the fake; only compose_loop reads it back
    pub fn lines(&self) -> Vec<Line> {
        self.lines.read().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Loki's defaults for what an ingester takes.
const REJECT_OLD_NS: i64 = 168 * 3600 * NS;
const CREATION_GRACE_NS: i64 = 600 * NS;
const MAX_LINE_BYTES: usize = 256 * 1024;

/// `POST /loki/api/v1/push` with `Content-Type: application/json`: `{"streams": [{"stream":
/// {labels}, "values": [["<ns>", "<line>"(, {metadata})?], …]}]}`. A body that is not JSON is read
/// by Loki as snappy protobuf and fails; any refused entry fails the whole request.
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
    let Some(streams) = req.get("streams").and_then(|s| s.as_array()) else {
        return text(StatusCode::BAD_REQUEST, "loghttp: no streams\n");
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let mut taken = Vec::new();
    for s in streams {
        let labels: BTreeMap<String, String> = match s.get("stream").and_then(|l| l.as_object()) {
            Some(m) => m
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect(),
            None => BTreeMap::new(),
        };
        if labels.is_empty() {
            return text(
                StatusCode::BAD_REQUEST,
                "error at least one label pair is required per stream\n",
            );
        }
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
                return text(StatusCode::BAD_REQUEST, format!("loghttp: bad entry {v}\n"));
            };
            if ts < now - REJECT_OLD_NS {
                return text(StatusCode::BAD_REQUEST, "entry has timestamp too old\n");
            }
            if ts > now + CREATION_GRACE_NS {
                return text(StatusCode::BAD_REQUEST, "entry has timestamp too new\n");
            }
            if line.len() > MAX_LINE_BYTES {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("Max entry size '{MAX_LINE_BYTES}' bytes exceeded\n"),
                );
            }
            taken.push(Line {
                ts,
                stream: labels.clone(),
                body: line.to_string(),
            });
        }
    }
    if let Ok(mut lines) = f.lines.write() {
        lines.extend(taken);
        lines.sort_by_key(|l| l.ts);
    }
    StatusCode::NO_CONTENT.into_response()
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
        if self.down.load(Ordering::Relaxed)
            || self
                .fail_next
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
        {
            return text(StatusCode::SERVICE_UNAVAILABLE, "fake: injected failure\n");
        }
        let Some(query) = q.get("query") else {
            return text(StatusCode::BAD_REQUEST, "query parameter is missing\n");
        };
        let parsed = match parse(query) {
            Ok(p) => p,
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("parse error : {e}\n")),
        };
        let steps: Vec<i64> = if range {
            let (Some(start), Some(end)) = (
                q.get("start").and_then(|s| timestamp(s)),
                q.get("end").and_then(|s| timestamp(s)),
            ) else {
                return text(StatusCode::BAD_REQUEST, "invalid start or end\n");
            };
            let Some(step) = q.get("step").and_then(|s| duration(s)) else {
                return text(StatusCode::BAD_REQUEST, "invalid step\n");
            };
            if let Ok(mut r) = self.ranges.write() {
                r.push((start, end, step));
            }
            if step <= 0 {
                return text(
                    StatusCode::BAD_REQUEST,
                    "zero or negative query resolution step widths are not accepted. Try a positive integer\n",
                );
            }
            if end < start {
                return text(
                    StatusCode::BAD_REQUEST,
                    "end timestamp must not be before or equal to start time\n",
                );
            }
            if (end - start) / step > MAX_POINTS {
                return text(
                    StatusCode::BAD_REQUEST,
                    "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter\n",
                );
            }
            if end - start > MAX_QUERY_LENGTH_NS {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "the query time range exceeds the limit (query length: {}h, limit: 721h)\n",
                        (end - start) / (3600 * NS)
                    ),
                );
            }
            // The query frontend's split moves the range onto the step grid from the epoch.
            let start = start.div_euclid(step) * step;
            let end = (end + step - 1).div_euclid(step) * step;
            (0..)
                .map(|k| start + k * step)
                .take_while(|t| *t <= end)
                .collect()
        } else {
            if parsed.range == 0 {
                return text(
                    StatusCode::BAD_REQUEST,
                    "log queries are not supported as an instant query type, please change your query to a range query type\n",
                );
            }
            match q.get("time").map(|s| timestamp(s)) {
                Some(Some(t)) => vec![t],
                _ => return text(StatusCode::BAD_REQUEST, "invalid time\n"),
            }
        };
        if parsed.range == 0 {
            return text(
                StatusCode::BAD_REQUEST,
                "fake: log (stream) queries are not served; slowburn counts with count_over_time\n",
            );
        }
        let series = match self.evaluate(&parsed, &steps) {
            Ok(s) => s,
            Err(e) => return text(StatusCode::BAD_REQUEST, e),
        };
        self.body(json_result(range, series))
    }

    fn body(&self, v: serde_json::Value) -> Response {
        let s = v.to_string();
        self.bytes.fetch_add(s.len() as u64, Ordering::Relaxed);
        ([("content-type", "application/json")], s).into_response()
    }

    /// Per series (labels) the non-empty steps `(t, value)`.
    fn evaluate(&self, p: &Parsed, steps: &[i64]) -> Result<Vec<Series>, String> {
        let lines = self.lines.read().map_err(|_| "lock".to_string())?;
        let mut out: BTreeMap<BTreeMap<String, String>, Vec<(i64, f64)>> = BTreeMap::new();
        for &t in steps {
            // (t − R, t]: first line after t − R up to the last at or before t.
            let lo = lines.partition_point(|l| l.ts <= t - p.range);
            let hi = lines.partition_point(|l| l.ts <= t);
            let mut groups: BTreeMap<BTreeMap<String, String>, Vec<f64>> = BTreeMap::new();
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
            let mut points: BTreeMap<BTreeMap<String, String>, f64> = groups
                .into_iter()
                .map(|(k, vals)| (k, p.func.apply(vals)))
                .collect();
            if let Some(agg) = p.outer
                && !points.is_empty()
            {
                let vals = points.values().copied();
                let v = match agg {
                    Agg::Sum => vals.sum(),
                    Agg::Max => vals.fold(f64::NEG_INFINITY, f64::max),
                };
                points = BTreeMap::from([(BTreeMap::new(), v)]);
            }
            for (k, v) in points {
                out.entry(k).or_default().push((t, v));
            }
            if out.len() > MAX_SERIES {
                return Err(format!(
                    "maximum of series ({MAX_SERIES}) reached for a single query\n"
                ));
            }
        }
        Ok(out.into_iter().collect())
    }
}

/// Loki's `PipelineError` text, byte for byte.
fn pipeline_error(kind: &str, labels: &BTreeMap<String, String>) -> String {
    let series: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!(
        "pipeline error: '{kind}' for series: '{{{}}}'.\n\
         Use a label filter to intentionally skip this error. (e.g | __error__!=\"{kind}\").\n\
         To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n\
         The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n",
        series.join(", ")
    )
}

type Series = (BTreeMap<String, String>, Vec<(i64, f64)>);

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

/// A parsed `[sum|max](FUNC(SEL PIPE [R]) [by (…)])`, or a plain log query.
struct Parsed {
    outer: Option<Agg>,
    func: Func,
    /// `by (…)` on the range function.
    by: Option<Vec<String>>,
    matchers: Vec<(String, bool, String)>,
    stages: Vec<Stage>,
    /// Range in ns; 0 for a plain log query.
    range: i64,
}

#[derive(Clone, Copy)]
enum Agg {
    Sum,
    Max,
}

enum Func {
    Count,
    MaxOver,
    Quantile(f64),
}

impl Func {
    fn apply(&self, mut vals: Vec<f64>) -> f64 {
        match self {
            Func::Count => vals.len() as f64,
            Func::MaxOver => vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            // Prometheus's quantile, as Loki's quantile_over_time computes it.
            Func::Quantile(q) => {
                vals.sort_by(f64::total_cmp);
                let rank = q * (vals.len() - 1) as f64;
                let lo = rank.floor() as usize;
                let hi = (lo + 1).min(vals.len() - 1);
                let w = rank - lo as f64;
                vals[lo] * (1.0 - w) + vals[hi] * w
            }
        }
    }
}

enum Stage {
    Contains(bool, String),
    Json,
    Label(String, String, Value),
    /// `unwrap name` (a float) or `unwrap duration(name)` (a Go duration, in seconds).
    Unwrap(String, bool),
}

enum Value {
    Str(String),
    Num(f64),
    /// A duration filter (`<= 250ms`), in seconds: the label must be a Go duration.
    Dur(f64),
}

fn parse(q: &str) -> Result<Parsed, String> {
    let mut s = q.trim();
    let mut outer = None;
    for (prefix, agg) in [("sum(", Agg::Sum), ("max(", Agg::Max)] {
        if let Some(inner) = s.strip_prefix(prefix) {
            s = inner
                .strip_suffix(')')
                .ok_or("unbalanced parentheses")?
                .trim();
            outer = Some(agg);
            break;
        }
    }
    let mut by = None;
    if let Some(i) = s.rfind(") by (") {
        let labels = s[i + 6..].strip_suffix(')').ok_or("unclosed by")?;
        by = Some(
            labels
                .split(',')
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect(),
        );
        s = &s[..i + 1];
    }
    let (func, inner) = if let Some(i) = s.strip_prefix("count_over_time(") {
        (Func::Count, i)
    } else if let Some(i) = s.strip_prefix("max_over_time(") {
        (Func::MaxOver, i)
    } else if let Some(i) = s.strip_prefix("quantile_over_time(") {
        let (q, rest) = i.split_once(',').ok_or("quantile_over_time needs φ")?;
        let q: f64 = q.trim().parse().map_err(|_| "bad quantile")?;
        (Func::Quantile(q), rest.trim_start())
    } else if s.starts_with('{') && outer.is_none() && by.is_none() {
        (Func::Count, "")
    } else {
        return Err(format!("fake: unsupported query `{q}`"));
    };
    let (inner, range) = if inner.is_empty() {
        (s, 0)
    } else {
        let inner = inner.strip_suffix(')').ok_or("unbalanced parentheses")?;
        let open = inner
            .rfind('[')
            .ok_or("a range aggregation needs a range")?;
        let r = inner[open + 1..]
            .strip_suffix(']')
            .ok_or("unclosed range")?;
        (inner[..open].trim(), duration(r).ok_or("bad range")?)
    };
    let close = inner.find('}').ok_or("unclosed stream selector")?;
    let sel = inner[1..close].trim();
    let mut matchers = Vec::new();
    for m in sel.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let (k, neg, v) = if let Some((k, v)) = m.split_once("!=") {
            (k, true, v)
        } else if let Some((k, v)) = m.split_once('=') {
            if k.ends_with('!') || v.starts_with('~') {
                return Err("fake: regex matchers are not supported".into());
            }
            (k, false, v)
        } else {
            return Err(format!("bad matcher `{m}`"));
        };
        let v = v.trim().strip_prefix('"').and_then(|v| v.strip_suffix('"'));
        matchers.push((
            k.trim().to_string(),
            neg,
            v.ok_or("unquoted value")?.to_string(),
        ));
    }
    if matchers.is_empty() {
        return Err("queries require at least one regexp or equality matcher that does not have an empty-compatible value".into());
    }
    let mut stages = Vec::new();
    let rest = inner[close + 1..].trim();
    for raw in split_stages(rest)? {
        let st = raw.trim();
        if let Some(v) = st.strip_prefix("|=") {
            stages.push(Stage::Contains(true, unquote(v)?));
        } else if let Some(v) = st.strip_prefix("!=") {
            stages.push(Stage::Contains(false, unquote(v)?));
        } else if let Some(st) = st.strip_prefix('|') {
            let st = st.trim();
            if st == "json" {
                stages.push(Stage::Json);
                continue;
            }
            if let Some(name) = st.strip_prefix("unwrap ") {
                let name = name.trim();
                stages.push(match name.strip_prefix("duration(") {
                    Some(n) => Stage::Unwrap(n.trim_end_matches(')').to_string(), true),
                    None => Stage::Unwrap(name.to_string(), false),
                });
                continue;
            }
            let op = [">=", "<=", "!=", "==", "=", ">", "<"]
                .into_iter()
                .find_map(|op| st.find(op).map(|i| (i, op)))
                .ok_or_else(|| format!("fake: unsupported stage `{st}`"))?;
            let (name, value) = (st[..op.0].trim(), st[op.0 + op.1.len()..].trim());
            let value = if value.starts_with('"') {
                Value::Str(unquote(value)?)
            } else if let Ok(n) = value.parse::<f64>() {
                Value::Num(n)
            } else {
                Value::Dur(go_duration(value).ok_or_else(|| format!("bad value `{value}`"))?)
            };
            stages.push(Stage::Label(name.to_string(), op.1.to_string(), value));
        } else {
            return Err(format!("unexpected `{st}`"));
        }
    }
    if range == 0 && stages.iter().any(|s| matches!(s, Stage::Unwrap(..))) {
        return Err("unwrap needs a range aggregation".into());
    }
    let unwraps = stages.iter().any(|s| matches!(s, Stage::Unwrap(..)));
    if unwraps == matches!(func, Func::Count) {
        return Err(format!(
            "fake: {} in `{q}`",
            if unwraps {
                "count_over_time takes no unwrap"
            } else {
                "an unwrapped range aggregation needs `| unwrap`"
            }
        ));
    }
    Ok(Parsed {
        outer,
        func,
        by,
        matchers,
        stages,
        range,
    })
}

/// A Go duration (`182ms`, `1.5s`, `1m30s`) in seconds; a bare number is not one.
fn go_duration(s: &str) -> Option<f64> {
    let mut rest = s.trim();
    let mut total = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (num, tail) = rest.split_at(n);
        let u = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(u);
        let mult = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += num.parse::<f64>().ok()? * mult;
        rest = tail;
    }
    Some(total)
}

fn unquote(v: &str) -> Result<String, String> {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .map(|v| v.replace("\\\"", "\""))
        .ok_or_else(|| format!("expected a quoted string at `{v}`"))
}

/// Splits `| a | b |= "x"` into stages, keeping `|` inside strings.
fn split_stages(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_str = false;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' && (i == 0 || chars[i - 1] != '\\') {
            in_str = !in_str;
        }
        let starts = !in_str && (c == '|' || (c == '!' && chars.get(i + 1) == Some(&'=')));
        if starts && !cur.trim().is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
        i += 1;
    }
    if in_str {
        return Err("unclosed string".into());
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    Ok(out)
}

impl Parsed {
    /// The line's labels (stream plus extracted) and value when it passes the selector and
    /// pipeline, with Loki's rules: a line that failed a parser keeps going with `__error__`
    /// set and passes numeric filters; a numeric filter on a missing label drops the line; one
    /// on a value that is not a number keeps it with `__error__=LabelFilterErr`.
    fn sample(&self, l: &Line) -> Option<(BTreeMap<String, String>, f64)> {
        for (k, neg, v) in &self.matchers {
            let got = l.stream.get(k).map(String::as_str).unwrap_or("");
            if (got == v) == *neg {
                return None;
            }
        }
        let mut labels = l.stream.clone();
        let mut value = 1.0;
        for st in &self.stages {
            match st {
                Stage::Contains(yes, s) => {
                    if l.body.contains(s.as_str()) != *yes {
                        return None;
                    }
                }
                Stage::Json => match serde_json::from_str::<serde_json::Value>(&l.body) {
                    Ok(serde_json::Value::Object(m)) => {
                        for (k, v) in m {
                            let v = match v {
                                serde_json::Value::String(s) => s,
                                other => other.to_string(),
                            };
                            let k = if l.stream.contains_key(&k) {
                                format!("{k}_extracted")
                            } else {
                                k
                            };
                            labels.insert(k, v);
                        }
                    }
                    _ => {
                        labels.insert("__error__".into(), "JSONParserErr".into());
                    }
                },
                Stage::Unwrap(name, dur) => {
                    let got = labels.remove(name).unwrap_or_default();
                    let v = if *dur {
                        go_duration(&got)
                    } else {
                        got.parse::<f64>().ok()
                    };
                    match v {
                        Some(v) => value = v,
                        None => {
                            labels.insert("__error__".into(), "SampleExtractionErr".into());
                        }
                    }
                }
                Stage::Label(name, op, want) => {
                    let has_err = labels.get("__error__").is_some_and(|e| !e.is_empty());
                    let got = labels.get(name).cloned();
                    let keep = match want {
                        Value::Str(v) => {
                            let got = got.unwrap_or_default();
                            match op.as_str() {
                                "=" | "==" => &got == v,
                                "!=" => &got != v,
                                _ => return None,
                            }
                        }
                        Value::Num(_) | Value::Dur(_) if has_err => true,
                        Value::Num(v) | Value::Dur(v) => {
                            let got = got?;
                            let x = match want {
                                Value::Dur(_) => go_duration(&got),
                                _ => got.parse::<f64>().ok(),
                            };
                            let Some(x) = x else {
                                labels.insert("__error__".into(), "LabelFilterErr".into());
                                continue;
                            };
                            match op.as_str() {
                                ">=" => x >= *v,
                                "<=" => x <= *v,
                                ">" => x > *v,
                                "<" => x < *v,
                                "=" | "==" => x == *v,
                                _ => x != *v,
                            }
                        }
                    };
                    if !keep {
                        return None;
                    }
                }
            }
        }
        Some((labels, value))
    }
}
