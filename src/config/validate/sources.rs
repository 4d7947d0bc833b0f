//! `prometheus:`: where SLIs are queried, with its limits and defaults.

use super::*;

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
    };
    let Some(raw) = raw else { return p };
    let raw = &raw.value;
    if let Some(url) = cx.string(&raw.url, "prometheus.url") {
        match reqwest::Url::parse(&url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => p.url = url,
            _ => cx.err(
                &raw.url.referenced,
                "prometheus.url",
                format!("`{url}` is not an http(s) URL; write e.g. http://127.0.0.1:9090"),
            ),
        }
    }
    for (name, value) in &raw.headers {
        if let Some(v) = cx.string(value, &format!("prometheus.headers.{name}")) {
            p.headers.push((name.clone(), v));
        }
    }
    if let Some(t) = &raw.timeout
        && let Some(d) = cx.dur(t, "prometheus.timeout")
    {
        p.timeout = d;
    }
    if let Some(c) = &raw.max_concurrency {
        if c.value == 0 || c.value > 64 {
            cx.err(
                &c.referenced,
                "prometheus.max_concurrency",
                "must be between 1 and 64",
            );
        } else {
            p.max_concurrency = c.value as usize;
        }
    }
    if let Some(r) = &raw.retries {
        if r.value > 20 {
            cx.err(&r.referenced, "prometheus.retries", "must be at most 20");
        } else {
            p.retries = r.value;
        }
    }
    if let Some(m) = &raw.max_points_per_query {
        if m.value < 2 || m.value > 11_000 {
            cx.err(
                &m.referenced,
                "prometheus.max_points_per_query",
                "must be between 2 and 11000 (Prometheus refuses more than 11,000 points per series)",
            );
        } else {
            p.max_points_per_query = m.value;
        }
    }
    p
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
}
