//! `RawConfig`: `slo.yaml` exactly as written, with the source position of every field.
//!
//! Nothing here is checked beyond YAML shape; `validate.rs` turns it into a [`super::Config`] and
//! collects every semantic error at once. Positions come from `serde_saphyr::Spanned`.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// A string field with its position; most error messages point at one of these.
pub type SStr = Spanned<String>;

/// A mapping whose keys keep their positions, in file order: SLO label keys and header names,
/// so that a key refused for its spelling (two label keys that map to one Prometheus name, a
/// header name that is not an HTTP token) is pointed at, not just its mapping.
#[derive(Debug)]
pub struct Keyed<V>(pub Vec<(SStr, V)>);

impl<V> Default for Keyed<V> {
    fn default() -> Self {
        Keyed(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Keyed<V> {
    /// Reads a mapping entry by entry; the YAML layer has already refused a key given twice.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
            type Value = Keyed<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of names to values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Keyed<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = m.next_entry::<SStr, V>()? {
                    entries.push(entry);
                }
                Ok(Keyed(entries))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Where SLIs are queried.
    pub prometheus: Option<Spanned<RawPrometheus>>,
    /// Where log SLIs (`source: loki`) are queried.
    pub loki: Option<Spanned<RawLoki>>,
    /// Where the daemon provisions its dashboards.
    pub grafana: Option<Spanned<RawGrafana>>,
    /// Which series `/metrics` carries.
    pub metrics: Option<RawMetrics>,
    /// Defaults applied to every SLO.
    pub defaults: Option<RawDefaults>,
    /// How the daemon schedules its work.
    pub engine: Option<RawEngine>,
    /// Alert policies.
    pub alerting: Option<RawAlerting>,
    /// Where notifications go.
    #[serde(default)]
    pub receivers: Vec<Spanned<RawReceiver>>,
    /// The SLOs themselves.
    #[serde(default)]
    pub slos: Vec<Spanned<RawSlo>>,
    /// Planned downtime: alerts muted and buckets excluded from the budget.
    #[serde(default)]
    pub maintenance: Vec<Spanned<RawMaintenance>>,
    /// Scheduled copies of the store.
    pub backup: Option<Spanned<RawBackup>>,
    /// How many daemons run this file side by side (an HA pair: 2).
    pub replicas: Option<Spanned<u32>>,
}

/// `backup:` (verified copies of the store on a schedule).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackup {
    /// How often (`24h`).
    pub every: SStr,
    /// The directory the copies go into, one subdirectory each.
    pub to: SStr,
    /// How many copies to keep (default 7).
    pub keep: Option<Spanned<u32>>,
}

/// One maintenance window: one-off (`start` + `end`) or weekly (`weekly`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMaintenance {
    /// What it is, for logs and the API.
    pub name: SStr,
    /// One-off start (RFC 3339).
    pub start: Option<SStr>,
    /// One-off end (RFC 3339).
    pub end: Option<SStr>,
    /// Weekly recurrence.
    pub weekly: Option<Spanned<RawWeekly>>,
    /// SLO ids (`service/name`) it applies to; with `labels` empty too, every SLO.
    #[serde(default)]
    pub slos: Vec<SStr>,
    /// SLO labels that must all match.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A weekly window in UTC: `{day: sun, at: "03:00", duration: 2h}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeekly {
    /// `mon` … `sun`.
    pub day: SStr,
    /// Start time of day, `HH:MM`, UTC.
    pub at: SStr,
    /// How long it lasts.
    pub duration: SStr,
}

/// `prometheus:` (also Thanos, Mimir, Cortex: anything with the Prometheus query API).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrometheus {
    /// Base URL, possibly with a path prefix such as `/prometheus`.
    pub url: SStr,
    /// Extra headers on every request (tenant ids, auth); values may use `${ENV}`.
    #[serde(default)]
    pub headers: Keyed<SStr>,
    /// Per-request timeout.
    pub timeout: Option<SStr>,
    /// Queries in flight at once.
    pub max_concurrency: Option<Spanned<u32>>,
    /// Retries after a 5xx, a 429 or a timeout.
    pub retries: Option<Spanned<u32>>,
    /// Points per series per range query (Prometheus refuses more than 11,000).
    pub max_points_per_query: Option<Spanned<u32>>,
    /// Which engine answers: `prometheus`, `thanos`, `mimir` or `victoriametrics`.
    pub flavor: Option<SStr>,
    /// Tenant, sent as `THANOS-TENANT` (Thanos) or `X-Scope-OrgID` (Mimir, Cortex).
    pub tenant: Option<SStr>,
}

