//! The built-in web UI, rendered on the server: every SLO at a glance ([`list`]), one SLO's
//! history and definition ([`detail`]), silences ([`silences`]) and the daemon itself
//! ([`internals`]). Named view structs are built by pure functions from the typed status model
//! ([`crate::status::SloStatus`]) and the history; render functions turn them into [`Html`];
//! `src/server/ui.rs` gathers the data.
//!
//! Everything that comes from `slo.yaml` or a source (ids, labels, descriptions, queries, error
//! messages) is escaped by construction ([`html`]); charts are SVG drawn here ([`chart`]); the
//! only script is the embedded `app.js` (the silences form), so the pages run under a strict
//! Content-Security-Policy with no inline script or style.

pub mod chart;
pub mod detail;
pub mod html;
pub mod internals;
pub mod list;
pub mod silences;
pub mod trial;

use html::{Html, html};
use std::fmt::Write as _;

/// The stylesheet, embedded: light and dark themes follow the browser's setting.
pub const STYLE_CSS: &str = include_str!("assets/style.css");
/// The one script: the silences form (token kept in the tab's sessionStorage, sent as a bearer
/// header) and nothing else.
pub const APP_JS: &str = include_str!("assets/app.js");

/// The headers every page carries: no inline script or style, nothing from elsewhere, no
/// framing, no MIME sniffing, no referrer leaking SLO names.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
];

/// Percent-encodes a query or path component.
pub fn url_enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The path of an SLO's page: `/slos/<service>/<the rest of its id>`, the rest percent-encoded
/// whole. A grouped SLO's member has an id like `api/avail{route="/x y"}`, whose `/`, braces,
/// quotes, `=`, `,` and spaces would otherwise split the path or end the attribute; encoded, the
/// rest stays one segment that the router decodes back into the `{name}` its handler joins to
/// the service. A plain SLO's path is what it always was.
pub fn slo_path(id: &str) -> String {
    match id.split_once('/') {
        Some((service, rest)) => format!("/slos/{}/{}", url_enc(service), url_enc(rest)),
        None => format!("/slos/{}", url_enc(id)),
    }
}

/// A ratio as a percentage with enough digits for objectives like 99.95%.
pub fn pct(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => {
            let p = x * 100.0;
            if p.abs() >= 99.0 && p.abs() < 100.0 {
                format!("{p:.3}%")
            } else {
                format!("{p:.1}%")
            }
        }
        _ => "–".into(),
    }
}

/// A burn rate (`2.35×`).
pub fn burn(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.2}×"),
        _ => "–".into(),
    }
}

/// A duration in the largest whole unit people read (`3d 4h`, `52m`).
pub fn human_secs(s: f64) -> String {
    if !s.is_finite() {
        return "–".into();
    }
    let s = s.max(0.0) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// The class for a remaining budget: `ok` (≥ 25%), `warn` (≥ 0), `bad` (spent), `none`.
pub fn budget_class(remaining: Option<f64>) -> &'static str {
    match remaining {
        Some(r) if r >= 0.25 => "ok",
        Some(r) if r >= 0.0 => "warn",
        Some(_) => "bad",
        None => "none",
    }
}

/// A budget bar: an SVG (no inline style) with the number beside it, so colour is never the
/// only signal; a spent budget says so in words.
pub fn budget_bar(remaining: Option<f64>) -> Html {
    let class = budget_class(remaining);
    let fill = remaining.map_or(0.0, |r| (r.clamp(0.0, 1.0) * 100.0).round());
    let word = match remaining {
        Some(r) if r < 0.0 => " spent",
        None => " no data",
        _ => "",
    };
    html! {
        "<span class=\"budget " (class) "\"><svg class=\"bar\" viewBox=\"0 0 100 8\" width=\"80\" height=\"8\" aria-hidden=\"true\"><rect class=\"track\" width=\"100\" height=\"8\"/><rect class=\"fill\" width=\"" (fill) "\" height=\"8\"/></svg> <span class=\"num\">" (pct(remaining)) "</span>" (word) "</span>"
    }
}

/// Which page the navigation marks as current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// The SLO list (and an SLO's detail).
    Slos,
    /// Silences.
    Silences,
    /// The daemon itself.
    Internals,
}

/// A whole page around `body`.
pub fn page(title: &str, nav: Nav, body: &Html) -> Html {
    let link = |n: Nav, href: &'static str, text: &'static str| {
        let current = if n == nav {
            r#" aria-current="page""#
        } else {
            ""
        };
        html! { "<a href=\"" (href) "\"" (Html::from_static(current)) ">" (text) "</a>" }
    };
    html! {
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
        (title)
        " · slowburn</title><link rel=\"stylesheet\" href=\"/ui/style.css\"><script src=\"/ui/app.js\" defer></script></head>\n<body><header><a class=\"brand\" href=\"/\">slowburn</a><nav>"
        (link(Nav::Slos, "/", "SLOs"))
        (link(Nav::Silences, "/silences", "Silences"))
        (link(Nav::Internals, "/internals", "slowburn"))
        "</nav></header>\n<main>\n"
        (body)
        "\n</main></body></html>\n"
    }
}

/// A page that says what went wrong (a missing SLO, a store that cannot be read, a busy server):
/// the heading and one line, escaped.
pub fn error_page(title: &str, message: &str) -> Html {
    let body = html! { "<h1>" (title) "</h1><p class=\"error-row\">" (message) "</p>" };
    page(title, Nav::Slos, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        let s = Html::text(r#"<script>alert("x")</script> & 'y'"#);
        assert_eq!(
            s.as_str(),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        let p = page("<t>", Nav::Silences, &Html::text("<b>"));
        assert!(p.as_str().contains("<title>&lt;t&gt; · slowburn</title>"));
        assert!(
            p.as_str()
                .contains(r#"<a href="/silences" aria-current="page">Silences</a>"#)
        );
        assert!(p.as_str().contains("<main>\n&lt;b&gt;\n</main>"));
        assert_eq!(url_enc("a b/c&d"), "a%20b%2Fc%26d");
        assert_eq!(slo_path("api/availability"), "/slos/api/availability");
        assert_eq!(
            slo_path(r#"api/avail{route="/x y",code=""}"#),
            "/slos/api/avail%7Broute%3D%22%2Fx%20y%22%2Ccode%3D%22%22%7D"
        );
    }

    #[test]
    fn numbers_read_as_people_expect() {
        assert_eq!(pct(Some(0.999)), "99.900%");
        assert_eq!(pct(Some(0.275)), "27.5%");
        assert_eq!(pct(None), "–");
        assert_eq!(burn(Some(14.4)), "14.40×");
        assert_eq!(human_secs(90_000.0), "1d 1h");
        assert!(budget_bar(Some(-0.2)).as_str().contains("spent"));
        assert!(budget_bar(None).as_str().contains("no data"));
    }
}
