//! `prometheus:` and `loki:`: where SLIs are queried, with their limits and defaults.

use super::*;
use crate::secret::Secret;

/// Default points per Loki range query: one day of 1-minute buckets, so a 30-day backfill is 30
/// requests that each stay well inside Loki's default one-minute query timeout.
pub const DEFAULT_LOKI_MAX_POINTS: u32 = 1440;

/// The limits both sources share, as written under `{section}.`.
struct Limits<'a> {
    timeout: &'a Option<SStr>,
    max_concurrency: &'a Option<Spanned<u32>>,
    retries: &'a Option<Spanned<u32>>,
    max_points_per_query: &'a Option<Spanned<u32>>,
}

/// Checks the shared limits and writes the valid ones over the defaults given.
fn limits(
    cx: &mut Ctx,
    section: &str,
    raw: Limits,
    (timeout, concurrency, retries, points): (&mut Dur, &mut usize, &mut u32, &mut u32),
) {
    if let Some(t) = raw.timeout
        && let Some(d) = cx.dur(t, &format!("{section}.timeout"))
    {
        *timeout = d;
    }
    if let Some(c) = raw.max_concurrency {
        if c.value == 0 || c.value > 64 {
            cx.err(
                &c.referenced,
                format!("{section}.max_concurrency"),
                "must be between 1 and 64",
            );
        } else {
            *concurrency = c.value as usize;
        }
    }
    if let Some(r) = raw.retries {
        if r.value > 20 {
            cx.err(
                &r.referenced,
                format!("{section}.retries"),
                "must be at most 20",
            );
        } else {
            *retries = r.value;
        }
    }
    if let Some(m) = raw.max_points_per_query {
        if m.value < 2 || m.value > 11_000 {
            cx.err(
                &m.referenced,
                format!("{section}.max_points_per_query"),
                format!("must be between 2 and 11000 ({section} refuses more than 11,000 points per series)"),
            );
        } else {
            *points = m.value;
        }
    }
}

/// The base URL of a source, or an error with an example.
pub(super) fn base_url(cx: &mut Ctx, s: &SStr, path: &str, example: &str) -> Option<String> {
    let url = cx.string(s, path)?;
    match reqwest::Url::parse(&url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Some(url),
        _ => {
            cx.err(
                &s.referenced,
                path,
                format!("`{url}` is not an http(s) URL; write e.g. {example}"),
            );
            None
        }
    }
}

pub(super) fn prometheus_settings(
    cx: &mut Ctx,
    raw: Option<&Spanned<RawPrometheus>>,
) -> PrometheusSettings {
    let mut p = PrometheusSettings {
        url: DEFAULT_PROMETHEUS_URL.to_string(),
        headers: Vec::new(),
        timeout: DEFAULT_TIMEOUT,
        max_concurrency: DEFAULT_CONCURRENCY as usize,
        retries: DEFAULT_RETRIES,
        max_points_per_query: DEFAULT_MAX_POINTS,
        flavor: Flavor::default(),
        detect_flavor: true,
        latency_offset: Dur::from_secs(0),
    };
    let Some(raw) = raw else { return p };
    let raw = &raw.value;
    p.detect_flavor = raw.flavor.is_none();
    if let Some(url) = base_url(cx, &raw.url, "prometheus.url", "http://127.0.0.1:9090") {
        p.url = url;
    }
    let mut headers = header_values(cx, &raw.headers, "prometheus.headers");
    if let Some(f) = &raw.flavor {
        match Flavor::ALL.iter().find(|(name, _)| *name == f.value) {
            Some((_, flavor)) => p.flavor = *flavor,
            None => cx.err(
                &f.referenced,
                "prometheus.flavor",
                format!(
                    "unknown flavor `{}`; one of {}",
                    f.value,
                    Flavor::ALL.map(|(n, _)| n).join(", ")
                ),
            ),
        }
    }
    // Mimir and Cortex serve the Prometheus API under `/prometheus`.
    if p.flavor == Flavor::Mimir
        && reqwest::Url::parse(&p.url).is_ok_and(|u| u.path() == "/" || u.path().is_empty())
    {
        p.url = format!("{}/prometheus", p.url.trim_end_matches('/'));
    }
    if let Some(t) = &raw.tenant {
        match p.flavor.tenant_header() {
            None => cx.err(
                &t.referenced,
                "prometheus.tenant",
                "only Thanos (`THANOS-TENANT`) and Mimir or Cortex (`X-Scope-OrgID`) take a tenant in a header; set `flavor: thanos` or `flavor: mimir`, or for a VictoriaMetrics cluster put the tenant in the URL (`/select/<tenant>/prometheus`)",
            ),
            Some(name) if headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) => cx.err(
                &t.referenced,
                "prometheus.tenant",
                format!("`headers` already sets {name}; keep one of the two"),
            ),
            Some(name) => {
                if let Some(v) = cx.header_text(t, "prometheus.tenant") {
                    headers.push((name.to_string(), v));
                }
            }
        }
    }
    p.headers = secret_values(headers);
    let shared = Limits {
        timeout: &raw.timeout,
        max_concurrency: &raw.max_concurrency,
        retries: &raw.retries,
        max_points_per_query: &raw.max_points_per_query,
    };
    limits(
        cx,
        "prometheus",
        shared,
        (
            &mut p.timeout,
            &mut p.max_concurrency,
            &mut p.retries,
            &mut p.max_points_per_query,
        ),
    );
    p
}

