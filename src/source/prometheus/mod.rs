//! The Prometheus adapter (also Thanos, Mimir, Cortex, VictoriaMetrics: `prometheus.flavor`,
//! [`flavor`]): range queries, chunking, stats.
//!
//! Requests are form POSTs with `partial_response=false` (Thanos) and `stats=all`, so the
//! samples Prometheus read are counted; [`wire`] decodes the answers and refuses partial or
//! contract-breaking ones. PromQL annotations (`PromQL warning: …`) are not partial data: such an
//! answer is counted and each annotation logged once per query. The shared
//! [`crate::http::HttpLayer`] bounds queries in flight and retries what [`wire`] calls retriable.
//! Every range is split so no request exceeds `max_points_per_query` points per series.

mod batch;
mod check;
pub mod flavor;
mod labels;
mod merge;
mod subset;
pub mod wire;

use batch::NO_GOOD_SERIES;
use wire::{Grid, Matrix, Values};

use super::counts::{EdgeValues, combine_counted, counter_increases_counted, timeslices};
use super::sanity::Sanity;
use super::{
    Ask, BoxFuture, BucketRange, Counts, Finding, QueryStats, Source, SourceError, SourceKind,
    failed, redact_url,
};
use crate::budget::Bucket;
use crate::config::{CountSpec, EventQuery, PrometheusSettings, Slo};
use crate::http::{HttpLayer, Retry};
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;

/// Extra bucket edges read before a counter range, only as baselines: a series whose first edge
/// fell in a failed scrape still has an earlier value to difference against.
pub const BASELINE_EDGES: usize = 5;

/// The name SLIs use for this source and the `source` label of its metrics.
pub const NAME: &str = SourceKind::Prometheus.name();
/// (query, annotation) pairs remembered as logged; past this the set starts over (and each is
/// logged once more), so thousands of changing queries cannot grow it without bound.
const MAX_ANNOTATIONS_LOGGED: usize = 10_000;

/// A Prometheus query client with the settings of `slo.yaml`; cheap to clone (the tasks it
/// spawns share one HTTP layer: one client, one concurrency bound and one set of statistics).
#[derive(Clone)]
pub struct PrometheusSource {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpLayer,
    url: String,
    settings: PrometheusSettings,
    /// Hashes of the (query, annotation) pairs already logged: an annotation comes back with
    /// every answer, every tick, and one log line per tick would bury everything else.
    annotations_logged: Mutex<HashSet<u64>>,
    /// Buckets one request may cover since the backend refused a longer range as too long
    /// (Mimir's and Cortex's query-length limits, [`flavor::range_too_long`]); `usize::MAX`
    /// until it has. Learned once, so later ranges are cut to fit before they are sent.
    fitted_buckets: AtomicUsize,
    /// The engine `prometheus.url` turned out to be when `flavor` was not written, and the base
    /// URL to use (Mimir's with `/prometheus`); asked once, on the first query.
    detected: tokio::sync::OnceCell<Detected>,
    /// Merge plans of the selector sets asked before, by a hash of the set
    /// ([`batch::MERGE_PLANS_KEPT`] at most).
    merge_plans: Mutex<std::collections::HashMap<u64, Arc<merge::Plan>>>,
}

/// What the buildinfo probe found.
#[derive(Debug, Clone)]
struct Detected {
    flavor: crate::config::Flavor,
    url: String,
}

impl PrometheusSource {
    /// Builds the client; header values become default headers (they may be secrets and are
    /// never logged).
    pub fn new(settings: &PrometheusSettings) -> Result<Arc<Self>, SourceError> {
        let bad = |message: String| SourceError::Setup(message);
        let headers = super::secret_headers(&settings.headers, "")?;
        let http = reqwest::Client::builder()
            .default_headers(headers)
            // A margin over the query timeout, so Prometheus's own "query timed out" answer arrives
            // before the client gives up.
            .timeout(Duration::from_millis(settings.timeout.as_millis() + 5000))
            .build()
            .map_err(|e| bad(format!("cannot build the HTTP client: {e}")))?;
        if let Err(e) = reqwest::Url::parse(&settings.url) {
            return Err(bad(format!(
                "invalid Prometheus URL `{}`: {e}",
                redact_url(&settings.url)
            )));
        }
        Ok(Arc::new(PrometheusSource {
            inner: Arc::new(Inner {
                http: HttpLayer::new(http, settings.max_concurrency, Retry::new(settings.retries)),
                url: settings.url.clone(),
                settings: settings.clone(),
                annotations_logged: Mutex::new(HashSet::new()),
                fitted_buckets: AtomicUsize::new(usize::MAX),
                detected: tokio::sync::OnceCell::new(),
                merge_plans: Mutex::new(std::collections::HashMap::new()),
            }),
        }))
    }
}

