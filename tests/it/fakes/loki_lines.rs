//! The line-reading half of the FAKE Loki's LogQL (`fakes/loki_logql.rs` parses, this reads):
//! the pattern line filter, the `json` and `logfmt` parsers and the number formats a label
//! filter or `unwrap` reads, each as Loki 3.x does it (`pkg/logql/log`).

use super::super::Labels;

/// One part of a pattern line filter: literal text or `<_>`.
pub(super) enum Node {
    Literal(String),
    Any,
}

/// A pattern line filter's text: literals and `<_>`; a named capture is refused, as are two
/// captures in a row (`pkg/logql/log/pattern`).
pub(super) fn pattern(p: &str) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    let mut literal = String::new();
    let mut rest = p;
    while let Some(ch) = rest.chars().next() {
        if ch == '<'
            && let Some(end) = rest.find('>')
        {
            let name = &rest[1..end];
            let ident = !name.is_empty()
                && name.char_indices().all(|(i, c)| {
                    c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit())
                });
            if ident {
                if name != "_" {
                    return Err(format!("named captures are not allowed: found '<{name}>'"));
                }
                if !literal.is_empty() {
                    nodes.push(Node::Literal(std::mem::take(&mut literal)));
                }
                if matches!(nodes.last(), Some(Node::Any)) {
                    return Err("found consecutive capture '<_><_>': invalid expression".into());
                }
                nodes.push(Node::Any);
                rest = &rest[end + 1..];
                continue;
            }
        }
        literal.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    if !literal.is_empty() {
        nodes.push(Node::Literal(literal));
    }
    Ok(nodes)
}

/// Loki's `pattern.Matcher.Test`: each literal in order, a `<_>` between two literals matches
/// at least one character, and the line must end where the pattern does (on a literal) or
/// hold more text (on a `<_>`).
pub(super) fn pattern_test(nodes: &[Node], line: &str) -> bool {
    if line.is_empty() || nodes.is_empty() {
        return line.is_empty() && nodes.is_empty();
    }
    let mut off = 0;
    for (i, n) in nodes.iter().enumerate() {
        let Node::Literal(lit) = n else { continue };
        let Some(j) = line[off..].find(lit.as_str()) else {
            return false;
        };
        if i != 0 && j == 0 {
            return false;
        }
        off += j + lit.len();
    }
    let ends_on_any = matches!(nodes.last(), Some(Node::Any));
    ends_on_any == (off != line.len())
}

/// `| json`: every string, number and boolean, nested objects flattened with `_`; arrays and
/// nulls skipped; a line that is not a JSON object gets `__error__=JSONParserErr`.
pub(super) fn json(body: &str, stream: &Labels, labels: &mut Labels) {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(m)) => flatten("", &m, stream, labels),
        _ => {
            labels.insert("__error__".into(), "JSONParserErr".into());
        }
    }
}

fn flatten(
    prefix: &str,
    m: &serde_json::Map<String, serde_json::Value>,
    stream: &Labels,
    labels: &mut Labels,
) {
    for (k, v) in m {
        let part = sanitize(k, prefix.is_empty());
        if part.is_empty() {
            continue;
        }
        let key = if prefix.is_empty() {
            part
        } else {
            format!("{prefix}_{part}")
        };
        match v {
            serde_json::Value::Object(inner) => flatten(&key, inner, stream, labels),
            serde_json::Value::String(s) => extracted(key, s.clone(), stream, labels),
            serde_json::Value::Number(n) => extracted(key, n.to_string(), stream, labels),
            serde_json::Value::Bool(b) => extracted(key, b.to_string(), stream, labels),
            serde_json::Value::Array(_) | serde_json::Value::Null => {}
        }
    }
}

/// `| logfmt`: `key=value` and `key="quoted value"` pairs; a bare key is an empty value.
pub(super) fn logfmt(body: &str, stream: &Labels, labels: &mut Labels) {
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = &rest[key_end..];
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            if let Some(quoted) = after.strip_prefix('"') {
                let mut end = quoted.len();
                let mut escaped = false;
                for (i, c) in quoted.char_indices() {
                    if escaped {
                        value.push(c);
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = i + 1;
                        break;
                    } else {
                        value.push(c);
                    }
                }
                rest = &quoted[end..];
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                value = after[..end].to_string();
                rest = &after[end..];
            }
        }
        let key = sanitize(key, true);
        if !key.is_empty() {
            extracted(key, value, stream, labels);
        }
        rest = rest.trim_start();
    }
}

/// Sets a parsed label; one the stream already has gets `_extracted`.
fn extracted(key: String, value: String, stream: &Labels, labels: &mut Labels) {
    let key = if stream.contains_key(&key) {
        format!("{key}_extracted")
    } else {
        key
    };
    labels.insert(key, value);
}

/// Loki's `sanitizeLabelKey`: every character outside `[A-Za-z0-9_]` becomes `_`, and a first
/// part starting with a digit gets a leading `_`.
fn sanitize(key: &str, first: bool) -> String {
    let key = key.trim();
    let mut out = String::with_capacity(key.len() + 1);
    if first && key.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(key.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// A Go duration (`182ms`, `1.5s`, `1m30s`, `0`) in seconds; a bare number other than 0 is not
/// one.
pub(super) fn go_duration(s: &str) -> Option<f64> {
    let mut rest = s.trim();
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (num, tail) = rest.split_at(n);
        let u = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(u);
        let mult = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += num.parse::<f64>().ok()? * mult;
        rest = tail;
    }
    Some(total)
}

/// Bytes as go-humanize's `ParseBytes` reads them: a number and an optional unit (`B`, `KB`,
/// `KiB`, … up to `TiB`, any case); decimal units are powers of 1000, `i` ones of 1024.
pub(super) fn bytes(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "ki" | "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mi" | "mib" => 1_048_576.0,
        "g" | "gb" => 1e9,
        "gi" | "gib" => 1_073_741_824.0,
        "t" | "tb" => 1e12,
        "ti" | "tib" => 1_099_511_627_776.0,
        _ => return None,
    };
    Some(n * mult)
}
