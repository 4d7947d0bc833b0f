//! The SLO list: one row per SLO with every period's SLI and budget, burn rates, alert, coverage,
//! SLA and the gate's answer; filtered, sorted and grouped by query parameters, so the URL keeps
//! the view and the page needs no script. One snapshot renders it, whatever the number of SLOs.
//!
//! The members of a grouped SLO (`group_by:`) stand together under a header row for their
//! definition, worst first, each labelled by its values: a hundred routes of one SLO read as one
//! thing with its worst parts on top, not as a hundred SLOs scattered through the table.

use super::html::{Html, html};
use super::{budget_bar, burn, pct, slo_path, url_enc};
use crate::config::Slo;
use crate::gate::Verdict;
use crate::sli::promql::quote;
use crate::status::{SlaStatus, SloStatus};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// One period of one SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodCell {
    /// `30d`.
    pub period: String,
    /// SLI over the period.
    pub sli: Option<f64>,
    /// Remaining budget ratio.
    pub remaining: Option<f64>,
    /// Known buckets / buckets.
    pub coverage: f64,
}

/// The alert an SLO is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    /// Nothing fires.
    None,
    /// A ticket fires.
    Ticket,
    /// A page fires.
    Page,
}

impl AlertState {
    fn word(self) -> &'static str {
        match self {
            AlertState::None => "none",
            AlertState::Ticket => "ticket",
            AlertState::Page => "page",
        }
    }
}

/// One SLO's row, built from the same status model the API serves ([`Row::from_status`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `service/name`.
    pub id: String,
    /// Service.
    pub service: String,
    /// Name.
    pub name: String,
    /// The definition's id, `service/name`: the members of a grouped SLO share it, so the list
    /// can put them under one header; a plain SLO's is its own id.
    pub definition: String,
    /// A member's values of its definition's `group_by` labels, in the order written there (the
    /// order its id has); empty for an SLO that is not grouped.
    pub group: Vec<(String, String)>,
    /// Objective ratio.
    pub objective: f64,
    /// The SLO's labels.
    pub labels: BTreeMap<String, String>,
    /// Every period, in config order.
    pub periods: Vec<PeriodCell>,
    /// Burn rate over 1h.
    pub burn_1h: Option<f64>,
    /// Burn rate over 6h.
    pub burn_6h: Option<f64>,
    /// Page, ticket or nothing.
    pub alert: AlertState,
    /// The SLA's objective, SLI and whether it is met, when one is configured.
    pub sla: Option<SlaStatus>,
    /// The deploy gate's answer on the first period (minimum 0): allowed, and why.
    pub gate: Verdict,
    /// The last query error, shown in the row instead of hiding it.
    pub error: Option<String>,
    /// Why its budgets cover less than their periods although nothing failed (its source holds
    /// no older data): shown under the row, apart from errors and the `error` filter.
    pub notice: Option<String>,
}

impl Row {
    /// The row of one SLO from its status (the API's model) and its config (label and period
    /// order), with the gate decided on its first period at minimum 0, as `slowburn gate` decides
    /// by default. `notice` is the engine's note on a source that holds no older data. Pure, so
    /// the list, the detail page and their tests build rows the same way.
    pub fn from_status(slo: &Slo, status: &SloStatus, notice: Option<&str>) -> Row {
        // Rolling periods, then calendar ones (`month`), as the status names them.
        let periods = slo
            .periods
            .iter()
            .map(ToString::to_string)
            .chain(slo.calendars.iter().map(|c| c.name().to_string()))
            .map(|period| {
                let st = status.periods.get(&period);
                PeriodCell {
                    sli: st.and_then(|x| x.sli),
                    remaining: st.and_then(|x| x.error_budget_remaining),
                    coverage: st.map_or(0.0, |x| x.coverage),
                    period,
                }
            })
            .collect();
        // By severity, never by position.
        let alert = match &status.alerts {
            Some(a) if a.page.firing => AlertState::Page,
            Some(a) if a.ticket.firing => AlertState::Ticket,
            _ => AlertState::None,
        };
        let first = slo
            .periods
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        let burn_at = |w: &str| status.burn_rates.get(w).copied().flatten();
        // In `group_by:`'s order, as the member's id writes them; a label it does not list last.
        let order = slo.group_by.as_ref().map_or(&[][..], |g| &g.labels[..]);
        let mut group: Vec<(String, String)> = status
            .group
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        group.sort_by_key(|(k, _)| order.iter().position(|l| l == k).unwrap_or(usize::MAX));
        Row {
            id: status.id.clone(),
            service: status.service.clone(),
            name: status.name.clone(),
            definition: format!("{}/{}", status.service, status.name),
            group,
            objective: status.objective,
            labels: slo.labels.clone(),
            periods,
            burn_1h: burn_at("1h"),
            burn_6h: burn_at("6h"),
            alert,
            sla: status.sla,
            gate: crate::gate::decide(status, &first, 0.0),
            error: (!status.errors.is_empty()).then(|| status.errors.join("; ")),
            notice: notice.map(str::to_string),
        }
    }

    /// Whether this is a member of a grouped SLO.
    pub fn is_member(&self) -> bool {
        !self.group.is_empty()
    }

