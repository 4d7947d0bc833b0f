//! The store as a source: `backtest --data-dir` replays what a stopped daemon recorded, through
//! the same [`Source`] interface as a live backend, so the replay cannot drift from the daemon.
//! Buckets the daemon never stored are missing.

use super::{Ask, BoxFuture, BucketRange, Counts, QueryStats, Source, SourceError};
use crate::store::Store;
use crate::store::keys::SeriesKey;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The name this source reports (`slowburn_source_*{source="store"}`, error messages).
pub const NAME: &str = "store";

/// Reads buckets of an open store by the series key of each ask.
pub struct StoreSource {
    store: Arc<Store>,
    stats: QueryStats,
}

impl StoreSource {
    /// A source over an open store (the daemon must not hold it: redb is single-process).
    pub fn new(store: Arc<Store>) -> Self {
        StoreSource {
            store,
            stats: QueryStats::default(),
        }
    }

    fn error(message: String) -> SourceError {
        SourceError::Setup(format!("store: {message}"))
    }
}

impl Source for StoreSource {
    fn name(&self) -> &str {
        NAME
    }

    fn counts_many<'a>(
        &'a self,
        asks: &'a [Ask],
        range: BucketRange,
    ) -> BoxFuture<'a, Vec<Counts>> {
        Box::pin(async move {
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let ids: HashMap<String, u64> = match self.store.series_keys() {
                Ok(keys) => keys.into_iter().collect(),
                Err(e) => {
                    let err = Self::error(e.to_string());
                    return asks
                        .iter()
                        .map(|_| Counts::failed(range, err.clone()))
                        .collect();
                }
            };
            asks.iter()
                .map(|ask| {
                    let key = SeriesKey::new(&ask.slo, &ask.spec, range.width, ask.role);
                    match ids.get(key.as_str()) {
                        None => Counts::failed(
                            range,
                            Self::error(format!(
                                "no stored history for `{}` in this definition (the daemon has not run it)",
                                ask.slo
                            )),
                        ),
                        Some(id) => match self.store.get(*id, range.start, range.width, range.count)
                        {
                            Ok(buckets) => Counts {
                                buckets,
                                ..Counts::default()
                            },
                            Err(e) => Counts::failed(range, Self::error(e.to_string())),
                        },
                    }
                })
                .collect()
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            self.store
                .series_keys()
                .map(|_| ())
                .map_err(|e| Self::error(e.to_string()))
        })
    }

    fn stats(&self) -> &QueryStats {
        &self.stats
    }
}
