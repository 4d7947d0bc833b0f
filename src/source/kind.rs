//! Each source's settings build its own client ([`SourceSettings::build`], the way a Vector
//! `SourceConfig` builds its source); which source an SLI reads is a [`SourceKind`] (defined in
//! the pure core, `crate::sli`, since a mixed SLI's sides name theirs).

use super::{Source, SourceError};
use crate::config::{Config, LokiSettings, PrometheusSettings};
pub use crate::sli::SourceKind;
use std::sync::Arc;

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
