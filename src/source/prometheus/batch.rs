//! Batched counts for the daemon's tick and loads and for `report`: the counter selectors of
//! many SLOs over one range, deduplicated; over a tick's short range, those that differ in one
//! label's value merged into one selector ([`merge`]) and the rest joined 64 to a request; over
//! a long range, one request per selector, but a selector whose series are some of another's is
//! read out of that one's answer ([`subset`]). A request that Prometheus rejects is retried
//! selector by selector, so one bad selector cannot take the others down.

use super::{BASELINE_EDGES, Inner, edge_values, merge, subset};
use crate::sli::{CountSpec, EventQuery};
use crate::source::counts::{EdgeValues, combine_counted, counter_increases_counted};
use crate::source::sanity::Sanity;
use crate::source::{Ask, BucketRange, Counts, SourceError};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tokio::task::JoinSet;

/// Selectors per batched request of the daemon's tick.
pub const BATCH_SELECTORS: usize = 64;
/// Longest range (in buckets) whose selectors are joined with `or` in one request. Prometheus
/// evaluates `a or b or …` at every step, hashing the left side's series each time: over the
/// few steps of a tick that is cheaper than 64 requests, over a month of minutes it cost
/// Prometheus 25 times the CPU of one request per selector (measured: 17.6 s against 0.66 s for
/// a 30-SLO report). Longer ranges ask each distinct selector on its own.
pub const BATCH_MAX_BUCKETS: usize = 60;
/// Merge plans kept for sets of selectors asked before ([`Inner::merge_plan`]).
pub(super) const MERGE_PLANS_KEPT: usize = 8;
/// The label that tells the selectors of a batched request apart.
const BATCH_LABEL: &str = "__slowburn_q";
/// Why a `good` selector without series is an error rather than zero good events.
pub(super) const NO_GOOD_SERIES: &str = "the `good` selector matches no series (for a latency SLI: is the threshold one of the histogram's `le` values?); these buckets are missing rather than 0% good";

/// Per-bucket increases of one selector, and whether it matched any series.
#[derive(Debug, Clone)]
struct SelectorCounts {
    increases: Vec<Option<f64>>,
    has_series: bool,
    /// Falls of its counters that were not restarts.
    decreases: u32,
}

impl Inner {
    /// Counts of many asks over one range, for the daemon's tick and its loads and for
    /// `report`. Counter selectors are deduplicated; over a tick's short range, those that
    /// differ in one label's value are asked as one merged selector and the rest go
    /// [`BATCH_SELECTORS`] to a request (each wrapped in `label_replace` with a `__slowburn_q`
    /// index, joined by `or`). A range longer than one request holds is asked in pieces that
    /// long, one after the other. Other specs are counted one by one, concurrently (the
    /// semaphore still bounds requests).
    pub(super) async fn counts_many(
        self: &Arc<Self>,
        asks: &[Ask],
        range: BucketRange,
    ) -> Vec<Counts> {
        let per = self.buckets_per_request().max(1);
        if range.count <= per || asks.len() < 2 {
            return self.counts_many_short(asks, range).await;
        }
        let mut out: Vec<Counts> = asks
            .iter()
            .map(|_| Counts {
                buckets: Vec::with_capacity(range.count),
                ..Counts::default()
            })
            .collect();
        let mut start = range.start;
        let end = range.end();
        while start < end {
            let count = (((end - start) / range.width) as usize).min(per);
            let piece = BucketRange {
                start,
                count,
                width: range.width,
            };
            for (o, p) in out
                .iter_mut()
                .zip(self.counts_many_short(asks, piece).await)
            {
                o.buckets.extend(p.buckets);
                o.errors.extend(p.errors);
                o.failed.extend(p.failed);
                o.unknown.extend(p.unknown);
                o.sanity.merge(p.sanity);
            }
            start = piece.end();
        }
        out
    }

