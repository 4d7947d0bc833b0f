//! Prometheus's JSON answers, decoded by slowburn's own types and believed only when whole.
//!
//! `prometheus-http-query` 0.9 drops `warnings` (so a partial answer of a Thanos store or a failed
//! remote read counted as complete), fails a whole matrix that holds a native-histogram series,
//! and turns an `errorType` it does not know (`not_acceptable`, Mimir's `too_many_requests`) into
//! "failed to parse JSON", losing the HTTP status. Everything here is pure: the adapter hands in
//! the status, headers and body, and gets back points or a [`Failure`] that says whether asking
//! again can help (how long to wait first is the shared [`crate::http`] layer's business, which
//! reads `Retry-After`).
//!
//! Not every warning means partial data: since Prometheus 2.46, `warnings` and `infos` also carry
//! PromQL annotations about the query itself (`PromQL warning: …`, `PromQL info: …`: a bucket
//! without `le`, a metric that might not be a counter), whose data is whole. [`split_remarks`]
//! keeps those apart, so such an SLI is counted; every other warning (a failed remote read, a
//! Thanos store that did not answer) still makes the answer partial.

pub use super::labels::Labels;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};

/// One series of a range result: labels and `(timestamp, value)` points.
pub type Matrix = Vec<(Labels, Series)>;

/// One series' `(timestamp, value)` points: inline for a tick's few (25,000 series a tick at
/// 10,000 SLOs each had a buffer of their own), on the heap for a month's piece.
pub type Series = smallvec::SmallVec<[(i64, f64); 8]>;

/// Longest piece of a body kept in a message (an HTML error page says nothing after this).
const MAX_MESSAGE: usize = 400;
/// How PromQL's annotations begin (`util/annotations/annotations.go`): they describe the query,
/// not missing data.
const ANNOTATION_PREFIXES: [&str; 2] = ["PromQL warning:", "PromQL info:"];

/// How a range answer's values must look: counters are never NaN or infinite (Prometheus stores
/// them as floats but a counter sample that is not finite is a broken exporter or a broken
/// backend, and counting it would burn or hide budget); expressions may be NaN (`0/0` of an
/// idle service) and such points are simply absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values {
    /// Raw counter samples: every value finite and at least zero.
    Counter,
    /// Computed values: non-finite points are dropped.
    Computed,
}

/// The instants a range query asked for: `start, start + step, …, ≤ end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    /// First instant (unix seconds).
    pub start: i64,
    /// Last instant asked for (inclusive).
    pub end: i64,
    /// Seconds between instants.
    pub step: i64,
}

/// A range answer that kept the API's contract.
#[derive(Debug, Default, PartialEq)]
pub struct RangeAnswer {
    /// Float series (native-histogram-only series are left out).
    pub matrix: Matrix,
    /// `warnings` of the envelope that are not PromQL annotations: non-empty means the data may
    /// be partial.
    pub warnings: Vec<String>,
    /// PromQL annotations from `warnings` and `infos`: they describe the query, its data is whole.
    pub annotations: Vec<String>,
    /// Series that carried only native histograms, which slowburn does not count.
    pub histogram_series: usize,
    /// `stats.samples.totalQueryableSamples`, when asked for.
    pub samples: u64,
}

/// Why an answer cannot be used, and whether asking again may help.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Worth another attempt (5xx, 429, timeouts, network).
    pub retriable: bool,
    /// What went wrong, in the backend's own words where it gave some.
    pub message: String,
    /// The answer arrived but broke the API's contract (duplicated or non-finite samples,
    /// instants never asked for): the backend is wrong, not the query.
    pub contract: bool,
}

impl Failure {
    fn new(retriable: bool, message: String) -> Self {
        Failure {
            retriable,
            message,
            contract: false,
        }
    }
    fn contract(message: String) -> Self {
        Failure {
            contract: true,
            ..Failure::new(false, message)
        }
    }
}

