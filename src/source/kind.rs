//! Which source an SLI reads from, as a type: validation, reload and the registry match on
//! [`SourceKind`] (every match exhaustive, so a new source is a compile error wherever it must be
//! decided), and each source's settings build its own client ([`SourceSettings::build`], the way
//! a Vector `SourceConfig` builds its source).

use super::{Source, SourceError};
use crate::config::{Config, LokiSettings, PrometheusSettings};
use std::fmt;
use std::sync::Arc;

/// A source an SLO can name, and the mixed source that routes each side of a ratio to its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    /// Prometheus and what speaks its API (Thanos, Mimir, Cortex): PromQL.
    Prometheus,
    /// Loki: LogQL over log lines.
    Loki,
    /// A ratio whose sides name different sources; never written in `slo.yaml` itself.
    Mixed,
}

impl SourceKind {
    /// The source an SLI reads from when it names none.
    pub const DEFAULT: SourceKind = SourceKind::Prometheus;
    /// The sources a `source:` field may name, in the order error messages list them.
    pub const CONFIGURABLE: [SourceKind; 2] = [SourceKind::Prometheus, SourceKind::Loki];

    /// The name in `slo.yaml`, the `source` label of `slowburn_source_*` and `slo_info`, and the
    /// API's `source` field.
    pub const fn name(self) -> &'static str {
        match self {
            SourceKind::Prometheus => "prometheus",
            SourceKind::Loki => "loki",
            SourceKind::Mixed => "mixed",
        }
    }

    /// The kind called `name` (the inverse of [`SourceKind::name`]); validation decides which
    /// kinds a `source:` field may name.
    pub fn parse(name: &str) -> Option<SourceKind> {
        [SourceKind::Prometheus, SourceKind::Loki, SourceKind::Mixed]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One configured source's settings; the variant knows how to build its client.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSettings {
    /// `prometheus:`.
    Prometheus(PrometheusSettings),
    /// `loki:`.
    Loki(LokiSettings),
}

impl SourceSettings {
    /// Every source a config declares: Prometheus always (it has defaults), Loki when `loki:` is
    /// there. A reload compares these to decide whether the clients must be rebuilt.
    pub fn of(cfg: &Config) -> Vec<SourceSettings> {
        let mut out = vec![SourceSettings::Prometheus(cfg.prometheus.clone())];
        if let Some(l) = &cfg.loki {
            out.push(SourceSettings::Loki(l.clone()));
        }
        out
    }

    /// Which source these settings are for.
    pub fn kind(&self) -> SourceKind {
        match self {
            SourceSettings::Prometheus(_) => SourceKind::Prometheus,
            SourceSettings::Loki(_) => SourceKind::Loki,
        }
    }

    /// The source's client, ready to query (nothing is sent yet).
    pub fn build(&self) -> Result<Arc<dyn Source>, SourceError> {
        let source: Arc<dyn Source> = match self {
            SourceSettings::Prometheus(p) => super::prometheus::PrometheusSource::new(p)?,
            SourceSettings::Loki(l) => super::loki::LokiSource::new(l)?,
        };
        Ok(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for k in [SourceKind::Prometheus, SourceKind::Loki, SourceKind::Mixed] {
            assert_eq!(SourceKind::parse(k.name()), Some(k));
            assert_eq!(k.to_string(), k.name());
        }
        assert_eq!(SourceKind::parse("Prometheus"), None);
        assert_eq!(SourceKind::DEFAULT.name(), "prometheus");
    }
}