    /// A member's values as matchers, `route="/x", code_class="5xx"`: what tells its row from its
    /// siblings' under their definition. Empty for an SLO that is not grouped.
    pub fn group_text(&self) -> String {
        self.group
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The lowest remaining budget over the SLO's periods: what needs a look first.
    fn worst_remaining(&self) -> Option<f64> {
        self.periods
            .iter()
            .filter_map(|p| p.remaining)
            .min_by(f64::total_cmp)
    }
    fn worst_coverage(&self) -> f64 {
        self.periods.iter().map(|p| p.coverage).fold(1.0, f64::min)
    }
    fn state(&self) -> &'static str {
        if self.error.is_some() {
            "error"
        } else {
            match self.alert {
                AlertState::Page => "page",
                AlertState::Ticket => "ticket",
                AlertState::None => "ok",
            }
        }
    }
}

/// What the URL asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// Only this service.
    pub service: Option<String>,
    /// Only this SLO: a definition id (`service/name`, every member of a grouped SLO) or one
    /// SLO's id.
    pub slo: Option<String>,
    /// Only SLOs with this `key=value` label.
    pub label: Option<(String, String)>,
    /// Only `page`, `ticket`, `ok` or `error`.
    pub state: Option<String>,
    /// Column to sort by (default `budget`: the worst of an SLO's periods, worst first).
    pub sort: String,
    /// Descending.
    pub desc: bool,
    /// Group by `service` or by `label:KEY`.
    pub group: Option<String>,
}

/// The columns one can sort by.
pub const SORTS: [&str; 10] = [
    "slo",
    "objective",
    "sli",
    "budget",
    "burn1h",
    "burn6h",
    "alert",
    "coverage",
    "sla",
    "gate",
];

impl View {
    /// Reads the query parameters; unknown values fall back to the defaults.
    pub fn from_query(q: &BTreeMap<String, String>) -> View {
        let nonempty = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
        View {
            service: nonempty("service"),
            slo: nonempty("slo"),
            label: nonempty("label").and_then(|l| {
                l.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            }),
            state: nonempty("state")
                .filter(|s| ["page", "ticket", "ok", "error"].contains(&s.as_str())),
            sort: nonempty("sort")
                .filter(|s| SORTS.contains(&s.as_str()))
                .unwrap_or_else(|| "budget".into()),
            desc: q.get("order").is_some_and(|o| o == "desc"),
            group: nonempty("group").filter(|g| {
                g == "service" || g.strip_prefix("label:").is_some_and(|k| !k.is_empty())
            }),
        }
    }

    /// The query string of this view with one parameter changed.
    fn href(&self, change: (&str, Option<&str>)) -> String {
        let mut p: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: Option<String>| {
            let v = if k == change.0 {
                change.1.map(str::to_string)
            } else {
                v
            };
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                p.push((k.to_string(), v));
            }
        };
        put("service", self.service.clone());
        put("slo", self.slo.clone());
        put(
            "label",
            self.label.as_ref().map(|(k, v)| format!("{k}={v}")),
        );
        put("state", self.state.clone());
        put("group", self.group.clone());
        put("sort", Some(self.sort.clone()));
        put("order", self.desc.then(|| "desc".to_string()));
        let q: Vec<String> = p
            .iter()
            .map(|(k, v)| format!("{k}={}", url_enc(v)))
            .collect();
        format!("/?{}", q.join("&"))
    }
}

/// The periods the table has a column for: every SLO's, in the order first met, so SLOs with
/// different periods share a page.
pub fn columns(rows: &[Row]) -> Vec<String> {
    let mut p: Vec<String> = Vec::new();
    for r in rows {
        for c in &r.periods {
            if !p.contains(&c.period) {
                p.push(c.period.clone());
            }
        }
    }
    p
}

/// The rows this view shows, in its order. A grouped SLO's members come together: among
/// themselves in the view's order (under the default sort, worst budget first), the whole set
/// where its first member ranks among the other SLOs (so a definition sorts by its worst member).
pub fn select<'a>(rows: &'a [Row], v: &View) -> Vec<&'a Row> {
    // The sortable SLI column is the first column's period, which is not every SLO's first.
    let sli_period = columns(rows).into_iter().next();
    let sli_period = sli_period.as_deref();
    let mut out: Vec<&Row> = rows
        .iter()
        .filter(|r| v.service.as_ref().is_none_or(|s| &r.service == s))
        .filter(|r| {
            v.slo
                .as_ref()
                .is_none_or(|s| &r.definition == s || &r.id == s)
        })
        .filter(|r| {
            v.label
                .as_ref()
                .is_none_or(|(k, val)| r.labels.get(k) == Some(val))
        })
        .filter(|r| {
            v.state.as_ref().is_none_or(|s| match s.as_str() {
                // A source error is shown beside the alert, so a paging SLO with an error is
                // still found under `page`.
                "error" => r.error.is_some(),
                "ok" => r.alert == AlertState::None && r.error.is_none(),
                _ => r.alert.word() == s,
            })
        })
        .collect();
    out.sort_by(|a, b| compare(v, sli_period, a, b, false));
    let mut entries = entries(&out);
    for e in &mut entries {
        if e.definition.is_some() {
            e.rows.sort_by(|a, b| compare(v, sli_period, a, b, true));
        }
    }
    // Stable: SLOs that are not grouped keep the order they were sorted in.
    entries.sort_by(|a, b| match (a.rows.first(), b.rows.first()) {
        (Some(x), Some(y)) => compare(v, sli_period, x, y, false),
        (x, y) => x.is_none().cmp(&y.is_none()),
    });
    entries.into_iter().flat_map(|e| e.rows).collect()
}

