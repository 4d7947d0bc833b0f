//! "Try a policy": edit an SLO's burn-rate rules and see the episodes they would have fired over
//! the stored history beside the current policy's, with how long each burn ran before it was
//! caught. The replay is `backtest::replay`, the daemon's own decision, not a second engine.

use super::{burn, esc, human_secs, url_enc};
use crate::alert::policy::Rule;
use crate::alert::policy::Severity;
use crate::duration::{self, Dur};
use std::fmt::Write as _;

/// Most rules a tried policy may have.
pub const MAX_RULES: usize = 12;

/// An episode as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// `page` or `ticket`.
    pub severity: &'static str,
    /// `1h/5m`, `budget`, `no data`.
    pub rule: String,
    /// RFC 3339.
    pub fired_at: String,
    /// RFC 3339, or `None` while still firing at the end of the range.
    pub resolved_at: Option<String>,
    /// Highest burn rate.
    pub peak: f64,
    /// Seconds from the burn's onset to the fire.
    pub detection: Option<i64>,
}

/// The rules as the form writes them: one per line, `severity long short factor`
/// (`page 1h 5m 14.4`).
pub fn format_rules(rules: &[Rule]) -> String {
    rules
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r.severity.as_str(),
                r.long,
                r.short,
                r.factor
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads the form's rules; every bad line is reported with its number. Windows must be whole
/// buckets of `bucket`, as `slo.yaml`'s are: a replay over part of a bucket would count a bucket
/// twice or none, and show episodes the daemon could never fire.
pub fn parse_rules(text: &str, bucket: Dur) -> Result<Vec<Rule>, Vec<String>> {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 4 {
            errors.push(format!(
                "line {n}: write `severity long short factor`, e.g. `page 1h 5m 14.4`"
            ));
            continue;
        }
        let severity = match f[0] {
            "page" => Severity::Page,
            "ticket" => Severity::Ticket,
            s => {
                errors.push(format!(
                    "line {n}: severity `{s}` is neither page nor ticket"
                ));
                continue;
            }
        };
        let (long, short) = match (duration::parse(f[1]), duration::parse(f[2])) {
            (Ok(l), Ok(s)) => (l, s),
            _ => {
                errors.push(format!("line {n}: windows are durations such as 1h or 30m"));
                continue;
            }
        };
        if short >= long || long.as_secs() > 90 * 86_400 || short.as_secs() == 0 {
            errors.push(format!(
                "line {n}: the short window must be shorter than the long one (at most 90d)"
            ));
            continue;
        }
        if !long.is_whole_buckets(bucket) || !short.is_whole_buckets(bucket) {
            errors.push(format!(
                "line {n}: windows must be whole buckets ({bucket}), as in slo.yaml"
            ));
            continue;
        }
        let factor = match f[3].parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 && x <= 1000.0 => x,
            _ => {
                errors.push(format!(
                    "line {n}: the factor is a burn rate above 0, e.g. 14.4"
                ));
                continue;
            }
        };
        rules.push(Rule {
            severity,
            long,
            short,
            factor,
        });
    }
    if rules.len() > MAX_RULES {
        errors.push(format!("at most {MAX_RULES} rules"));
    }
    if rules.is_empty() && errors.is_empty() {
        errors.push("no rule given".into());
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

fn table(title: &str, id: &str, eps: &[Shown]) -> String {
    let pages = eps.iter().filter(|e| e.severity == "page").count();
    let tickets = eps.len() - pages;
    let mut s = format!(
        r#"<section id="{id}"><h3>{} <span class="summary">({pages} pages, {tickets} tickets)</span></h3><table class="episodes"><thead><tr><th>Severity</th><th>Rule</th><th>Fired</th><th>Resolved</th><th>Peak burn</th><th>Detected after</th></tr></thead><tbody>"#,
        esc(title)
    );
    for e in eps {
        let _ = write!(
            s,
            r#"<tr data-severity="{sev}"><td class="alert-{sev}">{sev}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&e.rule),
            esc(&e.fired_at),
            esc(e.resolved_at.as_deref().unwrap_or("still firing")),
            burn(Some(e.peak)),
            e.detection.map_or("–".into(), |d| human_secs(d as f64)),
            sev = e.severity
        );
    }
    s.push_str("</tbody></table>");
    if eps.is_empty() {
        s.push_str(r#"<p class="empty">Nothing would have fired.</p>"#);
    }
    s.push_str("</section>");
    s
}

/// What the try page shows.
pub struct Page<'a> {
    /// The SLO's service.
    pub service: &'a str,
    /// The SLO's name.
    pub name: &'a str,
    /// The rules as typed (or the current ones).
    pub text: &'a str,
    /// `1d`, `7d` or `30d`.
    pub range: &'a str,
    /// What is wrong with the typed rules.
    pub errors: &'a [String],
    /// The current policy's episodes.
    pub current: &'a [Shown],
    /// The tried policy's, once valid rules were given.
    pub tried: Option<&'a [Shown]>,
    /// The replayed range, RFC 3339.
    pub span: (&'a str, &'a str),
}

/// The try page's body: the form, then the current and the tried policy's episodes.
pub fn render(p: &Page<'_>) -> String {
    let Page {
        service,
        name,
        text,
        range,
        errors,
        current,
        tried,
        span,
    } = *p;
    let mut s = format!(
        r#"<p class="crumbs"><a href="/">SLOs</a> / <a href="/slos/{0}/{1}">{2}/{3}</a></p><h1>Try a policy on {2}/{3}</h1>
<p class="description">Replays the stored buckets from {4} to {5} through the daemon's own alert decision, once per bucket, with the rules below instead of the current ones (the policy's other conditions stay). Nothing is sent.</p>"#,
        url_enc(service),
        url_enc(name),
        esc(service),
        esc(name),
        esc(span.0),
        esc(span.1)
    );
    let _ = write!(
        s,
        r#"<form class="stack" method="get" action="/slos/{}/{}/try"><label>Rules, one per line: severity long short factor<textarea name="rules" rows="6" cols="40">{}</textarea></label><label>Over the last <select name="range">"#,
        url_enc(service),
        url_enc(name),
        esc(text)
    );
    for r in ["1d", "7d", "30d"] {
        let sel = if r == range { " selected" } else { "" };
        let _ = write!(s, r#"<option value="{r}"{sel}>{r}</option>"#);
    }
    s.push_str(r#"</select></label><button type="submit">Replay</button></form>"#);
    if !errors.is_empty() {
        s.push_str(r#"<ul class="config-error" id="rule-errors">"#);
        for e in errors {
            let _ = write!(s, "<li>{}</li>", esc(e));
        }
        s.push_str("</ul>");
    }
    s.push_str(r#"<div class="compare">"#);
    s.push_str(&table("Current policy", "current", current));
    if let Some(t) = tried {
        s.push_str(&table("Tried policy", "tried", t));
    }
    s.push_str("</div>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_round_trip_and_bad_lines_say_which() {
        let text = "page 1h 5m 14.4\nticket 3d 6h 1\n";
        let minute = Dur::from_secs(60);
        let rules = parse_rules(text, minute).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(format_rules(&rules), text.trim());
        let err = parse_rules(
            "page 1h 5m\nurgent 1h 5m 2\npage 5m 1h 2\npage 1h 5m -1",
            minute,
        )
        .unwrap_err();
        assert_eq!(err.len(), 4);
        assert!(err[1].starts_with("line 2:") && err[1].contains("urgent"));
        assert!(parse_rules("", minute).is_err());
        // Parts of a bucket: the replay would read a 90 s window as two buckets.
        let err = parse_rules("page 90s 30s 14.4\npage 1h 1500ms 2", minute).unwrap_err();
        assert_eq!(err.len(), 2, "{err:?}");
        assert!(err[0].contains("whole buckets (1m)"), "{err:?}");
        assert!(parse_rules("page 90s 30s 14.4", Dur::from_secs(30)).is_ok());
    }
}
