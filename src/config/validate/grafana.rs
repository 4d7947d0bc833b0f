//! `grafana:`: where the daemon (and `slowburn dashboards provision`) puts the dashboards; and
//! `metrics:`, which series `/metrics` carries for them and for the peers' dashboards.

use super::sources::{base_url, basic_auth};
use super::{Ctx, DEFAULT_TIMEOUT};
use crate::config::model::{GrafanaSettings, MetricsSettings};
use crate::config::raw::{RawGrafana, RawMetrics, RawSlo};
use serde_saphyr::Spanned;

/// The folder the dashboards are provisioned into unless `grafana:` says otherwise. The config
/// owns it (it is `grafana.folder_uid`'s default); `export` and `dashboards` import it from here,
/// so validating a config never reaches into the exporter.
pub const FOLDER_UID: &str = "slowburn";

/// Why Grafana would refuse `uid` for a folder, if it would: a uid is 1 to 40 characters of
/// `[a-zA-Z0-9_-]`, and `general` and `sharedwithme` name Grafana's own views (the root and
/// "Shared with me"), which it refuses with `invalid uid for folder provided` (protocols.md
/// section 9).
pub(crate) fn folder_uid_problem(uid: &str) -> Option<&'static str> {
    let legal = !uid.is_empty()
        && uid.len() <= 40
        && uid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !legal {
        return Some("a Grafana folder uid is 1 to 40 characters of letters, digits, `-` and `_`");
    }
    if uid == "general" || uid == "sharedwithme" {
        return Some(
            "`general` and `sharedwithme` are Grafana's own root and \"Shared with me\" views, which Grafana refuses as a folder uid; choose another",
        );
    }
    None
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
        g.token = cx
            .header_text(t, "grafana.token")
            .filter(|t| !t.is_empty())
            .map(crate::secret::Secret::from);
        if g.token.is_none() && cx.errors.is_empty() {
            cx.err(
                &t.referenced,
                "grafana.token",
                "the token is empty; write `token: ${GRAFANA_TOKEN}` with a service-account token in the environment",
            );
        }
    }
    g.basic_auth = basic_auth(cx, &raw.username, &raw.password, "grafana")
        .map(|(user, password)| (user, crate::secret::Secret::from(password)));
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
        match folder_uid_problem(&v) {
            None => g.folder_uid = v,
            Some(why) => cx.err(&u.referenced, "grafana.folder_uid", why),
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

pub(super) fn metrics_settings(cx: &mut Ctx, raw: Option<&RawMetrics>) -> MetricsSettings {
    let mut m = MetricsSettings::default();
    let Some(raw) = raw else { return m };
    if let Some(d) = &raw.detail {
        match d.value.as_str() {
            "dashboards" => {}
            "full" => m.full = true,
            other => cx.err(
                &d.referenced,
                "metrics.detail",
                format!(
                    "unknown detail `{other}`: `dashboards` (the series the dashboards read) or `full` (every window)"
                ),
            ),
        }
    }
    for c in &raw.compat {
        match c.value.as_str() {
            "sloth" => m.sloth = true,
            "pyrra" => m.pyrra = true,
            other => cx.err(
                &c.referenced,
                "metrics.compat",
                format!("unknown peer `{other}`: `sloth` or `pyrra`"),
            ),
        }
    }
    m
}

/// The peers name an SLO `<service>-<name>` (Sloth's `sloth_id`, Pyrra's `slo`): two SLOs that
/// give the same one would export duplicate series, which Prometheus drops.
pub(super) fn compat_ids(cx: &mut Ctx, slos: &[Spanned<RawSlo>]) {
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for s in slos {
        let (svc, name) = (&s.value.service.value, &s.value.name.value);
        let id = format!("{svc}-{name}");
        if let Some(other) = seen.insert(id.clone(), format!("{svc}/{name}")) {
            cx.err(
                &s.value.name.referenced,
                "metrics.compat",
                format!(
                    "`{svc}/{name}` and `{other}` both become `{id}` in Sloth's and Pyrra's series; rename one"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::errors_of;

    #[test]
    fn grafana_and_metrics_settings_are_checked_where_written() {
        assert!(
            errors_of("grafana: {url: \"http://g:3000\", token: glsa_x, folder_uid: slo-1}\nmetrics: {detail: full, compat: [sloth, pyrra]}")
                .is_empty()
        );
        let e = errors_of(
            "grafana:\n  url: g:3000\n  username: u\n  folder_uid: \"no spaces\"\nmetrics:\n  detail: most\n  compat: [nobl9]",
        );
        assert_eq!(e.len(), 5, "{e:?}");
        assert!(e[0].starts_with("t.yaml:2:8: grafana.url"), "{e:?}");
        assert!(
            e[1].contains("needs both `username` and `password`"),
            "{e:?}"
        );
        assert!(e[2].starts_with("t.yaml:4:15: grafana.folder_uid"), "{e:?}");
        assert!(
            e[3].starts_with("t.yaml:6:11: metrics.detail") && e[3].contains("`full`"),
            "{e:?}"
        );
        assert!(
            e[4].starts_with("t.yaml:7:12: metrics.compat") && e[4].contains("`sloth`"),
            "{e:?}"
        );
        // Grafana's own views are not folders it lets anyone make.
        for uid in ["general", "sharedwithme"] {
            let e = errors_of(&format!(
                "grafana: {{url: \"http://g:3000\", token: glsa_x, folder_uid: {uid}}}"
            ));
            assert_eq!(e.len(), 1, "{e:?}");
            assert!(
                e[0].contains("grafana.folder_uid") && e[0].contains("Grafana's own"),
                "{e:?}"
            );
        }
    }
}