/// The value a row sorts by in this view. Unknown numbers sort with the worst (first): an SLO
/// with no data needs a look. Among a grouped SLO's members (`member`) they sort last instead:
/// a member without data is a value that has had no traffic, and a definition with a hundred of
/// them must still show the members that burn on top.
fn sort_key(v: &View, sli_period: Option<&str>, r: &Row, member: bool) -> f64 {
    let unknown = if member {
        f64::INFINITY
    } else {
        f64::NEG_INFINITY
    };
    let n = |x: Option<f64>| x.unwrap_or(unknown);
    match v.sort.as_str() {
        "objective" => r.objective,
        "sli" => n(r
            .periods
            .iter()
            .find(|p| Some(p.period.as_str()) == sli_period)
            .and_then(|p| p.sli)),
        "burn1h" => n(r.burn_1h),
        "burn6h" => n(r.burn_6h),
        "alert" => r.alert as u8 as f64,
        "coverage" => r.worst_coverage(),
        "gate" => f64::from(u8::from(r.gate.allow)),
        // How far the SLA's SLI is above its objective: an SLA with no data first (it needs
        // a look), an SLO without an SLA after every SLA (nothing to breach).
        "sla" => match r.sla {
            Some(SlaStatus {
                objective,
                sli: Some(sli),
                ..
            }) => sli - objective,
            Some(SlaStatus { sli: None, .. }) => unknown,
            None => f64::INFINITY,
        },
        _ => n(r.worst_remaining()),
    }
}

/// Two rows in the view's order (ties by id); `member` as in [`sort_key`].
fn compare(v: &View, sli_period: Option<&str>, a: &Row, b: &Row, member: bool) -> Ordering {
    let o = if v.sort == "slo" {
        a.id.cmp(&b.id)
    } else {
        sort_key(v, sli_period, a, member)
            .total_cmp(&sort_key(v, sli_period, b, member))
            .then_with(|| a.id.cmp(&b.id))
    };
    if v.desc { o.reverse() } else { o }
}

/// One line of the table: an SLO that is not grouped, or a grouped SLO's members under their
/// definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'a> {
    /// The definition's id (`service/name`) when these are a grouped SLO's members; `None` for
    /// an SLO that is not grouped.
    pub definition: Option<String>,
    /// The SLO's one row, or the members the view shows, in its order.
    pub rows: Vec<&'a Row>,
}

/// `rows` with each grouped SLO's members gathered where its first one stands; every other row
/// an entry of its own, in the order given.
fn entries<'a>(rows: &[&'a Row]) -> Vec<Entry<'a>> {
    let mut out: Vec<Entry<'a>> = Vec::new();
    let mut at: BTreeMap<&'a str, usize> = BTreeMap::new();
    for &r in rows {
        if !r.is_member() {
            out.push(Entry {
                definition: None,
                rows: vec![r],
            });
            continue;
        }
        match at.get(r.definition.as_str()).and_then(|&i| out.get_mut(i)) {
            Some(e) => e.rows.push(r),
            None => {
                at.insert(r.definition.as_str(), out.len());
                out.push(Entry {
                    definition: Some(r.definition.clone()),
                    rows: vec![r],
                });
            }
        }
    }
    out
}

/// One group of rows: its name (empty when the view does not group), the worst budget left of
/// any of its SLOs' periods, and its rows in the view's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Group<'a> {
    /// The service or the label's value; `(none)` for SLOs without the label.
    pub name: String,
    /// The lowest remaining budget in the group.
    pub worst: Option<f64>,
    /// Its rows.
    pub rows: Vec<&'a Row>,
    /// Its rows as the table lays them out: grouped SLOs' members under their definition.
    pub entries: Vec<Entry<'a>>,
}

/// Rows grouped by the view's grouping (one group with an empty name when there is none). A
/// grouped SLO's members share their service and labels, so they always fall in one group.
pub fn groups<'a>(rows: &[&'a Row], v: &View) -> Vec<Group<'a>> {
    let mut map: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        let g = match v.group.as_deref() {
            Some("service") => r.service.clone(),
            Some(g) => match g.strip_prefix("label:") {
                Some(k) => r.labels.get(k).cloned().unwrap_or_else(|| "(none)".into()),
                None => String::new(),
            },
            None => String::new(),
        };
        map.entry(g).or_default().push(r);
    }
    map.into_iter()
        .map(|(name, rows)| Group {
            worst: rows
                .iter()
                .filter_map(|r| r.worst_remaining())
                .min_by(f64::total_cmp),
            entries: entries(&rows),
            name,
            rows,
        })
        .collect()
}

/// The distinct values of `f` over the rows, sorted.
fn distinct(rows: &[Row], f: impl Fn(&Row) -> Vec<String>) -> Vec<String> {
    let mut x: Vec<String> = rows.iter().flat_map(f).collect();
    x.sort();
    x.dedup();
    x
}

