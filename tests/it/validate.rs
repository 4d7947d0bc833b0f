//! `slowburn validate`: exit codes and `FILE:LINE:COLUMN: message` for every kind of mistake.

use crate::common::*;

fn validate(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), text);
    let (code, out, err) = slowburn(&["validate", "-c", cfg.to_str().unwrap()]);
    let file = cfg.to_str().unwrap().to_string();
    (code, format!("{out}{err}").replace(&file, "slo.yaml"))
}

#[test]
fn the_repository_slo_yaml_is_valid() {
    let (code, out, err) = slowburn(&[
        "validate",
        "-c",
        concat!(env!("CARGO_MANIFEST_DIR"), "/slo.yaml"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("OK (2 SLOs)"), "{out}");
}

#[test]
fn every_semantic_error_is_reported_with_its_position() {
    let (code, out) = validate(
        r#"slos:
  - service: api
    name: availability
    objective: 100
    windows: [30x]
    sli:
      ratio:
        errors: sum(rate(x[5m]) by (job)
        total: http_requests_total{service="api"}
  - service: api
    name: three
    objective: 99
    sli:
      ratio:
        good: x
        errors: y
        total: z
  - service: api
    name: lat
    objective: 99
    sli:
      latency: {histogram: 'h{a="${SLOWBURN_TEST_SURELY_UNSET}"}', threshold: 200ms}
  - service: api
    name: availability
    objective: 99
    sli: {ratio: {errors: a, total: b}}
"#,
    );
    assert_eq!(code, 1);
    for want in [
        "slo.yaml:4:16: slos[0].objective: must be a percentage between 0 and 100 (exclusive), got 100",
        "slo.yaml:5:15: slos[0].windows[0]: invalid duration `30x`",
        "slo.yaml:8:17: slos[0].sli.ratio.errors: PromQL does not parse: unclosed left parenthesis",
        "slo.yaml:15:9: slos[1].sli.ratio: needs exactly two of `good`, `errors` and `total`",
        "slo.yaml:22:28: slos[2].sli.latency.histogram: environment variable ${SLOWBURN_TEST_SURELY_UNSET} is not set",
        "slo.yaml:24:11: slos[3].name: duplicate SLO id `api/availability` (first defined at line",
    ] {
        assert!(out.contains(want), "missing `{want}` in:\n{out}");
    }
}

#[test]
fn unknown_field_names_the_nearest_valid_one() {
    let (code, out) = validate("slos:\n  - service: api\n    name: x\n    objectiv: 99\n");
    assert_eq!(code, 1);
    assert!(
        out.contains("slo.yaml:4:5: unknown field `objectiv`; did you mean `objective`?"),
        "{out}"
    );
}

#[test]
fn yaml_syntax_errors_point_at_the_line() {
    let (code, out) = validate("slos: [\n");
    assert_eq!(code, 1);
    assert!(out.starts_with("slo.yaml:1:"), "{out}");
}

#[test]
fn bad_bucket_and_sla_tighter_than_objective_are_rejected() {
    let (code, out) = validate(
        "defaults: {bucket: 7s}\nslos:\n  - service: a\n    name: b\n    objective: 99\n    sli: {ratio: {errors: x, total: y}}\n    sla: {objective: 99.9}\n",
    );
    assert_eq!(code, 1);
    assert!(
        out.contains("slo.yaml:1:20: defaults.bucket: bucket must be whole seconds, at least 10s"),
        "{out}"
    );
    assert!(
        out.contains("slo.yaml:7:22: slos[0].sla.objective: the SLA (99.9%) must be looser"),
        "{out}"
    );
}

#[test]
fn env_vars_are_expanded_and_secrets_are_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "prometheus: {url: 'http://127.0.0.1:9', headers: {Authorization: 'Bearer ${SB_TEST_TOKEN}'}}\nslos: []\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slowburn"))
        .args(["validate", "-c", cfg.to_str().unwrap()])
        .env("SB_TEST_TOKEN", "s3cr3t-value")
        .output()
        .unwrap();
    assert!(out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("s3cr3t-value"), "{all}");
}

#[test]
fn alert_policies_are_validated_with_positions() {
    let (code, out) = validate(
        r#"alerting:
  policies:
    strict:
      rules:
        - {severity: page, long: 1h, short: 2h, factor: 14.4}
        - {severity: urgent, long: 6h, short: 30m, factor: 6}
      budget_exhausted: maybe
slos:
  - service: a
    name: b
    objective: 99
    sli: {ratio: {errors: x, total: y}}
    alerting: {policy: strcit}
"#,
    );
    assert_eq!(code, 1);
    for want in [
        "slo.yaml:5:45: alerting.policies.strict.rules[0].short: the short window (2h) must be shorter than the long one (1h)",
        "slo.yaml:6:22: alerting.policies.strict.rules[1].severity: `urgent` is not a severity; use `page` or `ticket`",
        "slo.yaml:7:25: alerting.policies.strict.budget_exhausted: `maybe`: use `page`, `ticket` or `none`",
        "slo.yaml:13:24: slos[0].alerting.policy: no alert policy named `strcit`; did you mean `strict`?",
    ] {
        assert!(out.contains(want), "missing `{want}` in:\n{out}");
    }
}

