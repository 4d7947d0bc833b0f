//! `slowburn import`: SLOs written for Sloth, Pyrra or in OpenSLO, turned into a commented
//! `slo.yaml` that `slowburn validate` accepts, so adopting slowburn does not mean rewriting every
//! SLO by hand.
//!
//! Each format has its reader ([`sloth`], [`pyrra`], [`openslo`]) that maps its documents onto
//! [`Slo`], the part of slowburn's model an import can fill; queries go through one translator
//! ([`promql`]) so the three agree on what is exact; [`emit`] writes the file. What cannot map is
//! a [`Finding`] that points at the field (`FILE:LINE:COLUMN: field: why`): a refusal drops the
//! SLO (the command exits 1), a warning keeps it (a cosmetic that slowburn has no place for).

pub mod emit;
mod openslo;
pub mod promql;
mod pyrra;
mod sloth;

use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;

/// Which peer wrote the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Sloth's `prometheus/v1` files, its `PrometheusServiceLevel` resource and OpenSLO
    /// `v1alpha` as Sloth reads it.
    Sloth,
    /// Pyrra's `ServiceLevelObjective` resources.
    Pyrra,
    /// OpenSLO v1 documents.
    OpenSlo,
}

/// One input file, read by the caller (so the readers stay pure and testable).
#[derive(Clone, Debug)]
pub struct Input {
    /// The path as the user gave it: findings name it.
    pub path: String,
    /// Its text.
    pub text: String,
}

/// What the command line adds to the files.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The SLO period for formats that leave it to the tool's command line (Sloth's
    /// `--default-slo-period`, 30d by default).
    pub period: Option<String>,
    /// The service of Pyrra objects without a namespace (filesystem mode).
    pub service: Option<String>,
}

/// Where a finding points: 1-based line and column of a field in a file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct At {
    /// The file as given.
    pub file: String,
    /// Line, from 1 (0 when the whole file is meant).
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

impl At {
    /// The position of a spanned field of `file`.
    pub fn of<T>(file: &str, s: &Spanned<T>) -> At {
        At {
            file: file.to_string(),
            line: s.referenced.line(),
            column: s.referenced.column(),
        }
    }

    /// The file as a whole (a document that does not parse at all names its own position in
    /// `why`).
    pub fn file(file: &str) -> At {
        At {
            file: file.to_string(),
            line: 0,
            column: 0,
        }
    }
}

/// Something of the input slowburn could not take as written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// Where.
    pub at: At,
    /// The SLO it concerns (`service/name`), when it concerns one.
    pub slo: Option<String>,
    /// The field, as the input names it (`spec.indicator.latencyNative`).
    pub field: String,
    /// Why, and what to do about it.
    pub why: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.line > 0 {
            write!(f, "{}:{}:{}: ", self.at.file, self.at.line, self.at.column)?;
        } else {
            write!(f, "{}: ", self.at.file)?;
        }
        if let Some(slo) = &self.slo {
            write!(f, "{slo}: ")?;
        }
        write!(f, "{}: {}", self.field, self.why)
    }
}

/// An SLI as slowburn's `slo.yaml` writes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Sli {
    /// `sli.ratio`: two of good, errors and total, each a counter selector or a `$window`
    /// expression.
    Ratio {
        /// Good events.
        good: Option<String>,
        /// Bad events.
        errors: Option<String>,
        /// All events.
        total: Option<String>,
    },
    /// `sli.latency`: a histogram (its name without `_bucket`, with its matchers) and an `le`
    /// boundary as a duration (`300ms`, `1s`).
    Latency {
        /// The histogram selector.
        histogram: String,
        /// The boundary.
        threshold: String,
    },
    /// `sli.timeslice`: a query compared at every bucket; strict `below` or `above`.
    Timeslice {
        /// The query.
        query: String,
        /// Good when the value is below this.
        below: Option<f64>,
        /// Good when the value is above this.
        above: Option<f64>,
        /// The slice length when the source names one (it must be the bucket).
        slice: Option<String>,
    },
}

/// One burn-rate rule of `alerting.rules`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// `page` or `ticket`.
    pub severity: Severity,
    /// Long window (`1h`).
    pub long: String,
    /// Short window (`5m`).
    pub short: String,
    /// Burn-rate factor.
    pub factor: f64,
    /// How long the condition must hold before it fires (`for:`), as the source gave it.
    pub pending: Option<String>,
}

/// slowburn's two severities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Wakes someone.
    Page,
    /// Goes to a queue.
    Ticket,
}

impl Severity {
    /// As `slo.yaml` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }

