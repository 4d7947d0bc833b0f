//! The web UI's routes: they gather what `crate::ui` renders from the same snapshot, store and
//! JSON the API serves, so a page and `/api/v1/...` can never disagree. Read-only pages need no
//! token; the silences form calls the API, which checks it.

use super::AppState;
use super::api::{ApiError, burn_windows, load_history};
use crate::history;
use crate::report::slo_json;
use crate::time::rfc3339;
use crate::ui::{self, Nav, detail, internals, list};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    for (k, v) in ui::SECURITY_HEADERS {
        r.headers_mut().insert(
            header::HeaderName::from_static(k),
            header::HeaderValue::from_static(v),
        );
    }
    r
}

/// The list's row of one SLO: the API's JSON, its alert state and the gate's answer on its first
/// period (minimum 0, as `slowburn gate` decides by default).
fn row(s: &crate::engine::SloView) -> list::Row {
    let v = slo_json(
        &s.slo,
        &s.eval,
        s.sla_sli,
        &s.last_error.iter().cloned().collect::<Vec<_>>(),
    );
    let periods = s
        .slo
        .periods
        .iter()
        .map(|p| {
            let j = &v["periods"][p.to_string()];
            list::PeriodCell {
                period: p.to_string(),
                sli: j["sli"].as_f64(),
                remaining: j["error_budget_remaining"].as_f64(),
                coverage: j["coverage"].as_f64().unwrap_or(0.0),
            }
        })
        .collect();
    let alert = if s.alerts[0].firing() {
        list::AlertState::Page
    } else if s.alerts[1].firing() {
        list::AlertState::Ticket
    } else {
        list::AlertState::None
    };
    let first = s
        .slo
        .periods
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    let verdict = crate::gate::decide(&v, &first, 0.0);
    list::Row {
        id: s.slo.id.clone(),
        service: s.slo.service.clone(),
        name: s.slo.name.clone(),
        objective: s.slo.objective,
        labels: s.slo.labels.clone(),
        periods,
        burn_1h: v["burn_rates"]["1h"].as_f64(),
        burn_6h: v["burn_rates"]["6h"].as_f64(),
        alert,
        sla: s.slo.sla.as_ref().map(|sla| {
            (
                sla.objective,
                v["sla"]["sli"].as_f64(),
                v["sla"]["met"].as_bool(),
            )
        }),
        gate: (verdict.allow, verdict.reason),
        error: s.last_error.clone(),
    }
}

fn age(at: i64) -> Option<i64> {
    (at > 0).then(|| (crate::time::now_secs() - at).max(0))
}

/// `GET /`: every SLO, as the query string filters, sorts and groups them.
pub async fn list_page(
    State(st): State<AppState>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let snap = st.shared.snapshot();
    let rows: Vec<list::Row> = snap.slos.iter().map(row).collect();
    let view = list::View::from_query(&q);
    let body = list::render(&rows, &view, &rfc3339(snap.at), age(snap.at));
    html(StatusCode::OK, ui::page("SLOs", Nav::Slos, &body))
}

