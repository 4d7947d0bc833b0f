//! `slowburn rules`: Prometheus-style rule files that compute what the daemon computes, for a
//! Prometheus, Thanos, Mimir or vmalert ruler (issue 24). Pure: the config in, the YAML text out;
//! the same config gives the same bytes.
//!
//! The rules record the series `/metrics` carries, with the same names and labels
//! (`slo_burn_rate{service,slo,window}`, `slo_error_budget_remaining_ratio{…,period}`,
//! `slo_sli_ratio`, `slo_coverage_ratio`, `slo_events{…,kind}`, `slo_objective_ratio`,
//! `slo_budget_exhaustion_seconds`, `slo_alert_firing{severity}`, `slo_info`, the SLA's), and
//! raise the alerts the daemon posts to Alertmanager (`SLOErrorBudgetBurnPage`,
//! `SLOErrorBudgetBurnTicket`, labels `service`, `slo` = the id, `severity`, `source` and the
//! SLO's own, annotations `summary`, `description`, `rule`, `burn_rate`, `dashboard`), so
//! dashboards and routes work unchanged whether the daemon or a ruler computes them.
//!
//! How (`shared/reference/scale-out.md` §2, and `expr.rs`): per SLO, one group every bucket
//! records two tiles (the bucket's total and bad events, by edge differences exactly as the
//! daemon counts them), sums them over every window as `sum_over_time(tile[W-1s])`, derives every
//! family from the sums, and decides the alerts, in that order: the rules of a group run in order
//! at one timestamp. The long period sums (7d, 30d: 10,080 and 43,200 samples each) run in a
//! second group every `period_interval` (default 5m) and are read through `last_over_time`, so the
//! period families lag by up to that interval; with `period_interval` equal to the bucket
//! everything is one group and matches the daemon at every bucket.
//!
//! Supported: ratio and latency SLIs of counter selectors (a latency SLI counts
//! `<histogram>_bucket{…,le=…}` against `<histogram>_count`, with the daemon's own `le`
//! matcher). Refused, each by name with a reason ([`Refused`]): `$window` expressions, time-slice
//! SLIs and log (Loki) SLIs. The refused ones are returned beside the file; only a config of which
//! nothing can be rendered is an error ([`RulesError::NothingToRender`]).
//!
//! A `group_by` definition (`config::group`) is rendered once, for all its members at once: its
//! tiles sum `by` the group labels, so every series it records holds one member (the labels of
//! the daemon's member series: `service`, `slo` and the group labels), every later aggregation
//! and match keeps them, and its alerts fire one per member with the member's labels and the
//! daemon's member id as `slo` (`api/avail{route="/a"}`). The ruler follows every value it
//! sees: `max_groups` is not enforced ([`Rendered::notes`] says so).
//!
//! What a ruler does differently: a series unseen for longer than the 5m lookback loses its
//! increments (the daemon carries its last value); late samples are not re-queried (hence
//! `query_offset`); a missed evaluation loses its tile for good (coverage shows it); maintenance
//! windows neither exclude buckets nor mute alerts ([`Rendered::notes`] names them); the
//! no-data ticket fires as soon as no tile is seen.

mod alerts;
mod expr;
mod file;
mod slo;
pub mod target;
mod windows;

pub use crate::shard::Shard;
pub use target::Target;

use crate::config::{Config, Slo};
use crate::duration::Dur;
use file::{Group, Rule, RuleFile};
use std::collections::BTreeMap;
use std::fmt;

/// How often the long period sums run by default: the cost table of scale-out.md §2 (7d and 30d
/// sums every 5 minutes instead of every minute).
pub const DEFAULT_PERIOD_INTERVAL: Dur = Dur::from_secs(300);

/// What to render besides the config: the ruler, the shard, and the slower group's interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// The ruler's dialect.
    pub target: Target,
    /// Only the SLOs this shard owns; `None`: all.
    pub shard: Option<Shard>,
    /// How often the long period sums run; at most the bucket puts every rule of an SLO in one
    /// group.
    pub period_interval: Dur,
    /// Write `query_offset` on the `prometheus` target too (Prometheus ≥ 2.53; promtool 2.42
    /// refuses it). Thanos and Mimir always get it, vmalert never.
    pub query_offset: bool,
}

