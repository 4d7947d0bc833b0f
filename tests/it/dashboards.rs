//! The generated Grafana dashboards: the committed files are fresh; every panel, variable and
//! annotation query parses as PromQL (promql-parser) and names only series slowburn exports;
//! every panel has a description, a unit and thresholds; each dashboard round-trips through
//! Grafana's own typed models (grafana-foundation-sdk 11.6); and, against a real Prometheus that
//! scrapes a running slowburn, every panel query returns data and the detail dashboard's
//! budget-remaining query equals `report` at the same instant.

use crate::common::*;
use crate::fakes::grafana as fake_grafana;
use promql_parser::parser::{self, Expr};
use promql_parser::util::{ExprVisitor, walk_expr};
use serde_json::Value;
use slowburn::export::grafana::{self, Dashboard};
use slowburn::names;
use std::path::Path;
use std::time::Duration;

fn repo_dashboards() -> Vec<Dashboard> {
    let cfg = slowburn::config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/slo.yaml")))
        .expect("the repository's slo.yaml is valid");
    grafana::generate(&cfg)
}

#[test]
fn committed_dashboards_are_generated_from_slo_yaml() {
    for d in repo_dashboards() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("dashboards")
            .join(d.file);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == d.render(),
            "{} is stale: run `cargo run -- dashboards generate` and commit the result",
            path.display()
        );
    }
}

struct Names(Vec<String>);

impl ExprVisitor for Names {
    type Error = ();
    fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
        match e {
            Expr::VectorSelector(vs) => self.0.extend(vs.name.clone()),
            Expr::MatrixSelector(ms) => self.0.extend(ms.vs.name.clone()),
            _ => {}
        }
        Ok(true)
    }
}

