//! One evaluation at a bucket boundary, as its stages: [`Engine::plan`] what to query,
//! [`Engine::fetch`] it from each SLO's source, [`Engine::roll`] the window sums forward,
//! [`Engine::commit`] the tick's buckets and the sums they give in one transaction, then alerts,
//! retention and publishing.

use super::tracked::{ColdPlan, Tracked, cache_cold, cold_bucket};
use super::{Engine, ranges};
use crate::budget::Bucket;
use crate::maintenance::Maintenance;
use crate::source::sanity::Sanity;
use crate::source::{Ask, BucketRange, Counts, Source, SourceError};
use crate::store::keys::SeriesKey;
use crate::store::{CHUNK, Reader, StoreError, Write};
use smallvec::SmallVec;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;
use tracing::{debug, info, warn};

/// Most chunk rows the retention pass deletes in one tick.
const RETENTION_ROWS: usize = 2_000;

/// A query the tick will run for one tracked series.
pub(super) struct Job {
    slo: usize,
    sla: bool,
    start: i64,
    count: usize,
    /// A failed range asked again (its old values come from the store, not from memory).
    heal: bool,
}

impl Engine {
    /// One evaluation at the bucket boundary `at`.
    pub async fn tick(&mut self, at: i64) -> Result<(), StoreError> {
        if self.take_corrections() {
            info!(
                corrections = self.corrections.len(),
                "corrections changed: the SLOs they concern are summed again from their stored buckets"
            );
            // As a reload with the same config: a series whose corrections did not change keeps
            // its state; the others are read again (their stored sums name other corrections).
            self.apply(Arc::clone(&self.config), at).await?;
        }
        if self.needs_rebuild || self.stalled(at) {
            self.rebuild(at).await?;
            self.publish(at);
            return Ok(());
        }
        self.refresh_members(at).await?;
        let t0 = Instant::now();
        let jobs = self.plan(at);
        let results = self.fetch(&jobs).await;
        let t1 = Instant::now();
        let olds = self.read_olds(&jobs)?;
        let (errors, unreadable) = self.roll(&jobs, &results, olds)?;
        let t2 = Instant::now();
        // From here on memory is ahead of the store until the commit lands.
        if let Err(e) = self.commit(&jobs, &results, !unreadable) {
            self.needs_rebuild = true;
            return Err(e);
        }
        let t3 = Instant::now();
        if unreadable {
            self.needs_rebuild = true;
            self.trust_sums = false;
        }
        for (i, s) in self.slos.iter_mut().enumerate() {
            s.last_error = errors.get(&i).map(|e| e.join("; "));
        }
        self.sanity(&jobs, &results, at);
        self.evaluate_alerts(at);
        let t4 = Instant::now();
        self.retention(at);
        let t5 = Instant::now();
        self.publish(at);
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        debug!(
            at,
            jobs = jobs.len(),
            fetch_ms = ms(t0, t1),
            roll_ms = ms(t1, t2),
            commit_ms = ms(t2, t3),
            alerts_ms = ms(t3, t4),
            retention_ms = ms(t4, t5),
            publish_ms = ms(t5, Instant::now()),
            "tick stages"
        );
        Ok(())
    }

    /// A stall longer than a window (a suspended host) leaves nothing to slide: start over.
    fn stalled(&self, at: i64) -> bool {
        self.slos.iter().any(|s| {
            std::iter::once(&s.main)
                .chain(s.sla.as_ref())
                .any(|t| t.rolling.at() < at - t.span)
        })
    }

    /// Stage 1: the new buckets and the last `lag` again (late samples) for every series, and
    /// its failed ranges when healing is due.
    fn plan(&mut self, at: i64) -> Vec<Job> {
        let width = self.width();
        let lag = i64::from(self.config.engine.lag);
        let heal_due = at - self.last_heal >= self.config.engine.heal_interval.as_secs() as i64;
        if heal_due {
            self.last_heal = at;
        }
        let mut jobs = Vec::new();
        for (i, s) in self.slos.iter_mut().enumerate() {
            for (t, sla) in
                std::iter::once((&mut s.main, false)).chain(s.sla.as_mut().map(|t| (t, true)))
            {
                let oldest = at - t.span;
                let from = t.rolling.at().min(at - lag * width).max(oldest);
                if from < at {
                    jobs.push(Job {
                        slo: i,
                        sla,
                        start: from,
                        count: ((at - from) / width) as usize,
                        heal: false,
                    });
                }
                ranges::trim_before(&mut t.heal, oldest);
                if heal_due {
                    for &(s0, e0) in &t.heal {
                        let e0 = e0.min(from);
                        if e0 > s0 {
                            jobs.push(Job {
                                slo: i,
                                sla,
                                start: s0,
                                count: ((e0 - s0) / width) as usize,
                                heal: true,
                            });
                        }
                    }
                }
            }
        }
        jobs
    }

