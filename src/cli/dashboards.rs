//! `slowburn dashboards generate` writes the Grafana dashboards for a config into a folder (the
//! repository commits them in `dashboards/`); `slowburn dashboards provision` puts them into a
//! Grafana over its API, writing only the ones that changed.

use crate::config::{Config, GrafanaSettings};
use crate::export::grafana;
use crate::provision::Provisioner;
use crate::secret::Secret;
use anyhow::{Context, anyhow};
use std::path::{Path, PathBuf};

/// Writes every dashboard into `out`; files whose bytes are unchanged are not rewritten.
pub(super) fn generate(cfg: &Config, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for d in grafana::generate(cfg) {
        let path = out.join(d.file);
        let text = d.render();
        let same = std::fs::read_to_string(&path).is_ok_and(|old| old == text);
        if !same {
            std::fs::write(&path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        println!(
            "{}: {} ({} panels)",
            path.display(),
            if same { "unchanged" } else { "written" },
            d.json["panels"].as_array().map_or(0, Vec::len)
        );
    }
    Ok(())
}

/// Where `provision` goes: `--grafana` over the file's `grafana.url`; the token from
/// `GRAFANA_TOKEN`, `--token-file` or the file's `grafana.token`, in that order. A token from
/// the environment or a file replaces the file's `username`/`password`: Grafana would read only
/// one `Authorization` header, and the one given on the command line is the one meant.
fn settings(
    cfg: &Config,
    url: Option<String>,
    token_file: Option<PathBuf>,
    org_id: Option<u64>,
) -> anyhow::Result<GrafanaSettings> {
    let mut s = match (&cfg.grafana, url) {
        (Some(g), url) => {
            let mut g = g.clone();
            if let Some(u) = url {
                g.url = u;
            }
            g
        }
        (None, Some(url)) => GrafanaSettings {
            url,
            token: None,
            basic_auth: None,
            org_id: None,
            folder_uid: grafana::FOLDER_UID.to_string(),
            folder_title: "SLOs".to_string(),
            timeout: crate::duration::Dur::from_secs(30),
        },
        (None, None) => {
            return Err(anyhow!(
                "no Grafana given: pass --grafana URL or add a `grafana:` section to {}",
                cfg.file
            ));
        }
    };
    if let Ok(t) = std::env::var("GRAFANA_TOKEN")
        && !t.trim().is_empty()
    {
        s.token = Some(Secret::new(t.trim()));
        s.basic_auth = None;
    } else if let Some(f) = token_file {
        let t = std::fs::read_to_string(&f)
            .with_context(|| format!("cannot read the token file {}", f.display()))?;
        s.token = Some(Secret::new(t.trim()));
        s.basic_auth = None;
    }
    if org_id.is_some() {
        s.org_id = org_id;
    }
    Ok(s)
}

/// Provisions the dashboards and prints one line per dashboard.
pub(super) async fn provision(
    cfg: &Config,
    url: Option<String>,
    token_file: Option<PathBuf>,
    org_id: Option<u64>,
) -> anyhow::Result<()> {
    let s = settings(cfg, url, token_file, org_id)?;
    let p = Provisioner::new(&s)?;
    let results = p.provision(&grafana::generate(cfg)).await?;
    for (uid, outcome) in results {
        println!(
            "{}/d/{uid}: {} (folder {})",
            crate::source::redact_url(s.url.trim_end_matches('/')),
            outcome.as_str(),
            s.folder_uid
        );
    }
    Ok(())
}
