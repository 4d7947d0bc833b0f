//! The documents of configs parsed from text, the YAML writer, and the round trip through
//! `slowburn import` (export, import, export again: the same bytes).

use super::*;
use crate::import::{self, Format, Input, Options};
use serde_json::Value;

/// The repository's own `slo.yaml`.
const REPO: &str = include_str!("../../../slo.yaml");

/// Every kind slowburn exports: a latency SLI with an SLA of its own threshold, two windows,
/// custom rules and the policy's other settings; a time slice with its tickets turned off; a
/// `$window` expression beside a selector.
const KINDS: &str = r#"
prometheus:
  url: http://prometheus:9090
slos:
  - service: checkout
    name: latency
    objective: 99
    windows: [28d, 7d]
    description: "Payments: answered in 300 ms"
    labels: {team: payments, tier: "1"}
    sli:
      latency:
        histogram: 'http_request_duration_seconds{route="/pay", job="checkout"}'
        threshold: 300ms
    sla:
      objective: 98.5
      threshold: 1s
    alerting:
      rules:
        - {severity: page, long: 1h, short: 5m, factor: 14.4}
        - {severity: ticket, long: 1d, short: 2h, factor: 3, for: 15m}
      min_events: 100
      budget_ticket_below: 0.1
      budget_exhausted: page
      no_data_after: 1h
  - service: checkout
    name: queue-age
    objective: 99.5
    sli:
      timeslice:
        query: 'max(queue_oldest_message_age_seconds{queue="orders"})'
        below: 30
    alerting:
      budget_ticket_below: 0
      budget_exhausted: none
      no_data_after: none
  - service: checkout
    name: errors
    objective: 99.9
    sli:
      ratio:
        good: 'sum(increase(http_requests_total{job="checkout",code!~"5.."}[$window])) or vector(0)'
        total: 'http_requests_total{job="checkout"}'
"#;

/// Log SLIs: a Loki ratio and a log latency (written as the ratio of its log queries).
const LOGS: &str = r#"
prometheus:
  url: http://prometheus:9090
loki:
  url: http://loki:3100
slos:
  - service: logs
    name: errors
    objective: 99
    sli:
      ratio:
        source: loki
        errors: '{app="api"} | json | status >= 500'
        total: '{app="api"}'
  - service: logs
    name: latency
    objective: 95
    sli:
      latency:
        source: loki
        logs: '{app="api"} | json'
        field: duration_ms
        threshold: 200ms
"#;

/// Grouped SLOs: a ratio by two labels with its own `max_groups`, a latency SLI with an SLA by
/// one label at the default cap.
const GROUPED: &str = r#"
prometheus:
  url: http://prometheus:9090
slos:
  - service: api
    name: availability
    objective: 99.5
    group_by: [route, method]
    max_groups: 50
    sli:
      ratio:
        errors: 'http_requests_total{job="api",code=~"5.."}'
        total: 'http_requests_total{job="api"}'
  - service: api
    name: latency
    objective: 99
    group_by: [route]
    sli:
      latency:
        histogram: 'http_request_duration_seconds{job="api"}'
        threshold: 300ms
    sla:
      objective: 98
      threshold: 1s
"#;

/// A valid config from its text.
fn config(text: &str) -> Config {
    match crate::config::parse_str(text, "slo.yaml", &|_| None) {
        Ok(c) => c,
        Err(e) => panic!("{e}\n{text}"),
    }
}

/// The exported documents, read back as YAML.
fn documents(yaml: &str) -> Vec<Value> {
    match serde_saphyr::from_multiple::<Value>(yaml) {
        Ok(docs) => docs.into_iter().filter(|d| !d.is_null()).collect(),
        Err(e) => panic!("{e}\n{yaml}"),
    }
}

/// Export, import, export again: the two exports must be the same bytes.
fn round_trip(text: &str) {
    let first = render(&config(text)).yaml;
    let input = Input {
        path: "export.yaml".into(),
        text: first.clone(),
    };
    let imported = import::import(Format::OpenSlo, &[input], &Options::default());
    assert!(
        imported.refused.is_empty(),
        "{:?}\n{first}",
        imported.refused
    );
    let yaml = import::emit::slo_yaml(&imported, "slowburn import --from openslo export.yaml");
    let second = render(&config(&yaml)).yaml;
    assert_eq!(first, second, "imported as:\n{yaml}");
}

#[test]
fn the_repository_config_round_trips() {
    round_trip(REPO);
}

#[test]
fn every_kind_round_trips() {
    round_trip(KINDS);
}

#[test]
fn log_slis_round_trip() {
    round_trip(LOGS);
}

#[test]
fn grouped_slos_round_trip() {
    round_trip(GROUPED);
}