/// The query with the dashboards' variables replaced, as Grafana would send it.
fn substitute(q: &str, service: &str, slo: &str) -> String {
    let mut s = q
        .replace("$__rate_interval", "1m")
        .replace("$service", service)
        .replace("$slo", slo);
    // Label filters (`$team`) are All (`.*`).
    while let Some(i) = s.find('$') {
        let end = s[i + 1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(s.len(), |e| i + 1 + e);
        s.replace_range(i..end, ".*");
    }
    s
}

/// The PromQL a query runs: `label_values(expr, label)` runs `expr`.
fn promql(q: &str) -> String {
    match q.strip_prefix("label_values(") {
        Some(inner) => inner
            .rsplit_once(',')
            .map(|(e, _)| e.trim().to_string())
            .unwrap_or_default(),
        None => q.to_string(),
    }
}

fn exported(name: &str) -> bool {
    names::EXPORTED.iter().any(|e| {
        name == *e
            || [
                format!("{e}_bucket"),
                format!("{e}_sum"),
                format!("{e}_count"),
            ]
            .iter()
            .any(|h| h == name)
    })
}

#[test]
fn every_query_parses_and_names_only_exported_series() {
    let mut checked = 0;
    for d in repo_dashboards() {
        for (place, q) in d.queries() {
            let q = promql(&substitute(&q, "api", "availability"));
            let expr = parser::parse(&q)
                .unwrap_or_else(|e| panic!("{} {place}: `{q}` does not parse: {e}", d.file));
            let mut names = Names(Vec::new());
            let _ = walk_expr(&mut names, &expr);
            assert!(
                !names.0.is_empty(),
                "{} {place}: `{q}` reads no series",
                d.file
            );
            for n in names.0 {
                assert!(
                    exported(&n),
                    "{} {place}: `{n}` is not a series slowburn exports",
                    d.file
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked}");
}

#[test]
fn every_panel_says_what_it_shows_and_how_to_read_it() {
    for d in repo_dashboards() {
        let j = &d.json;
        assert!(j["schemaVersion"].as_u64() >= Some(39));
        assert_eq!(j["uid"], d.uid);
        assert!(d.uid.len() <= 40);
        let vars = j["templating"]["list"].as_array().expect("variables");
        assert_eq!(
            vars[0]["type"], "datasource",
            "{}: the data source is a variable",
            d.file
        );
        let mut ids = std::collections::BTreeSet::new();
        for p in j["panels"].as_array().expect("panels") {
            assert!(
                ids.insert(p["id"].as_u64().expect("id")),
                "{}: duplicate id",
                d.file
            );
            let g = &p["gridPos"];
            let (x, w) = (g["x"].as_u64().expect("x"), g["w"].as_u64().expect("w"));
            assert!(
                x + w <= 24,
                "{}: {} is wider than the grid",
                d.file,
                p["title"]
            );
            if p["type"] == "row" {
                continue;
            }
            let what = format!("{} panel {}", d.file, p["title"]);
            assert!(
                p["description"].as_str().is_some_and(|s| s.len() > 20),
                "{what}: description"
            );
            assert_eq!(p["datasource"]["uid"], "${datasource}", "{what}");
            let defaults = &p["fieldConfig"]["defaults"];
            assert!(defaults["unit"].is_string(), "{what}: unit");
            let steps = defaults["thresholds"]["steps"]
                .as_array()
                .expect("thresholds");
            assert!(
                steps[0]["value"].is_null(),
                "{what}: the first step is -inf"
            );
            let values: Vec<f64> = steps[1..]
                .iter()
                .filter_map(|s| s["value"].as_f64())
                .collect();
            assert!(
                values.windows(2).all(|w| w[0] < w[1]),
                "{what}: steps ascend"
            );
            assert!(
                !p["targets"].as_array().expect("targets").is_empty(),
                "{what}: targets"
            );
        }
    }
}

#[test]
fn dashboards_round_trip_through_grafanas_typed_models() {
    let present = std::process::Command::new("python3")
        .args(["-c", "import grafana_foundation_sdk"])
        .status()
        .is_ok_and(|s| s.success());
    if !require(
        "grafana-foundation-sdk (Python)",
        present,
        "scripts/install-test-deps.sh",
    ) {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3")
        .arg(dir.join("scripts/grafana_roundtrip.py"))
        .args(
            repo_dashboards()
                .iter()
                .map(|d| dir.join("dashboards").join(d.file)),
        )
        .output()
        .expect("python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches("round-trips").count(), 3, "{text}");
}

/// svc15 during an outage (30% errors since 30 minutes ago), a failing Loki SLO, a webhook
/// receiver and a Grafana fake: every panel then has something to show.
fn live_config(prom: &str, loki_port: u16, hook: &str, grafana_url: &str) -> String {
    format!(
        r#"prometheus: {{url: "{prom}", retries: 0, timeout: 5s}}
loki: {{url: "http://127.0.0.1:{loki_port}", retries: 0, timeout: 1s}}
grafana: {{url: "{grafana_url}", token: glsa_t}}
defaults: {{bucket: 10s, windows: [30d, 7d]}}
engine: {{lag: 3, delay: 1s, heal_interval: 10s}}
metrics: {{compat: [sloth, pyrra]}}
receivers:
  - name: hook
    webhook: {{url: "{hook}"}}
slos:
  - service: svc15
    name: availability
    objective: 99.9
    description: Share of requests without a 5xx.
    labels: {{team: web}}
    sli:
      ratio:
        errors: http_requests_total{{service="svc15",code=~"5.."}}
        total: http_requests_total{{service="svc15"}}
    sla: {{objective: 99.5}}
  - service: backend
    name: logs
    objective: 99
    labels: {{team: backend}}
    sli:
      ratio:
        source: loki
        errors: '{{app="backend"}} |= "error"'
        total: '{{app="backend"}}'
"#
    )
}

fn instant(prom: &str, q: &str) -> Vec<(Value, f64)> {
    instant_query(prom, q)
}

#[test]
fn live_every_panel_query_returns_data_and_the_budget_equals_report() {
    if !require_prometheus() {
        return;
    }
    let history = svc15_incident(-1800, 1800, 0.3, 17);
    let prom = start_prometheus(&history);
    let hook_port = serve(axum::Router::new().route("/", axum::routing::post(|| async { "ok" })));
    let g = fake_grafana::FakeGrafana::new(&[("glsa_t", fake_grafana::Role::Editor)]);
    let grafana_url = format!("http://127.0.0.1:{}", serve(g.router()));
    let dir = tempfile::tempdir().expect("tempdir");
    let text = live_config(
        &prom.url,
        free_port(),
        &format!("http://127.0.0.1:{hook_port}/"),
        &grafana_url,
    );
    let cfg_path = write_config(dir.path(), &text);
    let mut d = Daemon::start(&cfg_path, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(180));
    let port = d.url.rsplit(':').next().expect("port").to_string();
    let scraper = start_scraper(&format!("127.0.0.1:{port}"));
    let cfg = slowburn::config::load(&cfg_path).expect("valid");
    let boards = grafana::generate(&cfg);
    // Wait for the page, its notification and a minute of scrapes (rates need two samples).
    wait_until(
        "a page and its notification, scraped",
        Duration::from_secs(120),
        || {
            !instant(
                &scraper.url,
                "slowburn_notifications_total{result=\"sent\"}",
            )
            .is_empty()
                && !instant(&scraper.url, "slo_alert_firing{severity=\"page\"} == 1").is_empty()
        },
    );
    std::thread::sleep(Duration::from_secs(20));
    let mut checked = 0;
    for b in &boards {
        for (place, q) in b.queries() {
            if place.starts_with("annotation") {
                continue; // an annotation is empty until its alert fires (the page one is checked above)
            }
            let q = promql(&substitute(&q, "svc15", "availability"));
            let r = instant(&scraper.url, &q);
            assert!(!r.is_empty(), "{} {place}: `{q}` returned nothing", b.file);
            checked += 1;
        }
    }
    eprintln!("measured: {checked} panel and variable queries returned data");
    // The detail dashboard's budget query at the last scrape, and `report` at the same instant.
    let remaining = boards[1]
        .queries()
        .into_iter()
        .find(|(p, _)| p.contains("Error budget left"))
        .map(|(_, q)| substitute(&q, "svc15", "availability"))
        .expect("budget panel");
    let both = format!(
        "({remaining}) or label_replace(slowburn_last_eval_timestamp_seconds, \"period\", \"at\", \"\", \"\")"
    );
    let r = instant(&scraper.url, &both);
    let get = |p: &str| r.iter().find(|(m, _)| m["period"] == p).map(|(_, v)| *v);
    let at = get("at").expect("last eval") as i64;
    // `report` over the same SLO (without the Loki one, whose Loki is down on purpose).
    let only = text[..text.find("  - service: backend").expect("loki slo")].replace(
        &text[text.find("loki:").expect("loki")..text.find("grafana:").expect("grafana")],
        "",
    );
    let rdir = tempfile::tempdir().expect("tempdir");
    let rcfg = write_config(rdir.path(), &only);
    let rep = report_json(&rcfg, at);
    let s = rep["slos"]
        .as_array()
        .expect("slos")
        .iter()
        .find(|s| s["id"] == "svc15/availability")
        .expect("svc15");
    for p in ["30d", "7d"] {
        let dash = get(p).expect("dashboard value");
        let want = s["periods"][p]["error_budget_remaining"]
            .as_f64()
            .expect("report value");
        eprintln!("measured: {p} budget remaining, dashboard {dash} vs report {want}");
        assert!(
            (dash - want).abs() < 1e-9,
            "{p}: dashboard {dash} vs report {want}"
        );
    }
    compat_queries_answer_with_slowburns_values(&scraper.url);
    // With the peers' series on, promtool's lint objects only to their recording-rule names (with
    // colons), which are the peers' own and scrape fine (the queries above read them).
    let body = d.get("/metrics").1;
    assert!(body.contains("slo:sli_error:ratio_rate30d{") && body.contains("pyrra_window{"));
    let (_, problems) = promtool_check_metrics(&body);
    for line in problems.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            line.ends_with("metric names should not contain ':'")
                && (line.starts_with("slo:") || line.starts_with("pyrra_")),
            "promtool check metrics: {line:?}"
        );
    }
    drop(scraper);
}

/// The kinds of query Sloth's dashboards (14348, 14643) and Pyrra's (list, detail) make, as
/// peers-sloth-pyrra.md section 4 lists them, answered by the compat series with slowburn's own
/// values. Each comparison is one query, so both sides come from the same scrape.
fn compat_queries_answer_with_slowburns_values(prom: &str) {
    let one = |q: &str| -> f64 {
        instant(prom, q)
            .first()
            .map(|x| x.1)
            .unwrap_or_else(|| panic!("`{q}` returned nothing"))
    };
    let same = |compat: &str, own: &str| {
        let d = one(&format!("({compat}) - on(instance) ({own})"));
        assert!(d.abs() < 1e-9, "`{compat}` differs from `{own}` by {d}");
    };
    let own =
        |m: &str, extra: &str| format!("{m}{{service=\"svc15\",slo=\"availability\"{extra}}}");
    let ids = r#"sloth_service="svc15", sloth_slo="availability""#;
    // Sloth 14348: variables, objective, SLI per window, current burn, remaining, alerts.
    assert!(!instant(prom, "group by (sloth_service) (slo:objective:ratio)").is_empty());
    assert!(
        !instant(
            prom,
            r#"group by (sloth_slo) (slo:objective:ratio{sloth_service="svc15"})"#
        )
        .is_empty()
    );
    same(
        &format!("slo:objective:ratio{{{ids}}}"),
        &own(names::SLO_OBJECTIVE, ""),
    );
    same(
        &format!("1 - (max(slo:sli_error:ratio_rate1h{{{ids}}}) OR on() vector(0))"),
        &format!(
            "1 - max({}) * (1 - max({}))",
            own(names::SLO_BURN_RATE, ",window=\"1h\""),
            own(names::SLO_OBJECTIVE, "")
        ),
    );
    same(
        &format!("slo:current_burn_rate:ratio{{{ids}}} or on() vector(0)"),
        &own(names::SLO_BURN_RATE, ",window=\"5m\""),
    );
    same(
        &format!("slo:period_error_budget_remaining:ratio{{{ids}}} or on() vector(1)"),
        &own(names::SLO_BUDGET_REMAINING, ",period=\"30d\""),
    );
    same(
        &format!("slo:sli_error:ratio_rate30d{{{ids}}}"),
        &format!("1 - {}", own(names::SLO_SLI, ",window=\"30d\"")),
    );
    assert_eq!(
        one(&format!(
            r#"max(ALERTS{{{ids}, sloth_severity="page"}}) OR on() vector(0)"#
        )),
        1.0
    );
    assert_eq!(
        one(&format!(
            r#"max(ALERTS{{{ids}, sloth_severity="ticket"}}) OR on() vector(0)"#
        )),
        0.0
    );
    assert!(
        !instant(prom, "slo:current_burn_rate:ratio > 1").is_empty(),
        "the exceeded-burn table"
    );
    // The month panel: its numerator and denominator joined on sloth_id (its 1h subquery step
    // made 5s: this Prometheus holds minutes, not the 32 days the panel reads).
    // `${__to:date:M}` is the month number Grafana substitutes.
    let m = chrono::Datelike::month(&chrono::Utc::now());
    let month = format!(
        "1 - sum_over_time((slo:sli_error:ratio_rate1h{{{ids}}} * on() group_left() (month() == bool vector({m})))[32d:5s]) \
         / on(sloth_id) group_left() (slo:error_budget:ratio{{{ids}}} * on() group_left() (24 * days_in_month()))"
    );
    assert!(one(&month).is_finite(), "{month}");
    // Pyrra list and detail.
    let slo = r#"slo="svc15-availability""#;
    assert!(!instant(prom, "group by (slo) (pyrra_objective)").is_empty());
    same(
        &format!("pyrra_objective{{{slo}}}"),
        &own(names::SLO_OBJECTIVE, ""),
    );
    assert_eq!(one(&format!("pyrra_window{{{slo}}}")), 30.0 * 86400.0);
    same(
        &format!(
            "(pyrra_availability{{{slo}}} - pyrra_objective{{{slo}}}) / (1 - pyrra_objective{{{slo}}})"
        ),
        &own(names::SLO_BUDGET_REMAINING, ",period=\"30d\""),
    );
    same(
        &format!("sum(pyrra_requests:rate5m{{{slo}}})"),
        &format!(
            "sum({}) / 300",
            own(names::SLO_EVENTS, ",window=\"5m\",kind=\"total\"")
        ),
    );
    same(
        &format!("sum(pyrra_errors:rate5m{{{slo}}})"),
        &format!(
            "(sum({}) - sum({})) / 300",
            own(names::SLO_EVENTS, ",window=\"5m\",kind=\"total\""),
            own(names::SLO_EVENTS, ",window=\"5m\",kind=\"good\"")
        ),
    );
    // Pyrra's own detail dashboard sums a range vector, which no Prometheus accepts.
    assert!(parser::parse("sum(pyrra_requests:rate5m{slo=\"x\"}[5m])").is_err());
}

/// File provisioning: the compose stack mounts `dashboards/` where the provider YAML reads, into
/// the folder API provisioning uses, and its default data source is a Prometheus, which the
/// dashboards' `datasource` variable (query `prometheus`) picks.
#[test]
fn file_provisioning_loads_the_committed_dashboards() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docker");
    let yaml = |p: &str| -> Value {
        let text = std::fs::read_to_string(dir.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{p}: {e}"))
    };
    let provider = yaml("grafana/provisioning/dashboards/slowburn.yaml");
    assert_eq!(provider["apiVersion"], 1);
    let p = &provider["providers"][0];
    assert_eq!(p["type"], "file");
    assert_eq!(p["folderUid"], grafana::FOLDER_UID);
    let path = p["options"]["path"].as_str().expect("options.path");
    let sources = yaml("grafana/provisioning/datasources/slowburn.yaml");
    let default = sources["datasources"]
        .as_array()
        .expect("datasources")
        .iter()
        .find(|d| d["isDefault"] == true)
        .expect("a default data source");
    assert_eq!(default["type"], "prometheus");
    let compose = yaml("compose.yaml");
    let mounts: Vec<&str> = compose["services"]["grafana"]["volumes"]
        .as_array()
        .expect("grafana volumes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        mounts.contains(&format!("../dashboards:{path}:ro").as_str()),
        "{mounts:?}"
    );
    assert!(
        mounts.contains(&"./grafana/provisioning:/etc/grafana/provisioning:ro"),
        "{mounts:?}"
    );
    for d in repo_dashboards() {
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("dashboards")
                .join(d.file)
                .exists()
        );
        assert_eq!(d.json["templating"]["list"][0]["query"], "prometheus");
    }
    // The compose stack's slowburn reads docker/slo.yaml, which has the log SLOs.
    let slowburn = compose["services"]["slowburn"]["volumes"].to_string();
    assert!(
        slowburn.contains("./slo.yaml:/etc/slowburn/slo.yaml"),
        "{slowburn}"
    );
}