impl Options {
    /// Every SLO, long sums every [`DEFAULT_PERIOD_INTERVAL`], for `target`.
    pub fn new(target: Target) -> Options {
        Options {
            target,
            shard: None,
            period_interval: DEFAULT_PERIOD_INTERVAL,
            query_offset: false,
        }
    }
}

/// An SLO the rules leave to the daemon, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The SLO id, `service/name`.
    pub slo: String,
    /// Why a ruler cannot compute it.
    pub reason: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.slo, self.reason)
    }
}

/// A rendered rule file and what did not make it in.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The file's text.
    pub yaml: String,
    /// SLOs rendered.
    pub slos: usize,
    /// Groups written.
    pub groups: usize,
    /// Rules written.
    pub rules: usize,
    /// SLOs left to the daemon, with the reason: the caller warns about each.
    pub refused: Vec<Refused>,
    /// What the rules do differently for this config (maintenance windows, limits), for people.
    pub notes: Vec<String>,
}

/// Why no rule file could be written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RulesError {
    /// Every SLO (of the shard) needs the daemon.
    #[error("no SLO can be computed by a ruler:{}", list(.refused))]
    NothingToRender {
        /// Each SLO and why.
        refused: Vec<Refused>,
    },
    /// The YAML writer failed (a bug: every value is a string).
    #[error("cannot write the rules as YAML: {0}")]
    Yaml(String),
}

/// `\n  a/b: reason` per refusal.
fn list(refused: &[Refused]) -> String {
    refused.iter().map(|r| format!("\n  {r}")).collect()
}

/// The rule file for `cfg` on `target`, for one shard or all SLOs, with the long sums every
/// [`DEFAULT_PERIOD_INTERVAL`].
pub fn render(cfg: &Config, target: Target, shard: Option<Shard>) -> Result<Rendered, RulesError> {
    let mut options = Options::new(target);
    options.shard = shard;
    render_with(cfg, &options)
}

/// One SLO's rules, by group, before packing.
struct Unit {
    /// `slowburn-<service>-<name>` ([`group_names`]).
    name: String,
    rules: slo::SloRules,
}

/// The rule file for `cfg` with every option.
pub fn render_with(cfg: &Config, options: &Options) -> Result<Rendered, RulesError> {
    let bucket = expr::duration(cfg.bucket);
    let split = options.period_interval > cfg.bucket;
    let cx = slo::Context {
        bucket: bucket.clone(),
        width: cfg.bucket,
        full: cfg.metrics.full,
        split,
        stale: expr::duration_ms(options.period_interval.as_millis().saturating_mul(2)),
    };
    let owned: Vec<&Slo> = cfg
        .slos
        .iter()
        .filter(|s| options.shard.is_none_or(|sh| sh.owns(&s.id)))
        .collect();
    let names = group_names(cfg);
    let mut refused = Vec::new();
    let mut units = Vec::new();
    let mut notes = Vec::new();
    let mut grouped = Vec::new();
    for s in &owned {
        match slo::support(s, &bucket) {
            Err(reason) => refused.push(Refused {
                slo: s.id.clone(),
                reason,
            }),
            Ok((tiles, sla)) => {
                let name = names.get(&s.id).cloned().unwrap_or_default();
                units.push(unit(cfg, &cx, s, name, &tiles, sla.as_ref()));
                notes.extend(maintenance_note(cfg, s));
                if !s.calendars.is_empty() {
                    let names: Vec<&str> = s.calendars.iter().map(|c| c.name()).collect();
                    notes.push(format!(
                        "{}: calendar periods ({}) are not written: a ruler has no calendar to reset a sum at a month's start; the rolling periods are, and the daemon and `slowburn report --calendar` give the calendar ones",
                        s.id,
                        names.join(", ")
                    ));
                }
                if let Some(g) = &s.group_by {
                    grouped.push(grouped_line(s, &g.labels));
                    notes.push(format!(
                        "{}: the rules compute every value of {} they see; max_groups ({}) is the daemon's cap and is not enforced by a ruler",
                        s.id,
                        g.labels.join(", "),
                        g.max
                    ));
                }
            }
        }
    }
    if units.is_empty() && !refused.is_empty() {
        return Err(RulesError::NothingToRender { refused });
    }
    if let Some(sh) = options.shard
        && owned.is_empty()
    {
        notes.push(format!(
            "shard {sh} owns none of the config's {} SLOs: the file has no group",
            cfg.slos.len()
        ));
    }
    if cfg.metrics.sloth || cfg.metrics.pyrra {
        notes.push("the Sloth and Pyrra compatibility series of `metrics:` are not generated: only the daemon writes them".into());
    }
    let slos = units.len();
    let written = groups(units, cfg, &cx, options);
    if options.target == Target::Mimir && written.len() > target::MIMIR_MAX_GROUPS_PER_TENANT {
        notes.push(format!(
            "{} groups: above Mimir's default of {} per tenant; raise `ruler_max_rule_groups_per_tenant` or split the SLOs with --shard",
            written.len(),
            target::MIMIR_MAX_GROUPS_PER_TENANT
        ));
    }
    let rules: usize = written.iter().map(|g| g.rules.len()).sum();
    let file = RuleFile {
        namespace: options.target.namespace().map(str::to_string),
        groups: written,
    };
    let yaml =
        file::to_yaml(&file, &header(cfg, options, slos, &grouped)).map_err(RulesError::Yaml)?;
    Ok(Rendered {
        yaml,
        slos,
        groups: file.groups.len(),
        rules,
        refused,
        notes,
    })
}

