//! `slo.yaml`: parsing ([`raw`]), validation with positions ([`validate`]) and the model ([`model`]).
//!
//! [`load`] is the one entry point: it reads the file, expands `${ENV}` references and returns either a
//! [`Config`] or every error found, each pointing at `file:line:column`.

pub mod env;
pub mod error;
pub mod group;
pub mod model;
pub mod raw;
pub mod repair;
pub mod validate;

pub use error::{ConfigError, ConfigErrors};
pub use model::*;

use std::path::Path;

/// Reads and validates a config file. A reload calls this and keeps the old config on `Err`.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let file = path.display().to_string();
    let whole = |message: String| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: 0,
            column: 0,
            path: String::new(),
            message,
        }])
    };
    // Read at most one byte past the cap: `/dev/zero` or a runaway generator must not fill memory.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| {
            std::io::Read::read_to_end(
                &mut std::io::Read::take(f, MAX_CONFIG_BYTES + 1),
                &mut bytes,
            )
        })
        .map_err(|e| whole(format!("cannot read the file: {e}")))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(whole(format!(
            "the file is larger than {} MiB; split it or remove generated SLOs",
            MAX_CONFIG_BYTES >> 20
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..at];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let column = at
            - before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1)
            + 1;
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: line as u32,
            column: column as u32,
            path: String::new(),
            message: "invalid UTF-8: save the file as UTF-8".into(),
        }])
    })?;
    parse_str(&text, &file, &secret)
}

/// How many SLOs one file may hold: the size cap and the parser's budget are set for this many,
/// each with a description, a few labels, a ratio SLI and an SLA.
pub const MAX_SLOS: usize = 100_000;

/// The largest config file read: 64 MiB holds [`MAX_SLOS`] SLOs of about 360 bytes with room
/// for longer queries (16 MiB held about 46,000 of them).
pub const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// YAML nodes (each key, value, list and mapping) read at most: 50 per SLO, where one with a
/// description, three labels, a ratio SLI and an SLA takes 29. serde-saphyr's default of 250,000
/// stopped a file at about 11,900 such SLOs.
pub const MAX_YAML_NODES: usize = 50 * MAX_SLOS;

/// Parser events read at most: each node, and the end of each list and mapping.
const MAX_YAML_EVENTS: usize = 2 * MAX_YAML_NODES + 16;

/// The parser's options: YAML 1.2 booleans only, so a query such as `y` or `on` stays a string
/// where a field takes a string or a mapping (see `raw::RawQuery`); and a budget sized for
/// [`MAX_SLOS`] instead of serde-saphyr's default. `share` divides the budget, so a test can
/// show with a part of the SLOs that the whole fits.
fn yaml_options(share: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = MAX_YAML_NODES / share;
    budget.max_events = MAX_YAML_EVENTS / share;
    budget.max_total_scalar_bytes = budget
        .max_total_scalar_bytes
        .max(MAX_CONFIG_BYTES as usize / share);
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options.budget = Some(budget);
    options
}

/// A parser budget reached, in slowburn's words: the limit, and what it means in SLOs.
fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    let larger = |what: String| {
        format!(
            "the file is larger than slowburn reads: more than {what} (about {MAX_SLOS} SLOs); split its SLOs between slowburn instances or remove generated ones"
        )
    };
    match breach {
        B::Nodes { .. } => larger(format!("{MAX_YAML_NODES} YAML nodes")),
        B::Events { .. } => larger(format!("{MAX_YAML_EVENTS} YAML events")),
        B::ScalarBytes { .. } => larger(format!("{} MiB of values", MAX_CONFIG_BYTES >> 20)),
        B::Depth { depth } => format!("the YAML nests deeper than slowburn reads ({depth} levels)"),
        other => format!("the YAML goes past a limit of slowburn's reader: {other:?}"),
    }
}

