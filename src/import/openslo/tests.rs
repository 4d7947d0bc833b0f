//! Tests of the openslo reader, on the fixtures of `tests/data/import/openslo/`.

use super::*;

/// A fixture of `tests/data/import/openslo/` as (path, text).
macro_rules! fixture {
    ($f:literal) => {
        (
            $f,
            include_str!(concat!("../../../tests/data/import/openslo/", $f)),
        )
    };
}

/// Reads files as one invocation.
fn run(files: &[(&str, &str)]) -> Imported {
    let input = |&(path, text): &(&str, &str)| Input {
        path: path.to_string(),
        text: text.to_string(),
    };
    read(
        &files.iter().map(input).collect::<Vec<_>>(),
        &Options::default(),
    )
}

/// The imported SLO of that name.
fn slo<'a>(out: &'a Imported, name: &str) -> &'a Slo {
    let found = out.slos.iter().find(|s| s.name == name);
    found.unwrap_or_else(|| panic!("no {name}: {:?}", out.refused))
}

/// The one refusal of an SLO id, as (field, line, why).
fn refusal<'a>(out: &'a Imported, id: &str) -> (&'a str, u64, &'a str) {
    let of: Vec<&Finding> = out
        .refused
        .iter()
        .filter(|f| f.slo.as_deref() == Some(id))
        .collect();
    assert_eq!(of.len(), 1, "{id}: {:?}", out.refused);
    (of[0].field.as_str(), of[0].at.line, of[0].why.as_str())
}

/// Whether some warning's field contains `field`.
fn warned(out: &Imported, field: &str) -> bool {
    out.warnings.iter().any(|w| w.field.contains(field))
}

/// A ratio's sides as (good, errors, total) presence, and whether `metric` is in one.
fn sides(sli: &Sli, metric: &str) -> (bool, bool, bool, bool) {
    let Sli::Ratio {
        good,
        errors,
        total,
    } = sli
    else {
        panic!("not a ratio: {sli:?}")
    };
    let has = [good, errors, total]
        .iter()
        .any(|s| s.as_deref().is_some_and(|q| q.contains(metric)));
    (good.is_some(), errors.is_some(), total.is_some(), has)
}

#[test]
fn an_inline_sli_with_an_inline_policy() {
    let out = run(&[fixture!("v1-inline-sli.yaml")]);
    assert!(out.refused.is_empty(), "{:?}", out.refused);
    assert_eq!(
        out.prometheus_url.as_deref(),
        Some("http://prometheus.monitoring.svc:9090")
    );
    let s = slo(&out, "cart-availability");
    assert_eq!(
        (s.service.as_str(), s.objective, s.windows.as_slice()),
        ("cart", 99.5, &["28d".to_string()][..])
    );
    assert_eq!(
        (out.slos.len(), s.origin.as_str()),
        (1, "v1-inline-sli.yaml:24")
    );
    assert_eq!(
        s.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>(),
        ["team=cart", "tier=1"]
    );
    assert!(
        s.description
            .as_deref()
            .is_some_and(|d| d.starts_with("Cart API requests"))
    );
    assert_eq!(
        sides(&s.sli, "cart_http_requests_total"),
        (true, false, true, true)
    );
    let (long, short, pending) = ("1h".into(), "5m".into(), Some("5m".into()));
    let rule = Rule {
        severity: Severity::Page,
        long,
        short,
        factor: 14.4,
        pending,
    };
    assert_eq!(
        s.alerting,
        Alerting {
            rules: Some(vec![rule]),
            ..Alerting::default()
        }
    );
    assert!(!warned(&out, "alertAfter"), "alertAfter is kept as `for:`");
    for field in ["notificationTargets[0]", "annotations", "displayName"] {
        assert!(warned(&out, field), "{field}: {:?}", out.warnings);
    }
}

