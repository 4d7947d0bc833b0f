//! Tests of the sloth reader, on the fixtures of `tests/data/import/sloth/`.

use super::*;

/// A fixture of this format.
macro_rules! fixture {
    ($f:literal) => {
        include_str!(concat!("../../../tests/data/import/sloth/", $f))
    };
}

/// Reads `text` as the file `file`, with `--period` when given.
fn run(file: &str, text: &str, period: Option<&str>) -> Imported {
    let options = Options {
        period: period.map(str::to_string),
        service: None,
    };
    read(
        &Input {
            path: file.into(),
            text: text.into(),
        },
        &options,
    )
}

/// What the reader decides of an SLO, on one line: id, objective, windows, labels, rules,
/// origin.
fn brief(s: &Slo) -> String {
    let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let rule = |r: &Rule| {
        format!(
            "{} {}/{} {}",
            r.severity.as_str(),
            r.long,
            r.short,
            number(r.factor)
        )
    };
    let rules: Vec<String> = s.alerting.rules.iter().flatten().map(rule).collect();
    let (id, objective, windows) = (s.id(), number(s.objective), s.windows.join(","));
    format!(
        "{id} {objective} {windows} [{}] [{}] {}",
        labels.join(" "),
        rules.join(", "),
        s.origin
    )
}

/// Every SLO in brief.
fn briefs(out: &Imported) -> Vec<String> {
    assert!(out.refused.is_empty(), "{:?}", out.refused);
    out.slos.iter().map(brief).collect()
}

/// Whether a finding of `slo` names `field`.
fn has(findings: &[Finding], slo: &str, field: &str) -> bool {
    findings
        .iter()
        .any(|f| f.slo.as_deref() == Some(slo) && f.field == field)
}

/// A ratio's sides, as "good errors total" presence and whether all contain `metric`.
fn sides(sli: &Sli, metric: &str) -> (String, bool) {
    let Sli::Ratio {
        good,
        errors,
        total,
    } = sli
    else {
        return (format!("{sli:?}"), false);
    };
    let set = [("good", good), ("errors", errors), ("total", total)];
    let names: Vec<&str> = set
        .iter()
        .filter(|(_, s)| s.is_some())
        .map(|(n, _)| *n)
        .collect();
    (
        names.join(" "),
        set.iter()
            .flat_map(|(_, s)| s.iter())
            .all(|s| s.contains(metric)),
    )
}

#[test]
fn prometheus_v1_events_labels_and_one_alert_disabled() {
    let out = run("e.yml", fixture!("events-alerting.yml"), None);
    assert_eq!(
        briefs(&out),
        [
            "checkout/http-availability 99.9 30d [category=availability owner=payments-team tier=1] [] e.yml:9",
            "checkout/http-latency 99 30d [category=latency owner=payments-team tier=2] [page 1h/5m 14.4, page 6h/30m 6] e.yml:33",
            "checkout/payment-authorizations 99.5 30d [owner=payments-team tier=1] [ticket 1d/2h 3, ticket 3d/6h 1] e.yml:56",
        ]
    );
    let (a, l) = (&out.slos[0], &out.slos[1]);
    assert_eq!(
        a.description.as_deref(),
        Some("Checkout HTTP requests answered without a 5xx.")
    );
    assert_eq!(
        sides(&a.sli, "checkout_http_requests_total"),
        ("errors total".into(), true)
    );
    assert!(
        matches!(&l.sli, Sli::Latency { histogram, .. } if histogram.contains("checkout_http_request_duration_seconds"))
    );
    let w = &out.warnings;
    for id in [
        "checkout/http-availability",
        "checkout/http-latency",
        "checkout/payment-authorizations",
    ] {
        assert!(has(w, id, "alerting.name"), "{id}: {w:?}");
    }
    let fields = [
        "alerting.labels.category",
        "alerting.annotations",
        "alerting.page_alert.labels",
        "alerting.page_alert.annotations",
        "alerting.ticket_alert.labels",
    ];
    for field in fields {
        assert!(
            has(w, "checkout/http-availability", field),
            "{field}: {w:?}"
        );
    }
}

