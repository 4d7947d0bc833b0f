//! The web UI's routes: they gather what `crate::ui` renders from the same snapshot, store and
//! status model the API serves, so a page and `/api/v1/...` can never disagree. Read-only pages
//! need no token; the silences form calls the API, which checks it.

use super::AppState;
use super::admission;
use super::api::burn_windows;
use crate::alert::policy::Policy;
use crate::budget::Series;
use crate::config::Slo;
use crate::duration::Dur;
use crate::history;
use crate::store::keys::SeriesKey;
use crate::time::rfc3339;
use crate::ui::html::{Html, html};
use crate::ui::trial;
use crate::ui::{self, Nav, detail, internals, list};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

fn html(status: StatusCode, page: Html) -> Response {
    let mut r = (status, axum::response::Html(page.into_string())).into_response();
    for (k, v) in ui::SECURITY_HEADERS {
        r.headers_mut().insert(
            header::HeaderName::from_static(k),
            header::HeaderValue::from_static(v),
        );
    }
    r
}

/// The list's row of one SLO: its status (the API's model), its alert state and the gate's
/// answer on its first period.
fn row(s: &crate::engine::SloView) -> list::Row {
    list::Row::from_status(&s.slo, &s.status(), s.notice.as_deref())
}

/// The 404 of an SLO id that is not configured.
fn not_found(id: &str) -> Response {
    let body = html! { "<h1>No SLO " (id) "</h1><p><a href=\"/\">All SLOs</a></p>" };
    html(
        StatusCode::NOT_FOUND,
        ui::page("Not found", Nav::Slos, &body),
    )
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
    html(StatusCode::OK, list_page_html(&snap, &q))
}

fn list_page_html(snap: &crate::engine::Snapshot, q: &BTreeMap<String, String>) -> Html {
    let rows: Vec<list::Row> = snap.slos.iter().map(row).collect();
    let view = list::View::from_query(q);
    let body = list::render(&rows, &view, &rfc3339(snap.at), age(snap.at));
    ui::page("SLOs", Nav::Slos, &body)
}

/// The list page for a snapshot and a query string, without I/O.
pub fn list_html(snap: &crate::engine::Snapshot, q: &BTreeMap<String, String>) -> String {
    list_page_html(snap, q).into_string()
}

/// `GET /slos/{service}/{name}`: one SLO's detail.
pub async fn detail_page(
    State(st): State<AppState>,
    Path((service, name)): Path<(String, String)>,
) -> Response {
    let snap = st.shared.snapshot();
    let id = format!("{service}/{name}");
    let Some(s) = snap.slos.iter().find(|s| s.slo.id == id) else {
        return not_found(&id);
    };
    // The permit comes before any work: a month of buckets waiting for a render is what a
    // thousand concurrent requests would otherwise hold at once.
    let rendering = match admission::admit(&admission::RENDERS).await {
        Ok(p) => p,
        Err(why) => return busy_page(&id, why),
    };
    let (width, at) = (snap.width.max(1), snap.at);
    let from = detail_from(s, at, width);
    let n = ((at - from) / width).max(0) as usize;
    let silences = st.shared.silences();
    let corrections = st.shared.corrections.all();
    let store = st.shared.store.clone();
    let view = s.clone();
    let slo_id = id.clone();
    // One store read and tens of milliseconds of arithmetic for a month of minutes (the current
    // policy replayed over the longest period): off the async workers.
    let rendered = tokio::task::spawn_blocking(move || {
        // Held by the work, not the request: a timed-out request leaves its render running.
        let _rendering = rendering;
        let buckets = store.get(view.series, from, width, n)?;
        // The definitions the store holds for this SLO (a changed query is a new version).
        let versions: Vec<detail::StoredVersion> = store
            .series_keys()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, version)| detail::StoredVersion {
                version,
                key: SeriesKey::from_stored(k),
            })
            .filter(|v| v.key.is_slo_series_of(&slo_id))
            .collect();
        Ok::<_, crate::store::StoreError>(detail_body(
            &view,
            at,
            width,
            from,
            &buckets,
            &silences,
            &corrections,
            versions,
        ))
    })
    .await;
    match rendered {
        Ok(Ok(body)) => html(StatusCode::OK, ui::page(&id, Nav::Slos, &body)),
        Ok(Err(e)) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            ui::error_page(&id, &format!("The history cannot be read: {e}")),
        ),
        Err(e) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            ui::error_page(&id, &e.to_string()),
        ),
    }
}