#[test]
fn a_named_policy_and_slo_overrides_apply_over_the_default() {
    let cfg = slowburn::config::parse_str(
        r#"defaults: {alerting: quiet}
alerting:
  policies:
    quiet: {min_events: 500, budget_exhausted: ticket, no_data_after: none}
slos:
  - service: a
    name: b
    objective: 99
    sli: {ratio: {errors: x, total: y}}
    alerting: {min_events: 10}
"#,
        "slo.yaml",
        &|_| None,
    )
    .unwrap();
    let p = &cfg.slos[0].policy;
    assert_eq!(p.min_events, 10.0, "the SLO's override wins");
    assert_eq!(
        p.budget_exhausted,
        Some(slowburn::alert::policy::Severity::Ticket)
    );
    assert_eq!(p.no_data_after, None);
    assert_eq!(
        p.budget_ticket_below,
        Some(0.25),
        "untouched fields keep the default"
    );
    assert_eq!(p.rules[0].name(), "1h/5m");
}

#[test]
fn the_readme_reference_example_is_valid() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let at = readme
        .find("## `slo.yaml` reference")
        .expect("reference section");
    let start = readme[at..].find("```yaml\n").expect("yaml block") + at + "```yaml\n".len();
    let end = readme[start..].find("```").unwrap() + start;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &readme[start..end]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slowburn"))
        .args(["validate", "-c", cfg.to_str().unwrap()])
        .env("PROM_TOKEN", "t")
        .env("PD_ROUTING_KEY", "0123456789abcdef0123456789abcdef")
        .env("HOOK_TOKEN", "h")
        .env("SMTP_PASSWORD", "p")
        .env(
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T/B/X",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the README's slo.yaml example must stay valid: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn receiver_and_maintenance_mistakes_point_at_their_line() {
    let (code, out) = validate(
        r#"receivers:
  - name: mail
    email: {host: smtp.example.org, tls: ssl, from: "not an address", to: []}
  - name: relay
    email: {host: 127.0.0.1, tls: none, username: u, password: p, from: a@b.example, to: [c@d.example]}
  - name: am
    alertmanager: {url: "alertmanager:9093"}
    repeat_interval: soon
maintenance:
  - name: once
    start: "2026-12-01T04:00:00Z"
    end: "2026-12-01T02:00:00Z"
    slos: [api/availabilty]
  - name: weekly
    weekly: {day: someday, at: "25:00", duration: 8d}
  - name: neither
slos:
  - service: api
    name: availability
    objective: 99
    sli: {ratio: {errors: a, total: b}}
"#,
    );
    assert_eq!(code, 1, "{out}");
    for want in [
        "slo.yaml:3:42: receivers[0].email.tls: `ssl`: use `starttls` (port 587), `implicit` (port 465) or `none` (local relays)",
        "slo.yaml:3:53: receivers[0].email.from: `not an address` is not an email address",
        "receivers[0].email.to: needs at least one recipient",
        "receivers[1].email.tls: refusing to send an SMTP password without TLS",
        "slo.yaml:7:25: receivers[2].alertmanager.url: not an http(s) URL",
        "slo.yaml:8:22: receivers[2].repeat_interval:",
        "slo.yaml:12:10: maintenance[0].end: must be after `start`",
        "slo.yaml:13:12: maintenance[0].slos[0]: no SLO `api/availabilty` (write `service/name`); did you mean `api/availability`?",
        "slo.yaml:15:19: maintenance[1].weekly.day: `someday`: use one of mon, tue, wed, thu, fri, sat, sun",
        "maintenance[1].weekly.at: `25:00`: write the UTC start as HH:MM",
        "maintenance[1].weekly.duration: a weekly window must be shorter than a week",
        "slo.yaml:16:5: maintenance[2]: needs either `start` and `end` (one-off) or `weekly: {day, at, duration}`",
    ] {
        assert!(out.contains(want), "missing `{want}` in:\n{out}");
    }
}

