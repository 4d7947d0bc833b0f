//! A tick's selectors that differ in one label's value are asked as one merged selector
//! (issue 25): on a real Prometheus, every SLO's counts come back as its own one-by-one queries
//! give them, for label values with regex metacharacters and quotes, and for the empty value
//! (series without the label), beside selectors that cannot be merged.

use crate::common::*;
use slowburn::source::BucketRange;
use std::io::Write;

/// The `svc` values of the fleet; `None` is a series without the label.
const SERVICES: [Option<&str>; 7] = [
    Some("s0"),
    Some("s1"),
    Some("s2"),
    Some("a.b"),
    Some("x|y"),
    Some("q\"t"),
    None,
];

#[test]
fn merged_selectors_count_every_slo_as_its_own_queries_do() {
    if !require_prometheus() {
        return;
    }
    let end = history_end();
    let range = BucketRange {
        start: end - 600,
        count: 3,
        width: 60,
    };
    let t0 = end - 3600;
    // OpenMetrics escapes `"` and `\` in label values as PromQL does.
    let om_value = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
    let prom = start_prometheus_with(|f| {
        writeln!(f, "# TYPE req counter").unwrap();
        for (k, svc) in SERVICES.iter().enumerate() {
            for (code, per) in [("200", 10 * (k as i64 + 1)), ("500", k as i64 + 1)] {
                let labels = match svc {
                    Some(v) => format!("code=\"{code}\",svc=\"{}\"", om_value(v)),
                    None => format!("code=\"{code}\""),
                };
                for t in (t0..=end).step_by(15) {
                    writeln!(f, "req_total{{{labels}}} {} {t}", per * (t - t0) / 15).unwrap();
                }
            }
        }
        writeln!(f, "# EOF").unwrap();
    });
    let mut yaml = format!("prometheus: {{url: \"{}\"}}\nslos:\n", prom.url);
    for (k, svc) in SERVICES.iter().enumerate() {
        // Single-quoted YAML keeps the PromQL string's escapes as written.
        let v = om_value(svc.unwrap_or(""));
        yaml.push_str(&format!(
            "  - {{service: s, name: n{k}, objective: 99, sli: {{ratio: {{errors: 'req_total{{svc=\"{v}\",code=\"500\"}}', total: 'req_total{{svc=\"{v}\"}}'}}}}}}\n"
        ));
    }
    // Regex selectors are never merged: they go into an `or` batch beside the merged ones.
    yaml.push_str("  - {service: s, name: re, objective: 99, sli: {ratio: {errors: 'req_total{svc=~\"s.*\",code=\"500\"}', total: 'req_total{svc=~\"s.*\"}'}}}\n");
    let (requests, batched) = counted_together_as_alone(&yaml, range);
    // The 7 errors selectors merged, the 7 totals merged, the 2 regex ones batched.
    assert_eq!(requests, 3);
    // Each SLO's own rates: four scrapes a minute, each adding k + 1 errors and 10 (k + 1)
    // good requests; the regex SLO sums s0, s1 and s2 (k + 1 = 1, 2, 3).
    for (k, b) in batched.iter().enumerate() {
        let per = if k < SERVICES.len() {
            k as f64 + 1.0
        } else {
            6.0
        };
        let (good, total) = (40.0 * per, 44.0 * per);
        for x in &b.buckets {
            assert_eq!(
                *x,
                slowburn::budget::Bucket::Known { good, total },
                "SLO {k}"
            );
        }
    }
}
