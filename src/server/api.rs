//! The JSON API: every SLO, one SLO with its definition, and one SLO's history for charts.

use super::AppState;
use super::admission;
use crate::config::Slo;
use crate::duration::{self, Dur};
use crate::history;
use crate::status::SloStatus;
use crate::time::rfc3339;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

/// Most points one history request may ask for.
pub const MAX_HISTORY_POINTS: i64 = 5000;

/// An API error: a status and a JSON body `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

/// Seconds since the snapshot's evaluation: a stalled source or a stuck tick shows here (and as
/// `time() - slowburn_last_eval_timestamp_seconds`), not as numbers that merely stop changing.
/// `null` before the first evaluation.
fn age(at: i64) -> Option<i64> {
    (at > 0).then(|| (crate::time::now_secs() - at).max(0))
}

/// `GET /api/v1/slos`: the same shape as `report --format json`, plus the evaluation's age.
#[derive(Debug, Serialize)]
pub struct SloList {
    /// Evaluation instant (RFC 3339).
    pub at: String,
    /// Seconds since then; `null` before the first evaluation.
    pub evaluation_age_seconds: Option<i64>,
    /// Every SLO's status (without alerts, as `report` has none; one SLO's answer has them).
    pub slos: Vec<SloStatus>,
    /// Which share of the file's SLOs these are (`run --shard I/N`); absent when this daemon owns
    /// them all, so an unsharded answer is unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardView>,
}

/// A shard as the API says it: `{"index": 1, "count": 3}`.
#[derive(Debug, Serialize)]
pub struct ShardView {
    /// This daemon's shard, 0-based.
    pub index: u32,
    /// How many shards split the file.
    pub count: u32,
}

/// `GET /api/v1/slos`: the same shape as `report --format json`.
pub async fn list(State(st): State<AppState>) -> Json<SloList> {
    let snap = st.shared.snapshot();
    let slos = snap
        .slos
        .iter()
        .map(|s| SloStatus {
            alerts: None,
            ..s.status()
        })
        .collect();
    Json(SloList {
        at: rfc3339(snap.at),
        evaluation_age_seconds: age(snap.at),
        slos,
        shard: st.shared.health.shard.get().map(|s| ShardView {
            index: s.index(),
            count: s.count(),
        }),
    })
}

/// What an SLO is, beside its numbers: the `definition` of one SLO's answer.
#[derive(Debug, Serialize)]
pub struct Definition {
    /// The SLO's description.
    pub description: Option<String>,
    /// Its own labels.
    pub labels: BTreeMap<String, String>,
    /// Its budget periods, canonical spelling.
    pub periods: Vec<String>,
    /// The SLI kind (`ratio`, `latency`, …).
    pub sli: &'static str,
    /// The queries it sends its source.
    pub queries: Vec<String>,
    /// Store series id of the definition: a changed query gets a new one.
    pub version: u64,
}

fn definition(slo: &Slo, version: u64) -> Definition {
    Definition {
        description: slo.description.clone(),
        labels: slo.labels.clone(),
        periods: slo.periods.iter().map(|p| p.to_string()).collect(),
        sli: slo.sli.name(),
        queries: slo.counts.queries(),
        version,
    }
}

/// `GET /api/v1/slos/{service}/{name}`: the SLO's status (with its alerts) plus when it was
/// evaluated and its definition.
#[derive(Debug, Serialize)]
pub struct SloAnswer {
    /// The status, its fields at the top level.
    #[serde(flatten)]
    pub status: SloStatus,
    /// Evaluation instant (RFC 3339).
    pub at: String,
    /// Seconds since then; `null` before the first evaluation.
    pub evaluation_age_seconds: Option<i64>,
    /// What the SLO is.
    pub definition: Definition,
}

/// The SLO with this id in the snapshot, or a JSON 404.
fn find<'a>(
    snap: &'a crate::engine::Snapshot,
    id: &str,
) -> Result<&'a crate::engine::SloView, ApiError> {
    snap.slos
        .iter()
        .find(|s| s.slo.id == id)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no SLO `{id}`")))
}

/// `GET /api/v1/slos/{service}/{name}`: one SLO plus its definition.
pub async fn one(
    State(st): State<AppState>,
    Path((service, name)): Path<(String, String)>,
) -> Result<Json<SloAnswer>, ApiError> {
    let snap = st.shared.snapshot();
    let id = format!("{service}/{name}");
    let s = find(&snap, &id)?;
    Ok(Json(SloAnswer {
        status: s.status(),
        at: rfc3339(snap.at),
        evaluation_age_seconds: age(snap.at),
        definition: definition(&s.slo, s.series),
    }))
}

/// Query parameters of the history endpoint.
#[derive(Debug, Deserialize)]
pub struct HistoryParams {
    /// Budget period to chart (one of the SLO's periods; default its first).
    pub period: Option<String>,
    /// Spacing of points (default: the fewest buckets that keep the period within
    /// [`history::MAX_POINTS`]).
    pub step: Option<String>,
}

