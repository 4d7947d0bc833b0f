//! A FAKE Grafana (no Grafana runs here), strict where Grafana is strict, per protocols.md
//! section 5: bearer service-account tokens (401 without a valid one, 403 for a Viewer's writes),
//! `GET /api/health` (503 `{"database":"failing"}` when down), folders (uid ≤ 40 characters of
//! `[a-zA-Z0-9_-]`, 409 when the uid or title exists), dashboards through the legacy API
//! (`POST /api/dashboards/db`: a title is required, the folder must exist, `overwrite: false`
//! gives 412 `version-mismatch` on a stale version and 412 `name-exists` when another dashboard
//! in the folder has the title, `overwrite: true` takes over whatever has the uid or the title;
//! every save is a new version) and `GET /api/dashboards/uid/{uid}` with `meta.folderUid`.
//! Errors are Grafana's JSON `{"message": …, "status": …}`.

// Shared by two test binaries, each of which uses part of it.
#![allow(dead_code)]

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A role a token has.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// Reads only: every write is a 403.
    Viewer,
    /// Creates and saves dashboards and folders.
    Editor,
}

/// One stored dashboard.
#[derive(Clone, Debug)]
pub struct Stored {
    /// The model as saved, with `id`, `uid` and `version` set by the fake.
    pub dashboard: Value,
    /// Its folder's uid (`""` = General).
    pub folder_uid: String,
    /// Each save's `message`.
    pub messages: Vec<String>,
}

/// What the fake holds and counts.
#[derive(Default)]
pub struct FakeGrafana {
    /// Token → (role, org id).
    pub tokens: Mutex<BTreeMap<String, (Role, u64)>>,
    /// Folder uid → title.
    pub folders: Mutex<BTreeMap<String, String>>,
    /// Dashboard uid → stored dashboard.
    pub dashboards: Mutex<BTreeMap<String, Stored>>,
    /// `/api/health` answers 503 while set.
    pub down: AtomicBool,
    /// Each request waits this long first (ms), to look slow.
    pub delay_ms: AtomicU64,
    /// Dashboard saves received (including refused ones).
    pub saves: AtomicU64,
    /// Requests received.
    pub requests: AtomicU64,
    /// While set, someone saves each dashboard in the UI just before slowburn's save arrives.
    pub concurrent_edit: AtomicBool,
    next_id: AtomicU64,
}

fn error(status: StatusCode, message: &str, kind: Option<&str>) -> Response {
    let mut body = json!({"message": message});
    if let Some(k) = kind {
        body["status"] = json!(k);
    }
    (status, Json(body)).into_response()
}

impl FakeGrafana {
    /// A fake that knows these tokens, all in org 1.
    pub fn new(tokens: &[(&str, Role)]) -> Arc<Self> {
        let f = FakeGrafana::default();
        if let Ok(mut t) = f.tokens.lock() {
            for (k, r) in tokens {
                t.insert((*k).to_string(), (*r, 1));
            }
        }
        Arc::new(f)
    }

    /// The HTTP routes.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/api/health", get(health))
            .route("/api/folders", post(create_folder))
            .route("/api/folders/{uid}", get(get_folder))
            .route("/api/dashboards/db", post(save_dashboard))
            .route("/api/dashboards/uid/{uid}", get(get_dashboard))
            .with_state(Arc::clone(self))
    }

    /// The version Grafana holds for `uid`.
    pub fn version(&self, uid: &str) -> Option<u64> {
        self.dashboards
            .lock()
            .ok()?
            .get(uid)
            .and_then(|d| d.dashboard["version"].as_u64())
    }

    async fn enter(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let ms = self.delay_ms.load(Ordering::Relaxed);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    /// Passes an Editor; a Viewer gets Grafana's 403 naming `permission`, anyone else the 401.
    fn editor(&self, h: &HeaderMap, permission: &str) -> Result<(), Box<Response>> {
        match self.auth(h)? {
            Role::Editor => Ok(()),
            Role::Viewer => Err(Box::new(error(
                StatusCode::FORBIDDEN,
                &format!(
                    "You'll need additional permissions to perform this action. Permissions needed: {permission}"
                ),
                None,
            ))),
        }
    }

    /// The caller's role, or Grafana's 401.
    fn auth(&self, h: &HeaderMap) -> Result<Role, Box<Response>> {
        let token = h
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let Some(token) = token else {
            return Err(Box::new(error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                None,
            )));
        };
        let tokens = self
            .tokens
            .lock()
            .map_err(|_| Box::new(error(StatusCode::INTERNAL_SERVER_ERROR, "lock", None)))?;
        let Some((role, org)) = tokens.get(token).copied() else {
            return Err(Box::new(error(
                StatusCode::UNAUTHORIZED,
                "invalid API key",
                None,
            )));
        };
        if let Some(o) = h.get("x-grafana-org-id").and_then(|v| v.to_str().ok())
            && o.parse::<u64>().ok() != Some(org)
        {
            return Err(Box::new(error(
                StatusCode::UNAUTHORIZED,
                "User is not a member of the organization",
                None,
            )));
        }
        Ok(role)
    }
}

async fn health(State(f): State<Arc<FakeGrafana>>) -> Response {
    f.enter().await;
    if f.down.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"database": "failing"})),
        )
            .into_response();
    }
    Json(json!({"commit": "fake", "database": "ok", "version": "11.6.0"})).into_response()
}

async fn get_folder(
    State(f): State<Arc<FakeGrafana>>,
    h: HeaderMap,
    Path(uid): Path<String>,
) -> Response {
    f.enter().await;
    if let Err(r) = f.auth(&h) {
        return *r;
    }
    match f.folders.lock().ok().and_then(|m| m.get(&uid).cloned()) {
        Some(title) => Json(json!({"id": 1, "uid": uid, "title": title, "url": format!("/dashboards/f/{uid}/"), "version": 1})).into_response(),
        None => error(StatusCode::NOT_FOUND, "folder not found", Some("not-found")),
    }
}