/// A page's 503 with `Retry-After` when its kind of work is at its limit.
fn busy_page(id: &str, why: admission::Refused) -> Response {
    admission::retry_later(html(
        StatusCode::SERVICE_UNAVAILABLE,
        ui::error_page(id, admission::message(why)),
    ))
}

/// Where the detail page's one store read begins: the longest period, plus the windows its
/// first point needs.
pub fn detail_from(s: &crate::engine::SloView, at: i64, width: i64) -> i64 {
    let longest = s
        .slo
        .periods
        .iter()
        .copied()
        .max()
        .unwrap_or(Dur::from_secs(0));
    history::first_bucket(
        at,
        longest.as_secs() as i64,
        longest,
        &burn_windows(&s.slo),
        width,
    )
}

/// The detail page's body from the SLO's buckets starting at `from`, without I/O: each period's
/// history, the current policy's replay, past periods, alerts and silences.
pub fn detail_html(
    s: &crate::engine::SloView,
    at: i64,
    width: i64,
    from: i64,
    buckets: &[crate::budget::Bucket],
    silences: &[crate::alert::silence::Silence],
    versions: Vec<detail::StoredVersion>,
) -> String {
    detail_body(s, at, width, from, buckets, silences, &[], versions).into_string()
}

#[allow(clippy::too_many_arguments)]
fn detail_body(
    s: &crate::engine::SloView,
    at: i64,
    width: i64,
    from: i64,
    buckets: &[crate::budget::Bucket],
    silences: &[crate::alert::silence::Silence],
    corrections: &[crate::correction::Correction],
    versions: Vec<detail::StoredVersion>,
) -> Html {
    let windows = burn_windows(&s.slo);
    // The history as the engine sums it: a correction's buckets are excluded.
    let mut corrected = buckets.to_vec();
    crate::correction::exclude(corrections, &s.slo, from, width, &mut corrected);
    let buckets = &corrected[..];
    let longest = s
        .slo
        .periods
        .iter()
        .copied()
        .max()
        .unwrap_or(Dur::from_secs(0));
    let histories = s
        .slo
        .periods
        .iter()
        .map(|p| {
            let range = p.as_secs() as i64;
            let step = history::auto_step(range, width);
            detail::PeriodHistory {
                period: p.to_string(),
                step,
                points: history::points(
                    buckets,
                    from,
                    width,
                    s.slo.objective,
                    at,
                    range,
                    step,
                    *p,
                    &windows,
                ),
            }
        })
        .collect();
    let series = Series::from_buckets(from, Dur::from_secs(width as u64), buckets);
    let reach = windows
        .iter()
        .map(|w| w.as_secs() as i64)
        .max()
        .unwrap_or(0);
    let replay_from = (from + reach).max(at - longest.as_secs() as i64);
    let episodes = replay(&s.slo, &s.slo.policy, &series, replay_from, at, width);
    let past = past_rows(&series, s.slo.objective, at, replay_from, &episodes);
    let status = s.status();
    let d = detail::Detail {
        row: list::Row::from_status(&s.slo, &status, s.notice.as_deref()),
        description: s.slo.description.clone(),
        sli: s.slo.sli.name().to_string(),
        source: s.slo.source.to_string(),
        queries: s.slo.counts.queries(),
        version: s.series,
        versions,
        exhaustion: detail::exhaustion(&s.slo, &status),
        alerts: detail::alerts(&status),
        rules: detail::policy_rules(&status),
        windows: windows.iter().map(ToString::to_string).collect(),
        histories,
        episodes,
        past,
        silences: matching_silences(&s.slo, silences, crate::time::now_secs()),
        corrections: corrections
            .iter()
            .filter(|c| c.applies(&s.slo))
            .map(|c| detail::CorrectionLine {
                id: c.id.clone(),
                start: c.start,
                end: c.end,
                reason: c.reason.clone(),
                author: c.author.clone(),
            })
            .collect(),
        dashboard: s.dashboard.clone(),
    };
    detail::render(&d)
}