impl crate::http::Verdict for Failure {
    fn retriable(&self) -> bool {
        self.retriable
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    status: String,
    /// Kept as raw text and decoded once into the shape each answer needs: going through a
    /// `serde_json::Value` first cost more CPU than all else in a tick of 10,000 SLOs.
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
    #[serde(default)]
    infos: Option<Vec<String>>,
}

/// A successful envelope read in one pass with its `data` in the shape the caller wants: a
/// `report` of 30 SLOs spent a sixth of its CPU in [`envelope`]'s first pass, which reads every
/// byte of `data` only to find where it ends. Anything else (an error, a body that is not
/// Prometheus's JSON, `data` of another shape) goes through [`envelope`], which says why.
#[derive(Deserialize)]
struct Typed<D> {
    status: String,
    data: Option<D>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
    #[serde(default)]
    infos: Option<Vec<String>>,
}

/// [`Typed`]: the data and the remarks split by [`split_remarks`], or `None` when the answer
/// is not a whole success of that shape.
fn typed<'a, D: Deserialize<'a>>(a: Answer<'a>) -> Option<(D, Vec<String>, Vec<String>)> {
    let json = a
        .content_type
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    if !json || !(200..300).contains(&a.status) {
        return None;
    }
    let t: Typed<D> = serde_json::from_slice(a.body).ok()?;
    if t.status != "success" {
        return None;
    }
    let (warnings, annotations) =
        split_remarks(t.warnings.unwrap_or_default(), t.infos.unwrap_or_default());
    Some((t.data?, warnings, annotations))
}

/// A successful envelope: its `data`, and its remarks split by [`split_remarks`].
struct Said<'a> {
    data: &'a RawValue,
    warnings: Vec<String>,
    annotations: Vec<String>,
}

/// An instant answer as the health check and `validate --online` read it.
#[derive(Debug, Default, PartialEq)]
pub struct InstantAnswer {
    /// Series in the result (1 for a scalar or a string).
    pub series: usize,
    /// Warnings that are not PromQL annotations: the data may be partial.
    pub warnings: Vec<String>,
    /// PromQL annotations about the query (its data is whole), shown by `validate --online`.
    pub annotations: Vec<String>,
}

#[derive(Deserialize)]
struct RangeData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<RangeSeries>,
    #[serde(default)]
    stats: Option<Stats>,
}

#[derive(Deserialize)]
struct RangeSeries {
    #[serde(default)]
    metric: Labels,
    #[serde(default)]
    values: Option<Points>,
    #[serde(default)]
    histograms: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    samples: Option<SampleStats>,
}

#[derive(Deserialize)]
struct SampleStats {
    #[serde(default, rename = "totalQueryableSamples")]
    total: i64,
}

#[derive(Deserialize)]
struct InstantData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<IgnoredAny>,
}

/// A sample's value as Prometheus writes it (a decimal in a string), parsed as it is read so no
/// string is allocated per sample; what does not parse keeps its text for the error.
enum Num {
    Ok(f64),
    Bad(String),
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Num;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sample value in a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Num, E> {
                Ok(v.parse().map_or_else(|_| Num::Bad(clip(v)), Num::Ok))
            }
        }
        d.deserialize_str(Visit)
    }
}

thread_local! {
    /// The grid and kind of values of the range answer being decoded on this thread: a series'
    /// points are checked and stored as they are read ([`Points`]), with no copy of the raw
    /// pairs in between (that copy and its growth were a fifth of a 30-SLO `report`'s CPU).
    static READING: std::cell::Cell<Option<(Grid, Values)>> = const { std::cell::Cell::new(None) };
}

/// One series' `values`, checked by [`check_point`] while read: the points, or what was wrong
/// with the first point that broke the contract.
struct Points(Result<Series, String>);

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Points;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of [timestamp, value] pairs")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Points, A::Error> {
                let Some((grid, values)) = READING.get() else {
                    return Err(serde::de::Error::custom(
                        "points read outside a range answer",
                    ));
                };
                // As many as the grid holds (a month's piece is 9,600), bounded; a sparse series
                // gives back what it did not use below.
                let room = ((grid.end - grid.start) / grid.step.max(1) + 1).clamp(1, 16_384);
                let mut pts = Series::with_capacity(room as usize);
                let mut last = None;
                let mut broken = None;
                while let Some((ts, v)) = seq.next_element::<(f64, Num)>()? {
                    if broken.is_none()
                        && let Err(m) = check_point(&mut pts, &mut last, ts, v, grid, values)
                    {
                        broken = Some(m);
                    }
                }
                if pts.len() < pts.capacity() / 2 {
                    pts.shrink_to_fit();
                }
                Ok(Points(broken.map_or(Ok(pts), Err)))
            }
        }
        d.deserialize_seq(Visit)
    }
}

