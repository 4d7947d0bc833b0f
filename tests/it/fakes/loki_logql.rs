//! The LogQL of the FAKE Loki (`fakes/loki.rs` serves it): the part slowburn emits and documents,
//! parsed and run by Loki 3.x's rules as protocols.md section 9 reads them from Loki's code
//! (`pkg/logql/syntax`, `pkg/logql/log`):
//! - queries: an optional `sum` or `max` (optionally `by (…)`) around `count_over_time`,
//!   `max_over_time` or `quantile_over_time(φ, …)` with a `[range]`, the latter two with
//!   `| unwrap` and optionally `by (…)`; or a plain log query (a stream selector and a pipeline);
//! - stream selectors with `=`, `!=`, `=~` and `!~` (regexes anchored, as Prometheus matchers
//!   are); one whose matchers all match the empty string (`{env!="dev"}`, `{app=~".*"}`) is
//!   refused with Loki's parse error, and so is `count_over_time(…) by (…)`;
//! - line filters `|=`, `!=`, `|~`, `!~` and the pattern filters `|>`, `!>` (`<_>` matches any
//!   text that is not empty, as Loki's `pattern.Matcher.Test` does);
//! - `| json` (nested keys flattened with `_`, arrays and nulls skipped, a key that a stream label
//!   already has gets `_extracted`), `| logfmt`;
//! - label filters on strings (`=`, `!=`, `=~`, `!~`) and on numbers, durations and bytes
//!   (`==`, `!=`, `>`, `>=`, `<`, `<=`), joined by `,` or `and`. A number, duration or bytes
//!   filter drops a line that lacks the label (so a line whose JSON did not parse) and sets
//!   `__error__=LabelFilterErr` only for a value it cannot read (Loki PR #12378);
//! - `| unwrap name`, `| unwrap duration(name)`, `| unwrap bytes(name)`: a line without the label
//!   (or with it empty) is skipped; a value that does not convert sets `SampleExtractionErr`.
//!
//! Anything else is a 400, so a query outside this shape fails loudly.

#[path = "loki_lines.rs"]
mod lines;

use super::{Labels, Line, duration};
use lines::{Node, bytes, go_duration, json, logfmt, pattern, pattern_test};
use regex::Regex;

/// Loki's refusal of a selector that would read every stream (`pkg/logql/syntax/parser.go`).
const EMPTY_COMPATIBLE: &str = "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

/// A parsed query: `[outer](FUNC(SELECTOR PIPELINE [R]) [by (…)])` or a plain log query.
pub(super) struct Parsed {
    /// `sum`/`max` around the range aggregation, with its `by` labels (none: one series).
    pub(super) outer: Option<(Agg, Vec<String>)>,
    /// The range aggregation (`Count` for a plain log query).
    pub(super) func: Func,
    /// `by (…)` on the range aggregation itself.
    pub(super) by: Option<Vec<String>>,
    matchers: Vec<Matcher>,
    stages: Vec<Stage>,
    /// The `[range]` in ns; 0 for a plain log query.
    pub(super) range: i64,
}

/// A vector aggregation around the range aggregation.
#[derive(Clone, Copy)]
pub(super) enum Agg {
    Sum,
    Max,
}

impl Agg {
    /// Adds `v` into `acc`.
    pub(super) fn fold(self, acc: f64, v: f64) -> f64 {
        match self {
            Agg::Sum => acc + v,
            Agg::Max => acc.max(v),
        }
    }
}

/// A range aggregation.
pub(super) enum Func {
    Count,
    MaxOver,
    Quantile(f64),
}

impl Func {
    /// Loki's name for it, as its errors say.
    fn name(&self) -> &'static str {
        match self {
            Func::Count => "count_over_time",
            Func::MaxOver => "max_over_time",
            Func::Quantile(_) => "quantile_over_time",
        }
    }

    /// The value of one window's samples (never empty).
    pub(super) fn apply(&self, mut vals: Vec<f64>) -> f64 {
        match self {
            Func::Count => vals.len() as f64,
            Func::MaxOver => vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            // Prometheus's quantile, as Loki's quantile_over_time computes it.
            Func::Quantile(q) => {
                vals.sort_by(f64::total_cmp);
                let rank = q * (vals.len() - 1) as f64;
                let lo = rank.floor() as usize;
                let hi = (lo + 1).min(vals.len() - 1);
                let w = rank - lo as f64;
                vals[lo] * (1.0 - w) + vals[hi] * w
            }
        }
    }
}

