//! Sources turn an SLI's [`CountSpec`] into per-bucket counts, behind one [`Source`] interface.
//!
//! Everything above this module (engine, `report`, `backtest`, the server, the CLI) holds sources
//! as `Arc<dyn Source>` in a [`Sources`] registry and looks them up by the [`SourceKind`] an SLO
//! reads; each source's settings build its client ([`SourceSettings::build`]). Only
//! `prometheus/` knows the Prometheus client (and `loki/` Loki's), both sending through the
//! shared [`crate::http::HttpLayer`], and [`store::StoreSource`] replays a stopped daemon's store
//! through the same interface. [`counts`] holds the pure arithmetic (counter differences, reset
//! handling, combining good/bad/total). A failed query yields [`Bucket::Missing`] for its
//! buckets, never zeros.

pub mod counts;
pub mod groups;
pub mod kind;
pub mod loki;
pub mod mixed;
pub mod prometheus;
pub mod sanity;
pub mod store;

pub use crate::http::stats::{QUERY_BUCKETS, QueryStats};
pub use kind::{SourceKind, SourceSettings};

use crate::budget::Bucket;
use crate::config::{Config, CountSpec, Slo};
use crate::secret::Secret;
use crate::store::keys::Role;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed future, so [`Source`] can be used as a trait object (`async fn` in traits is not
/// object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A run of aligned buckets to fetch: `count` buckets of `width` seconds from `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketRange {
    /// Start of the first bucket (unix seconds, aligned to `width`).
    pub start: i64,
    /// Number of buckets.
    pub count: usize,
    /// Bucket width in seconds.
    pub width: i64,
}

impl BucketRange {
    /// The `count` buckets that end at or before `end` (a bucket boundary).
    pub fn ending_at(end: i64, count: usize, width: i64) -> Self {
        BucketRange {
            start: end - count as i64 * width,
            count,
            width,
        }
    }
    /// End of the last bucket.
    pub fn end(&self) -> i64 {
        self.start + self.count as i64 * self.width
    }
    /// The first `n` buckets and the rest, for a range a backend refused as too long.
    pub fn split_at(&self, n: usize) -> (BucketRange, BucketRange) {
        let n = n.min(self.count);
        let first = BucketRange { count: n, ..*self };
        let rest = BucketRange {
            start: first.end(),
            count: self.count - n,
            width: self.width,
        };
        (first, rest)
    }
}

/// One thing to count: an SLO's (or its SLA's) spec. The SLO id names it in messages and lets
/// the store source find the series the daemon wrote. Shared, not copied: a tick hands every
/// series' ask to its source's task (10,000 copies of queries a tick otherwise).
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    /// SLO id, `service/name`.
    pub slo: Arc<str>,
    /// What to count.
    pub spec: Arc<CountSpec>,
    /// The SLO's own counts or its SLA's.
    pub role: Role,
}

impl Ask {
    /// The SLO's own counts.
    pub fn slo(slo: &Slo) -> Self {
        Ask {
            slo: slo.id.as_str().into(),
            spec: Arc::new(slo.counts.clone()),
            role: Role::Slo,
        }
    }
}

/// Per-bucket counts plus the errors that made some of them missing.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    /// One bucket per bucket of the requested range.
    pub buckets: Vec<Bucket>,
    /// Why buckets are missing, one entry per failed query.
    pub errors: Vec<SourceError>,
    /// The `[start, end)` ranges (unix seconds) whose queries failed: worth asking again, unlike
    /// buckets that a successful query found empty.
    pub failed: Vec<(i64, i64)>,
    /// The `[start, end)` ranges the source cannot know and that asking again will not change
    /// (older than what Loki holds: `loki.retention`, or before the first line of the SLI's
    /// streams): missing, not zero, for every side of a mixed SLI too; the SLO's row says so.
    pub unknown: Vec<(i64, i64)>,
    /// What the answers showed that counts cannot mean ([`sanity::Sanity`]).
    pub sanity: sanity::Sanity,
}

impl Counts {
    /// Every bucket of `range` missing because of `error`: what a failed request yields.
    pub fn failed(range: BucketRange, error: SourceError) -> Self {
        Counts {
            buckets: vec![Bucket::Missing; range.count],
            errors: vec![error],
            failed: vec![(range.start, range.end())],
            unknown: Vec::new(),
            sanity: sanity::Sanity::default(),
        }
    }
}

