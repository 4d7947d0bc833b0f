//! The validated configuration: what the engine, the sources and the reports work from.
//!
//! Everything here has passed `validate.rs`: durations divide evenly, objectives are ratios in (0, 1),
//! queries parse. Code downstream never re-checks the file.

use crate::duration::Dur;
pub use crate::sli::logql::DurationUnit;
pub use crate::sli::{Compare, CountSpec, EventQuery, Sided, SourceKind};
use std::collections::BTreeMap;

/// A whole, valid `slo.yaml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The path the config was read from, for messages.
    pub file: String,
    /// The Prometheus-compatible query endpoint.
    pub prometheus: PrometheusSettings,
    /// The Loki query endpoint, when log SLIs are used.
    pub loki: Option<LokiSettings>,
    /// Where the daemon provisions its dashboards (`grafana:`), if anywhere.
    pub grafana: Option<GrafanaSettings>,
    /// Which series `/metrics` carries (`metrics:`).
    pub metrics: MetricsSettings,
    /// Width of one stored bucket of counts.
    pub bucket: Dur,
    /// The daemon's schedule.
    pub engine: EngineSettings,
    /// The SLOs, in file order.
    pub slos: Vec<Slo>,
    /// Where notifications go.
    pub receivers: Vec<Receiver>,
    /// Planned downtime: alerts muted, buckets excluded.
    pub maintenance: Vec<crate::maintenance::Maintenance>,
    /// Link template for notifications (`{service}`, `{name}`, `{slo}` replaced).
    pub dashboard_url: Option<String>,
    /// Scheduled store backups (`backup:`), if any.
    pub backup: Option<BackupSettings>,
    /// How many daemons run this file side by side, each with its own store, all evaluating and
    /// notifying (`replicas:`, default 1). Only receivers that deduplicate send once.
    pub replicas: u32,
}

impl Config {
    /// What is legal but likely unwanted, for `validate` and the daemon's start: with replicas,
    /// each receiver that cannot tell two replicas' messages apart gets every message once per
    /// replica.
    pub fn warnings(&self) -> Vec<String> {
        if self.replicas < 2 {
            return Vec::new();
        }
        self.receivers
            .iter()
            .filter(|r| !r.kind.deduplicates_replicas())
            .map(|r| {
                format!(
                    "receiver `{}` ({}) gets every message {} times with `replicas: {}`: each replica sends its own; route it through Alertmanager (identical labels are one alert) or PagerDuty (one dedup_key), which send once",
                    r.name,
                    r.kind.name(),
                    self.replicas,
                    self.replicas
                )
            })
            .collect()
    }
}

/// `backup:`: the daemon copies its store on a schedule, as `slowburn store backup` does, into
/// `to/slowburn-<UTC time>/` and keeps the newest `keep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSettings {
    /// How often a copy is taken.
    pub every: Dur,
    /// The directory the copies go into.
    pub to: std::path::PathBuf,
    /// Copies kept; older ones are removed after a new one verified.
    pub keep: u32,
}

/// A destination for notifications. Its secrets are [`Secret`](crate::secret::Secret)s, so its
/// `Debug` (in logs and errors) shows none of them.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// Unique name.
    pub name: String,
    /// How to deliver.
    pub kind: ReceiverKind,
    /// Severities routed here.
    pub severities: Vec<crate::alert::policy::Severity>,
    /// SLO labels that must all match.
    pub labels: BTreeMap<String, String>,
    /// Give up on a notification after this long.
    pub give_up_after: Dur,
    /// Re-send a still-firing alert this often; `None` sends it once.
    pub repeat_interval: Option<Dur>,
}

impl Receiver {
    /// Whether an alert of this SLO and severity goes here.
    pub fn routes(&self, slo: &Slo, severity: crate::alert::policy::Severity) -> bool {
        self.severities.contains(&severity)
            && self
                .labels
                .iter()
                .all(|(k, v)| slo.labels.get(k) == Some(v))
    }
}

/// The delivery protocol of a receiver: one variant per kind, holding that kind's settings.
/// How a kind sends, and what sets it apart (its provider's rate limit, grouping, throttling),
/// is declared beside its sender in `src/notify/<kind>.rs`; every `match` on this enum is
/// exhaustive, so a new kind is a compile error wherever it must be handled.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiverKind {
    /// PagerDuty Events API v2.
    PagerDuty(PagerDutySettings),
    /// A Slack incoming webhook.
    Slack(SlackSettings),
    /// A JSON POST.
    Webhook(WebhookSettings),
    /// Email over SMTP.
    Email(EmailSettings),
    /// Alertmanager's `POST /api/v2/alerts`.
    Alertmanager(AlertmanagerSettings),
}

