//! The HTTP server: `server::router(state)` builds every route.
//!
//! Routes:
//! - `GET /metrics`: Prometheus text format ([`metrics`]).
//! - `GET /healthz`: liveness: 200 while the engine makes progress, 503 after a few buckets
//!   without.
//! - `GET /readyz`: 200 once the startup backfill is done, 503 before.
//! - `GET /api/v1/slos`, `GET /api/v1/slos/{service}/{name}`,
//!   `GET /api/v1/slos/{service}/{name}/history?period=30d&step=1h` ([`api`]).
//! - `GET/POST /api/v1/silences`, `DELETE /api/v1/silences/{id}` ([`silences`]; changes need the
//!   API token).
//! - `GET/POST /api/v1/corrections`, `DELETE /api/v1/corrections/{id}` ([`corrections`]; changes
//!   need the API token).
//! - `GET /`, `/slos/{service}/{name}` (and `…/try`), `/silences`, `/internals`, `/ui/{style.css,app.js}`: the
//!   web UI ([`ui`]; read-only, no token; the silences form calls the API).
//! - `GET /reports/{period}` ([`reports`]; read-only): the calendar report of `2026-11`,
//!   `2026-Q4` or `2026-W48` from the store, html or `?format=json|csv|md`.
//! - `POST /api/v1/store/backup` ([`backup`]; the API token): a consistent copy of the store.
//!
//! Handlers only read the engine's latest snapshot (and the store for history); they never query
//! a source. Layers, outermost first: panic → 500, gzip when asked ([`gzip`]), request timeout, body
//! size limit; the store backup has only the first. Outside all of them, [`guard`]: the `Host`
//! check against DNS rebinding, `nosniff` on every answer and error answers as JSON.

pub mod admission;
pub mod api;
pub mod backup;
mod compat;
pub mod corrections;
mod exposition;
pub mod guard;
pub mod gzip;
pub mod listen;
pub mod metrics;
pub mod reports;
pub mod silences;
pub mod ui;

use crate::engine::Shared;
use crate::source::Sources;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// Longest time a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request body accepted (a silence is well under 1 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;

/// What handlers share: the engine's state and the sources (for their query statistics).
#[derive(Clone)]
pub struct AppState {
    /// Snapshot, health and store.
    pub shared: Arc<Shared>,
    /// The sources whose statistics `/metrics` shows; swapped on reload.
    pub sources: Arc<std::sync::RwLock<Sources>>,
    /// Bearer token for endpoints that change state; `None` refuses them.
    pub token: Option<Arc<str>>,
    /// Host names served besides IP literals and localhost (DNS rebinding protection).
    pub allowed_hosts: guard::AllowedHosts,
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/slos", get(api::list))
        .route("/api/v1/slos/{service}/{name}", get(api::one))
        .route("/api/v1/slos/{service}/{name}/history", get(api::history))
        .route(
            "/api/v1/silences",
            get(silences::list).post(silences::create),
        )
        .route("/api/v1/silences/{id}", delete(silences::delete))
        .route(
            "/api/v1/corrections",
            get(corrections::list).post(corrections::create),
        )
        .route("/api/v1/corrections/{id}", delete(corrections::delete))
        .route("/reports/{period}", get(reports::report))
        .route("/", get(ui::list_page))
        .route("/slos/{service}/{name}", get(ui::detail_page))
        .route("/slos/{service}/{name}/try", get(ui::try_page))
        .route("/silences", get(ui::silences_page))
        .route("/internals", get(ui::internals_page))
        .route("/ui/{file}", get(ui::asset))
        .fallback(|| async { api::ApiError(StatusCode::NOT_FOUND, "no such endpoint".into()) })
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn(gzip::compress))
        // After the timeout: copying a large store may take longer than a request should.
        .route("/api/v1/store/backup", post(backup::backup))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn_with_state(
            state.allowed_hosts.clone(),
            guard::guard,
        ))
        .with_state(state)
}

/// Liveness: 200 while the engine makes progress, 503 once it has gone [`STALL_BUCKETS`]
/// buckets without (a store that fails every write, a wedged loop), so a supervisor restarts it.
///
/// [`STALL_BUCKETS`]: crate::engine::health::STALL_BUCKETS
async fn healthz(State(st): State<AppState>) -> impl IntoResponse {
    let width = st.shared.snapshot().width;
    match st.shared.health.stalled_for(width, crate::time::now_secs()) {
        None => (StatusCode::OK, "ok\n".to_string()),
        Some(s) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("stalled: no evaluation for {s} s\n"),
        ),
    }
}

async fn readyz(State(st): State<AppState>) -> impl IntoResponse {
    if st.shared.health.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n".to_string())
    } else {
        // How far the backfill is, so whoever waits on the probe sees it move.
        let body = match st.shared.health.progress.read() {
            Some(r) => format!("backfilling: {r}\n"),
            None => "backfilling\n".to_string(),
        };
        (StatusCode::SERVICE_UNAVAILABLE, body)
    }
}

async fn metrics_handler(State(st): State<AppState>) -> impl IntoResponse {
    let snap = st.shared.snapshot();
    let sources = match st.sources.read() {
        Ok(s) => s.clone(),
        Err(p) => p.into_inner().clone(),
    };
    // Rendering (100 ms for 10,000 SLOs) and the outbox read behind the pending gauge run on a
    // blocking thread: a slow store (one reopening after a full disk) never holds an async worker.
    let shared = Arc::clone(&st.shared);
    let body = tokio::task::spawn_blocking(move || metrics::render(&shared, &sources, &snap))
        .await
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body)
}
