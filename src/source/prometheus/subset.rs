//! Selectors whose series are some of another selector's, read out of its answer instead of
//! asked again: `http_requests_total{job="api",code=~"5.."}` beside `http_requests_total{job="api"}`
//! (a ratio SLI's errors and its total), or the same selector written twice.
//!
//! Over a month (`report`, a first start's backfill) every distinct selector is its own request,
//! and what Prometheus spends grows with the samples it reads. An errors selector's series are
//! all in its total's answer, with the labels that tell them apart, so asking it as well reads
//! them twice. Here each such selector takes its series from the answer of the selector it
//! narrows, by evaluating its extra matchers on each series' labels as Prometheus would.
//!
//! Only matchers whose meaning is the same here as in Prometheus are evaluated: equality, and
//! regexes built from literals, `.`, classes of literals, groups, alternation and repetition.
//! Go's RE2 and Rust's `regex` agree on those; they part on `\d`, `\w`, `\s`, `\b` (ASCII in Go,
//! Unicode here) and on flags, so a regex holding a backslash class, a `(?` or a `\p` keeps its
//! own request. One difference is left: since Prometheus 3.0 its `.` also matches a newline,
//! which Rust's `.` does not; a label value holding a newline is not one an SLO selects on.

use super::labels::Labels;
use super::merge::{Parts, parse};
use regex::Regex;
use std::collections::HashMap;

/// Most matchers of a selector searched for narrower-by-subset relations (2^n lookups).
const MAX_MATCHERS: usize = 8;

/// One matcher as [`Parts`] holds it: label, operator, value.
type Matcher = (String, &'static str, String);
/// The selectors asked themselves, by name and matchers.
type AskedSet<'a> = HashMap<(&'a str, Vec<&'a Matcher>), usize>;

/// What a derived selector adds to the selector it narrows: every matcher must hold.
#[derive(Debug)]
pub struct Filter(Vec<(String, Test)>);

#[derive(Debug)]
enum Test {
    Eq(String),
    Ne(String),
    Re(Regex),
    NotRe(Regex),
}

impl Filter {
    /// Whether a series of the wider selector's answer is also one of this selector's. A label
    /// the series lacks reads as the empty value, as in Prometheus.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|(label, test)| {
            let v = labels.get(label).unwrap_or("");
            match test {
                Test::Eq(x) => v == x,
                Test::Ne(x) => v != x,
                Test::Re(r) => r.is_match(v),
                Test::NotRe(r) => !r.is_match(v),
            }
        })
    }
}

/// For each selector, the index of the selector whose answer holds its series and the filter
/// that picks them out, or `None` when it is asked itself. The wider selector is always one that
/// is asked itself (never derived), so one request answers for a whole family.
pub fn plan(selectors: &[impl AsRef<str>]) -> Vec<Option<(usize, Filter)>> {
    let parts: Vec<Option<Parts>> = selectors.iter().map(|s| parse(s.as_ref())).collect();
    // Widest first (fewest matchers), so that every possible base is settled before what it
    // may answer for.
    let mut order: Vec<usize> = (0..selectors.len())
        .filter(|i| parts[*i].is_some())
        .collect();
    order.sort_by_key(|i| (parts[*i].as_ref().map_or(0, |p| p.matchers.len()), *i));
    let mut asked: AskedSet = HashMap::new();
    let mut out: Vec<Option<(usize, Filter)>> = (0..selectors.len()).map(|_| None).collect();
    for i in order {
        let Some(p) = &parts[i] else { continue };
        let all: Vec<&Matcher> = p.matchers.iter().collect();
        let found = (all.len() <= MAX_MATCHERS)
            .then(|| base(&asked, &p.name, &all))
            .flatten();
        match found.and_then(|(b, mask)| filter(&all, mask).map(|f| (b, f))) {
            Some(derived) => out[i] = Some(derived),
            None => {
                asked.entry((p.name.as_str(), all)).or_insert(i);
            }
        }
    }
    out
}

/// The asked selector with the same name whose matchers are a subset of `all` (the largest such
/// subset), and the bit mask of `all` it covers.
fn base(asked: &AskedSet, name: &str, all: &[&Matcher]) -> Option<(usize, u32)> {
    let n = all.len();
    let mut masks: Vec<u32> = (0..1u32 << n).collect();
    masks.sort_by_key(|m| std::cmp::Reverse(m.count_ones()));
    masks.into_iter().find_map(|mask| {
        let sub: Vec<&Matcher> = (0..n)
            .filter(|k| mask & (1 << k) != 0)
            .map(|k| all[k])
            .collect();
        asked.get(&(name, sub)).map(|b| (*b, mask))
    })
}

