//! A FAKE Grafana (no Grafana runs here) that answers as Grafana 11.3 and later do, per
//! protocols.md section 5 and the corrections of its section 9:
//! - credentials: bearer service-account tokens and basic auth (`user:password`); 401 with
//!   Grafana's texts (`Invalid API key`, `API key does not belong to the requested organization`,
//!   `Invalid username or password`), 403 for a Viewer's writes;
//! - `GET /api/health` (503 `{"database":"failing"}` when down);
//! - folders: a uid is at most 40 characters of `[a-zA-Z0-9_-]`, `general` and `sharedwithme`
//!   are refused (`invalid uid for folder provided`), 409 only when the uid exists: titles need
//!   not be unique;
//! - dashboards through the legacy API (`POST /api/dashboards/db`): a title is required, the
//!   folder must exist, the uid follows the folder rules; `overwrite: false` gives 412
//!   `version-mismatch` on a stale version, `overwrite: true` takes over whatever has the uid;
//!   titles need not be unique (PR #90687): a title already used in the folder makes a second
//!   dashboard; every save is a new version. A file-provisioned dashboard is saved only when its
//!   provider has `allowUiUpdates: true`, and `meta.provisioned` is true only without it;
//! - `GET /api/dashboards/uid/{uid}` with `meta.folderUid`, and `GET /api/search` (`query`
//!   matches titles case-insensitively, `type`, repeated `folderUIDs`, `limit`).
//!
//! [`FakeGrafana::unique_titles`] brings back Grafana before 11.3 (412 `name-exists`, 409 for a
//! folder title), for the fallback that slowburn keeps for it. Errors are Grafana's JSON
//! `{"message": …}`, with `status` or `messageId` where Grafana sends one.

// Several test areas use parts of it; not every helper has a caller in every build.
#![allow(dead_code)]

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A role a token or user has.
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
    /// Loaded from a provisioning file: `Some(allowUiUpdates)` of its provider; `None` when it
    /// was made through the API or the UI.
    pub provisioned: Option<bool>,
}

impl Stored {
    /// A dashboard saved through the API or the UI into `folder_uid`.
    pub fn new(dashboard: Value, folder_uid: &str) -> Self {
        Stored {
            dashboard,
            folder_uid: folder_uid.to_string(),
            messages: Vec::new(),
            provisioned: None,
        }
    }
}

/// What the fake holds and counts.
#[derive(Default)]
pub struct FakeGrafana {
    /// Token → (role, org id).
    pub tokens: Mutex<BTreeMap<String, (Role, u64)>>,
    /// Basic-auth login → (password, role), in org 1.
    pub users: Mutex<BTreeMap<String, (String, Role)>>,
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
    /// Searches received.
    pub searches: AtomicU64,
    /// Requests received.
    pub requests: AtomicU64,
    /// While set, someone saves each dashboard in the UI just before slowburn's save arrives.
    pub concurrent_edit: AtomicBool,
    /// While set, behave as Grafana before 11.3: a title another dashboard in the folder has is
    /// a 412 `name-exists`, and a title another folder has a 409.
    pub unique_titles: AtomicBool,
    next_id: AtomicU64,
}

fn error(status: StatusCode, message: &str, kind: Option<&str>) -> Response {
    let mut body = json!({"message": message});
    if let Some(k) = kind {
        body["status"] = json!(k);
    }
    (status, Json(body)).into_response()
}

/// An error of Grafana's `errutil` kind, as its authentication answers.
fn util_error(status: StatusCode, message: &str, id: &str) -> Box<Response> {
    let body = json!({"message": message, "messageId": id, "statusCode": status.as_u16()});
    Box::new((status, Json(body)).into_response())
}

/// Why Grafana refuses `uid` for a folder or a dashboard, if it does.
fn uid_problem(uid: &str) -> Option<&'static str> {
    if uid.len() > 40 {
        return Some("uid too long, max 40 characters");
    }
    let legal = uid
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    (!legal).then_some("uid contains illegal characters")
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
            .route("/api/search", get(search))
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

    /// The caller's role from a bearer token or basic auth, or Grafana's 401.
    fn auth(&self, h: &HeaderMap) -> Result<Role, Box<Response>> {
        let header = h
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let (scheme, credential) = header.split_once(' ').unwrap_or((header, ""));
        let credential = credential.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            return self.basic(credential);
        }
        if !scheme.eq_ignore_ascii_case("bearer") || credential.is_empty() {
            return Err(Box::new(error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                None,
            )));
        }
        let tokens = self
            .tokens
            .lock()
            .map_err(|_| Box::new(error(StatusCode::INTERNAL_SERVER_ERROR, "lock", None)))?;
        let Some((role, org)) = tokens.get(credential).copied() else {
            return Err(util_error(
                StatusCode::UNAUTHORIZED,
                "Invalid API key",
                "api-key.invalid",
            ));
        };
        if let Some(o) = h.get("x-grafana-org-id").and_then(|v| v.to_str().ok())
            && o.parse::<u64>().ok() != Some(org)
        {
            return Err(util_error(
                StatusCode::UNAUTHORIZED,
                "API key does not belong to the requested organization",
                "api-key.organization-mismatch",
            ));
        }
        Ok(role)
    }

    /// `Authorization: Basic base64(user:password)` of a known user.
    fn basic(&self, credential: &str) -> Result<Role, Box<Response>> {
        let pair = base64_decode(credential).and_then(|b| String::from_utf8(b).ok());
        let Some((user, password)) = pair.as_deref().and_then(|p| p.split_once(':')) else {
            return Err(util_error(
                StatusCode::BAD_REQUEST,
                "Invalid Basic Auth Header",
                "basic-auth.invalid-header",
            ));
        };
        let users = self
            .users
            .lock()
            .map_err(|_| Box::new(error(StatusCode::INTERNAL_SERVER_ERROR, "lock", None)))?;
        match users.get(user) {
            Some((p, role)) if !password.is_empty() && p == password => Ok(*role),
            _ => Err(util_error(
                StatusCode::UNAUTHORIZED,
                "Invalid username or password",
                "basic-auth.invalid-credentials",
            )),
        }
    }
}