/// Why a query failed, with what a person needs to fix it; `backend` names the source
/// (`prometheus`, `loki`, `store`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// The source refused the query (4xx): retrying will not help.
    #[error("{backend} rejected `{query}`: {message}")]
    Rejected {
        /// The source's name.
        backend: String,
        /// The query sent.
        query: String,
        /// The source's own message.
        message: String,
    },
    /// Network failure, timeout or 5xx after all retries.
    #[error("{backend} at {url} failed for `{query}` after {attempts} attempt(s): {message}")]
    Unavailable {
        /// The source's name.
        backend: String,
        /// Base URL (credentials removed).
        url: String,
        /// The query sent.
        query: String,
        /// Attempts made.
        attempts: u32,
        /// Last error.
        message: String,
    },
    /// The answer arrived but cannot be believed: it carried warnings (partial data) or broke
    /// the API's contract (two samples at one instant, a NaN counter, instants never asked
    /// for). Its buckets are missing and asked again, like an outage's.
    #[error("{backend} answered `{query}` with data that cannot be trusted: {message}")]
    Untrusted {
        /// The source's name.
        backend: String,
        /// The query sent.
        query: String,
        /// What was wrong with the answer.
        message: String,
    },
    /// The query answered with a shape slowburn cannot use.
    #[error("`{query}` returned an unusable result: {message}")]
    BadResult {
        /// The query sent.
        query: String,
        /// What was wrong.
        message: String,
    },
    /// The source cannot be built or reached at all (bad settings, unknown name).
    #[error("{0}")]
    Setup(String),
}

impl SourceError {
    /// The source that failed, for the `source` label of `slowburn_source_errors_total` (a
    /// mixed SLI's errors come from whichever side failed).
    pub fn backend(&self) -> &str {
        match self {
            SourceError::Rejected { backend, .. }
            | SourceError::Unavailable { backend, .. }
            | SourceError::Untrusted { backend, .. } => backend,
            SourceError::BadResult { .. } | SourceError::Setup(_) => "unknown",
        }
    }
}

/// What `validate --online` found about one SLO's queries (the caller names the SLO).
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// The SLO cannot work as written (a query rejected, a threshold that is not a bucket).
    Problem(String),
    /// Worth a look but not wrong (a query with no series in the last hour).
    Warning(String),
}

/// A backend that counts events per bucket. Implementations bound their own concurrency, retry
/// what is worth retrying, and never fail a whole batch: failed buckets come back missing, with
/// the reason in [`Counts::errors`].
pub trait Source: Send + Sync {
    /// The name SLIs refer to (`source: prometheus`) and the `source` label of
    /// `slowburn_source_*` metrics.
    fn name(&self) -> &str;

    /// Counts of many asks over one range, one [`Counts`] per ask in order. The daemon's tick
    /// calls this once per range, so a source can batch (Prometheus joins 64 selectors into one
    /// request).
    fn counts_many<'a>(&'a self, asks: &'a [Ask], range: BucketRange)
    -> BoxFuture<'a, Vec<Counts>>;

    /// Counts of one ask over a range of any length (backfill, heal, `report`).
    fn counts<'a>(&'a self, ask: &'a Ask, range: BucketRange) -> BoxFuture<'a, Counts> {
        Box::pin(async move {
            let mut all = self.counts_many(std::slice::from_ref(ask), range).await;
            all.pop()
                .unwrap_or_else(|| Counts::failed(range, SourceError::Setup("no answer".into())))
        })
    }

    /// One cheap request that proves the source answers, so commands fail fast with the URL.
    fn health(&self) -> BoxFuture<'_, Result<(), SourceError>>;

    /// What was asked so far (exported under `slowburn_source_*{source}`).
    fn stats(&self) -> &QueryStats;

    /// How much history the backend keeps, when it says so: named in warnings when a period
    /// reaches past the data.
    fn retention(&self) -> BoxFuture<'_, Option<String>> {
        Box::pin(async { None })
    }

    /// The label sets an instant query returns at `at` (now when `None`): how a grouped SLO's
    /// members are found (`count by (route) (…)`). Only PromQL sources can answer.
    fn label_sets<'a>(
        &'a self,
        query: &'a str,
        at: Option<i64>,
    ) -> BoxFuture<'a, Result<Vec<std::collections::BTreeMap<String, String>>, SourceError>> {
        let _ = (query, at);
        Box::pin(async move {
            Err(SourceError::Setup(format!(
                "{} cannot list label values; group_by needs Prometheus",
                self.name()
            )))
        })
    }

    /// `validate --online`: asks the backend whether the SLO's queries run and find data.
    fn check<'a>(&'a self, slo: &'a Slo) -> BoxFuture<'a, Vec<Finding>> {
        let _ = slo;
        Box::pin(async { Vec::new() })
    }
}

