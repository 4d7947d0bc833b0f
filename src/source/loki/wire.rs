//! Loki's JSON answers, decoded and believed only when whole: the body of a successful query
//! and its metric matrix. Pure, so the fuzzer reaches it without a server. A matrix with two
//! series of one label set, or two points of a series at one instant (or out of order), breaks
//! Loki's contract and is refused, like Prometheus's (`super::super::prometheus::wire`).

use serde::Deserialize;
use std::collections::{HashMap, HashSet};

/// One series of a metric result: labels and `(unix seconds, value)` points.
pub type Matrix = Vec<(HashMap<String, String>, Vec<(i64, f64)>)>;

/// A successful answer's data.
#[derive(Debug, Deserialize)]
pub struct Data {
    /// `matrix`, `vector`, `streams`.
    #[serde(rename = "resultType")]
    pub result_type: String,
    /// The result, read by [`matrix`] or by the caller.
    pub result: serde_json::Value,
    /// Query statistics, when Loki sent them.
    pub stats: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Data>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct MatrixSeries {
    #[serde(default)]
    metric: HashMap<String, String>,
    values: Vec<(f64, String)>,
}

/// The data of a 2xx body, or what Loki said instead.
pub fn body(text: &str) -> Result<Data, String> {
    let env: Envelope =
        serde_json::from_str(text).map_err(|e| format!("not a Loki query response ({e})"))?;
    match (env.status.as_str(), env.data) {
        ("success", Some(data)) => Ok(data),
        _ => Err(env
            .error
            .unwrap_or_else(|| format!("status `{}` without data", env.status))),
    }
}

/// Lines Loki reports having processed (`stats.summary.totalLinesProcessed`).
pub fn lines_processed(data: &Data) -> Option<u64> {
    data.stats
        .as_ref()?
        .pointer("/summary/totalLinesProcessed")?
        .as_u64()
}

/// A metric matrix, checked: one series per label set, points strictly increasing. Points
/// between whole seconds and values that are not finite are left out (bucket ends are whole
/// seconds; a NaN quantile of an empty window is no value).
pub fn matrix(result: serde_json::Value) -> Result<Matrix, String> {
    let series: Vec<MatrixSeries> =
        serde_json::from_value(result).map_err(|e| format!("cannot read the matrix: {e}"))?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(series.len());
    for s in series {
        let mut key: Vec<(&String, &String)> = s.metric.iter().collect();
        key.sort_unstable();
        if !seen.insert(format!("{key:?}")) {
            return Err(format!("two series with the labels {key:?}"));
        }
        let mut last = f64::NEG_INFINITY;
        let mut pts = Vec::with_capacity(s.values.len());
        for (ts, v) in &s.values {
            if ts.is_nan() || *ts <= last {
                return Err(format!(
                    "series {key:?}: a point at {ts} after one at {last} (two samples at one instant or out of order)"
                ));
            }
            last = *ts;
            let value: f64 = v
                .parse()
                .map_err(|_| format!("series {key:?}: the value `{v}` is not a number"))?;
            if let Some(t) = whole_seconds(*ts)
                && value.is_finite()
            {
                pts.push((t, value));
            }
        }
        out.push((s.metric, pts));
    }
    Ok(out)
}

/// A point's timestamp when it is a whole second (bucket ends always are).
pub fn whole_seconds(ts: f64) -> Option<i64> {
    let r = ts.round();
    ((ts - r).abs() < 1e-6 && r.abs() < 1e15).then_some(r as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_matrix_reads_and_contract_breaks_are_refused() {
        let m = matrix(json!([{"metric": {"app": "a"}, "values": [[60, "1"], [120.5, "2"], [180, "NaN"], [240, "4"]]}])).unwrap();
        assert_eq!(m[0].1, vec![(60, 1.0), (240, 4.0)]);
        let dup = matrix(json!([{"metric": {}, "values": [[60, "1"], [60, "1"]]}])).unwrap_err();
        assert!(dup.contains("two samples at one instant"), "{dup}");
        let twice = matrix(
            json!([{"metric": {"a": "1"}, "values": []}, {"metric": {"a": "1"}, "values": []}]),
        )
        .unwrap_err();
        assert!(twice.contains("two series"), "{twice}");
        assert!(matrix(json!([{"metric": {}, "values": [[60, "x"]]}])).is_err());
    }

    #[test]
    fn bodies_say_what_loki_said() {
        assert_eq!(
            body(r#"{"status":"error","error":"parse error"}"#).unwrap_err(),
            "parse error"
        );
        assert!(
            body("<html>")
                .unwrap_err()
                .starts_with("not a Loki query response")
        );
        let d = body(r#"{"status":"success","data":{"resultType":"matrix","result":[],"stats":{"summary":{"totalLinesProcessed":7}}}}"#).unwrap();
        assert_eq!(lines_processed(&d), Some(7));
    }
}