#[derive(Clone, Copy)]
enum MatchOp {
    Eq,
    Ne,
    Re,
    NotRe,
}

/// `name op "value"`, in a selector or a string label filter.
struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    /// The anchored regex of `=~` and `!~`.
    re: Option<Regex>,
}

impl Matcher {
    fn new(name: &str, op: MatchOp, value: String) -> Result<Matcher, String> {
        let re = match op {
            MatchOp::Re | MatchOp::NotRe => Some(regex(&format!("^(?s:{value})$"))?),
            MatchOp::Eq | MatchOp::Ne => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value,
            re,
        })
    }

    fn matches(&self, v: &str) -> bool {
        match (&self.re, self.op) {
            (Some(re), MatchOp::Re) => re.is_match(v),
            (Some(re), _) => !re.is_match(v),
            (None, MatchOp::Ne) => v != self.value,
            (None, _) => v == self.value,
        }
    }

    /// The label's value, `""` when the line does not have it (Loki's `labelValue`).
    fn keeps(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).map_or("", String::as_str))
    }
}

#[derive(Clone, Copy)]
enum LineKind {
    Contains,
    Regex,
    Pattern,
}

/// The line filters: operator, whether a match keeps the line, what it looks for.
const LINE_FILTERS: [(&str, bool, LineKind); 6] = [
    ("|=", true, LineKind::Contains),
    ("!=", false, LineKind::Contains),
    ("|~", true, LineKind::Regex),
    ("!~", false, LineKind::Regex),
    ("|>", true, LineKind::Pattern),
    ("!>", false, LineKind::Pattern),
];

/// A label filter's operators, longest first where one starts another.
const LABEL_OPS: [&str; 9] = ["=~", "!~", "!=", "==", ">=", "<=", "=", ">", "<"];

/// A regex as Go's `regexp` reads it (Rust's `regex` shares its syntax for what LogQL uses).
fn regex(re: &str) -> Result<Regex, String> {
    Regex::new(re).map_err(|e| format!("error parsing regexp: {e}"))
}

/// What a line filter looks for.
enum LineMatch {
    Contains(String),
    Regex(Regex),
    Pattern(Vec<Node>),
}

impl LineMatch {
    fn test(&self, line: &str) -> bool {
        match self {
            LineMatch::Contains(s) => line.contains(s.as_str()),
            LineMatch::Regex(re) => re.is_match(line),
            LineMatch::Pattern(nodes) => pattern_test(nodes, line),
        }
    }
}

#[derive(Clone, Copy)]
enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Cmp {
    fn holds(self, x: f64, v: f64) -> bool {
        match self {
            Cmp::Eq => x == v,
            Cmp::Ne => x != v,
            Cmp::Gt => x > v,
            Cmp::Ge => x >= v,
            Cmp::Lt => x < v,
            Cmp::Le => x <= v,
        }
    }
}

/// How a label's text becomes a number (a filter's kind, or `unwrap`'s conversion).
#[derive(Clone, Copy)]
enum Conv {
    Float,
    /// A Go duration, in seconds.
    Duration,
    /// Bytes as go-humanize reads them (`10KB`, `1MiB`).
    Bytes,
}

impl Conv {
    fn apply(self, v: &str) -> Option<f64> {
        match self {
            Conv::Float => v.parse().ok(),
            Conv::Duration => go_duration(v),
            Conv::Bytes => bytes(v),
        }
    }
}

enum LabelFilter {
    Str(Matcher),
    Num(String, Cmp, Conv, f64),
}

enum Stage {
    /// A line filter: keep the line when the match is (`true`) or is not (`false`) found.
    Line(bool, LineMatch),
    Json,
    Logfmt,
    Label(LabelFilter),
    Unwrap(String, Conv),
}

