//! Which source answers a query, as a type: the language a query is read in follows from it
//! (PromQL for Prometheus, LogQL for Loki), so validation, the registry and reload match on
//! [`SourceKind`] instead of comparing names, and every match is exhaustive: a new source is a
//! compile error wherever it must be decided. It lives in the pure core because a mixed SLI's
//! sides ([`super::Sided`]) name their sources; `crate::source` builds clients from it.

use std::fmt;

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
