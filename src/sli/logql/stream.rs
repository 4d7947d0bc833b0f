//! The stream selector `{name op "value", …}`, checked as Loki parses it: at least one matcher,
//! and at least one that does not match the empty string (Loki answers 400 otherwise, on every
//! tick, and slowburn does not retry a 400).

use super::{ident, string};

/// Loki's own words for a selector whose every matcher accepts the empty value
/// (`pkg/logql/syntax/parser.go`, `errAtleastOneEqualityMatcherRequired`).
const LOKI_EMPTY_COMPATIBLE: &str = "parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

/// `{name op "value", …}` with at least one matcher, one of which does not match the empty
/// string; returns what follows the selector.
pub(super) fn selector(s: &str) -> Result<&str, String> {
    let mut rest = s
        .strip_prefix('{')
        .ok_or("a stream selector starts with `{`")?
        .trim_start();
    // Whether each matcher accepts a stream without its label (`None`: not decidable here).
    let mut empty: Vec<Option<bool>> = Vec::new();
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            if empty.is_empty() {
                return Err(
                    "the stream selector needs at least one matcher, like `{app=\"api\"}`".into(),
                );
            }
            if empty.iter().all(|e| *e == Some(true)) {
                let text = &s[..s.len() - after.len()];
                return Err(format!(
                    "every matcher of `{text}` also matches streams without its label, which Loki refuses: `{LOKI_EMPTY_COMPATIBLE}`; add one that names streams, like `app=\"api\"`"
                ));
            }
            return Ok(after);
        }
        let (name, after) = ident(rest);
        if name.is_empty() {
            return Err(format!(
                "expected a label name in the stream selector at `{}`",
                rest.chars().take(20).collect::<String>()
            ));
        }
        let after = after.trim_start();
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| after.starts_with(op))
            .ok_or_else(|| {
                format!("label `{name}` needs `=`, `!=`, `=~` or `!~` and a quoted value")
            })?;
        let value = after[op.len()..].trim_start();
        let after_value = string(value)
            .ok_or_else(|| format!("the value of `{name}` must be a quoted string"))?;
        empty.push(matches_empty(op, &value[..value.len() - after_value.len()]));
        rest = after_value.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start();
        }
    }
}

/// Whether a matcher accepts the empty value (a stream without the label), as Prometheus's
/// matchers that Loki uses decide it: a regex is anchored at both ends (`^(?s:re)$`). `None`
/// when this cannot be told here (an escape or a regex the `regex` crate does not read): Loki
/// then has the last word, through `validate --online`.
fn matches_empty(op: &str, literal: &str) -> Option<bool> {
    let value = unquote(literal)?;
    match op {
        "=" => Some(value.is_empty()),
        "!=" => Some(!value.is_empty()),
        "=~" | "!~" => {
            let re = regex::Regex::new(&format!("^(?s:{value})$")).ok()?;
            Some(re.is_match("") == (op == "=~"))
        }
        _ => None,
    }
}

/// The value of a string literal as Go reads it: a backtick string as written, a double-quoted
/// one with its escapes (`\n`, `\\`, `\"`, `\x41`, `\101`, `\u00e9`, …). `None` for an escape
/// Go would refuse.
fn unquote(literal: &str) -> Option<String> {
    if let Some(raw) = literal.strip_prefix('`') {
        return raw.strip_suffix('`').map(str::to_string);
    }
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let simple = match chars.next()? {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '\\' => '\\',
            '"' => '"',
            '\'' => '\'',
            c @ ('x' | 'u' | 'U') => {
                let digits = match c {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.by_ref().take(digits).collect();
                if hex.len() != digits {
                    return None;
                }
                char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
            }
            d @ '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                let octal = format!("{d}{rest}");
                if octal.len() != 3 {
                    return None;
                }
                char::from_u32(u32::from_str_radix(&octal, 8).ok()?)?
            }
            _ => return None,
        };
        out.push(simple);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selector_matching_only_the_empty_value_is_refused_in_lokis_words() {
        for q in [
            r#"{env!="dev"}"#,
            r#"{app=""}"#,
            r#"{app=~".*"}"#,
            r#"{app!~"x"}"#,
            r#"{a=~"a*"}"#,
            r#"{app=``, env!="dev"}"#,
            r#"{app=~"x?"}"#,
        ] {
            let e = selector(q).expect_err(q);
            assert!(
                e.contains("empty-compatible value") && e.contains(q),
                "{q}: {e}"
            );
        }
        for q in [
            r#"{app="api"}"#,
            r#"{app=~".+"}"#,
            r#"{app!~""}"#,
            r#"{app!~".*"}"#,
            r#"{env!="dev", app="api"}"#,
            r#"{app=~"a|b"}"#,
            r#"{app="\"quoted\""}"#,
            // Not decidable here (an escape Go refuses): Loki has the last word.
            r#"{app!="\q"}"#,
        ] {
            assert!(selector(q).is_ok(), "{q}: {:?}", selector(q));
        }
    }

    #[test]
    fn values_are_read_as_go_reads_them() {
        assert_eq!(unquote(r#""a\"b\\c\n""#).as_deref(), Some("a\"b\\c\n"));
        assert_eq!(unquote(r#""\x41\101\u00e9""#).as_deref(), Some("AAé"));
        assert_eq!(unquote(r"`a\.b`").as_deref(), Some(r"a\.b"));
        assert_eq!(unquote(r#""\q""#), None);
        assert_eq!(unquote(r#""\x4""#), None);
        assert_eq!(matches_empty("=~", r#""a\\.b""#), Some(false));
        assert_eq!(matches_empty("=~", r#""(a)?""#), Some(true));
        assert_eq!(matches_empty("!~", r#""(""#), None);
    }
}
