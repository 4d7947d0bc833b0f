//! The rulers a rule file is written for, and what sets each dialect apart. All four read the
//! Prometheus rule-file format; they differ in a few group keys and in their limits:
//!
//! - **Prometheus**: the plain file, which Debian's `promtool` 2.42 accepts (`check rules`, `test
//!   rules`). promtool 2.42 refuses unknown group keys ("field query_offset not found in type
//!   rulefmt.RuleGroup"), so `query_offset` (Prometheus ≥ 2.53) is written only when asked for.
//! - **Thanos Ruler**: the same file plus `partial_response_strategy: abort` on every group (a
//!   rule must not record a count from half the stores) and `query_offset` (Thanos ≥ 0.38).
//! - **Mimir ruler**: a file for `mimirtool rules load`, with a top-level `namespace:`. Mimir's
//!   default limits are 20 rules per group (`ruler_max_rules_per_rule_group`) and 70 groups per
//!   tenant (`ruler_max_rule_groups_per_tenant`), so several SLOs are packed into each group and an
//!   SLO whose rules do not fit is cut into consecutive groups; `query_offset` (Mimir ≥ 2.13).
//! - **vmalert**: the plain file. Debian's vmalert 1.79 refuses `eval_alignment`, `eval_delay` and
//!   `query_offset` as unknown fields, so none is written; its flags (`-rule.evalDelay` from 1.95,
//!   `-datasource.lookback` before) set the delay instead.

use std::fmt;
use std::str::FromStr;

/// A ruler the rules are written for: decides the group keys, the namespace and the packing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Prometheus (and promtool): the plain file.
    Prometheus,
    /// Thanos Ruler: `partial_response_strategy: abort` and `query_offset` on every group.
    Thanos,
    /// Grafana Mimir's ruler: a `namespace:` file for `mimirtool`, groups of at most 20 rules.
    Mimir,
    /// VictoriaMetrics' vmalert: the plain file, no key its older releases refuse.
    Vmalert,
}

impl Target {
    /// Every target, in the order `--help` and errors list them.
    pub const ALL: [Target; 4] = [
        Target::Prometheus,
        Target::Thanos,
        Target::Mimir,
        Target::Vmalert,
    ];

    /// The name on the command line: `prometheus`, `thanos`, `mimir` or `vmalert`.
    pub const fn name(self) -> &'static str {
        match self {
            Target::Prometheus => "prometheus",
            Target::Thanos => "thanos",
            Target::Mimir => "mimir",
            Target::Vmalert => "vmalert",
        }
    }

    /// The target called `name` (the inverse of [`Target::name`]); `None` for anything else, so
    /// the caller says what is valid.
    pub fn parse(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// `partial_response_strategy` for every group: Thanos only, where a partial answer would
    /// otherwise be recorded as if whole.
    pub(super) fn partial_response(self) -> Option<&'static str> {
        (self == Target::Thanos).then_some("abort")
    }

    /// The top-level `namespace:` of a `mimirtool rules load` file.
    pub(super) fn namespace(self) -> Option<&'static str> {
        (self == Target::Mimir).then_some("slowburn")
    }

    /// Most rules one group may hold on this ruler by default (Mimir's
    /// `ruler_max_rules_per_rule_group`); `None`: no limit.
    pub(super) fn max_rules_per_group(self) -> Option<usize> {
        (self == Target::Mimir).then_some(MIMIR_MAX_RULES_PER_GROUP)
    }

    /// Whether groups carry `query_offset`: always on Thanos and Mimir, on Prometheus only when
    /// asked (`asked`; promtool 2.42 refuses the key), never on vmalert (1.79 refuses it).
    pub(super) fn query_offset(self, asked: bool) -> bool {
        match self {
            Target::Thanos | Target::Mimir => true,
            Target::Prometheus => asked,
            Target::Vmalert => false,
        }
    }
}

/// Mimir's default `ruler_max_rules_per_rule_group`.
pub const MIMIR_MAX_RULES_PER_GROUP: usize = 20;
/// Mimir's default `ruler_max_rule_groups_per_tenant`: more groups than this need an override.
pub const MIMIR_MAX_GROUPS_PER_TENANT: usize = 70;

impl FromStr for Target {
    type Err = String;

    /// Reads a `--target` value; the error lists the valid ones.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Target::parse(s.trim()).ok_or_else(|| {
            let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
            format!("unknown target `{s}`: use one of {}", names.join(", "))
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_unknown_ones_list_the_valid() {
        for t in Target::ALL {
            assert_eq!(t.name().parse::<Target>(), Ok(t));
            assert_eq!(t.to_string(), t.name());
        }
        let e = "cortex".parse::<Target>().unwrap_err();
        assert!(e.contains("prometheus, thanos, mimir, vmalert"), "{e}");
    }

    #[test]
    fn dialect_keys() {
        assert_eq!(Target::Thanos.partial_response(), Some("abort"));
        assert_eq!(Target::Prometheus.partial_response(), None);
        assert_eq!(Target::Mimir.namespace(), Some("slowburn"));
        assert_eq!(Target::Mimir.max_rules_per_group(), Some(20));
        assert!(!Target::Prometheus.query_offset(false));
        assert!(Target::Prometheus.query_offset(true));
        assert!(!Target::Vmalert.query_offset(true));
        assert!(Target::Thanos.query_offset(false));
    }
}