/// [`load`], then `--prometheus` (or `SLOWBURN_PROMETHEUS_URL`) in place of `prometheus.url`: the
/// one place the command-line override applies, for the daemon and every command alike.
pub fn load_with(path: &Path, prometheus: Option<&str>) -> Result<Config, ConfigErrors> {
    let mut cfg = load(path)?;
    if let Some(url) = prometheus {
        cfg.prometheus.url = url.to_string();
    }
    Ok(cfg)
}

/// Structural errors patched over before the loader gives up on finding more.
const MAX_PATCHES: usize = 100;

/// What kind of structural error serde stopped at: read once, it gives both the message and
/// how the loader may patch past it.
enum Structural {
    /// A key the schema does not have, and the keys valid there.
    Unknown {
        field: String,
        expected: Vec<String>,
    },
    /// A required key that is absent.
    Missing { field: String },
    /// A value of the wrong type; `expected` is serde's description, `scalar` the Rust type when
    /// a scalar did not parse as one (`u32`).
    WrongType {
        expected: String,
        scalar: Option<&'static str>,
    },
    /// Anything else (YAML syntax, duplicate keys): not safe to patch.
    Other,
}

/// What serde-saphyr says it expected when a node has the wrong shape (its `Unexpected` error).
const SHAPES: [&str; 4] = ["string scalar", "scalar", "mapping start", "sequence start"];

/// The message for a node of the wrong shape, by what was expected there.
fn shape_message(expected: &str) -> String {
    match expected {
        "mapping start" => "expected a mapping (`key: value` entries) here".into(),
        "sequence start" => "expected a list here, like `[a, b]`".into(),
        _ => "expected a single value here (a string), not a list or a mapping".into(),
    }
}

fn classify(e: &serde_saphyr::Error, plain: &str) -> Structural {
    let backticked = |rest: &str| rest.split('`').nth(1).map(String::from);
    match e.without_snippet() {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => Structural::Unknown {
            field: field.clone(),
            expected: expected.iter().map(|x| x.to_string()).collect(),
        },
        serde_saphyr::Error::SerdeMissingField { field, .. } => Structural::Missing {
            field: field.to_string(),
        },
        serde_saphyr::Error::SerdeInvalidType { expected, .. }
        | serde_saphyr::Error::SerdeInvalidValue { expected, .. } => Structural::WrongType {
            expected: expected.clone(),
            scalar: None,
        },
        serde_saphyr::Error::InvalidScalar { ty, .. } => Structural::WrongType {
            expected: ty.to_string(),
            scalar: Some(ty),
        },
        // A list or mapping where a string goes, or the reverse (`timeout: [30s]`,
        // `headers: [X-Token]`): a wrong type like any other, patched past so the rest is read.
        serde_saphyr::Error::Unexpected { expected, .. } if SHAPES.contains(expected) => {
            Structural::WrongType {
                expected: expected.to_string(),
                scalar: None,
            }
        }
        _ => {
            if let Some((field, expected)) = parse_unknown_field(plain) {
                Structural::Unknown { field, expected }
            } else if let Some(field) = plain.strip_prefix("missing field").and_then(backticked) {
                Structural::Missing { field }
            } else if plain.starts_with("invalid type") || plain.starts_with("invalid value") {
                Structural::WrongType {
                    expected: plain.rsplit("expected").next().unwrap_or("").to_string(),
                    scalar: None,
                }
            } else {
                Structural::Other
            }
        }
    }
}

/// One patch the loader made, and whether it was turned into a rename.
struct Applied {
    patch: repair::Patch,
    suggestion: Option<String>,
    renamed: bool,
}

/// The text being patched and what was found so far.
struct Loader<'a> {
    file: &'a str,
    text: String,
    errors: Vec<ConfigError>,
    applied: Vec<Applied>,
}

