//! What to count, in each query language: pure checks and query text, no I/O. `config` calls
//! these to validate `slo.yaml`; sources call them to build the queries they send. Keeping the
//! language knowledge here lets validation explain a query without a backend and lets a new
//! language (LogQL) arrive beside PromQL without touching the validator's structure.
//!
//! A [`CountSpec`] does not say which language its queries are in: the source that answers it
//! does. Only [`CountSpec::Mixed`] names sources, one per side.

pub mod fingerprint;
mod kind;
pub mod logql;
pub mod promql;

pub use kind::SourceKind;

use crate::duration::Dur;

/// One event-count query: a counter selector (PromQL) or a log query (LogQL), or an expression in
/// which `$window` is the bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventQuery {
    /// A plain counter selector: slowburn reads the counter at every bucket edge and differences it,
    /// which is exact for any scrape interval and both range-selector semantics. For Loki, a stream
    /// selector and pipeline whose matching lines are the events, counted per bucket.
    Selector(String),
    /// A user expression yielding the events of `$window`, evaluated once per bucket.
    Expression(String),
}

impl EventQuery {
    /// The query text as configured.
    pub fn text(&self) -> &str {
        match self {
            EventQuery::Selector(s) | EventQuery::Expression(s) => s,
        }
    }
}

/// One side of a [`CountSpec::Mixed`]: its query and the source that answers it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sided {
    /// The source that answers it (`prometheus`, `loki` in `slo.yaml`).
    pub source: SourceKind,
    /// The query, in that source's language.
    pub query: EventQuery,
}

/// How a threshold is compared in a time-slice SLI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compare {
    /// Good when the value is strictly below.
    Below(f64),
    /// Good when the value is strictly above.
    Above(f64),
}

impl Compare {
    /// Whether a slice with this value is good.
    pub fn is_good(self, v: f64) -> bool {
        match self {
            Compare::Below(t) => v < t,
            Compare::Above(t) => v > t,
        }
    }
}

/// What the source must query to produce per-bucket `(good, total)`.
#[derive(Debug, Clone, PartialEq)]
pub enum CountSpec {
    /// Two of good/bad/total; the third is derived.
    Events {
        /// Good events.
        good: Option<EventQuery>,
        /// Bad events.
        bad: Option<EventQuery>,
        /// All events.
        total: Option<EventQuery>,
    },
    /// Two of good/bad/total, each from its own source (a total from Prometheus, errors from
    /// Loki): the registry's mixed source asks each source for its side alone and combines them
    /// with the same rules as [`CountSpec::Events`].
    Mixed {
        /// Good events.
        good: Option<Sided>,
        /// Bad events.
        bad: Option<Sided>,
        /// All events.
        total: Option<Sided>,
    },
    /// One slice per `slice`, good when `query` compares well.
    Timeslice {
        /// A PromQL or LogQL metric query returning one series.
        query: String,
        /// The comparison that makes a slice good.
        good_when: Compare,
        /// Slice length, a multiple of the bucket.
        slice: Dur,
    },
}

impl CountSpec {
    /// A stable text that changes whenever the counted events change; a new fingerprint starts a new
    /// definition version in the store so old and new counts are never mixed.
    pub fn fingerprint(&self) -> String {
        fn q(x: &Option<EventQuery>) -> String {
            match x {
                None => "-".into(),
                Some(EventQuery::Selector(s)) => format!("sel:{s}"),
                Some(EventQuery::Expression(s)) => format!("expr:{s}"),
            }
        }
        match self {
            CountSpec::Events { good, bad, total } => {
                format!("events|{}|{}|{}", q(good), q(bad), q(total))
            }
            CountSpec::Mixed { good, bad, total } => {
                let s = |x: &Option<Sided>| match x {
                    None => "-".into(),
                    Some(side) => format!("{}:{}", side.source, q(&Some(side.query.clone()))),
                };
                format!("mixed|{}|{}|{}", s(good), s(bad), s(total))
            }
            CountSpec::Timeslice {
                query,
                good_when,
                slice,
            } => format!("timeslice|{query}|{good_when:?}|{slice}"),
        }
    }

    /// The queries a person would want to see in a notification or the API.
    pub fn queries(&self) -> Vec<String> {
        match self {
            CountSpec::Events { good, bad, total } => [good, bad, total]
                .into_iter()
                .flatten()
                .map(|q| q.text().to_string())
                .collect(),
            CountSpec::Mixed { good, bad, total } => [good, bad, total]
                .into_iter()
                .flatten()
                .map(|s| s.query.text().to_string())
                .collect(),
            CountSpec::Timeslice { query, .. } => vec![query.clone()],
        }
    }

    /// The sources a mixed spec reads, each once; empty for a spec of one source.
    pub fn side_sources(&self) -> Vec<SourceKind> {
        let mut out: Vec<SourceKind> = Vec::new();
        if let CountSpec::Mixed { good, bad, total } = self {
            for s in [good, bad, total].into_iter().flatten() {
                if !out.contains(&s.source) {
                    out.push(s.source);
                }
            }
        }
        out
    }
}
