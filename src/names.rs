//! Exported metric and label names: the one spelling that `/metrics`, the generated Grafana
//! dashboards and exported rules share, so a renamed series cannot leave a dashboard reading
//! nothing. Names follow Prometheus conventions (`promtool check metrics` runs on the output).

/// The SLO's objective as a ratio.
pub const SLO_OBJECTIVE: &str = "slo_objective_ratio";
/// The SLI (good / total) over a window.
pub const SLO_SLI: &str = "slo_sli_ratio";
/// Error ratio over a window divided by the error budget ratio.
pub const SLO_BURN_RATE: &str = "slo_burn_rate";
/// Good and total events over a window (`kind` label).
pub const SLO_EVENTS: &str = "slo_events";
/// Known buckets / buckets in a window.
pub const SLO_COVERAGE: &str = "slo_coverage_ratio";
/// Share of a period's error budget left (negative when overspent).
pub const SLO_BUDGET_REMAINING: &str = "slo_error_budget_remaining_ratio";
/// Seconds until a period's budget is spent at the current burn.
pub const SLO_BUDGET_EXHAUSTION: &str = "slo_budget_exhaustion_seconds";
/// 1 while an alert of a severity fires.
pub const SLO_ALERT_FIRING: &str = "slo_alert_firing";
/// The SLA's commitment as a ratio.
pub const SLO_SLA_OBJECTIVE: &str = "slo_sla_objective_ratio";
/// The SLA's SLI over the first period.
pub const SLO_SLA_SLI: &str = "slo_sla_sli_ratio";
/// Always 1: the SLO's description, SLI kind, source, queries and own labels, as labels (the
/// dashboards' filters and definition panel join on it).
pub const SLO_INFO: &str = "slo_info";

/// Always 1; the version is a label.
pub const BUILD_INFO: &str = "slowburn_build_info";
/// Always 1: which shard of how many this daemon is (`shard="0", shards="1"` unsharded).
pub const SHARD_INFO: &str = "slowburn_shard_info";
/// SLOs being evaluated.
pub const SLOS: &str = "slowburn_slos";
/// 1 once the startup backfill is done.
pub const READY: &str = "slowburn_ready";
/// 1 when the last reload succeeded.
pub const CONFIG_RELOAD_SUCCESS: &str = "slowburn_config_reload_success";
/// Unix time of the last completed evaluation.
pub const LAST_EVAL: &str = "slowburn_last_eval_timestamp_seconds";
/// Failed source queries by SLO.
pub const SOURCE_ERRORS: &str = "slowburn_source_errors_total";
/// Ticks at which an SLO's answers showed what counts cannot mean, by kind.
pub const SANITY_WARNINGS: &str = "slowburn_sli_sanity_warnings_total";
/// Members a `group_by` SLO follows, by definition (`slo="service/name"`).
pub const GROUP_MEMBERS: &str = "slowburn_group_members";
/// Values of a `group_by` SLO's labels found at the last look but not followed, `max_groups`
/// being reached: above 0 means members are missing.
pub const GROUP_MEMBERS_DROPPED: &str = "slowburn_group_members_dropped";
/// Notification outcomes by receiver and result.
pub const NOTIFICATIONS: &str = "slowburn_notifications_total";
/// Notifications waiting in the outbox by receiver.
pub const NOTIFICATIONS_PENDING: &str = "slowburn_notifications_pending";
/// Source request durations (a histogram: `_bucket`, `_sum`, `_count`), by source.
pub const SOURCE_QUERY_DURATION: &str = "slowburn_source_query_duration_seconds";
/// Samples the source reported reading, by source.
pub const SOURCE_SAMPLES_READ: &str = "slowburn_source_samples_read_total";
/// Source answers not believed (partial data, broken contract), by source and reason.
pub const SOURCE_UNTRUSTED: &str = "slowburn_source_untrusted_answers_total";
/// Stored values found damaged (checksum mismatch) since start.
pub const STORE_DAMAGED: &str = "slowburn_store_damaged_values_total";
/// Stored values that passed their checksum but do not read (an unknown severity), by kind.
pub const STORE_UNREADABLE: &str = "slowburn_store_unreadable_total";
/// Unix seconds of the newest verified store backup (0: none).
pub const BACKUP_LAST_SUCCESS: &str = "slowburn_backup_last_success_timestamp_seconds";
/// Scheduled store backups by result (ok, failed).
pub const BACKUPS: &str = "slowburn_backups_total";
/// Times the store was closed and reopened after an I/O error (a full disk).
pub const STORE_REOPENS: &str = "slowburn_store_reopens_total";
/// Dashboard provisioning outcomes by result (created, updated, unchanged, failed).
pub const GRAFANA_PROVISIONS: &str = "slowburn_grafana_provisions_total";