    /// A peer's severity word (`critical`, `warning`, `sev1`...): `None` when it is not one of
    /// the known words (the caller warns and uses a ticket).
    pub fn from_word(word: &str) -> Option<Severity> {
        let w = word.trim().to_ascii_lowercase();
        match w.as_str() {
            "page" | "critical" | "sev1" | "p1" | "high" | "emergency" | "fastburn" => {
                Some(Severity::Page)
            }
            "ticket" | "warning" | "warn" | "info" | "low" | "medium" | "sev2" | "sev3"
            | "sev4" | "sev5" | "p2" | "p3" | "p4" | "p5" => Some(Severity::Ticket),
            _ => None,
        }
    }
}

/// `alerting:` of one SLO; everything `None` is slowburn's default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Alerting {
    /// Explicit burn-rate rules (`None`: the built-in policy, which is Sloth's 30d catalogue).
    pub rules: Option<Vec<Rule>>,
    /// `budget_ticket_below` (a ratio), when the source turned the budget ticket off (`0`).
    pub budget_ticket_below: Option<f64>,
    /// `budget_exhausted: none` when the source turned alerting off.
    pub budget_exhausted_off: bool,
    /// `no_data_after: none` when the source turned its absent alert off.
    pub no_data_off: bool,
    /// `min_events`, when the source names one (slowburn's own export does).
    pub min_events: Option<f64>,
    /// `budget_exhausted` as a severity, when the source names one (`budget_exhausted_off` says
    /// `none`).
    pub budget_exhausted: Option<Severity>,
    /// `no_data_after` as a duration, when the source names one (`no_data_off` says `none`).
    pub no_data_after: Option<String>,
}

/// `sla:` of one SLO: what slowburn's own export carries back through OpenSLO annotations.
#[derive(Clone, Debug, PartialEq)]
pub struct Sla {
    /// The commitment in percent (99.5).
    pub objective: f64,
    /// A latency SLA's own threshold (`500ms`).
    pub threshold: Option<String>,
}

/// `group_by:` of one SLO: one SLO per value of these labels found in Prometheus (Pyrra's
/// `grouping`, slowburn's own export).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupBy {
    /// The labels, in the order written, each once.
    pub labels: Vec<String>,
    /// `max_groups`, when the source names one (slowburn's own export does when it is not the
    /// default); `None` leaves slowburn's default.
    pub max: Option<u64>,
}

/// One SLO, as an import writes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    /// `service`.
    pub service: String,
    /// `name`.
    pub name: String,
    /// Objective in percent (99.9).
    pub objective: f64,
    /// Windows (`30d`, `4w`, `month`).
    pub windows: Vec<String>,
    /// `timezone` of its calendar windows, when not UTC.
    pub timezone: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `labels`.
    pub labels: BTreeMap<String, String>,
    /// The SLI.
    pub sli: Sli,
    /// `alerting`.
    pub alerting: Alerting,
    /// `sli.<kind>.source` when it is not Prometheus (`loki`).
    pub source: Option<String>,
    /// `sla`.
    pub sla: Option<Sla>,
    /// `group_by` and `max_groups`.
    pub group_by: Option<GroupBy>,
    /// Where it came from (`FILE:LINE`), written as a comment above it.
    pub origin: String,
}

impl Slo {
    /// `service/name`, slowburn's id.
    pub fn id(&self) -> String {
        format!("{}/{}", self.service, self.name)
    }
}

/// What a whole import gives.
#[derive(Clone, Debug, Default)]
pub struct Imported {
    /// The SLOs that map.
    pub slos: Vec<Slo>,
    /// SLOs that could not be imported, one finding per reason.
    pub refused: Vec<Finding>,
    /// What was dropped or approximated in SLOs that were imported.
    pub warnings: Vec<Finding>,
    /// The Prometheus a source named (OpenSLO's DataSource), for the file's `prometheus.url`.
    pub prometheus_url: Option<String>,
    /// The Loki a source named (an OpenSLO DataSource of type Loki), for the file's `loki.url`.
    pub loki_url: Option<String>,
}

impl Imported {
    /// Adds another reader's result (across files of one format).
    fn absorb(&mut self, other: Imported) {
        self.slos.extend(other.slos);
        self.refused.extend(other.refused);
        self.warnings.extend(other.warnings);
        if self.prometheus_url.is_none() {
            self.prometheus_url = other.prometheus_url;
        }
        if self.loki_url.is_none() {
            self.loki_url = other.loki_url;
        }
    }
}

