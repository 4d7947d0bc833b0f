//! The overview: a stat row (SLOs meeting their objective, pages and tickets firing, the worst
//! budget), then every SLO in one table (objective, SLI and remaining budget over 30d and 7d,
//! burn rates 1h and 6h, alerts, coverage), each row linking to its detail dashboard. Filters:
//! service, and one per key of the SLOs' own `labels:` (through `slo_info`). A grouped SLO's
//! members are SLOs here like any other: counted one by one, a row each, their group labels in
//! columns of their own.

use super::panel::{self, Board, Field, grid};
use super::{Context, DETAIL_UID, OVERVIEW_UID};
use crate::names::{self, LABEL_PERIOD, LABEL_SERVICE, LABEL_SEVERITY, LABEL_SLO, LABEL_WINDOW};
use serde_json::{Value, json};

/// `metric{service=~"$service",extra}`, joined to `slo_info` when label filters exist.
fn scoped(cx: &Context, metric: &str, extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    let sel = format!("{metric}{{{LABEL_SERVICE}=~\"$service\"{sep}{extra}}}");
    if cx.label_keys.is_empty() {
        return sel;
    }
    let filters: Vec<String> = cx
        .label_keys
        .iter()
        .map(|k| format!("{k}=~\"${k}\""))
        .collect();
    // `max by`: with two replicas scraped, `slo_info` has one series per instance, and a join
    // on (service, slo) needs one per SLO on the right.
    format!(
        "({sel} * on({LABEL_SERVICE}, {LABEL_SLO}) group_left() max by ({LABEL_SERVICE}, {LABEL_SLO}) ({}{{{LABEL_SERVICE}=~\"$service\",{}}}))",
        names::SLO_INFO,
        filters.join(",")
    )
}

/// `max by (service, slo) (…)`: one value per SLO, so the table's queries merge on two labels
/// (and on the group labels, one value per member, when grouped SLOs exist).
fn per_slo(cx: &Context, expr: &str) -> String {
    format!("max by ({}) ({expr})", cx.slo_labels())
}

/// 2 for a page, 1 for a ticket, 0 for nothing (mapped to words in the panels).
pub(super) fn alert_level(page: &str, ticket: &str) -> String {
    format!("(({page}) * 2) or ({ticket})")
}

/// Words for [`alert_level`]'s values.
pub(super) fn alert_mappings() -> Value {
    json!([{"type": "value", "options": {
        "0": {"text": "none", "color": "green", "index": 0},
        "1": {"text": "ticket", "color": "orange", "index": 1},
        "2": {"text": "page", "color": "red", "index": 2},
    }}])
}

fn stats(cx: &Context) -> Vec<Value> {
    let remaining = scoped(cx, names::SLO_BUDGET_REMAINING, "");
    let firing = |sev: &str| {
        format!(
            "sum({}) or vector(0)",
            per_slo(
                cx,
                &scoped(
                    cx,
                    names::SLO_ALERT_FIRING,
                    &format!("{LABEL_SEVERITY}=\"{sev}\"")
                )
            )
        )
    };
    let slo_labels = cx.slo_labels();
    vec![
        panel::stat(
            "SLOs meeting their objective",
            "SLOs whose error budget is not overspent in any of their periods (remaining ≥ 0), out of the SLOs shown.",
            vec![
                panel::instant(
                    "A",
                    &format!("count(min by ({slo_labels}) ({remaining}) >= 0) or vector(0)"),
                    "meeting",
                ),
                panel::instant(
                    "B",
                    &format!(
                        "count({}) or vector(0)",
                        per_slo(cx, &scoped(cx, names::SLO_OBJECTIVE, ""))
                    ),
                    "SLOs",
                ),
            ],
            Field::unit("short"),
            grid(0, 0, 8, 4),
        ),
        panel::stat(
            "Pages firing",
            "SLOs paging now: a fast burn that spends the budget in hours or days.",
            vec![panel::instant("A", &firing("page"), "pages")],
            Field::unit("short").colored(panel::thresholds("green", &[(1.0, "red")])),
            grid(8, 0, 4, 4),
        ),
        panel::stat(
            "Tickets firing",
            "SLOs with an open ticket: a slow burn, a budget below the policy's share, or no data.",
            vec![panel::instant("A", &firing("ticket"), "tickets")],
            Field::unit("short").colored(panel::thresholds("green", &[(1.0, "orange")])),
            grid(12, 0, 4, 4),
        ),
        panel::stat(
            "Worst budget remaining",
            "The smallest share of error budget left over any SLO and period shown (negative: overspent).",
            vec![panel::instant("A", &format!("min({remaining})"), "worst")],
            Field::unit("percentunit")
                .colored(panel::budget_thresholds())
                .decimals(1),
            grid(16, 0, 8, 4),
        ),
    ]
}

