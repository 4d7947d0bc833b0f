//! Loki's query API over HTTP: form-encoded POSTs with nanosecond integer timestamps, retried
//! by the shared [`crate::http::HttpLayer`] on 429 and 5xx (never on 400), and Loki's plain-text
//! errors kept word for word, because they say what to change (`the query time range exceeds
//! the limit`, `no org id`).

use super::NAME;
use crate::config::LokiSettings;
use crate::http::{HttpLayer, Retry, Verdict};
use crate::secret::Secret;
use crate::source::{QueryStats, SourceError, failed, redact_url};
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub use super::wire::Matrix;
use super::wire::{self, Data};

/// Longest Loki error text kept in a message (the rest is noise, such as a stack of limits).
const MAX_MESSAGE: usize = 600;

/// A Loki endpoint with its credentials, and the HTTP layer that bounds, retries and counts its
/// requests.
pub struct Client {
    http: HttpLayer,
    base: String,
    settings: LokiSettings,
}

#[derive(Deserialize)]
struct VectorSample {
    value: (f64, String),
}

/// Why one attempt failed, and whether another may succeed.
struct Failure {
    retriable: bool,
    message: String,
}

impl Verdict for Failure {
    fn retriable(&self) -> bool {
        self.retriable
    }
}

impl Client {
    /// Builds the HTTP client; header values and the password are marked sensitive and never
    /// logged.
    pub fn new(settings: &LokiSettings) -> Result<Self, SourceError> {
        let bad = |message: String| SourceError::Setup(message);
        let mut all: Vec<(String, Secret)> = settings.headers.clone();
        if let Some(t) = &settings.tenant {
            all.push(("X-Scope-OrgID".into(), Secret::new(t.clone())));
        }
        let headers = crate::source::secret_headers(&all, " in `loki:`")?;
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(Duration::from_millis(settings.timeout.as_millis()))
            .build()
            .map_err(|e| bad(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http: HttpLayer::new(http, settings.max_concurrency, Retry::new(settings.retries)),
            base: settings.url.trim_end_matches('/').to_string(),
            settings: settings.clone(),
        })
    }

    /// What was asked of this Loki so far.
    pub fn stats(&self) -> &QueryStats {
        self.http.stats()
    }