async fn create_folder(
    State(f): State<Arc<FakeGrafana>>,
    h: HeaderMap,
    body: Json<Value>,
) -> Response {
    f.enter().await;
    if let Err(r) = f.editor(&h, "folders:create") {
        return *r;
    }
    let (Some(uid), Some(title)) = (body["uid"].as_str(), body["title"].as_str()) else {
        return error(StatusCode::BAD_REQUEST, "bad request data", None);
    };
    let valid = !uid.is_empty()
        && uid.len() <= 40
        && uid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return error(
            StatusCode::BAD_REQUEST,
            "uid contains illegal characters",
            None,
        );
    }
    let Ok(mut folders) = f.folders.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "lock", None);
    };
    if folders.contains_key(uid) {
        return error(
            StatusCode::CONFLICT,
            "a folder with the same uid already exists",
            None,
        );
    }
    if folders.values().any(|t| t == title) {
        return error(
            StatusCode::CONFLICT,
            "a folder or dashboard in the general folder with the same name already exists",
            None,
        );
    }
    folders.insert(uid.to_string(), title.to_string());
    Json(json!({"id": folders.len(), "uid": uid, "title": title, "url": format!("/dashboards/f/{uid}/"), "version": 1})).into_response()
}

async fn get_dashboard(
    State(f): State<Arc<FakeGrafana>>,
    h: HeaderMap,
    Path(uid): Path<String>,
) -> Response {
    f.enter().await;
    if let Err(r) = f.auth(&h) {
        return *r;
    }
    match f.dashboards.lock().ok().and_then(|m| m.get(&uid).cloned()) {
        Some(d) => Json(json!({
            "dashboard": d.dashboard,
            "meta": {"folderUid": d.folder_uid, "url": format!("/d/{uid}/x"), "version": d.dashboard["version"], "provisioned": false},
        }))
        .into_response(),
        None => error(StatusCode::NOT_FOUND, "Dashboard not found", Some("not-found")),
    }
}

async fn save_dashboard(
    State(f): State<Arc<FakeGrafana>>,
    h: HeaderMap,
    body: Json<Value>,
) -> Response {
    f.enter().await;
    f.saves.fetch_add(1, Ordering::Relaxed);
    if let Err(r) = f.editor(&h, "dashboards:create") {
        return *r;
    }
    let mut dash = body["dashboard"].clone();
    if !dash.is_object() {
        return error(StatusCode::BAD_REQUEST, "bad request data", None);
    }
    let title = dash["title"].as_str().unwrap_or("").trim().to_string();
    if title.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "Dashboard title cannot be empty",
            Some("empty-name"),
        );
    }
    let overwrite = body["overwrite"].as_bool().unwrap_or(false);
    let folder = body["folderUid"].as_str().unwrap_or("").to_string();
    if !folder.is_empty()
        && !f
            .folders
            .lock()
            .map(|m| m.contains_key(&folder))
            .unwrap_or(false)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "folder not found",
            Some("not-found"),
        );
    }
    let mut uid = dash["uid"].as_str().unwrap_or("").to_string();
    if uid.len() > 40 {
        return error(
            StatusCode::BAD_REQUEST,
            "uid too long, max 40 characters",
            None,
        );
    }
    let Ok(mut boards) = f.dashboards.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "lock", None);
    };
    // Another dashboard with the title in the folder.
    let clash = boards
        .iter()
        .find(|(u, d)| {
            **u != uid
                && d.folder_uid == folder
                && d.dashboard["title"].as_str() == Some(title.as_str())
        })
        .map(|(u, _)| u.clone());
    if let Some(other) = clash {
        if !overwrite {
            return error(
                StatusCode::PRECONDITION_FAILED,
                "A dashboard with the same name in the folder already exists",
                Some("name-exists"),
            );
        }
        // Grafana takes over the clashing dashboard: its uid and id win.
        if let Some(old) = boards.remove(&other) {
            uid = other;
            dash["id"] = old.dashboard["id"].clone();
            boards.insert(uid.clone(), old);
        }
    }
    if f.concurrent_edit.load(Ordering::Relaxed)
        && let Some(d) = boards.get_mut(&uid)
    {
        let v = d.dashboard["version"].as_u64().unwrap_or(0);
        d.dashboard["version"] = json!(v + 1);
    }
    let (version, id, mut messages) = match boards.get(&uid) {
        Some(old) => {
            let stored = old.dashboard["version"].as_u64().unwrap_or(0);
            if !overwrite && dash["version"].as_u64() != Some(stored) {
                return error(
                    StatusCode::PRECONDITION_FAILED,
                    "The dashboard has been changed by someone else",
                    Some("version-mismatch"),
                );
            }
            (
                stored + 1,
                old.dashboard["id"].clone(),
                old.messages.clone(),
            )
        }
        None => (
            1,
            json!(f.next_id.fetch_add(1, Ordering::Relaxed) + 1),
            Vec::new(),
        ),
    };
    if uid.is_empty() {
        uid = format!("fake{id}");
    }
    dash["uid"] = json!(uid);
    dash["id"] = id.clone();
    dash["version"] = json!(version);
    messages.push(body["message"].as_str().unwrap_or("").to_string());
    boards.insert(
        uid.clone(),
        Stored {
            dashboard: dash,
            folder_uid: folder.clone(),
            messages,
        },
    );
    Json(json!({"id": id, "uid": uid, "url": format!("/d/{uid}/x"), "status": "success", "version": version, "slug": "x", "folderUid": folder})).into_response()
}