/// `loki:`: a Loki (or Grafana Cloud Logs, GEL) query endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoki {
    /// Base URL, e.g. `http://127.0.0.1:3100`.
    pub url: SStr,
    /// Tenant, sent as `X-Scope-OrgID` (required by a Loki with `auth_enabled: true`).
    pub tenant: Option<SStr>,
    /// Extra headers on every request; values may use `${ENV}`.
    #[serde(default)]
    pub headers: Keyed<SStr>,
    /// Basic auth user (Grafana Cloud: the instance id).
    pub username: Option<SStr>,
    /// Basic auth password or token; use `${ENV}` or `${file:…}`.
    pub password: Option<SStr>,
    /// Per-request timeout.
    pub timeout: Option<SStr>,
    /// Queries in flight at once.
    pub max_concurrency: Option<Spanned<u32>>,
    /// Retries after a 5xx, a 429 or a timeout.
    pub retries: Option<Spanned<u32>>,
    /// Points per series per range query (Loki refuses more than 11,000).
    pub max_points_per_query: Option<Spanned<u32>>,
    /// How long Loki keeps logs: older buckets are missing, not zero.
    pub retention: Option<SStr>,
}

/// `metrics:` (what `/metrics` exports).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    /// `dashboards` (default) or `full`.
    pub detail: Option<SStr>,
    /// Peers whose series to export too: `sloth`, `pyrra`.
    #[serde(default)]
    pub compat: Vec<SStr>,
}

/// `grafana:` (dashboard provisioning by API).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrafana {
    /// Base URL, e.g. `http://grafana:3000`.
    pub url: SStr,
    /// Service-account token; use `${GRAFANA_TOKEN}` or `${file:…}`.
    pub token: Option<SStr>,
    /// Basic auth user, instead of a token.
    pub username: Option<SStr>,
    /// Basic auth password; use `${ENV}` or `${file:…}`.
    pub password: Option<SStr>,
    /// `X-Grafana-Org-Id`.
    pub org_id: Option<Spanned<u64>>,
    /// The folder's uid (default `slowburn`).
    pub folder_uid: Option<SStr>,
    /// The folder's title when it is created (default `SLOs`).
    pub folder_title: Option<SStr>,
    /// Per-request timeout.
    pub timeout: Option<SStr>,
}

/// `engine:` (the daemon's schedule).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEngine {
    /// Buckets re-queried every tick so late samples are counted.
    pub lag: Option<Spanned<u32>>,
    /// Wait after a bucket boundary before querying it.
    pub delay: Option<SStr>,
    /// How often buckets whose query failed are re-queried.
    pub heal_interval: Option<SStr>,
    /// Stored history kept beyond the longest window.
    pub retention_margin: Option<SStr>,
    /// How long a tick waits for its sources.
    pub tick_deadline: Option<SStr>,
}

/// `defaults:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    /// Budget periods, e.g. `[30d, 7d]` or `[30d, month]`.
    pub windows: Option<Spanned<Vec<SStr>>>,
    /// IANA time zone where calendar periods begin (default `UTC`).
    pub timezone: Option<SStr>,
    /// Bucket width of stored counts.
    pub bucket: Option<SStr>,
    /// Name of the alert policy SLOs use unless they say otherwise.
    pub alerting: Option<SStr>,
}

/// One entry of `slos:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    /// Owning service; first half of the SLO id.
    pub service: SStr,
    /// SLO name; second half of the id.
    pub name: SStr,
    /// Target in percent, e.g. `99.9`.
    pub objective: Spanned<f64>,
    /// Budget periods; defaults to `defaults.windows`.
    pub windows: Option<Spanned<Vec<SStr>>>,
    /// IANA time zone of its calendar periods; defaults to `defaults.timezone`.
    pub timezone: Option<SStr>,
    /// Free text for people.
    pub description: Option<String>,
    /// Labels for routing and grouping.
    #[serde(default)]
    pub labels: Keyed<String>,
    /// How good and total events are counted.
    pub sli: Spanned<RawSli>,
    /// An external commitment, looser than the objective.
    pub sla: Option<Spanned<RawSla>>,
    /// The SLO's alert policy and overrides.
    pub alerting: Option<Spanned<RawSloAlerting>>,
    /// One SLO per value of these labels found in the source (`group_by: [route]`).
    pub group_by: Option<Spanned<Vec<SStr>>>,
    /// Most members a grouped SLO follows (default 100): a label with unbounded values (a user
    /// id) must not turn into a million SLOs.
    pub max_groups: Option<Spanned<u64>>,
}

/// `sli:`: exactly one of the three kinds (checked in validation, so the error can say so).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSli {
    /// Event ratio from counters.
    pub ratio: Option<Spanned<RawRatio>>,
    /// Share of requests under a histogram bucket boundary.
    pub latency: Option<Spanned<RawLatency>>,
    /// Good time slices of a query compared against a threshold.
    pub timeslice: Option<Spanned<RawTimeslice>>,
}