impl ReceiverKind {
    /// The kind as `slo.yaml` spells its key (`pagerduty`, `slack`, ...), for messages.
    pub fn name(&self) -> &'static str {
        match self {
            ReceiverKind::PagerDuty(_) => "pagerduty",
            ReceiverKind::Slack(_) => "slack",
            ReceiverKind::Webhook(_) => "webhook",
            ReceiverKind::Email(_) => "email",
            ReceiverKind::Alertmanager(_) => "alertmanager",
        }
    }

    /// Whether messages of two replicas for one alert end as one at the far end: Alertmanager
    /// merges alerts with identical labels, PagerDuty events with one `dedup_key`; a chat
    /// message, an email or a webhook call is delivered each time it is sent.
    pub fn deduplicates_replicas(&self) -> bool {
        match self {
            ReceiverKind::PagerDuty(_) | ReceiverKind::Alertmanager(_) => true,
            ReceiverKind::Slack(_) | ReceiverKind::Webhook(_) | ReceiverKind::Email(_) => false,
        }
    }
}

/// `pagerduty:` of a receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct PagerDutySettings {
    /// Integration key: anyone holding it can page the service, so it is a secret.
    pub routing_key: crate::secret::Secret,
    /// Events endpoint.
    pub url: String,
}

/// `slack:` of a receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackSettings {
    /// The incoming-webhook URL: it is the credential, so it is a secret.
    pub url: crate::secret::Secret,
}

/// `webhook:` of a receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    /// Target URL.
    pub url: String,
    /// Extra headers; their values often carry a token, so every value is a secret.
    pub headers: Vec<(String, crate::secret::Secret)>,
}

/// `alertmanager:` of a receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertmanagerSettings {
    /// The alerts endpoint (base URL + `/api/v2/alerts`).
    pub url: String,
    /// Extra headers; their values often carry a token, so every value is a secret.
    pub headers: Vec<(String, crate::secret::Secret)>,
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// TLS from the first byte (SMTPS, port 465).
    Implicit,
    /// Plain connect, then `STARTTLS`, required (port 587).
    StartTls,
    /// No TLS at all: local relays and tests only.
    None,
}

/// Where and how to send email.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailSettings {
    /// SMTP host.
    pub host: String,
    /// SMTP port.
    pub port: u16,
    /// Transport security.
    pub tls: SmtpTls,
    /// User and password (a secret), if the server authenticates.
    pub credentials: Option<(String, crate::secret::Secret)>,
    /// Sender mailbox.
    pub from: String,
    /// Recipient mailboxes.
    pub to: Vec<String>,
}

impl Config {
    /// The maintenance windows that concern one SLO.
    pub fn maintenance_for(&self, slo: &Slo) -> Vec<crate::maintenance::Maintenance> {
        self.maintenance
            .iter()
            .filter(|m| m.applies(&slo.id, &slo.labels))
            .cloned()
            .collect()
    }

    /// The dashboard link for one SLO, if a template is configured.
    pub fn dashboard_link(&self, slo: &Slo) -> Option<String> {
        self.dashboard_url.as_ref().map(|t| {
            t.replace("{service}", &slo.service)
                .replace("{name}", &slo.name)
                .replace("{slo}", &slo.id)
        })
    }

    /// The longest budget period of any SLO: how much history `report` and backfill need.
    pub fn longest_period(&self) -> Dur {
        self.slos
            .iter()
            .map(Slo::longest_period)
            .max()
            .unwrap_or(Dur::from_secs(30 * 86400))
    }
}

/// How the daemon schedules queries.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineSettings {
    /// Buckets re-queried every tick, so samples scraped or ingested late are still counted.
    pub lag: u32,
    /// Wait after a bucket boundary before evaluating, to let the last scrape land.
    pub delay: Dur,
    /// How often buckets whose query failed are asked for again.
    pub heal_interval: Dur,
    /// History kept in the store beyond the longest window.
    pub retention_margin: Dur,
    /// How long one tick waits for its sources; what has not answered by then is missing (and
    /// healed later), so a stalled source cannot freeze evaluation. Default: the bucket minus
    /// the delay, the time until the next tick is due.
    pub tick_deadline: Dur,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            lag: 3,
            delay: Dur::from_secs(10),
            heal_interval: Dur::from_secs(300),
            retention_margin: Dur::from_secs(2 * 86400),
            tick_deadline: Dur::from_secs(50),
        }
    }
}

