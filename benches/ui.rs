//! Criterion benchmark of the web UI's server time (issue 13, item 5): the SLO list with 1,000
//! SLOs, and one SLO's detail page over 30 days of 1-minute buckets (each period's history within
//! 2,000 points, the current policy replayed over the stored history, past periods). Also prints
//! each page's weight. Run: `cargo bench --bench ui`.

use criterion::{Criterion, criterion_group, criterion_main};
use slowburn::budget::{Bucket, Series, evaluate};
use slowburn::duration::Dur;
use slowburn::engine::{SloView, Snapshot};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

fn bench_ui(c: &mut Criterion) {
    let mut yaml = String::from("defaults: {windows: [30d, 7d]}\nslos:\n");
    for i in 0..1_000 {
        yaml.push_str(&format!(
            "  - {{service: svc{:02}, name: slo{i}, objective: 99.9, labels: {{team: t{}}}, sla: {{objective: 99}}, sli: {{ratio: {{errors: 'x{{code=\"500\"}}', total: x}}}}}}\n",
            i % 40,
            i % 7
        ));
    }
    let cfg = slowburn::config::parse_str(&yaml, "bench.yaml", &|_| None).expect("valid config");
    let width = 60;
    // 60 days of minutes with a daily cycle of errors and an hour-long incident.
    let n = 60 * 1440;
    let buckets: Vec<Bucket> = (0..n)
        .map(|i| {
            let bad = if (40_000..40_060).contains(&i) {
                300.0
            } else {
                (i % 1440) as f64 / 1440.0
            };
            Bucket::known(1000.0 - bad, 1000.0)
        })
        .collect();
    let at = n as i64 * width;
    let series = Series::from_buckets(0, Dur::from_secs(width as u64), &buckets);
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
        width,
        slos,
        metrics: Default::default(),
        groups: Vec::new(),
    };
    let q = BTreeMap::new();
    let grouped: BTreeMap<String, String> =
        [("group".to_string(), "label:team".to_string())].into();
    let list = slowburn::server::ui::list_html(&snap, &q);
    let s = &snap.slos[0];
    let from = slowburn::server::ui::detail_from(s, at, width);
    // The buckets start at 0: the read begins `from / width` buckets in.
    let start = (from / width) as usize;
    let detail =
        slowburn::server::ui::detail_html(s, at, width, from, &buckets[start..], &[], Vec::new());
    println!(
        "page weight: list of 1,000 SLOs {} bytes, detail (30d + 7d) {} bytes, style.css {} bytes, app.js {} bytes",
        list.len(),
        detail.len(),
        slowburn::ui::STYLE_CSS.len(),
        slowburn::ui::APP_JS.len()
    );
    c.bench_function("list page, 1,000 SLOs", |b| {
        b.iter(|| black_box(slowburn::server::ui::list_html(&snap, &q)))
    });
    c.bench_function("list page, 1,000 SLOs grouped by team", |b| {
        b.iter(|| black_box(slowburn::server::ui::list_html(&snap, &grouped)))
    });
    c.bench_function("detail page, 30 days of 1-minute buckets", |b| {
        b.iter(|| {
            black_box(slowburn::server::ui::detail_html(
                s,
                at,
                width,
                from,
                &buckets[start..],
                &[],
                Vec::new(),
            ))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_ui
}
criterion_main!(benches);
