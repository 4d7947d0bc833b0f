//! Mixed-source SLIs: a `total` from Prometheus and `errors` from Loki, say. Each side is asked
//! of its own source as a one-query spec through the ordinary [`Source`] interface (so every
//! source keeps its batching, limits and retries), then the sides are combined with the same
//! rules as a one-source ratio. No source learns another's language.
//!
//! A side's bucket is missing when its source failed for it or cannot know it (older than Loki's
//! retention); a good or bad side that merely found nothing (a Prometheus error counter that
//! does not exist yet) is zero, as in a one-source ratio.

use super::counts::combine;
use super::{
    Ask, BoxFuture, BucketRange, Counts, Finding, QueryStats, Source, SourceError, SourceKind,
};
use crate::budget::Bucket;
use crate::config::{CountSpec, Sided, Slo};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::task::JoinSet;

/// Routes each side of a mixed SLI to the source it names.
pub struct MixedSource {
    sources: Vec<(SourceKind, Arc<dyn Source>)>,
    stats: QueryStats,
}

impl MixedSource {
    /// A mixed source over the registry's sources, each under its kind.
    pub fn new(sources: Vec<(SourceKind, Arc<dyn Source>)>) -> Self {
        MixedSource {
            sources,
            stats: QueryStats::default(),
        }
    }

    fn source(&self, kind: SourceKind) -> Result<&Arc<dyn Source>, SourceError> {
        self.sources
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, s)| s)
            .ok_or_else(|| SourceError::Setup(format!("no source `{kind}` is configured")))
    }
}

/// The sides of a mixed spec in good, bad, total order.
fn sides(spec: &CountSpec) -> Option<[Option<&Sided>; 3]> {
    match spec {
        CountSpec::Mixed { good, bad, total } => {
            Some([good.as_ref(), bad.as_ref(), total.as_ref()])
        }
        _ => None,
    }
}

/// One side alone as a spec any source counts: `bad = total = query`, so each bucket's total is
/// the side's count and a source's own rules for a missing total apply.
fn side_spec(side: &Sided) -> CountSpec {
    CountSpec::Events {
        good: None,
        bad: Some(side.query.clone()),
        total: Some(side.query.clone()),
    }
}

/// [`side_spec`] asked for the SLO of `ask`.
fn side_ask(ask: &Ask, side: &Sided) -> Ask {
    Ask {
        slo: ask.slo.clone(),
        spec: Arc::new(side_spec(side)),
        role: ask.role,
    }
}

/// Which ask and which side (good, bad, total) an answer belongs to.
type Slot = (usize, usize);

fn covers(ranges: &[(i64, i64)], start: i64) -> bool {
    ranges.iter().any(|&(s, e)| s <= start && start < e)
}

impl Source for MixedSource {
    fn name(&self) -> &str {
        SourceKind::Mixed.name()
    }

    fn counts_many<'a>(
        &'a self,
        asks: &'a [Ask],
        range: BucketRange,
    ) -> BoxFuture<'a, Vec<Counts>> {
        Box::pin(async move {
            // Group every side by its source: one counts_many per source.
            let mut groups: HashMap<SourceKind, Vec<(Slot, Ask)>> = HashMap::new();
            for (i, ask) in asks.iter().enumerate() {
                for (k, side) in sides(&ask.spec).into_iter().flatten().enumerate() {
                    if let Some(side) = side {
                        groups
                            .entry(side.source)
                            .or_default()
                            .push(((i, k), side_ask(ask, side)));
                    }
                }
            }
            let mut tasks = JoinSet::new();
            let mut answers: HashMap<(usize, usize), Counts> = HashMap::new();
            for (kind, group) in groups {
                let (slots, sub): (Vec<_>, Vec<Ask>) = group.into_iter().unzip();
                match self.source(kind) {
                    Ok(source) => {
                        let source = Arc::clone(source);
                        tasks.spawn(async move { (slots, source.counts_many(&sub, range).await) });
                    }
                    Err(e) => {
                        for slot in slots {
                            answers.insert(slot, Counts::failed(range, e.clone()));
                        }
                    }
                }
            }
            while let Some(joined) = tasks.join_next().await {
                if let Ok((slots, counts)) = joined {
                    answers.extend(slots.into_iter().zip(counts));
                }
            }
            (0..asks.len())
                .map(|i| assemble(&asks[i].spec, i, &mut answers, range))
                .collect()
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), SourceError>> {
        // The sides' sources are checked on their own by the registry.
        Box::pin(async { Ok(()) })
    }

    fn stats(&self) -> &QueryStats {
        &self.stats
    }

    fn check<'a>(&'a self, slo: &'a Slo) -> BoxFuture<'a, Vec<Finding>> {
        Box::pin(async move {
            let mut out = Vec::new();
            let Some(list) = sides(&slo.counts) else {
                return out;
            };
            for side in list.into_iter().flatten() {
                let mut one = slo.clone();
                one.source = side.source;
                one.counts = side_spec(side);
                match self.source(side.source) {
                    // Both queries of the one-side spec are the same: report it once.
                    Ok(s) => {
                        let mut found = s.check(&one).await;
                        found.dedup();
                        out.extend(found);
                    }
                    Err(e) => out.push(Finding::Problem(e.to_string())),
                }
            }
            out
        })
    }
}