    /// Stage 2: everything concurrently (each source bounds its requests in flight). Jobs of one
    /// source over the same range (normally every SLO's lag window) share one batched call.
    /// Whatever has not answered by `engine.tick_deadline` is missing (and healed later), so a
    /// stalled source cannot freeze evaluation.
    /// Buckets in a maintenance window come back excluded, not good.
    async fn fetch(&self, jobs: &[Job]) -> Vec<Option<Counts>> {
        let width = self.width();
        let deadline =
            std::time::Duration::from_millis(self.config.engine.tick_deadline.as_millis());
        let mut tasks = tokio::task::JoinSet::new();
        // Grouped by source name and range; the group keeps the source it was looked up with.
        type Group = (Arc<dyn Source>, Vec<usize>);
        let mut groups: BTreeMap<(&str, i64, usize), Group> = BTreeMap::new();
        for (j, job) in jobs.iter().enumerate() {
            let range = BucketRange {
                start: job.start,
                count: job.count,
                width,
            };
            let slo = &self.slos[job.slo].slo;
            let source = match self.sources.for_slo(slo) {
                Ok(s) => s,
                Err(e) => {
                    let counts = Counts::failed(range, e);
                    tasks.spawn(async move { vec![(j, counts)] });
                    continue;
                }
            };
            if job.heal {
                let ask = self.tracked(job).ask.clone();
                let source = Arc::clone(source);
                tasks.spawn(async move {
                    let counts =
                        within(deadline, range, source.name(), source.counts(&ask, range)).await;
                    vec![(j, counts)]
                });
            } else {
                groups
                    .entry((source.name(), job.start, job.count))
                    .or_insert_with(|| (Arc::clone(source), Vec::new()))
                    .1
                    .push(j);
            }
        }
        for ((_, start, count), (source, idx)) in groups {
            let asks: Vec<Ask> = idx
                .iter()
                .map(|j| self.tracked(&jobs[*j]).ask.clone())
                .collect();
            let range = BucketRange {
                start,
                count,
                width,
            };
            tasks.spawn(async move {
                let name = source.name().to_string();
                match tokio::time::timeout(deadline, source.counts_many(&asks, range)).await {
                    Ok(counts) => idx.into_iter().zip(counts).collect::<Vec<_>>(),
                    Err(_) => idx
                        .into_iter()
                        .map(|j| (j, late(deadline, range, &name)))
                        .collect(),
                }
            });
        }
        let mut results: Vec<Option<Counts>> = (0..jobs.len()).map(|_| None).collect();
        let masks: Vec<Vec<crate::maintenance::Maintenance>> = self
            .slos
            .iter()
            .map(|s| self.config.maintenance_for(&s.slo))
            .collect();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(done) => {
                    for (j, mut counts) in done {
                        let job = &jobs[j];
                        crate::maintenance::mask(
                            &masks[job.slo],
                            job.start,
                            width,
                            &mut counts.buckets,
                        );
                        results[j] = Some(counts);
                    }
                }
                Err(e) => {
                    warn!(error = %e, "a query task failed; its buckets are retried next tick")
                }
            }
        }
        results
    }

    /// The old values of healed ranges, far back, so from the store before it changes.
    fn read_olds(&self, jobs: &[Job]) -> Result<Vec<Option<Vec<Bucket>>>, StoreError> {
        let width = self.width();
        let store = &self.shared.store;
        jobs.iter()
            .map(|job| {
                Ok(if job.heal {
                    let t = self.tracked(job);
                    // As the sums count them: excluded inside a correction.
                    let mut olds = store.get(t.series, job.start, width, job.count)?;
                    crate::maintenance::mask(&t.mask, job.start, width, &mut olds);
                    Some(olds)
                } else {
                    None
                })
            })
            .collect()
    }

    /// Stage 4: commits the new counts of the whole tick and, beside them, the running totals
    /// they give (unless `with_sums` is false: then the stored totals of these series are
    /// dropped and a restart sums their buckets again).
    fn commit(
        &mut self,
        jobs: &[Job],
        results: &[Option<Counts>],
        with_sums: bool,
    ) -> Result<(), StoreError> {
        let width = self.width();
        let store = Arc::clone(&self.shared.store);
        let writes: Vec<Write<'_>> = jobs
            .iter()
            .zip(results)
            .filter_map(|(job, r)| {
                r.as_ref().map(|c| Write {
                    series: self.tracked(job).series,
                    start: job.start,
                    width,
                    buckets: &c.buckets,
                })
            })
            .collect();
        let mut sums = super::checkpoint::Rows::default();
        if with_sums {
            let mut written: Vec<u64> = writes.iter().map(|w| w.series).collect();
            written.sort_unstable();
            written.dedup();
            for s in &self.slos {
                for t in std::iter::once(&s.main).chain(s.sla.as_ref()) {
                    if written.binary_search(&t.series).is_ok() {
                        t.checkpoint(&mut sums);
                    }
                }
            }
        }
        store.commit(&writes, &sums.rows())?;
        drop(writes);
        for s in &mut self.slos {
            for t in std::iter::once(&mut s.main).chain(s.sla.as_mut()) {
                t.committed();
            }
        }
        Ok(())
    }

    /// Stage 3: moves the rolling sums: corrections first (healed ranges, then re-queried
    /// buckets), then new buckets, reading leaving buckets from memory or the store (as it was
    /// before this tick: what the tick changes far back is read from the series' pending
    /// buckets). Returns the query errors per SLO index, and whether a stored bucket was
    /// unreadable.
    #[allow(clippy::type_complexity)]
    fn roll(
        &mut self,
        jobs: &[Job],
        results: &[Option<Counts>],
        mut olds: Vec<Option<Vec<Bucket>>>,
    ) -> Result<(HashMap<usize, Vec<String>>, bool), StoreError> {
        let width = self.width();
        let reader = self.shared.store.reader()?;
        let mut unreadable = false;
        let mut errors: HashMap<usize, Vec<String>> = HashMap::new();
        // One failure (a batch of 64 selectors, an unreachable source) is shared by many SLOs:
        // logged once with how many it left without data, not once per SLO.
        let mut failed: BTreeMap<String, (Vec<usize>, String)> = BTreeMap::new();
        self.read_cold_ahead(jobs, results, &reader);
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|j| (!jobs[*j].heal, jobs[*j].start));
        for j in order {
            let job = &jobs[j];
            let Some(counts) = &results[j] else { continue };
            if !counts.errors.is_empty() {
                let id = &self.slos[job.slo].slo.id;
                for e in &counts.errors {
                    self.shared.health.source_error(id, e.backend());
                    let text = e.to_string();
                    let (slos, _) = failed
                        .entry(text.clone())
                        .or_insert_with(|| (Vec::new(), id.clone()));
                    // An SLO's main, SLA and healed ranges may share an error: counted once.
                    if slos.last() != Some(&job.slo) {
                        slos.push(job.slo);
                    }
                    errors.entry(job.slo).or_default().push(text);
                }
            }
            let stored_old = olds[j].take();
            let range = BucketRange {
                start: job.start,
                count: job.count,
                width,
            };
            absorb(
                self.tracked_mut(job),
                range,
                counts,
                stored_old.as_deref(),
                job.heal,
                &reader,
                &mut unreadable,
            );
        }
        for (error, (mut slos, first)) in failed {
            slos.sort_unstable();
            slos.dedup();
            let slos = slos.len();
            warn!(slos, slo = %first, error = %clip(&error), "query failed; its buckets are missing until healed");
        }
        Ok((errors, unreadable))
    }

    /// The chunks at the long windows' trailing edges that this tick's new buckets move the
    /// sums onto, read for every series in one ordered scan per chunk start: each window's edge
    /// enters a new chunk every 64 ticks, and then for all 10,000 series at once.
    fn read_cold_ahead(&mut self, jobs: &[Job], results: &[Option<Counts>], reader: &Reader) {
        let width = self.width();
        let mut plan = ColdPlan::new(
            jobs.iter()
                .enumerate()
                .filter(|(j, job)| !job.heal && results[*j].is_some())
                .map(|(j, job)| (j, self.tracked(job), job.start + job.count as i64 * width)),
        );
        if plan.is_empty() {
            return;
        }
        match plan.read(reader) {
            Ok(mut found) => {
                for (j, needs) in plan.into_needs() {
                    cache_cold(self.tracked_mut(&jobs[j]), &mut found, &needs);
                }
            }
            // Each chunk is then read when the sums reach it, and a failure reported there.
            Err(e) => warn!(error = %e, "reading the long windows' edges ahead failed"),
        }
    }

    /// The main series' answers of the tick, judged for each SLO ([`super::sanity`]); a kind's
    /// first finding is logged with the SLO's queries.
    fn sanity(&mut self, jobs: &[Job], results: &[Option<Counts>], at: i64) {
        let mut found: HashMap<usize, Sanity> = HashMap::new();
        for (job, r) in jobs.iter().zip(results) {
            // A failed or late answer says nothing about sanity: it must not clear the state.
            if let Some(c) = r
                && !job.sla
                && !job.heal
                && c.errors.is_empty()
            {
                found.entry(job.slo).or_default().merge(c.sanity.clone());
            }
        }
        for (i, s) in self.slos.iter_mut().enumerate() {
            let Some(f) = found.get(&i) else { continue };
            let no_data = s
                .slo
                .policy
                .no_data_after
                .map_or(1800, |d| d.as_secs() as i64);
            for (kind, why) in s.sanity.take(f, at, no_data) {
                warn!(slo = %s.slo.id, kind, queries = %s.slo.counts.queries().join(", "), "sanity: {why}");
            }
        }
    }

    /// Stage 6: retention, a little every tick: the oldest chunks that ended before the longest
    /// window plus the margin, at most [`RETENTION_ROWS`] a tick (chunks are stored oldest first,
    /// so this reads only the front of the table), so a store with days too many never costs
    /// seconds in one tick. Every series' bucket width is looked up again hourly.
    fn retention(&mut self, at: i64) {
        let width = self.width();
        let store = Arc::clone(&self.shared.store);
        if at - self.last_retention >= 3600 || self.widths.is_empty() {
            self.last_retention = at;
            self.widths = store
                .series_keys()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, id)| (id, SeriesKey::from_stored(k).width().unwrap_or(width)))
                .collect();
        }
        let longest = self.slos.iter().map(|s| s.main.span).max().unwrap_or(0);
        let cutoff = at - longest - self.config.engine.retention_margin.as_secs() as i64;
        let widths = &self.widths;
        match store.delete_before_at_most(
            cutoff,
            |id| widths.get(&id).copied().unwrap_or(width),
            RETENTION_ROWS,
        ) {
            Ok(0) => {}
            Ok(rows) => debug!(rows, "retention removed old chunks"),
            Err(e) => warn!(error = %e, "retention failed"),
        }
    }

    fn tracked(&self, job: &Job) -> &Tracked {
        let s = &self.slos[job.slo];
        match (&s.sla, job.sla) {
            (Some(t), true) => t,
            _ => &s.main,
        }
    }

    fn tracked_mut(&mut self, job: &Job) -> &mut Tracked {
        let s = &mut self.slos[job.slo];
        match (&mut s.sla, job.sla) {
            (Some(t), true) => t,
            _ => &mut s.main,
        }
    }
}