/// How to reach Prometheus (or Thanos, Mimir, Cortex).
#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusSettings {
    /// Base URL.
    pub url: String,
    /// Headers on every request; values may be secrets and are never printed.
    pub headers: Vec<(String, crate::secret::Secret)>,
    /// Per-request timeout.
    pub timeout: Dur,
    /// Queries in flight at once.
    pub max_concurrency: usize,
    /// Retries of retriable failures (5xx, 429, timeouts, connection errors).
    pub retries: u32,
    /// Points per series per range query; below Prometheus's 11,000 limit.
    pub max_points_per_query: u32,
    /// Which engine answers the PromQL API, for the parameters and headers it needs.
    pub flavor: Flavor,
    /// `flavor` was not written: the source asks the engine's buildinfo once and takes the
    /// flavor (and Mimir's `/prometheus` prefix) it reveals.
    pub detect_flavor: bool,
    /// How old a point must be before the engine counts it as complete (`engine.delay`): sent
    /// to VictoriaMetrics as `latency_offset`, so its own 30 s default never rewrites the last
    /// edges of a query the daemon already waited for.
    pub latency_offset: Dur,
}

/// The engine behind `prometheus.url`. They share the HTTP API but not its defaults: each needs
/// a few parameters or headers so that an answer is whole and raw (see
/// `source::prometheus::flavor`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Flavor {
    /// Prometheus itself (and anything that answers like it).
    #[default]
    Prometheus,
    /// Thanos Query (or Query Frontend).
    Thanos,
    /// Grafana Mimir or Cortex.
    Mimir,
    /// VictoriaMetrics (single node, or vmselect's Prometheus path).
    VictoriaMetrics,
}

impl Flavor {
    /// Every flavor, as `slo.yaml` spells it, for parsing and messages.
    pub const ALL: [(&'static str, Flavor); 4] = [
        ("prometheus", Flavor::Prometheus),
        ("thanos", Flavor::Thanos),
        ("mimir", Flavor::Mimir),
        ("victoriametrics", Flavor::VictoriaMetrics),
    ];

    /// The header a tenant travels in, for the engines that have tenants in a header.
    pub fn tenant_header(self) -> Option<&'static str> {
        match self {
            Flavor::Thanos => Some("THANOS-TENANT"),
            Flavor::Mimir => Some("X-Scope-OrgID"),
            Flavor::Prometheus | Flavor::VictoriaMetrics => None,
        }
    }
}

/// Which series `/metrics` carries: by default only what the generated dashboards read (about
/// half of all), `detail: full` for every window of every family, and the peers' series for
/// teams that keep Sloth's or Pyrra's dashboards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSettings {
    /// SLI, events and coverage for every window, not only the ones the dashboards read.
    pub full: bool,
    /// Also export Sloth's `slo:*` series and `sloth_*` labels (its Grafana dashboards 14348/14643).
    pub sloth: bool,
    /// Also export Pyrra's generic `pyrra_*` series (its list and detail dashboards).
    pub pyrra: bool,
}

/// Where the dashboards go and how to authenticate. The token and password are
/// [`Secret`](crate::secret::Secret)s, so `Debug` shows neither.
#[derive(Debug, Clone, PartialEq)]
pub struct GrafanaSettings {
    /// Base URL, e.g. `http://grafana:3000`.
    pub url: String,
    /// Service-account token (`glsa_…`), sent as a bearer token.
    pub token: Option<crate::secret::Secret>,
    /// Basic auth (user, password) instead of a token.
    pub basic_auth: Option<(String, crate::secret::Secret)>,
    /// `X-Grafana-Org-Id`; the token's org when unset.
    pub org_id: Option<u64>,
    /// The folder's uid (stable; created when missing).
    pub folder_uid: String,
    /// The folder's title when it is created.
    pub folder_title: String,
    /// Per request.
    pub timeout: Dur,
}

/// How to reach Loki.
#[derive(Debug, Clone, PartialEq)]
pub struct LokiSettings {
    /// Base URL.
    pub url: String,
    /// `X-Scope-OrgID`, when Loki runs with tenancy.
    pub tenant: Option<String>,
    /// Headers on every request; values may be secrets and are never printed.
    pub headers: Vec<(String, crate::secret::Secret)>,
    /// Basic auth user and password (a secret).
    pub basic_auth: Option<(String, crate::secret::Secret)>,
    /// Per-request timeout.
    pub timeout: Dur,
    /// Queries in flight at once.
    pub max_concurrency: usize,
    /// Retries of retriable failures (5xx, 429, timeouts, connection errors).
    pub retries: u32,
    /// Points per series per range query; at most Loki's 11,000.
    pub max_points_per_query: u32,
    /// How long Loki keeps logs; older buckets are missing.
    pub retention: Option<Dur>,
}

