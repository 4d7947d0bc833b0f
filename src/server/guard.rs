//! What every answer goes through: the `Host` check against DNS rebinding, `nosniff` on every
//! answer, and error answers as JSON like the API's own.
//!
//! DNS rebinding: a page on another origin resolves its own name to 127.0.0.1 and then reads the
//! UI and API "same-origin". The browser still sends the attacker's name in `Host`, so a request
//! is served only when its host is an IP literal (a rebound name is never one), `localhost`, or
//! a name the operator allowed (`--allow-host`, for a Service or compose name). `*` turns the
//! check off.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;
use std::sync::Arc;

/// Largest error body rewrapped as JSON; longer ones are cut (errors are a line or two).
const ERROR_BODY_LIMIT: usize = 4096;

/// The host names a request may name besides IP literals and `localhost`.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    names: Arc<[String]>,
    any: bool,
}

impl AllowedHosts {
    /// From `--allow-host` values (names, any case, without port; `*` allows every name).
    pub fn new(names: &[String]) -> Self {
        let any = names.iter().any(|n| n.trim() == "*");
        let names = names
            .iter()
            .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|n| !n.is_empty() && n != "*")
            .collect();
        AllowedHosts { names, any }
    }

    /// Whether a request whose `Host` header is `host` (with or without port) is served.
    pub fn admits(&self, host: &str) -> bool {
        if self.any {
            return true;
        }
        let name = host_name(host);
        if name.parse::<IpAddr>().is_ok() {
            return true;
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        name == "localhost" || self.names.contains(&name)
    }
}

/// The name part of a `Host` value: `[::1]:9464` → `::1`, `example:80` → `example`.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The middleware: refuses a host that is not allowed (421, JSON), then marks every answer
/// `nosniff` and turns a plain-text or empty error answer (413 from the body limit, 408 from the
/// timeout, 400 from a query string axum refused, 405) into `{"error": "..."}`.
pub async fn guard(State(allowed): State<AllowedHosts>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host());
    let Some(host) = host else {
        // Fail closed: every browser and client sends Host; without one nothing can be checked.
        return nosniff(json_error(
            StatusCode::BAD_REQUEST,
            "a Host header is required".into(),
        ));
    };
    if !allowed.admits(host) {
        tracing::warn!(
            host,
            "request refused: host not allowed (DNS rebinding protection)"
        );
        let msg = format!(
            "host `{}` is not served: only IP addresses, localhost and names given with --allow-host (SLOWBURN_ALLOW_HOSTS) are",
            host_name(host)
        );
        return nosniff(json_error(StatusCode::MISDIRECTED_REQUEST, msg));
    }
    let r = next.run(req).await;
    nosniff(as_json_error(r).await)
}

fn nosniff(mut r: Response) -> Response {
    r.headers_mut()
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    r
}

fn json_error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(serde_json::json!({"error": message}))).into_response()
}

/// An error answer that is neither JSON nor a page, rewrapped as JSON with the same status and
/// headers (a 503's `Retry-After` stays).
async fn as_json_error(r: Response) -> Response {
    let status = r.status();
    let kind = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !(status.is_client_error() || status.is_server_error())
        || kind.starts_with("application/json")
        || kind.starts_with("text/html")
        || r.headers().contains_key(header::CONTENT_ENCODING)
    {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    let text = match axum::body::to_bytes(body, ERROR_BODY_LIMIT).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
    } else {
        text
    };
    let body = serde_json::json!({"error": message}).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_and_localhost_pass_other_names_need_allowing() {
        let none = AllowedHosts::new(&[]);
        for ok in [
            "127.0.0.1:9464",
            "127.0.0.1",
            "[::1]:9464",
            "10.1.2.3:9464",
            "localhost:9464",
            "LOCALHOST",
            "localhost.",
        ] {
            assert!(none.admits(ok), "{ok}");
        }
        for refused in [
            "evil.example:9464",
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "slowburn:9464",
        ] {
            assert!(!none.admits(refused), "{refused}");
        }
        let some = AllowedHosts::new(&["Slowburn".into(), "slowburn.monitoring.svc".into()]);
        assert!(some.admits("slowburn:9464"));
        assert!(some.admits("SLOWBURN.monitoring.svc"));
        assert!(!some.admits("evil.example"));
        assert!(AllowedHosts::new(&["*".into()]).admits("anything.example"));
    }

    #[tokio::test]
    async fn plain_errors_become_json_and_keep_their_headers() {
        let mut r = (StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded").into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        let r = as_json_error(r).await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        let body = axum::body::to_bytes(r.into_body(), 1 << 16)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(v["error"], "length limit exceeded");
        let empty = as_json_error(StatusCode::REQUEST_TIMEOUT.into_response()).await;
        let body = axum::body::to_bytes(empty.into_body(), 1 << 16)
            .await
            .expect("body");
        assert_eq!(&body[..], br#"{"error":"request timeout"}"#);
    }
}