fn options(name: &'static str, current: Option<&str>, all: &[String], label: &'static str) -> Html {
    let opts: Html = all
        .iter()
        .map(|o| {
            let sel = if current == Some(o.as_str()) {
                " selected"
            } else {
                ""
            };
            html! { "<option value=\"" (o) "\"" (sel) ">" (o) "</option>" }
        })
        .collect();
    html! {
        "<label>" (label) " <select name=\"" (name) "\"><option value=\"\">all</option>" (opts)
        "</select></label> "
    }
}

/// The filter form: service, label, state and grouping, keeping the sort.
fn filters(rows: &[Row], v: &View) -> Html {
    let services = distinct(rows, |r| vec![r.service.clone()]);
    let labels = distinct(rows, |r| {
        r.labels.iter().map(|(k, v)| format!("{k}={v}")).collect()
    });
    let mut keys = distinct(rows, |r| {
        r.labels.keys().map(|k| format!("label:{k}")).collect()
    });
    keys.insert(0, "service".into());
    let label = v.label.as_ref().map(|(k, val)| format!("{k}={val}"));
    let states: Vec<String> = ["page", "ticket", "ok", "error"].map(String::from).to_vec();
    let order = if v.desc {
        Html::from_static(r#"<input type="hidden" name="order" value="desc">"#)
    } else {
        Html::new()
    };
    // One SLO (a grouped SLO's members, from a header or a member's page) has no list to pick
    // from: it is said, kept by the form, and can be dropped.
    let only = match &v.slo {
        Some(id) => html! {
            "<span class=\"only\">SLO <code>" (id) "</code><input type=\"hidden\" name=\"slo\" value=\""
            (id) "\"> <a href=\"" (v.href(("slo", None))) "\">all SLOs</a></span> "
        },
        None => Html::new(),
    };
    html! {
        "<form class=\"filters\" method=\"get\" action=\"/\">" (only)
        (options("service", v.service.as_deref(), &services, "Service"))
        (options("label", label.as_deref(), &labels, "Label"))
        (options("state", v.state.as_deref(), &states, "State"))
        (options("group", v.group.as_deref(), &keys, "Group by"))
        "<input type=\"hidden\" name=\"sort\" value=\"" (v.sort) "\">" (order)
        "<button type=\"submit\">Apply</button> <a href=\"/\">Reset</a></form>"
    }
}

/// A sortable column's header: a link to this view sorted by `key` (the other way round when it
/// already is).
fn sort_header(v: &View, key: &str, text: &Html) -> Html {
    let (arrow, next_desc) = if v.sort == key {
        (if v.desc { " ▼" } else { " ▲" }, !v.desc)
    } else {
        ("", false)
    };
    let mut nv = v.clone();
    nv.sort = key.to_string();
    nv.desc = next_desc;
    let sort = if v.sort == key {
        "aria-sort"
    } else {
        "data-sort"
    };
    let dir = if v.desc { "descending" } else { "ascending" };
    html! {
        "<th " (sort) "=\"" (dir) "\"><a href=\"" (nv.href(("sort", Some(key)))) "\">" (text)
        (arrow) "</a></th>"
    }
}

/// The table's head: SLO, objective, every period's SLI and budget, then the rest.
fn table_head(v: &View, periods: &[String]) -> Html {
    let th = |key: &str, text: &'static str| sort_header(v, key, &Html::from_static(text));
    let mut h = html! { "<thead><tr>" (th("slo", "SLO")) (th("objective", "Objective")) };
    for (i, p) in periods.iter().enumerate() {
        // The first period's SLI and every budget column sort (the budget by an SLO's worst).
        if i == 0 {
            h.push(&sort_header(v, "sli", &html! { "SLI " (p) }));
        } else {
            h.push(&html! { "<th>SLI " (p) "</th>" });
        }
        h.push(&sort_header(v, "budget", &html! { "Budget left " (p) }));
    }
    for (k, t) in [
        ("burn1h", "Burn 1h"),
        ("burn6h", "Burn 6h"),
        ("alert", "Alert"),
        ("coverage", "Coverage"),
        ("sla", "SLA"),
        ("gate", "Gate"),
    ] {
        h.push(&th(k, t));
    }
    h.push_static("</tr></thead>");
    h
}

/// A number for `data-value`: exact, empty when unknown.
fn value(x: Option<f64>) -> String {
    x.map(|x| x.to_string()).unwrap_or_default()
}

/// One period's SLI and budget cells; empty cells for a period this SLO does not have.
fn period_cells(r: &Row, p: &str) -> Html {
    match r.periods.iter().find(|c| c.period == p) {
        Some(c) => html! {
            "<td class=\"sli\" data-period=\"" (p) "\" data-value=\"" (value(c.sli)) "\">"
            (pct(c.sli)) "</td><td class=\"remaining\" data-period=\"" (p) "\" data-value=\""
            (value(c.remaining)) "\">" (budget_bar(c.remaining)) "</td>"
        },
        None => Html::from_static("<td></td><td></td>"),
    }
}

/// The SLA's cell: met, missed or no data, with its SLI and objective.
fn sla_cell(sla: Option<&SlaStatus>) -> Html {
    match sla {
        Some(sla) => {
            let word = sla_word(sla.met);
            html! {
                "<td class=\"sla sla-" (word) "\">" (word) " (" (pct(sla.sli)) " of "
                (pct(Some(sla.objective))) ")</td>"
            }
        }
        None => Html::from_static(r#"<td class="sla">–</td>"#),
    }
}

/// How an SLA reads: `met`, `missed` or `no data`.
pub(crate) fn sla_word(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "missed",
        None => "no data",
    }
}

/// The gate's word: `go` or `hold`.
pub(crate) fn gate_word(gate: &Verdict) -> &'static str {
    if gate.allow { "go" } else { "hold" }
}