fn slo_table(cx: &Context) -> Value {
    let q = |metric: &str, extra: &str| per_slo(cx, &scoped(cx, metric, extra));
    let w = |p: &str| format!("{LABEL_WINDOW}=\"{p}\"");
    let period = |p: &str| format!("{LABEL_PERIOD}=\"{p}\"");
    let firing = alert_level(
        &scoped(
            cx,
            names::SLO_ALERT_FIRING,
            &format!("{LABEL_SEVERITY}=\"page\""),
        ),
        &scoped(
            cx,
            names::SLO_ALERT_FIRING,
            &format!("{LABEL_SEVERITY}=\"ticket\""),
        ),
    );
    let periods = cx.period_regex();
    // Columns: objective, SLI per period, budget left per period, burn 1h and 6h, alert, coverage.
    let mut refs = (b'A'..=b'Z').map(|c| (c as char).to_string());
    let mut next = || refs.next().unwrap_or_default();
    let mut columns: Vec<(String, String, &str)> = Vec::new(); // (ref, display name, kind)
    let mut targets = Vec::new();
    let mut add = |expr: String, name: String, kind: &'static str, targets: &mut Vec<Value>| {
        let r = next();
        targets.push(panel::table_query(&r, &expr));
        columns.push((r, name, kind));
    };
    add(
        q(names::SLO_OBJECTIVE, ""),
        "Objective".into(),
        "pct",
        &mut targets,
    );
    for p in &cx.periods {
        add(
            q(names::SLO_SLI, &w(p)),
            format!("SLI {p}"),
            "pct",
            &mut targets,
        );
    }
    for p in &cx.periods {
        add(
            q(names::SLO_BUDGET_REMAINING, &period(p)),
            format!("Budget left {p}"),
            "budget",
            &mut targets,
        );
    }
    add(
        q(names::SLO_BURN_RATE, &w("1h")),
        "Burn 1h".into(),
        "burn",
        &mut targets,
    );
    add(
        q(names::SLO_BURN_RATE, &w("6h")),
        "Burn 6h".into(),
        "burn",
        &mut targets,
    );
    add(per_slo(cx, &firing), "Alert".into(), "alert", &mut targets);
    add(
        format!(
            "min by ({}) ({})",
            cx.slo_labels(),
            scoped(
                cx,
                names::SLO_COVERAGE,
                &format!("{LABEL_WINDOW}=~\"{periods}\"")
            )
        ),
        "Coverage".into(),
        "coverage",
        &mut targets,
    );
    let pct = |decimals: u32| {
        vec![
            ("unit", json!("percentunit")),
            ("decimals", json!(decimals)),
        ]
    };
    let budget_bar = || {
        vec![
            ("unit", json!("percentunit")),
            ("decimals", json!(1)),
            ("min", json!(0)),
            ("max", json!(1)),
            ("thresholds", panel::budget_thresholds()),
            (
                "custom.cellOptions",
                json!({"type": "gauge", "mode": "basic", "valueDisplayMode": "text"}),
            ),
        ]
    };
    let burn = || {
        vec![
            ("unit", json!("short")),
            ("decimals", json!(2)),
            (
                "thresholds",
                panel::thresholds("green", &[(1.0, "orange"), (6.0, "red")]),
            ),
            ("custom.cellOptions", json!({"type": "color-text"})),
        ]
    };
    let link = format!(
        "/d/{DETAIL_UID}/slo-detail?var-service=${{__data.fields.{LABEL_SERVICE}}}&var-{LABEL_SLO}=${{__data.fields.{LABEL_SLO}}}&${{datasource:queryparam}}&${{__url_time_range}}"
    );
    let overrides = vec![
        panel::column(LABEL_SERVICE, "Service", vec![]),
        panel::column(
            LABEL_SLO,
            "SLO",
            vec![(
                "links",
                json!([{"title": "Open this SLO's dashboard", "url": link}]),
            )],
        ),
    ];
    let mut overrides = overrides;
    let mut index = serde_json::Map::new();
    index.insert(LABEL_SERVICE.into(), json!(0));
    index.insert(LABEL_SLO.into(), json!(1));
    // A member's values right after its SLO's name: the row is that member.
    for (i, l) in cx.group_labels.iter().enumerate() {
        index.insert(l.clone(), json!(i + 2));
    }
    let first = 2 + cx.group_labels.len();
    for (i, (r, name, kind)) in columns.iter().enumerate() {
        let field = format!("Value #{r}");
        index.insert(field.clone(), json!(i + first));
        let props = match *kind {
            "pct" => pct(3),
            "budget" => budget_bar(),
            "burn" => burn(),
            "alert" => vec![
                ("mappings", alert_mappings()),
                ("custom.cellOptions", json!({"type": "color-background"})),
            ],
            _ => vec![
                ("unit", json!("percentunit")),
                ("decimals", json!(1)),
                (
                    "thresholds",
                    panel::thresholds("red", &[(0.9, "orange"), (0.999, "green")]),
                ),
                ("custom.cellOptions", json!({"type": "color-text"})),
            ],
        };
        overrides.push(panel::column(&field, name, props));
    }
    let transformations = vec![
        json!({"id": "merge", "options": {}}),
        json!({"id": "organize", "options": {
            "excludeByName": {"Time": true},
            "indexByName": index,
            "renameByName": {},
        }}),
    ];
    let mut description = "Every SLO: its objective; the SLI and the share of error budget left over each budget period (an SLO without that period shows nothing there); burn rates over 1h and 6h (1 spends the budget in exactly one period); the alert firing now; the share of buckets with data over its periods. Click an SLO for its dashboard.".to_string();
    if !cx.group_labels.is_empty() {
        description.push_str(&format!(
            " A grouped SLO has a row per member, its values in the {} column{}.",
            cx.group_labels.join(", "),
            if cx.group_labels.len() == 1 { "" } else { "s" }
        ));
    }
    panel::table(
        "SLOs",
        &description,
        targets,
        overrides,
        transformations,
        grid(0, 4, 24, 18),
    )
}

/// The overview dashboard.
pub(super) fn dashboard(cx: &Context) -> Value {
    let mut variables = vec![
        panel::datasource_var(),
        panel::label_var(
            "service",
            "Service",
            &format!("label_values({}, {LABEL_SERVICE})", names::SLO_OBJECTIVE),
            true,
            true,
        ),
    ];
    for k in &cx.label_keys {
        variables.push(panel::label_var(
            k,
            k,
            &format!("label_values({}, {k})", names::SLO_INFO),
            true,
            true,
        ));
    }
    let mut panels = stats(cx);
    panels.push(slo_table(cx));
    Board {
        uid: OVERVIEW_UID,
        title: "SLOs: overview",
        description: "Every SLO slowburn evaluates, generated from slo.yaml by `slowburn dashboards generate`.",
        variables,
        annotations: Vec::new(),
        panels,
        from: "now-24h",
    }
    .json()
}
