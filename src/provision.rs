//! Dashboards into Grafana over its HTTP API (protocols.md 5.1–5.3 and section 9): the folder is
//! made once (stable uid), then each dashboard is read back and written only when it differs, so
//! a second run with nothing changed adds no dashboard version. Writes use `overwrite: false`
//! with the version just read, so a concurrent edit is a clear 412, not a lost update.
//!
//! slowburn owns its dashboards by uid. Since Grafana 11.3 titles need not be unique in a folder
//! (PR #90687), so before creating a dashboard the folder is searched for one with the same title:
//! another uid is left alone, and a warning names both, since the folder then lists two. Grafana
//! before 11.3 refuses the second title itself (412 `name-exists`), which is reported with the
//! title to rename. Every failure says what to fix.

pub use crate::config::GrafanaSettings;
use crate::export::grafana::Dashboard;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tracing::warn;

/// What one dashboard's provisioning did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Grafana already had exactly this dashboard in the folder: nothing written.
    Unchanged,
    /// The dashboard did not exist and was created.
    Created,
    /// The dashboard differed and a new version was written.
    Updated,
}

impl Outcome {
    /// The `result` label of `slowburn_grafana_provisions_total` and the CLI's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Unchanged => "unchanged",
            Outcome::Created => "created",
            Outcome::Updated => "updated",
        }
    }
}

/// Why provisioning failed, with the fix.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GrafanaError {
    /// Grafana cannot be reached, is not healthy or did not answer in time.
    #[error("Grafana at {url} is not available: {message}")]
    Down {
        /// Base URL (credentials removed).
        url: String,
        /// What happened.
        message: String,
    },
    /// 401: no credentials or bad ones.
    #[error("Grafana at {url} rejected the credentials (401: {message}); {fix}")]
    Unauthorized {
        /// Base URL.
        url: String,
        /// Grafana's message.
        message: String,
        /// What to change, for the kind of credentials used.
        fix: &'static str,
    },
    /// 403: valid credentials without the permission.
    #[error(
        "Grafana refused to {action} (403: {message}); the service account needs the Editor role, or the permissions {permissions}"
    )]
    Forbidden {
        /// What was refused.
        action: String,
        /// The permissions that action needs.
        permissions: &'static str,
        /// Grafana's message.
        message: String,
    },
    /// 412: the dashboard changed meanwhile or, before Grafana 11.3, its title belongs to
    /// another dashboard in the folder.
    #[error("Grafana refused dashboard `{uid}` (412 {status}: {message}); {hint}")]
    Precondition {
        /// The dashboard's uid.
        uid: String,
        /// Grafana's `status` (`version-mismatch`, `name-exists`, `plugin-dashboard`).
        status: String,
        /// Grafana's message.
        message: String,
        /// What to do.
        hint: String,
    },
    /// A write slowburn refuses to make (the dashboard is not its own).
    #[error("slowburn will not {action}: {message}")]
    NotOurs {
        /// What was not done.
        action: String,
        /// Why, and what to do.
        message: String,
    },
    /// Any other refusal.
    #[error("Grafana answered HTTP {status} to {action}: {message}")]
    Rejected {
        /// What was asked.
        action: String,
        /// The status.
        status: u16,
        /// Grafana's message.
        message: String,
    },
}

/// Writes dashboards into one Grafana folder.
pub struct Provisioner {
    http: reqwest::Client,
    base: String,
    settings: GrafanaSettings,
}

/// Grafana's JSON error `{"message": …, "status": …}`, or the body's start.
fn grafana_message(body: &str) -> (String, String) {
    match serde_json::from_str::<Value>(body) {
        Ok(v) => (
            v["message"].as_str().unwrap_or(body).to_string(),
            v["status"].as_str().unwrap_or("").to_string(),
        ),
        Err(_) => (body.chars().take(300).collect(), String::new()),
    }
}

/// The stored dashboard without the fields Grafana adds, for comparison with a generated one.
fn comparable(mut stored: Value) -> Value {
    if let Some(m) = stored.as_object_mut() {
        m.remove("id");
        m.remove("version");
    }
    numbers_as_floats(stored)
}