/// The list filtered to one definition's members (or one SLO): where a member's page and its
/// definition's header link to.
pub fn members_href(definition: &str) -> String {
    format!("/?slo={}", url_enc(definition))
}

/// One SLO's row, and the error and notice rows under it. A member's first cell is its values
/// (its definition's id is in the header above it), its full id in the title.
fn row_html(r: &Row, periods: &[String], cols: usize) -> Html {
    let name = if r.is_member() {
        html! {
            "<td class=\"member\"><a href=\"" (slo_path(&r.id)) "\" title=\"" (r.id) "\">"
            (r.group_text()) "</a></td>"
        }
    } else {
        html! { "<td><a href=\"" (slo_path(&r.id)) "\">" (r.id) "</a></td>" }
    };
    let member = if r.is_member() { " member" } else { "" };
    let mut h = html! {
        "<tr data-slo=\"" (r.id) "\" class=\"state-" (r.state()) (member) "\">" (name)
        "<td data-value=\"" (r.objective) "\">" (pct(Some(r.objective))) "</td>"
    };
    for p in periods {
        h.push(&period_cells(r, p));
    }
    let cov = r.worst_coverage();
    let partial = if cov < 1.0 { " partial" } else { "" };
    let a = r.alert.word();
    h.push(&html! {
        "<td class=\"burn1h\" data-value=\"" (value(r.burn_1h)) "\">" (burn(r.burn_1h))
        "</td><td class=\"burn6h\" data-value=\"" (value(r.burn_6h)) "\">" (burn(r.burn_6h))
        "</td><td class=\"alert alert-" (a) "\">" (a) "</td><td class=\"coverage" (partial)
        "\" data-value=\"" (cov) "\">" (pct(Some(cov))) "</td>"
        (sla_cell(r.sla.as_ref()))
        "<td class=\"gate gate-" (gate_word(&r.gate)) "\" title=\"" (r.gate.reason) "\">"
        (gate_word(&r.gate)) "</td></tr>"
    });
    if let Some(e) = &r.error {
        h.push(&html! {
            "<tr class=\"error-row\"><td colspan=\"" (cols) "\">⚠ " (r.id) ": " (e) "</td></tr>"
        });
    }
    if let Some(n) = &r.notice {
        h.push(&html! {
            "<tr class=\"notice-row\"><td colspan=\"" (cols) "\">ℹ " (r.id) ": " (n) "</td></tr>"
        });
    }
    h
}

/// The header row of a grouped SLO's members: its id (a link to the list of its members alone),
/// how many members this view shows (of how many), the most severe alert among them, how many
/// have errors, and the lowest budget left of any.
fn definition_html(id: &str, members: &[&Row], total: usize, cols: usize) -> Html {
    let shown = members.len();
    let alert = members
        .iter()
        .map(|r| r.alert)
        .max()
        .unwrap_or(AlertState::None);
    let worst = members
        .iter()
        .filter_map(|r| r.worst_remaining())
        .min_by(f64::total_cmp);
    let errors = members.iter().filter(|r| r.error.is_some()).count();
    let count = if shown == total {
        format!("{total} member{}", if total == 1 { "" } else { "s" })
    } else {
        format!("{shown} of {total} members")
    };
    let errors = if errors > 0 {
        format!(" · {errors} with errors")
    } else {
        String::new()
    };
    let a = alert.word();
    html! {
        "<tr class=\"definition\" data-definition=\"" (id) "\"><th colspan=\"" (cols)
        "\"><a href=\"" (members_href(id)) "\">" (id) "</a> · " (count) " · alert <span class=\"alert-"
        (a) "\">" (a) "</span>" (errors) " · worst budget " (budget_bar(worst)) "</th></tr>"
    }
}

/// One group's `<tbody>`, headed by its name and worst budget when the view groups; a grouped
/// SLO's members under their definition's header. `members` counts every definition's members
/// before the view filters them.
fn group_html(
    g: &Group<'_>,
    v: &View,
    periods: &[String],
    members: &BTreeMap<&str, usize>,
) -> Html {
    let cols = 8 + 2 * periods.len();
    let mut h = Html::from_static("<tbody>");
    if v.group.is_some() {
        let n = g.rows.len();
        h.push(&html! {
            "<tr class=\"group\"><th colspan=\"" (cols) "\" scope=\"rowgroup\">" (g.name) " · "
            (n) " SLO" (if n == 1 { "" } else { "s" }) " · worst budget " (budget_bar(g.worst))
            "</th></tr>"
        });
    }
    for e in &g.entries {
        if let Some(id) = &e.definition {
            let total = members.get(id.as_str()).copied().unwrap_or(e.rows.len());
            h.push(&definition_html(id, &e.rows, total, cols));
        }
        for r in &e.rows {
            h.push(&row_html(r, periods, cols));
        }
    }
    h.push_static("</tbody>");
    h
}

