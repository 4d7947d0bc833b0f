//! One SLO in detail, chosen by the `service` and `slo` variables: where it stands now (objective,
//! SLI, budget left, time to exhaustion, coverage, alert), the budget's burn-down per period, the
//! SLI against the objective and the SLA, the burn rate per window with the policy's factors as
//! threshold lines, good and bad events per second, coverage, and its definition; alert episodes
//! are annotations.
//!
//! A grouped SLO (`group_by:`) is one `slo` with a series per member, told apart by the group
//! labels: where grouped SLOs exist, every panel keeps them apart (`by (route)`) and names each
//! line by its values (`30d /checkout`), and the definition table has a row per member. A
//! variable per group label cannot be written for labels the config does not know, and a plain
//! SLO's series lack them, so the legends print nothing there and its panels read as before.

use super::overview::{alert_level, alert_mappings};
use super::panel::{self, Board, Field, grid};
use super::{Context, DETAIL_UID};
use crate::alert::policy::Severity;
use crate::names::{self, LABEL_SERVICE, LABEL_SEVERITY, LABEL_SLO, LABEL_WINDOW};
use serde_json::{Value, json};

/// `metric{service="$service",slo="$slo",extra}`.
fn sel(metric: &str, extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    format!("{metric}{{{LABEL_SERVICE}=\"$service\",{LABEL_SLO}=\"$slo\"{sep}{extra}}}")
}

/// One value for the SLO where a grouped SLO's members would each repeat it (the objective):
/// `max(expr)` when grouped SLOs exist, `expr` as it was otherwise.
fn one(cx: &Context, expr: &str) -> String {
    if cx.group_labels.is_empty() {
        expr.to_string()
    } else {
        format!("max({expr})")
    }
}

fn now_row(cx: &Context) -> Vec<Value> {
    let periods = format!("{LABEL_WINDOW}=~\"{}\"", cx.period_regex());
    let severity = |s: &str| format!("{LABEL_SEVERITY}=\"{s}\"");
    // Per member when grouped: the exhaustion of each member that burns, each member's alert;
    // `or on()` adds the zero only when no member has a value.
    let (on, zero) = if cx.group_labels.is_empty() {
        ("on()".to_string(), "vector(0)")
    } else {
        (
            format!("on({})", cx.group_labels.join(", ")),
            "on() vector(0)",
        )
    };
    let mut exhaustion = panel::stat(
        "Time to exhaustion",
        "At the last hour's burn rate, how long until the period's budget is spent. Shows 'not burning' while the 1h burn rate is below 1 (the budget is not being spent faster than it accrues).",
        vec![panel::instant(
            "A",
            &format!(
                "{} and {on} {} >= 1",
                cx.per_member("min", &sel(names::SLO_BUDGET_EXHAUSTION, "")),
                cx.per_member(
                    "max",
                    &sel(names::SLO_BURN_RATE, &format!("{LABEL_WINDOW}=\"1h\""))
                )
            ),
            &cx.legend(""),
        )],
        Field::unit("s").colored(panel::thresholds(
            "red",
            &[(86400.0, "orange"), (7.0 * 86400.0, "green")],
        )),
        grid(12, 1, 4, 4),
    );
    exhaustion["fieldConfig"]["defaults"]["noValue"] = json!("not burning");
    let mut alert = panel::stat(
        "Alert",
        "The alert firing now: a page (fast burn) supersedes a ticket.",
        vec![panel::instant(
            "A",
            &format!(
                "{} or {zero}",
                cx.per_member(
                    "max",
                    &alert_level(
                        &sel(names::SLO_ALERT_FIRING, &severity("page")),
                        &sel(names::SLO_ALERT_FIRING, &severity("ticket"))
                    )
                )
            ),
            &cx.legend(""),
        )],
        Field::unit("none"),
        grid(20, 1, 4, 4),
    );
    alert["fieldConfig"]["defaults"]["mappings"] = alert_mappings();
    let mut objective = panel::stat(
        "Objective",
        "The share of good events the SLO promises over each period.",
        vec![panel::instant(
            "A",
            &one(cx, &sel(names::SLO_OBJECTIVE, "")),
            "objective",
        )],
        Field::unit("percentunit").decimals(3),
        grid(0, 1, 4, 4),
    );
    let mut sli = panel::stat(
        "SLI",
        "Good events / all events over each budget period; compare with the objective (the budget panel colours how far it is).",
        vec![panel::instant(
            "A",
            &sel(names::SLO_SLI, &periods),
            &cx.legend("{{window}}"),
        )],
        Field::unit("percentunit").decimals(3),
        grid(4, 1, 4, 4),
    );
    // Plain numbers: a green background would call a breaching SLI good.
    objective["options"]["colorMode"] = json!("none");
    sli["options"]["colorMode"] = json!("none");
    vec![
        panel::row("Now", 0),
        objective,
        sli,
        panel::stat(
            "Error budget left",
            "The share of each period's error budget not yet spent: 100% untouched, 0 spent, negative overspent.",
            vec![panel::instant(
                "A",
                &sel(names::SLO_BUDGET_REMAINING, ""),
                &cx.legend("{{period}}"),
            )],
            Field::unit("percentunit")
                .colored(panel::budget_thresholds())
                .decimals(1),
            grid(8, 1, 4, 4),
        ),
        exhaustion,
        panel::stat(
            "Coverage",
            "The share of buckets in the periods that have data; below 100% the numbers leave out a source outage or missing history.",
            vec![panel::instant(
                "A",
                &cx.per_member("min", &sel(names::SLO_COVERAGE, &periods)),
                &cx.legend(""),
            )],
            Field::unit("percentunit")
                .colored(panel::thresholds(
                    "red",
                    &[(0.9, "orange"), (0.999, "green")],
                ))
                .decimals(1),
            grid(16, 1, 4, 4),
        ),
        alert,
    ]
}