/// The last whole weeks and months the replay covered (so each row's pages are counted), with
/// the pages the replay fired in each.
fn past_rows(
    series: &Series,
    objective: f64,
    at: i64,
    replay_from: i64,
    episodes: &[trial::Shown],
) -> Vec<detail::PastRow> {
    let mut past = Vec::new();
    for (len, max) in [(7 * 86_400, 8usize), (30 * 86_400, 3)] {
        let count = (((at - replay_from) / len).max(0) as usize).min(max);
        if count == 0 {
            continue;
        }
        let length = Dur::from_secs(len as u64).to_string();
        for period in history::past_periods(series, objective, at, len, count) {
            let pages = episodes
                .iter()
                .filter(|e| e.severity == "page")
                .filter(|e| {
                    let t = parse_rfc3339(&e.fired_at);
                    t > period.end - len && t <= period.end
                })
                .count();
            past.push(detail::PastRow {
                length: length.clone(),
                period,
                pages,
            });
        }
    }
    past
}

/// The silences in force or pending that match this SLO (by id and labels).
fn matching_silences(
    slo: &Slo,
    silences: &[crate::alert::silence::Silence],
    now: i64,
) -> Vec<detail::SilenceLine> {
    silences
        .iter()
        .filter(|x| {
            x.ends_at > now
                && x.slo.as_deref().is_none_or(|id| id == slo.id)
                && x.labels.iter().all(|(k, v)| slo.labels.get(k) == Some(v))
        })
        .map(|x| detail::SilenceLine {
            id: x.id.clone(),
            comment: x.comment.clone(),
            ends_at: rfc3339(x.ends_at),
            status: x.status(now).to_string(),
        })
        .collect()
}