#[test]
fn both_alerts_disabled_keeps_the_rules_and_turns_the_extra_tickets_off() {
    let out = run("n.yml", fixture!("no-alerts.yml"), None);
    assert_eq!(
        briefs(&out),
        ["image-resizer/resize-availability 99.95 30d [owner=media] [] n.yml:7"]
    );
    let off = Alerting {
        budget_ticket_below: Some(0.0),
        budget_exhausted_off: true,
        no_data_off: true,
        ..Alerting::default()
    };
    assert_eq!(out.slos[0].alerting, off);
    assert!(has(
        &out.warnings,
        "image-resizer/resize-availability",
        "alerting"
    ));
}

#[test]
fn kubernetes_resource_reads_camel_case_fields_and_drops_plugins() {
    let out = run("k.yaml", fixture!("k8s-service-level.yaml"), None);
    assert_eq!(
        briefs(&out),
        [
            "search/query-availability 99.9 30d [category=availability owner=discovery surface=public-api] [] k.yaml:20",
            "search-indexer/documents-indexed 99 30d [owner=discovery] [page 1h/5m 14.4, page 6h/30m 6] k.yaml:52",
        ]
    );
    assert_eq!(
        sides(&out.slos[1].sli, "indexer_documents_total"),
        ("errors total".into(), true)
    );
    let plugin = out
        .warnings
        .iter()
        .find(|f| f.field == "spec.sloPlugins.chain[0]");
    assert!(
        plugin.is_some_and(|f| f.at.line == 18 && f.why.contains("min_events")),
        "{:?}",
        out.warnings
    );
    assert!(has(
        &out.warnings,
        "search/query-availability",
        "alerting.pageAlert.labels"
    ));
}

#[test]
fn openslo_v1alpha_objectives_become_numbered_slos() {
    let out = run("o.yml", fixture!("openslo-v1alpha.yml"), None);
    assert_eq!(
        briefs(&out),
        [
            "search/search-latency-0 95 28d [] [] o.yml:13",
            "search/search-latency-1 99.5 28d [] [] o.yml:24",
            "search/search-availability-0 99.9 30d [] [] o.yml:50",
        ]
    );
    let s = &out.slos[2];
    assert_eq!(
        sides(&s.sli, "search_api_requests_total"),
        ("good total".into(), true)
    );
    assert_eq!(
        s.description.as_deref(),
        Some("Search API requests answered without a 5xx.")
    );
    assert_eq!(s.alerting, Alerting::default());
    assert!(has(
        &out.warnings,
        "search/search-latency-1",
        "spec.objectives[1].displayName"
    ));
    assert!(has(
        &out.warnings,
        "search/search-availability-0",
        "spec.timeWindows"
    ));
}

#[test]
fn period_28d_writes_sloths_28d_rules_and_7d_is_refused() {
    let out = run("p.yml", fixture!("period-28d.yml"), Some("28d"));
    let rules = "page 1h/5m 13.44, page 6h/30m 5.6, ticket 1d/2h 2.8, ticket 3d/6h 0.9333";
    assert_eq!(
        briefs(&out),
        [format!(
            "notifications/push-delivery 99.5 28d [] [{rules}] p.yml:6"
        )]
    );
    let out = run("p.yml", fixture!("period-28d.yml"), Some("7d"));
    assert!(out.slos.is_empty() && has(&out.refused, "notifications/push-delivery", "--period"));
}

#[test]
fn plugin_sli_is_refused_at_the_plugin_id() {
    let out = run("g.yml", fixture!("plugin-sli.yml"), None);
    assert!(
        out.slos.is_empty() && out.warnings.is_empty(),
        "{:?}",
        out.warnings
    );
    let [f] = &out.refused[..] else {
        panic!("{:?}", out.refused)
    };
    assert_eq!(
        (f.slo.as_deref(), f.field.as_str(), f.at.line),
        (Some("gateway/edge-availability"), "sli.plugin", 12)
    );
    assert!(
        f.why.contains("`sloth-common/traefik/v2/availability`"),
        "{}",
        f.why
    );
}

