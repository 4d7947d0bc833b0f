//! The HTTP server in-process: `slowburn::server::router` over the snapshot a real engine
//! published from a steady scripted source (no Prometheus, no daemon, no socket) and a store in a
//! temporary directory, driven with `tower::ServiceExt::oneshot`. The API's JSON (list, one SLO,
//! history, a JSON 404 with `nosniff`), `/metrics` (its last evaluation, `promtool check metrics`),
//! the pages and the `Host` check, silences with and without the token, and the store backup.

use crate::common::*;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde_json::Value;
use slowburn::budget::Bucket;
use slowburn::engine::{Engine, Shared};
use slowburn::server::{self, AppState};
use slowburn::source::{
    Ask, BoxFuture, BucketRange, Counts, QueryStats, Source, SourceError, SourceKind, Sources,
};
use slowburn::store::Store;
use std::sync::{Arc, RwLock};
use tower::ServiceExt;

const TOKEN: &str = "in-process-token";
const W: i64 = 60;
const ID: &str = "svc15/availability";

/// A source named `prometheus` whose every bucket holds 1,000 events, one of them bad.
#[derive(Default)]
struct Steady {
    stats: QueryStats,
}

impl Source for Steady {
    fn name(&self) -> &str {
        "prometheus"
    }

    fn counts_many<'a>(
        &'a self,
        asks: &'a [Ask],
        range: BucketRange,
    ) -> BoxFuture<'a, Vec<Counts>> {
        Box::pin(async move {
            asks.iter()
                .map(|_| Counts {
                    buckets: vec![Bucket::known(999.0, 1000.0); range.count],
                    ..Counts::default()
                })
                .collect()
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async { Ok(()) })
    }

    fn stats(&self) -> &QueryStats {
        &self.stats
    }
}

/// An engine's published state over a store in a temporary directory.
struct Rig {
    _dir: tempfile::TempDir,
    shared: Arc<Shared>,
    sources: Sources,
}

/// svc15's availability with 1-minute buckets over one day, backfilled and evaluated now.
async fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "prometheus: {{url: \"http://127.0.0.1:9\"}}\ndefaults: {{bucket: 1m, windows: [1d]}}\nslos:\n{SVC15_AVAILABILITY}"
    );
    let parsed = slowburn::config::parse_str(&text, "server-test.yaml", &|_| None);
    let cfg = parsed.expect("a valid config");
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let shared = Shared::new(store);
    server::silences::load(&shared);
    let sources = Sources::with(vec![(
        SourceKind::Prometheus,
        Arc::new(Steady::default()) as Arc<dyn Source>,
    )]);
    let mut engine = Engine::new(cfg, sources.clone(), Arc::clone(&shared));
    engine.start(now_secs() / W * W).await.expect("backfill");
    Rig {
        _dir: dir,
        shared,
        sources,
    }
}

impl Rig {
    /// The daemon's router over this state, with `token` as the API token.
    fn router(&self, token: Option<&str>) -> Router {
        server::router(AppState {
            shared: Arc::clone(&self.shared),
            sources: Arc::new(RwLock::new(self.sources.clone())),
            token: token.map(Arc::from),
            allowed_hosts: server::guard::AllowedHosts::new(&[]),
        })
    }
}

/// One request through the router (Host 127.0.0.1 unless `headers` name another): the status,
/// the headers and the body.
async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req = req.header(header::HOST, "127.0.0.1:9464");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if !body.is_empty() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let req = req.body(Body::from(body.to_string())).expect("request");
    let resp = app.clone().oneshot(req).await.expect("the router answers");
    let status = resp.status();
    let head = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, head, bytes.to_vec())
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}", String::from_utf8_lossy(body));
    })
}