#[test]
fn references_resolve_across_files_in_any_order() {
    let out = run(&[
        fixture!("refs/slos.yaml"),
        fixture!("refs/slis.yaml"),
        fixture!("refs/alerting.yaml"),
        fixture!("refs/datasource.yaml"),
    ]);
    assert!(out.refused.is_empty(), "{:?}", out.refused);
    assert_eq!((out.slos.len(), out.prometheus_url.is_some()), (3, true));
    let avail = slo(&out, "orders-availability");
    let rules = avail.alerting.rules.iter().flatten();
    let rules: Vec<_> = rules
        .map(|r| (r.severity, r.long.as_str(), r.short.as_str(), r.factor))
        .collect();
    assert_eq!(
        rules,
        [
            (Severity::Page, "1h", "5m", 14.4),
            (Severity::Ticket, "6h", "30m", 6.0)
        ]
    );
    assert_eq!(
        (avail.objective, avail.origin.as_str()),
        (99.9, "refs/slos.yaml:4")
    );
    assert_eq!(
        sides(&avail.sli, "orders_http_requests_total"),
        (false, true, true, true)
    );
    assert!(!avail.alerting.no_data_off);
    let jobs = slo(&out, "orders-jobs");
    assert_eq!(
        (jobs.windows.as_slice(), jobs.alerting.no_data_off),
        (&["7d".to_string()][..], true)
    );
    assert_eq!(sides(&jobs.sli, "$window"), (false, true, true, true));
    let sync = slo(&out, "orders-warehouse-sync");
    assert_eq!(
        sync.labels.get("team").map(String::as_str),
        Some("orders,logistics")
    );
    assert!(
        sync.description
            .as_deref()
            .is_some_and(|d| d.starts_with("Error ratio"))
    );
    assert_eq!(sides(&sync.sli, "ratio_rate5m"), (true, true, false, true));
    assert_eq!(sync.alerting, Alerting::default());
    assert!(warned(&out, "metadata.labels.team") && !warned(&out, "alertAfter"));
}

#[test]
fn threshold_metrics_are_timeslices() {
    let out = run(&[fixture!("v1-threshold-timeslices.yaml")]);
    assert!(out.refused.is_empty(), "{:?}", out.refused);
    let sli = |query: &str, below, above| Sli::Timeslice {
        query: query.into(),
        below,
        above,
        slice: Some("1m".into()),
    };
    let age = r#"max(fulfilment_queue_oldest_message_age_seconds{queue="orders"})"#;
    assert_eq!(
        slo(&out, "fulfilment-queue-age").sli,
        sli(age, Some(120.0), None)
    );
    let up = r#"min(up{job="payments-gateway"}) >= bool 1"#;
    assert_eq!(slo(&out, "gateway-up").sli, sli(up, None, Some(0.5)));
    let Sli::Timeslice {
        query,
        below,
        above,
        slice: None,
    } = &slo(&out, "search-p99").sli
    else {
        panic!()
    };
    assert!(
        query.starts_with("histogram_quantile(0.99,") && query.ends_with("[5m]))) <= bool 0.5")
    );
    assert_eq!((*below, *above), (None, Some(0.5)));
    let targets = out
        .warnings
        .iter()
        .filter(|w| w.field.ends_with("timeSliceTarget"));
    assert_eq!(targets.count(), 2);
    assert!(warned(&out, "spec.indicator.spec.thresholdMetric"));
}

#[test]
fn calendar_months_import_and_rolling_months_are_refused() {
    let out = run(&[fixture!("v1-calendar.yaml")]);
    // A calendar month in Europe/Berlin from a 1st at midnight is slowburn's `month`.
    assert_eq!(out.slos.len(), 1, "{:?}", out.refused);
    let s = slo(&out, "invoice-availability");
    assert_eq!(s.windows, ["month"]);
    assert_eq!(s.timezone.as_deref(), Some("Europe/Berlin"));
    // A month that starts mid-month, a two-week window or an unknown zone are refused.
    for (from, to, why) in [
        (
            "\"2026-01-01 00:00:00\"",
            "\"2026-01-15 00:00:00\"",
            "begins at midnight of the 1st",
        ),
        (
            "duration: 1M",
            "duration: 2w",
            "a week (1w), a month (1M) and a quarter (1Q)",
        ),
        ("Europe/Berlin", "Mars/Olympus", "IANA time zone"),
    ] {
        let text = include_str!("../../../tests/data/import/openslo/v1-calendar.yaml")
            .replacen(from, to, 1);
        let out = run(&[("cal.yaml", &text)]);
        let (_, _, got) = refusal(&out, "billing/invoice-availability");
        assert!(got.contains(why), "{to}: {got}");
    }
    let (field, line, why) = refusal(&out, "billing/invoice-render");
    assert_eq!((field, line), ("spec.timeWindow[0].duration", 59));
    assert!(why.starts_with("timeWindow duration `1M`: months"), "{why}");
}