/// Checked header values as the secrets a source sends but never prints.
fn secret_values(headers: Vec<(String, String)>) -> Vec<(String, Secret)> {
    headers
        .into_iter()
        .map(|(k, v)| (k, Secret::new(v)))
        .collect()
}

/// `username` and `password` of a section, both or neither; `section` prefixes the paths.
pub(super) fn basic_auth(
    cx: &mut Ctx,
    username: &Option<SStr>,
    password: &Option<SStr>,
    section: &str,
) -> Option<(String, String)> {
    match (username, password) {
        (Some(u), Some(p)) => {
            let u = cx.header_text(u, &format!("{section}.username"));
            let p = cx.header_text(p, &format!("{section}.password"));
            u.zip(p)
        }
        (None, None) => None,
        (Some(s), None) | (None, Some(s)) => {
            cx.err(
                &s.referenced,
                section,
                "basic auth needs both `username` and `password` (put the password in `${ENV}` or `${file:…}`)",
            );
            None
        }
    }
}

pub(super) fn loki_settings(cx: &mut Ctx, raw: Option<&Spanned<RawLoki>>) -> Option<LokiSettings> {
    let raw = &raw?.value;
    let url = base_url(cx, &raw.url, "loki.url", "http://127.0.0.1:3100");
    let mut l = LokiSettings {
        url: url.unwrap_or_default(),
        tenant: None,
        headers: secret_values(header_values(cx, &raw.headers, "loki.headers")),
        basic_auth: None,
        timeout: DEFAULT_TIMEOUT,
        max_concurrency: DEFAULT_CONCURRENCY as usize,
        retries: DEFAULT_RETRIES,
        max_points_per_query: DEFAULT_LOKI_MAX_POINTS,
        retention: None,
    };
    if let Some(t) = &raw.tenant
        && let Some(v) = cx.header_text(t, "loki.tenant")
    {
        if v.is_empty() || v.len() > 150 {
            cx.err(
                &t.referenced,
                "loki.tenant",
                "a Loki tenant id is 1 to 150 bytes",
            );
        } else {
            l.tenant = Some(v);
        }
    }
    l.basic_auth =
        basic_auth(cx, &raw.username, &raw.password, "loki").map(|(u, p)| (u, Secret::new(p)));
    let shared = Limits {
        timeout: &raw.timeout,
        max_concurrency: &raw.max_concurrency,
        retries: &raw.retries,
        max_points_per_query: &raw.max_points_per_query,
    };
    limits(
        cx,
        "loki",
        shared,
        (
            &mut l.timeout,
            &mut l.max_concurrency,
            &mut l.retries,
            &mut l.max_points_per_query,
        ),
    );
    if let Some(r) = &raw.retention {
        l.retention = cx.dur(r, "loki.retention");
    }
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::super::errors_of;

    #[test]
    fn urls_and_limits_are_checked_where_written() {
        assert!(errors_of("prometheus: {url: \"http://p:9090\"}").is_empty());
        let e = errors_of("prometheus:\n  url: ftp://p\n  max_points_per_query: 20000");
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("t.yaml:2:8: prometheus.url"), "{e:?}");
        assert!(e[1].contains("11,000 points"), "{e:?}");
    }

    #[test]
    fn env_values_with_line_breaks_are_refused_by_validate() {
        let text =
            "prometheus:\n  url: http://p:9090\n  headers: {X-Scope-OrgID: \"${TWO}\"}\nslos: []\n";
        let e = crate::config::parse_str(text, "t.yaml", &|k| (k == "TWO").then(|| "a\nb".into()))
            .expect_err("a header value with a line break");
        let msg = e.0[0].to_string();
        assert!(
            msg.starts_with("t.yaml:3:") && msg.contains("line break"),
            "{msg}"
        );
    }

    #[test]
    fn every_wrong_type_in_loki_is_reported_with_its_path() {
        let e = errors_of(
            "loki:\n  url: http://l:3100\n  timeout: [30s]\n  max_concurrency: many\n  retries: -1\n  max_points_per_query: 1.5\n  headers: [X-Token]\n  tenant: [x]\n  password: \"p\\n\"\n  username: u",
        );
        let paths = [
            "loki.timeout",
            "loki.max_concurrency",
            "loki.retries",
            "loki.max_points_per_query",
            "loki.headers",
            "loki.tenant",
            "loki.password",
        ];
        assert_eq!(e.len(), paths.len(), "{e:?}");
        for (i, path) in paths.iter().enumerate() {
            let at = format!("t.yaml:{}:", i + 3);
            assert!(
                e[i].starts_with(&at) && e[i].contains(&format!(": {path}: ")),
                "{path}: {e:?}"
            );
        }
        assert!(e[6].contains("line break"), "{e:?}");
    }

    #[test]
    fn loki_settings_are_checked_where_written() {
        assert!(errors_of("loki: {url: \"http://l:3100\", tenant: t, retention: 14d}").is_empty());
        let e = errors_of("loki:\n  url: l:3100\n  username: u\n  max_concurrency: 0");
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].starts_with("t.yaml:2:8: loki.url"), "{e:?}");
        assert!(
            e[1].contains("needs both `username` and `password`"),
            "{e:?}"
        );
        assert!(e[2].contains("loki.max_concurrency"), "{e:?}");
    }
}