fn budget_row(cx: &Context) -> Vec<Value> {
    let periods = format!("{LABEL_WINDOW}=~\"{}\"", cx.period_regex());
    vec![
        panel::row("Budget", 5),
        panel::timeseries(
            "Error budget left (burn-down)",
            "The share of each period's budget left over time. Falling: errors are spending it; rising: old errors leave the rolling period.",
            vec![panel::range(
                "A",
                &sel(names::SLO_BUDGET_REMAINING, ""),
                &cx.legend("{{period}}"),
            )],
            Field::unit("percentunit").colored(panel::budget_thresholds()),
            true,
            grid(0, 6, 12, 8),
        ),
        panel::timeseries(
            "SLI against the objective and the SLA",
            "The SLI over each period, the objective it must stay above, and the SLA (the external commitment) with its own SLI when the SLO has one.",
            vec![
                panel::range(
                    "A",
                    &sel(names::SLO_SLI, &periods),
                    &cx.legend("SLI {{window}}"),
                ),
                panel::range("B", &one(cx, &sel(names::SLO_OBJECTIVE, "")), "objective"),
                panel::range("C", &one(cx, &sel(names::SLO_SLA_OBJECTIVE, "")), "SLA"),
                panel::range("D", &sel(names::SLO_SLA_SLI, ""), &cx.legend("SLA SLI")),
            ],
            Field::unit("percentunit").decimals(3),
            false,
            grid(12, 6, 12, 8),
        ),
    ]
}

fn burn_row(cx: &Context) -> Vec<Value> {
    let steps: Vec<(f64, &str)> = cx
        .factors
        .iter()
        .rev()
        .map(|(f, sev)| {
            (
                *f,
                if *sev == Severity::Page {
                    "red"
                } else {
                    "orange"
                },
            )
        })
        .collect();
    let factors: Vec<String> = cx.factors.iter().map(|(f, _)| f.to_string()).collect();
    vec![
        panel::row("Burn", 14),
        panel::timeseries(
            "Burn rate per window",
            &format!(
                "Error ratio over each window divided by the error budget ratio; 1 spends the budget in exactly one period. Dashed lines: the burn-rate factors of the SLOs' policies ({}; red pages, orange tickets). A rule fires when both its long and its short window are at or above its factor; periods other than 30d scale the rules' windows, so those windows may lie between the ones drawn.",
                factors.join(", ")
            ),
            vec![panel::range(
                "A",
                &sel(names::SLO_BURN_RATE, ""),
                &cx.legend("{{window}}"),
            )],
            Field::unit("short").colored(panel::thresholds("transparent", &steps)),
            true,
            grid(0, 15, 12, 8),
        ),
        panel::timeseries(
            "Time to exhaustion",
            "At each moment's 1h burn rate, how long until each period's budget is spent; gaps when it is not being spent.",
            vec![panel::range(
                "A",
                &sel(names::SLO_BUDGET_EXHAUSTION, ""),
                &cx.legend("{{period}}"),
            )],
            Field::unit("s"),
            false,
            grid(12, 15, 12, 8),
        ),
    ]
}

