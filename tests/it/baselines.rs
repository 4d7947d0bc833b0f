//! A tick's batched counts ask one baseline edge before the range instead of five (issue 25):
//! on a real Prometheus, a counter that comes back from an 8-minute scrape gap just before the
//! range, and one born inside it, are counted exactly as the one-by-one queries (five baselines)
//! count them; the gap's increments land in the bucket where the series comes back.

use crate::common::*;
use slowburn::budget::Bucket;
use slowburn::source::prometheus::PrometheusSource;
use slowburn::source::{Ask, BucketRange, Source};
use std::io::Write;

#[test]
fn one_baseline_edge_counts_gaps_and_new_series_as_five_do() {
    if !require_prometheus() {
        return;
    }
    let end = history_end();
    // The range: three 1-minute buckets, as a tick with `lag: 3` asks them.
    let from = end - 600;
    let range = BucketRange {
        start: from,
        count: 3,
        width: 60,
    };
    let t0 = end - 3600;
    // (series, value at each 15 s scrape, or None where the scrape failed)
    let steady = |t: i64| Some(10 * (t - t0) / 15);
    let gap = |t: i64| (t <= from - 480 || t > from + 30).then_some(7 * (t - t0) / 15);
    let born = |t: i64| (t > from + 90).then_some(100 + 3 * (t - t0) / 15);
    let prom = start_prometheus_with(|f| {
        writeln!(f, "# TYPE a counter").unwrap();
        for (k, value) in [
            ("steady", &steady as &dyn Fn(i64) -> Option<i64>),
            ("gap", &gap),
            ("born", &born),
        ] {
            for t in (t0..=end).step_by(15) {
                if let Some(v) = value(t) {
                    writeln!(f, "a_total{{k=\"{k}\"}} {v} {t}").unwrap();
                }
            }
        }
        writeln!(f, "# EOF").unwrap();
    });
    let slo = |name: &str, total: &str| {
        format!(
            "  - {{service: a, name: {name}, objective: 99, sli: {{ratio: {{errors: 'a_total{{k=\"none\"}}', total: '{total}'}}}}}}\n"
        )
    };
    let yaml = format!(
        "prometheus: {{url: \"{}\"}}\nslos:\n{}{}{}",
        prom.url,
        slo("gap", "a_total{k=\"gap\"}"),
        slo("born", "a_total{k=~\"steady|born\"}"),
        slo("both", "a_total{k=~\"steady|gap\"}"),
    );
    let cfg = slowburn::config::parse_str(&yaml, "t.yaml", &|_| None).expect("config");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let source = PrometheusSource::new(&cfg.prometheus).expect("source");
        let asks: Vec<Ask> = cfg.slos.iter().map(Ask::slo).collect();
        let batched = source.counts_many(&asks, range).await;
        for (ask, b) in asks.iter().zip(&batched) {
            let one = source.counts(ask, range).await;
            assert!(b.errors.is_empty(), "{:?}", b.errors);
            eprintln!(
                "measured {}: batched {:?}",
                ask.spec.queries().join(", "),
                b.buckets
            );
            assert_eq!(b.buckets, one.buckets, "{:?}", ask.spec);
        }
        // The gap series: every increment from its last scrape before the gap to its return is
        // in the first bucket (it came back at from + 45 s), none lost.
        let total = |b: &Bucket| match b {
            Bucket::Known { total, .. } => *total,
            _ => f64::NAN,
        };
        let first = total(&batched[0].buckets[0]);
        let before = gap(from - 480).expect("a value before the gap");
        let back = gap(from + 60).expect("a value after the gap");
        assert_eq!(first, (back - before) as f64, "{:?}", batched[0].buckets);
    });
}
