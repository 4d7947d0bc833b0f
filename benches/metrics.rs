//! Criterion benchmark of `/metrics` rendering (issue 3 target: 10,000 SLOs in ≤ 100 ms).
//! Run: `cargo bench --bench metrics`.

use criterion::{Criterion, criterion_group, criterion_main};
use slowburn::budget::{Bucket, Series, evaluate};
use slowburn::duration::Dur;
use slowburn::engine::{Shared, SloView, Snapshot};
use slowburn::source::Sources;
use std::hint::black_box;
use std::sync::Arc;

fn bench_metrics(c: &mut Criterion) {
    let mut yaml = String::from("defaults: {windows: [30d, 7d]}\nslos:\n");
    for i in 0..10_000 {
        yaml.push_str(&format!(
            "  - {{service: svc{:03}, name: slo{i}, objective: 99.9, sla: {{objective: 99}}, sli: {{ratio: {{errors: 'x{{code=\"500\"}}', total: x}}}}}}\n",
            i % 100
        ));
    }
    let cfg = slowburn::config::parse_str(&yaml, "bench.yaml", &|_| None).expect("valid config");
    let minute = Dur::from_secs(60);
    let buckets: Vec<Bucket> = (0..43_200)
        .map(|i| Bucket::known(990.0 + (i % 10) as f64, 1000.0))
        .collect();
    let series = Series::from_buckets(0, minute, &buckets);
    let at = 43_200 * 60;
    let slos: Vec<SloView> = cfg
        .slos
        .iter()
        .map(|slo| SloView {
            slo: Arc::new(slo.clone()),
            eval: evaluate(&series, slo.objective, &slo.periods, at),
            sla_sli: Some(0.995),
            series: 1,
            last_error: None,
            notice: None,
            sanity: [0; 4],
            alerts: Default::default(),
            rule_sums: Default::default(),
            dashboard: None,
        })
        .collect();
    let snap = Snapshot {
        at,
        width: 60,
        slos,
        metrics: Default::default(),
        groups: Vec::new(),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(slowburn::store::Store::open(dir.path()).expect("store"));
    let shared = Shared::new(store);
    let sources = Sources::default();
    let text = slowburn::server::metrics::render(&shared, &sources, &snap);
    println!(
        "/metrics for 10,000 SLOs: {} lines, {:.1} MiB",
        text.lines().count(),
        text.len() as f64 / 1048576.0
    );
    // Series per SLO (30d and 7d periods, an SLA, no alert firing) for each `metrics:` setting.
    let per_slo = |m: slowburn::config::MetricsSettings| {
        let one = Snapshot {
            slos: snap.slos[..1].to_vec(),
            metrics: m,
            ..snap.clone()
        };
        let text = slowburn::server::metrics::render(&shared, &sources, &one);
        text.lines()
            .filter(|l| {
                !l.starts_with('#')
                    && (l.starts_with("slo") || l.starts_with("pyrra") || l.starts_with("ALERTS"))
            })
            .count()
    };
    let m = |full, sloth, pyrra| slowburn::config::MetricsSettings { full, sloth, pyrra };
    println!(
        "series per SLO: default {}, detail: full {}, compat sloth +{}, compat pyrra +{}",
        per_slo(m(false, false, false)),
        per_slo(m(true, false, false)),
        per_slo(m(false, true, false)) - per_slo(m(false, false, false)),
        per_slo(m(false, false, true)) - per_slo(m(false, false, false)),
    );
    c.bench_function("render /metrics, 10k SLOs", |b| {
        b.iter(|| black_box(slowburn::server::metrics::render(&shared, &sources, &snap)))
    });
}

criterion_group!(benches, bench_metrics);
criterion_main!(benches);