/// The windows a history reports burn rates for: every window of the SLO's policy rules.
pub fn burn_windows(slo: &Slo) -> Vec<Dur> {
    let mut w: Vec<Dur> = slo
        .policy
        .rules
        .iter()
        .flat_map(|r| [r.long, r.short])
        .collect();
    w.sort();
    w.dedup();
    w
}

/// `GET /api/v1/slos/{service}/{name}/history?period=30d[&step=1h]`: for every step over the last
/// period, the SLI, event rates and coverage of that step, the burn rate over each policy window
/// and the remaining budget of the period ending there, from the store.
pub async fn history(
    State(st): State<AppState>,
    Path((service, name)): Path<(String, String)>,
    Query(p): Query<HistoryParams>,
) -> Result<Response, ApiError> {
    let snap = st.shared.snapshot();
    let id = format!("{service}/{name}");
    let s = find(&snap, &id)?;
    let bad = |m: String| ApiError(StatusCode::BAD_REQUEST, m);
    let period = match &p.period {
        Some(t) => duration::parse(t).map_err(|e| bad(e.to_string()))?,
        None => s.slo.periods[0],
    };
    if !s.slo.periods.contains(&period) {
        let valid: Vec<String> = s.slo.periods.iter().map(|d| d.to_string()).collect();
        return Err(bad(format!(
            "period {period} is not one of this SLO's periods: {}",
            valid.join(", ")
        )));
    }
    let width = snap.width.max(1);
    let ps = period.as_secs() as i64;
    let ss = match &p.step {
        Some(t) => duration::parse(t)
            .map_err(|e| bad(e.to_string()))?
            .as_secs() as i64,
        None => history::auto_step(ps, width),
    };
    if ss < width || ss % width != 0 {
        return Err(bad(format!(
            "step must be a whole number of buckets ({width}s)"
        )));
    }
    if ps / ss > MAX_HISTORY_POINTS {
        return Err(bad(format!(
            "{} points requested; at most {MAX_HISTORY_POINTS}: use a larger step",
            ps / ss
        )));
    }
    let windows = burn_windows(&s.slo);
    // The permit comes before any work (a month of buckets each), then the store read, the
    // arithmetic and the JSON are built off the async workers that serve `/metrics`.
    let permit = match admission::admit(&admission::HISTORIES).await {
        Ok(p) => p,
        Err(why) => return Ok(admission::busy_json(why)),
    };
    let at = snap.at;
    let (store, series) = (st.shared.store.clone(), s.series);
    let objective = s.slo.objective;
    let (corrections, slo) = (st.shared.corrections.all(), std::sync::Arc::clone(&s.slo));
    let step = Dur::from_secs(ss as u64).to_string();
    let built = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let from = history::first_bucket(at, ps, period, &windows, width);
        let n = ((at - from) / width).max(0) as usize;
        let mut buckets = store.get(series, from, width, n)?;
        // As the engine sums them: a correction's buckets are excluded.
        crate::correction::exclude(&corrections, &slo, from, width, &mut buckets);
        let pts = history::points(
            &buckets, from, width, objective, at, ps, ss, period, &windows,
        );
        let body = history_json(&id, period, &step, &windows, &pts);
        Ok::<_, crate::store::StoreError>(serde_json::to_vec(&body).unwrap_or_default())
    })
    .await;
    let internal = |e: String| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e);
    let body = built
        .map_err(|e| internal(e.to_string()))?
        .map_err(|e| internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The history endpoint's answer.
#[derive(Debug, Serialize)]
struct HistoryJson<'a> {
    slo: &'a str,
    period: String,
    step: &'a str,
    points: Vec<HistoryPoint>,
}

/// One point of a history.
#[derive(Debug, Serialize)]
struct HistoryPoint {
    time: i64,
    sli: Option<f64>,
    error_budget_remaining: Option<f64>,
    coverage: f64,
    step_coverage: f64,
    excluded_buckets: u64,
    total_per_second: f64,
    bad_per_second: f64,
    burn_rates: BTreeMap<String, Option<f64>>,
}

/// The history endpoint's JSON for computed points.
fn history_json<'a>(
    id: &'a str,
    period: Dur,
    step: &'a str,
    windows: &[Dur],
    pts: &[history::Point],
) -> HistoryJson<'a> {
    let points = pts
        .iter()
        .map(|p| HistoryPoint {
            time: p.time,
            sli: p.sli,
            error_budget_remaining: p.remaining,
            coverage: p.coverage,
            step_coverage: p.step_coverage,
            excluded_buckets: p.step_excluded,
            total_per_second: p.total_rate,
            bad_per_second: p.bad_rate,
            burn_rates: windows
                .iter()
                .zip(&p.burn)
                .map(|(w, b)| (w.to_string(), *b))
                .collect(),
        })
        .collect();
    HistoryJson {
        slo: id,
        period: period.to_string(),
        step,
        points,
    }
}