impl Loader<'_> {
    /// Whether a line was blanked or replaced by a patch (not a rename, whose value is real).
    fn patched(&self, line: u32) -> bool {
        self.applied.iter().filter(|a| !a.renamed).any(|a| {
            let first = a.patch.line as u32 + 1;
            line >= first && line < first + a.patch.original.len() as u32
        })
    }

    /// Moves an error on a renamed key's line back to where its value is in the file as
    /// written (`objectve: 120` is read as `objective: 120`, one column longer).
    fn unshift(&self, mut e: ConfigError) -> ConfigError {
        for a in self.applied.iter().filter(|a| a.renamed) {
            let (Some(to), line) = (&a.suggestion, a.patch.line as u32 + 1) else {
                continue;
            };
            let key_end = (a.patch.key_col + a.patch.key.len()) as u32 + 1;
            if e.line == line && e.column > key_end {
                let delta = to.len() as i64 - a.patch.key.len() as i64;
                e.column = (e.column as i64 - delta).max(1) as u32;
            }
        }
        e
    }

    /// Records a structural error and patches the text past it; `false` when parsing cannot go
    /// on safely (YAML syntax, a flow collection, a genuinely missing key).
    fn step(&mut self, e: &serde_saphyr::Error) -> bool {
        let plain = strip_position(&e.without_snippet().to_string());
        let class = classify(e, &plain);
        let err = yaml_error(e, &class, plain, self.file, &self.text);
        if err.line == 0 {
            self.errors.push(err);
            return false;
        }
        if self
            .errors
            .iter()
            .any(|x| x.line == err.line && x.column == err.column)
        {
            return false;
        }
        let (line, column) = (err.line, err.column);
        if let Structural::Missing { field } = &class {
            // A required key that a patch blanked under a misspelt name: read it under the name
            // it was nearest to. Only a patch in the same mapping counts (serde reports a missing
            // field at the mapping's last entry).
            let text = &self.text;
            if let Some(a) = self
                .applied
                .iter_mut()
                .filter(|a| !a.renamed && a.suggestion.as_deref() == Some(field.as_str()))
                .filter(|a| same_mapping(text, &a.patch, line, column))
                .last()
            {
                self.text = repair::rename(&self.text, &a.patch, field);
                a.renamed = true;
                return true;
            }
        }
        // An error where a patch was made is the patch's doing (a placeholder `{}` lacking its
        // fields); the error reported there already says what to fix.
        if self.patched(line) {
            return false;
        }
        let patch = match class {
            Structural::Missing { field } => {
                let text = &self.text;
                let blanked = self
                    .applied
                    .iter()
                    .any(|a| a.patch.key == field && same_mapping(text, &a.patch, line, column));
                if !blanked {
                    self.errors.push(err);
                }
                return false;
            }
            Structural::Unknown { field, expected } => {
                let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
                let suggestion = error::nearest(&field, &expected).map(String::from);
                repair::remove_entry(&self.text, line, column).map(|p| (p, suggestion))
            }
            Structural::WrongType { expected, .. } => repair::placeholder(&expected)
                .and_then(|ph| repair::replace_value(&self.text, line, column, ph))
                .or_else(|| repair::remove_entry(&self.text, line, column))
                .map(|p| (p, None)),
            Structural::Other => None,
        };
        self.errors.push(err);
        let Some(((text, patch), suggestion)) = patch else {
            return false;
        };
        self.text = text;
        self.applied.push(Applied {
            patch,
            suggestion,
            renamed: false,
        });
        true
    }
}

/// Whether `patch` lies in the mapping whose missing field serde reported at `line:column`
/// (1-based; serde points at the mapping's last key): at the same indent, with no row between
/// the two that closes the mapping.
fn same_mapping(text: &str, patch: &repair::Patch, line: u32, column: u32) -> bool {
    let Some(at) = (line as usize).checked_sub(1) else {
        return false;
    };
    if patch.key_col + 1 != column as usize {
        return false;
    }
    let (lo, hi) = (patch.line.min(at), patch.line.max(at));
    text.split('\n').take(hi).skip(lo + 1).all(|row| {
        let t = row.trim_start();
        t.is_empty() || t.starts_with('#') || row.len() - t.len() >= patch.key_col
    })
}

