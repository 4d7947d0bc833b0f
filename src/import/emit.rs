//! An import as `slo.yaml` text: a header that says where it came from, then every SLO with a
//! comment naming its source position and what was dropped or approximated in it, so the review
//! of the new file shows what changed meaning.

use super::{Alerting, Finding, GroupBy, Imported, Sla, Sli, Slo, number};
use std::fmt::Write;

/// The whole file. `command` is the invocation, written in the header.
pub fn slo_yaml(imported: &Imported, command: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Written by `{command}`.");
    out.push_str(
        "# Check it with `slowburn validate`; the comments above each SLO say where it came from\n",
    );
    out.push_str("# and what of its source slowburn could not keep.\n");
    if let Some(url) = &imported.prometheus_url {
        let _ = writeln!(out, "prometheus:\n  url: {}", scalar(url));
    }
    if let Some(url) = &imported.loki_url {
        let _ = writeln!(out, "loki:\n  url: {}", scalar(url));
    }
    if imported.slos.is_empty() {
        out.push_str("slos: []\n");
        return out;
    }
    out.push_str("slos:\n");
    for (i, slo) in imported.slos.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let notes: Vec<&Finding> = imported
            .warnings
            .iter()
            .filter(|w| w.slo.as_deref() == Some(slo.id().as_str()))
            .collect();
        write_slo(&mut out, slo, &notes);
    }
    out
}

/// One SLO entry.
fn write_slo(out: &mut String, slo: &Slo, notes: &[&Finding]) {
    let _ = writeln!(out, "  # from {}", slo.origin);
    for n in notes {
        let _ = writeln!(out, "  # {}: {}", n.field, one_line(&n.why));
    }
    let _ = writeln!(out, "  - service: {}", scalar(&slo.service));
    let _ = writeln!(out, "    name: {}", scalar(&slo.name));
    let _ = writeln!(out, "    objective: {}", number(slo.objective));
    if !slo.windows.is_empty() {
        let _ = writeln!(out, "    windows: [{}]", slo.windows.join(", "));
    }
    if let Some(z) = &slo.timezone {
        let _ = writeln!(out, "    timezone: {}", scalar(z));
    }
    if let Some(d) = &slo.description {
        let _ = writeln!(out, "    description: {}", scalar(d));
    }
    if !slo.labels.is_empty() {
        out.push_str("    labels:\n");
        for (k, v) in &slo.labels {
            let _ = writeln!(out, "      {}: {}", scalar(k), scalar(v));
        }
    }
    write_sli(out, &slo.sli, slo.source.as_deref());
    if let Some(g) = &slo.group_by {
        write_group_by(out, g);
    }
    if let Some(sla) = &slo.sla {
        write_sla(out, sla);
    }
    write_alerting(out, &slo.alerting);
}

/// `group_by:`, and `max_groups:` when the source names one.
fn write_group_by(out: &mut String, g: &GroupBy) {
    let labels: Vec<String> = g.labels.iter().map(String::as_str).map(scalar).collect();
    let _ = writeln!(out, "    group_by: [{}]", labels.join(", "));
    if let Some(m) = g.max {
        let _ = writeln!(out, "    max_groups: {m}");
    }
}

/// `sla:`.
fn write_sla(out: &mut String, sla: &Sla) {
    out.push_str("    sla:\n");
    let _ = writeln!(out, "      objective: {}", number(sla.objective));
    if let Some(t) = &sla.threshold {
        let _ = writeln!(out, "      threshold: {}", scalar(t));
    }
}

/// `sli:`, with its `source` when it is not Prometheus.
fn write_sli(out: &mut String, sli: &Sli, source: Option<&str>) {
    out.push_str("    sli:\n");
    let kind = match sli {
        Sli::Ratio { .. } => "ratio",
        Sli::Latency { .. } => "latency",
        Sli::Timeslice { .. } => "timeslice",
    };
    let _ = writeln!(out, "      {kind}:");
    if let Some(s) = source {
        let _ = writeln!(out, "        source: {}", scalar(s));
    }
    match sli {
        Sli::Ratio {
            good,
            errors,
            total,
        } => {
            for (key, side) in [("good", good), ("errors", errors), ("total", total)] {
                if let Some(q) = side {
                    let _ = writeln!(out, "        {key}: {}", quoted(q));
                }
            }
        }
        Sli::Latency {
            histogram,
            threshold,
        } => {
            let _ = writeln!(out, "        histogram: {}", quoted(histogram));
            let _ = writeln!(out, "        threshold: {threshold}");
        }
        Sli::Timeslice {
            query,
            below,
            above,
            slice,
        } => {
            let _ = writeln!(out, "        query: {}", quoted(query));
            if let Some(b) = below {
                let _ = writeln!(out, "        below: {}", number(*b));
            }
            if let Some(a) = above {
                let _ = writeln!(out, "        above: {}", number(*a));
            }
            if let Some(s) = slice {
                let _ = writeln!(out, "        slice: {s}");
            }
        }
    }
}

/// `alerting:`, only what differs from the built-in policy.
fn write_alerting(out: &mut String, a: &Alerting) {
    if *a == Alerting::default() {
        return;
    }
    out.push_str("    alerting:\n");
    if let Some(rules) = &a.rules {
        out.push_str("      rules:\n");
        for r in rules {
            let _ = write!(
                out,
                "        - {{severity: {}, long: {}, short: {}, factor: {}{}}}",
                r.severity.as_str(),
                r.long,
                r.short,
                number(r.factor),
                r.pending
                    .as_ref()
                    .map(|p| format!(", for: {p}"))
                    .unwrap_or_default()
            );
            out.push('\n');
        }
    }
    if let Some(b) = a.budget_ticket_below {
        let _ = writeln!(out, "      budget_ticket_below: {}", number(b));
    }
    if let Some(m) = a.min_events {
        let _ = writeln!(out, "      min_events: {}", number(m));
    }
    if a.budget_exhausted_off {
        out.push_str("      budget_exhausted: none\n");
    } else if let Some(s) = a.budget_exhausted {
        let _ = writeln!(out, "      budget_exhausted: {}", s.as_str());
    }
    if a.no_data_off {
        out.push_str("      no_data_after: none\n");
    } else if let Some(d) = &a.no_data_after {
        let _ = writeln!(out, "      no_data_after: {}", scalar(d));
    }
}

/// A comment's text on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A string that YAML reads back as the same string: plain when nothing in it means something
/// to YAML, else single-quoted.
pub fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.' | ' '))
        && !s.starts_with([' ', '-', '.'])
        && !s.ends_with(' ')
        && !reads_as_other_type(s);
    if plain { s.to_string() } else { quoted(s) }
}

/// Always single-quoted (queries: braces and quotes inside); a multi-line query is joined into
/// one line (spaces inside a line, string literals included, are kept).
pub fn quoted(s: &str) -> String {
    let joined: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    format!("'{}'", joined.join(" ").replace('\'', "''"))
}

/// Plain text YAML would read as a number, a boolean or null.
fn reads_as_other_type(s: &str) -> bool {
    s.parse::<f64>().is_ok()
        || matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "y" | "n"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_read_back_as_the_same_string() {
        assert_eq!(scalar("checkout"), "checkout");
        assert_eq!(scalar("1"), "'1'");
        assert_eq!(scalar("true"), "'true'");
        assert_eq!(scalar("a: b"), "'a: b'");
        assert_eq!(scalar("it's"), "'it''s'");
        assert_eq!(quoted("x{a=\"b\"}\n  + y"), "'x{a=\"b\"} + y'");
    }
}