/// Applies one answer for `range` to a series: its buckets to the sums ([`roll_series`]), its
/// failed ranges to the heal list (an asked-again range leaves it first), and the end of what its
/// source cannot know. The tick and the load both take answers this way.
pub(super) fn absorb(
    t: &mut Tracked,
    range: BucketRange,
    counts: &Counts,
    stored_old: Option<&[Bucket]>,
    heal: bool,
    reader: &Reader,
    unreadable: &mut bool,
) {
    t.unknown_until = t
        .unknown_until
        .max(counts.unknown.iter().map(|r| r.1).max());
    if heal {
        ranges::remove(&mut t.heal, range.start, range.end());
    }
    for &(s0, e0) in &counts.failed {
        ranges::add(&mut t.heal, s0, e0, CHUNK as i64 * range.width);
    }
    roll_series(
        t,
        range.start,
        &counts.buckets,
        stored_old,
        reader,
        unreadable,
    );
}

/// Applies one job's new buckets (from `start`) to a series' sums. A missing new bucket keeps
/// what the sums count (a failed re-query never erases a known count); `stored_old` holds the
/// committed-before values of a healed range; a bucket leaving a long window is read from the
/// series' pending buckets, else from the store through its chunk cache.
fn roll_series(
    t: &mut Tracked,
    start: i64,
    buckets: &[Bucket],
    stored_old: Option<&[Bucket]>,
    reader: &Reader,
    unreadable: &mut bool,
) {
    let width = t.recent.width;
    // Buckets before the sums' end are corrections, applied at once; the rest move the sums on.
    let split = ((t.rolling.at() - start) / width).clamp(0, buckets.len() as i64) as usize;
    if split > 0 {
        // On the stack: a tick re-reads a few buckets of each of 10,000 series.
        let olds: SmallVec<[Bucket; 8]> = (0..split)
            .map(|k| {
                let s = start + k as i64 * width;
                t.recent
                    .get(s)
                    .or_else(|| t.pending.get(&s).copied())
                    .or_else(|| stored_old.and_then(|o| o.get(k).copied()))
                    .unwrap_or(Bucket::Missing)
            })
            .collect();
        let effs: SmallVec<[Bucket; 8]> = buckets[..split]
            .iter()
            .zip(&olds)
            .enumerate()
            .map(|(k, (new, old))| {
                match corrected(&t.mask, start + k as i64 * width, width, *new) {
                    b @ (Bucket::Known { .. } | Bucket::Excluded) => b,
                    Bucket::Missing => *old,
                }
            })
            .collect();
        t.rolling.replace(start, &olds, &effs);
        for (k, (old, eff)) in olds.iter().zip(&effs).enumerate() {
            if old != eff {
                let s = start + k as i64 * width;
                t.recent.set(s, *eff);
                // Also kept apart: `recent` may drop it before the commit stores it.
                t.pending.insert(s, *eff);
            }
        }
    }
    for (k, new) in buckets.iter().enumerate().skip(split) {
        let s = start + k as i64 * width;
        if s != t.rolling.at() {
            continue;
        }
        // A missing new bucket counts as missing: nothing was counted for it before.
        let eff = corrected(&t.mask, s, width, *new);
        let Tracked {
            rolling,
            recent,
            cold,
            pending,
            series,
            mask,
            ..
        } = t;
        let mask: &[Maintenance] = mask;
        rolling.advance(eff, |leaving| {
            recent
                .get(leaving)
                .or_else(|| pending.get(&leaving).copied())
                .unwrap_or_else(|| {
                    let stored = cold_bucket(cold, reader, *series, width, leaving, unreadable);
                    corrected(mask, leaving, width, stored)
                })
        });
        t.recent.push(eff);
    }
}

