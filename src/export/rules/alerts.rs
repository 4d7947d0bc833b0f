//! The alerting half: the daemon's conditions (`alert::policy::holding`) as PromQL, one alert per
//! (SLO, severity) named and labelled as the daemon posts it to Alertmanager
//! (`notify::alertmanager`), and `slo_alert_firing`.
//!
//! Every condition that holds is recorded as `slowburn:slo_alert_holding:burn_rate{severity,
//! rule}` with the burn rate the daemon ranks it by (the long window's for burn-rate rules, the
//! period's for budget conditions, 0 for missing data). The alert of a severity is the highest
//! of them, so one alert stands per (SLO, severity) as in the daemon: two rules with one label
//! set would resolve each other in Alertmanager. A page supersedes the ticket (`unless`).
//!
//! A rule with `for:` records its bare condition at every evaluation
//! (`slowburn:slo_alert_condition:burn_rate{severity, rule}`) and holds only once that series has
//! a sample from each evaluation of the span (counted with a plain range over those samples, so
//! the group's phase in the bucket does not matter), as the daemon counts it per rule; the alerts
//! themselves have no `for:`, as a severity's alert stands for several rules.
//! Differences a ruler cannot avoid, by design: the ticket for missing data fires as soon as the ruler sees no tiles, where the daemon first
//! waits out the window after its own start; `burn_rate` is the current strongest burn, not the
//! episode's peak; the `rule` annotation names the strongest condition now, not the one that
//! fired first; maintenance windows do not mute (use Alertmanager silences).
//!
//! A `group_by` definition's conditions hold per member (every series they read carries the
//! group labels, and every `unless`/`or` matches on them), so its alerts fire one per member
//! with the member's group labels, a page superseding only that member's ticket; the `slo` label
//! and the summary name the member as the daemon does (`api/avail{route="/a"}`), and the
//! annotations' queries read that member's series alone. Missing data is judged per member too.

use super::expr::{self, Ident, Views};
use super::file::Rule;
use super::slo::ident_labels;
use crate::alert::policy::Severity;
use crate::config::Slo;
use crate::duration::Dur;
use crate::names;
use std::collections::BTreeMap;

/// The conditions that hold, with the burn rate each is ranked by.
pub(super) const HOLDING: &str = "slowburn:slo_alert_holding:burn_rate";
/// The bare condition of each rule with a `for:`, recorded at every evaluation it holds at.
pub(super) const CONDITION: &str = "slowburn:slo_alert_condition:burn_rate";
/// The label naming a condition (`1h/5m`, `budget 30d spent`, `no data 30m`).
const RULE_LABEL: &str = "rule";

/// The holding conditions, `slo_alert_firing` and the two alerts of one SLO, in evaluation order.
/// `tile_total` selects the SLO's total tiles (for missing data), `dashboard` is its link.
pub(super) fn rules(
    slo: &Slo,
    v: &Views<'_>,
    tile_total: &str,
    dashboard: Option<String>,
    bucket: Dur,
) -> Vec<Rule> {
    let labels = ident_labels(&v.ident);
    let mut out = Vec::new();
    let (held, waiting) = conditions(slo, v, tile_total, bucket);
    for (severity, cond) in waiting {
        let mut l = labels.clone();
        l.insert(names::LABEL_SEVERITY.into(), severity.as_str().into());
        out.push(Rule::record(CONDITION, cond, l));
    }
    for (severity, conds) in &held {
        if !conds.is_empty() {
            let mut l = labels.clone();
            l.insert(names::LABEL_SEVERITY.into(), severity.as_str().into());
            out.push(Rule::record(HOLDING, conds.join("\nor "), l));
        }
    }
    out.push(Rule::record(names::SLO_ALERT_FIRING, firing(v), labels));
    for (severity, conds) in &held {
        if !conds.is_empty() {
            out.push(alert(slo, &v.ident, *severity, dashboard.as_deref()));
        }
    }
    out
}