/// `GET /slos/{service}/{name}`: one SLO's detail.
pub async fn detail_page(
    State(st): State<AppState>,
    Path((service, name)): Path<(String, String)>,
) -> Response {
    let snap = st.shared.snapshot();
    let id = format!("{service}/{name}");
    let Some(s) = snap.slos.iter().find(|s| s.slo.id == id) else {
        let body = format!(
            r#"<h1>No SLO {}</h1><p><a href="/">All SLOs</a></p>"#,
            ui::esc(&id)
        );
        return html(
            StatusCode::NOT_FOUND,
            ui::page("Not found", Nav::Slos, &body),
        );
    };
    let width = snap.width.max(1);
    let windows = burn_windows(&s.slo);
    let mut histories = Vec::new();
    for p in &s.slo.periods {
        let range = p.as_secs() as i64;
        let step = history::auto_step(range, width);
        match load_history(&st, s, snap.at, width, (range, step, *p), &windows).await {
            Ok(pts) => histories.push((p.to_string(), step, pts)),
            Err(ApiError(_, e)) => {
                let body = format!(
                    "<h1>{}</h1><p class=\"error-row\">The history cannot be read: {}</p>",
                    ui::esc(&id),
                    ui::esc(&e)
                );
                return html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ui::page(&id, Nav::Slos, &body),
                );
            }
        }
    }
    let alert = |severity: &'static str, r: &crate::alert::state::Record| detail::Alert {
        severity,
        firing: r.firing(),
        rule: r.rule.clone(),
        fired_at: r.fired_at.map(rfc3339),
        resolved_at: r.resolved_at.map(rfc3339),
        peak: (r.fired_at.is_some()).then_some(r.peak_burn_rate),
        notified: r.sent.keys().cloned().collect(),
    };
    let now = crate::time::now_secs();
    let silences = st
        .shared
        .silences()
        .iter()
        .filter(|x| {
            x.ends_at > now
                && x.slo.as_deref().is_none_or(|id| id == s.slo.id)
                && x.labels.iter().all(|(k, v)| s.slo.labels.get(k) == Some(v))
        })
        .map(|x| {
            (
                x.id.clone(),
                x.comment.clone(),
                rfc3339(x.ends_at),
                x.status(now).to_string(),
            )
        })
        .collect();
    let d = detail::Detail {
        row: row(s),
        description: s.slo.description.clone(),
        sli: s.slo.sli.name().to_string(),
        source: s.slo.source.clone(),
        queries: s.slo.counts.queries(),
        version: s.series,
        exhaustion: s
            .eval
            .periods
            .iter()
            .map(|p| (p.period.to_string(), p.exhaustion_1h))
            .collect(),
        alerts: vec![alert("page", &s.alerts[0]), alert("ticket", &s.alerts[1])],
        rules: s
            .slo
            .policy
            .rules
            .iter()
            .map(|r| detail::PolicyRule {
                severity: r.severity.as_str(),
                long: r.long.to_string(),
                short: r.short.to_string(),
                factor: r.factor,
            })
            .collect(),
        windows: windows.iter().map(ToString::to_string).collect(),
        histories,
        silences,
        dashboard: s.dashboard.clone(),
    };
    html(
        StatusCode::OK,
        ui::page(&id, Nav::Slos, &detail::render(&d)),
    )
}

/// `GET /silences`.
pub async fn silences_page(State(st): State<AppState>) -> Response {
    let now = crate::time::now_secs();
    let items: Vec<serde_json::Value> = st
        .shared
        .silences()
        .iter()
        .filter(|s| s.ends_at + crate::alert::silence::KEEP_EXPIRED > now)
        .map(|s| s.to_json(now))
        .collect();
    let ids: Vec<String> = st
        .shared
        .snapshot()
        .slos
        .iter()
        .map(|s| s.slo.id.clone())
        .collect();
    let body = ui::silences::render(&items, &ids, st.token.is_some());
    html(StatusCode::OK, ui::page("Silences", Nav::Silences, &body))
}

/// `GET /internals`: the daemon itself.
pub async fn internals_page(State(st): State<AppState>) -> Response {
    let h = &st.shared.health;
    let snap = st.shared.snapshot();
    let errors: BTreeMap<(String, String), u64> = h
        .source_errors
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    let sources = st
        .sources
        .read()
        .map(|s| {
            s.iter()
                .map(|src| {
                    let x = src.stats();
                    (
                        src.name().to_string(),
                        x.requests.load(Ordering::Relaxed),
                        x.failures.load(Ordering::Relaxed),
                        x.partial.load(Ordering::Relaxed) + x.contract.load(Ordering::Relaxed),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let outcomes = st
        .shared
        .notifications
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    let pending = st
        .shared
        .pending
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    let mut receivers: BTreeMap<String, (u64, Vec<(String, u64)>)> = BTreeMap::new();
    for (r, n) in &pending {
        receivers.entry(r.clone()).or_default().0 = *n;
    }
    for ((r, result), n) in &outcomes {
        receivers
            .entry(r.clone())
            .or_default()
            .1
            .push((result.clone(), *n));
    }
    let last = h.last_eval.load(Ordering::Relaxed);
    let i = internals::Internals {
        version: crate::cli::VERSION.to_string(),
        ready: h.ready.load(Ordering::Relaxed),
        last_eval: (last > 0).then(|| (rfc3339(last), age(last).unwrap_or(0))),
        ticks: h.ticks.load(Ordering::Relaxed),
        slos: snap.slos.len(),
        reload_error: h.last_reload_error.lock().ok().and_then(|e| e.clone()),
        sources,
        source_errors: errors.into_iter().map(|((a, b), n)| (a, b, n)).collect(),
        receivers: receivers
            .into_iter()
            .map(|(name, (pending, outcomes))| internals::Receiver {
                name,
                pending,
                outcomes,
            })
            .collect(),
        damaged: st.shared.store.damaged(),
    };
    html(
        StatusCode::OK,
        ui::page("slowburn", Nav::Internals, &internals::render(&i)),
    )
}

/// `GET /ui/style.css` and `/ui/app.js`: embedded, cacheable for an hour.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "style.css" => (ui::STYLE_CSS, "text/css; charset=utf-8"),
        "app.js" => (ui::APP_JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
