//! The Prometheus text format's writers (headers, samples, values) shared by `/metrics`
//! ([`super::metrics`]) and the peers' compatibility series ([`super::compat`]): one leaf both
//! import, so neither needs the other's internals and they do not import each other.

use std::fmt::Write;

/// Writes the `# HELP` and `# TYPE` lines of one family.
pub(super) fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Writes a value as the format spells it (`NaN`, `+Inf`, `-Inf` included).
pub(super) fn value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Writes one sample: `name{labels} value`. Label values of SLOs are restricted by validation to
/// characters that need no escaping.
pub(super) fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], v: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, val)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push('=');
            // The text format escapes label values as PromQL strings do.
            out.push_str(&crate::sli::promql::quote(val));
        }
        out.push('}');
    }
    out.push(' ');
    value(out, v);
    out.push('\n');
}
