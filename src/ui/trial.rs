//! "Try a policy": edit an SLO's burn-rate rules and see the episodes they would have fired over
//! the stored history beside the current policy's, with how long each burn ran before it was
//! caught. The replay is `backtest::replay`, the daemon's own decision, not a second engine.

use super::html::{Html, html};
use super::{burn, human_secs, slo_path};
use crate::alert::policy::Rule;
use crate::duration::Dur;

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

/// The rules as the form writes them: one per line, `severity long short factor [for duration]`
/// (`page 1h 5m 14.4`).
pub fn format_rules(rules: &[Rule]) -> String {
    rules
        .iter()
        .map(|r| {
            let pending = if r.pending.as_secs() > 0 {
                format!(" for {}", r.pending)
            } else {
                String::new()
            };
            format!(
                "{} {} {} {}{pending}",
                r.severity.as_str(),
                r.long,
                r.short,
                r.factor
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads the form's rules; every bad line is reported with its number. Each rule is checked by
/// the function that checks `slo.yaml`'s ([`crate::config::validate::burn_rule`]), so the page
/// accepts what the config would, with its messages: windows whole buckets of `bucket` (a replay
/// over part of a bucket would count a bucket twice or none, and show episodes the daemon could
/// never fire), the short one shorter, a positive factor.
pub fn parse_rules(text: &str, bucket: Dur) -> Result<Vec<Rule>, Vec<String>> {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if matches!(f.get(1), Some(&"drop") | Some(&"exhaustion")) {
            // A budget-consumption line: `parse_consumption` reads it.
            continue;
        }
        let (severity, long, short, factor, pending) = match f[..] {
            [s, l, sh, fa] => (s, l, sh, fa, None),
            [s, l, sh, fa, "for", p] => (s, l, sh, fa, Some(p)),
            _ => {
                errors.push(format!(
                    "line {n}: write `severity long short factor [for duration]`, e.g. `page 1h 5m 14.4` or `page 6h 30m 6 for 15m`"
                ));
                continue;
            }
        };
        let pending = match pending.map(|p| crate::config::validate::pending_duration(p, bucket)) {
            None => Dur::from_secs(0),
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                errors.push(format!("line {n}: for: {e}"));
                continue;
            }
        };
        // Text that is not a number is not a positive one: the shared check says so.
        let factor = factor.parse::<f64>().unwrap_or(f64::NAN);
        match crate::config::validate::burn_rule(severity, long, short, factor, bucket) {
            Ok(rule) => rules.push(crate::alert::policy::Rule { pending, ..rule }),
            Err(problems) => {
                errors.extend(
                    problems
                        .into_iter()
                        .map(|e| format!("line {n}: {}", e.message)),
                );
            }
        }
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

/// The budget-consumption conditions as the form writes them, one per line after the rules:
/// `page drop 5% 1h` and `ticket exhaustion 24h`.
pub fn format_consumption(policy: &crate::alert::policy::Policy) -> String {
    let mut out = String::new();
    if let Some(d) = policy.budget_drop {
        out.push_str(&format!(
            "\n{} drop {}% {}",
            d.severity.as_str(),
            (d.share * 1e5).round() / 1e3,
            d.within
        ));
    }
    if let Some(e) = policy.exhaustion_within {
        out.push_str(&format!(
            "\n{} exhaustion {}",
            e.severity.as_str(),
            e.within
        ));
    }
    out
}

/// Reads the form's budget-consumption lines (`page drop 5% 1h`, `ticket exhaustion 24h`); the
/// last of each kind counts, none turns the condition off. Spans are whole buckets, as in
/// `slo.yaml`.
#[allow(clippy::type_complexity)]
pub fn parse_consumption(
    text: &str,
    bucket: Dur,
) -> Result<
    (
        Option<crate::alert::policy::BudgetDrop>,
        Option<crate::alert::policy::ExhaustionWithin>,
    ),
    Vec<String>,
> {
    use crate::alert::policy::{BudgetDrop, ExhaustionWithin, Severity};
    let (mut drop, mut exhaustion, mut errors) = (None, None, Vec::new());
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let severity = match f.first() {
            Some(&"page") => Severity::Page,
            Some(&"ticket") => Severity::Ticket,
            _ => continue,
        };
        let span = |s: &str| -> Result<Dur, String> {
            let d = crate::duration::parse(s).map_err(|e| format!("line {n}: {e}"))?;
            crate::alert::policy::consumption_span(d, bucket)
                .map_err(|e| format!("line {n}: {s} {e}"))
        };
        match f[1..] {
            ["drop", percent, within] => {
                let share = percent
                    .trim_end_matches('%')
                    .parse::<f64>()
                    .map_err(|_| "not a number".to_string())
                    .and_then(crate::alert::policy::budget_share);
                match (share, span(within)) {
                    (Ok(share), Ok(within)) => {
                        drop = Some(BudgetDrop {
                            share,
                            within,
                            severity,
                        })
                    }
                    (Err(e), _) => errors.push(format!("line {n}: `{percent}`: {e}")),
                    (_, Err(e)) => errors.push(e),
                }
            }
            ["exhaustion", within] => match span(within) {
                Ok(within) => exhaustion = Some(ExhaustionWithin { within, severity }),
                Err(e) => errors.push(e),
            },
            ["drop", ..] | ["exhaustion", ..] => errors.push(format!(
                "line {n}: write `page drop 5% 1h` or `ticket exhaustion 24h`"
            )),
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok((drop, exhaustion))
    } else {
        Err(errors)
    }
}

/// One policy's episodes, with how many pages and tickets.
fn table(title: &'static str, id: &'static str, eps: &[Shown]) -> Html {
    let pages = eps.iter().filter(|e| e.severity == "page").count();
    let tickets = eps.len() - pages;
    let mut h = html! {
        "<section id=\"" (id) "\"><h3>" (title) " <span class=\"summary\">(" (pages) " pages, "
        (tickets) " tickets)</span></h3><table class=\"episodes\"><thead><tr><th>Severity</th><th>Rule</th><th>Fired</th><th>Resolved</th><th>Peak burn</th><th>Detected after</th></tr></thead><tbody>"
    };
    for e in eps {
        h.push(&html! {
            "<tr data-severity=\"" (e.severity) "\"><td class=\"alert-" (e.severity) "\">"
            (e.severity) "</td><td>" (e.rule) "</td><td>" (e.fired_at) "</td><td>"
            (e.resolved_at.as_deref().unwrap_or("still firing")) "</td><td>" (burn(Some(e.peak)))
            "</td><td>" (e.detection.map_or("–".into(), |d| human_secs(d as f64))) "</td></tr>"
        });
    }
    h.push_static("</tbody></table>");
    if eps.is_empty() {
        h.push_static(r#"<p class="empty">Nothing would have fired.</p>"#);
    }
    h.push_static("</section>");
    h
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
pub fn render(p: &Page<'_>) -> Html {
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
    // A member's name holds braces, quotes and slashes: the path encodes it as one segment.
    let path = slo_path(&format!("{service}/{name}"));
    let ranges: Html = ["1d", "7d", "30d"]
        .into_iter()
        .map(|r| {
            let sel = if r == range { " selected" } else { "" };
            html! { "<option value=\"" (r) "\"" (sel) ">" (r) "</option>" }
        })
        .collect();
    let mut h = html! {
        "<p class=\"crumbs\"><a href=\"/\">SLOs</a> / <a href=\"" (path) "\">"
        (service) "/" (name) "</a></p><h1>Try a policy on " (service) "/" (name) "</h1>\n<p class=\"description\">Replays the stored buckets from "
        (span.0) " to " (span.1)
        " through the daemon's own alert decision, once per bucket, with the rules below instead of the current ones (the policy's other conditions stay). Nothing is sent.</p>"
        "<form class=\"stack\" method=\"get\" action=\"" (path)
        "/try\"><label>Rules, one per line: severity long short factor [for duration]; severity drop 5% 1h; severity exhaustion 24h<textarea name=\"rules\" rows=\"6\" cols=\"40\">"
        (text) "</textarea></label><label>Over the last <select name=\"range\">" (ranges)
        "</select></label><button type=\"submit\">Replay</button></form>"
    };
    if !errors.is_empty() {
        h.push_static(r#"<ul class="config-error" id="rule-errors">"#);
        for e in errors {
            h.push(&html! { "<li>" (e) "</li>" });
        }
        h.push_static("</ul>");
    }
    h.push_static(r#"<div class="compare">"#);
    h.push(&table("Current policy", "current", current));
    if let Some(t) = tried {
        h.push(&table("Tried policy", "tried", t));
    }
    h.push_static("</div>");
    h
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
        // Budget-consumption lines are read apart, and written back as they were.
        let text = "page 1h 5m 14.4\npage drop 5% 1h\nticket exhaustion 1d";
        assert_eq!(parse_rules(text, minute).unwrap().len(), 1);
        let (drop, ex) = parse_consumption(text, minute).unwrap();
        let mut p = crate::alert::policy::Policy::builtin(Dur::from_secs(86400), minute);
        (p.budget_drop, p.exhaustion_within) = (drop, ex);
        assert_eq!(
            format_consumption(&p),
            "\npage drop 5% 1h\nticket exhaustion 1d"
        );
        let err = parse_consumption("page drop 0% 1h\nticket exhaustion 30s\npage drop", minute)
            .unwrap_err();
        assert_eq!(err.len(), 3, "{err:?}");
        let pending = parse_rules("page 6h 30m 6 for 15m", minute).unwrap();
        assert_eq!(pending[0].pending, Dur::from_secs(900));
        assert_eq!(format_rules(&pending), "page 6h 30m 6 for 15m");
        let err = parse_rules("page 6h 30m 6 for 30s\npage 6h 30m 6 after 5m", minute).unwrap_err();
        assert!(err[0].starts_with("line 1: for:"), "{err:?}");
        assert!(err[1].contains("[for duration]"), "{err:?}");
        // Parts of a bucket: the replay would read a 90 s window as two buckets.
        let err = parse_rules("page 90s 30s 14.4\npage 1h 1500ms 2", minute).unwrap_err();
        assert_eq!(err.len(), 2, "{err:?}");
        assert!(err[0].contains("whole buckets (1m)"), "{err:?}");
        assert!(parse_rules("page 90s 30s 14.4", Dur::from_secs(30)).is_ok());
        // slo.yaml's checks and words: the same function decides both.
        let err = parse_rules("page 1h 5m x\npage 1h 0s 2\npage 5m 1h 2", minute).unwrap_err();
        assert!(
            err[0].starts_with("line 1:") && err[0].contains("positive number"),
            "{err:?}"
        );
        assert!(err[1].contains("greater than zero"), "{err:?}");
        assert!(
            err[2].contains("must be shorter than the long one"),
            "{err:?}"
        );
    }
}
