//! The Loki adapter: log lines counted per bucket with LogQL metric queries.
//!
//! A bucket `(t − width, t]` is one step of `query_range` at `t` with step = width, so a log
//! query `Q` becomes `sum(count_over_time(Q [width]))` and one request returns many buckets.
//! Loki's frontend moves ranges onto the step grid from the epoch; buckets are epoch-aligned, so
//! they land exactly, and points outside the asked range are ignored. Requests are split to stay
//! under `max_points_per_query` and Loki's 721h query length.
//!
//! The trap that differs from Prometheus: Loki leaves out steps without lines, and a query that
//! matches nothing returns no series. A step of a query that *succeeded* is therefore zero lines;
//! a step of a query that *failed* is missing, and so is a bucket older than what Loki holds:
//! before `loki.retention` when it is set, otherwise before the first line Loki still holds of
//! the SLI's streams ([`horizon`]), since Loki answers an empty 200 for data it no longer has.

mod check;
mod client;
mod horizon;
pub mod wire;

use super::counts::{combine, timeslices};
use super::{Ask, BoxFuture, BucketRange, Counts, Finding, QueryStats, Source, SourceError};
use crate::budget::Bucket;
use crate::config::{CountSpec, LokiSettings, Slo};
use crate::sli::logql;
use client::Client;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::task::JoinSet;

/// The name SLIs use for this source and the `source` label of its metrics.
pub const NAME: &str = super::SourceKind::Loki.name();
/// Loki's default `max_query_length` (721h) less one hour of margin: no request spans more.
const MAX_SPAN_SECS: i64 = 720 * 3600;

/// A Loki query client with the settings of `slo.yaml`.
pub struct LokiSource {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    settings: LokiSettings,
    /// Where each stream selector's lines begin, searched once per daemon start (and again when
    /// a range needs it), one search per selector at a time.
    horizons: Mutex<HashMap<String, SharedHorizon>>,
}

/// One selector's cached [`horizon::Horizon`], locked while it is searched.
type SharedHorizon = Arc<tokio::sync::Mutex<Option<horizon::Horizon>>>;

/// What one query said about one bucket.
#[derive(Debug, Clone)]
enum Answer {
    /// The query succeeded: every series' value at the bucket's end (empty: no lines).
    Values(Vec<f64>),
    /// The request for this bucket failed: missing, worth asking again.
    Failed,
    /// Before the data Loki holds (`loki.retention`, or the first line of the SLI's streams):
    /// missing, and asking again will not help.
    Unknown,
}

/// One query's answers over a range, with why some failed.
#[derive(Debug, Clone, Default)]
struct PerBucket {
    answers: Vec<Answer>,
    errors: Vec<SourceError>,
    failed: Vec<(i64, i64)>,
}

impl LokiSource {
    /// Builds the client; the tenant, headers and password are sent but never logged.
    pub fn new(settings: &LokiSettings) -> Result<Arc<Self>, SourceError> {
        Ok(Arc::new(LokiSource {
            inner: Arc::new(Inner {
                client: Client::new(settings)?,
                settings: settings.clone(),
                horizons: Mutex::new(HashMap::new()),
            }),
        }))
    }
}

impl Source for LokiSource {
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

    fn health(&self) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(self.inner.client.ready())
    }

    fn stats(&self) -> &QueryStats {
        self.inner.client.stats()
    }

    fn retention(&self) -> BoxFuture<'_, Option<String>> {
        let r = self
            .inner
            .settings
            .retention
            .map(|d| format!("{d} (loki.retention)"));
        Box::pin(async move { r })
    }

    fn check<'a>(&'a self, slo: &'a Slo) -> BoxFuture<'a, Vec<Finding>> {
        Box::pin(check::check(&self.inner, slo))
    }
}

/// The metric queries a spec needs, one per side or the time-slice query.
fn queries(spec: &CountSpec, width: i64) -> Vec<String> {
    match spec {
        CountSpec::Events { good, bad, total } => [good, bad, total]
            .into_iter()
            .flatten()
            .map(|q| logql::counting(q, width))
            .collect(),
        CountSpec::Timeslice { query, .. } => {
            vec![query.replace("$window", &format!("{width}s"))]
        }
        CountSpec::Mixed { .. } => Vec::new(),
    }
}