/// One mixed ask's buckets from its sides' answers.
fn assemble(
    spec: &CountSpec,
    i: usize,
    answers: &mut HashMap<(usize, usize), Counts>,
    range: BucketRange,
) -> Counts {
    let Some(list) = sides(spec) else {
        return Counts::failed(
            range,
            SourceError::Setup(
                "the mixed source counts only SLIs whose sides name their sources".into(),
            ),
        );
    };
    let mut out = Counts::default();
    let mut unknown = vec![false; range.count];
    let mut vals: [Option<Vec<Option<f64>>>; 3] = [None, None, None];
    for (k, side) in list.iter().enumerate() {
        if side.is_none() {
            continue;
        }
        let c = answers.remove(&(i, k)).unwrap_or_else(|| {
            Counts::failed(
                range,
                SourceError::Setup("a side of a mixed SLI got no answer".into()),
            )
        });
        let v: Vec<Option<f64>> = c
            .buckets
            .iter()
            .enumerate()
            .map(|(b, bucket)| match bucket {
                Bucket::Known { total, .. } => Some(*total),
                _ => {
                    let start = range.start + b as i64 * range.width;
                    if covers(&c.failed, start) || covers(&c.unknown, start) {
                        unknown[b] = true;
                    }
                    None
                }
            })
            .collect();
        vals[k] = Some(v);
        out.errors.extend(c.errors);
        out.failed.extend(c.failed);
        out.unknown.extend(c.unknown);
    }
    let [g, b, t] = &vals;
    out.buckets = combine(g.as_deref(), b.as_deref(), t.as_deref(), range.count);
    for (bucket, unknown) in out.buckets.iter_mut().zip(unknown) {
        if unknown {
            *bucket = Bucket::Missing;
        }
    }
    out.failed.sort_unstable();
    out.failed.dedup();
    out.unknown.sort_unstable();
    out.unknown.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sli::EventQuery;
    use crate::store::keys::Role;

    /// A scripted source: every bucket counts `n`, except a failed range and, for `errors`,
    /// nothing at all (a counter that does not exist yet).
    struct Fixed {
        name: &'static str,
        n: f64,
        failed: Option<(i64, i64)>,
        stats: QueryStats,
    }

    impl Source for Fixed {
        fn name(&self) -> &str {
            self.name
        }
        fn counts_many<'a>(
            &'a self,
            asks: &'a [Ask],
            r: BucketRange,
        ) -> BoxFuture<'a, Vec<Counts>> {
            Box::pin(async move {
                asks.iter()
                    .map(|_| {
                        let mut c = Counts::default();
                        for b in 0..r.count {
                            let start = r.start + b as i64 * r.width;
                            let bucket = match self.failed {
                                Some((s, e)) if s <= start && start < e => Bucket::Missing,
                                _ if self.n < 0.0 => Bucket::Missing,
                                _ => Bucket::known(0.0, self.n),
                            };
                            c.buckets.push(bucket);
                        }
                        c.failed.extend(self.failed);
                        c
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

    fn mixed(bad: SourceKind, total: SourceKind) -> Ask {
        let side = |s: SourceKind, q: &str| Sided {
            source: s,
            query: EventQuery::Selector(q.into()),
        };
        Ask {
            slo: "api/mixed".into(),
            spec: Arc::new(CountSpec::Mixed {
                good: None,
                bad: Some(side(bad, "{app=\"api\"} |= \"error\"")),
                total: Some(side(total, "requests_total")),
            }),
            role: Role::Slo,
        }
    }

    #[tokio::test]
    async fn sides_come_from_their_sources_and_failures_stay_missing() {
        let src = |kind: SourceKind, n, failed| -> (SourceKind, Arc<dyn Source>) {
            let source: Arc<dyn Source> = Arc::new(Fixed {
                name: kind.name(),
                n,
                failed,
                stats: QueryStats::default(),
            });
            (kind, source)
        };
        let (prometheus, loki) = (SourceKind::Prometheus, SourceKind::Loki);
        let m = MixedSource::new(vec![
            src(prometheus, 100.0, None),
            src(loki, 3.0, Some((120, 180))),
        ]);
        let r = BucketRange {
            start: 60,
            count: 3,
            width: 60,
        };
        let c = m.counts(&mixed(loki, prometheus), r).await;
        assert_eq!(
            c.buckets,
            vec![
                Bucket::known(97.0, 100.0),
                Bucket::Missing,
                Bucket::known(97.0, 100.0)
            ]
        );
        assert_eq!(c.failed, vec![(120, 180)]);
        // An errors side that found nothing (no failure) is zero errors, not missing.
        let m = MixedSource::new(vec![src(prometheus, 100.0, None), src(loki, -1.0, None)]);
        let c = m.counts(&mixed(loki, prometheus), r).await;
        assert_eq!(c.buckets, vec![Bucket::known(100.0, 100.0); 3]);
        // A side naming a source that is not configured is missing with the reason.
        let m = MixedSource::new(vec![src(prometheus, 100.0, None)]);
        let c = m.counts(&mixed(loki, prometheus), r).await;
        assert_eq!(c.buckets, vec![Bucket::Missing; 3]);
        assert!(
            c.errors[0].to_string().contains("no source `loki`"),
            "{:?}",
            c.errors
        );
    }
}