/// Reads a query left to right.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        self.rest = self.rest.trim_start();
    }

    /// Whether `token` comes next (after blanks).
    fn peek(&mut self, token: &str) -> bool {
        self.ws();
        self.rest.starts_with(token)
    }

    /// Consumes `token` when it comes next.
    fn eat(&mut self, token: &str) -> bool {
        let found = self.peek(token);
        if found {
            let s: &'a str = self.rest;
            self.rest = &s[token.len()..];
        }
        found
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!(
                "syntax error: expected `{token}` at `{}`",
                self.shown()
            ))
        }
    }

    /// The start of what is left, for messages.
    fn shown(&self) -> String {
        self.rest.chars().take(30).collect()
    }

    /// A name (`[A-Za-z_][A-Za-z0-9_]*`), or `""` when none comes next.
    fn ident(&mut self) -> &'a str {
        self.ws();
        let s: &'a str = self.rest;
        let end = s
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit())))
            .map_or(s.len(), |(i, _)| i);
        self.rest = &s[end..];
        &s[..end]
    }

    /// A bare value (`500`, `250ms`, `10KB`, `0.99`): up to a blank or punctuation.
    fn token(&mut self) -> &'a str {
        self.ws();
        let s: &'a str = self.rest;
        let end = s
            .find(|c: char| c.is_whitespace() || "|,()[]{}\"`".contains(c))
            .unwrap_or(s.len());
        self.rest = &s[end..];
        &s[..end]
    }

    /// A double-quoted string (with escapes) or a back-quoted raw one.
    fn string(&mut self) -> Result<String, String> {
        self.ws();
        let s: &'a str = self.rest;
        let mut chars = s.char_indices();
        let quote = match chars.next() {
            Some((_, q)) if q == '"' || q == '`' => q,
            _ => {
                return Err(format!(
                    "syntax error: expected a quoted string at `{}`",
                    self.shown()
                ));
            }
        };
        let mut out = String::new();
        let mut escaped = false;
        for (i, c) in chars {
            if escaped {
                match c {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '"' | '\\' => out.push(c),
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
                escaped = false;
            } else if c == '\\' && quote == '"' {
                escaped = true;
            } else if c == quote {
                self.rest = &s[i + 1..];
                return Ok(out);
            } else {
                out.push(c);
            }
        }
        Err("syntax error: a string is not closed".into())
    }
}

/// Parses `q` as Loki would, refusing what Loki refuses (the caller adds `parse error : `).
pub(super) fn parse(q: &str) -> Result<Parsed, String> {
    let mut c = Cursor { rest: q };
    let p = query(&mut c)?;
    c.ws();
    if !c.rest.is_empty() {
        return Err(format!(
            "fake: unsupported query `{q}` (from `{}`)",
            c.shown()
        ));
    }
    p.validate()?;
    Ok(p)
}

fn query(c: &mut Cursor<'_>) -> Result<Parsed, String> {
    if c.peek("{") {
        let (matchers, stages) = log_query(c)?;
        return Ok(Parsed {
            outer: None,
            func: Func::Count,
            by: None,
            matchers,
            stages,
            range: 0,
        });
    }
    let start = c.rest;
    let agg = match c.ident() {
        "sum" => Agg::Sum,
        "max" => Agg::Max,
        _ => {
            c.rest = start;
            return range_aggregation(c);
        }
    };
    let by = if c.eat("by") { labels(c)? } else { Vec::new() };
    c.expect("(")?;
    let mut p = range_aggregation(c)?;
    c.expect(")")?;
    p.outer = Some((agg, by));
    Ok(p)
}

fn range_aggregation(c: &mut Cursor<'_>) -> Result<Parsed, String> {
    let name = c.ident();
    c.expect("(")?;
    let func = match name {
        "count_over_time" => Func::Count,
        "max_over_time" => Func::MaxOver,
        "quantile_over_time" => {
            let phi = c.token();
            let q: f64 = phi
                .parse()
                .map_err(|_| format!("syntax error: bad quantile `{phi}`"))?;
            c.expect(",")?;
            Func::Quantile(q)
        }
        other => return Err(format!("fake: unsupported function `{other}`")),
    };
    let (matchers, stages) = log_query(c)?;
    c.expect("[")?;
    let r = c.token();
    let Some(range) = duration(r) else {
        return Err(format!("syntax error: bad range `{r}`"));
    };
    c.expect("]")?;
    c.expect(")")?;
    let by = if c.eat("by") { Some(labels(c)?) } else { None };
    Ok(Parsed {
        outer: None,
        func,
        by,
        matchers,
        stages,
        range,
    })
}