impl Source for PrometheusSource {
    fn name(&self) -> &str {
        NAME
    }

    fn counts_many<'a>(
        &'a self,
        asks: &'a [Ask],
        range: BucketRange,
    ) -> BoxFuture<'a, Vec<Counts>> {
        Box::pin(self.inner.counts_many(asks, range))
    }

    fn counts<'a>(&'a self, ask: &'a Ask, range: BucketRange) -> BoxFuture<'a, Counts> {
        Box::pin(async move { self.inner.counts(&ask.spec, range).await })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move { self.inner.series_count("vector(1)").await.map(|_| ()) })
    }

    fn stats(&self) -> &QueryStats {
        self.inner.http.stats()
    }

    fn retention(&self) -> BoxFuture<'_, Option<String>> {
        Box::pin(async move { self.inner.retention().await })
    }

    fn check<'a>(&'a self, slo: &'a Slo) -> BoxFuture<'a, Vec<Finding>> {
        Box::pin(check::check(&self.inner, slo))
    }

    fn label_sets<'a>(
        &'a self,
        query: &'a str,
        at: Option<i64>,
    ) -> BoxFuture<'a, Result<Vec<std::collections::BTreeMap<String, String>>, SourceError>> {
        Box::pin(self.inner.label_sets(query, at))
    }
}

