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
//! a step of a query that *failed* is missing, and so is a bucket older than `loki.retention`.

mod check;
mod client;
pub mod wire;

use super::counts::{combine, timeslices};
use super::{Ask, BoxFuture, BucketRange, Counts, Finding, QueryStats, Source, SourceError};
use crate::budget::Bucket;
use crate::config::{CountSpec, LokiSettings, Slo};
use crate::sli::logql;
use client::Client;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::task::JoinSet;

/// The name SLIs use for this source and the `source` label of its metrics.
pub const NAME: &str = crate::config::LOKI_SOURCE;
/// Loki's default `max_query_length` (721h) less one hour of margin: no request spans more.
const MAX_SPAN_SECS: i64 = 720 * 3600;

/// A Loki query client with the settings of `slo.yaml`.
pub struct LokiSource {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    settings: LokiSettings,
}

/// What one query said about one bucket.
#[derive(Debug, Clone)]
enum Answer {
    /// The query succeeded: every series' value at the bucket's end (empty: no lines).
    Values(Vec<f64>),
    /// The request for this bucket failed: missing, worth asking again.
    Failed,
    /// Older than Loki's retention: missing, and asking again will not help.
    Unknown,
}

/// One query's answers over a range, with why some failed.
#[derive(Debug, Clone, Default)]
struct PerBucket {
    answers: Vec<Answer>,
    errors: Vec<SourceError>,
    failed: Vec<(i64, i64)>,
    unknown: Vec<(i64, i64)>,
}

impl LokiSource {
    /// Builds the client; the tenant, headers and password are sent but never logged.
    pub fn new(settings: &LokiSettings) -> Result<Arc<Self>, SourceError> {
        Ok(Arc::new(LokiSource {
            inner: Arc::new(Inner {
                client: Client::new(settings)?,
                settings: settings.clone(),
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
        &self.inner.client.stats
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
        Box::pin(check::check(&self.inner.client, slo))
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

impl Inner {
    /// Buckets per request: within `max_points_per_query` and Loki's query length.
    fn buckets_per_request(&self, width: i64) -> usize {
        let by_span = (MAX_SPAN_SECS / width.max(1)).max(1) as usize;
        (self.settings.max_points_per_query as usize)
            .min(by_span)
            .max(1)
    }

    /// Counts of many asks over one range. Each distinct metric query is asked once, however
    /// many SLOs share it (a common `total`), all concurrently under the client's bound.
    async fn counts_many(self: &Arc<Self>, asks: &[Ask], range: BucketRange) -> Vec<Counts> {
        let mut uniq: Vec<String> = Vec::new();
        for ask in asks {
            for q in queries(&ask.spec, range.width) {
                if !uniq.contains(&q) {
                    uniq.push(q);
                }
            }
        }
        let mut tasks = JoinSet::new();
        for q in uniq {
            let me = Arc::clone(self);
            tasks.spawn(async move {
                let answers = me.per_bucket(&q, range).await;
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
            .map(|ask| assemble(&ask.spec, &answers, range))
            .collect()
    }

    /// One metric query's answers per bucket: buckets older than the retention are not asked,
    /// the rest in requests of at most [`Inner::buckets_per_request`] steps.
    async fn per_bucket(self: &Arc<Self>, query: &str, range: BucketRange) -> PerBucket {
        let w = range.width;
        let mut out = PerBucket {
            answers: vec![Answer::Values(Vec::new()); range.count],
            ..PerBucket::default()
        };
        let live = match self.settings.retention {
            Some(keep) => {
                let oldest = crate::time::now_secs() - keep.as_secs() as i64;
                // A bucket is known only when all of it lies inside the retention.
                let behind = (oldest - range.start).max(0);
                let first = ((behind + w - 1) / w) as usize;
                first.min(range.count)
            }
            None => 0,
        };
        if live > 0 {
            out.answers[..live].fill(Answer::Unknown);
            out.unknown
                .push((range.start, range.start + live as i64 * w));
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
/// know is missing; otherwise an absent point is zero lines.
fn assemble(spec: &CountSpec, answers: &HashMap<String, PerBucket>, range: BucketRange) -> Counts {
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
    for (i, b) in buckets.iter_mut().enumerate() {
        if !known(i) {
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
        counts.unknown.extend(p.unknown.iter().copied());
    }
    counts.failed.sort_unstable();
    counts.failed.dedup();
    counts.unknown.dedup();
    counts
}

fn values(p: &PerBucket, i: usize) -> Vec<f64> {
    match &p.answers[i] {
        Answer::Values(v) => v.clone(),
        Answer::Failed | Answer::Unknown => Vec::new(),
    }
}