/// Parses config text; `file` only labels the messages and `env` resolves `${VAR}` (injected so
/// tests do not touch the process environment).
///
/// Every error is reported, not only the first: where serde stops (an unknown key, a wrong type)
/// the text is patched ([`repair`]) and parsed again, and the semantic checks then run on what
/// remains. A misspelt required key is read under the name it was nearest to, so its value is
/// still checked. Semantic errors on patched lines are left out: the structural error there
/// already says what to fix.
pub fn parse_str(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let mut loader = Loader {
        file,
        text: text.to_string(),
        errors: Vec::new(),
        applied: Vec::new(),
    };
    let mut exhausted = true;
    for _ in 0..MAX_PATCHES {
        let options = yaml_options(1);
        match serde_saphyr::from_str_with_options::<raw::RawConfig>(&loader.text, options) {
            Ok(raw) => {
                let semantic = validate::from_raw(raw, file, env);
                if loader.errors.is_empty() {
                    return semantic.map_err(ConfigErrors);
                }
                if let Err(more) = semantic {
                    let more: Vec<ConfigError> = more
                        .into_iter()
                        .filter(|e| !loader.patched(e.line))
                        .map(|e| loader.unshift(e))
                        .collect();
                    loader.errors.extend(more);
                }
                exhausted = false;
                break;
            }
            Err(e) => {
                if !loader.step(&e) {
                    exhausted = false;
                    break;
                }
            }
        }
    }
    let mut errors = loader.errors;
    if exhausted || errors.is_empty() {
        errors.push(ConfigError {
            file: file.to_string(),
            line: 0,
            column: 0,
            path: String::new(),
            message: format!("more than {MAX_PATCHES} structural errors; fix these and run again"),
        });
    }
    errors.sort_by_key(|e| (e.line, e.column));
    Err(ConfigErrors(errors))
}

/// One positioned message for a serde-saphyr error as [`classify`] read it, adding "did you
/// mean" to unknown fields and saying what to write for a value of the wrong type, with the key
/// path of that value read from `text` (serde's own message has none).
fn yaml_error(
    e: &serde_saphyr::Error,
    class: &Structural,
    plain: String,
    file: &str,
    text: &str,
) -> ConfigError {
    let (line, column) = e
        .location()
        .map(|l| (l.line() as u32, l.column() as u32))
        .unwrap_or((0, 0));
    let message = match class {
        Structural::Unknown { field, expected } => {
            let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
            unknown_field(field, &expected)
        }
        Structural::WrongType {
            scalar: Some(ty), ..
        } => {
            let want = match *ty {
                "bool" => "`true` or `false`",
                t if t.starts_with('f') => "a number",
                t if t.starts_with('u') || t.starts_with('i') => "a whole number",
                _ => "a value of this type",
            };
            format!("invalid {ty}: write {want} here")
        }
        _ => match e.without_snippet() {
            serde_saphyr::Error::Unexpected { expected, .. } if SHAPES.contains(expected) => {
                shape_message(expected)
            }
            serde_saphyr::Error::Budget { breach, .. } => budget_message(breach),
            serde_saphyr::Error::DuplicateMappingKey { key, .. } => format!(
                "{} is given twice in this mapping; keep one (slowburn refuses the file rather than guess which was meant)",
                key.as_deref()
                    .map_or_else(|| "a key".to_string(), |k| format!("`{k}`"))
            ),
            _ => plain,
        },
    };
    let path = match class {
        Structural::WrongType { .. } => repair::key_path(text, line, column).unwrap_or_default(),
        _ => String::new(),
    };
    ConfigError {
        file: file.to_string(),
        line,
        column,
        path,
        message,
    }
}

fn unknown_field(field: &str, expected: &[&str]) -> String {
    let hint = match error::nearest(field, expected) {
        Some(n) => format!("; did you mean `{n}`?"),
        None => String::new(),
    };
    format!(
        "unknown field `{field}`{hint} (valid fields here: {})",
        expected.join(", ")
    )
}

