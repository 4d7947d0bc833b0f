//! `slowburn gate`: may this SLO's service deploy? Asks a running daemon, or computes the SLO
//! like `report`; [`crate::gate::decide`] answers. Exit 0 allows, 1 blocks, 2 cannot decide.

use super::{connect, load};
use crate::source::redact_url;
use crate::status::SloStatus;
use crate::time::align;
use anyhow::anyhow;

/// `gate`: fetch the SLO's status from a daemon or compute it, then decide.
pub(super) async fn run(
    slo: &str,
    period: &str,
    min_remaining: f64,
    server: Option<String>,
    config: &std::path::Path,
    prometheus: Option<String>,
) -> anyhow::Result<()> {
    let Some((service, name)) = slo.split_once('/') else {
        return Err(GateError(anyhow!("--slo must be SERVICE/NAME, got `{slo}`")).into());
    };
    // `720h` and `30d` are the same period; the JSON keys use the canonical spelling. A calendar
    // period is named by its word.
    let period = match crate::calendar::Unit::parse(period.trim()) {
        Some(unit) => unit.name().to_string(),
        None => crate::duration::parse(period)
            .map_err(|e| {
                GateError(anyhow!(
                    "--period: {e}; or a calendar period of the SLO: week, month, quarter"
                ))
            })?
            .to_string(),
    };
    let status = gate_fetch(service, name, slo, server, config, prometheus)
        .await
        .map_err(GateError)?;
    let verdict = crate::gate::decide(&status, &period, min_remaining);
    println!("{}", verdict.reason);
    if verdict.allow {
        Ok(())
    } else {
        Err(GateBlocked.into())
    }
}

/// The SLO's typed status, from a running daemon or computed like `report`.
async fn gate_fetch(
    service: &str,
    name: &str,
    slo: &str,
    server: Option<String>,
    config: &std::path::Path,
    prometheus: Option<String>,
) -> anyhow::Result<SloStatus> {
    match server {
        Some(base) => {
            let url = format!(
                "{}/api/v1/slos/{service}/{}",
                base.trim_end_matches('/'),
                crate::ui::url_enc(name)
            );
            let shown = redact_url(&url);
            let resp = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()?
                .get(&url)
                .send()
                .await
                .map_err(|_| anyhow!("cannot reach the slowburn daemon at {shown}"))?;
            let status = resp.status();
            let body = resp
                .text()
                .await
                .map_err(|_| anyhow!("{shown} did not answer"))?;
            if !status.is_success() {
                let error = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(String::from))
                    .unwrap_or_default();
                return Err(anyhow!("{shown}: HTTP {status}: {error}"));
            }
            serde_json::from_str::<SloStatus>(&body)
                .map_err(|e| anyhow!("{shown} did not answer an SLO's status: {e}"))
        }
        None => {
            let mut cfg = load(config, prometheus)?;
            // A member (`svc/name{route="/x"}`) is found among its definition's members.
            let definition = slo.split_once('{').map_or(slo, |(d, _)| d);
            cfg.slos
                .retain(|s| s.id == slo || (s.is_group() && s.id == definition));
            if cfg.slos.is_empty() {
                return Err(anyhow!("no SLO `{slo}` in {}", config.display()));
            }
            let sources = connect(&cfg).await?;
            let at = align(chrono::Utc::now().timestamp(), cfg.bucket);
            let mut cfg = super::with_members(&cfg, &sources, at).await?;
            cfg.slos.retain(|s| s.id == slo);
            if cfg.slos.is_empty() {
                return Err(anyhow!(
                    "no SLO `{slo}`: {definition} groups by label and has no such member; `slowburn validate --online` lists its members"
                ));
            }
            let rep = crate::report::build(&cfg, &sources, at).await;
            rep.slos
                .first()
                .map(|r| r.status())
                .ok_or_else(|| anyhow!("no SLO `{slo}` in the report"))
        }
    }
}

/// The gate said no: exit 1 without an extra error line (the verdict was printed).
#[derive(Debug, thiserror::Error)]
#[error("deploy blocked")]
pub struct GateBlocked;

/// The gate could not decide (daemon unreachable, unknown SLO, bad flags): exit 2, so a pipeline
/// can tell "blocked by the budget" from "the gate is broken".
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct GateError(pub anyhow::Error);