/// The list page's body.
pub fn render(rows: &[Row], v: &View, at: &str, age: Option<i64>) -> Html {
    let shown = select(rows, v);
    let periods = columns(rows);
    let firing = rows.iter().filter(|r| r.alert != AlertState::None).count();
    let ago = age.map(|a| format!(" ({a} s ago)")).unwrap_or_default();
    let mut h = html! {
        "<h1>SLOs</h1><p class=\"summary\"><span id=\"count\">" (shown.len()) "</span> of "
        (rows.len()) " SLOs shown · " (firing) " firing · evaluated " (at) (ago) "</p>"
        (filters(rows, v))
        "<table class=\"slos\">" (table_head(v, &periods))
    };
    let mut members: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.is_member()) {
        *members.entry(r.definition.as_str()).or_default() += 1;
    }
    for g in groups(&shown, v) {
        h.push(&group_html(&g, v, &periods, &members));
    }
    h.push_static("</table>");
    if shown.is_empty() {
        h.push_static(r#"<p class="empty">No SLO matches this view.</p>"#);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, team: &str, remaining: Option<f64>, alert: AlertState) -> Row {
        let (service, name) = id.split_once('/').unwrap();
        Row {
            id: id.into(),
            service: service.into(),
            name: name.into(),
            definition: id.into(),
            group: Vec::new(),
            objective: 0.999,
            labels: [("team".to_string(), team.to_string())].into(),
            periods: vec![PeriodCell {
                period: "30d".into(),
                sli: Some(0.9995),
                remaining,
                coverage: 1.0,
            }],
            burn_1h: Some(0.5),
            burn_6h: None,
            alert,
            sla: None,
            gate: Verdict {
                allow: true,
                reason: "ok".into(),
            },
            error: None,
            notice: None,
        }
    }

    /// A member of the grouped SLO `definition`, its `route` being `route`.
    fn member(definition: &str, route: &str, remaining: Option<f64>, alert: AlertState) -> Row {
        let mut r = row(definition, "web", remaining, alert);
        r.id = format!("{definition}{{route={}}}", quote(route));
        r.group = vec![("route".to_string(), route.to_string())];
        r
    }

    fn sla(sli: Option<f64>) -> SlaStatus {
        SlaStatus {
            objective: 0.99,
            sli,
            met: sli.map(|s| s >= 0.99),
        }
    }

    fn q(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_row_reads_the_status_model_by_key_and_severity() {
        use crate::status::{AlertStatus, Alerts, Exhaustion, PeriodStatus};
        let yaml = "slos:\n  - {service: api, name: x, objective: 99.9, windows: [30d, 7d], labels: {team: web}, sli: {ratio: {errors: 'x{code=\"500\"}', total: x}}}\n";
        let cfg = crate::config::parse_str(yaml, "t.yaml", &|_| None).expect("valid config");
        let slo = &cfg.slos[0];
        let period = |remaining: f64| PeriodStatus {
            good: 99.0,
            total: 100.0,
            sli: Some(0.99),
            error_budget_remaining: Some(remaining),
            coverage: 1.0,
            excluded_buckets: 0,
            time_to_exhaustion_seconds: Exhaustion { h1: None, h6: None },
            from: None,
            to: None,
        };
        let alert = |firing: bool| AlertStatus {
            firing,
            rule: None,
            fired_at: None,
            resolved_at: None,
            peak_burn_rate: 0.0,
            notified: vec![],
        };
        let status = SloStatus {
            id: "api/x".into(),
            service: "api".into(),
            name: "x".into(),
            group: None,
            objective: 0.999,
            periods: [
                ("30d".to_string(), period(0.5)),
                ("7d".to_string(), period(-0.2)),
            ]
            .into(),
            burn_rates: [("1h".to_string(), Some(2.0)), ("6h".to_string(), None)].into(),
            coverage: BTreeMap::new(),
            rules: vec![],
            alerts: Some(Alerts {
                page: alert(false),
                ticket: alert(true),
            }),
            sla: None,
            errors: vec!["source down".into()],
        };
        let r = Row::from_status(slo, &status, Some("no data before then"));
        let periods: Vec<&str> = r.periods.iter().map(|p| p.period.as_str()).collect();
        assert_eq!(periods, ["30d", "7d"], "the config's order, not the map's");
        assert_eq!(r.periods[1].remaining, Some(-0.2));
        assert_eq!((r.burn_1h, r.burn_6h), (Some(2.0), None));
        assert_eq!(r.alert, AlertState::Ticket, "by severity");
        assert!(r.gate.allow, "{}", r.gate.reason);
        assert_eq!(r.error.as_deref(), Some("source down"));
        assert_eq!(r.labels.get("team").map(String::as_str), Some("web"));
        assert_eq!(r.notice.as_deref(), Some("no data before then"));
    }

    #[test]
    fn filters_sorts_and_groups_as_the_url_says() {
        let rows = vec![
            row("api/availability", "web", Some(0.5), AlertState::None),
            row("api/latency", "web", Some(-0.1), AlertState::Page),
            row("db/availability", "data", None, AlertState::Ticket),
        ];
        let v = View::from_query(&q(&[]));
        let ids: Vec<&str> = select(&rows, &v).iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["db/availability", "api/latency", "api/availability"],
            "worst first, no data first"
        );
        let v = View::from_query(&q(&[
            ("label", "team=web"),
            ("sort", "slo"),
            ("order", "desc"),
        ]));
        let ids: Vec<&str> = select(&rows, &v).iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["api/latency", "api/availability"]);
        let v = View::from_query(&q(&[("state", "page")]));
        assert_eq!(select(&rows, &v).len(), 1);
        let v = View::from_query(&q(&[("group", "label:team")]));
        let shown = select(&rows, &v);
        let g = groups(&shown, &v);
        assert_eq!(g.len(), 2);
        assert_eq!(
            (g[1].name.as_str(), g[1].worst),
            ("web", Some(-0.1)),
            "the group's worst budget"
        );
        let html = render(&rows, &v, "now", Some(3)).into_string();
        assert!(html.contains("worst budget"));
        assert!(
            html.contains(r#"href="/?group=label%3Ateam&amp;sort=slo""#),
            "{html}"
        );
    }

    #[test]
    fn sla_sorts_and_a_paging_slo_with_an_error_is_still_a_page() {
        let mut a = row("a/x", "web", Some(0.5), AlertState::Page);
        a.error = Some("source down".into());
        a.sla = Some(sla(Some(0.995)));
        let mut b = row("b/x", "web", Some(0.5), AlertState::None);
        b.sla = Some(sla(Some(0.9999)));
        let rows = vec![a, b];
        let v = View::from_query(&q(&[("sort", "sla")]));
        assert_eq!(v.sort, "sla");
        let ids: Vec<&str> = select(&rows, &v).iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a/x", "b/x"], "smallest SLA margin first");
        for state in ["page", "error"] {
            let v = View::from_query(&q(&[("state", state)]));
            assert_eq!(select(&rows, &v).len(), 1, "{state}");
        }
        assert_eq!(
            select(&rows, &View::from_query(&q(&[("state", "ok")]))).len(),
            1
        );
        // An SLO without an SLA has nothing to breach: after every SLA; one with no data first.
        let mut rows = rows;
        rows.push(row("c/x", "web", Some(0.5), AlertState::None));
        let mut d = row("d/x", "web", Some(0.5), AlertState::None);
        d.sla = Some(sla(None));
        rows.push(d);
        let ids: Vec<&str> = select(&rows, &v).iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["d/x", "a/x", "b/x", "c/x"]);
    }

    #[test]
    fn the_sli_column_sorts_by_the_period_it_shows() {
        // The column reads "SLI 30d" (the first SLO's first period); b lists 7d first.
        let mut a = row("a/x", "web", Some(0.5), AlertState::None);
        a.periods[0].sli = Some(0.99);
        let mut b = row("b/x", "web", Some(0.5), AlertState::None);
        b.periods = vec![
            PeriodCell {
                period: "7d".into(),
                sli: Some(0.5),
                remaining: Some(0.5),
                coverage: 1.0,
            },
            PeriodCell {
                period: "30d".into(),
                sli: Some(0.999),
                remaining: Some(0.5),
                coverage: 1.0,
            },
        ];
        let rows = vec![a, b];
        assert_eq!(columns(&rows), ["30d", "7d"]);
        let v = View::from_query(&q(&[("sort", "sli")]));
        let ids: Vec<&str> = select(&rows, &v).iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a/x", "b/x"], "by the 30d SLI, not b's first period");
    }

    #[test]
    fn an_error_shows_in_its_row_and_text_is_escaped() {
        let mut r = row("api/x", "<b>web</b>", Some(0.5), AlertState::None);
        r.error = Some("query failed: <script>alert(1)</script>".into());
        let html = render(&[r], &View::from_query(&q(&[])), "now", None).into_string();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>web"));
        assert!(html.contains("error-row"));
        let mut r = row("api/y", "web", Some(0.5), AlertState::None);
        r.notice = Some("no data before <then>".into());
        let html = render(&[r], &View::from_query(&q(&[])), "now", None).into_string();
        assert!(html.contains("notice-row") && html.contains("no data before &lt;then&gt;"));
        assert!(html.contains("state-ok"), "a notice is not an error");
    }

    #[test]
    fn a_members_row_has_its_definition_and_values_in_group_by_order() {
        let yaml = "slos:\n  - {service: api, name: avail, objective: 99, group_by: [zone, route], sli: {ratio: {errors: 'x{code=\"500\"}', total: x}}}\n";
        let cfg = crate::config::parse_str(yaml, "t.yaml", &|_| None).expect("valid config");
        let values: crate::config::group::Values = [
            ("route".to_string(), "/x".to_string()),
            ("zone".to_string(), "eu".to_string()),
        ]
        .into_iter()
        .collect();
        let m = crate::config::group::member(&cfg.slos[0], &values);
        let status = SloStatus {
            id: m.id.clone(),
            service: m.service.clone(),
            name: m.name.clone(),
            group: Some(m.group.clone()),
            objective: 0.99,
            periods: BTreeMap::new(),
            burn_rates: BTreeMap::new(),
            coverage: BTreeMap::new(),
            rules: vec![],
            alerts: None,
            sla: None,
            errors: vec![],
        };
        let r = Row::from_status(&m, &status, None);
        assert_eq!(r.id, "api/avail{zone=\"eu\",route=\"/x\"}");
        assert_eq!(r.definition, "api/avail");
        assert!(r.is_member());
        assert_eq!(
            r.group_text(),
            "zone=\"eu\", route=\"/x\"",
            "group_by's order, as the id writes them, not the map's"
        );
        let plain = row("api/plain", "web", Some(0.5), AlertState::None);
        assert!(!plain.is_member() && plain.group_text().is_empty());
    }

    #[test]
    fn members_stand_under_their_definition_worst_first() {
        let rows = vec![
            row("api/latency", "web", Some(0.3), AlertState::None),
            member("api/avail", "/a", Some(0.9), AlertState::None),
            member("api/avail", "/b", Some(-0.2), AlertState::Page),
            member("api/avail", "/c", None, AlertState::None),
            member("api/avail", "/d", Some(0.5), AlertState::Ticket),
            row("db/x", "data", Some(0.1), AlertState::None),
        ];
        let v = View::from_query(&q(&[]));
        let ids: Vec<&str> = select(&rows, &v).iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "api/avail{route=\"/b\"}",
                "api/avail{route=\"/d\"}",
                "api/avail{route=\"/a\"}",
                "api/avail{route=\"/c\"}",
                "db/x",
                "api/latency",
            ],
            "members together, worst first, without data last; the definition ranked by its worst"
        );
        let shown = select(&rows, &v);
        let g = groups(&shown, &v);
        assert_eq!(g.len(), 1);
        let defs: Vec<Option<&str>> = g[0]
            .entries
            .iter()
            .map(|e| e.definition.as_deref())
            .collect();
        assert_eq!(defs, [Some("api/avail"), None, None]);
        assert_eq!(g[0].entries[0].rows.len(), 4);

        let html = render(&rows, &v, "now", None).into_string();
        let at = |needle: &str| {
            html.find(needle)
                .unwrap_or_else(|| panic!("{needle} missing from {html}"))
        };
        let header = at(r#"<tr class="definition" data-definition="api/avail">"#);
        let order = [
            header,
            at(r#"data-slo="api/avail{route=&quot;/b&quot;}""#),
            at(r#"data-slo="api/avail{route=&quot;/d&quot;}""#),
            at(r#"data-slo="api/avail{route=&quot;/a&quot;}""#),
            at(r#"data-slo="api/avail{route=&quot;/c&quot;}""#),
            at(r#"data-slo="db/x""#),
            at(r#"data-slo="api/latency""#),
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{html}");
        let head = &html[header..];
        let head = &head[..head.find("</tr>").unwrap_or(head.len())];
        assert!(
            head.contains(r#"<a href="/?slo=api%2Favail">api/avail</a>"#),
            "{head}"
        );
        assert!(head.contains("4 members"), "{head}");
        assert!(
            head.contains(r#"<span class="alert-page">page</span>"#),
            "{head}"
        );
        assert!(head.contains("-20.0%"), "the worst member's budget: {head}");
        // A member is labelled by its values and links to its own page, its id encoded into one
        // path segment.
        assert!(
            html.contains(r#"<td class="member"><a href="/slos/api/avail%7Broute%3D%22%2Fb%22%7D" title="api/avail{route=&quot;/b&quot;}">route=&quot;/b&quot;</a></td>"#),
            "{html}"
        );
        assert!(html.contains(r#"<a href="/slos/db/x">db/x</a>"#), "{html}");

        // Sorted by name, the definition stands where its members' ids put it.
        let v = View::from_query(&q(&[("sort", "slo")]));
        let ids: Vec<&str> = select(&rows, &v).iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids[0], "api/avail{route=\"/a\"}");
        assert_eq!(ids[4..], ["api/latency", "db/x"]);

        // The definition's filter shows its members alone; a filter that leaves some says how
        // many of how many.
        let v = View::from_query(&q(&[("slo", "api/avail")]));
        assert_eq!(select(&rows, &v).len(), 4);
        let html = render(&rows, &v, "now", None).into_string();
        assert!(
            html.contains(r#"<input type="hidden" name="slo" value="api/avail">"#),
            "the form keeps the filter: {html}"
        );
        let v = View::from_query(&q(&[("state", "ticket")]));
        let html = render(&rows, &v, "now", None).into_string();
        assert!(html.contains("1 of 4 members"), "{html}");
        assert!(!html.contains("data-slo=\"db/x\""));
    }

    #[test]
    fn a_member_with_spaces_and_quotes_links_to_one_path_segment() {
        let r = member("api/avail", "/x y,\"z\"=1", Some(0.5), AlertState::None);
        let html = render(&[r], &View::from_query(&q(&[])), "now", None).into_string();
        assert!(
            html.contains(
                r#"href="/slos/api/avail%7Broute%3D%22%2Fx%20y%2C%5C%22z%5C%22%3D1%22%7D""#
            ),
            "{html}"
        );
        assert!(html.contains("1 member ·"), "{html}");
    }
}