fn header_of<'a>(head: &'a HeaderMap, name: &str) -> &'a str {
    head.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn the_api_serves_the_published_snapshot() {
    let rig = rig().await;
    let app = rig.router(None);
    let at = slowburn::time::rfc3339(rig.shared.snapshot().at);

    let (status, head, body) = call(&app, "GET", "/api/v1/slos", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(header_of(&head, "content-type").starts_with("application/json"));
    let list = json(&body);
    assert_eq!(list["at"], at);
    let slos = list["slos"].as_array().expect("slos");
    assert_eq!(slos.len(), 1, "{list}");
    assert_eq!(slos[0]["id"], ID);

    let (status, _, body) = call(&app, "GET", "/api/v1/slos/svc15/availability", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    let one = json(&body);
    assert_eq!(one["id"], ID);
    assert_eq!(one["at"], at);

    let (status, head, body) = call(&app, "GET", "/api/v1/slos/svc15/none", &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(json(&body)["error"].is_string());
    assert_eq!(header_of(&head, "x-content-type-options"), "nosniff");

    let uri = "/api/v1/slos/svc15/availability/history?period=1d&step=1h";
    let (status, _, body) = call(&app, "GET", uri, &[], "").await;
    let history = json(&body);
    assert_eq!(status, StatusCode::OK, "{history}");
    let slis: Vec<f64> = history["points"]
        .as_array()
        .expect("points")
        .iter()
        .filter_map(|p| p["sli"].as_f64())
        .collect();
    assert!(!slis.is_empty(), "{history}");
    // Every bucket held 999 good events of 1,000.
    assert!(slis.iter().all(|s| (s - 0.999).abs() < 1e-9), "{slis:?}");
}

/// `/healthz` is what a supervisor restarts on: 200 while the engine makes progress, 503 naming
/// the stall once it has gone five buckets (at least a minute) without, as when every write to a
/// full disk fails; 200 again after the next progress. The heartbeat is moved back by hand, so
/// the stall needs no real full disk or minute.
#[tokio::test]
async fn healthz_fails_once_the_engine_stalls() {
    use std::sync::atomic::Ordering;
    let rig = rig().await;
    let app = rig.router(None);
    let (status, _, body) = call(&app, "GET", "/healthz", &[], "").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));

    let health = &rig.shared.health;
    // Five 1-minute buckets are the limit: just under it is still healthy.
    health
        .heartbeat
        .store(now_secs() - 5 * W + 5, Ordering::Relaxed);
    assert_eq!(
        call(&app, "GET", "/healthz", &[], "").await.0,
        StatusCode::OK
    );
    health
        .heartbeat
        .store(now_secs() - 5 * W - 30, Ordering::Relaxed);
    let (status, _, body) = call(&app, "GET", "/healthz", &[], "").await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert!(text.contains("stalled: no evaluation for 3"), "{text}");

    health.beat();
    assert_eq!(
        call(&app, "GET", "/healthz", &[], "").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn metrics_carry_the_last_evaluation_and_pass_promtool() {
    let rig = rig().await;
    let app = rig.router(None);
    let (status, head, body) = call(&app, "GET", "/metrics", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header_of(&head, "content-type"),
        server::metrics::CONTENT_TYPE
    );
    let text = String::from_utf8(body).expect("UTF-8");
    let last = text
        .lines()
        .find_map(|l| l.strip_prefix("slowburn_last_eval_timestamp_seconds "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    assert_eq!(last, Some(rig.shared.snapshot().at as f64), "{text}");
    assert!(text.contains("svc15"), "{text}");
    if require("promtool", have("promtool"), "apt-get install prometheus") {
        let (ok, problems) = promtool_check_metrics(&text);
        assert!(ok, "{problems}");
    }
}

#[tokio::test]
async fn pages_are_served_to_allowed_hosts_only() {
    let rig = rig().await;
    let app = rig.router(None);
    for path in ["/", "/slos/svc15/availability", "/silences"] {
        let (status, head, body) = call(&app, "GET", path, &[], "").await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            header_of(&head, "content-type").starts_with("text/html"),
            "{path}"
        );
        if path != "/silences" {
            assert!(
                String::from_utf8_lossy(&body).contains("availability"),
                "{path}"
            );
        }
    }
    let (status, head, body) = call(&app, "GET", "/", &[("host", "rebound.example")], "").await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
    assert!(json(&body)["error"].is_string());
    assert_eq!(header_of(&head, "x-content-type-options"), "nosniff");
}

#[tokio::test]
async fn silences_change_only_with_the_token() {
    let rig = rig().await;
    let app = rig.router(Some(TOKEN));
    let ends = slowburn::time::rfc3339(now_secs() + 3600);
    let silence = format!(
        r#"{{"slo": "{ID}", "ends_at": "{ends}", "comment": "in-process", "created_by": "test"}}"#
    );
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];
    let path = "/api/v1/silences";

    let (status, _, _) = call(&app, "POST", path, &[], &silence).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let wrong = [("authorization", "Bearer not-the-token")];
    let (status, _, _) = call(&app, "POST", path, &wrong, &silence).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let unknown = silence.replace(ID, "svc15/none");
    let (status, _, _) = call(&app, "POST", path, &auth, &unknown).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _, body) = call(&app, "POST", path, &auth, &silence).await;
    let created = json(&body);
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    let active = |body: &[u8]| -> Vec<String> {
        json(body)["silences"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|s| s["status"] != "expired")
            .filter_map(|s| s["id"].as_str().map(str::to_string))
            .collect()
    };
    let (status, _, body) = call(&app, "GET", path, &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(active(&body), vec![id.clone()]);

    let one = format!("{path}/{id}");
    let (status, _, _) = call(&app, "DELETE", &one, &[], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&app, "DELETE", &one, &auth, "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, _, body) = call(&app, "GET", path, &[], "").await;
    assert!(active(&body).is_empty());

    // Without a configured token nothing changes: 403, whatever the request sends.
    let app = rig.router(None);
    let (status, _, _) = call(&app, "POST", path, &auth, &silence).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_store_backup_needs_the_token_and_opens_as_a_store() {
    let rig = rig().await;
    let app = rig.router(Some(TOKEN));
    let path = "/api/v1/store/backup";
    let (status, _, _) = call(&app, "POST", path, &[], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];
    let (status, head, body) = call(&app, "POST", path, &auth, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header_of(&head, "content-length"), body.len().to_string());
    let rows: u64 = header_of(&head, server::backup::ROWS_HEADER)
        .parse()
        .expect("rows header");
    assert!(rows > 0);
    assert!(header_of(&head, "content-disposition").contains(slowburn::store::FILE_NAME));
    let copy = tempfile::tempdir().expect("tempdir");
    std::fs::write(copy.path().join(slowburn::store::FILE_NAME), body).expect("write");
    Store::open(copy.path()).expect("the copy opens as a store");
}