/// `(a, b)` after `by`.
fn labels(c: &mut Cursor<'_>) -> Result<Vec<String>, String> {
    c.expect("(")?;
    let mut out = Vec::new();
    loop {
        if c.eat(")") {
            return Ok(out);
        }
        let name = c.ident();
        if name.is_empty() {
            return Err(format!(
                "syntax error: expected a label name at `{}`",
                c.shown()
            ));
        }
        out.push(name.to_string());
        if !c.eat(",") {
            c.expect(")")?;
            return Ok(out);
        }
    }
}

/// A stream selector and its pipeline, up to a `[range]`, a `)` or the end.
fn log_query(c: &mut Cursor<'_>) -> Result<(Vec<Matcher>, Vec<Stage>), String> {
    c.expect("{")?;
    let mut matchers = Vec::new();
    while !c.eat("}") {
        let name = c.ident();
        if name.is_empty() {
            return Err(format!(
                "syntax error: expected a label name at `{}`",
                c.shown()
            ));
        }
        let op = if c.eat("=~") {
            MatchOp::Re
        } else if c.eat("!~") {
            MatchOp::NotRe
        } else if c.eat("!=") {
            MatchOp::Ne
        } else if c.eat("=") {
            MatchOp::Eq
        } else {
            return Err(format!(
                "syntax error: `{name}` needs `=`, `!=`, `=~` or `!~`"
            ));
        };
        let value = c.string()?;
        matchers.push(Matcher::new(name, op, value)?);
        c.eat(",");
    }
    let mut stages = Vec::new();
    loop {
        c.ws();
        if c.rest.is_empty() || c.peek("[") || c.peek(")") {
            return Ok((matchers, stages));
        }
        let line = LINE_FILTERS.into_iter().find(|(op, _, _)| c.peek(op));
        if let Some((op, keep, kind)) = line {
            c.eat(op);
            let s = c.string()?;
            let m = match kind {
                LineKind::Contains => LineMatch::Contains(s),
                LineKind::Regex => LineMatch::Regex(regex(&s)?),
                LineKind::Pattern => LineMatch::Pattern(pattern(&s)?),
            };
            stages.push(Stage::Line(keep, m));
            continue;
        }
        if !c.eat("|") {
            return Err(format!("syntax error: unexpected `{}`", c.shown()));
        }
        match c.ident() {
            "json" => stages.push(Stage::Json),
            "logfmt" => stages.push(Stage::Logfmt),
            "unwrap" => stages.push(unwrap(c)?),
            "" => {
                return Err(format!(
                    "syntax error: expected a stage after `|` at `{}`",
                    c.shown()
                ));
            }
            name => label_filters(c, name, &mut stages)?,
        }
    }
}

/// `| unwrap name`, `| unwrap duration(name)` (or `duration_seconds`), `| unwrap bytes(name)`.
fn unwrap(c: &mut Cursor<'_>) -> Result<Stage, String> {
    let first = c.ident();
    let call = c.peek("(");
    let (conv, name) = match (first, call) {
        ("duration" | "duration_seconds", true) => (Conv::Duration, None),
        ("bytes", true) => (Conv::Bytes, None),
        (name, _) => (Conv::Float, Some(name)),
    };
    let name = match name {
        Some(n) => n,
        None => {
            c.expect("(")?;
            let n = c.ident();
            c.expect(")")?;
            n
        }
    };
    if name.is_empty() {
        return Err("syntax error: unwrap needs a label name".into());
    }
    Ok(Stage::Unwrap(name.to_string(), conv))
}

/// `name op value` clauses joined by `,` or `and`; `first` is the name already read.
fn label_filters(c: &mut Cursor<'_>, first: &str, stages: &mut Vec<Stage>) -> Result<(), String> {
    let mut name: &str = first;
    loop {
        stages.push(Stage::Label(label_filter(c, name)?));
        let before = c.rest;
        if !c.eat(",") {
            match c.ident() {
                "and" => {}
                "or" => return Err("fake: `or` between label filters is not supported".into()),
                _ => {
                    c.rest = before;
                    return Ok(());
                }
            }
        }
        name = c.ident();
        if name.is_empty() {
            return Err(format!(
                "syntax error: expected a label name at `{}`",
                c.shown()
            ));
        }
    }
}