/// Reads every input as `format`; an SLO id met twice is refused the second time.
pub fn import(format: Format, inputs: &[Input], options: &Options) -> Imported {
    let mut out = match format {
        Format::Sloth => {
            let mut all = Imported::default();
            for input in inputs {
                all.absorb(sloth::read(input, options));
            }
            all
        }
        Format::Pyrra => {
            let mut all = Imported::default();
            for input in inputs {
                all.absorb(pyrra::read(input, options));
            }
            all
        }
        // OpenSLO refers across files (an SLO's indicatorRef, a policy's conditionRef).
        Format::OpenSlo => openslo::read(inputs, options),
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut kept = Vec::new();
    for slo in std::mem::take(&mut out.slos) {
        if seen.insert(slo.id()) {
            kept.push(slo);
        } else {
            let (file, line) = slo.origin.rsplit_once(':').unwrap_or((&slo.origin, "0"));
            out.refused.push(Finding {
                at: At {
                    file: file.to_string(),
                    line: line.parse().unwrap_or(0),
                    column: 1,
                },
                slo: Some(slo.id()),
                field: "name".into(),
                why: "an SLO of this service and name was imported already; rename one".into(),
            });
        }
    }
    out.slos = kept;
    out
}

/// A document that is not of the format (a Deployment beside Pyrra objects, a rule file): skipped
/// with a warning, as the peers' own loaders skip what is not theirs.
fn not_ours(file: &str, at: At, what: &str) -> Finding {
    Finding {
        at: if at.line > 0 { at } else { At::file(file) },
        slo: None,
        field: "document".into(),
        why: format!("{what}: not an SLO of this format, skipped"),
    }
}

/// A YAML error of a whole file, as a refusal that names its position.
fn unreadable(file: &str, e: &serde_saphyr::Error) -> Finding {
    Finding {
        at: At::file(file),
        slo: None,
        field: "document".into(),
        why: format!("cannot be read: {e}"),
    }
}

/// Labels to group by as written, each once, in the order first met (a peer that lists one
/// twice means it once; slowburn's validation would refuse the repeat).
fn group_labels<'a>(labels: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in labels.into_iter().map(str::trim) {
        if !out.iter().any(|o| o == l) {
            out.push(l.to_string());
        }
    }
    out
}

/// Why the group labels `labels` could not be written for an SLO with these `slo_labels`, one
/// reason each: the config's rule on label names ([`crate::config::group::label_problem`]), and
/// a label that is also a key of the SLO's `labels:` (slo_info would carry it twice). Checked
/// before writing, so the refusal points at the source's field.
fn group_label_problems(labels: &[String], slo_labels: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for name in labels {
        if let Some(why) = crate::config::group::label_problem(name) {
            out.push(why);
        } else if slo_labels
            .keys()
            .any(|k| crate::names::label_name(k) == *name)
        {
            out.push(format!(
                "`{name}` is also a label of this SLO; slo_info would carry it twice: group by another label or drop that label"
            ));
        }
    }
    out
}

/// Why `sli`, read from `source` (`None`: Prometheus), could not take `group_by`, if it could
/// not: the config's rule ([`crate::config::group::ungroupable`]) on what an import writes. A
/// member is made by adding `label="value"` to each counter selector, so an expression side, a
/// time slice or a log query cannot be split.
fn ungroupable(sli: &Sli, source: Option<&str>) -> Option<String> {
    if let Some(s) = source {
        return Some(format!(
            "grouping needs Prometheus counter selectors; this SLI reads `{s}`: write one SLO per value with a matcher"
        ));
    }
    match sli {
        Sli::Ratio {
            good,
            errors,
            total,
        } => {
            let expression = [good, errors, total].into_iter().flatten().find(|q| {
                matches!(
                    crate::sli::promql::event_query(q.as_str()),
                    Ok(crate::sli::EventQuery::Expression(_))
                )
            })?;
            Some(format!(
                "grouping needs counter selectors (slowburn adds `label=\"value\"` to each); `{}` is an expression: write the sides as counter selectors, or one SLO per value with a matcher",
                expression.trim()
            ))
        }
        Sli::Latency { .. } => None,
        Sli::Timeslice { .. } => Some(
            "grouping splits events by label; a time-slice SLI judges one series per slice: write one SLO per value with a matcher".into(),
        ),
    }
}

/// A number as `slo.yaml` writes it: the shortest decimal that reads back the same after
/// rounding to 10 places (`0.995 * 100` is `99.5`, not `99.49999999999999`).
pub fn number(x: f64) -> String {
    let r = (x * 1e10).round() / 1e10;
    let s = format!("{r}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}