/// The parts of an HTTP answer the decoders read.
#[derive(Clone, Copy, Debug)]
pub struct Answer<'a> {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type`, when present.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// Decodes a `query_range` answer and checks it against the grid that was asked for.
pub fn decode_range(a: Answer<'_>, grid: Grid, values: Values) -> Result<RangeAnswer, Failure> {
    READING.set(Some((grid, values)));
    let decoded = decode_range_data(a);
    READING.set(None);
    let (data, warnings, annotations) = decoded?;
    if data.result_type != "matrix" {
        return Err(Failure::contract(format!(
            "a range query answered with a `{}` result, not a `matrix`",
            data.result_type
        )));
    }
    let mut out = RangeAnswer {
        warnings,
        annotations,
        samples: data
            .stats
            .and_then(|s| s.samples)
            .map(|s| s.total.max(0) as u64)
            .unwrap_or(0),
        ..RangeAnswer::default()
    };
    for s in data.result {
        let Some(Points(pts)) = s.values else {
            if s.histograms.is_some() {
                out.histogram_series += 1;
            }
            continue;
        };
        let pts = pts.map_err(|m| Failure::contract(format!("series {}: {m}", s.metric)))?;
        out.matrix.push((s.metric, pts));
    }
    // Two series with one label set would be counted twice: sorted references find them
    // without copying a label.
    let mut order: Vec<&Labels> = out.matrix.iter().map(|(l, _)| l).collect();
    order.sort_unstable();
    if let Some(w) = order.windows(2).find(|w| w[0] == w[1]) {
        return Err(Failure::contract(format!(
            "two series with the same labels {}",
            w[0]
        )));
    }
    Ok(out)
}

/// [`decode_range`]'s envelope and data, in one pass when the answer is a whole success.
fn decode_range_data(a: Answer<'_>) -> Result<(RangeData, Vec<String>, Vec<String>), Failure> {
    if let Some(whole) = typed::<RangeData>(a) {
        return Ok(whole);
    }
    let said = envelope(a)?;
    let data: RangeData = serde_json::from_str(said.data.get())
        .map_err(|e| Failure::new(false, format!("cannot read the range result: {e}")))?;
    Ok((data, said.warnings, said.annotations))
}

/// One point of a series, checked and kept in `pts`: its instant on the grid and after the
/// previous one `last` (so never two samples at one instant), its value as [`Values`] demands
/// (a computed value that is not finite is simply absent, its instant still taken).
fn check_point(
    pts: &mut Series,
    last: &mut Option<i64>,
    ts: f64,
    v: Num,
    grid: Grid,
    values: Values,
) -> Result<(), String> {
    // The usual point: a whole second, the next instant of the grid (no rounding, no division).
    let next = last.map_or(grid.start, |l| l + grid.step);
    let whole = ts as i64;
    let t = if whole as f64 == ts && whole == next && whole <= grid.end {
        whole
    } else {
        let t = ts.round();
        if (ts - t).abs() > 1e-3 || t < grid.start as f64 || t > grid.end as f64 {
            return Err(format!(
                "a sample at {ts}, outside the range asked for ({}..={})",
                grid.start, grid.end
            ));
        }
        t as i64
    };
    if t != next && (t - grid.start) % grid.step != 0 {
        return Err(format!(
            "a sample at {t}, between the steps of {} s asked for",
            grid.step
        ));
    }
    if let Some(prev) = *last
        && t <= prev
    {
        return Err(if t == prev {
            format!("two samples at {t}")
        } else {
            format!("samples out of order ({t} after {prev})")
        });
    }
    *last = Some(t);
    let x = match v {
        Num::Ok(x) => x,
        Num::Bad(text) => return Err(format!("the value `{text}` at {t} is not a number")),
    };
    match values {
        Values::Counter if !x.is_finite() || x < 0.0 => Err(format!(
            "the counter value `{x}` at {t} (a counter is finite and never negative)"
        )),
        Values::Computed if !x.is_finite() => Ok(()),
        _ => {
            pts.push((t, x));
            Ok(())
        }
    }
}

/// Decodes an instant `query` answer: its number of series (or 1 for a scalar) and remarks.
pub fn decode_instant(a: Answer<'_>) -> Result<InstantAnswer, Failure> {
    let said = envelope(a)?;
    let data: InstantData = serde_json::from_str(said.data.get())
        .map_err(|e| Failure::new(false, format!("cannot read the result: {e}")))?;
    Ok(InstantAnswer {
        series: match data.result_type.as_str() {
            "vector" | "matrix" => data.result.len(),
            _ => 1,
        },
        warnings: said.warnings,
        annotations: said.annotations,
    })
}

