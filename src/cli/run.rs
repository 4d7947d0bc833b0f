//! `slowburn run`: reads the API token, then hands over to the daemon.

use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Starts the daemon; the token comes from `--api-token-file` or `SLOWBURN_API_TOKEN` (never a
/// flag value, which would show in `ps`).
pub(super) async fn run(
    config: PathBuf,
    data_dir: PathBuf,
    listen: SocketAddr,
    prometheus: Option<String>,
    api_token_file: Option<PathBuf>,
    allowed_hosts: Vec<String>,
) -> anyhow::Result<()> {
    let api_token = match api_token_file {
        Some(f) => Some(
            std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read the API token file {}", f.display()))?
                .trim()
                .to_string(),
        ),
        None => std::env::var("SLOWBURN_API_TOKEN").ok(),
    }
    .filter(|t| !t.is_empty());
    crate::daemon::run(crate::daemon::RunOptions {
        config,
        data_dir,
        listen,
        prometheus,
        api_token,
        allowed_hosts,
    })
    .await
}
