//! Over a long range (`report`, a first start's backfill) a selector whose series are some of
//! another's is read out of that one's answer instead of asked again (issue 25): on a real
//! Prometheus, every SLO's counts come back as its own one-by-one queries give them, for regex
//! and negative matchers, series without the label, a counter reset and a selector written twice,
//! while a regex whose meaning may differ between RE2 and Rust keeps its own request.

use crate::common::*;
use slowburn::source::BucketRange;
use std::io::Write;

#[test]
fn narrower_selectors_read_from_a_wider_answer_count_as_their_own_queries_do() {
    if !require_prometheus() {
        return;
    }
    let end = history_end();
    // 120 one-minute buckets: longer than a tick's range, so each family is one request.
    let range = BucketRange {
        start: end - 7200,
        count: 120,
        width: 60,
    };
    let t0 = end - 3 * 3600;
    let prom = start_prometheus_with(|f| {
        writeln!(f, "# TYPE req counter").unwrap();
        for (labels, per) in [
            ("code=\"200\",svc=\"a\"", 10),
            ("code=\"500\",svc=\"a\"", 2),
            ("code=\"503\",svc=\"a\"", 1),
            ("code=\"5000\",svc=\"a\"", 7),
            ("svc=\"a\"", 3),
            ("code=\"500\",svc=\"b\"", 5),
        ] {
            for t in (t0..=end).step_by(15) {
                // The 503 series restarts halfway, at a bucket's edge, with that bucket's
                // increase as its first value (a reset counts the new value as the increase).
                let v = if labels.contains("503") && t >= t0 + 5400 {
                    per * (t - t0 - 5340) / 15
                } else {
                    per * (t - t0) / 15
                };
                writeln!(f, "req_total{{{labels}}} {v} {t}").unwrap();
            }
        }
        writeln!(f, "# EOF").unwrap();
    });
    let slos = [
        r#"errors: 'req_total{svc="a",code=~"5.."}', total: 'req_total{svc="a"}'"#,
        r#"errors: 'req_total{svc="a",code!~"2.."}', total: 'req_total{ svc = "a" }'"#,
        r#"errors: 'req_total{svc="a",code="404"}', total: 'req_total{svc="a",code!="200"}'"#,
        r#"errors: 'req_total{svc="a",code=~"5\\d\\d"}', total: 'req_total{svc="a"}'"#,
    ];
    let mut yaml = format!("prometheus: {{url: \"{}\"}}\nslos:\n", prom.url);
    for (k, s) in slos.iter().enumerate() {
        yaml.push_str(&format!(
            "  - {{service: s, name: n{k}, objective: 99, sli: {{ratio: {{{s}}}}}}}\n"
        ));
    }
    let (requests, together) = counted_together_as_alone(&yaml, range);
    // `req_total{svc="a"}` answers for all but the `\d` regex, which is asked itself.
    assert_eq!(requests, 2);
    // Four scrapes a minute: `5..` is 500 and 503 (2 + 1 a scrape, through the reset),
    // never 5000; `!~"2.."` adds 5000 and the series without `code`.
    let expect = [(12.0, 92.0), (52.0, 92.0), (0.0, 52.0), (12.0, 92.0)];
    for (k, (errors, total)) in expect.into_iter().enumerate() {
        for x in &together[k].buckets {
            assert_eq!(
                *x,
                slowburn::budget::Bucket::Known {
                    good: total - errors,
                    total
                },
                "SLO {k}"
            );
        }
    }
}