/// Each severity's conditions, page first, as `label_replace(<condition>, "rule", <name>)`.
#[allow(clippy::type_complexity)]
fn conditions(
    slo: &Slo,
    v: &Views<'_>,
    tile_total: &str,
    bucket: Dur,
) -> ([(Severity, Vec<String>); 2], Vec<(Severity, String)>) {
    let (mut page, mut ticket) = (Vec::new(), Vec::new());
    let mut waiting = Vec::new();
    let policy = &slo.policy;
    let obj = slo.objective;
    let without = format!("max without({})", names::LABEL_WINDOW);
    for r in &policy.rules {
        let mut c = format!(
            "{without} ({} >= {f})\n  and {without} ({} >= {f})",
            v.burn(&[r.long], obj),
            v.burn(&[r.short], obj),
            f = r.factor
        );
        if policy.min_events > 0.0 {
            c.push_str(&format!(
                "\n  and {without} ({} >= {})",
                v.total(&[r.long]),
                policy.min_events
            ));
        }
        let mut c = named(&c, &r.name());
        if r.pending.as_secs() > 0 {
            waiting.push((r.severity, c));
            c = held_for(&v.ident, r.severity, &r.name(), r.pending, bucket);
        }
        let list = if r.severity == Severity::Page {
            &mut page
        } else {
            &mut ticket
        };
        list.push(c);
    }
    for p in &slo.periods {
        let burn = format!("{without} ({})", v.burn(&[*p], obj));
        let rem = v.remaining(&[*p], obj);
        if let Some(severity) = policy.budget_exhausted {
            let c = format!("{burn}\n  and {without} ({rem} <= 0)");
            let list = if severity == Severity::Page {
                &mut page
            } else {
                &mut ticket
            };
            list.push(named(&c, &format!("budget {p} spent")));
        }
        if let Some(below) = policy.budget_ticket_below {
            // With a spent-budget condition, "below" is the else branch: still above 0.
            let low = if policy.budget_exhausted.is_some() {
                format!("(({rem}) > 0) < {below}")
            } else {
                format!("({rem}) < {below}")
            };
            let c = format!("{burn}\n  and {without} ({low})");
            ticket.push(named(&c, &format!("budget {p} < {:.0}%", below * 100.0)));
        }
    }
    for (severity, c) in consumption(slo, v) {
        if severity == Severity::Page {
            page.push(c);
        } else {
            ticket.push(c);
        }
    }
    if let Some(d) = policy.no_data_after {
        ticket.push(named(&no_data(v, tile_total, d), &format!("no data {d}")));
    }
    (
        [(Severity::Page, page), (Severity::Ticket, ticket)],
        waiting,
    )
}

/// `budget_drop` and `exhaustion_within` per period, as `alert::policy` judges them: the bad
/// events of the span over the period's budget (`burn(span) × total(span) / total(period)`),
/// and the remaining budget over the last hour's burn rate (in periods) against the span.
fn consumption(slo: &Slo, v: &Views<'_>) -> Vec<(Severity, String)> {
    let policy = &slo.policy;
    let obj = slo.objective;
    let without = format!("max without({})", names::LABEL_WINDOW);
    let mut out = Vec::new();
    for p in &slo.periods {
        if let Some(d) = policy.budget_drop {
            let bw = format!("{without} ({})", v.burn(&[d.within], obj));
            let c = format!(
                "{bw}\n  and ({bw} * {without} ({}) / {without} ({}) >= {})",
                v.total(&[d.within]),
                v.total(&[*p]),
                d.share
            );
            let name = format!(
                "budget {p} dropped {}% in {}",
                (d.share * 1e5).round() / 1e3,
                d.within
            );
            out.push((d.severity, named(&c, &name)));
        }
        if let Some(e) = policy.exhaustion_within {
            let burn = format!(
                "{without} ({})",
                v.burn(&[crate::alert::policy::EXHAUSTION_BURN_WINDOW], obj)
            );
            let rem = format!("{without} ({})", v.remaining(&[*p], obj));
            // Seconds left: remaining / burn × period; only while some budget is left.
            let c = format!(
                "{burn}\n  and (({rem} > 0) / ({burn} > 0) * {} <= {})",
                p.as_secs(),
                e.within.as_secs()
            );
            out.push((
                e.severity,
                named(&c, &format!("budget {p} gone within {}", e.within)),
            ));
        }
    }
    out
}

/// Missing data, valued 0 (the burn rate the daemon ranks it by): no total tile in the last `d`.
/// For a grouped definition, each member seen in the longest window that has no tile in `d`:
/// `absent_over_time` could only tell that every member is gone, and with no member's labels.
fn no_data(v: &Views<'_>, tile_total: &str, d: Dur) -> String {
    let range = expr::range(d, true);
    if v.ident.by.is_empty() {
        format!("absent_over_time({tile_total}{range}) * 0")
    } else {
        format!(
            "({})\n  unless {} count_over_time({tile_total}{range})",
            v.members(),
            v.ident.on(&[])
        )
    }
}