/// The stream selectors of a spec's queries, each once: where Loki keeps the lines it counts.
fn selectors(spec: &CountSpec) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if matches!(spec, CountSpec::Mixed { .. }) {
        return out;
    }
    for q in spec.queries() {
        for s in logql::stream_selectors(&q) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

impl Inner {
    /// Buckets per request: within `max_points_per_query` and Loki's query length.
    fn buckets_per_request(&self, width: i64) -> usize {
        let by_span = (MAX_SPAN_SECS / width.max(1)).max(1) as usize;
        (self.settings.max_points_per_query as usize)
            .min(by_span)
            .max(1)
    }

    /// Counts of many asks over one range. Each ask first learns how many of its leading
    /// buckets Loki cannot know ([`Inner::data_starts`]); an ask whose search failed is missing
    /// as a whole. Each distinct metric query is then asked once, however many SLOs share it (a
    /// common `total`), from the first bucket any of them needs, all concurrently under the
    /// client's bound.
    async fn counts_many(self: &Arc<Self>, asks: &[Ask], range: BucketRange) -> Vec<Counts> {
        let now = crate::time::now_secs();
        let starts = self.data_starts(asks, range, now).await;
        let mut skip: HashMap<String, usize> = HashMap::new();
        for (ask, start) in asks.iter().zip(&starts) {
            let Ok(prefix) = start else { continue };
            for q in queries(&ask.spec, range.width) {
                let s = skip.entry(q).or_insert(*prefix);
                *s = (*s).min(*prefix);
            }
        }
        let mut tasks = JoinSet::new();
        for (q, n) in skip {
            let me = Arc::clone(self);
            tasks.spawn(async move {
                let answers = me.per_bucket(&q, range, n).await;
                (q, answers)
            });
        }
        let mut answers: HashMap<String, PerBucket> = HashMap::new();
        while let Some(joined) = tasks.join_next().await {
            if let Ok((q, a)) = joined {
                answers.insert(q, a);
            }
        }
        asks.iter()
            .zip(starts)
            .map(|(ask, start)| match start {
                Ok(prefix) => assemble(&ask.spec, &answers, range, prefix),
                Err(e) => Counts::failed(range, e),
            })
            .collect()
    }

    /// How many leading buckets of `range` each ask cannot know: those older than
    /// `loki.retention` when it is set, otherwise those before the first line Loki holds of any
    /// of the ask's stream selectors ([`horizon`]); an error when a selector's search failed.
    async fn data_starts(
        self: &Arc<Self>,
        asks: &[Ask],
        range: BucketRange,
        now: i64,
    ) -> Vec<Result<usize, SourceError>> {
        if let Some(keep) = self.settings.retention {
            let prefix = horizon::missing_before(range, now - keep.as_secs() as i64);
            return asks.iter().map(|_| Ok(prefix)).collect();
        }
        let per_ask: Vec<Vec<String>> = asks.iter().map(|a| selectors(&a.spec)).collect();
        let uniq: HashSet<&String> = per_ask.iter().flatten().collect();
        let mut tasks = JoinSet::new();
        for sel in uniq {
            let (me, sel) = (Arc::clone(self), sel.clone());
            tasks.spawn(async move {
                let held = me.held_from(&sel, range, now).await;
                (sel, held)
            });
        }
        let mut held: HashMap<String, Result<Option<i64>, SourceError>> = HashMap::new();
        while let Some(joined) = tasks.join_next().await {
            if let Ok((sel, h)) = joined {
                held.insert(sel, h);
            }
        }
        per_ask
            .iter()
            .map(|sels| {
                let mut first: Option<i64> = None;
                for s in sels {
                    match held.get(s) {
                        // A selector with no line at all does not decide: the others' starts do.
                        Some(Ok(None)) => {}
                        Some(Ok(Some(t))) => first = Some(first.map_or(*t, |f| f.min(*t))),
                        Some(Err(e)) => return Err(e.clone()),
                        None => {
                            return Err(SourceError::BadResult {
                                query: s.clone(),
                                message: "the search for where its lines begin failed".into(),
                            });
                        }
                    }
                }
                Ok(first.map_or(0, |t| horizon::missing_before(range, t)))
            })
            .collect()
    }

    /// One metric query's answers per bucket: the first `skip` buckets, which Loki cannot
    /// know, are not asked; the rest in requests of at most [`Inner::buckets_per_request`]
    /// steps.
    async fn per_bucket(
        self: &Arc<Self>,
        query: &str,
        range: BucketRange,
        skip: usize,
    ) -> PerBucket {
        let w = range.width;
        let mut out = PerBucket {
            answers: vec![Answer::Values(Vec::new()); range.count],
            ..PerBucket::default()
        };
        let live = skip.min(range.count);
        if live > 0 {
            out.answers[..live].fill(Answer::Unknown);
        }
        let per = self.buckets_per_request(w);
        let mut tasks = JoinSet::new();
        let mut offset = live;
        while offset < range.count {
            let n = per.min(range.count - offset);
            let chunk = BucketRange {
                start: range.start + offset as i64 * w,
                count: n,
                width: w,
            };
            let (me, q) = (Arc::clone(self), query.to_string());
            tasks.spawn(async move {
                let r = me.client.range(&q, chunk.start + w, chunk.end(), w).await;
                (offset, chunk, r)
            });
            offset += n;
        }
        while let Some(joined) = tasks.join_next().await {
            let Ok((off, chunk, result)) = joined else {
                continue;
            };
            match result {
                Ok(matrix) => {
                    for (_, pts) in &matrix {
                        for (ts, v) in pts {
                            // The point at t is the bucket that ends at t.
                            let d = ts - w - chunk.start;
                            if d < 0 || d % w != 0 || (d / w) as usize >= chunk.count {
                                continue;
                            }
                            if let Answer::Values(vals) = &mut out.answers[off + (d / w) as usize] {
                                vals.push(*v);
                            }
                        }
                    }
                }
                Err(e) => {
                    out.answers[off..off + chunk.count].fill(Answer::Failed);
                    out.errors.push(e);
                    out.failed.push((chunk.start, chunk.end()));
                }
            }
        }
        out.failed.sort_unstable();
        out
    }
}

/// One spec's buckets from the answers of its queries. A bucket any query failed or could not
/// know is missing, and so are the first `prefix` buckets (before the data Loki holds, in
/// [`Counts::unknown`]); otherwise an absent point is zero lines.
fn assemble(
    spec: &CountSpec,
    answers: &HashMap<String, PerBucket>,
    range: BucketRange,
    prefix: usize,
) -> Counts {
    let qs = queries(spec, range.width);
    let Some(parts) = qs
        .iter()
        .map(|q| answers.get(q))
        .collect::<Option<Vec<&PerBucket>>>()
        .filter(|p| !p.is_empty())
    else {
        let what = spec.queries().join(", ");
        return Counts::failed(
            range,
            SourceError::BadResult {
                query: what,
                message: match spec {
                    CountSpec::Mixed { .. } => {
                        "a mixed-source SLI is counted side by side by the mixed source".into()
                    }
                    _ => "query task failed".into(),
                },
            },
        );
    };
    let known = |i: usize| {
        parts
            .iter()
            .all(|p| matches!(p.answers[i], Answer::Values(_)))
    };
    let mut buckets = match spec {
        CountSpec::Timeslice {
            good_when, slice, ..
        } => {
            let values: Vec<Vec<f64>> = (0..range.count).map(|i| values(parts[0], i)).collect();
            let ends: Vec<i64> = (1..=range.count as i64)
                .map(|i| range.start + i * range.width)
                .collect();
            let mut b = timeslices(&values, &ends, *good_when, slice.as_secs() as i64);
            for (i, bucket) in b.iter_mut().enumerate() {
                // No line in the slice: no slice, not a missing one.
                if values[i].is_empty() {
                    *bucket = Bucket::known(0.0, 0.0);
                }
            }
            b
        }
        CountSpec::Mixed { .. } => vec![Bucket::Missing; range.count],
        CountSpec::Events { good, bad, total } => {
            let sums: Vec<Vec<Option<f64>>> = parts
                .iter()
                .map(|p| {
                    (0..range.count)
                        .map(|i| Some(values(p, i).iter().sum::<f64>()))
                        .collect()
                })
                .collect();
            let mut side = sums.iter();
            let mut take = |present: bool| {
                if present {
                    side.next().map(Vec::as_slice)
                } else {
                    None
                }
            };
            let (g, b, t) = (
                take(good.is_some()),
                take(bad.is_some()),
                take(total.is_some()),
            );
            combine(g, b, t, range.count)
        }
    };
    let prefix = prefix.min(range.count);
    for (i, b) in buckets.iter_mut().enumerate() {
        if i < prefix || !known(i) {
            *b = Bucket::Missing;
        }
    }
    let mut counts = Counts {
        buckets,
        ..Counts::default()
    };
    for p in &parts {
        counts.errors.extend(p.errors.iter().cloned());
        counts.failed.extend(p.failed.iter().copied());
    }
    counts.failed.sort_unstable();
    counts.failed.dedup();
    if prefix > 0 {
        counts
            .unknown
            .push((range.start, range.start + prefix as i64 * range.width));
    }
    counts
}

fn values(p: &PerBucket, i: usize) -> Vec<f64> {
    match &p.answers[i] {
        Answer::Values(v) => v.clone(),
        Answer::Failed | Answer::Unknown => Vec::new(),
    }
}