#[test]
fn a_datadog_source_is_refused_naming_it() {
    let out = run(&[fixture!("v1-datadog.yaml")]);
    assert!(out.slos.is_empty() && out.prometheus_url.is_none());
    let (field, line, why) = refusal(&out, "profile/profile-availability");
    let path = "spec.indicator.spec.ratioMetric.good.metricSource.metricSourceRef";
    assert_eq!((field, line), (path, 26));
    assert!(why.contains("`datadog-eu` of type Datadog"), "{why}");
}

#[test]
fn ratio_timeslices_and_slice_targets_below_one_are_refused() {
    let out = run(&[fixture!("v1-ratio-timeslices.yaml")]);
    assert!(out.slos.is_empty());
    let (field, line, why) = refusal(&out, "uploads/upload-success");
    assert_eq!((field, line), ("spec.budgetingMethod", 27));
    assert!(why.starts_with("budgetingMethod RatioTimeslices"), "{why}");
    let (field, line, why) = refusal(&out, "uploads/upload-queue-depth");
    assert_eq!((field, line), ("spec.objectives[0].timeSliceTarget", 55));
    assert!(why.contains("`avg_over_time((sum(uploads_queue_depth) < bool 500)[5m:])`"));
}

/// A top-level list with documents that are not ours, an SLO of two objectives, and a
/// dangling reference.
const LIST: &str = r#"
- apiVersion: openslo/v1alpha
  kind: SLO
  metadata: {name: old}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec: {replicas: 2}
- apiVersion: openslo/v1
  kind: SLO
  metadata: {name: api}
  spec:
    service: shop
    indicator:
      metadata: {name: api-ok}
      spec:
        ratioMetric:
          good: {metricSource: {type: Prometheus, spec: {query: ok_total}}}
          total: {metricSource: {type: Prometheus, spec: {query: all_total}}}
    objectives: [{displayName: Tight Goal, target: 0.999}, {target: "0.99"}]
- apiVersion: openslo/v1
  kind: SLO
  metadata: {name: lost}
  spec: {service: shop, indicatorRef: nowhere, objectives: [{target: 0.9}]}
"#;

#[test]
fn a_list_of_documents_with_several_objectives_and_a_dangling_ref() {
    let out = run(&[("list.yaml", LIST), ("empty.yaml", "---\n---\n")]);
    let names: Vec<(&str, f64)> = out
        .slos
        .iter()
        .map(|s| (s.name.as_str(), s.objective))
        .collect();
    assert_eq!(names, [("api-tight-goal", 99.9), ("api-1", 99.0)]);
    assert!(
        out.slos
            .iter()
            .all(|s| s.windows == ["30d"] && s.origin == "list.yaml:10")
    );
    assert_eq!(
        sides(&out.slos[0].sli, "ok_total"),
        (true, false, true, true)
    );
    let (field, _, why) = refusal(&out, "shop/lost");
    assert!(
        field == "spec.indicatorRef" && why.contains("`nowhere`"),
        "{why}"
    );
    let skipped: Vec<&str> = out.warnings.iter().map(|w| w.why.as_str()).collect();
    assert!(
        skipped.iter().any(|w| w.contains("--from sloth")),
        "{skipped:?}"
    );
    assert!(skipped.iter().any(|w| w.contains("apps/v1")), "{skipped:?}");
}

/// Two SLOs over one SLI document: a condition that is not a burn-rate alert, and a policy
/// that does not alert on breaches.
const POLICIES: &str = r#"
apiVersion: openslo/v1
kind: SLI
metadata: {name: i}
spec:
  ratioMetric:
    bad: {metricSource: {type: Prometheus, spec: {query: e_total}}}
    total: {metricSource: {type: Prometheus, spec: {query: t_total}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: a}
spec:
  service: s
  indicatorRef: i
  objectives: [{target: 0.99}]
  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: p}
      spec:
        conditions:
          - kind: AlertCondition
            metadata: {name: c}
            spec: {severity: page, condition: {kind: burnrate, op: lte, threshold: 2, lookbackWindow: 1h}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: b}
spec:
  service: s
  indicatorRef: i
  objectives: [{target: 0.99}]
  alertPolicies:
    - {kind: AlertPolicy, metadata: {name: q}, spec: {alertWhenBreaching: false, alertWhenNoData: false}}
"#;