/// `sli.ratio`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRatio {
    /// `prometheus` (default) or `loki`.
    pub source: Option<SStr>,
    /// Good events.
    pub good: Option<Spanned<RawQuery>>,
    /// Bad events.
    pub errors: Option<Spanned<RawQuery>>,
    /// All events.
    pub total: Option<Spanned<RawQuery>>,
}

/// One side of a ratio: a query string, or `{query, source}` to read it from another source than
/// the SLI's (a total from Prometheus, errors from Loki).
#[derive(Debug)]
pub enum RawQuery {
    /// Just the query, in the SLI's source.
    Text(String),
    /// The query and its own source.
    Sourced(RawSourcedQuery),
}

/// `{query: …, source: …}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSourcedQuery {
    /// The query.
    pub query: SStr,
    /// The source that answers it.
    pub source: Option<SStr>,
}

impl<'de> Deserialize<'de> for RawQuery {
    /// A string or a mapping; written by hand because `#[serde(untagged)]` would lose the
    /// positions inside the mapping and give "did not match any variant" instead of the field.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawQuery;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a query string, or a mapping with `query` and `source`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawQuery, E> {
                Ok(RawQuery::Text(v.to_string()))
            }
            // A bare number is a valid query (`1`); YAML reads it as a number first.
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawQuery, E> {
                Ok(RawQuery::Text(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawQuery, E> {
                Ok(RawQuery::Text(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<RawQuery, E> {
                Ok(RawQuery::Text(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<RawQuery, A::Error> {
                RawSourcedQuery::deserialize(serde::de::value::MapAccessDeserializer::new(m))
                    .map(RawQuery::Sourced)
            }
        }
        d.deserialize_any(V)
    }
}

/// `sli.latency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLatency {
    /// `prometheus` (default, with `histogram`) or `loki` (with `logs` and `field`).
    pub source: Option<SStr>,
    /// Histogram base name with optional matchers, e.g. `http_request_duration_seconds{service="api"}`.
    pub histogram: Option<SStr>,
    /// Loki: the log query whose lines are the requests, e.g. `{app="api"} | json`.
    pub logs: Option<SStr>,
    /// Loki: the extracted field holding each request's duration.
    pub field: Option<SStr>,
    /// Loki: how `field` is written: `ms` (default), `s` or `duration` (`"182ms"`).
    pub unit: Option<SStr>,
    /// Threshold; for a histogram, one of its `le` boundaries.
    pub threshold: SStr,
}

/// `sli.timeslice`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeslice {
    /// `prometheus` (default) or `loki`.
    pub source: Option<SStr>,
    /// A PromQL or LogQL metric query returning one series.
    pub query: SStr,
    /// A slice is good when the value is below this.
    pub below: Option<Spanned<f64>>,
    /// A slice is good when the value is above this.
    pub above: Option<Spanned<f64>>,
    /// Slice length; defaults to the bucket.
    pub slice: Option<SStr>,
}

/// `sla:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSla {
    /// Commitment in percent; must be at or below the objective.
    pub objective: Spanned<f64>,
    /// For latency SLIs: the SLA's own threshold (defaults to the SLO's).
    pub threshold: Option<SStr>,
}

/// `alerting:` at the top level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerting {
    /// Named policies; `default` replaces the built-in one.
    #[serde(default)]
    pub policies: BTreeMap<String, Spanned<RawPolicy>>,
    /// Link put in notifications; `{service}`, `{name}` and `{slo}` are replaced.
    pub dashboard_url: Option<SStr>,
}

/// One alert policy; every field is optional and falls back to the built-in default.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// Burn-rate rules (windows as written, not scaled).
    pub rules: Option<Spanned<Vec<Spanned<RawRule>>>>,
    /// Events the long window needs before a rule may fire.
    pub min_events: Option<Spanned<f64>>,
    /// Ticket when a period's remaining budget drops below this share.
    pub budget_ticket_below: Option<Spanned<f64>>,
    /// `page`, `ticket` or `none` when a period's budget is spent.
    pub budget_exhausted: Option<SStr>,
    /// Ticket when no bucket at all was known for this long.
    pub no_data_after: Option<SStr>,
    /// Alert when this share of a period's budget went within this long.
    pub budget_drop: Option<Spanned<RawBudgetDrop>>,
    /// Alert when the budget is gone within this long at the last hour's burn rate.
    pub exhaustion_within: Option<Spanned<RawExhaustion>>,
}

/// `budget_drop: {percent: 5, within: 1h, severity: page}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudgetDrop {
    /// Share of the period's budget, in percent.
    pub percent: Spanned<f64>,
    /// The span it went in.
    pub within: SStr,
    /// `page` (default) or `ticket`.
    pub severity: Option<SStr>,
}