fn label_filter(c: &mut Cursor<'_>, name: &str) -> Result<LabelFilter, String> {
    let Some(op) = LABEL_OPS.into_iter().find(|op| c.peek(op)) else {
        return Err(format!(
            "fake: unsupported stage `{name}` (at `{}`)",
            c.shown()
        ));
    };
    c.eat(op);
    if c.peek("\"") || c.peek("`") {
        let value = c.string()?;
        let op = match op {
            "=" | "==" => MatchOp::Eq,
            "!=" => MatchOp::Ne,
            "=~" => MatchOp::Re,
            "!~" => MatchOp::NotRe,
            other => {
                return Err(format!(
                    "syntax error: `{name} {other}` compares numbers, not the string {value:?}"
                ));
            }
        };
        return Ok(LabelFilter::Str(Matcher::new(name, op, value)?));
    }
    let token = c.token();
    let (conv, want) = if let Ok(n) = token.parse::<f64>() {
        (Conv::Float, n)
    } else if let Some(d) = go_duration(token) {
        (Conv::Duration, d)
    } else if let Some(b) = bytes(token) {
        (Conv::Bytes, b)
    } else {
        return Err(format!(
            "syntax error: unexpected `{token}` after `{name} {op}`"
        ));
    };
    let cmp = match op {
        "=" | "==" => Cmp::Eq,
        "!=" => Cmp::Ne,
        ">" => Cmp::Gt,
        ">=" => Cmp::Ge,
        "<" => Cmp::Lt,
        "<=" => Cmp::Le,
        other => {
            return Err(format!(
                "syntax error: `{other}` takes a quoted string, not `{token}`"
            ));
        }
    };
    Ok(LabelFilter::Num(name.to_string(), cmp, conv, want))
}

impl Parsed {
    /// Loki's checks after parsing: grouping and unwrap per aggregation, then the selector.
    fn validate(&self) -> Result<(), String> {
        let unwraps = self.stages.iter().any(|s| matches!(s, Stage::Unwrap(..)));
        if self.range == 0 {
            if unwraps {
                return Err("fake: unwrap needs a range aggregation".into());
            }
        } else {
            if self.by.is_some() && matches!(self.func, Func::Count) {
                return Err(format!(
                    "grouping not allowed for {} aggregation",
                    self.func.name()
                ));
            }
            match (&self.func, unwraps) {
                (Func::Count, true) => {
                    return Err(format!(
                        "invalid aggregation {} with unwrap",
                        self.func.name()
                    ));
                }
                (Func::MaxOver | Func::Quantile(_), false) => {
                    return Err(format!(
                        "invalid aggregation {} without unwrap",
                        self.func.name()
                    ));
                }
                _ => {}
            }
        }
        if self.matchers.iter().all(|m| m.matches("")) {
            return Err(EMPTY_COMPATIBLE.into());
        }
        Ok(())
    }

    /// The line's labels (stream plus extracted) and value when it passes the selector and the
    /// pipeline.
    pub(super) fn sample(&self, l: &Line) -> Option<(Labels, f64)> {
        if !self.matchers.iter().all(|m| m.keeps(&l.stream)) {
            return None;
        }
        let mut labels = l.stream.clone();
        let mut value = 1.0;
        for st in &self.stages {
            match st {
                Stage::Line(keep, m) => {
                    if m.test(&l.body) != *keep {
                        return None;
                    }
                }
                Stage::Json => json(&l.body, &l.stream, &mut labels),
                Stage::Logfmt => logfmt(&l.body, &l.stream, &mut labels),
                Stage::Unwrap(name, conv) => {
                    let got = labels.remove(name).unwrap_or_default();
                    if got.is_empty() {
                        return None;
                    }
                    match conv.apply(&got) {
                        Some(v) => value = v,
                        None => {
                            value = 0.0;
                            labels.insert("__error__".into(), "SampleExtractionErr".into());
                        }
                    }
                }
                Stage::Label(LabelFilter::Str(m)) => {
                    if !m.keeps(&labels) {
                        return None;
                    }
                }
                Stage::Label(LabelFilter::Num(name, cmp, conv, want)) => {
                    let got = labels.get(name)?;
                    match conv.apply(got) {
                        Some(x) => {
                            if !cmp.holds(x, *want) {
                                return None;
                            }
                        }
                        // Kept, marked, unless an earlier stage has already said what failed.
                        None => {
                            labels
                                .entry("__error__".to_string())
                                .or_insert_with(|| "LabelFilterErr".to_string());
                        }
                    }
                }
            }
        }
        Some((labels, value))
    }
}