/// One SLO.
#[derive(Debug, Clone)]
pub struct Slo {
    /// `service/name`: stable identity across reloads and in the store.
    pub id: String,
    /// Owning service.
    pub service: String,
    /// Name within the service.
    pub name: String,
    /// Objective as a ratio (0.999 for 99.9%).
    pub objective: f64,
    /// Rolling budget periods, first one drives alerting (an SLO that names only calendar
    /// periods gets the first one's nominal length here, for alerting).
    pub periods: Vec<Dur>,
    /// Calendar budget periods (`week`, `month`, `quarter` in `windows:`) in its time zone.
    pub calendars: Vec<crate::calendar::Calendar>,
    /// Where its calendar periods begin (`timezone:`, else `defaults.timezone`, else UTC):
    /// also the zone of `report --calendar` unless it names one.
    pub timezone: chrono_tz::Tz,
    /// Free text.
    pub description: Option<String>,
    /// Routing and grouping labels.
    pub labels: BTreeMap<String, String>,
    /// How the SLI was declared (kept for `--online` checks and the API).
    pub sli: SliKind,
    /// The source its SLI reads from ([`SourceKind::Mixed`] when its sides name their own).
    pub source: SourceKind,
    /// How the source counts good and total events for this SLO.
    pub counts: CountSpec,
    /// The external commitment, if any.
    pub sla: Option<Sla>,
    /// The resolved alert policy (built-in default, named policy, SLO overrides).
    pub policy: crate::alert::policy::Policy,
    /// `group_by:`: this SLO stands for one SLO per value of these labels (on a definition and
    /// on each of its members).
    pub group_by: Option<GroupBy>,
    /// A member's values of the `group_by` labels; empty on a definition and on a plain SLO.
    pub group: BTreeMap<String, String>,
}

/// `group_by:` and `max_groups:` of a grouped SLO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBy {
    /// The labels whose values make the members, in the order written.
    pub labels: Vec<String>,
    /// Most members followed at once.
    pub max: usize,
}

/// The declared kind of SLI.
#[derive(Debug, Clone, PartialEq)]
pub enum SliKind {
    /// Counters of good/bad/total events.
    Ratio,
    /// A histogram and a threshold that is one of its `le` boundaries.
    Latency {
        /// Metric base name, e.g. `http_request_duration_seconds`.
        metric: String,
        /// Matchers inside the braces, e.g. `service="api"` (may be empty).
        matchers: String,
        /// Threshold.
        threshold: Dur,
    },
    /// Good time slices.
    Timeslice,
    /// Log lines with a duration field, good at or under the threshold.
    LogLatency {
        /// The log query whose lines are the requests.
        logs: String,
        /// The extracted field holding the duration.
        field: String,
        /// How the field is written.
        unit: DurationUnit,
        /// Threshold.
        threshold: Dur,
    },
}

impl SliKind {
    /// The kind as the API and `slo_info` name it: `ratio`, `latency` (metric or log) or
    /// `timeslice`.
    pub fn name(&self) -> &'static str {
        match self {
            SliKind::Ratio => "ratio",
            SliKind::Latency { .. } | SliKind::LogLatency { .. } => "latency",
            SliKind::Timeslice => "timeslice",
        }
    }
}

impl Slo {
    /// Whether this is a `group_by` definition, evaluated only through its members.
    pub fn is_group(&self) -> bool {
        self.group_by.is_some() && self.group.is_empty()
    }

    /// Its longest budget period: how far back its history, its members and a retired member's
    /// last sighting reach.
    pub fn longest_period(&self) -> Dur {
        let calendar = self
            .calendars
            .iter()
            .map(|c| Dur::from_secs(c.unit.max_secs() as u64));
        self.periods
            .iter()
            .copied()
            .chain(calendar)
            .max()
            .unwrap_or(Dur::from_secs(30 * 86400))
    }

    /// The id of the definition a member belongs to (its own id otherwise): what the `slo`
    /// label, dashboards and the rule file name it by.
    pub fn definition_id(&self) -> String {
        format!("{}/{}", self.service, self.name)
    }

    /// Whether this SLO reads from the source `kind` (for a mixed SLI: any side does).
    pub fn reads(&self, kind: SourceKind) -> bool {
        self.source == kind || self.counts.side_sources().contains(&kind)
    }
}

/// An external commitment reported beside the budget.
#[derive(Debug, Clone)]
pub struct Sla {
    /// Commitment as a ratio.
    pub objective: f64,
    /// Its own counts when they differ from the SLO's (a latency SLA with its own threshold).
    pub counts: Option<CountSpec>,
}