/// A rule with a `for:` as a holding condition: its recorded bare condition
/// ([`CONDITION`]) now, when that series has a sample from each evaluation of the last `pending`
/// (the one it began at included, as the daemon's `for:`): `pending / bucket + 1` samples in a
/// range of `pending` plus half a bucket, whatever the group's phase in the bucket.
fn held_for(
    ident: &Ident<'_>,
    severity: Severity,
    rule: &str,
    pending: Dur,
    bucket: Dur,
) -> String {
    let b = bucket.as_secs().max(1);
    let steps = pending.as_secs() / b + 1;
    let span = Dur::from_millis(pending.as_millis() + bucket.as_millis() / 2);
    let which = format!(
        "{},{}={}",
        severity_matcher(severity),
        RULE_LABEL,
        expr::quote(rule)
    );
    let sel = ident.sel(CONDITION, &which);
    // Its sample of this evaluation (written just before, in this group), or nothing.
    let half = expr::duration_ms((bucket.as_millis() / 2).max(1));
    format!(
        "last_over_time({sel}[{half}])\n  and (count_over_time({sel}[{}]) >= {steps})",
        expr::duration_ms(span.as_millis())
    )
}

/// `label_replace(<condition>, "rule", "<name>", "", "")`.
fn named(condition: &str, name: &str) -> String {
    format!(
        "label_replace(\n  {condition},\n  {}, {}, \"\", \"\"\n)",
        expr::quote(RULE_LABEL),
        expr::quote(name)
    )
}

/// `slo_alert_firing{severity}`: 1 while a condition of the severity holds (the ticket not while
/// the page does), else 0, as `/metrics` writes both; per member for a grouped definition.
fn firing(v: &Views<'_>) -> String {
    let ident = &v.ident;
    let holding = |s: Severity| ident.read(HOLDING, &severity_matcher(s));
    let (page, ticket) = (holding(Severity::Page), holding(Severity::Ticket));
    let sev = expr::quote(names::LABEL_SEVERITY);
    let (count, on, zero) = (ident.aggregate("count"), ident.on(&[]), v.zero());
    format!(
        "label_replace(({count}({page}) > bool 0) or {zero}, {sev}, \"page\", \"\", \"\")\nor label_replace((({count}({ticket}) > bool 0) unless {on} {count}({page})) or {zero}, {sev}, \"ticket\", \"\", \"\")"
    )
}

/// `severity="page"`.
fn severity_matcher(s: Severity) -> String {
    format!("{}={}", names::LABEL_SEVERITY, expr::quote(s.as_str()))
}

/// Go template: the strongest holding condition's name (`QUERY`: a [`query_arg`]).
const RULE_TEMPLATE: &str = "{{ range query QUERY }}{{ .Labels.rule }}{{ end }}";
/// Go template: the alert's value as the daemon's summary prints it (`{:.1}`).
const VALUE_TEMPLATE: &str = "{{ printf \"%.1f\" $value }}";
/// Go template: the alert's value as the daemon's `burn_rate` annotation spells it, a JSON
/// number (`16.0`, `14.423076923076923`).
const BURN_TEMPLATE: &str =
    "{{ $value }}{{ if eq (printf \"%v\" $value) (printf \"%.0f\" $value) }}.0{{ end }}";
/// Go template: `30d budget 97.9% left, 7d budget 99.0% left`, periods in the daemon's order
/// (sorted as text; `QUERY`: a [`query_arg`]).
const BUDGETS_TEMPLATE: &str = "{{ range $i, $s := query QUERY | sortByLabel \"period\" }}{{ if $i }}, {{ end }}{{ $s.Labels.period }} budget {{ printf \"%.1f\" $s.Value }}% left{{ end }}";

/// The alert of one severity: the daemon's name, labels and annotations.
fn alert(slo: &Slo, ident: &Ident<'_>, severity: Severity, dashboard: Option<&str>) -> Rule {
    let holding = ident.read(HOLDING, &severity_matcher(severity));
    let (name, expr) = match severity {
        Severity::Page => (
            "SLOErrorBudgetBurnPage",
            format!("max without({RULE_LABEL}) ({holding})"),
        ),
        Severity::Ticket => (
            "SLOErrorBudgetBurnTicket",
            format!(
                "max without({RULE_LABEL}) ({holding})\nunless {} {}",
                ident.on(&[]),
                ident.read(HOLDING, &severity_matcher(Severity::Page))
            ),
        ),
    };
    let id = member_id(slo, ident.by);
    let mut labels: BTreeMap<String, String> = slo
        .labels
        .iter()
        .map(|(k, v)| (names::label_name(k), literal(v)))
        .collect();
    labels.insert(names::LABEL_SLO.into(), id.clone());
    labels.insert(names::LABEL_SEVERITY.into(), severity.as_str().into());
    labels.insert(names::LABEL_SOURCE.into(), "slowburn".into());
    if !slo.service.is_empty() {
        labels.insert(names::LABEL_SERVICE.into(), literal(&slo.service));
    }
    let sev = severity_matcher(severity);
    let which = RULE_TEMPLATE.replace(
        "QUERY",
        &query_arg(ident.by, |member| {
            format!("topk(1, {})", ident.read(HOLDING, &and(&sev, member)))
        }),
    );
    let budgets = BUDGETS_TEMPLATE.replace(
        "QUERY",
        &query_arg(ident.by, |member| {
            format!("100 * {}", ident.sel(names::SLO_BUDGET_REMAINING, member))
        }),
    );
    let mut annotations: BTreeMap<String, String> = BTreeMap::new();
    annotations.insert(
        "summary".into(),
        format!(
            "[{}] {id} is burning its error budget: {which} at {VALUE_TEMPLATE}x; {budgets}",
            severity.as_str()
        ),
    );
    if let Some(d) = &slo.description {
        annotations.insert("description".into(), literal(d));
    }
    annotations.insert("rule".into(), which);
    annotations.insert("burn_rate".into(), BURN_TEMPLATE.into());
    if let Some(link) = dashboard {
        annotations.insert("dashboard".into(), literal(link));
    }
    Rule::alert(name, expr, labels, annotations)
}

