//! `GET /reports/{period}`: the calendar report of `slowburn report --calendar` from the daemon's
//! own store, with its corrections counted as excluded buckets, as a printable page (default)
//! or `?format=json|csv|md`; `?timezone=Europe/Berlin` overrides each SLO's zone.
//!
//! Read-only and without a token, like the web UI. It sums stored buckets (history older than
//! the store keeps reads as missing, lowering coverage), so it is admitted like an SLO's page.

use super::AppState;
use super::admission;
use crate::report::calendar;
use crate::source::Sources;
use crate::source::store::StoreSource;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// The query string.
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    /// `html` (default), `json`, `csv` or `md`.
    format: Option<String>,
    /// An IANA zone for every SLO instead of its own.
    timezone: Option<String>,
}

fn plain(code: StatusCode, message: String) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

/// `GET /reports/{period}`.
pub async fn report(
    State(st): State<AppState>,
    Path(period): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Response {
    let format = q.format.as_deref().unwrap_or("html");
    if !["html", "json", "csv", "md"].contains(&format) {
        return plain(
            StatusCode::BAD_REQUEST,
            format!("format `{format}`: use html, json, csv or md"),
        );
    }
    let tz = match q
        .timezone
        .as_deref()
        .map(crate::calendar::parse_zone)
        .transpose()
    {
        Ok(tz) => tz,
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("timezone: {e}")),
    };
    let Some(config) = st.shared.config() else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the daemon has not evaluated yet; try again in a moment".into(),
        );
    };
    let permit = match admission::admit(&admission::REPORTS).await {
        Ok(p) => p,
        Err(why) => {
            return admission::retry_later(plain(
                StatusCode::SERVICE_UNAVAILABLE,
                admission::message(why).to_string(),
            ));
        }
    };
    // Corrections exclude their buckets here as the engine's sums do.
    let mut config = (*config).clone();
    config.maintenance.extend(
        st.shared
            .corrections
            .all()
            .iter()
            .map(crate::correction::Correction::maintenance),
    );
    let sources = Sources::only(Arc::new(StoreSource::new(Arc::clone(&st.shared.store))));
    // The current period runs to the newest evaluated bucket, which the store holds.
    let now = st.shared.snapshot().at;
    // Store reads and policy replays are synchronous work: on a blocking thread with a runtime
    // of its own, never on the workers that serve `/metrics` and drive the engine.
    let built = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        Ok::<_, std::io::Error>(rt.block_on(calendar::build(&config, &sources, &period, tz, now)))
    })
    .await;
    let rep = match built {
        Ok(Ok(Ok(r))) => r,
        Ok(Ok(Err(e))) => return plain(StatusCode::BAD_REQUEST, e.to_string()),
        Ok(Err(e)) => return plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("report failed: {e}"),
            );
        }
    };
    let (kind, body) = match format {
        "json" => (
            "application/json",
            serde_json::to_string_pretty(&calendar::to_json(&rep)).unwrap_or_default(),
        ),
        "csv" => ("text/csv; charset=utf-8", calendar::to_csv(&rep)),
        "md" => ("text/markdown; charset=utf-8", calendar::to_markdown(&rep)),
        _ => ("text/html; charset=utf-8", calendar::to_html(&rep)),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}
