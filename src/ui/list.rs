//! The SLO list: one row per SLO with every period's SLI and budget, burn rates, alert, coverage,
//! SLA and the gate's answer; filtered, sorted and grouped by query parameters, so the URL keeps
//! the view and the page needs no script. One snapshot renders it, whatever the number of SLOs.

use super::{budget_bar, burn, esc, pct, url_enc};
use std::collections::BTreeMap;
use std::fmt::Write as _;

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

/// One SLO's row, built from the same JSON the API serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `service/name`.
    pub id: String,
    /// Service.
    pub service: String,
    /// Name.
    pub name: String,
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
    /// The SLA's objective, SLI and whether it is met.
    pub sla: Option<(f64, Option<f64>, Option<bool>)>,
    /// The deploy gate's answer on the first period (minimum 0): allowed, and why.
    pub gate: (bool, String),
    /// The last query error, shown in the row instead of hiding it.
    pub error: Option<String>,
    /// Why its budgets cover less than their periods although nothing failed (its source holds
    /// no older data): shown under the row, apart from errors and the `error` filter.
    pub notice: Option<String>,
}

impl Row {
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

/// The rows this view shows, in its order.
pub fn select<'a>(rows: &'a [Row], v: &View) -> Vec<&'a Row> {
    // The sortable SLI column is the first column's period, which is not every SLO's first.
    let sli_period = columns(rows).into_iter().next();
    let mut out: Vec<&Row> = rows
        .iter()
        .filter(|r| v.service.as_ref().is_none_or(|s| &r.service == s))
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
    let key = |r: &Row| -> f64 {
        let n = |x: Option<f64>| x.unwrap_or(f64::NEG_INFINITY);
        match v.sort.as_str() {
            "objective" => r.objective,
            "sli" => n(r
                .periods
                .iter()
                .find(|p| Some(&p.period) == sli_period.as_ref())
                .and_then(|p| p.sli)),
            "burn1h" => n(r.burn_1h),
            "burn6h" => n(r.burn_6h),
            "alert" => r.alert as u8 as f64,
            "coverage" => r.worst_coverage(),
            "gate" => f64::from(u8::from(r.gate.0)),
            // How far the SLA's SLI is above its objective: an SLA with no data first (it needs
            // a look), an SLO without an SLA after every SLA (nothing to breach).
            "sla" => match r.sla {
                Some((o, Some(sli), _)) => sli - o,
                Some((_, None, _)) => f64::NEG_INFINITY,
                None => f64::INFINITY,
            },
            // No data sorts with the worst: it needs a look.
            _ => n(r.worst_remaining()),
        }
    };
    out.sort_by(|a, b| {
        let o = if v.sort == "slo" {
            a.id.cmp(&b.id)
        } else {
            key(a).total_cmp(&key(b)).then_with(|| a.id.cmp(&b.id))
        };
        if v.desc { o.reverse() } else { o }
    });
    out
}

/// Rows grouped by the view's grouping (one group with an empty name when there is none), each
/// with the worst budget left of any of its SLOs' periods.
pub fn groups<'a>(rows: &[&'a Row], v: &View) -> Vec<(String, Option<f64>, Vec<&'a Row>)> {
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
        .map(|(g, rs)| {
            let worst = rs
                .iter()
                .filter_map(|r| r.worst_remaining())
                .min_by(f64::total_cmp);
            (g, worst, rs)
        })
        .collect()
}