    /// `query_range` of a metric query: points at `start`, `start + step`, … `end` (unix seconds).
    pub async fn range(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Matrix, SourceError> {
        let params = [
            ("query", query.to_string()),
            ("start", nanos(start)),
            ("end", nanos(end)),
            ("step", format!("{step}s")),
        ];
        let data = self
            .post("/loki/api/v1/query_range", query, &params)
            .await?;
        if data.result_type != "matrix" {
            return Err(shape(query, &data.result_type, "matrix"));
        }
        wire::matrix(data.result).map_err(|message| {
            self.stats().contract.fetch_add(1, Ordering::Relaxed);
            SourceError::Untrusted {
                backend: NAME.into(),
                query: query.to_string(),
                message,
            }
        })
    }

    /// An instant metric query at `time` (unix seconds): one window `(time − R, time]`.
    pub async fn instant(&self, query: &str, time: i64) -> Result<Vec<f64>, SourceError> {
        let params = [("query", query.to_string()), ("time", nanos(time))];
        let data = self.post("/loki/api/v1/query", query, &params).await?;
        match data.result_type.as_str() {
            "vector" => {
                let v: Vec<VectorSample> =
                    serde_json::from_value(data.result).map_err(|e| SourceError::BadResult {
                        query: query.to_string(),
                        message: format!("cannot read the vector: {e}"),
                    })?;
                Ok(v.iter().filter_map(|s| finite(&s.value.1)).collect())
            }
            other => Err(shape(query, other, "vector")),
        }
    }

    /// `GET /ready`: 200 once Loki serves queries. One attempt, not counted.
    pub async fn ready(&self) -> Result<(), SourceError> {
        let url = format!("{}/ready", self.base);
        let fail = |message: String| SourceError::Unavailable {
            backend: NAME.into(),
            url: redact_url(&self.base),
            query: "GET /ready".into(),
            attempts: 1,
            message,
        };
        self.http
            .probe(
                |c| self.authorized(c.get(&url)),
                transport,
                |status, _, body| {
                    if (200..300).contains(&status) {
                        return Ok(());
                    }
                    let status = reqwest::StatusCode::from_u16(status)
                        .map_or_else(|_| status.to_string(), |s| s.to_string());
                    Err(format!(
                        "HTTP {status}: {}",
                        clip(&String::from_utf8_lossy(body))
                    ))
                },
            )
            .await
            .map_err(fail)
    }

    fn authorized(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.settings.basic_auth {
            Some((u, p)) => req.basic_auth(u, Some(p.expose())),
            None => req,
        }
    }

    /// One query through the HTTP layer (bounded, retried, counted), decoded as Loki's answer.
    async fn post(
        &self,
        path: &str,
        query: &str,
        params: &[(&str, String)],
    ) -> Result<Data, SourceError> {
        let url = format!("{}{path}", self.base);
        let transport_failure = |e: &reqwest::Error| Failure {
            retriable: true,
            message: transport(e),
        };
        let data = self
            .http
            .send(
                |c| self.authorized(c.post(&url).form(params)),
                transport_failure,
                |status, _, body| decode(status, &String::from_utf8_lossy(body), query),
            )
            .await
            .map_err(|e| {
                failed(
                    NAME,
                    &self.base,
                    query,
                    e.attempts,
                    e.failure.retriable,
                    e.failure.message,
                )
            })?;
        if let Some(lines) = wire::lines_processed(&data) {
            self.stats().samples.fetch_add(lines, Ordering::Relaxed);
        }
        Ok(data)
    }
}

/// One answer of Loki's query API: its data, or why it cannot be used and whether asking again
/// may help (429, 408 and 5xx may; a refused query, or a body that is not Loki's JSON, will not).
fn decode(status: u16, body: &str, query: &str) -> Result<Data, Failure> {
    if !(200..300).contains(&status) {
        let mut message = format!("HTTP {status}: {}", clip(body));
        if status == 401 && body.contains("no org id") {
            message.push_str(" (this Loki runs with tenancy: set `loki.tenant`)");
        }
        return Err(Failure {
            retriable: status == 429 || status == 408 || (500..600).contains(&status),
            message: format!("{message} (query `{query}`)"),
        });
    }
    wire::body(body).map_err(|message| Failure {
        retriable: false,
        // Loki's own error says it all; a body that is not Loki's JSON is shown.
        message: if message.starts_with("not a Loki") {
            format!("{message}: {} (query `{query}`)", clip(body))
        } else {
            format!("{message} (query `{query}`)")
        },
    })
}

/// Unix seconds as the nanosecond integer Loki reads without ambiguity.
pub fn nanos(secs: i64) -> String {
    format!("{secs}000000000")
}

fn finite(v: &str) -> Option<f64> {
    v.parse::<f64>().ok().filter(|x| x.is_finite())
}

fn shape(query: &str, got: &str, want: &str) -> SourceError {
    SourceError::BadResult {
        query: query.to_string(),
        message: format!(
            "Loki answered with a `{got}` result, not a `{want}`; a log query must be counted (slowburn wraps plain log queries in count_over_time)"
        ),
    }
}

fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else {
        format!("request failed: {e}")
    }
}

fn clip(body: &str) -> String {
    let t = body.trim();
    match t.char_indices().nth(MAX_MESSAGE) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_nanosecond_integers_and_points_whole_seconds() {
        assert_eq!(nanos(1_767_323_040), "1767323040000000000");
        assert_eq!(wire::whole_seconds(1_767_322_800.0), Some(1_767_322_800));
        assert_eq!(wire::whole_seconds(1_767_322_800.5), None);
        assert_eq!(finite("12"), Some(12.0));
        assert_eq!(finite("NaN"), None);
    }

    #[test]
    fn long_errors_are_clipped() {
        let long = "x".repeat(2000);
        assert_eq!(clip(&long).chars().count(), MAX_MESSAGE + 1);
        assert_eq!(clip(" short\n"), "short");
    }
}