/// Decodes an instant `query` answer into its series' label sets (a grouped SLO's members); a
/// partial answer is refused, since a member missing from it would look retired.
pub fn decode_instant_labels(a: Answer<'_>) -> Result<Vec<BTreeMap<String, String>>, Failure> {
    #[derive(Deserialize)]
    struct Data {
        #[serde(rename = "resultType")]
        result_type: String,
        result: Vec<Series>,
    }
    #[derive(Deserialize)]
    struct Series {
        #[serde(default)]
        metric: BTreeMap<String, String>,
    }
    let said = envelope(a)?;
    if !said.warnings.is_empty() {
        return Err(Failure::new(
            true,
            format!("partial answer: {}", said.warnings.join("; ")),
        ));
    }
    let data: Data = serde_json::from_str(said.data.get())
        .map_err(|e| Failure::new(false, format!("cannot read the result: {e}")))?;
    if data.result_type != "vector" {
        return Err(Failure::new(
            false,
            format!("expected a vector, got a {}", data.result_type),
        ));
    }
    Ok(data.result.into_iter().map(|s| s.metric).collect())
}

/// Decodes an instant `query` answer into the number of series (or 1 for a scalar).
pub fn decode_instant_count(a: Answer<'_>) -> Result<usize, Failure> {
    decode_instant(a).map(|i| i.series)
}

/// Decodes `GET /api/v1/status/flags` (a map of flag names to string values).
pub fn decode_flags(a: Answer<'_>) -> Result<HashMap<String, String>, Failure> {
    let said = envelope(a)?;
    serde_json::from_str(said.data.get())
        .map_err(|e| Failure::new(false, format!("cannot read flags: {e}")))
}

/// Decodes any successful envelope's `data` as it is (`GET /api/v1/status/buildinfo`, whose
/// fields differ by engine).
pub fn decode_data(a: Answer<'_>) -> Result<serde_json::Value, Failure> {
    let said = envelope(a)?;
    serde_json::from_str(said.data.get())
        .map_err(|e| Failure::new(false, format!("cannot read the answer: {e}")))
}

/// Whether a `warnings` entry is a PromQL annotation about the query rather than a sign of
/// partial data. Past ten warnings Prometheus adds "N more warning annotations omitted"; what it
/// left out may be a failed remote read, so that line is not an annotation.
pub fn is_annotation(warning: &str) -> bool {
    let w = warning.trim_start();
    ANNOTATION_PREFIXES.iter().any(|p| w.starts_with(p))
}

/// An answer's `warnings` and `infos` as (partial-data warnings, annotations). Every `infos`
/// entry is an annotation: Prometheus files only PromQL infos there (and its "more info
/// annotations omitted" line), never a storage failure.
pub fn split_remarks(warnings: Vec<String>, infos: Vec<String>) -> (Vec<String>, Vec<String>) {
    let (mut annotations, partial): (Vec<String>, Vec<String>) =
        warnings.into_iter().partition(|w| is_annotation(w));
    annotations.extend(infos);
    (partial, annotations)
}

/// The envelope's `data` and remarks on success; otherwise the failure, classified by the
/// HTTP status and the `errorType` (known or not).
fn envelope<'a>(a: Answer<'a>) -> Result<Said<'a>, Failure> {
    let json = a
        .content_type
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    let env: Option<Envelope> = if json {
        serde_json::from_slice(a.body).ok()
    } else {
        None
    };
    let success = (200..300).contains(&a.status);
    match env {
        Some(e) if success && e.status == "success" => match e.data {
            Some(data) => {
                let (warnings, annotations) =
                    split_remarks(e.warnings.unwrap_or_default(), e.infos.unwrap_or_default());
                Ok(Said {
                    data,
                    warnings,
                    annotations,
                })
            }
            None => Err(Failure::contract("a success without `data`".into())),
        },
        Some(e) => {
            let kind = e.error_type.unwrap_or_default();
            let text = e.error.unwrap_or_default();
            let mut f = classify(a.status, &kind);
            f.message = format!("HTTP {} {kind}: {}", a.status, clip(&text));
            Err(f)
        }
        None if success => Err(Failure::contract(format!(
            "HTTP {} with a body that is not Prometheus's JSON envelope: {}",
            a.status,
            clip(&String::from_utf8_lossy(a.body))
        ))),
        None => {
            let mut f = classify(a.status, "");
            f.message = format!(
                "HTTP {}: {}",
                a.status,
                clip(&String::from_utf8_lossy(a.body))
            );
            Err(f)
        }
    }
}