#[test]
fn group_by_and_a_cap_other_than_the_default_are_annotations() {
    let r = render(&config(GROUPED));
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let docs = documents(&r.yaml);
    let notes = &docs[1]["metadata"]["annotations"];
    assert_eq!(notes["slowburn.dev/group_by"], "route,method", "{notes}");
    assert_eq!(notes["slowburn.dev/max_groups"], "50", "{notes}");
    // The SLI is the definition's: every value together, no group matcher.
    let total = &docs[1]["spec"]["indicator"]["spec"]["ratioMetric"]["total"]["metricSource"]["spec"]
        ["query"];
    assert_eq!(total, r#"http_requests_total{job="api"}"#);
    let notes = &docs[3]["metadata"]["annotations"];
    assert_eq!(notes["slowburn.dev/group_by"], "route", "{notes}");
    assert!(notes["slowburn.dev/max_groups"].is_null(), "{notes}");
    let none = render(&config(KINDS)).yaml;
    assert!(!none.contains("group_by") && !none.contains("max_groups"));
}

#[test]
fn documents_come_in_order() {
    let r = render(&config(KINDS));
    assert!(r.yaml.starts_with(HEADER), "{}", r.yaml);
    let docs = documents(&r.yaml);
    let kinds: Vec<String> = docs
        .iter()
        .map(|d| format!("{} {}", d["kind"], d["metadata"]["name"]).replace('"', ""))
        .collect();
    assert_eq!(
        kinds,
        [
            "DataSource prometheus",
            "SLO latency",
            "AlertPolicy checkout-latency-alerts",
            "SLO queue-age",
            "AlertPolicy checkout-queue-age-alerts",
            "SLO errors",
            "AlertPolicy checkout-errors-alerts",
        ]
    );
    assert_eq!(docs[0]["apiVersion"], "openslo/v1");
    let url = &docs[0]["spec"]["connectionDetails"]["url"];
    assert_eq!(url, "http://prometheus:9090");
    assert_eq!((r.slos, r.notes.len()), (3, 0), "{:?}", r.notes);
}

#[test]
fn a_latency_slo_carries_what_openslo_cannot_in_annotations() {
    let docs = documents(&render(&config(KINDS)).yaml);
    let (slo, spec) = (&docs[1], &docs[1]["spec"]);
    assert_eq!(spec["service"], "checkout");
    assert_eq!(spec["description"], "Payments: answered in 300 ms");
    assert_eq!(slo["metadata"]["labels"]["tier"], "1");
    let notes = &slo["metadata"]["annotations"];
    for (key, value) in [
        ("windows", "7d"),
        ("sla.objective", "98.5"),
        ("sla.threshold", "1s"),
        ("alerting.min_events", "100"),
        ("alerting.budget_ticket_below", "0.1"),
        ("alerting.budget_exhausted", "page"),
        ("alerting.no_data_after", "1h"),
    ] {
        assert_eq!(notes[format!("{PREFIX}{key}")], value, "{key}: {notes}");
    }
    assert_eq!(spec["timeWindow"][0]["duration"], "28d");
    assert_eq!(spec["timeWindow"][0]["isRolling"], true);
    assert_eq!(spec["budgetingMethod"], "Occurrences");
    assert_eq!(spec["objectives"][0]["target"], 0.99);
    let indicator = &spec["indicator"];
    assert_eq!(indicator["metadata"]["name"], "checkout-latency");
    let ratio = &indicator["spec"]["ratioMetric"];
    assert_eq!(ratio["counter"], true);
    let source = &ratio["good"]["metricSource"];
    assert_eq!(source["metricSourceRef"], "prometheus");
    assert_eq!(source["type"], "Prometheus");
    assert_eq!(
        source["spec"]["query"],
        r#"http_request_duration_seconds_bucket{job="checkout",route="/pay",le="0.3"}"#
    );
    let total = &ratio["total"]["metricSource"]["spec"]["query"];
    assert_eq!(
        total,
        r#"http_request_duration_seconds_count{job="checkout",route="/pay"}"#
    );
    assert!(ratio["bad"].is_null());
    let policy = &spec["alertPolicies"][0];
    assert_eq!(policy["kind"], "AlertPolicy");
    assert_eq!(policy["alertPolicyRef"], "checkout-latency-alerts");
}

#[test]
fn rules_are_burn_rate_conditions() {
    let docs = documents(&render(&config(KINDS)).yaml);
    let spec = &docs[2]["spec"];
    assert_eq!(spec["alertWhenNoData"], true);
    let conditions = spec["conditions"].as_array().cloned().unwrap_or_default();
    assert_eq!(conditions.len(), 2);
    let page = &conditions[0];
    assert_eq!(page["kind"], "AlertCondition");
    assert_eq!(page["metadata"]["name"], "checkout-latency-page-1h");
    assert_eq!(page["metadata"]["annotations"]["slowburn.dev/short"], "5m");
    assert_eq!(page["spec"]["severity"], "page");
    let c = &page["spec"]["condition"];
    assert_eq!(
        (c["kind"].as_str(), c["op"].as_str()),
        (Some("burnrate"), Some("gte"))
    );
    assert_eq!(c["threshold"].as_f64(), Some(14.4));
    assert_eq!(c["lookbackWindow"], "1h");
    assert!(c["alertAfter"].is_null());
    assert_eq!(conditions[1]["spec"]["severity"], "ticket");
    assert_eq!(conditions[1]["spec"]["condition"]["lookbackWindow"], "1d");
    assert_eq!(docs[4]["spec"]["alertWhenNoData"], false);
}

#[test]
fn a_time_slice_is_a_threshold_metric() {
    let docs = documents(&render(&config(KINDS)).yaml);
    let spec = &docs[3]["spec"];
    assert_eq!(spec["budgetingMethod"], "Timeslices");
    let query = &spec["indicator"]["spec"]["thresholdMetric"]["metricSource"]["spec"]["query"];
    assert_eq!(
        query,
        r#"max(queue_oldest_message_age_seconds{queue="orders"})"#
    );
    let o = &spec["objectives"][0];
    assert_eq!(
        (o["op"].as_str(), o["value"].as_f64()),
        (Some("lt"), Some(30.0))
    );
    assert_eq!(o["target"], 0.995);
    assert_eq!(o["timeSliceTarget"], 1);
    assert_eq!(o["timeSliceWindow"], "1m");
    let notes = &docs[3]["metadata"]["annotations"];
    assert_eq!(notes["slowburn.dev/alerting.budget_ticket_below"], "0");
    assert_eq!(notes["slowburn.dev/alerting.budget_exhausted"], "none");
    assert!(notes["slowburn.dev/alerting.no_data_after"].is_null());
}

#[test]
fn a_window_expression_is_not_a_counter() {
    let docs = documents(&render(&config(KINDS)).yaml);
    let ratio = &docs[5]["spec"]["indicator"]["spec"]["ratioMetric"];
    assert_eq!(ratio["counter"], false);
    let good = ratio["good"]["metricSource"]["spec"]["query"]
        .as_str()
        .unwrap_or_default();
    assert!(
        good.contains("[$window]") && good.contains("or vector(0)"),
        "{good}"
    );
    let total = &ratio["total"]["metricSource"]["spec"]["query"];
    assert_eq!(total, r#"http_requests_total{job="checkout"}"#);
}

#[test]
fn log_slis_name_loki() {
    let r = render(&config(LOGS));
    let docs = documents(&r.yaml);
    assert_eq!(docs[1]["spec"]["type"], "Loki");
    assert_eq!(
        docs[1]["spec"]["connectionDetails"]["url"],
        "http://loki:3100"
    );
    let slo = &docs[2];
    assert_eq!(
        slo["metadata"]["annotations"]["slowburn.dev/sli.source"],
        "loki"
    );
    let errors = &slo["spec"]["indicator"]["spec"]["ratioMetric"]["bad"]["metricSource"];
    let source = (errors["metricSourceRef"].as_str(), errors["type"].as_str());
    assert_eq!(source, (Some("loki"), Some("Loki")));
    assert_eq!(
        errors["spec"]["query"],
        r#"{app="api"} | json | status >= 500"#
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("logs/latency: sli.latency"))
    );
}

#[test]
fn the_writer_nests_maps_and_lists() {
    let y = map(vec![
        ("a", lit("1")),
        ("empty", Y::L(Vec::new())),
        (
            "list",
            Y::L(vec![
                map(vec![("k", lit("v")), ("m", map(vec![("x", lit("y"))]))]),
                lit("z"),
            ]),
        ),
    ]);
    let mut out = String::new();
    put(&mut out, &y, 0);
    assert_eq!(
        out,
        "a: 1\nempty: []\nlist:\n  - k: v\n    m:\n      x: y\n  - z\n"
    );
}

/// Calendar periods: a calendar-only SLO as OpenSLO's own calendar window, the others beside a
/// rolling window in `slowburn.dev/windows` with their zone.
const CALENDARS: &str = r#"
defaults: {timezone: Europe/Berlin}
slos:
  - service: billing
    name: monthly
    objective: 99.9
    windows: [month]
    sli: {ratio: {errors: 'e{code="5"}', total: e}}
  - service: billing
    name: mixed
    objective: 99
    windows: [30d, 7d, quarter, week]
    timezone: Asia/Tokyo
    sli: {ratio: {errors: 'e{code="5"}', total: e}}
"#;

#[test]
fn calendar_periods_round_trip() {
    round_trip(CALENDARS);
    let r = render(&config(CALENDARS));
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    assert!(
        r.yaml.contains("duration: 1M\n      isRolling: false"),
        "{}",
        r.yaml
    );
    assert!(r.yaml.contains("timeZone: Europe/Berlin"), "{}", r.yaml);
    assert!(
        r.yaml.contains("slowburn.dev/windows: '7d,quarter,week'"),
        "{}",
        r.yaml
    );
    assert!(
        r.yaml.contains("slowburn.dev/timezone: Asia/Tokyo"),
        "{}",
        r.yaml
    );
}