/// `GET /silences`.
pub async fn silences_page(State(st): State<AppState>) -> Response {
    let now = crate::time::now_secs();
    let items: Vec<ui::silences::SilenceRow> = st
        .shared
        .silences()
        .iter()
        .filter(|s| s.ends_at + crate::alert::silence::KEEP_EXPIRED > now)
        .map(|s| ui::silences::SilenceRow::from_silence(s, now))
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

/// Every source's request counters.
fn source_stats(st: &AppState) -> Vec<internals::SourceStats> {
    st.sources
        .read()
        .map(|s| {
            s.iter()
                .map(|src| {
                    let x = src.stats();
                    internals::SourceStats {
                        name: src.name().to_string(),
                        requests: x.requests.load(Ordering::Relaxed),
                        failed: x.failures.load(Ordering::Relaxed),
                        untrusted: x.partial.load(Ordering::Relaxed)
                            + x.contract.load(Ordering::Relaxed),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every receiver's waiting notifications and outcome counts.
async fn receivers(st: &AppState) -> Vec<internals::Receiver> {
    let outcomes = st
        .shared
        .notifications
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    let shared = std::sync::Arc::clone(&st.shared);
    let pending = tokio::task::spawn_blocking(move || shared.pending_now())
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let mut by_name: BTreeMap<String, internals::Receiver> = BTreeMap::new();
    for (r, n) in &pending {
        receiver(&mut by_name, r).pending = *n;
    }
    for ((r, result), n) in &outcomes {
        receiver(&mut by_name, r).outcomes.push(internals::Outcome {
            result: result.clone(),
            count: *n,
        });
    }
    by_name.into_values().collect()
}

fn receiver<'a>(
    by_name: &'a mut BTreeMap<String, internals::Receiver>,
    name: &str,
) -> &'a mut internals::Receiver {
    by_name
        .entry(name.to_string())
        .or_insert_with(|| internals::Receiver {
            name: name.to_string(),
            ..Default::default()
        })
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
    let receivers = receivers(&st).await;
    let last = h.last_eval.load(Ordering::Relaxed);
    let i = internals::Internals {
        version: format!("{} ({})", crate::VERSION, crate::REVISION),
        ready: h.ready.load(Ordering::Relaxed),
        progress: h.progress.read().map(|r| r.to_string()),
        last_eval: stamp(last),
        ticks: h.ticks.load(Ordering::Relaxed),
        slos: snap.slos.len(),
        shard: h
            .shard
            .get()
            .map(|s| format!("{} of {}", s.index(), s.count())),
        reload_error: h.last_reload_error.lock().ok().and_then(|e| e.clone()),
        sources: source_stats(&st),
        source_errors: errors
            .into_iter()
            .map(|((slo, source), failed)| internals::SourceErrors {
                slo,
                source,
                failed,
            })
            .collect(),
        receivers,
        damaged: st.shared.store.damaged(),
        backup: snap_backup(&st, h.last_backup.load(Ordering::Relaxed)),
    };
    html(
        StatusCode::OK,
        ui::page("slowburn", Nav::Internals, &internals::render(&i)),
    )
}

/// A moment with its age, or `None` before the first one.
fn stamp(at: i64) -> Option<internals::Stamp> {
    (at > 0).then(|| internals::Stamp {
        at: rfc3339(at),
        age: age(at).unwrap_or(0),
    })
}

/// The backups line of the internals page: the configured directory and the newest copy.
fn snap_backup(st: &AppState, last: i64) -> Option<internals::Backups> {
    let to = st.shared.health.backup_to.lock().ok()?.clone()?;
    Some(internals::Backups {
        to,
        last: stamp(last),
    })
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

fn parse_rfc3339(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).map_or(0, |t| t.timestamp())
}

/// Replays `policy` on the SLO's buckets over `[from, to]` through `backtest::replay`, with how
/// long each burn ran before it fired.
fn replay(
    slo: &Slo,
    policy: &Policy,
    series: &Series,
    from: i64,
    to: i64,
    width: i64,
) -> Vec<trial::Shown> {
    let subject = crate::backtest::Subject {
        id: &slo.id,
        objective: slo.objective,
        periods: &slo.periods,
        policy,
    };
    crate::backtest::replay(subject, series, from, to, width)
        .into_iter()
        .map(|e| trial::Shown {
            severity: e.severity.as_str(),
            rule: e.rule.clone(),
            fired_at: rfc3339(e.fired_at),
            resolved_at: e.resolved_at.map(rfc3339),
            peak: e.peak_burn_rate,
            detection: history::onset(series, slo.objective, e.fired_at, width)
                .map(|o| e.fired_at - o),
        })
        .collect()
}

/// Query parameters of the try page.
#[derive(Debug, serde::Deserialize)]
pub struct TryParams {
    /// Rules, one per line (`page 1h 5m 14.4`); absent: the current ones, nothing tried yet.
    pub rules: Option<String>,
    /// `1d`, `7d` or `30d` (default 7d, at most the stored history).
    pub range: Option<String>,
}

/// `GET /slos/{service}/{name}/try?rules=…&range=7d`: read-only, so no token.
pub async fn try_page(
    State(st): State<AppState>,
    Path((service, name)): Path<(String, String)>,
    Query(p): Query<TryParams>,
) -> Response {
    let snap = st.shared.snapshot();
    let id = format!("{service}/{name}");
    let Some(s) = snap.slos.iter().find(|s| s.slo.id == id) else {
        return not_found(&id);
    };
    let range_text = p
        .range
        .as_deref()
        .filter(|r| ["1d", "7d", "30d"].contains(r))
        .unwrap_or("7d");
    let range = crate::duration::parse(range_text).map_or(7 * 86_400, |d| d.as_secs() as i64);
    let text = p.rules.clone().unwrap_or_else(|| {
        trial::format_rules(&s.slo.policy.rules) + &trial::format_consumption(&s.slo.policy)
    });
    let bucket = Dur::from_secs(snap.width.max(1) as u64);
    let parsed = p.rules.as_deref().map(|t| trial::parse_rules(t, bucket));
    let mut tried_policy = s.slo.policy.clone();
    let mut errors = Vec::new();
    let longest = s
        .slo
        .periods
        .iter()
        .copied()
        .max()
        .unwrap_or(Dur::from_secs(0));
    match parsed {
        // A long window beyond the SLO's longest period would read history it does not keep.
        Some(Ok(rules)) if rules.iter().any(|r| r.long > longest) => {
            errors = vec![format!(
                "a long window may be at most the SLO's longest period ({longest})"
            )];
        }
        Some(Ok(rules)) => tried_policy.rules = rules,
        Some(Err(e)) => errors = e,
        None => {}
    }
    if let Some(t) = p.rules.as_deref() {
        match trial::parse_consumption(t, bucket) {
            Ok((drop, exhaustion)) => {
                tried_policy.budget_drop = drop;
                tried_policy.exhaustion_within = exhaustion;
            }
            Err(e) => errors.extend(e),
        }
    }
    // One replay at a time: a month of evaluations per policy is the heaviest page there is.
    let replaying = match admission::admit(&admission::REPLAYS).await {
        Ok(p) => p,
        Err(why) => return busy_page(&id, why),
    };
    let width = snap.width.max(1);
    let at = snap.at;
    let reach = s
        .slo
        .policy
        .rules
        .iter()
        .chain(&tried_policy.rules)
        .map(|r| r.long.as_secs() as i64)
        .chain(s.slo.periods.iter().map(|p| p.as_secs() as i64))
        .max()
        .unwrap_or(0);
    let from = at - range - reach;
    let from = from - from.rem_euclid(width);
    let n = ((at - from) / width).max(0) as usize;
    let start = at - range + width;
    let want_tried = p.rules.is_some() && errors.is_empty();
    let slo = std::sync::Arc::clone(&s.slo);
    let (store, series_id) = (st.shared.store.clone(), s.series);
    let corrections = st.shared.corrections.all();
    // One store read and up to a month of evaluations per policy: off the async workers.
    let replays = tokio::task::spawn_blocking(move || {
        // Held by the work, not the request: a timed-out request leaves its replay running.
        let _replaying = replaying;
        let mut buckets = store.get(series_id, from, width, n)?;
        crate::correction::exclude(&corrections, &slo, from, width, &mut buckets);
        let series = Series::from_buckets(from, Dur::from_secs(width as u64), &buckets);
        let current = replay(&slo, &slo.policy, &series, start, at, width);
        let tried = want_tried.then(|| replay(&slo, &tried_policy, &series, start, at, width));
        Ok::<_, crate::store::StoreError>((current, tried))
    })
    .await;
    let (current, tried) = match replays {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return html(
                StatusCode::INTERNAL_SERVER_ERROR,
                ui::error_page(&id, &e.to_string()),
            );
        }
        Err(e) => {
            return html(
                StatusCode::INTERNAL_SERVER_ERROR,
                ui::error_page(&id, &e.to_string()),
            );
        }
    };
    let (from_text, to_text) = (rfc3339(start), rfc3339(at));
    let body = trial::render(&trial::Page {
        service: &service,
        name: &name,
        text: &text,
        range: range_text,
        errors: &errors,
        current: &current,
        tried: tried.as_deref(),
        span: (&from_text, &to_text),
    });
    html(
        StatusCode::OK,
        ui::page(&format!("Try a policy: {id}"), Nav::Slos, &body),
    )
}