    /// [`Inner::counts_many`] for a range one request holds (others go one by one).
    async fn counts_many_short(self: &Arc<Self>, asks: &[Ask], range: BucketRange) -> Vec<Counts> {
        let short = range.count <= self.buckets_per_request();
        // Borrowed from the asks: a tick of 10,000 SLOs would otherwise copy 40,000 strings.
        let batchable: Vec<Option<[Option<&str>; 3]>> = asks
            .iter()
            .map(|a| if short { selectors(&a.spec) } else { None })
            .collect();
        // Borrowed too: only the requests' own queries are new strings.
        let mut uniq: Vec<&str> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(2 * asks.len());
        for sel in batchable.iter().flatten().flatten().flatten() {
            index.entry(sel).or_insert_with(|| {
                uniq.push(sel);
                uniq.len() - 1
            });
        }
        let per_selector = self.all_selectors(&uniq, range).await;
        let mut singles = JoinSet::new();
        for (i, (ask, sides)) in asks.iter().zip(&batchable).enumerate() {
            if sides.is_none() {
                let (me, spec) = (Arc::clone(self), ask.spec.clone());
                singles.spawn(async move { (i, me.counts(&spec, range).await) });
            }
        }
        let mut single_results: HashMap<usize, Counts> = HashMap::new();
        while let Some(joined) = singles.join_next().await {
            if let Ok((i, c)) = joined {
                single_results.insert(i, c);
            }
        }
        asks.iter()
            .zip(&batchable)
            .enumerate()
            .map(|(i, (ask, sides))| match sides {
                None => single_results.remove(&i).unwrap_or_else(|| {
                    Counts::failed(
                        range,
                        SourceError::BadResult {
                            query: ask.spec.queries().join(", "),
                            message: "query task failed".into(),
                        },
                    )
                }),
                Some(sides) => assemble(sides, &index, &per_selector, range),
            })
            .collect()
    }

    /// Every unique selector's increases, all requests at once. Over a tick's short range,
    /// selectors that differ in one label's value are asked as one ([`merge`]) and the rest
    /// [`BATCH_SELECTORS`] per request; a longer range asks each selector on its own. An
    /// unreachable Prometheus fails the whole request; a rejected one is asked again one
    /// selector at a time.
    async fn all_selectors(
        self: &Arc<Self>,
        uniq: &[&str],
        range: BucketRange,
    ) -> Vec<Option<Result<SelectorCounts, SourceError>>> {
        // Only a tick's short ranges are merged. Over a month's pieces, merging `report`'s 30
        // SLOs cut its requests from 201 to 21 and its wall time by a tenth, but raised its peak
        // memory from 34 to 51 MiB (answers ten series long, eight in flight), past
        // slo-generator's 38 MiB: each distinct selector is asked on its own there, unless its
        // series are in another's answer anyway.
        let asked = if range.count <= BATCH_MAX_BUCKETS {
            self.batches(uniq)
        } else {
            families(uniq)
        };
        let mut tasks = JoinSet::new();
        for a in asked {
            let me = Arc::clone(self);
            tasks.spawn(async move {
                let result = me.fitted_batch(&a, range).await;
                (a, result)
            });
        }
        let mut per_selector: Vec<Option<Result<SelectorCounts, SourceError>>> =
            (0..uniq.len()).map(|_| None).collect();
        while let Some(joined) = tasks.join_next().await {
            let Ok((a, result)) = joined else { continue };
            match result {
                Ok(list) => {
                    for (k, c) in a.slots.iter().zip(list) {
                        per_selector[*k] = Some(Ok(c));
                    }
                }
                Err(e @ SourceError::Unavailable { .. }) => {
                    for k in &a.slots {
                        per_selector[*k] = Some(Err(e.clone()));
                    }
                }
                Err(e) => {
                    // Asked alone or as a family's head, slot 0's selector was the query as
                    // written: the error is its answer. One bad selector must not take the
                    // others down: every other slot is asked on its own (a family's narrower
                    // selectors may fit where their head did not: a 413, a sample limit).
                    let rest = if matches!(a.tell, Tell::Alone | Tell::Narrowed(_)) {
                        per_selector[a.slots[0]] = Some(Err(e));
                        &a.slots[1..]
                    } else {
                        &a.slots[..]
                    };
                    for &k in rest {
                        per_selector[k] = Some(
                            self.fitted_batch(&Asked::alone(uniq, k), range)
                                .await
                                .map(|mut v| v.remove(0)),
                        );
                    }
                }
            }
        }
        per_selector
    }

