//! `POST/GET/DELETE /api/v1/corrections`: past ranges whose buckets the budgets do not count
//! ([`crate::correction`]).
//!
//! Changing corrections needs the API token exactly as silences do ([`authorize`]: 403 without
//! a configured token, 401 with a wrong one); listing is read-only. A correction is stored
//! before the answer, so it survives a restart, and the engine applies the changed set at its
//! next tick. Every change is logged on the `audit` target with who asked and why.

use super::AppState;
use super::api::ApiError;
use super::silences::authorize;
use crate::correction::{Correction, MAX_CORRECTIONS, NewCorrection};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("cannot store: {e}"),
    )
}

/// `GET /api/v1/corrections`: every correction, oldest first.
pub async fn list(State(st): State<AppState>) -> Json<Value> {
    let items: Vec<Correction> = st.shared.corrections.all();
    Json(json!({ "corrections": items }))
}

/// `POST /api/v1/corrections`: creates a correction; answers 201 with its id, 400 with what to
/// fix.
pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authorize(&st, &headers, "changing corrections")?;
    let req: NewCorrection = serde_json::from_slice(&body)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("bad correction: {e}")))?;
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let t = crate::time::now_secs();
    let id = format!(
        "{:x}-{:x}",
        t,
        SEQ.fetch_add(1, Ordering::Relaxed) ^ u64::from(std::process::id())
    );
    // Members by their own id and by their definition's, which means all of them.
    let known: Vec<String> = st
        .shared
        .snapshot()
        .slos
        .iter()
        .flat_map(|s| [s.slo.id.clone(), s.slo.definition_id()])
        .collect();
    if st.shared.corrections.kept() == 0 {
        return Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "the daemon has not evaluated yet (it is loading history); try again in a moment"
                .into(),
        ));
    }
    let oldest = t - st.shared.corrections.kept();
    let correction = req
        .validate(id.clone(), t, oldest, &known)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e))?;
    let stored = serde_json::to_vec(&correction)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    // Stored and listed under one write lock (nothing in between awaits), so concurrent changes
    // never overwrite each other's.
    st.shared.corrections.change(|list| {
        if list.len() >= MAX_CORRECTIONS {
            return Err(ApiError(
                StatusCode::TOO_MANY_REQUESTS,
                format!("{MAX_CORRECTIONS} corrections exist; delete some first"),
            ));
        }
        st.shared
            .store
            .put_correction(&id, Some(&stored))
            .map_err(unavailable)?;
        list.push(correction.clone());
        Ok(())
    })?;
    audit(&correction, "correction created");
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

/// The audit line of a change: who asked, why, and what it covers.
fn audit(c: &Correction, what: &str) {
    tracing::info!(
        target: "audit",
        id = %c.id,
        slos = ?c.slos,
        labels = ?c.labels,
        start = %crate::time::rfc3339(c.start),
        end = %crate::time::rfc3339(c.end),
        reason = %c.reason,
        author = %c.author,
        "{what}"
    );
}

/// `DELETE /api/v1/corrections/{id}`: removes a correction, so its range counts again; 404 if
/// unknown.
pub async fn delete(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    authorize(&st, &headers, "changing corrections")?;
    let removed = st.shared.corrections.change(|list| {
        let Some(i) = list.iter().position(|c| c.id == id) else {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                format!("no correction `{id}`"),
            ));
        };
        st.shared
            .store
            .put_correction(&id, None)
            .map_err(unavailable)?;
        Ok(list.remove(i))
    })?;
    audit(&removed, "correction deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Loads stored corrections at start. One that does not read is logged with its key, counted in
/// `slowburn_store_unreadable_total{kind="correction"}` and removed: kept, it would be reported at
/// every start and no request could delete it.
pub fn load(shared: &crate::engine::Shared) {
    let mut found = Vec::new();
    for (id, bytes) in shared.store.corrections().unwrap_or_default() {
        match Correction::decode(&bytes) {
            Ok(c) => found.push(c),
            Err(e) => {
                tracing::warn!(key = %id, error = %e, "unreadable correction removed; its range counts again");
                shared.health.unreadable("correction");
                let _ = shared.store.put_correction(&id, None);
            }
        }
    }
    found.sort_by_key(|c| c.created_at);
    let _ = shared.corrections.change(|list| {
        *list = found;
        Ok::<(), ()>(())
    });
}