#[test]
fn raw_ratio_and_expressions_import() {
    let out = run("r.yml", fixture!("raw-and-expressions.yml"), None);
    let ids: Vec<String> = out.slos.iter().map(Slo::id).collect();
    assert_eq!(
        ids,
        [
            "order-sync/replica-in-sync",
            "order-sync/consumer-lag",
            "order-sync/batch-jobs"
        ]
    );
    assert!(brief(&out.slos[0]).contains("[cluster=eu-1 owner=data-platform]"));
    assert_eq!(
        sides(&out.slos[0].sli, "ordersync_replica_in_sync"),
        ("good errors".into(), true)
    );
}

#[test]
fn snake_case_alert_in_the_resource_is_ignored_as_kubernetes_does() {
    let text = "apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\nspec:\n  service: api\n  slos:\n    - name: avail\n      objective: 99.9\n      sli: {events: {errorQuery: 'sum(rate(e_total[{{.window}}]))', totalQuery: 'sum(rate(t_total[{{.window}}]))'}}\n      alerting:\n        page_alert: {disable: true}\n";
    let out = run("c.yaml", text, None);
    assert_eq!(briefs(&out), ["api/avail 99.9 30d [] [] c.yaml:6"]);
    let f = out
        .warnings
        .iter()
        .find(|f| f.field == "alerting.page_alert");
    assert!(
        f.is_some_and(|f| f.at.line == 10 && f.why.contains("pageAlert")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn foreign_empty_and_mistyped_documents() {
    let out = run(
        "f.yaml",
        "---\n---\napiVersion: apps/v1\nkind: Deployment\n---\ngroups: []\n",
        None,
    );
    assert!(out.refused.is_empty() && out.slos.is_empty());
    let got: Vec<_> = out
        .warnings
        .iter()
        .map(|f| (f.field.as_str(), f.at.line))
        .collect();
    assert_eq!(got, [("document", 3), ("document", 6)]);
    let out = run("f.yaml", "version: prometheus/v1\nslos: 3\n", None);
    assert!(out.refused.len() == 1 && out.refused[0].field == "document");
}

#[test]
fn objectives_labels_and_info_labels_plugin() {
    let text = "version: prometheus/v1\nservice: api\nlabels: {tier: 1, generated: true, severity: high}\nslos:\n  - name: full\n    objective: 100\n    sli: {events: {error_query: 'sum(rate(e_total[{{.window}}]))', total_query: 'sum(rate(t_total[{{.window}}]))'}}\n  - name: quoted\n    objective: \"99.5\"\n    plugins:\n      chain:\n        - {id: sloth.dev/contrib/info_labels/v1, config: {labels: {team: core, tier: \"2\"}}}\n    sli: {raw: {error_ratio_query: 'sum(rate(e_total[{{.window}}])) / sum(rate(t_total[{{.window}}]))'}}\n";
    let out = run("l.yml", text, None);
    let [f] = &out.refused[..] else {
        panic!("{:?}", out.refused)
    };
    assert_eq!(
        (f.slo.as_deref(), f.field.as_str(), f.at.line),
        (Some("api/full"), "objective", 6)
    );
    assert!(
        out.warnings
            .iter()
            .all(|w| w.slo.as_deref() != Some("api/full"))
    );
    let got: Vec<String> = out.slos.iter().map(brief).collect();
    assert_eq!(
        got,
        ["api/quoted 99.5 30d [generated=true team=core tier=1] [] l.yml:8"]
    );
    let w = &out.warnings;
    for field in [
        "labels.severity",
        "plugins.chain[0]",
        "plugins.chain[0].config.labels.tier",
    ] {
        assert!(has(w, "api/quoted", field), "{field}: {w:?}");
    }
}