    /// The requests for a tick's selectors: merged ones ([`merge::plan`], remembered for the
    /// same set of selectors, as every tick asks the same), then the rest joined
    /// [`BATCH_SELECTORS`] at a time.
    fn batches(&self, uniq: &[&str]) -> Vec<Asked> {
        let plan = self.merge_plan(uniq);
        let mut asked: Vec<Asked> = plan
            .0
            .iter()
            .enumerate()
            .map(|(k, m)| Asked {
                query: m.query.clone(),
                slots: m.members.iter().map(|(_, i)| *i).collect(),
                tell: Tell::ByValue(Arc::clone(&plan), k),
            })
            .collect();
        for group in plan.1.chunks(BATCH_SELECTORS) {
            if let [one] = group {
                asked.push(Asked::alone(uniq, *one));
                continue;
            }
            let tagged: Vec<String> = group
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    format!(
                        "label_replace({}, \"{BATCH_LABEL}\", \"{i}\", \"\", \"\")",
                        uniq[*k]
                    )
                })
                .collect();
            asked.push(Asked {
                query: balanced_or(&tagged),
                slots: group.to_vec(),
                tell: Tell::Tagged,
            });
        }
        asked
    }

    /// [`merge::plan`] of `uniq`, from the cache when the same selectors were planned before
    /// (parsing 20,000 selectors every tick would cost more than the merge saves).
    fn merge_plan(&self, uniq: &[&str]) -> Arc<merge::Plan> {
        let key = {
            let mut h = std::hash::DefaultHasher::new();
            uniq.hash(&mut h);
            h.finish()
        };
        if let Ok(cache) = self.merge_plans.lock()
            && let Some(p) = cache.get(&key)
        {
            return Arc::clone(p);
        }
        let plan = Arc::new(merge::plan(uniq, merge::MERGE_MAX));
        if let Ok(mut cache) = self.merge_plans.lock() {
            // A handful of ranges a tick at most (the tick's, a restart's gap): a bound, not an LRU.
            if cache.len() >= MERGE_PLANS_KEPT {
                cache.clear();
            }
            cache.insert(key, Arc::clone(&plan));
        }
        plan
    }

    /// [`Inner::selector_batch`], cut in halves while the backend refuses the range as too
    /// long (Mimir's or Cortex's query-length limit), keeping the size that fitted, as single
    /// queries do.
    fn fitted_batch<'a>(
        &'a self,
        asked: &'a Asked,
        r: BucketRange,
    ) -> crate::source::BoxFuture<'a, Result<Vec<SelectorCounts>, SourceError>> {
        Box::pin(async move {
            match self.selector_batch(asked, r).await {
                Err(e) if r.count > 1 && super::flavor::range_too_long(&e) => {
                    self.learn_fitted(r.count / 2, &e);
                    let (a, b) = r.split_at(r.count / 2);
                    let mut first = self.fitted_batch(asked, a).await?;
                    for (x, y) in first.iter_mut().zip(self.fitted_batch(asked, b).await?) {
                        x.increases.extend(y.increases);
                        x.has_series |= y.has_series;
                        x.decreases += y.decreases;
                    }
                    Ok(first)
                }
                other => other,
            }
        })
    }

    /// One request over a range. A range of a tick's length is asked first with one baseline
    /// edge instead of [`BASELINE_EDGES`]: where every series has a value at that edge, the
    /// edges before it cannot change a counted bucket (each series differences against its value
    /// there), so the answer is the same, from 5 points a series instead of 9 for a tick's 3
    /// buckets. Where a series lacks it (it was born in the range, or came back from a gap), the
    /// request is sent again with all the baselines. One answer does differ: a `good` selector
    /// whose every series stopped 6 to 10 minutes before the range was read as 0 good events
    /// from the baselines alone, and is now missing with its reason ([`NO_GOOD_SERIES`]) at
    /// once, as it already was from 10 minutes on.
    async fn selector_batch(
        &self,
        asked: &Asked,
        r: BucketRange,
    ) -> Result<Vec<SelectorCounts>, SourceError> {
        if r.count <= BATCH_MAX_BUCKETS {
            let (counts, baselined) = self.selector_edges(asked, r, 1).await?;
            if baselined {
                return Ok(counts);
            }
        }
        Ok(self.selector_edges(asked, r, BASELINE_EDGES).await?.0)
    }

    /// [`Inner::selector_batch`] with `b` baseline edges before the range, and whether every
    /// series in the answer had a value at the last of them.
    async fn selector_edges(
        &self,
        asked: &Asked,
        r: BucketRange,
        b: usize,
    ) -> Result<(Vec<SelectorCounts>, bool), SourceError> {
        let first = r.start - b as i64 * r.width;
        let m = self
            .range(
                &asked.query,
                first,
                r.end(),
                r.width,
                super::Values::Counter,
            )
            .await?;
        let n = asked.slots.len();
        let mut edges: Vec<Vec<EdgeValues>> = vec![Vec::new(); n];
        let mut baselined = true;
        // The slots of narrower selectors a series also belongs to ([`Tell::Narrowed`]).
        let mut narrowed: Vec<usize> = Vec::new();
        for (labels, pts) in &m {
            let to = match &asked.tell {
                Tell::Alone => 0..1,
                Tell::Tagged => match labels
                    .get(BATCH_LABEL)
                    .and_then(|v| v.parse::<usize>().ok())
                {
                    Some(i) => i..i + 1,
                    None => continue,
                },
                Tell::ByValue(plan, k) => {
                    let m = &plan.0[*k];
                    m.positions_of(labels.get(&m.label).unwrap_or(""))
                }
                Tell::Narrowed(filters) => {
                    narrowed.clear();
                    narrowed.extend(
                        filters
                            .iter()
                            .enumerate()
                            .filter(|(_, f)| f.matches(labels))
                            .map(|(k, _)| k + 1),
                    );
                    0..1
                }
            };
            if to.is_empty() || to.end > n {
                continue;
            }
            let e = edge_values(pts, first, r.width, b + r.count + 1);
            baselined &= e.get(b - 1).is_some_and(Option::is_some);
            // Copied for all but the last slot, which takes it (one slot is the rule).
            let mut slots = narrowed.iter().copied().filter(|k| *k < n).chain(to);
            if let Some(mut k) = slots.next() {
                for next in slots {
                    edges[k].push(e.clone());
                    k = next;
                }
                edges[k].push(e);
            }
        }
        let counts = edges
            .into_iter()
            .map(|series| {
                let has_series = !series.is_empty();
                let (mut inc, decreases) = counter_increases_counted(&series, b + r.count, r.count);
                // The baseline buckets dropped in place (`split_off` copied the rest anew).
                inc.drain(..b);
                SelectorCounts {
                    increases: inc,
                    has_series,
                    decreases,
                }
            })
            .collect();
        Ok((counts, baselined))
    }
}