impl Inner {
    /// One range query, retried by the HTTP layer when [`wire`] says asking again may help. An
    /// answer with `warnings` (other than PromQL annotations, which are logged once and counted)
    /// or one that breaks the API's contract is an error for its whole range (not retried at
    /// once: the engine heals failed ranges), counted in [`QueryStats::partial`] /
    /// [`QueryStats::contract`].
    async fn range(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        values: Values,
    ) -> Result<Matrix, SourceError> {
        let grid = Grid { start, end, step };
        let mut params = vec![
            ("query", query.to_string()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("step", step.to_string()),
            (
                "timeout",
                format!("{}ms", self.settings.timeout.as_millis()),
            ),
            ("stats", "all".to_string()),
            ("partial_response", "false".to_string()),
        ];
        params.extend(flavor::range_params(
            self.flavor().await,
            Duration::from_millis(self.settings.latency_offset.as_millis()),
        ));
        let stats = self.http.stats();
        let answer = match self
            .send("/api/v1/query_range", &params, |a| {
                wire::decode_range(a, grid, values)
            })
            .await
        {
            Ok(answer) => answer,
            Err(e) if e.failure.contract => {
                stats.contract.fetch_add(1, Ordering::Relaxed);
                return Err(SourceError::Untrusted {
                    backend: NAME.into(),
                    query: query.to_string(),
                    message: e.failure.message,
                });
            }
            Err(e) => {
                return Err(failed(
                    NAME,
                    &self.url,
                    query,
                    e.attempts,
                    e.failure.retriable,
                    e.failure.message,
                ));
            }
        };
        stats.samples.fetch_add(answer.samples, Ordering::Relaxed);
        if !answer.warnings.is_empty() {
            stats.partial.fetch_add(1, Ordering::Relaxed);
            return Err(SourceError::Untrusted {
                backend: NAME.into(),
                query: query.to_string(),
                message: format!(
                    "warnings (the data may be partial, so these buckets stay missing): {}",
                    answer.warnings.join("; ")
                ),
            });
        }
        self.log_annotations(query, &answer.annotations);
        if answer.histogram_series > 0 && answer.matrix.is_empty() {
            return Err(SourceError::BadResult {
                query: query.to_string(),
                message: format!(
                    "{} series hold native histograms only; count them with `histogram_count(...)` and `histogram_fraction(...)` in an expression",
                    answer.histogram_series
                ),
            });
        }
        Ok(answer.matrix)
    }

    /// Logs each PromQL annotation of `query` the first time it is seen: the answer's data is
    /// whole and counted, but the annotation may say the SLI is wrong (a metric that might not be
    /// a counter, a histogram without `le`), which a person should read once.
    fn log_annotations(&self, query: &str, annotations: &[String]) {
        if annotations.is_empty() {
            return;
        }
        let mut seen = match self.annotations_logged.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        for a in annotations {
            let mut h = std::hash::DefaultHasher::new();
            (query, a.as_str()).hash(&mut h);
            if seen.len() >= MAX_ANNOTATIONS_LOGGED {
                seen.clear();
            }
            if seen.insert(h.finish()) {
                tracing::warn!(
                    query,
                    annotation = %a,
                    "Prometheus annotated the query; its data is whole and counted, but the annotation may mean the SLI is not what it should be (logged once per query)"
                );
            }
        }
    }

    /// The engine's flavor: as written in `slo.yaml`, or else as its buildinfo says (asked once;
    /// an unreachable engine is asked again on the next query, and meanwhile treated as
    /// Prometheus).
    async fn flavor(&self) -> crate::config::Flavor {
        if !self.settings.detect_flavor {
            return self.settings.flavor;
        }
        match self.detected.get_or_try_init(|| self.detect()).await {
            Ok(d) => d.flavor,
            Err(()) => self.settings.flavor,
        }
    }

    /// Asks `GET <url>/api/v1/status/buildinfo` (and, for a bare host, Mimir's and Cortex's
    /// `/prometheus/api/v1/status/buildinfo`), without a tenant: none of them needs one there.
    /// `Err` only when the engine could not be reached; an engine that answers without a usable
    /// buildinfo is taken as Prometheus.
    async fn detect(&self) -> Result<Detected, ()> {
        let base = self.url.trim_end_matches('/').to_string();
        let path = "/api/v1/status/buildinfo";
        let found = match self.probe_at(&base, path, &[], wire::decode_data).await {
            Ok(data) => flavor::from_buildinfo(&data).map(|f| (f, base.clone())),
            Err(f) if f.retriable => return Err(()),
            Err(_) => None,
        };
        let bare = reqwest::Url::parse(&base).is_ok_and(|u| u.path() == "/" || u.path().is_empty());
        let found = match found {
            Some(found) => Some(found),
            None if bare => {
                let prefixed = format!("{base}/prometheus");
                match self.probe_at(&prefixed, path, &[], wire::decode_data).await {
                    Ok(data) => flavor::from_buildinfo(&data)
                        .filter(|f| *f == crate::config::Flavor::Mimir)
                        .map(|f| (f, prefixed)),
                    Err(_) => None,
                }
            }
            None => None,
        };
        let (flavor, url) = match found {
            // Mimir answers buildinfo on every path but queries only under `/prometheus`.
            Some((crate::config::Flavor::Mimir, url)) if bare && url == base => {
                (crate::config::Flavor::Mimir, format!("{base}/prometheus"))
            }
            Some(found) => found,
            None => (crate::config::Flavor::Prometheus, base),
        };
        let name = crate::config::Flavor::ALL
            .iter()
            .find(|(_, f)| *f == flavor)
            .map_or("prometheus", |(n, _)| n);
        tracing::info!(
            flavor = name,
            url = %super::redact_url(&url),
            "detected the engine behind prometheus.url from its buildinfo; `prometheus.flavor` sets it and skips the probe"
        );
        Ok(Detected { flavor, url })
    }

    /// The base URL queries go to: `prometheus.url`, or the one detection settled on.
    fn base(&self) -> &str {
        self.detected.get().map_or(&self.url, |d| &d.url)
    }

    /// The request for `path`: a form POST, or a GET without parameters.
    fn request(
        &self,
        client: &reqwest::Client,
        path: &str,
        params: &[(&str, String)],
    ) -> reqwest::RequestBuilder {
        self.request_at(client, self.base(), path, params)
    }

    /// [`Self::request`] against another base URL (detection's probes).
    fn request_at(
        &self,
        client: &reqwest::Client,
        base: &str,
        path: &str,
        params: &[(&str, String)],
    ) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", base.trim_end_matches('/'));
        if params.is_empty() {
            client.get(&url)
        } else {
            client.post(&url).form(params)
        }
    }

