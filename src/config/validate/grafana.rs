//! `grafana:`: where the daemon (and `slowburn dashboards provision`) puts the dashboards.

use super::sources::base_url;
use super::{Ctx, DEFAULT_TIMEOUT};
use crate::config::model::GrafanaSettings;
use crate::config::raw::RawGrafana;
use crate::export::grafana::FOLDER_UID;
use serde_saphyr::Spanned;

/// Grafana's folder uids: at most 40 characters of `[a-zA-Z0-9_-]`.
pub(crate) fn valid_folder_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 40
        && uid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(super) fn grafana_settings(
    cx: &mut Ctx,
    raw: Option<&Spanned<RawGrafana>>,
) -> Option<GrafanaSettings> {
    let raw = &raw?.value;
    let url = base_url(cx, &raw.url, "grafana.url", "http://127.0.0.1:3000");
    let mut g = GrafanaSettings {
        url: url.unwrap_or_default(),
        token: None,
        basic_auth: None,
        org_id: raw.org_id.as_ref().map(|o| o.value),
        folder_uid: FOLDER_UID.to_string(),
        folder_title: "SLOs".to_string(),
        timeout: DEFAULT_TIMEOUT,
    };
    if let Some(t) = &raw.token {
        g.token = cx.string(t, "grafana.token").filter(|t| !t.is_empty());
        if g.token.is_none() && cx.errors.is_empty() {
            cx.err(
                &t.referenced,
                "grafana.token",
                "the token is empty; write `token: ${GRAFANA_TOKEN}` with a service-account token in the environment",
            );
        }
    }
    match (&raw.username, &raw.password) {
        (Some(u), Some(p)) => {
            if let (Some(u), Some(p)) = (
                cx.string(u, "grafana.username"),
                cx.string(p, "grafana.password"),
            ) {
                g.basic_auth = Some((u, p));
            }
        }
        (None, None) => {}
        (Some(s), None) | (None, Some(s)) => cx.err(
            &s.referenced,
            "grafana",
            "basic auth needs both `username` and `password` (put the password in `${ENV}` or `${file:…}`)",
        ),
    }
    if g.token.is_some() && g.basic_auth.is_some() {
        cx.err(
            &raw.url.referenced,
            "grafana",
            "give either `token` or `username`/`password`, not both",
        );
    }
    if let Some(u) = &raw.folder_uid
        && let Some(v) = cx.string(u, "grafana.folder_uid")
    {
        if valid_folder_uid(&v) {
            g.folder_uid = v;
        } else {
            cx.err(
                &u.referenced,
                "grafana.folder_uid",
                "a Grafana folder uid is 1 to 40 characters of letters, digits, `-` and `_`",
            );
        }
    }
    if let Some(t) = &raw.folder_title
        && let Some(v) = cx.string(t, "grafana.folder_title")
    {
        g.folder_title = v;
    }
    if let Some(t) = &raw.timeout
        && let Some(d) = cx.dur(t, "grafana.timeout")
    {
        g.timeout = d;
    }
    Some(g)
}