/// One request of [`Inner::all_selectors`]: its query and the selectors it answers for.
struct Asked {
    query: String,
    /// The index in the unique selectors of each answer slot, in order.
    slots: Vec<usize>,
    tell: Tell,
}

impl Asked {
    /// Selector `k` asked as it is written.
    fn alone(uniq: &[&str], k: usize) -> Self {
        Asked {
            query: uniq[k].to_string(),
            slots: vec![k],
            tell: Tell::Alone,
        }
    }
}

/// How the series of one answer are told apart.
enum Tell {
    /// One selector: every series is its.
    Alone,
    /// Selectors tagged with [`BATCH_LABEL`] (their slot) by `label_replace`, joined with `or`.
    Tagged,
    /// The merged selector at this index of the plan (shared, not copied every tick): the
    /// series' value of the varying label names its slots.
    ByValue(Arc<merge::Plan>, usize),
    /// One selector (slot 0) and narrower ones read out of its answer ([`subset`]): slot `k + 1`
    /// takes the series that filter `k` matches.
    Narrowed(Vec<subset::Filter>),
}

/// The requests for a long range's selectors: one per selector, but a selector whose series
/// are some of another's ([`subset::plan`]) rides on that one's request.
fn families(uniq: &[&str]) -> Vec<Asked> {
    let mut narrower: Vec<Vec<(usize, subset::Filter)>> =
        (0..uniq.len()).map(|_| Vec::new()).collect();
    let mut derived = vec![false; uniq.len()];
    for (i, d) in subset::plan(uniq).into_iter().enumerate() {
        if let Some((base, filter)) = d {
            narrower[base].push((i, filter));
            derived[i] = true;
        }
    }
    narrower
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !derived[*i])
        .map(|(i, family)| {
            if family.is_empty() {
                return Asked::alone(uniq, i);
            }
            let (slots, filters): (Vec<usize>, Vec<subset::Filter>) = family.into_iter().unzip();
            Asked {
                query: uniq[i].to_string(),
                slots: std::iter::once(i).chain(slots).collect(),
                tell: Tell::Narrowed(filters),
            }
        })
        .collect()
}