    /// One query through the HTTP layer, with its retries and statistics, decoded by `decode`.
    async fn send<T>(
        &self,
        path: &str,
        params: &[(&str, String)],
        decode: impl Fn(wire::Answer<'_>) -> Result<T, wire::Failure>,
    ) -> Result<T, crate::http::Exhausted<wire::Failure>> {
        self.http
            .send(
                |c| self.request(c, path, params),
                transport_failure,
                |status, headers, body| decode(answer(status, headers, body)),
            )
            .await
    }

    /// One request, not retried and not counted (health, `validate --online`, flags).
    async fn probe<T>(
        &self,
        path: &str,
        params: &[(&str, String)],
        decode: impl Fn(wire::Answer<'_>) -> Result<T, wire::Failure>,
    ) -> Result<T, wire::Failure> {
        self.flavor().await;
        self.probe_at(self.base(), path, params, decode).await
    }

    /// [`Self::probe`] against `base`.
    async fn probe_at<T>(
        &self,
        base: &str,
        path: &str,
        params: &[(&str, String)],
        decode: impl Fn(wire::Answer<'_>) -> Result<T, wire::Failure>,
    ) -> Result<T, wire::Failure> {
        self.http
            .probe(
                |c| self.request_at(c, base, path, params),
                transport_failure,
                |status, headers, body| decode(answer(status, headers, body)),
            )
            .await
    }

    /// Buckets one range request may cover: the point limit minus the first edge and the
    /// baseline edges, or less once the backend refused a range as too long.
    fn buckets_per_request(&self) -> usize {
        let points = (self
            .settings
            .max_points_per_query
            .max(BASELINE_EDGES as u32 + 2)
            - 1
            - BASELINE_EDGES as u32) as usize;
        points.min(self.fitted_buckets.load(Ordering::Relaxed))
    }

    /// [`Self::chunk`], cut in halves while the backend refuses the range as too long (a
    /// per-tenant `max_query_length` or `max_total_query_length` of Mimir or Cortex): the
    /// halves are asked in turn and the size that fitted is kept for every later range.
    fn fitted_chunk<'a>(
        &'a self,
        spec: &'a CountSpec,
        r: BucketRange,
    ) -> BoxFuture<'a, Result<(Vec<Bucket>, Sanity), SourceError>> {
        Box::pin(async move {
            match self.chunk(spec, r).await {
                Err(e) if r.count > 1 && flavor::range_too_long(&e) => {
                    let half = r.count / 2;
                    self.learn_fitted(half, &e);
                    let (a, b) = r.split_at(half);
                    let (mut first, mut sanity) = self.fitted_chunk(spec, a).await?;
                    let (second, more) = self.fitted_chunk(spec, b).await?;
                    first.extend(second);
                    sanity.merge(more);
                    Ok((first, sanity))
                }
                other => other,
            }
        })
    }

    /// Remembers that ranges of `half` buckets are asked from now on (said once).
    fn learn_fitted(&self, half: usize, e: &SourceError) {
        let was = self.fitted_buckets.fetch_min(half, Ordering::Relaxed);
        if was > half {
            tracing::info!(
                buckets = half * 2,
                now = half,
                "the backend refused a range as longer than its query-length limit; asking in shorter ranges from now on: {e}"
            );
        }
    }

    /// Per-bucket counts of one spec over `range`. Never fails as a whole: buckets of failed chunks
    /// are [`Bucket::Missing`] and the reasons come back in [`Counts::errors`].
    async fn counts(self: &Arc<Self>, spec: &CountSpec, range: BucketRange) -> Counts {
        let per_chunk = self.buckets_per_request();
        let mut tasks = JoinSet::new();
        let mut offset = 0;
        while offset < range.count {
            let n = per_chunk.min(range.count - offset);
            let chunk = BucketRange {
                start: range.start + offset as i64 * range.width,
                count: n,
                width: range.width,
            };
            let (me, spec) = (Arc::clone(self), spec.clone());
            tasks.spawn(async move { (offset, chunk, me.fitted_chunk(&spec, chunk).await) });
            offset += n;
        }
        let mut buckets = vec![Bucket::Missing; range.count];
        let mut errors = Vec::new();
        let mut failed = Vec::new();
        let mut sanity = Sanity::default();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((off, _, Ok((bs, found)))) => {
                    buckets[off..off + bs.len()].copy_from_slice(&bs);
                    sanity.merge(found);
                }
                Ok((_, chunk, Err(e))) => {
                    errors.push(e);
                    failed.push((chunk.start, chunk.end()));
                }
                Err(e) => errors.push(SourceError::BadResult {
                    query: String::new(),
                    message: format!("query task failed: {e}"),
                }),
            }
        }
        failed.sort_unstable();
        Counts {
            buckets,
            errors,
            failed,
            unknown: Vec::new(),
            sanity,
        }
    }

    async fn chunk(
        &self,
        spec: &CountSpec,
        r: BucketRange,
    ) -> Result<(Vec<Bucket>, Sanity), SourceError> {
        match spec {
            CountSpec::Events { good, bad, total } => {
                let mut sanity = Sanity::default();
                let mut sides: [Option<Vec<Option<f64>>>; 3] = [None, None, None];
                for ((slot, q), side) in sides.iter_mut().zip([good, bad, total]).zip([
                    Side::Good,
                    Side::Bad,
                    Side::Total,
                ]) {
                    if let Some(q) = q {
                        match self.events(q, r, side, &mut sanity).await? {
                            Some(v) => *slot = Some(v),
                            None => {
                                return Err(SourceError::BadResult {
                                    query: q.text().to_string(),
                                    message: NO_GOOD_SERIES.into(),
                                });
                            }
                        }
                    }
                }
                let [g, b, t] = &sides;
                let (buckets, found) =
                    combine_counted(g.as_deref(), b.as_deref(), t.as_deref(), r.count);
                sanity.merge(found);
                Ok((buckets, sanity))
            }
            CountSpec::Mixed { .. } => Err(SourceError::Setup(
                "a mixed-source SLI is counted side by side by the mixed source, not by Prometheus"
                    .into(),
            )),
            CountSpec::Timeslice {
                query,
                good_when,
                slice,
            } => {
                let m = self
                    .range(query, r.start + r.width, r.end(), r.width, Values::Computed)
                    .await?;
                let mut values = vec![Vec::new(); r.count];
                for (_, pts) in &m {
                    for (ts, v) in pts {
                        if let Some(i) = bucket_index(*ts - r.width, r.start, r.width, r.count) {
                            values[i].push(*v);
                        }
                    }
                }
                let ends: Vec<i64> = (1..=r.count as i64)
                    .map(|i| r.start + i * r.width)
                    .collect();
                Ok((
                    timeslices(&values, &ends, *good_when, slice.as_secs() as i64),
                    Sanity::default(),
                ))
            }
        }
    }

    /// Event counts per bucket for one query; `None` where unknown. `Ok(None)` when a `good`
    /// selector matches no series at all (a wrong `le` label, a typo): counting that as zero good
    /// events would report a fully burned budget.
    async fn events(
        &self,
        q: &EventQuery,
        r: BucketRange,
        side: Side,
        sanity: &mut Sanity,
    ) -> Result<Option<Vec<Option<f64>>>, SourceError> {
        match q {
            EventQuery::Selector(sel) => {
                // Edge values at every bucket boundary, the first one included, plus a few
                // earlier edges that serve only as baselines.
                let b = BASELINE_EDGES;
                let first = r.start - b as i64 * r.width;
                let m = self
                    .range(sel, first, r.end(), r.width, Values::Counter)
                    .await?;
                if m.is_empty() {
                    match side {
                        Side::Good => return Ok(None),
                        // An errors counter often appears with the first error: not a finding.
                        Side::Bad => {}
                        Side::Total => sanity.empty.push(sel.clone()),
                    }
                }
                let edges: Vec<EdgeValues> = m
                    .iter()
                    .map(|(_, pts)| edge_values(pts, first, r.width, b + r.count + 1))
                    .collect();
                let (mut inc, odd) = counter_increases_counted(&edges, b + r.count, r.count);
                sanity.decreases += odd;
                inc.drain(..b);
                Ok(Some(inc))
            }
            EventQuery::Expression(expr) => {
                let text = expr.replace("$window", &format!("{}s", r.width));
                let m = self
                    .range(&text, r.start + r.width, r.end(), r.width, Values::Computed)
                    .await?;
                let mut out = vec![None; r.count];
                for (_, pts) in &m {
                    for (ts, v) in pts {
                        if let Some(i) = bucket_index(*ts - r.width, r.start, r.width, r.count) {
                            out[i] = Some(out[i].unwrap_or(0.0) + v.max(0.0));
                        }
                    }
                }
                Ok(Some(out))
            }
        }
    }

    /// Prometheus's `--storage.tsdb.retention.time`, when the backend exposes its flags (Thanos
    /// and Mimir do not): named in warnings when a period reaches past the data.
    async fn retention(&self) -> Option<String> {
        let flags = self
            .probe("/api/v1/status/flags", &[], wire::decode_flags)
            .await
            .ok()?;
        flags.get("storage.tsdb.retention.time").cloned()
    }

    /// `POST /api/v1/query` for health and `validate --online`: the number of series an
    /// expression returns now.
    async fn series_count(&self, query: &str) -> Result<usize, SourceError> {
        self.instant(query).await.map(|a| a.series)
    }

    /// `POST /api/v1/query` now: the number of series, with the answer's warnings and PromQL
    /// annotations for `validate --online` to show.
    async fn instant(&self, query: &str) -> Result<wire::InstantAnswer, SourceError> {
        let params = [("query", query.to_string())];
        self.probe("/api/v1/query", &params, wire::decode_instant)
            .await
            .map_err(|f| {
                // One attempt: an unreachable Prometheus is named by its URL, a refusal by the query.
                failed(NAME, &self.url, query, 1, f.retriable, f.message)
            })
    }
}