fn events_row(cx: &Context) -> Vec<Value> {
    let (w, secs) = &cx.short_window;
    let kind = |k: &str| {
        sel(
            names::SLO_EVENTS,
            &format!("{LABEL_WINDOW}=\"{w}\",kind=\"{k}\""),
        )
    };
    let periods = format!("{LABEL_WINDOW}=~\"{}\"", cx.period_regex());
    vec![
        panel::row("Events", 23),
        panel::timeseries(
            "Good and bad events per second",
            &format!(
                "Events counted over the last {w}, per second: all events, and the bad ones (all minus good)."
            ),
            vec![
                panel::range(
                    "A",
                    &format!("{} / {secs}", kind("total")),
                    &cx.legend("all"),
                ),
                panel::range(
                    "B",
                    &format!(
                        "({} - ignoring(kind) {}) / {secs}",
                        kind("total"),
                        kind("good")
                    ),
                    &cx.legend("bad"),
                ),
            ],
            Field::unit("short").bounds(Some(0.0), None),
            false,
            grid(0, 24, 12, 8),
        ),
        panel::timeseries(
            "Coverage",
            "The share of buckets in each period that have data.",
            vec![panel::range(
                "A",
                &sel(names::SLO_COVERAGE, &periods),
                &cx.legend("{{window}}"),
            )],
            Field::unit("percentunit").bounds(Some(0.0), Some(1.0)),
            false,
            grid(12, 24, 12, 8),
        ),
    ]
}

fn definition_row(cx: &Context) -> Vec<Value> {
    let exclude =
        json!({"Time": true, "Value": true, "__name__": true, "job": true, "instance": true});
    // A member's `slo_info` carries its values: they lead its row, one row per member.
    let mut index = serde_json::Map::new();
    for (i, l) in cx.group_labels.iter().enumerate() {
        index.insert(l.clone(), json!(i));
    }
    let first = cx.group_labels.len();
    for (i, f) in ["description", "sli", "source", "queries"]
        .iter()
        .enumerate()
    {
        index.insert((*f).to_string(), json!(first + i));
    }
    let mut description = "The SLO as slo.yaml declares it: description, kind of SLI, source and the queries slowburn counts.".to_string();
    if !cx.group_labels.is_empty() {
        description.push_str(" A grouped SLO has a row per member, its values first.");
    }
    vec![
        panel::row("Definition", 32),
        panel::table(
            "Definition",
            &description,
            vec![panel::table_query("A", &sel(names::SLO_INFO, ""))],
            Vec::new(),
            vec![json!({"id": "organize", "options": {
                "excludeByName": exclude,
                "indexByName": index,
                "renameByName": {},
            }})],
            grid(0, 33, 24, 5),
        ),
    ]
}

/// The detail dashboard.
pub(super) fn dashboard(cx: &Context) -> Value {
    let variables = vec![
        panel::datasource_var(),
        panel::label_var(
            "service",
            "Service",
            &format!("label_values({}, {LABEL_SERVICE})", names::SLO_OBJECTIVE),
            false,
            false,
        ),
        panel::label_var(
            "slo",
            "SLO",
            &format!(
                "label_values({}{{{LABEL_SERVICE}=\"$service\"}}, {LABEL_SLO})",
                names::SLO_OBJECTIVE
            ),
            false,
            false,
        ),
    ];
    let annotation = |sev: &str, color: &str| {
        panel::query_annotation(
            &format!("{sev} alerts"),
            &format!(
                "{} == 1",
                sel(
                    names::SLO_ALERT_FIRING,
                    &format!("{LABEL_SEVERITY}=\"{sev}\"")
                )
            ),
            color,
        )
    };
    let mut panels = now_row(cx);
    panels.extend(budget_row(cx));
    panels.extend(burn_row(cx));
    panels.extend(events_row(cx));
    panels.extend(definition_row(cx));
    Board {
        uid: DETAIL_UID,
        title: "SLO detail",
        description: "One SLO, chosen by the service and SLO variables, generated from slo.yaml by `slowburn dashboards generate`.",
        variables,
        annotations: vec![annotation("page", "red"), annotation("ticket", "orange")],
        panels,
        from: "now-7d",
    }
    .json()
}
