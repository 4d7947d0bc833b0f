//! slowburn itself: is it evaluating (age of the last evaluation, readiness, the last reload),
//! how its sources answer (latency, requests, errors, samples read), and whether notifications
//! get out (outcomes per receiver, the outbox backlog) and dashboards get provisioned.

use super::panel::{self, Board, Field, grid};
use super::{Context, INTERNALS_UID};
use crate::names::{self, LABEL_SOURCE};
use serde_json::{Value, json};

fn status_mappings(one: &str, zero: &str) -> Value {
    json!([{"type": "value", "options": {
        "1": {"text": one, "color": "green", "index": 0},
        "0": {"text": zero, "color": "red", "index": 1},
    }}])
}

fn health_row(cx: &Context) -> Vec<Value> {
    let b = cx.bucket_secs as f64;
    let mut ready = panel::stat(
        "Ready",
        "Whether the startup backfill is done (until then /readyz answers 503 and budgets may be partial).",
        vec![panel::instant("A", &format!("min({})", names::READY), "")],
        Field::unit("none"),
        grid(6, 1, 6, 4),
    );
    ready["fieldConfig"]["defaults"]["mappings"] = status_mappings("ready", "backfilling");
    let mut reload = panel::stat(
        "Last config reload",
        "Whether the last reload of slo.yaml succeeded. After a bad file the old config keeps running and the daemon logs every error with its file:line:column.",
        vec![panel::instant(
            "A",
            &format!("min({})", names::CONFIG_RELOAD_SUCCESS),
            "",
        )],
        Field::unit("none"),
        grid(12, 1, 6, 4),
    );
    reload["fieldConfig"]["defaults"]["mappings"] = status_mappings("ok", "rejected");
    vec![
        panel::row("Evaluation", 0),
        panel::stat(
            "Last evaluation",
            &format!(
                "Seconds since the last completed evaluation. Every {} s bucket is evaluated once it is complete; much longer means the daemon is stuck or its sources are slow.",
                cx.bucket_secs
            ),
            vec![panel::instant(
                "A",
                &format!("time() - max({})", names::LAST_EVAL),
                "",
            )],
            Field::unit("s").colored(panel::thresholds(
                "green",
                &[(3.0 * b + 60.0, "orange"), (10.0 * b + 60.0, "red")],
            )),
            grid(0, 1, 6, 4),
        ),
        ready,
        reload,
        panel::stat(
            "SLOs",
            "SLOs being evaluated.",
            vec![panel::instant("A", &format!("sum({})", names::SLOS), "")],
            Field::unit("short"),
            grid(18, 1, 6, 4),
        ),
    ]
}

fn source_row() -> Vec<Value> {
    let by = format!("sum by ({LABEL_SOURCE}, le)");
    let bucket = names::bucket(names::SOURCE_QUERY_DURATION);
    let count = format!("{}_count", names::SOURCE_QUERY_DURATION);
    vec![
        panel::row("Sources", 5),
        panel::timeseries(
            "Query latency",
            "Median and 99th percentile of the time one request to a source takes, retries included.",
            vec![
                panel::range(
                    "A",
                    &format!("histogram_quantile(0.5, {by} (rate({bucket}[$__rate_interval])))"),
                    "p50 {{source}}",
                ),
                panel::range(
                    "B",
                    &format!("histogram_quantile(0.99, {by} (rate({bucket}[$__rate_interval])))"),
                    "p99 {{source}}",
                ),
            ],
            Field::unit("s"),
            false,
            grid(0, 6, 12, 8),
        ),
        panel::timeseries(
            "Requests and errors",
            "Requests per second to each source, failed queries per second (their buckets are missing until healed), and answers not believed: partial (they carried warnings) or breaking the API's contract (duplicated or non-finite samples); their buckets are missing too.",
            vec![
                panel::range(
                    "A",
                    &format!("sum by ({LABEL_SOURCE}) (rate({count}[$__rate_interval]))"),
                    "requests {{source}}",
                ),
                panel::range(
                    "B",
                    &format!(
                        "sum by ({LABEL_SOURCE}) (rate({}[$__rate_interval]))",
                        names::SOURCE_ERRORS
                    ),
                    "errors {{source}}",
                ),
                panel::range(
                    "C",
                    &format!(
                        "sum by ({LABEL_SOURCE}, reason) (rate({}[$__rate_interval]))",
                        names::SOURCE_UNTRUSTED
                    ),
                    "untrusted {{source}} {{reason}}",
                ),
            ],
            Field::unit("reqps"),
            false,
            grid(12, 6, 6, 8),
        ),
        panel::timeseries(
            "Samples read",
            "Samples per second the sources report reading for slowburn's queries (Prometheus's stats; Loki reports none).",
            vec![panel::range(
                "A",
                &format!(
                    "sum by ({LABEL_SOURCE}) (rate({}[$__rate_interval]))",
                    names::SOURCE_SAMPLES_READ
                ),
                "{{source}}",
            )],
            Field::unit("short"),
            false,
            grid(18, 6, 6, 8),
        ),
    ]
}

fn delivery_row() -> Vec<Value> {
    vec![
        panel::row("Delivery", 14),
        panel::timeseries(
            "Notification outcomes",
            "Notification attempts per receiver and result over the last hour: sent, retry (the receiver failed or throttled; it is kept in the outbox), failed, dropped.",
            vec![panel::range(
                "A",
                &format!(
                    "sum by (receiver, result) (increase({}[1h]))",
                    names::NOTIFICATIONS
                ),
                "{{receiver}} {{result}}",
            )],
            Field::unit("short"),
            false,
            grid(0, 15, 8, 8),
        ),
        panel::timeseries(
            "Outbox backlog",
            "Notifications stored and not yet accepted by their receiver. Growing: a receiver is down or rejecting.",
            vec![panel::range(
                "A",
                &format!("sum by (receiver) ({})", names::NOTIFICATIONS_PENDING),
                "{{receiver}}",
            )],
            Field::unit("short").colored(panel::thresholds("green", &[(1.0, "orange")])),
            false,
            grid(8, 15, 8, 8),
        ),
        panel::timeseries(
            "Dashboard provisioning",
            "Dashboard provisioning runs of the daemon per result over the last hour: unchanged, updated or failed (the log says why).",
            vec![panel::range(
                "A",
                &format!(
                    "sum by (result) (increase({}[1h]))",
                    names::GRAFANA_PROVISIONS
                ),
                "{{result}}",
            )],
            Field::unit("short"),
            false,
            grid(16, 15, 8, 8),
        ),
    ]
}

/// The dashboard about slowburn itself.
pub(super) fn dashboard(cx: &Context) -> Value {
    let mut panels = health_row(cx);
    panels.extend(source_row());
    panels.extend(delivery_row());
    Board {
        uid: INTERNALS_UID,
        title: "slowburn",
        description: "The health of slowburn itself, generated by `slowburn dashboards generate`.",
        variables: vec![panel::datasource_var()],
        annotations: Vec::new(),
        panels,
        from: "now-6h",
    }
    .json()
}