/// The alert's `slo` label and the name its summary prints: the SLO's id, or for a grouped
/// definition its member's id as the daemon writes it (`api/avail{route="/a"}`), the values
/// filled in by the ruler from the alert's own labels. Go's `%q` quotes them as the daemon quotes
/// a PromQL string for every printable value (it also escapes control characters other than a
/// newline, which the daemon keeps).
fn member_id(slo: &Slo, by: &[String]) -> String {
    let id = literal(&slo.id);
    if by.is_empty() {
        return id;
    }
    let values: Vec<String> = by
        .iter()
        .map(|l| format!("{l}={{{{ printf \"%q\" $labels.{l} }}}}"))
        .collect();
    format!("{id}{{{}}}", values.join(","))
}

/// The argument of a template's `query`: `` `q` `` for a plain SLO; for a grouped definition
/// ``(printf `q` $labels.route …)``, `q` made with the member's matchers (`route=%q`), so an
/// alert's annotation reads its own member's series alone, not every member's.
fn query_arg(by: &[String], q: impl Fn(&str) -> String) -> String {
    if by.is_empty() {
        return format!("`{}`", q(""));
    }
    // Stands where each value goes until `%` in the query text is escaped for printf.
    const MARK: &str = "\u{1}";
    let member: Vec<String> = by.iter().map(|l| format!("{l}={MARK}")).collect();
    let text = q(&member.join(",")).replace('%', "%%").replace(MARK, "%q");
    let args: String = by.iter().map(|l| format!(" $labels.{l}")).collect();
    format!("(printf `{text}`{args})")
}

/// Matchers `a`, then `b` when there are any.
fn and(a: &str, b: &str) -> String {
    if b.is_empty() {
        a.to_string()
    } else {
        format!("{a},{b}")
    }
}

/// Text that Go's `text/template` (alert labels and annotations) prints as is: `{{` becomes an
/// action printing `{{`.
fn literal(s: &str) -> String {
    s.replace("{{", "{{ \"{{\" }}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_text_is_escaped() {
        assert_eq!(literal("a {{ b }}"), "a {{ \"{{\" }} b }}");
        assert_eq!(literal("plain"), "plain");
    }

    /// The views the expression tests use, with no long windows.
    fn views(by: &[String]) -> Views<'_> {
        super::super::expr::tests::views(&[], by)
    }

    #[test]
    fn firing_writes_both_severities() {
        let f = firing(&views(&[]));
        assert!(f.contains("\"page\"") && f.contains("\"ticket\""), "{f}");
        assert!(f.contains("unless on() count(last_over_time(slowburn:slo_alert_holding:burn_rate{service=\"api\",slo=\"availability\",severity=\"page\"}[59s]))"));
    }

    #[test]
    fn a_grouped_definition_fires_and_counts_per_member() {
        let by = ["route".to_string()];
        let f = firing(&views(&by));
        assert!(
            f.contains("unless on(route) count by (route) (last_over_time(slowburn:slo_alert_holding:burn_rate{service=\"api\",slo=\"availability\",severity=\"page\"}[59s]))"),
            "{f}"
        );
        assert!(!f.contains("on() vector(0)"), "no label-less zero: {f}");
        let d = no_data(&views(&by), "t{service=\"api\"}", Dur::from_secs(1800));
        assert!(
            d.ends_with("unless on(route) count_over_time(t{service=\"api\"}[1799s])")
                && !d.contains("absent"),
            "{d}"
        );
        assert_eq!(
            query_arg(&by, |m| format!("100 * x{{a=\"5%\",{m}}}")),
            "(printf `100 * x{a=\"5%%\",route=%q}` $labels.route)"
        );
        assert_eq!(query_arg(&[], |m| format!("x{{{m}}}")), "`x{}`");
    }
}