/// `exhaustion_within: 24h`, or `{within: 24h, severity: page}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawExhaustion {
    /// Just the span; a ticket.
    Within(SStr),
    /// The span and a severity.
    Full {
        /// The span.
        within: SStr,
        /// `page` or `ticket` (default).
        severity: Option<SStr>,
    },
}

/// One burn-rate rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// `page` or `ticket`.
    pub severity: SStr,
    /// Long window.
    pub long: SStr,
    /// Short window.
    pub short: SStr,
    /// Burn-rate factor.
    pub factor: Spanned<f64>,
    /// How long the rule must hold before it fires (`for: 5m`); at once by default.
    #[serde(rename = "for")]
    pub pending: Option<SStr>,
}

/// `alerting:` of one SLO: a policy by name plus overrides.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSloAlerting {
    /// Policy name (default: `defaults.alerting`, else `default`).
    pub policy: Option<SStr>,
    /// Override of the policy's rules.
    pub rules: Option<Spanned<Vec<Spanned<RawRule>>>>,
    /// Override of `min_events`.
    pub min_events: Option<Spanned<f64>>,
    /// Override of `budget_ticket_below`.
    pub budget_ticket_below: Option<Spanned<f64>>,
    /// Override of `budget_exhausted`.
    pub budget_exhausted: Option<SStr>,
    /// Override of `no_data_after`.
    pub no_data_after: Option<SStr>,
    /// Override of `budget_drop` (`none` turns it off is not needed: it is off by default).
    pub budget_drop: Option<Spanned<RawBudgetDrop>>,
    /// Override of `exhaustion_within`.
    pub exhaustion_within: Option<Spanned<RawExhaustion>>,
}

/// One entry of `receivers:`: a name, exactly one kind, and routing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReceiver {
    /// Unique name, used in logs and metrics.
    pub name: SStr,
    /// PagerDuty Events API v2.
    pub pagerduty: Option<RawPagerDuty>,
    /// A JSON POST to any URL.
    pub webhook: Option<RawWebhook>,
    /// A Slack incoming webhook.
    pub slack: Option<RawSlack>,
    /// Email over SMTP.
    pub email: Option<RawEmail>,
    /// An Alertmanager (`POST /api/v2/alerts`).
    pub alertmanager: Option<RawAlertmanager>,
    /// Re-send still-firing alerts this often (default: never for PagerDuty and webhooks, 4h for
    /// Slack and email, 1m for Alertmanager, which forgets alerts that are not re-posted).
    pub repeat_interval: Option<SStr>,
    /// Severities sent here (default: page and ticket).
    pub severities: Option<Spanned<Vec<SStr>>>,
    /// SLO labels that must all match.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Give up on a notification after this long (default 24h).
    pub give_up_after: Option<SStr>,
}

/// `pagerduty:` of a receiver.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPagerDuty {
    /// Integration key (secret: use `${ENV}`).
    pub routing_key: SStr,
    /// Events endpoint (default `https://events.pagerduty.com/v2/enqueue`).
    pub url: Option<SStr>,
}

/// `webhook:` of a receiver.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// Where to POST.
    pub url: SStr,
    /// Extra headers (secrets via `${ENV}`).
    #[serde(default)]
    pub headers: Keyed<SStr>,
}

/// `slack:` of a receiver.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlack {
    /// The incoming-webhook URL (a secret: use `${ENV}`).
    pub webhook_url: SStr,
}

/// `email:` of a receiver.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    /// SMTP server host name.
    pub host: SStr,
    /// Port (default by `tls`: 465 for `implicit`, 587 for `starttls`, 25 for `none`).
    pub port: Option<Spanned<u16>>,
    /// `implicit` (SMTPS), `starttls` (default) or `none` (local relays only).
    pub tls: Option<SStr>,
    /// SMTP user, if the server wants authentication.
    pub username: Option<SStr>,
    /// SMTP password (a secret: use `${ENV}` or `${file:/run/secrets/smtp}`).
    pub password: Option<SStr>,
    /// Sender address.
    pub from: SStr,
    /// Recipients.
    pub to: Spanned<Vec<SStr>>,
}

/// `alertmanager:` of a receiver.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlertmanager {
    /// Base URL of the Alertmanager, e.g. `http://alertmanager:9093`.
    pub url: SStr,
    /// Extra headers (e.g. `X-Scope-OrgID` for Mimir, or a bearer token via `${ENV}`).
    #[serde(default)]
    pub headers: Keyed<SStr>,
}