/// The matchers of `all` outside `mask` as a filter, or `None` when one of them cannot be
/// evaluated here exactly as Prometheus does.
fn filter(all: &[&Matcher], mask: u32) -> Option<Filter> {
    let mut tests = Vec::new();
    for (k, (label, op, value)) in all.iter().map(|m| (&m.0, m.1, &m.2)).enumerate() {
        if mask & (1 << k) != 0 {
            continue;
        }
        let test = match op {
            "=" => Test::Eq(value.clone()),
            "!=" => Test::Ne(value.clone()),
            "=~" => Test::Re(anchored(value)?),
            "!~" => Test::NotRe(anchored(value)?),
            _ => return None,
        };
        tests.push((label.clone(), test));
    }
    Some(Filter(tests))
}

/// A matcher's regex as Prometheus applies it (`^(?:re)$`), if it keeps to the syntax on which
/// RE2 and this crate agree.
fn anchored(re: &str) -> Option<Regex> {
    let mut chars = re.chars();
    while let Some(c) = chars.next() {
        match c {
            // An escaped punctuation character is a literal in both; a letter after `\` is a
            // class, an anchor or an escape whose meaning may differ.
            '\\' if !chars.next().is_some_and(|e| e.is_ascii_punctuation()) => return None,
            // `(?i)`, `(?P<n>…)`, `(?:…)`: flags and names are left to Prometheus.
            '(' if chars.clone().next() == Some('?') => return None,
            // POSIX classes (`[[:digit:]]`) are ASCII in Go, and this crate reads them the same
            // only inside brackets; left to Prometheus as well.
            '[' if chars.clone().next() == Some('[') => return None,
            _ => {}
        }
    }
    Regex::new(&format!("^(?:{re})$")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sels(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_errors_selector_is_read_out_of_its_total() {
        let s = sels(&[
            r#"http_requests_total{job="api",code=~"5.."}"#,
            r#"http_requests_total{job="api"}"#,
            r#"http_requests_total{job="web"}"#,
        ]);
        let p = plan(&s);
        let (base, f) = p[0].as_ref().expect("derived");
        assert_eq!(*base, 1);
        assert!(p[1].is_none() && p[2].is_none());
        assert!(f.matches(&labels(&[("job", "api"), ("code", "503")])));
        assert!(!f.matches(&labels(&[("job", "api"), ("code", "200")])));
        // Anchored as Prometheus anchors it: `5..` is not a prefix match.
        assert!(!f.matches(&labels(&[("job", "api"), ("code", "5000")])));
        // A series without the label has the empty value.
        assert!(!f.matches(&labels(&[("job", "api")])));
    }

    #[test]
    fn the_same_selector_written_twice_is_asked_once_and_chains_end_at_an_asked_one() {
        let s = sels(&[
            r#"m{a="1", b="2"}"#,
            r#"m{b="2",a="1"}"#,
            r#"m{a="1"}"#,
            r#"m{a="1",b="2",c!="x"}"#,
        ]);
        let p = plan(&s);
        assert!(p[2].is_none(), "the widest is asked");
        // Both spellings of {a,b} and the narrowest read from {a}: never from a derived one.
        for i in [0, 1, 3] {
            assert_eq!(p[i].as_ref().map(|(b, _)| *b), Some(2), "selector {i}");
        }
        let f = &p[3].as_ref().expect("derived").1;
        assert!(f.matches(&labels(&[("a", "1"), ("b", "2"), ("c", "y")])));
        assert!(!f.matches(&labels(&[("a", "1"), ("b", "2"), ("c", "x")])));
        assert!(!f.matches(&labels(&[("a", "1"), ("b", "3")])));
    }

    #[test]
    fn other_names_other_values_and_regexes_of_uncertain_meaning_keep_their_request() {
        let s = sels(&[
            r#"a_total{job="api"}"#,
            r#"b_total{job="api",code="500"}"#,
            r#"a_total{job="apx",code="500"}"#,
            r#"a_total{job="api",code=~"\\d+"}"#,
            r#"a_total{job="api",code=~"(?i)5XX"}"#,
            r#"a_total{job="api",code=~"[[:digit:]]+"}"#,
            r#"a_total{job="api",code!~"2\\.."}"#,
            r#"a_total{job="api"} offset 5m"#,
        ]);
        let p = plan(&s);
        for i in [0, 1, 2, 3, 4, 5, 7] {
            assert!(p[i].is_none(), "selector {i} must be asked itself");
        }
        let f = &p[6]
            .as_ref()
            .expect("an escaped dot is a literal in both")
            .1;
        assert!(f.matches(&labels(&[("job", "api"), ("code", "500")])));
        assert!(!f.matches(&labels(&[("job", "api"), ("code", "2.5")])));
        assert!(f.matches(&labels(&[("job", "api"), ("code", "205")])));
    }
}