/// Standard base64 with padding (RFC 4648), as a Basic credential is written.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
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
    if uid == "general" || uid == "sharedwithme" {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid uid for folder provided",
            None,
        );
    }
    if let Some(why) = uid_problem(uid) {
        return error(StatusCode::BAD_REQUEST, why, None);
    }
    if title.trim().is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "folder title cannot be empty",
            None,
        );
    }
    let Ok(mut folders) = f.folders.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "lock", None);
    };
    let uid = if uid.is_empty() {
        format!("fakefolder{}", folders.len() + 1)
    } else {
        uid.to_string()
    };
    if folders.contains_key(&uid) {
        return error(
            StatusCode::CONFLICT,
            "a folder/dashboard with the same uid already exists",
            None,
        );
    }
    if f.unique_titles.load(Ordering::Relaxed) && folders.values().any(|t| t == title) {
        return error(
            StatusCode::CONFLICT,
            "a folder or dashboard in the general folder with the same name already exists",
            None,
        );
    }
    folders.insert(uid.clone(), title.to_string());
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
            "meta": {
                "folderUid": d.folder_uid,
                "url": format!("/d/{uid}/x"),
                "version": d.dashboard["version"],
                "provisioned": d.provisioned == Some(false),
            },
        }))
        .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "Dashboard not found",
            Some("not-found"),
        ),
    }
}

/// `GET /api/search`: folders and dashboards whose title contains `query` (any case), of one
/// `type` (`dash-db` or `dash-folder`) if given, dashboards only in the `folderUIDs` given
/// (`general` for the root), sorted by title, at most `limit` (default 1000).
async fn search(
    State(f): State<Arc<FakeGrafana>>,
    h: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    f.enter().await;
    f.searches.fetch_add(1, Ordering::Relaxed);
    if let Err(r) = f.auth(&h) {
        return *r;
    }
    let text = param(&q, "query").unwrap_or("").to_lowercase();
    let kind = param(&q, "type");
    let in_folders: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "folderUIDs")
        .map(|(_, v)| v.as_str())
        .collect();
    let limit = param(&q, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(1000);
    let (Ok(folders), Ok(boards)) = (f.folders.lock(), f.dashboards.lock()) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "lock", None);
    };
    let mut hits: Vec<(String, Value)> = Vec::new();
    if kind != Some("dash-db") && in_folders.is_empty() {
        for (uid, title) in folders.iter() {
            if title.to_lowercase().contains(&text) {
                let hit = json!({"uid": uid, "title": title, "type": "dash-folder", "url": format!("/dashboards/f/{uid}/")});
                hits.push((title.clone(), hit));
            }
        }
    }
    if kind != Some("dash-folder") {
        for (uid, d) in boards.iter() {
            let title = d.dashboard["title"].as_str().unwrap_or("");
            let folder = if d.folder_uid.is_empty() {
                "general"
            } else {
                d.folder_uid.as_str()
            };
            if !title.to_lowercase().contains(&text)
                || !(in_folders.is_empty() || in_folders.contains(&folder))
            {
                continue;
            }
            let mut hit = json!({"id": d.dashboard["id"], "uid": uid, "title": title, "type": "dash-db", "url": format!("/d/{uid}/x"), "tags": d.dashboard["tags"]});
            if !d.folder_uid.is_empty() {
                hit["folderUid"] = json!(d.folder_uid);
                hit["folderTitle"] = json!(folders.get(&d.folder_uid));
            }
            hits.push((title.to_string(), hit));
        }
    }
    hits.sort_by_key(|(title, _)| title.to_lowercase());
    let hits: Vec<Value> = hits.into_iter().take(limit).map(|(_, hit)| hit).collect();
    Json(hits).into_response()
}

/// The first value of a query parameter.
fn param<'q>(q: &'q [(String, String)], name: &str) -> Option<&'q str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
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
    if let Some(why) = uid_problem(&uid) {
        return error(StatusCode::BAD_REQUEST, why, None);
    }
    let Ok(mut boards) = f.dashboards.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "lock", None);
    };
    // Before 11.3 a title was unique in its folder; since, a second dashboard gets the title.
    let clash = boards.iter().any(|(u, d)| {
        *u != uid && d.folder_uid == folder && d.dashboard["title"].as_str() == Some(title.as_str())
    });
    if clash && f.unique_titles.load(Ordering::Relaxed) {
        return error(
            StatusCode::PRECONDITION_FAILED,
            "A dashboard with the same name in the folder already exists",
            Some("name-exists"),
        );
    }
    if f.concurrent_edit.load(Ordering::Relaxed)
        && let Some(d) = boards.get_mut(&uid)
    {
        let v = d.dashboard["version"].as_u64().unwrap_or(0);
        d.dashboard["version"] = json!(v + 1);
    }
    let (version, id, mut messages, provisioned) = match boards.get(&uid) {
        Some(old) => {
            if old.provisioned == Some(false) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Cannot save provisioned dashboard",
                    None,
                );
            }
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
                old.provisioned,
            )
        }
        None => (
            1,
            json!(f.next_id.fetch_add(1, Ordering::Relaxed) + 1),
            Vec::new(),
            None,
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
            provisioned,
        },
    );
    Json(json!({"id": id, "uid": uid, "url": format!("/d/{uid}/x"), "status": "success", "version": version, "slug": "x", "folderUid": folder})).into_response()
}
