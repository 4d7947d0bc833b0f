//! Tests of the pyrra reader, on the fixtures of `tests/data/import/pyrra/`.

use super::*;

/// Reads one text as `--from pyrra` would, with `--service` when given.
fn run(path: &str, text: &str, service: Option<&str>) -> Imported {
    let input = Input {
        path: path.into(),
        text: text.into(),
    };
    let options = Options {
        service: service.map(str::to_string),
        ..Options::default()
    };
    read(&input, &options)
}

/// The rules in one line (`page 1h/5m 14, ...`), easy to compare with the fixtures.
fn rules(slo: &Slo) -> String {
    let rules = slo.alerting.rules.iter().flatten();
    let rules = rules.map(|r| {
        format!(
            "{} {}/{} {}",
            r.severity.as_str(),
            r.long,
            r.short,
            r.factor
        )
    });
    rules.collect::<Vec<_>>().join(", ")
}

/// The fields of the findings, in order.
fn fields(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.field.as_str()).collect()
}

#[test]
fn ratio_maps_metadata_target_and_pyrras_four_alerts() {
    let text = include_str!("../../../tests/data/import/pyrra/ratio.yaml");
    let out = run("ratio.yaml", text, None);
    let [slo] = out.slos.as_slice() else {
        panic!("{:?}", out.refused)
    };
    assert_eq!(
        (slo.id(), slo.objective),
        ("ledger/ledger-api-errors".into(), 99.5)
    );
    assert_eq!(
        (slo.origin.as_str(), slo.windows.join(",")),
        ("ratio.yaml:3", "4w".into())
    );
    assert_eq!(
        format!("{:?}", slo.labels),
        r#"{"team": "ledger", "tier": "1"}"#
    );
    let Sli::Ratio {
        errors: Some(e),
        total: Some(t),
        ..
    } = &slo.sli
    else {
        panic!()
    };
    assert!(e.contains("ledger_http_requests_total") && !t.contains("code"));
    let want = "page 1h/5m 14, page 6h/30m 7, ticket 1d/2h 2, ticket 4d/6h 1";
    assert_eq!(rules(slo), want);
    let pending = slo
        .alerting
        .rules
        .iter()
        .flatten()
        .map(|r| r.pending.clone());
    assert_eq!(
        pending.flatten().collect::<Vec<_>>(),
        ["2m", "15m", "1h", "3h"]
    );
    let annotation = "metadata.annotations.pyrra.dev/runbook";
    assert_eq!(fields(&out.warnings), [annotation]);
    assert_eq!(out.warnings[0].at.line, 14);
}

#[test]
fn latency_30d_windows_severities_and_absent() {
    let text = include_str!("../../../tests/data/import/pyrra/latency.yaml");
    let out = run("latency.yaml", text, None);
    let [first, second] = out.slos.as_slice() else {
        panic!("{:?}", out.refused)
    };
    let Sli::Latency { histogram, .. } = &first.sli else {
        panic!("{:?}", first.sli)
    };
    assert!(histogram.starts_with("ledger_http_request_duration_seconds{"));
    let want = "page 1h4m/5m 14, ticket 6h26m/32m 7, ticket 1d1h43m/2h9m 2, \
                ticket 4d6h51m/6h26m 1";
    assert_eq!(rules(first), want);
    assert!(first.alerting.no_data_off && first.alerting.budget_ticket_below.is_none());
    let name = out
        .warnings
        .iter()
        .find(|w| w.field == "spec.alerting.name");
    assert_eq!(name.map(|w| w.at.line), Some(21));
    assert_eq!(
        (second.origin.as_str(), second.windows.join(",")),
        ("latency.yaml:29", "2w".into())
    );
    assert!(matches!(
        &second.sli,
        Sli::Ratio {
            good: Some(_),
            total: Some(_),
            ..
        }
    ));
    assert!(rules(second).ends_with("ticket 2d/3h 1") && !second.alerting.no_data_off);
}