impl Inner {
    /// `POST /api/v1/query` at `at`: the label sets of the result (a grouped SLO's members).
    async fn label_sets(
        &self,
        query: &str,
        at: Option<i64>,
    ) -> Result<Vec<std::collections::BTreeMap<String, String>>, SourceError> {
        let mut params = vec![("query", query.to_string())];
        if let Some(t) = at {
            params.push(("time", t.to_string()));
        }
        self.probe("/api/v1/query", &params, wire::decode_instant_labels)
            .await
            .map_err(|f| failed(NAME, &self.url, query, 1, f.retriable, f.message))
    }
}

/// Which side of an event ratio a query counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Good,
    Bad,
    Total,
}

/// A series' values at `n` consecutive edges from `first` (`None` where it had no sample).
fn edge_values(pts: &[(i64, f64)], first: i64, width: i64, n: usize) -> EdgeValues {
    let mut e: EdgeValues = smallvec::smallvec![None; n];
    for (ts, v) in pts {
        if let Some(i) = bucket_index(*ts, first, width, n) {
            e[i] = Some(*v);
        }
    }
    e
}

fn bucket_index(ts: i64, start: i64, width: i64, n: usize) -> Option<usize> {
    let d = ts - start;
    (d >= 0 && d % width == 0 && ((d / width) as usize) < n).then(|| (d / width) as usize)
}

/// The parts of an HTTP answer [`wire`] reads.
fn answer<'a>(
    status: u16,
    headers: &'a reqwest::header::HeaderMap,
    body: &'a [u8],
) -> wire::Answer<'a> {
    wire::Answer {
        status,
        content_type: headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        body,
    }
}

/// A request without a whole answer: worth another attempt.
fn transport_failure(e: &reqwest::Error) -> wire::Failure {
    wire::Failure {
        retriable: true,
        message: transport(e),
        contract: false,
    }
}

/// A transport failure in words (never the URL, which may hold credentials).
fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off".into()
    } else {
        "request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_only_aligned_timestamps_inside_the_range() {
        assert_eq!(bucket_index(120, 60, 60, 3), Some(1));
        assert_eq!(bucket_index(90, 60, 60, 3), None);
        assert_eq!(bucket_index(240, 60, 60, 3), None);
        assert_eq!(bucket_index(0, 60, 60, 3), None);
    }
}