/// The sources of one config, looked up by the kind an SLO refers to.
#[derive(Clone, Default)]
pub struct Sources {
    list: Vec<(SourceKind, Arc<dyn Source>)>,
    /// Counts mixed-source SLIs through the sources of `list`; not listed itself (it asks
    /// nothing of its own, so it has no `slowburn_source_*` series).
    mixed: Option<Arc<dyn Source>>,
    /// When set, every SLO reads from it whatever its `source:` says (a stopped daemon's store).
    only: Option<Arc<dyn Source>>,
}

impl Sources {
    /// Builds every source the config declares: the one place settings become clients.
    pub fn from_config(cfg: &Config) -> Result<Self, SourceError> {
        let list = SourceSettings::of(cfg)
            .iter()
            .map(|s| -> Result<_, SourceError> { Ok((s.kind(), s.build()?)) })
            .collect::<Result<Vec<_>, SourceError>>()?;
        Ok(Sources::with(list))
    }

    /// A registry of the given sources, each under the kind SLOs name it by (tests pass
    /// scripted ones), with the mixed source that counts SLIs whose sides name different ones
    /// of them.
    pub fn with(list: Vec<(SourceKind, Arc<dyn Source>)>) -> Self {
        let mixed: Arc<dyn Source> = Arc::new(mixed::MixedSource::new(list.clone()));
        Sources {
            list,
            mixed: Some(mixed),
            only: None,
        }
    }

    /// A registry in which every SLO reads from `source`, whatever it names.
    pub fn only(source: Arc<dyn Source>) -> Self {
        Sources {
            // Listed for its health and statistics; `get` answers it whatever kind is asked.
            list: vec![(SourceKind::DEFAULT, Arc::clone(&source))],
            mixed: None,
            only: Some(source),
        }
    }

    /// The source of kind `kind`.
    pub fn get(&self, kind: SourceKind) -> Result<&Arc<dyn Source>, SourceError> {
        if let Some(s) = &self.only {
            return Ok(s);
        }
        let found = match kind {
            SourceKind::Mixed => self.mixed.as_ref(),
            SourceKind::Prometheus | SourceKind::Loki => {
                self.list.iter().find(|(k, _)| *k == kind).map(|(_, s)| s)
            }
        };
        found.ok_or_else(|| {
            let names: Vec<&str> = self.list.iter().map(|(k, _)| k.name()).collect();
            SourceError::Setup(format!(
                "no source `{kind}` is configured (configured: {})",
                names.join(", ")
            ))
        })
    }

    /// The source an SLO's SLI reads from.
    pub fn for_slo(&self, slo: &Slo) -> Result<&Arc<dyn Source>, SourceError> {
        self.get(slo.source)
    }

    /// Every source, for health checks and `/metrics`.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Source>> {
        self.list.iter().map(|(_, s)| s)
    }

    /// Checks that every source the config uses answers; the error names the first that does not.
    pub async fn health(&self, cfg: &Config) -> Result<(), SourceError> {
        for (kind, source) in &self.list {
            let used = self.only.is_some() || cfg.slos.iter().any(|s| s.reads(*kind));
            if used || cfg.slos.is_empty() {
                source.health().await?;
            }
        }
        Ok(())
    }
}

/// Default headers of a source's HTTP client, every value marked sensitive (tenant ids and
/// tokens are never logged); `context` ends the error message (e.g. `` in `loki:` ``).
pub fn secret_headers(
    pairs: &[(String, Secret)],
    context: &str,
) -> Result<reqwest::header::HeaderMap, SourceError> {
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in pairs {
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| SourceError::Setup(format!("invalid header name `{k}`{context}")))?;
        let mut value = reqwest::header::HeaderValue::from_str(v.expose())
            .map_err(|_| SourceError::Setup(format!("invalid value for header `{k}`{context}")))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    Ok(headers)
}

/// The URL with any `user:password@` removed, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// The error a query ends with after `attempts`: a failure not worth retrying is
/// [`SourceError::Rejected`] (named by its query), one that kept failing is
/// [`SourceError::Unavailable`] (named by the backend's URL, credentials removed). One rule for
/// every source.
pub fn failed(
    backend: &str,
    url: &str,
    query: &str,
    attempts: u32,
    retriable: bool,
    message: String,
) -> SourceError {
    if retriable {
        SourceError::Unavailable {
            backend: backend.into(),
            url: redact_url(url),
            query: query.to_string(),
            attempts,
            message,
        }
    } else {
        SourceError::Rejected {
            backend: backend.into(),
            query: query.to_string(),
            message,
        }
    }
}
