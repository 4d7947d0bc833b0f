//! `POST/GET/DELETE /api/v1/silences`: mute notifications of matching SLOs for a while.
//!
//! Changing silences needs `Authorization: Bearer <token>` (the daemon's `--api-token-file` or
//! `SLOWBURN_API_TOKEN`); without a configured token the endpoints that change state answer 403,
//! so an open port never lets anyone silence a page. Listing is read-only, like the rest of the API.
//! A silence is stored before the answer, so it survives a restart.

use super::AppState;
use super::api::ApiError;
use crate::alert::silence::{KEEP_EXPIRED, MAX_SILENCES, NewSilence, Silence};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

fn now() -> i64 {
    crate::time::now_secs()
}

/// Compares without an early exit, so response timing does not leak the token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The credentials of an `Authorization` value in the `Bearer` scheme. The scheme's name is
/// case-insensitive (RFC 7235 §2.1: `bearer t0k` is as good as `Bearer t0k`), and whitespace
/// around the scheme and the token is not part of either.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Checks `Authorization: Bearer <token>` for an endpoint that changes state or reads the whole
/// store; `what` names the action in the 403 when no token is configured.
pub(super) fn authorize(st: &AppState, headers: &HeaderMap, what: &str) -> Result<(), ApiError> {
    let Some(token) = st.token.as_deref() else {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!(
                "{what} needs an API token: start slowburn with SLOWBURN_API_TOKEN or --api-token-file"
            ),
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer);
    match given {
        Some(g) if same(g.as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "missing or wrong `Authorization: Bearer <token>`".into(),
        )),
    }
}

fn current(st: &AppState) -> Vec<Silence> {
    match st.shared.silences.read() {
        Ok(s) => s.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

/// `GET /api/v1/silences`: active, pending and recently expired silences.
pub async fn list(State(st): State<AppState>) -> Json<Value> {
    let t = now();
    let items: Vec<Value> = current(&st)
        .iter()
        .filter(|s| s.ends_at + KEEP_EXPIRED > t)
        .map(|s| s.to_json(t))
        .collect();
    Json(json!({"silences": items}))
}

/// `POST /api/v1/silences`: creates a silence; answers 201 with it.
pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authorize(&st, &headers, "changing silences")?;
    let req: NewSilence = serde_json::from_slice(&body)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("bad silence: {e}")))?;
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let t = now();
    let id = format!(
        "{:x}-{:x}",
        t,
        SEQ.fetch_add(1, Ordering::Relaxed) ^ u64::from(std::process::id())
    );
    let silence = req
        .into_silence(id.clone(), t)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e))?;
    if let Some(slo) = &silence.slo
        && !st.shared.snapshot().slos.iter().any(|s| &s.slo.id == slo)
    {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("no SLO `{slo}`; GET /api/v1/slos lists them"),
        ));
    }
    // One ordered path: the list is read, stored and replaced under its write lock (nothing in
    // between awaits), so concurrent creates and deletes never overwrite each other's change.
    let mut guard = match st.shared.silences.write() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let mut list: Vec<Silence> = guard
        .iter()
        .filter(|s| s.ends_at + KEEP_EXPIRED > t)
        .cloned()
        .collect();
    if list.len() >= MAX_SILENCES {
        return Err(ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            format!("{MAX_SILENCES} silences exist; delete some first"),
        ));
    }
    let stored = silence.to_json(t).to_string();
    st.shared
        .store
        .put_silence(&id, Some(stored.as_bytes()))
        .map_err(|e| {
            ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot store: {e}"),
            )
        })?;
    tracing::info!(id, slo = ?silence.slo, labels = ?silence.labels, by = %silence.created_by, comment = %silence.comment, "silence created");
    let out = silence.to_json(t);
    list.push(silence);
    *guard = list;
    Ok((StatusCode::CREATED, Json(out)))
}

/// `DELETE /api/v1/silences/{id}`: ends a silence now; 404 if unknown.
pub async fn delete(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    authorize(&st, &headers, "changing silences")?;
    let mut guard = match st.shared.silences.write() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let mut list = guard.clone();
    let before = list.len();
    list.retain(|s| s.id != id);
    if list.len() == before {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no silence `{id}`"),
        ));
    }
    st.shared.store.put_silence(&id, None).map_err(|e| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot store: {e}"),
        )
    })?;
    tracing::info!(id, "silence deleted");
    *guard = list;
    Ok(StatusCode::NO_CONTENT)
}

/// Loads stored silences at start, dropping long-expired ones. One that does not read (a
/// severity this version does not know, a damaged value) is logged with its key and why,
/// counted in `slowburn_store_unreadable_total{kind="silence"}`, and removed: kept, it would
/// be reported at every start, and no request could delete it.
pub fn load(shared: &crate::engine::Shared) {
    let t = now();
    let mut list = Vec::new();
    for (id, bytes) in shared.store.silences().unwrap_or_default() {
        match Silence::decode(&bytes) {
            Ok(s) if s.ends_at + KEEP_EXPIRED > t => list.push(s),
            Ok(_) => {
                let _ = shared.store.put_silence(&id, None);
            }
            Err(e) => {
                tracing::warn!(key = %id, error = %e, "unreadable silence removed; its alerts are no longer muted by it");
                shared.health.unreadable("silence");
                let _ = shared.store.put_silence(&id, None);
            }
        }
    }
    if let Ok(mut s) = shared.silences.write() {
        *s = list;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bearer_scheme_is_read_in_any_case_and_spacing() {
        for v in [
            "Bearer t0k",
            "bearer t0k",
            "BEARER t0k",
            "  Bearer   t0k  ",
            "bEaReR\tt0k",
        ] {
            assert_eq!(super::bearer(v), Some("t0k"), "{v:?}");
        }
        for v in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer   ",
            "Bearert0k",
            "t0k",
            "",
        ] {
            assert_eq!(super::bearer(v), None, "{v:?}");
        }
    }

    #[test]
    fn token_comparison_needs_every_byte() {
        assert!(super::same(b"abc", b"abc"));
        assert!(!super::same(b"abc", b"abd"));
        assert!(!super::same(b"abc", b"abcd"));
    }
}