#[test]
fn secrets_can_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("pd-key");
    std::fs::write(&key, "0123456789abcdef0123456789abcdef\n").unwrap();
    let text = |path: &str| {
        format!(
            "receivers:\n  - name: pd\n    pagerduty: {{routing_key: \"${{file:{path}}}\"}}\nslos:\n  - {{service: a, name: b, objective: 99, sli: {{ratio: {{errors: x, total: y}}}}}}\n"
        )
    };
    let (code, out) = validate(&text(key.to_str().unwrap()));
    assert_eq!(code, 0, "{out}");
    let (code, out) = validate(&text("/nonexistent/pd-key"));
    assert_eq!(code, 1);
    assert!(
        out.contains("slo.yaml:3:30: receivers[0].pagerduty.routing_key: cannot read the secret file in ${file:/nonexistent/pd-key}"),
        "{out}"
    );
}

#[test]
fn structural_and_semantic_errors_are_all_reported_in_one_run() {
    // A misspelt optional key, a wrong type, an unbalanced PromQL brace and an objective of 120:
    // serde stops at the first two, yet every one is reported, each at its own line.
    let (code, out) = validate(
        r#"engine:
  lag: many
slos:
  - service: api
    name: availability
    descripton: the API
    objective: 120
    sli:
      ratio:
        errors: http_requests_total{code=~"5.."
        total: http_requests_total
"#,
    );
    assert_eq!(code, 1, "{out}");
    for want in [
        "slo.yaml:2:8: engine.lag: invalid u32: write a whole number here",
        "slo.yaml:6:5: unknown field `descripton`; did you mean `description`?",
        "slo.yaml:7:16: slos[0].objective: must be a percentage between 0 and 100",
        "slo.yaml:10:17: slos[0].sli.ratio.errors: PromQL does not parse",
    ] {
        assert!(out.contains(want), "missing `{want}` in:\n{out}");
    }
    assert!(out.contains("has 4 error(s)"), "{out}");
}

#[test]
fn a_misspelt_required_key_is_still_checked_under_its_intended_name() {
    let (code, out) = validate(
        "slos:\n  - service: api\n    name: x\n    objectve: 120\n    sli: {ratio: {errors: e, total: t}}\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("slo.yaml:4:5: unknown field `objectve`; did you mean `objective`?"),
        "{out}"
    );
    assert!(
        out.contains("slo.yaml:4:15: slos[0].objective: must be a percentage"),
        "the value is validated as the objective: {out}"
    );
    assert!(!out.contains("missing field"), "{out}");
}

#[test]
fn a_missing_key_is_not_confused_with_a_misspelt_key_of_another_slo() {
    // The first SLO has both `objective` and a stray `objectve`; the second really lacks its
    // objective. The stray key is reported, and the second SLO's missing objective too.
    let (code, out) = validate(
        "slos:\n  - service: a\n    name: x\n    objective: 99\n    objectve: 98\n    sli: {ratio: {errors: e, total: t}}\n  - service: b\n    name: y\n    sli: {ratio: {errors: e, total: t}}\n  - service: c\n    name: z\n    sli: {ratio: {errors: e, total: t}}\n    objectiv: 101\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("slo.yaml:5:5: unknown field `objectve`"),
        "{out}"
    );
    assert!(out.contains("missing field `objective`"), "{out}");
    assert!(!out.contains("duplicate"), "{out}");
}

/// Edges of the file itself: `.` and `..` as names, invalid UTF-8 with its position, and a file
/// too large to be a config (reading stops at the cap instead of filling memory).
#[test]
fn names_encoding_and_size_are_refused_with_their_position() {
    let (code, out) = validate(
        "slos:\n  - {service: .., name: ok, objective: 99, sli: {ratio: {errors: x, total: y}}}\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("slos[0].service") && out.contains("not `.` or `..`"),
        "{out}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slo.yaml");
    let mut bytes = b"slos:\n  - service: api\n    name: caf".to_vec();
    bytes.extend([0xe9, b'\n']);
    std::fs::write(&path, &bytes).unwrap();
    let (code, out, err) = slowburn(&["validate", "-c", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("slo.yaml:3:14: invalid UTF-8"), "{err}");
    let big = format!("slos: []\n{}", "#".repeat(65 << 20));
    std::fs::write(&path, big).unwrap();
    let (code, _, err) = slowburn(&["validate", "-c", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("larger than 64 MiB"), "{err}");
}

#[test]
fn duplicate_keys_and_oversized_durations_are_said_in_slowburns_words() {
    let (code, out) = validate(
        "slos:\n  - service: api\n    name: a\n    objective: 99.9\n    objective: 99.5\n    sli: {ratio: {errors: x, total: y}}\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(":5:5: `objective` is given twice in this mapping; keep one"),
        "{out}"
    );
    assert!(
        !out.contains("DuplicateKeyPolicy"),
        "no library advice: {out}"
    );
    let (code, out) = validate(
        "defaults: {windows: [100000000000d]}\nslos:\n  - {service: api, name: a, objective: 99, sli: {latency: {histogram: h, threshold: 99999999999999999999ms}}}\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            ":1:22: defaults.windows[0]: duration `100000000000d` is too long: at most 3650d"
        ),
        "{out}"
    );
    assert!(
        out.contains("`99999999999999999999ms` is too long"),
        "{out}"
    );
}

/// LogQL as Loki parses it: a selector whose every matcher matches the empty string is refused
/// with Loki's reason at the query's position, in a log query and inside a `$window`
/// expression, and so is `count_over_time(…) by (…)`; pattern filters and `| label != "x"` pass.
#[test]
fn logql_is_checked_as_loki_parses_it() {
    let (code, out) = validate(
        r#"loki: {url: "http://127.0.0.1:3100"}
slos:
  - service: api
    name: logs
    objective: 99.9
    sli:
      ratio:
        source: loki
        errors: '{env!="dev"} |= "error"'
        total: 'sum(count_over_time({app=~".*"} [$window]))'
  - service: api
    name: grouped
    objective: 99.9
    sli:
      ratio:
        source: loki
        errors: 'sum(count_over_time({app="api"} |> "<_> 500 <_>" [$window]) by (pod))'
        total: '{app="api"} !> "<_> health <_>" | json | level != "debug"'
"#,
    );
    assert_eq!(code, 1, "{out}");
    for want in [
        r#"slo.yaml:9:17: slos[0].sli.ratio.errors: every matcher of `{env!="dev"}`"#,
        r#"slo.yaml:10:16: slos[0].sli.ratio.total: every matcher of `{app=~".*"}`"#,
        "slo.yaml:17:17: slos[1].sli.ratio.errors: Loki refuses `count_over_time(…) by (…)`",
        "queries require at least one regexp or equality matcher that does not have an empty-compatible value",
        "sum by (x) (count_over_time(…))",
    ] {
        assert!(out.contains(want), "missing `{want}` in:\n{out}");
    }
    assert!(out.contains("has 3 error(s)"), "{out}");
}

/// Label keys that become one Prometheus label name (`team-name`, `team.name`) are refused at
/// the second, naming both: `slo_info` would repeat the name and Prometheus refuse the scrape.
#[test]
fn label_keys_that_collide_after_mapping_are_refused() {
    let (code, out) = validate(
        "slos:\n  - service: api\n    name: a\n    objective: 99.9\n    labels:\n      team-name: web\n      team.name: shop\n      service: checkout\n    sli: {ratio: {errors: x, total: y}}\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("slo.yaml:7:7: slos[0].labels.team.name: label keys `team-name` (line 6) and `team.name` both become the label name `team_name`"),
        "{out}"
    );
    assert!(
        out.contains("slo.yaml:8:7: slos[0].labels.service: label key `service` becomes `service`, a label slowburn sets itself"),
        "{out}"
    );
}

/// `validate` refuses what `run` would: a header name that is not an HTTP token, one given twice
/// in two cases, a header value or a token with a line break. And a `loki:` block with six
/// values of the wrong type shows all six, each with its key path.
#[test]
fn what_run_refuses_validate_refuses_and_every_type_error_has_its_path() {
    let (code, out) = validate(
        r#"loki:
  url: http://127.0.0.1:3100
  timeout: [30s]
  max_concurrency: many
  retries: -1
  max_points_per_query: 1.5
  headers: [X-Token]
  tenant: [x]
prometheus:
  url: http://127.0.0.1:9090
  headers:
    X Scope OrgID: tenant
    X-Token: "a\nb"
    x-token: c
grafana:
  url: http://127.0.0.1:3000
  token: "glsa_abc\n"
slos: []
"#,
    );
    assert_eq!(code, 1, "{out}");
    for want in [
        "slo.yaml:3:12: loki.timeout: expected a single value here",
        "slo.yaml:4:20: loki.max_concurrency: invalid u32: write a whole number here",
        "slo.yaml:5:12: loki.retries: invalid u32",
        "slo.yaml:6:25: loki.max_points_per_query: invalid u32",
        "slo.yaml:7:12: loki.headers: expected a mapping",
        "slo.yaml:8:11: loki.tenant: expected a single value here",
        "slo.yaml:12:5: prometheus.headers.X Scope OrgID: `X Scope OrgID` is not a header name",
        "slo.yaml:13:14: prometheus.headers.X-Token: the value holds a line break",
        "slo.yaml:14:5: prometheus.headers.x-token: header `x-token` is given twice (also as `X-Token`)",
        "slo.yaml:17:10: grafana.token: the value holds a line break",
    ] {
        assert!(out.contains(want), "missing `{want}` in:\n{out}");
    }
    assert!(out.contains("has 10 error(s)"), "{out}");
}