/// The rules of one supported SLO: tiles, sums and families, then its alerts.
fn unit(
    cfg: &Config,
    cx: &slo::Context,
    s: &Slo,
    name: String,
    tiles: &expr::Tiles,
    sla: Option<&expr::Tiles>,
) -> Unit {
    let w = windows::Windows::new(s, cx.full, cx.split);
    let mut rules = slo::rules(s, cx, tiles, sla, &w);
    let fresh = expr::fresh_range(cx.width);
    let ident = expr::Ident {
        service: &s.service,
        name: &s.name,
        fresh: &fresh,
        by: slo::group_labels(s),
    };
    let views = expr::Views {
        ident,
        long: &w.long,
        stale: cx.stale.clone(),
        seen: w.longest(),
    };
    let tile_total = ident.sel(&expr::tile_name(expr::TILE_TOTAL, cx.width), "");
    rules.fast.extend(alerts::rules(
        s,
        &views,
        &tile_total,
        cfg.dashboard_link(s),
        cx.width,
    ));
    Unit { name, rules }
}

/// Each SLO's group name, `slowburn-<service>-<name>`, with anything but letters, digits, `_`,
/// `.` and `-` as `-` (validated names have none; the name is part of Mimir's API paths). Two
/// SLOs can still meet there (`a-b`/`c` and `a`/`b-c`): those get `:` and 8 hex digits of their
/// id's MD5, so names stay unique and stable whichever shard renders them. Suffixes follow a `:`
/// (`:periods`, `:2`), which no name contains.
fn group_names(cfg: &Config) -> BTreeMap<String, String> {
    let base = |s: &Slo| -> String {
        format!("slowburn-{}-{}", s.service, s.name)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for s in &cfg.slos {
        *seen.entry(base(s)).or_default() += 1;
    }
    cfg.slos
        .iter()
        .map(|s| {
            let b = base(s);
            let name = if seen.get(&b).copied().unwrap_or(0) > 1 {
                format!("{b}:{:08x}", crate::shard::hashmod(&s.id, 1 << 32))
            } else {
                b
            };
            (s.id.clone(), name)
        })
        .collect()
}

/// The groups: per SLO its fast group then its slower one; for Mimir, SLOs packed into groups
/// of at most 20 rules (an SLO with more is cut into consecutive groups, which then run without
/// an order between them: the later part reads the earlier one's newest results).
fn groups(units: Vec<Unit>, cfg: &Config, cx: &slo::Context, options: &Options) -> Vec<Group> {
    let group = |name: String, interval: String, rules: Vec<Rule>| Group {
        name,
        interval,
        query_offset: options
            .target
            .query_offset(options.query_offset)
            .then(|| expr::duration(cfg.engine.delay)),
        partial_response_strategy: options.target.partial_response().map(str::to_string),
        rules,
    };
    let slow = expr::duration(options.period_interval);
    let mut fast_parts = Vec::new();
    let mut long_parts = Vec::new();
    for u in units {
        if !u.rules.long.is_empty() {
            long_parts.push((format!("{}:periods", u.name), u.rules.long));
        }
        fast_parts.push((u.name, u.rules.fast));
    }
    match options.target.max_rules_per_group() {
        Some(max) => {
            let fast = pack(fast_parts, max)
                .into_iter()
                .map(|(n, r)| group(n, cx.bucket.clone(), r));
            let long = pack(long_parts, max)
                .into_iter()
                .map(|(n, r)| group(n, slow.clone(), r));
            fast.chain(long).collect()
        }
        None => {
            // Each SLO's fast group, then its slower one, in config order.
            let mut out = Vec::new();
            let mut long = long_parts.into_iter().peekable();
            for (name, rules) in fast_parts {
                let periods = format!("{name}:periods");
                out.push(group(name, cx.bucket.clone(), rules));
                if let Some((n, r)) = long.next_if(|(n, _)| *n == periods) {
                    out.push(group(n, slow.clone(), r));
                }
            }
            out
        }
    }
}

/// Packs named rule lists into groups of at most `max` rules, in order: a list longer than `max`
/// is cut into consecutive pieces (`name`, `name:2`, …); a group is named after its first piece.
fn pack(parts: Vec<(String, Vec<Rule>)>, max: usize) -> Vec<(String, Vec<Rule>)> {
    let max = max.max(1);
    let mut out: Vec<(String, Vec<Rule>)> = Vec::new();
    for (name, rules) in parts {
        for (i, piece) in rules.chunks(max).enumerate() {
            let piece_name = if i == 0 {
                name.clone()
            } else {
                format!("{name}:{}", i + 1)
            };
            match out.last_mut() {
                Some((_, group)) if group.len() + piece.len() <= max => {
                    group.extend_from_slice(piece)
                }
                _ => out.push((piece_name, piece.to_vec())),
            }
        }
    }
    out
}

/// The maintenance windows of `s` that the rules cannot honour.
fn maintenance_note(cfg: &Config, s: &Slo) -> Option<String> {
    let names: Vec<String> = cfg
        .maintenance_for(s)
        .iter()
        .map(|m| format!("`{}`", m.name))
        .collect();
    (!names.is_empty()).then(|| {
        format!(
            "{}: maintenance {} is not in the rules: a ruler neither excludes its buckets nor mutes the alerts (use an Alertmanager silence)",
            s.id,
            names.join(", ")
        )
    })
}

/// The header line of a grouped definition: its rules stand for one SLO per value of `labels`.
fn grouped_line(s: &Slo, labels: &[String]) -> String {
    let example: Vec<String> = labels.iter().map(|l| format!("{l}=\"…\"")).collect();
    format!(
        "# {}: group_by [{}]: one SLO per value, each computed and alerted on apart; its series and alerts carry {}, its alerts name the member as {}{{{}}}.",
        s.id,
        labels.join(", "),
        labels.join(", "),
        s.id,
        example.join(",")
    )
}

/// The file's comment lines: what made it, the grouped definitions, and the dialect's caveats.
fn header(cfg: &Config, options: &Options, slos: usize, grouped: &[String]) -> Vec<String> {
    let t = options.target;
    let mut h = vec![format!(
        "# Generated by `slowburn rules --target {t}`: {slos} SLO(s), the series of slowburn's /metrics and the alerts it sends to Alertmanager. Regenerate, do not edit."
    )];
    if let Some(sh) = options.shard {
        h.push(format!(
            "# Shard {sh}: the SLOs whose Prometheus hashmod of `service/name` modulo {} is {}.",
            sh.count(),
            sh.index()
        ));
    }
    h.extend(grouped.iter().cloned());
    h.push(format!(
        "# Tiles every {}; period sums every {} (read with last_over_time).",
        expr::duration(cfg.bucket),
        expr::duration(options.period_interval.max(cfg.bucket))
    ));
    match t {
        Target::Prometheus if !options.query_offset => h.push(format!(
            "# No query_offset (Prometheus >= 2.53; promtool 2.42 refuses it): --query-offset writes the engine delay, {}.",
            expr::duration(cfg.engine.delay)
        )),
        Target::Mimir => h.push(
            "# mimirtool rules load <this file>. Mimir's defaults: at most 20 rules a group (SLOs share groups), 70 groups a tenant.".into(),
        ),
        Target::Vmalert => h.push(format!(
            "# vmalert: recording rules need -remoteWrite.url; set the engine delay ({}) with -rule.evalDelay (>= 1.95) or -datasource.lookback: vmalert 1.79 refuses eval_delay, eval_alignment and query_offset in a group.",
            expr::duration(cfg.engine.delay)
        )),
        Target::Prometheus | Target::Thanos => {}
    }
    h
}

#[cfg(test)]
mod tests;