/// Reads serde's "unknown field `x`, expected one of a, b" (possibly with backticks around names).
fn parse_unknown_field(msg: &str) -> Option<(String, Vec<String>)> {
    let rest = msg.strip_prefix("unknown field `")?;
    let end = rest.find('`')?;
    let field = rest[..end].to_string();
    let tail = &rest[end + 1..];
    let list = tail
        .strip_prefix(", expected one of ")
        .or_else(|| tail.strip_prefix(", expected "))
        .unwrap_or("");
    let expected = list
        .split(',')
        .map(|s| s.trim().trim_matches('`').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    Some((field, expected))
}

/// serde-saphyr prefixes messages with "line N column M: "; we print our own position.
fn strip_position(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or(msg).trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let first = match first.find(": ") {
        Some(i) if first[..i].starts_with("line ") => &first[i + 2..],
        _ => first,
    };
    match first.rfind(" at line ") {
        Some(i) if first[i..].contains(", column ") => first[..i].to_string(),
        _ => first.to_string(),
    }
}

/// Resolves `${NAME}` from the environment and `${file:PATH}` from a file (trailing newline
/// dropped), so secrets can come from Kubernetes or Docker secret files as well as variables.
pub fn secret(name: &str) -> Option<String> {
    match name.strip_prefix("file:") {
        Some(path) => std::fs::read_to_string(path)
            .ok()
            .map(|v| v.trim_end_matches(['\r', '\n']).to_string()),
        None => std::env::var(name).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` SLOs as generated files write them: a description, three labels, a ratio SLI and an
    /// SLA.
    fn slos(n: usize) -> String {
        let mut text = String::from("slos:\n");
        for i in 0..n {
            text.push_str(&format!(
                "  - service: svc-{i}\n    name: availability\n    objective: 99.9\n    description: Share of requests answered without a 5xx.\n    labels: {{team: team-{t}, tier: \"1\", owner: payments}}\n    sli:\n      ratio:\n        errors: http_requests_total{{service=\"svc-{i}\",code=~\"5..\"}}\n        total: http_requests_total{{service=\"svc-{i}\"}}\n    sla:\n      objective: 99.5\n",
                t = i % 50
            ));
        }
        text
    }

    #[test]
    fn a_hundred_thousand_slos_fit_the_size_cap_and_the_parser_budget() {
        // A tenth of them against a tenth of the budget: the cost of each SLO is the same, and
        // reading all of them takes too long in a debug build.
        let share = 10;
        let text = slos(MAX_SLOS / share);
        assert!(
            text.len() as u64 * share as u64 <= MAX_CONFIG_BYTES,
            "{} bytes",
            text.len()
        );
        let raw: raw::RawConfig = serde_saphyr::from_str_with_options(&text, yaml_options(share))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(raw.slos.len(), MAX_SLOS / share);
        // And the SLOs that are read validate (a few: the checks are per SLO).
        let cfg = parse_str(&slos(20), "t.yaml", &|_| None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.slos.len(), 20);
    }

    #[test]
    fn a_file_past_the_budget_is_refused_in_slowburns_words() {
        // A hundred-thousandth of the budget: 50 nodes, reached in the second SLO.
        let text = slos(3);
        let e =
            serde_saphyr::from_str_with_options::<raw::RawConfig>(&text, yaml_options(MAX_SLOS))
                .expect_err("past the budget");
        let plain = strip_position(&e.without_snippet().to_string());
        let err = yaml_error(&e, &classify(&e, &plain), plain, "t.yaml", &text);
        assert!(err.line > 1, "{err}");
        assert!(
            err.to_string().contains(
                "the file is larger than slowburn reads: more than 5000000 YAML nodes (about 100000 SLOs)"
            ),
            "{err}"
        );
        assert!(!err.to_string().contains("budget"), "{err}");
    }
}