fn options(name: &str, current: Option<&str>, all: &[String], label: &str) -> String {
    let mut s = format!(r#"<label>{label} <select name="{name}"><option value="">all</option>"#);
    for o in all {
        let sel = if current == Some(o.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(s, r#"<option value="{0}"{sel}>{0}</option>"#, esc(o));
    }
    s.push_str("</select></label> ");
    s
}

/// The list page's body.
pub fn render(rows: &[Row], v: &View, at: &str, age: Option<i64>) -> String {
    let mut s = String::new();
    let shown = select(rows, v);
    let periods = columns(rows);
    let services: Vec<String> = {
        let mut x: Vec<String> = rows.iter().map(|r| r.service.clone()).collect();
        x.sort();
        x.dedup();
        x
    };
    let labels: Vec<String> = {
        let mut x: Vec<String> = rows
            .iter()
            .flat_map(|r| r.labels.iter().map(|(k, v)| format!("{k}={v}")))
            .collect();
        x.sort();
        x.dedup();
        x
    };
    let keys: Vec<String> = {
        let mut x: Vec<String> = rows
            .iter()
            .flat_map(|r| r.labels.keys().map(|k| format!("label:{k}")))
            .collect();
        x.sort();
        x.dedup();
        x.insert(0, "service".into());
        x
    };
    let firing = rows.iter().filter(|r| r.alert != AlertState::None).count();
    let _ = write!(
        s,
        r#"<h1>SLOs</h1><p class="summary"><span id="count">{}</span> of {} SLOs shown · {} firing · evaluated {}{}</p>"#,
        shown.len(),
        rows.len(),
        firing,
        esc(at),
        age.map(|a| format!(" ({a} s ago)")).unwrap_or_default()
    );
    s.push_str(r#"<form class="filters" method="get" action="/">"#);
    s.push_str(&options(
        "service",
        v.service.as_deref(),
        &services,
        "Service",
    ));
    let label = v.label.as_ref().map(|(k, val)| format!("{k}={val}"));
    s.push_str(&options("label", label.as_deref(), &labels, "Label"));
    let states: Vec<String> = ["page", "ticket", "ok", "error"].map(String::from).to_vec();
    s.push_str(&options("state", v.state.as_deref(), &states, "State"));
    s.push_str(&options("group", v.group.as_deref(), &keys, "Group by"));
    let _ = write!(
        s,
        r#"<input type="hidden" name="sort" value="{}">{}<button type="submit">Apply</button> <a href="/">Reset</a></form>"#,
        esc(&v.sort),
        if v.desc {
            r#"<input type="hidden" name="order" value="desc">"#
        } else {
            ""
        }
    );
    let th = |key: &str, text: &str| -> String {
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
        format!(
            r#"<th {sort}="{dir}"><a href="{}">{text}{arrow}</a></th>"#,
            esc(&nv.href(("sort", Some(key))))
        )
    };
    s.push_str(r#"<table class="slos"><thead><tr>"#);
    s.push_str(&th("slo", "SLO"));
    s.push_str(&th("objective", "Objective"));
    for (i, p) in periods.iter().enumerate() {
        // The first period's SLI and every budget column sort (the budget by an SLO's worst).
        if i == 0 {
            s.push_str(&th("sli", &format!("SLI {}", esc(p))));
        } else {
            let _ = write!(s, "<th>SLI {}</th>", esc(p));
        }
        s.push_str(&th("budget", &format!("Budget left {}", esc(p))));
    }
    for (k, t) in [
        ("burn1h", "Burn 1h"),
        ("burn6h", "Burn 6h"),
        ("alert", "Alert"),
        ("coverage", "Coverage"),
    ] {
        s.push_str(&th(k, t));
    }
    s.push_str(&th("sla", "SLA"));
    s.push_str(&th("gate", "Gate"));
    s.push_str("</tr></thead>");
    let cols = 8 + 2 * periods.len();
    for (g, worst, rs) in groups(&shown, v) {
        s.push_str("<tbody>");
        if v.group.is_some() {
            let _ = write!(
                s,
                r#"<tr class="group"><th colspan="{cols}" scope="rowgroup">{} · {} SLO{} · worst budget {}</th></tr>"#,
                esc(&g),
                rs.len(),
                if rs.len() == 1 { "" } else { "s" },
                budget_bar(worst)
            );
        }
        for r in rs {
            let _ = write!(
                s,
                r#"<tr data-slo="{id}" class="state-{st}"><td><a href="/slos/{svc}/{name}">{id_t}</a></td><td data-value="{obj}">{objp}</td>"#,
                id = esc(&r.id),
                st = r.state(),
                svc = url_enc(&r.service),
                name = url_enc(&r.name),
                id_t = esc(&r.id),
                obj = r.objective,
                objp = pct(Some(r.objective)),
            );
            for p in &periods {
                match r.periods.iter().find(|c| &c.period == p) {
                    Some(c) => {
                        let _ = write!(
                            s,
                            r#"<td class="sli" data-period="{p}" data-value="{}">{}</td><td class="remaining" data-period="{p}" data-value="{}">{}</td>"#,
                            c.sli.map(|x| x.to_string()).unwrap_or_default(),
                            pct(c.sli),
                            c.remaining.map(|x| x.to_string()).unwrap_or_default(),
                            budget_bar(c.remaining),
                            p = esc(p),
                        );
                    }
                    None => s.push_str("<td></td><td></td>"),
                }
            }
            let cov = r.worst_coverage();
            let _ = write!(
                s,
                r#"<td class="burn1h" data-value="{}">{}</td><td class="burn6h" data-value="{}">{}</td><td class="alert alert-{a}">{a}</td><td class="coverage{}" data-value="{cov}">{}</td>"#,
                r.burn_1h.map(|x| x.to_string()).unwrap_or_default(),
                burn(r.burn_1h),
                r.burn_6h.map(|x| x.to_string()).unwrap_or_default(),
                burn(r.burn_6h),
                if cov < 1.0 { " partial" } else { "" },
                pct(Some(cov)),
                a = r.alert.word(),
            );
            match &r.sla {
                Some((o, sli, met)) => {
                    let word = match met {
                        Some(true) => "met",
                        Some(false) => "missed",
                        None => "no data",
                    };
                    let _ = write!(
                        s,
                        r#"<td class="sla sla-{word}">{word} ({} of {})</td>"#,
                        pct(*sli),
                        pct(Some(*o))
                    );
                }
                None => s.push_str(r#"<td class="sla">–</td>"#),
            }
            let _ = write!(
                s,
                r#"<td class="gate gate-{g}" title="{reason}">{g}</td></tr>"#,
                g = if r.gate.0 { "go" } else { "hold" },
                reason = esc(&r.gate.1)
            );
            if let Some(e) = &r.error {
                let _ = write!(
                    s,
                    r#"<tr class="error-row"><td colspan="{cols}">⚠ {}: {}</td></tr>"#,
                    esc(&r.id),
                    esc(e)
                );
            }
            if let Some(n) = &r.notice {
                let _ = write!(
                    s,
                    r#"<tr class="notice-row"><td colspan="{cols}">ℹ {}: {}</td></tr>"#,
                    esc(&r.id),
                    esc(n)
                );
            }
        }
        s.push_str("</tbody>");
    }
    s.push_str("</table>");
    if shown.is_empty() {
        s.push_str(r#"<p class="empty">No SLO matches this view.</p>"#);
    }
    s
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
            gate: (true, "ok".into()),
            error: None,
            notice: None,
        }
    }

    fn q(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
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
            (g[1].0.as_str(), g[1].1),
            ("web", Some(-0.1)),
            "the group's worst budget"
        );
        let html = render(&rows, &v, "now", Some(3));
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
        a.sla = Some((0.99, Some(0.995), Some(true)));
        let mut b = row("b/x", "web", Some(0.5), AlertState::None);
        b.sla = Some((0.99, Some(0.9999), Some(true)));
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
        d.sla = Some((0.99, None, None));
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
        let html = render(&[r], &View::from_query(&q(&[])), "now", None);
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>web"));
        assert!(html.contains("error-row"));
        let mut r = row("api/y", "web", Some(0.5), AlertState::None);
        r.notice = Some("no data before <then>".into());
        let html = render(&[r], &View::from_query(&q(&[])), "now", None);
        assert!(html.contains("notice-row") && html.contains("no data before &lt;then&gt;"));
        assert!(html.contains("state-ok"), "a notice is not an error");
    }
}