/// A bucket starting at `start` as the sums count it: excluded inside one of the corrections'
/// windows `mask`, whatever the source answered or the store holds (the store keeps the counts).
fn corrected(mask: &[Maintenance], start: i64, width: i64, b: Bucket) -> Bucket {
    if mask.iter().any(|m| m.overlaps(start, start + width)) {
        Bucket::Excluded
    } else {
        b
    }
}

/// An error as a log line shows it: a batched query names up to 64 selectors, kept to its start
/// and end (the SLO's API entry and page keep the whole text).
fn clip(error: &str) -> std::borrow::Cow<'_, str> {
    const KEEP: usize = 400;
    if error.len() <= 2 * KEEP {
        return error.into();
    }
    let mut head = KEEP;
    while !error.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = error.len() - KEEP;
    while !error.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{} … {}", &error[..head], &error[tail..]).into()
}

/// Counts of one call, or every bucket missing when it has not answered by `deadline`.
async fn within(
    deadline: std::time::Duration,
    range: BucketRange,
    source: &str,
    call: impl std::future::Future<Output = Counts>,
) -> Counts {
    match tokio::time::timeout(deadline, call).await {
        Ok(c) => c,
        Err(_) => late(deadline, range, source),
    }
}

/// What a call that missed the tick's deadline yields: its buckets missing, to heal.
fn late(deadline: std::time::Duration, range: BucketRange, source: &str) -> Counts {
    Counts::failed(
        range,
        SourceError::Unavailable {
            backend: source.to_string(),
            url: String::new(),
            query: format!("{} buckets from {}", range.count, range.start),
            attempts: 1,
            message: format!(
                "no answer within the tick's deadline ({} s, `engine.tick_deadline`); these buckets are missing until healed",
                deadline.as_secs_f64()
            ),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn long_errors_are_clipped_in_the_middle_on_char_boundaries() {
        assert_eq!(clip("short"), "short");
        let long = format!("{}{}{}", "é".repeat(300), "x".repeat(500), "ü".repeat(300));
        let c = clip(&long);
        assert!(c.len() < long.len() && c.contains(" … "));
        assert!(c.starts_with("éé") && c.ends_with("üü"));
    }
}
