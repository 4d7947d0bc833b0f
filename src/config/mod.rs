//! `slo.yaml`: parsing ([`raw`]), validation with positions ([`validate`]) and the model ([`model`]).
//!
//! [`load`] is the one entry point: it reads the file, expands `${ENV}` references and returns either a
//! [`Config`] or every error found, each pointing at `file:line:column`.

pub mod env;
pub mod error;
pub mod model;
pub mod raw;
pub mod validate;

pub use error::{ConfigError, ConfigErrors};
pub use model::*;

use std::path::Path;

/// Reads and validates a config file. A reload calls this and keeps the old config on `Err`.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: 0,
            column: 0,
            path: String::new(),
            message: format!("cannot read the file: {e}"),
        }])
    })?;
    parse_str(&text, &file, &secret)
}

/// Parses config text; `file` only labels the messages and `env` resolves `${VAR}` (injected so
/// tests do not touch the process environment).
pub fn parse_str(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let raw: raw::RawConfig =
        serde_saphyr::from_str(text).map_err(|e| ConfigErrors(vec![yaml_error(&e, file)]))?;
    validate::from_raw(raw, file, env).map_err(ConfigErrors)
}

/// Turns a serde-saphyr error into one positioned message, adding "did you mean" to unknown fields.
fn yaml_error(e: &serde_saphyr::Error, file: &str) -> ConfigError {
    let (line, column) = e
        .location()
        .map(|l| (l.line() as u32, l.column() as u32))
        .unwrap_or((0, 0));
    let plain = strip_position(&e.without_snippet().to_string());
    let message = match e {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => unknown_field(field, expected),
        _ => match parse_unknown_field(&plain) {
            Some((field, expected)) => {
                let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
                unknown_field(&field, &expected)
            }
            None => plain,
        },
    };
    ConfigError {
        file: file.to_string(),
        line,
        column,
        path: String::new(),
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