/// Every number as a float: a store that writes `1.0` back as `1` must still compare equal,
/// or every start would write a new version.
fn numbers_as_floats(v: Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Number(n), Value::Number),
        Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_floats).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, numbers_as_floats(v)))
                .collect(),
        ),
        other => other,
    }
}

impl Provisioner {
    /// A client for these settings; the token is sent as a sensitive header (never logged).
    pub fn new(settings: &GrafanaSettings) -> Result<Self, GrafanaError> {
        let mut headers = reqwest::header::HeaderMap::new();
        let bad = |m: &str| GrafanaError::Rejected {
            action: "configure the client".into(),
            status: 0,
            message: m.into(),
        };
        if let Some(t) = &settings.token {
            let mut v = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", t.expose()))
                .map_err(|_| bad("the token holds characters a header cannot"))?;
            v.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, v);
        }
        if let Some(org) = settings.org_id {
            headers.insert("X-Grafana-Org-Id", reqwest::header::HeaderValue::from(org));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout.as_millis()))
            .default_headers(headers)
            .user_agent(concat!("slowburn/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        Ok(Provisioner {
            http,
            base: settings.url.trim_end_matches('/').to_string(),
            settings: settings.clone(),
        })
    }

    fn shown_url(&self) -> String {
        crate::source::redact_url(&self.base)
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, String), GrafanaError> {
        let req = match &self.settings.basic_auth {
            Some((u, p)) => req.basic_auth(u, Some(p.expose())),
            None => req,
        };
        let resp = req.send().await.map_err(|e| GrafanaError::Down {
            url: self.shown_url(),
            message: if e.is_timeout() {
                format!("no answer within {}", self.settings.timeout)
            } else if e.is_connect() {
                "connection refused or unreachable".to_string()
            } else {
                format!("request failed: {e}")
            },
        })?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        Ok((status, body))
    }

    /// The error for a non-2xx answer to `action`.
    fn refusal(
        &self,
        action: &str,
        permissions: &'static str,
        status: StatusCode,
        body: &str,
    ) -> GrafanaError {
        let (message, _) = grafana_message(body);
        match status {
            StatusCode::UNAUTHORIZED => GrafanaError::Unauthorized {
                url: self.shown_url(),
                fix: self.credentials_fix(&message),
                message,
            },
            StatusCode::FORBIDDEN => GrafanaError::Forbidden {
                action: action.into(),
                permissions,
                message,
            },
            s if s.is_server_error() => GrafanaError::Down {
                url: self.shown_url(),
                message: format!("HTTP {s} to {action}: {message}"),
            },
            s => GrafanaError::Rejected {
                action: action.into(),
                status: s.as_u16(),
                message,
            },
        }
    }

    /// What to change after a 401, for the credentials in use and Grafana's message.
    fn credentials_fix(&self, message: &str) -> &'static str {
        if message.contains("does not belong to the requested organization") {
            "the token belongs to another organization: set `grafana.org_id` (or --org-id) to the token's, or leave it out"
        } else if self.settings.basic_auth.is_some() {
            "check `grafana.username` and `grafana.password` (a Grafana user with the Editor role; basic auth must be enabled in Grafana)"
        } else {
            "set GRAFANA_TOKEN (or `grafana.token`) to a service-account token (glsa_…) of this Grafana"
        }
    }

    /// `GET /api/health`: the database must be ok.
    async fn health(&self) -> Result<(), GrafanaError> {
        let (status, body) = self
            .send(self.http.get(format!("{}/api/health", self.base)))
            .await?;
        if status.is_success() {
            return Ok(());
        }
        Err(GrafanaError::Down {
            url: self.shown_url(),
            message: format!(
                "GET /api/health answered HTTP {status}: {}",
                grafana_message(&body).0
            ),
        })
    }

    /// The folder exists afterwards (a 409 from a concurrent create counts as success).
    async fn ensure_folder(&self) -> Result<(), GrafanaError> {
        let uid = &self.settings.folder_uid;
        let (status, body) = self
            .send(self.http.get(format!("{}/api/folders/{uid}", self.base)))
            .await?;
        if status.is_success() {
            return Ok(());
        }
        if status != StatusCode::NOT_FOUND {
            return Err(self.refusal(
                &format!("read folder `{uid}`"),
                "folders:read",
                status,
                &body,
            ));
        }
        let (status, body) = self
            .send(
                self.http
                    .post(format!("{}/api/folders", self.base))
                    .json(&json!({"uid": uid, "title": self.settings.folder_title})),
            )
            .await?;
        if status.is_success() {
            return Ok(());
        }
        if status == StatusCode::CONFLICT {
            // Made meanwhile (fine), or, before Grafana 11.3 only, another folder has the title
            // (newer ones take a folder title twice): check which.
            let (again, _) = self
                .send(self.http.get(format!("{}/api/folders/{uid}", self.base)))
                .await?;
            if again.is_success() {
                return Ok(());
            }
            return Err(GrafanaError::Rejected {
                action: format!("create folder `{uid}`"),
                status: 409,
                message: format!(
                    "{} (another folder is titled `{}`: set grafana.folder_title, or grafana.folder_uid to that folder's uid)",
                    grafana_message(&body).0,
                    self.settings.folder_title
                ),
            });
        }
        Err(self.refusal(
            &format!("create folder `{uid}`"),
            "folders:create",
            status,
            &body,
        ))
    }

    /// One dashboard: unchanged, created or updated.
    async fn upsert(&self, d: &Dashboard) -> Result<Outcome, GrafanaError> {
        let (status, body) = self
            .send(
                self.http
                    .get(format!("{}/api/dashboards/uid/{}", self.base, d.uid)),
            )
            .await?;
        let existing = match status {
            s if s.is_success() => {
                let v: Value = serde_json::from_str(&body).map_err(|e| GrafanaError::Rejected {
                    action: format!("read dashboard `{}`", d.uid),
                    status: s.as_u16(),
                    message: format!("not JSON: {e}"),
                })?;
                Some(v)
            }
            StatusCode::NOT_FOUND => None,
            s => {
                return Err(self.refusal(
                    &format!("read dashboard `{}`", d.uid),
                    "dashboards:read",
                    s,
                    &body,
                ));
            }
        };
        let (version, outcome) = match &existing {
            Some(v) => {
                let folder = v["meta"]["folderUid"].as_str().unwrap_or("");
                // True only for a file-provisioned dashboard whose provider has
                // `allowUiUpdates: false`; with `true`, Grafana takes saves through the API.
                if v["meta"]["provisioned"] == Value::Bool(true) {
                    return Err(GrafanaError::NotOurs {
                        action: format!("update dashboard `{}`", d.uid),
                        message: "Grafana loads it from provisioning files and refuses saves through the API; use either files (docker/grafana/provisioning) or the API, not both (or set `allowUiUpdates: true` on the file provider, and slowburn's saves last until the file changes)".into(),
                    });
                }
                if folder != self.settings.folder_uid {
                    // Someone's own copy (an import into General, say): not slowburn's to replace.
                    return Err(GrafanaError::NotOurs {
                        action: format!("update dashboard `{}`", d.uid),
                        message: format!(
                            "a dashboard with this uid already exists in folder `{}`, not in `{}`; delete or move it (slowburn does not overwrite dashboards it did not make)",
                            if folder.is_empty() { "General" } else { folder },
                            self.settings.folder_uid
                        ),
                    });
                }
                if comparable(v["dashboard"].clone()) == numbers_as_floats(d.json.clone()) {
                    return Ok(Outcome::Unchanged);
                }
                (v["dashboard"]["version"].clone(), Outcome::Updated)
            }
            None => {
                self.warn_same_title(d).await;
                (Value::Null, Outcome::Created)
            }
        };
        let mut dashboard = d.json.clone();
        dashboard["id"] = Value::Null;
        if !version.is_null() {
            dashboard["version"] = version;
        }
        let payload = json!({
            "dashboard": dashboard,
            "folderUid": self.settings.folder_uid,
            "message": concat!("slowburn ", env!("CARGO_PKG_VERSION"), ": generated from slo.yaml"),
            "overwrite": false,
        });
        let (status, body) = self
            .send(
                self.http
                    .post(format!("{}/api/dashboards/db", self.base))
                    .json(&payload),
            )
            .await?;
        if status.is_success() {
            return Ok(outcome);
        }
        if status == StatusCode::PRECONDITION_FAILED {
            let (message, kind) = grafana_message(&body);
            let title = d.json["title"].as_str().unwrap_or("");
            let hint = match kind.as_str() {
                // Only Grafana before 11.3 keeps titles unique in a folder.
                "name-exists" => format!(
                    "another dashboard in folder `{}` is titled `{title}`; rename or move it (slowburn does not overwrite dashboards it did not make)",
                    self.settings.folder_uid
                ),
                "version-mismatch" => {
                    "someone saved it while slowburn was writing; run again (slowburn's version replaces edits made in the UI)".to_string()
                }
                "plugin-dashboard" => "a plugin owns that uid; remove the plugin's dashboard".to_string(),
                _ => "see Grafana's message".to_string(),
            };
            return Err(GrafanaError::Precondition {
                uid: d.uid.to_string(),
                status: kind,
                message,
                hint,
            });
        }
        Err(self.refusal(
            &format!("save dashboard `{}`", d.uid),
            "dashboards:create and dashboards:write",
            status,
            &body,
        ))
    }

    /// Before `d` is created: other dashboards in the folder with its title (Grafana's search
    /// matches titles by substring, so the exact title and folder are checked here). They are
    /// left alone, since slowburn only writes its own uids; the warning names both so that one
    /// can be renamed or deleted. The search only informs: when it fails, creating goes on.
    async fn warn_same_title(&self, d: &Dashboard) {
        let Some(title) = d.json["title"].as_str() else {
            return;
        };
        let folder = self.settings.folder_uid.as_str();
        let query = [
            ("query", title),
            ("type", "dash-db"),
            ("folderUIDs", folder),
        ];
        let url = format!("{}/api/search", self.base);
        let req = self.http.get(url).query(&query);
        let (status, body) = match self.send(req).await {
            Ok(answer) => answer,
            Err(e) => {
                warn!(dashboard = d.uid, error = %e,
                    "cannot search Grafana for a dashboard with the same title; creating it");
                return;
            }
        };
        if !status.is_success() {
            let message = grafana_message(&body).0;
            warn!(dashboard = d.uid, %status, %message,
                "cannot search Grafana for a dashboard with the same title; creating it");
            return;
        }
        let hits = match serde_json::from_str::<Value>(&body) {
            Ok(Value::Array(hits)) => hits,
            _ => Vec::new(),
        };
        let others = hits
            .iter()
            .filter(|h| h["title"].as_str() == Some(title))
            .filter(|h| h["folderUid"].as_str() == Some(folder))
            .filter_map(|h| h["uid"].as_str())
            .filter(|uid| *uid != d.uid);
        for other in others {
            warn!(
                dashboard = d.uid,
                other,
                "folder `{folder}` already has a dashboard titled `{title}` (uid `{other}`); slowburn creates its own (uid `{}`) beside it and leaves `{other}` alone, so the folder lists two: rename or delete one",
                d.uid
            );
        }
    }

    /// Checks Grafana's health, makes the folder, then writes each dashboard that differs.
    pub async fn provision(
        &self,
        dashboards: &[Dashboard],
    ) -> Result<Vec<(String, Outcome)>, GrafanaError> {
        self.health().await?;
        self.ensure_folder().await?;
        let mut out = Vec::with_capacity(dashboards.len());
        for d in dashboards {
            out.push((d.uid.to_string(), self.upsert(d).await?));
        }
        Ok(out)
    }
}
