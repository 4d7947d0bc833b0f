//! FAKE Mimir and FAKE Thanos Query fronts over a real Prometheus: every answer is Prometheus's
//! own, and the fakes add only what those engines do to a request before it reaches their
//! queriers (scale-out.md §4, read from their code):
//! - FAKE Mimir (Cortex's `user.ExtractOrgID`, Mimir's API routes): the Prometheus API lives under
//!   `/prometheus` (elsewhere 404 `404 page not found`); a request without `X-Scope-OrgID` is
//!   refused with 401 `no org id` (text/plain), never reaching a querier; `buildinfo` (no tenant
//!   needed, `pkg/util/version/info_handler.go`) answers with `application` and `features`; a
//!   range longer than the tenant's `max_total_query_length`, when set, is refused before any
//!   querier with 400 `bad_data` and Mimir's text (`err-mimir-max-total-query-length`).
//! - FAKE Thanos Query: without `max_source_resolution=0s` it may answer from downsampled blocks
//!   (a querier with auto-downsampling, or Pyrra's `5m` for long ranges), modelled as every
//!   other point dropped; it records `THANOS-TENANT` and `partial_response` (all its stores are
//!   up, so it adds no partial-data warning; `prometheus_answers` covers those); `buildinfo`
//!   has Prometheus's six keys with a Thanos `0.x` version (`pkg/api/api.go`).
//!
//! Both record each request's path, tenant and parameters.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// Which engine the front stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// FAKE Mimir.
    Mimir,
    /// FAKE Thanos Query, with one store down.
    Thanos,
}

/// One `query_range` request as the fake saw it.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// The tenant header's value (`X-Scope-OrgID` or `THANOS-TENANT`), if any.
    pub tenant: Option<String>,
    /// The form parameters.
    pub params: Vec<(String, String)>,
    /// The status the fake answered.
    pub status: u16,
    /// The request's path.
    pub path: String,
}

/// A running fake.
#[derive(Clone)]
pub struct Front {
    engine: Engine,
    upstream: String,
    client: reqwest::Client,
    /// FAKE Mimir's `max_total_query_length` in seconds, if any.
    max_length: Option<i64>,
    /// Every request.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Front {
    /// Starts the fake in front of the Prometheus at `upstream`; returns it and its base URL.
    pub fn start(engine: Engine, upstream: &str) -> (Front, String) {
        Front::limited(engine, upstream, None)
    }

    /// [`Front::start`] with a query-length limit of `max_length` seconds (FAKE Mimir).
    pub fn limited(engine: Engine, upstream: &str, max_length: Option<i64>) -> (Front, String) {
        let f = Front {
            engine,
            upstream: upstream.to_string(),
            client: reqwest::Client::new(),
            max_length,
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let app = axum::Router::new().fallback(handle).with_state(f.clone());
        let port = crate::common::serve(app);
        (f, format!("http://127.0.0.1:{port}"))
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

fn json(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Go's `time.Duration` text for whole seconds (`24h0m0s`), as Mimir prints limits.
fn go_duration(s: i64) -> String {
    format!("{}h{}m{}s", s / 3600, s % 3600 / 60, s % 60)
}

fn text(status: StatusCode, body: &str) -> Response {
    (
        status,
        [("content-type", "text/plain; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

async fn handle(State(f): State<Front>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut path = uri.path().to_string();
    // The form body and the query string, decoded by the URL parser reqwest re-exports.
    let query = format!(
        "{}&{}",
        uri.query().unwrap_or(""),
        String::from_utf8_lossy(&body)
    );
    let params: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let range = path.ends_with("/api/v1/query_range");
    let record = |tenant: Option<String>, status: u16| {
        f.seen.lock().expect("lock").push(Seen {
            tenant,
            params: params.clone(),
            status,
            path: path.clone(),
        });
    };
    let mut thin = false;
    let buildinfo = path.ends_with("/api/v1/status/buildinfo");
    match f.engine {
        Engine::Mimir if buildinfo => {
            record(header("x-scope-orgid"), 200);
            return json(
                StatusCode::OK,
                serde_json::json!({"status": "success", "data": {
                    "application": "Grafana Mimir", "version": "2.14.0", "revision": "fake",
                    "branch": "release-2.14", "goVersion": "go1.22.5",
                    "features": {"ruler_config_api": "true", "query_sharding": "true"}}}),
            );
        }
        Engine::Thanos if buildinfo => {
            record(header("thanos-tenant"), 200);
            return json(
                StatusCode::OK,
                serde_json::json!({"status": "success", "data": {
                    "version": "0.36.1", "revision": "fake", "branch": "HEAD",
                    "buildUser": "root@fake", "buildDate": "20240101-00:00:00",
                    "goVersion": "go1.22.5"}}),
            );
        }
        Engine::Mimir => {
            let Some(rest) = path.strip_prefix("/prometheus") else {
                record(header("x-scope-orgid"), 404);
                return text(StatusCode::NOT_FOUND, "404 page not found\n");
            };
            let Some(tenant) = header("x-scope-orgid") else {
                record(None, 401);
                return text(StatusCode::UNAUTHORIZED, "no org id\n");
            };
            let seconds = |k: &str| param(k).and_then(|v| v.parse::<f64>().ok());
            if let (true, Some(limit), Some(start), Some(end)) =
                (range, f.max_length, seconds("start"), seconds("end"))
            {
                let length = (end - start) as i64;
                if length > limit {
                    record(Some(tenant), 400);
                    return json(
                        StatusCode::BAD_REQUEST,
                        serde_json::json!({"status": "error", "errorType": "bad_data",
                            "error": format!(
                                "the total query time range exceeds the limit (query length: {}, limit: {}) (err-mimir-max-total-query-length). To adjust the related per-tenant limit, configure -query-frontend.max-total-query-length, or contact your service administrator.",
                                go_duration(length), go_duration(limit))}),
                    );
                }
            }
            record(Some(tenant), 200);
            path = rest.to_string();
        }
        Engine::Thanos => {
            let tenant = header("thanos-tenant");
            thin = range && param("max_source_resolution") != Some("0s");
            record(tenant, 200);
        }
    }
    let (status, mut v) = forward(&f, &path, &uri, &body).await;
    if thin && status == 200 {
        // Downsampled: every other point.
        if let Some(result) = v["data"]["result"].as_array_mut() {
            for s in result {
                if let Some(values) = s["values"].as_array() {
                    let kept: Vec<Value> = values.iter().step_by(2).cloned().collect();
                    s["values"] = Value::Array(kept);
                }
            }
        }
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
        [("content-type", "application/json")],
        v.to_string(),
    )
        .into_response()
}

async fn forward(f: &Front, path: &str, uri: &Uri, body: &Bytes) -> (u16, Value) {
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let url = format!("{}{path}{query}", f.upstream);
    let req = f
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.clone());
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let v = resp.json::<Value>().await.unwrap_or(Value::Null);
            (status, v)
        }
        Err(_) => (502, Value::Null),
    }
}