/// Whether a failure is worth another attempt: overload, timeouts and server errors are; a query
/// the server cannot or will not run (400, 406, 413, 422) is not. Unknown error types fall back
/// on the HTTP status.
pub fn classify(status: u16, error_type: &str) -> Failure {
    let retriable = match error_type {
        "timeout" | "internal" | "unavailable" | "canceled" | "too_many_requests" => true,
        "bad_data" | "execution" | "not_found" | "not_acceptable" | "too_large_entry" => false,
        _ => matches!(status, 408 | 429 | 499) || (500..600).contains(&status),
    } && !matches!(status, 406 | 413);
    Failure::new(retriable, String::new())
}

fn clip(s: &str) -> String {
    let t = s.trim();
    match t.char_indices().nth(MAX_MESSAGE) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRID: Grid = Grid {
        start: 600,
        end: 1200,
        step: 300,
    };

    fn ok(body: &str) -> Answer<'_> {
        Answer {
            status: 200,
            content_type: Some("application/json"),
            body: body.as_bytes(),
        }
    }

    fn matrix(series: &str) -> String {
        format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{series}]}}}}"#)
    }

    #[test]
    fn a_whole_answer_reads_as_points_with_its_samples_count() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[600,"1"],[900,"2.5"],[1200,"4"]]}],"stats":{"samples":{"totalQueryableSamples":42}}}}"#;
        let a = decode_range(ok(body), GRID, Values::Counter).unwrap();
        assert_eq!(a.matrix[0].1[..], [(600, 1.0), (900, 2.5), (1200, 4.0)]);
        assert_eq!(a.samples, 42);
        assert!(a.warnings.is_empty());
    }

    #[test]
    fn warnings_are_kept_so_a_partial_answer_is_not_believed() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[]},"warnings":["remote read: store 10.0.0.7 unavailable"],"infos":["x"]}"#;
        let a = decode_range(ok(body), GRID, Values::Counter).unwrap();
        assert_eq!(a.warnings, vec!["remote read: store 10.0.0.7 unavailable"]);
        assert_eq!(a.annotations, vec!["x"], "infos are annotations");
    }

    #[test]
    fn promql_annotations_are_not_partial_data() {
        let warn = r#"PromQL warning: bucket label \"le\" is missing or has a malformed value of \"\" for metric name \"x\" (1:6)"#;
        let info = r#"PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"up\" (1:10)"#;
        let body = format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":[[600,"1"]]}}]}},"warnings":["{warn}"],"infos":["{info}"]}}"#
        );
        let a = decode_range(ok(&body), GRID, Values::Counter).unwrap();
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        assert_eq!(a.annotations.len(), 2);
        assert!(a.annotations[0].starts_with("PromQL warning: bucket label"));
        assert!(a.annotations[1].starts_with("PromQL info: metric might not"));
        assert_eq!(a.matrix[0].1[..], [(600, 1.0)], "the data is counted");
    }

    #[test]
    fn only_annotations_are_set_apart_from_partial_warnings() {
        let (partial, annotations) = split_remarks(
            vec![
                "PromQL warning: vector contains a mix of classic and native histograms".into(),
                "remote_read: connection refused".into(),
                "3 more warning annotations omitted".into(),
                "promql warning: lower case is not Prometheus's spelling".into(),
            ],
            vec!["2 more info annotations omitted".into()],
        );
        assert_eq!(
            partial,
            vec![
                "remote_read: connection refused",
                "3 more warning annotations omitted",
                "promql warning: lower case is not Prometheus's spelling",
            ],
            "what Prometheus left out may be a failed remote read"
        );
        assert_eq!(
            annotations,
            vec![
                "PromQL warning: vector contains a mix of classic and native histograms",
                "2 more info annotations omitted",
            ]
        );
        assert!(is_annotation("PromQL info: ignored histogram in sum"));
        assert!(!is_annotation("PromQL warning"), "the prefix has its colon");
    }

    #[test]
    fn native_histogram_series_are_counted_not_fatal() {
        let body = matrix(
            r#"{"metric":{"a":"1"},"histograms":[[600,{"count":"3","sum":"1","buckets":[]}]]},{"metric":{"a":"2"},"values":[[600,"1"]]}"#,
        );
        let a = decode_range(ok(&body), GRID, Values::Counter).unwrap();
        assert_eq!(a.histogram_series, 1);
        assert_eq!(a.matrix.len(), 1);
    }

    #[test]
    fn contract_breaks_are_refused() {
        for (series, why) in [
            (
                r#"{"metric":{},"values":[[600,"1"],[600,"1"]]}"#,
                "two samples",
            ),
            (
                r#"{"metric":{},"values":[[900,"1"],[600,"1"]]}"#,
                "out of order",
            ),
            (r#"{"metric":{},"values":[[600,"NaN"]]}"#, "counter value"),
            (r#"{"metric":{},"values":[[600,"+Inf"]]}"#, "counter value"),
            (r#"{"metric":{},"values":[[600,"-1"]]}"#, "counter value"),
            (r#"{"metric":{},"values":[[1500,"1"]]}"#, "outside"),
            (r#"{"metric":{},"values":[[0,"1"]]}"#, "outside"),
            (r#"{"metric":{},"values":[[700,"1"]]}"#, "between the steps"),
            (r#"{"metric":{},"values":[[600.5,"1"]]}"#, "outside"),
            (r#"{"metric":{},"values":[[600,"x"]]}"#, "not a number"),
            (
                r#"{"metric":{"a":"1"},"values":[]},{"metric":{"a":"1"},"values":[]}"#,
                "same labels",
            ),
        ] {
            let e = decode_range(ok(&matrix(series)), GRID, Values::Counter).unwrap_err();
            assert!(e.contract && !e.retriable, "{series}: {e:?}");
            assert!(e.message.contains(why), "{series}: {}", e.message);
        }
    }

    #[test]
    fn computed_values_may_be_nan_and_are_then_absent() {
        let body = matrix(r#"{"metric":{},"values":[[600,"NaN"],[900,"2"]]}"#);
        let a = decode_range(ok(&body), GRID, Values::Computed).unwrap();
        assert_eq!(a.matrix[0].1[..], [(900, 2.0)]);
    }

    #[test]
    fn unknown_error_types_keep_their_status() {
        // `Retry-After` is read by the shared HTTP layer (crate::http::retry_after's tests).
        let err = |status, kind: &str, _retry: Option<&'static str>| {
            let body = format!(r#"{{"status":"error","errorType":"{kind}","error":"slow down"}}"#);
            let a = Answer {
                status,
                content_type: Some("application/json; charset=utf-8"),
                body: body.as_bytes(),
            };
            decode_range(a, GRID, Values::Counter).unwrap_err()
        };
        let f = err(429, "too_many_requests", Some("7"));
        assert!(f.retriable && !f.contract);
        assert!(f.message.contains("429") && f.message.contains("slow down"));
        assert!(err(429, "something_new", Some("3600")).retriable);
        assert!(!err(413, "too_large_entry", None).retriable);
        assert!(!err(406, "not_acceptable", None).retriable);
        assert!(
            !err(413, "internal", None).retriable,
            "413 is never retried"
        );
        assert!(!err(400, "bad_data", None).retriable);
        assert!(!err(422, "execution", None).retriable);
        assert!(err(503, "timeout", None).retriable);
        assert!(err(500, "brand_new", None).retriable);
        assert!(!err(418, "brand_new", None).retriable);
        assert!(!err(400, "bad_data", Some("5")).retriable);
    }

    #[test]
    fn non_json_bodies_are_reported_with_their_status() {
        let a = Answer {
            status: 502,
            content_type: Some("text/html"),
            body: b"<html>Bad Gateway</html>",
        };
        let f = decode_range(a, GRID, Values::Counter).unwrap_err();
        assert!(f.retriable);
        assert!(f.message.starts_with("HTTP 502: <html>Bad Gateway"));
        let a = Answer {
            status: 200,
            content_type: Some("text/plain"),
            body: b"ok",
        };
        assert!(decode_range(a, GRID, Values::Counter).unwrap_err().contract);
    }

    #[test]
    fn instant_answers_count_series() {
        let v = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]},{"metric":{"a":"b"},"histogram":[1,{}]}]}}"#;
        assert_eq!(decode_instant_count(ok(v)).unwrap(), 2);
        let s = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}"#;
        assert_eq!(decode_instant_count(ok(s)).unwrap(), 1);
        let annotated = r#"{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["PromQL warning: sort is ineffective for range queries since results are always ordered by labels","store gateway down"],"infos":["PromQL info: metric might not be a counter"]}"#;
        let a = decode_instant(ok(annotated)).unwrap();
        assert_eq!(a.series, 0);
        assert_eq!(a.warnings, vec!["store gateway down"]);
        assert_eq!(a.annotations.len(), 2);
    }
}