#[test]
fn bool_gauge_without_namespace_is_default_or_the_service_option() {
    let text = include_str!("../../../tests/data/import/pyrra/bool-gauge.yaml");
    let out = run("bool-gauge.yaml", text, None);
    let [slo] = out.slos.as_slice() else {
        panic!("{:?}", out.refused)
    };
    assert_eq!(slo.id(), "default/storefront-probe");
    assert_eq!(fields(&out.warnings), ["metadata.namespace"]);
    let sel = r#"probe_success{job="blackbox-http",instance="https://shop.example.org/"}"#;
    let good = Some(format!("sum(sum_over_time({sel}[$window]))"));
    let total = Some(format!("sum(count_over_time({sel}[$window]))"));
    assert_eq!(
        slo.sli,
        Sli::Ratio {
            good,
            errors: None,
            total
        }
    );
    let want = "page 15m/1m 14, page 1h30m/8m 7, ticket 6h/30m 2, ticket 1d/1h30m 1";
    assert_eq!(rules(slo), want);
    let out = run("bool-gauge.yaml", text, Some("shop"));
    assert_eq!(out.slos[0].service, "shop");
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn latency_native_becomes_expressions_with_a_warning() {
    let text = include_str!("../../../tests/data/import/pyrra/latency-native.yaml");
    let out = run("latency-native.yaml", text, None);
    let [slo] = out.slos.as_slice() else {
        panic!("{:?}", out.refused)
    };
    assert!(slo.labels.is_empty());
    let h = r#"catalog_rpc_duration_seconds{job="catalog",method="Get"}"#;
    let inner = format!("sum(increase({h}[$window]))");
    let good = format!("histogram_fraction(0, 0.3, {inner}) * histogram_count({inner})");
    let total = Some(format!("histogram_count({inner})"));
    assert_eq!(
        slo.sli,
        Sli::Ratio {
            good: Some(good),
            errors: None,
            total
        }
    );
    assert!(rules(slo).starts_with("page 30m/3m 14, page 3h/15m 7"));
    let native = "spec.indicator.latencyNative";
    assert_eq!(fields(&out.warnings), [native]);
}

#[test]
fn disabled_and_burnrates_false_turn_the_tickets_off() {
    let text = include_str!("../../../tests/data/import/pyrra/alerting-disabled.yaml");
    let out = run("alerting-disabled.yaml", text, None);
    let [render, email] = out.slos.as_slice() else {
        panic!("{:?}", out.refused)
    };
    let (budget_ticket_below, rules) = (Some(0.0), None);
    let off = Alerting {
        rules,
        budget_ticket_below,
        budget_exhausted_off: true,
        no_data_off: true,
        ..Alerting::default()
    };
    assert_eq!(render.alerting, off);
    assert_eq!(
        email.alerting,
        Alerting {
            no_data_off: false,
            ..off
        }
    );
    let want = ["disabled", "absentName", "burnrates"].map(|k| format!("spec.alerting.{k}"));
    assert_eq!(fields(&out.warnings), want);
}

#[test]
fn grouping_becomes_group_by_and_the_file_validates() {
    /// `group_by` of these labels at the default cap.
    fn group(labels: &[&str]) -> Option<GroupBy> {
        Some(GroupBy {
            labels: labels.iter().map(|l| l.to_string()).collect(),
            max: None,
        })
    }
    let text = include_str!("../../../tests/data/import/pyrra/grouping.yaml");
    let out = run("grouping.yaml", text, None);
    assert!(out.refused.is_empty(), "{:?}", out.refused);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    let [errors, latency] = out.slos.as_slice() else {
        panic!("{:?}", out.slos)
    };
    assert_eq!(errors.group_by, group(&["route"]));
    assert!(
        matches!(&errors.sli, Sli::Ratio { errors: Some(q), .. } if !q.contains("$window")),
        "{:?}",
        errors.sli
    );
    assert_eq!(latency.group_by, group(&["handler", "method"]));
    assert!(
        matches!(latency.sli, Sli::Latency { .. }),
        "{:?}",
        latency.sli
    );
    let yaml = super::super::emit::slo_yaml(&out, "slowburn import --from pyrra grouping.yaml");
    assert!(
        yaml.contains("\n    group_by: [route]\n    alerting:\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("\n    group_by: [handler, method]\n"),
        "{yaml}"
    );
    let cfg = crate::config::parse_str(&yaml, "slo.yaml", &|_| None)
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let groups: Vec<_> = cfg
        .slos
        .iter()
        .map(|s| s.group_by.as_ref().map(|g| (g.labels.join(","), g.max)))
        .collect();
    let max = crate::config::group::DEFAULT_MAX;
    assert_eq!(
        groups,
        [
            Some(("route".to_string(), max)),
            Some(("handler,method".to_string(), max))
        ]
    );
}

#[test]
fn grouping_expressions_is_refused_at_its_field() {
    let text = include_str!("../../../tests/data/import/pyrra/grouping-expressions.yaml");
    let out = run("grouping-expressions.yaml", text, None);
    assert!(out.slos.is_empty() && out.warnings.is_empty());
    let [gauge, native] = out.refused.as_slice() else {
        panic!("{:?}", out.refused)
    };
    assert_eq!(gauge.slo.as_deref(), Some("web/storefront-probe-success"));
    assert_eq!(gauge.field, "spec.indicator.bool_gauge.grouping");
    assert!((15..=16).contains(&gauge.at.line), "{:?}", gauge.at);
    assert_eq!(native.slo.as_deref(), Some("catalog/catalog-rpc-latency"));
    assert_eq!(native.field, "spec.indicator.latencyNative.grouping");
    assert!((32..=33).contains(&native.at.line), "{:?}", native.at);
    for r in [gauge, native] {
        assert!(
            r.why.contains("grouping needs counter selectors"),
            "{}",
            r.why
        );
    }
}

#[test]
fn group_labels_slowburn_sets_or_the_slo_has_are_refused() {
    let text = "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata:\n  \
                name: x\n  namespace: y\n  labels: {pyrra.dev/route: r}\nspec:\n  \
                target: \"99\"\n  window: 4w\n  indicator:\n    ratio:\n      \
                errors: {metric: e_total}\n      total: {metric: t_total}\n      \
                grouping: [service, route, 1x, route]\n";
    let out = run("g.yaml", text, None);
    assert!(out.slos.is_empty());
    let why: Vec<&str> = out.refused.iter().map(|r| r.why.as_str()).collect();
    assert_eq!(why.len(), 3, "{why:?}");
    assert!(
        why[0].contains("`service` is a label slowburn sets"),
        "{why:?}"
    );
    assert!(
        why[1].contains("`route` is also a label of this SLO"),
        "{why:?}"
    );
    assert!(
        why[2].contains("`1x` is not a Prometheus label name"),
        "{why:?}"
    );
    let ok = run(
        "g.yaml",
        &text.replace("service, route, 1x, route", "code"),
        None,
    );
    assert_eq!(
        ok.slos.first().and_then(|s| s.group_by.clone()),
        Some(GroupBy {
            labels: vec!["code".into()],
            max: None
        })
    );
}

#[test]
fn other_kinds_and_empty_documents_are_skipped_and_refusals_list_every_reason() {
    let text = "# a comment\n---\n---\napiVersion: apps/v1\nkind: Deployment\n\
                spec: {replicas: 2}\n---\napiVersion: pyrra.dev/v1alpha1\n\
                kind: ServiceLevelObjective\nmetadata: {name: checkout}\nspec:\n\
                \x20 target: 99.9\n  window: 1w2d\n  indicator: {bool_gauge: {metric: up}}\n";
    let out = run("mixed.yaml", text, Some("shop"));
    let [slo] = out.slos.as_slice() else {
        panic!("{:?}", out.refused)
    };
    assert_eq!((slo.id(), slo.objective), ("shop/checkout".into(), 99.9));
    assert_eq!(
        (slo.origin.as_str(), slo.windows.join(",")),
        ("mixed.yaml:8", "1w2d".into())
    );
    assert_eq!(
        (out.warnings[0].field.as_str(), out.warnings[0].at.line),
        ("document", 4)
    );
    let bad = text.replace("99.9", "\"100\"").replace("1w2d", "91d");
    let bad = bad.replace("  indicator: {bool_gauge: {metric: up}}\n", "");
    let out = run("bad.yaml", &bad, None);
    assert!(out.slos.is_empty() && fields(&out.warnings) == ["document"]);
    let got: Vec<_> = out
        .refused
        .iter()
        .map(|r| (r.field.as_str(), r.at.line))
        .collect();
    assert_eq!(
        got,
        [
            ("spec.target", 12),
            ("spec.window", 13),
            ("spec.indicator", 8)
        ]
    );
    assert!(
        out.refused
            .iter()
            .all(|r| r.slo.as_deref() == Some("default/checkout"))
    );
    assert!(
        run("bad.yaml", "a: [", None).refused[0]
            .why
            .starts_with("cannot be read")
    );
}

#[test]
fn short_windows_keep_the_built_in_policy_and_unknown_words_are_tickets() {
    let text = "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\n\
                metadata: {name: x, namespace: y}\nspec:\n  target: \"99\"\n  window: 2d\n\
                \x20 indicator: {bool_gauge: {metric: up}}\n\
                \x20 alerting: {severities: {fastBurn: urgent}}\n";
    let out = run("s.yaml", text, None);
    assert_eq!(out.slos[0].alerting.rules, None);
    assert!(
        out.warnings
            .iter()
            .any(|w| w.why.contains("round below a minute"))
    );
    let out = run("s.yaml", &text.replace("2d", "28d"), None);
    assert!(rules(&out.slos[0]).starts_with("ticket 1h/5m 14, page 6h/30m 7"));
    assert!(fields(&out.warnings).contains(&"spec.alerting.severities.fastBurn"));
}

#[test]
fn prometheus_durations_and_go_rounding() {
    let got = ["1w2d", "1y", "1h30m", "300ms"].map(prom_duration);
    assert_eq!(
        got,
        [9 * 86_400_000, 365 * 86_400_000, 5_400_000, 300].map(Some)
    );
    assert_eq!(["", "5x", "m", "1.5h", "-1h"].map(prom_duration), [None; 5]);
    let week = 7 * 86_400_000;
    assert_eq!(
        (round(week, 1344), round(week, 20160)),
        (480_000, 60_000),
        "halves up"
    );
    assert_eq!(minutes(round(30 * 86_400_000, 7)), "4d6h51m");
}