/// `a or b or …` as a balanced tree of parenthesised pairs. Prometheus evaluates `x or y` by
/// hashing the series of `x`: a left-deep chain of 64 hashes the growing left side 63 times at
/// every step (about n²/2 series), a balanced tree n·log₂n. Measured on the 10,000-SLO bench's
/// Prometheus 2.42, 64 selectors over 10 steps (`scripts/bench-or-tree.py`): 25–38 ms of
/// evaluation as a chain, 7–10 ms as a tree; the answer is the same set of series (each selector
/// carries its own `__slowburn_q`).
fn balanced_or(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        _ => {
            let (left, right) = parts.split_at(parts.len() / 2);
            format!("({} or {})", balanced_or(left), balanced_or(right))
        }
    }
}

/// The good/bad/total counter selectors of a spec, or `None` when it is not made of plain
/// counter selectors only (expressions and time slices are not batched).
fn selectors(spec: &CountSpec) -> Option<[Option<&str>; 3]> {
    let CountSpec::Events { good, bad, total } = spec else {
        return None;
    };
    fn sel(q: &Option<EventQuery>) -> Option<Option<&str>> {
        match q {
            None => Some(None),
            Some(EventQuery::Selector(s)) => Some(Some(s.as_str())),
            Some(EventQuery::Expression(_)) => None,
        }
    }
    Some([sel(good)?, sel(bad)?, sel(total)?])
}

/// One spec's buckets from its selectors' batched results; any failed side makes the whole
/// range missing, and a `good` selector without series is an error, not 0% good.
fn assemble(
    sides: &[Option<&str>; 3],
    index: &HashMap<&str, usize>,
    per_selector: &[Option<Result<SelectorCounts, SourceError>>],
    range: BucketRange,
) -> Counts {
    let mut vals: [Option<&[Option<f64>]>; 3] = [None, None, None];
    let mut error = None;
    let mut sanity = Sanity::default();
    for (k, sel) in sides.iter().enumerate() {
        let Some(sel) = *sel else { continue };
        match index.get(sel).and_then(|i| per_selector[*i].as_ref()) {
            Some(Ok(c)) if k == 0 && !c.has_series => {
                error = Some(SourceError::BadResult {
                    query: sel.to_string(),
                    message: NO_GOOD_SERIES.into(),
                });
            }
            Some(Ok(c)) => {
                vals[k] = Some(&c.increases);
                sanity.decreases += c.decreases;
                // Only the total: an errors counter often appears with the first error.
                if k == 2 && !c.has_series {
                    sanity.empty.push(sel.to_string());
                }
            }
            Some(Err(e)) => error = Some(e.clone()),
            None => {
                error = Some(SourceError::BadResult {
                    query: sel.to_string(),
                    message: "batched query task failed".into(),
                })
            }
        }
    }
    match error {
        Some(e) => Counts::failed(range, e),
        None => {
            let [g, b, t] = vals;
            let (buckets, found) = combine_counted(g, b, t, range.count);
            sanity.merge(found);
            Counts {
                buckets,
                sanity,
                ..Counts::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::balanced_or;

    #[test]
    fn a_balanced_or_holds_every_part_once_at_depth_log2() {
        let parts: Vec<String> = (0..64).map(|i| format!("s{i}")).collect();
        let q = balanced_or(&parts);
        for p in &parts {
            assert_eq!(
                q.matches(&format!("{p})")).count() + q.matches(&format!("{p} ")).count(),
                1,
                "{p} in {q}"
            );
        }
        assert_eq!(q.matches(" or ").count(), 63);
        // Nesting depth: 6 parentheses deep for 64 parts, not 63 as a chain would need.
        let depth = q
            .chars()
            .scan(0i32, |d, c| {
                *d += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                Some(*d)
            })
            .max();
        assert_eq!(depth, Some(6));
        assert_eq!(balanced_or(&parts[..1]), "s0");
        assert_eq!(balanced_or(&parts[..3]), "(s0 or (s1 or s2))");
    }
}