#[test]
fn conditions_other_than_burn_rates_and_silent_policies() {
    let out = run(&[("p.yaml", POLICIES)]);
    let (field, line, why) = refusal(&out, "s/a");
    assert_eq!(
        (field, line),
        (
            "spec.alertPolicies[0].spec.conditions[0].spec.condition",
            24
        )
    );
    assert!(why.contains("op: lte"), "{why}");
    let (rules, budget_ticket_below) = (None, Some(0.0));
    let off = Alerting {
        rules,
        budget_ticket_below,
        budget_exhausted_off: true,
        no_data_off: true,
        ..Alerting::default()
    };
    assert_eq!(slo(&out, "b").alerting, off);
    assert!(warned(&out, "alertWhenBreaching"));
}

#[test]
fn short_windows_are_a_twelfth_in_whole_minutes() {
    let short = |secs| short_of(Dur::from_secs(secs));
    assert_eq!(
        [
            short(3600),
            short(6 * 3600),
            short(86400),
            short(1800),
            short(300)
        ],
        ["5m", "30m", "2h", "3m", "1m"]
    );
}

/// OpenSLO's own `budgeting-method/occurences-slo.yaml` leaves `alertPolicies:` empty (only a
/// comment after it): the list reads as empty, the SLO is judged on its own fields.
#[test]
fn an_empty_list_key_is_an_empty_list() {
    let text = "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: s}\nspec:\n  service: shop\n  indicator:\n    metadata: {name: i}\n    spec:\n      ratioMetric:\n        counter: true\n        good: {metricSource: {type: Prometheus, spec: {query: ok_total}}}\n        total: {metricSource: {type: Prometheus, spec: {query: all_total}}}\n  timeWindow:\n    - {duration: 2w, isRolling: true}\n  budgetingMethod: Occurrences\n  objectives:\n    - {target: 0.99}\n  alertPolicies: # none yet\n";
    let out = run(&[("empty.yaml", text)]);
    assert!(out.refused.is_empty(), "{:?}", out.refused);
    assert_eq!(slo(&out, "s").windows, ["2w"]);
}

/// `slowburn.dev/group_by` and `slowburn.dev/max_groups`, as slowburn's export writes a grouped
/// SLO, read back; refused at the annotations when the labels or the SLI could not be grouped
/// (the written file would not validate).
#[test]
fn group_by_annotations_read_back_or_are_refused() {
    let doc = |annotations: &str, good: &str| {
        format!(
            "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: s\n  annotations: {{{annotations}}}\nspec:\n  service: shop\n  indicator:\n    metadata: {{name: i}}\n    spec:\n      ratioMetric:\n        counter: true\n        good: {{metricSource: {{type: Prometheus, spec: {{query: '{good}'}}}}}}\n        total: {{metricSource: {{type: Prometheus, spec: {{query: all_total}}}}}}\n  objectives:\n    - {{target: 0.99}}\n"
        )
    };
    let read = |annotations: &str, good: &str| {
        let text = doc(annotations, good);
        run(&[("g.yaml", text.as_str())])
    };
    let both = "slowburn.dev/group_by: 'route, method,route', slowburn.dev/max_groups: '50'";
    let out = read(both, "ok_total");
    assert!(out.refused.is_empty(), "{:?}", out.refused);
    let want = GroupBy {
        labels: vec!["route".into(), "method".into()],
        max: Some(50),
    };
    assert_eq!(slo(&out, "s").group_by, Some(want));
    assert!(!warned(&out, "metadata.annotations"), "{:?}", out.warnings);
    let out = read("slowburn.dev/group_by: route", "ok_total");
    assert_eq!(slo(&out, "s").group_by.as_ref().map(|g| g.max), Some(None));
    let group = "metadata.annotations.slowburn.dev/group_by";
    let expression = "sum(increase(ok_total[5m])) or vector(0)";
    let out = read("slowburn.dev/group_by: route", expression);
    let (field, line, why) = refusal(&out, "shop/s");
    assert_eq!((field, line), (group, 5));
    assert!(why.contains("is an expression"), "{why}");
    let out = read("slowburn.dev/group_by: slo", "ok_total");
    let (field, _, why) = refusal(&out, "shop/s");
    assert_eq!(field, group);
    assert!(why.contains("`slo` is a label slowburn sets"), "{why}");
    let max = "metadata.annotations.slowburn.dev/max_groups";
    let out = read("slowburn.dev/max_groups: '5'", "ok_total");
    assert_eq!(refusal(&out, "shop/s").0, max);
    let zero = "slowburn.dev/group_by: route, slowburn.dev/max_groups: '0'";
    let out = read(zero, "ok_total");
    assert_eq!(refusal(&out, "shop/s").0, max);
}