/// Every series name `/metrics` can carry (histograms by family name): the tests check that the
/// dashboards query nothing else and that `/metrics` exports nothing unlisted.
pub const EXPORTED: &[&str] = &[
    SLO_OBJECTIVE,
    SLO_SLI,
    SLO_BURN_RATE,
    SLO_EVENTS,
    SLO_COVERAGE,
    SLO_BUDGET_REMAINING,
    SLO_BUDGET_EXHAUSTION,
    SLO_ALERT_FIRING,
    SLO_SLA_OBJECTIVE,
    SLO_SLA_SLI,
    SLO_INFO,
    BUILD_INFO,
    SHARD_INFO,
    SLOS,
    READY,
    CONFIG_RELOAD_SUCCESS,
    LAST_EVAL,
    SOURCE_ERRORS,
    SANITY_WARNINGS,
    GROUP_MEMBERS,
    GROUP_MEMBERS_DROPPED,
    NOTIFICATIONS,
    NOTIFICATIONS_PENDING,
    SOURCE_QUERY_DURATION,
    SOURCE_SAMPLES_READ,
    SOURCE_UNTRUSTED,
    STORE_DAMAGED,
    STORE_UNREADABLE,
    STORE_REOPENS,
    BACKUP_LAST_SUCCESS,
    BACKUPS,
    GRAFANA_PROVISIONS,
];

/// Label: the owning service.
pub const LABEL_SERVICE: &str = "service";
/// Label: the SLO name within its service.
pub const LABEL_SLO: &str = "slo";
/// Label: a burn or SLI window (`5m` … `3d`).
pub const LABEL_WINDOW: &str = "window";
/// Label: a budget period (`7d`, `30d`).
pub const LABEL_PERIOD: &str = "period";
/// Label: page or ticket.
pub const LABEL_SEVERITY: &str = "severity";
/// Label: which source answered (`prometheus`, `loki`).
pub const LABEL_SOURCE: &str = "source";

/// Label names slowburn sets itself on `slo_info` and on the alerts it posts to Alertmanager: an
/// SLO label whose key maps to one of them would be dropped or overwritten there, so `validate`
/// refuses it.
pub const RESERVED_LABELS: [&str; 8] = [
    LABEL_SERVICE,
    LABEL_SLO,
    "description",
    "sli",
    LABEL_SOURCE,
    "queries",
    "alertname",
    LABEL_SEVERITY,
];

/// An SLO label key as a Prometheus and Alertmanager label name: characters outside
/// `[a-zA-Z0-9_]` become `_` and a leading digit gets a `_` before it (`team-name` → `team_name`,
/// `app.kubernetes.io/part-of` → `app_kubernetes_io_part_of`), and a leading `__` (reserved)
/// becomes one `_`. Prometheus refuses a scrape with any other name, and Alertmanager 0.25 (and
/// any in classic mode) answers 400.
pub fn label_name(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, '_');
    }
    while out.starts_with("__") {
        out.remove(0);
    }
    out
}

/// A histogram family's series names.
pub fn bucket(family: &str) -> String {
    format!("{family}_bucket")
}

#[cfg(test)]
mod tests {
    use super::label_name;

    #[test]
    fn label_keys_become_names_prometheus_and_alertmanager_accept() {
        assert_eq!(label_name("team"), "team");
        assert_eq!(label_name("team-name"), "team_name");
        assert_eq!(
            label_name("app.kubernetes.io/part-of"),
            "app_kubernetes_io_part_of"
        );
        assert_eq!(label_name("1tier"), "_1tier");
        assert_eq!(label_name("__name__"), "_name__");
        assert_eq!(label_name(""), "_");
    }
}
