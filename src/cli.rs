//! The command line: `validate` and `report` (and the exit codes scripts rely on).
//!
//! Exit codes: 0 success; 1 invalid config, unreachable Prometheus or failed online checks;
//! 2 bad command-line usage (clap).

use crate::config::{self, Config, SliKind};
use crate::report;
use crate::source::prometheus::PrometheusSource;
use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// slowburn: error budgets and burn rates from stored per-bucket event counts.
#[derive(Debug, Parser)]
#[command(name = "slowburn", version, about)]
pub struct Cli {
    /// Log format: `auto` is JSON lines when stdout is not a terminal, human lines on a terminal.
    #[arg(long, global = true, env = "SLOWBURN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
    /// The command; each one documents its exit codes.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// JSON when stdout is not a terminal, text otherwise.
    Auto,
    /// One JSON object per line (for log shippers).
    Json,
    /// Human-readable lines.
    Text,
}

/// Subcommands; `run` is the daemon, the others are one-shot tools for people and CI.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: keep budgets current, serve /metrics and the API.
    Run {
        /// The SLO file (watched: edits are reloaded; SIGHUP reloads too).
        #[arg(long, short, env = "SLOWBURN_CONFIG", default_value = "slo.yaml")]
        config: PathBuf,
        /// Directory of the embedded store.
        #[arg(long, env = "SLOWBURN_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// Address of the HTTP server; loopback unless told otherwise.
        #[arg(long, env = "SLOWBURN_LISTEN", default_value = "127.0.0.1:9464")]
        listen: std::net::SocketAddr,
        /// Override `prometheus.url` from the file.
        #[arg(long, env = "SLOWBURN_PROMETHEUS_URL")]
        prometheus: Option<String>,
        /// File holding the bearer token that API changes (silences) need; or set
        /// SLOWBURN_API_TOKEN. Without one, silences can be listed but not changed.
        #[arg(long)]
        api_token_file: Option<PathBuf>,
    },
    /// Replay history through the burn-rate rules and list what would have fired.
    Backtest {
        /// The SLO file.
        #[arg(long, short, env = "SLOWBURN_CONFIG", default_value = "slo.yaml")]
        config: PathBuf,
        /// Override `prometheus.url` from the file.
        #[arg(long, env = "SLOWBURN_PROMETHEUS_URL")]
        prometheus: Option<String>,
        /// First evaluation (unix seconds or RFC 3339); default 7 days before `--to`.
        #[arg(long)]
        from: Option<String>,
        /// Last evaluation; default now.
        #[arg(long)]
        to: Option<String>,
        /// Read history from the daemon's store in DIR instead of Prometheus (stop the daemon
        /// first, or point at a copy: the store is single-process).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Send a clearly marked test notification (a trigger, then its resolve) to one receiver.
    NotifyTest {
        /// The receiver's name in slo.yaml.
        #[arg(long)]
        receiver: String,
        /// The SLO file.
        #[arg(long, short, env = "SLOWBURN_CONFIG", default_value = "slo.yaml")]
        config: PathBuf,
    },
    /// Deploy gate: exit 0 when the SLO's budget allows a deploy, 1 when not; one line says why.
    Gate {
        /// The SLO, as SERVICE/NAME.
        #[arg(long)]
        slo: String,
        /// Budget period to check.
        #[arg(long, default_value = "30d")]
        period: String,
        /// Smallest remaining budget ratio that still allows a deploy (0.25 = a quarter left).
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        min_remaining: f64,
        /// A running daemon to ask (e.g. http://127.0.0.1:9464); without it, compute like `report`.
        #[arg(long, env = "SLOWBURN_SERVER")]
        server: Option<String>,
        /// The SLO file (when computing without a daemon).
        #[arg(long, short, env = "SLOWBURN_CONFIG", default_value = "slo.yaml")]
        config: PathBuf,
        /// Override `prometheus.url` (when computing without a daemon).
        #[arg(long, env = "SLOWBURN_PROMETHEUS_URL")]
        prometheus: Option<String>,
    },
    /// Check slo.yaml; print every error as FILE:LINE:COLUMN: message.
    Validate {
        /// The SLO file.
        #[arg(long, short, env = "SLOWBURN_CONFIG", default_value = "slo.yaml")]
        config: PathBuf,
        /// Also ask Prometheus whether every selector has series and every latency threshold has
        /// its `le` bucket.
        #[arg(long)]
        online: bool,
        /// Override `prometheus.url` from the file.
        #[arg(long, env = "SLOWBURN_PROMETHEUS_URL")]
        prometheus: Option<String>,
    },
    /// Compute every SLO's budgets and burn rates once, straight from Prometheus.
    Report {
        /// The SLO file.
        #[arg(long, short, env = "SLOWBURN_CONFIG", default_value = "slo.yaml")]
        config: PathBuf,
        /// Override `prometheus.url` from the file.
        #[arg(long, env = "SLOWBURN_PROMETHEUS_URL")]
        prometheus: Option<String>,
        /// Evaluation time: unix seconds or RFC 3339; rounded down to a bucket boundary. Default: now.
        #[arg(long)]
        at: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Print query statistics (requests, samples read, time) to stderr.
        #[arg(long)]
        stats: bool,
    },
}

/// Output formats of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// The documented JSON contract.
    Json,
}

/// Parses `--at`: unix seconds (integer or decimal) or RFC 3339.
pub fn parse_time(s: &str) -> anyhow::Result<i64> {
    if let Ok(secs) = s.trim().parse::<f64>()
        && secs.is_finite()
    {
        if !(0.0..=253_402_300_799.0).contains(&secs) {
            return Err(anyhow!("--at `{s}` is outside the years 1970 to 9999"));
        }
        return Ok(secs.floor() as i64);
    }
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.timestamp())
        .map_err(|_| {
            anyhow!("--at `{s}` is neither unix seconds nor RFC 3339 (e.g. 2026-11-29T12:00:00Z)")
        })
}

fn load(path: &std::path::Path, prometheus: Option<String>) -> anyhow::Result<Config> {
    let mut cfg = match config::load(path) {
        Ok(c) => c,
        Err(errs) => {
            for e in &errs.0 {
                eprintln!("{e}");
            }
            return Err(anyhow!("{} has {} error(s)", path.display(), errs.0.len()));
        }
    };
    if let Some(url) = prometheus {
        cfg.prometheus.url = url;
    }
    Ok(cfg)
}

/// Runs a parsed command; `Err` means exit code 1.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run {
            config,
            data_dir,
            listen,
            prometheus,
            api_token_file,
        } => {
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
            })
            .await
        }
        Command::Backtest {
            config,
            prometheus,
            from,
            to,
            data_dir,
            format,
        } => {
            let cfg = load(&config, prometheus)?;
            let to = report::align(
                to.as_deref()
                    .map(parse_time)
                    .transpose()?
                    .unwrap_or_else(|| chrono::Utc::now().timestamp()),
                cfg.bucket,
            );
            let from = report::align(
                from.as_deref()
                    .map(parse_time)
                    .transpose()?
                    .unwrap_or(to - 7 * 86400),
                cfg.bucket,
            );
            if from > to {
                return Err(anyhow!("--from is after --to"));
            }
            let source = match data_dir {
                Some(dir) => crate::backtest::History::Store(std::sync::Arc::new(
                    crate::store::Store::open(&dir).with_context(|| {
                        format!(
                            "cannot open the store in {} (is the daemon still running?)",
                            dir.display()
                        )
                    })?,
                )),
                None => crate::backtest::History::Prometheus(connect(&cfg).await?),
            };
            let (episodes, errors) = crate::backtest::run(&cfg, &source, from, to).await;
            for e in &errors {
                eprintln!("warning: {e}");
            }
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&crate::backtest::to_json(&episodes))?
                ),
                Format::Table => print!("{}", crate::backtest::to_table(&episodes)),
            }
            Ok(())
        }
        Command::NotifyTest { receiver, config } => {
            let cfg = load(&config, None)?;
            let Some(r) = cfg.receivers.iter().find(|r| r.name == receiver) else {
                let names: Vec<&str> = cfg.receivers.iter().map(|r| r.name.as_str()).collect();
                return Err(anyhow!(
                    "no receiver `{receiver}` in {} (defined: {})",
                    config.display(),
                    names.join(", ")
                ));
            };
            let now = chrono::Utc::now().timestamp();
            let mut n = crate::notify::Notification {
                receiver: receiver.clone(),
                slo: "slowburn/notify-test".into(),
                severity: crate::alert::policy::Severity::Ticket,
                action: crate::notify::Action::Trigger,
                created_at: now,
                attempts: 0,
                next_attempt: 0,
                details: serde_json::json!({"test": true, "slo": "slowburn/notify-test", "service": "slowburn",
                    "rule": "test", "burn_rate": 0.0,
                    "message": "This is a test notification from `slowburn notify-test`. No SLO is burning."}),
            };
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()?;
            for action in [
                crate::notify::Action::Trigger,
                crate::notify::Action::Resolve,
            ] {
                n.action = action;
                match crate::notify::send(&client, r, &n, now).await {
                    crate::notify::Delivery::Delivered => {
                        println!("{receiver}: test {} accepted", action.as_str())
                    }
                    other => {
                        return Err(anyhow!(
                            "{receiver}: test {} not accepted: {other:?}",
                            action.as_str()
                        ));
                    }
                }
            }
            Ok(())
        }
        Command::Gate {
            slo,
            period,
            min_remaining,
            server,
            config,
            prometheus,
        } => gate(&slo, &period, min_remaining, server, &config, prometheus).await,
        Command::Validate {
            config,
            online,
            prometheus,
        } => {
            let cfg = load(&config, prometheus)?;
            if online {
                check_online(&cfg).await?;
            }
            println!("{}: OK ({} SLOs)", config.display(), cfg.slos.len());
            Ok(())
        }
        Command::Report {
            config,
            prometheus,
            at,
            format,
            stats,
        } => {
            let cfg = load(&config, prometheus)?;
            let now = chrono::Utc::now().timestamp();
            let at = report::align(
                at.as_deref().map(parse_time).transpose()?.unwrap_or(now),
                cfg.bucket,
            );
            let source = connect(&cfg).await?;
            let t0 = std::time::Instant::now();
            let rep = report::build(&cfg, &source, at).await;
            let elapsed = t0.elapsed();
            if stats {
                let busy = source.stats.busy_micros.load(Ordering::Relaxed) as f64 / 1e6;
                eprintln!(
                    "stats: slos={} requests={} failures={} samples_read={} wall_s={:.3} prometheus_busy_s={:.3}",
                    cfg.slos.len(),
                    source.stats.requests.load(Ordering::Relaxed),
                    source.stats.failures.load(Ordering::Relaxed),
                    source.stats.samples.load(Ordering::Relaxed),
                    elapsed.as_secs_f64(),
                    busy,
                );
            }
            let gaps = rep
                .slos
                .iter()
                .any(|r| r.eval.periods.iter().any(|p| p.sum.coverage() < 1.0));
            let retention = if gaps { source.retention().await } else { None };
            let cause = match &retention {
                Some(r) => format!(
                    "Prometheus keeps {r} of data (--storage.tsdb.retention.time); or it was down"
                ),
                None => {
                    "is Prometheus's retention shorter than the period, or was it down?".to_string()
                }
            };
            for r in &rep.slos {
                for p in &r.eval.periods {
                    if p.sum.coverage() < 1.0 {
                        eprintln!(
                            "warning: {}: only {:.1}% of the {} period has data; missing buckets are not counted as good or bad ({cause})",
                            r.slo.id,
                            p.sum.coverage() * 100.0,
                            p.period,
                        );
                    }
                }
            }
            match format {
                Format::Json => {
                    println!("{}", serde_json::to_string_pretty(&report::to_json(&rep))?)
                }
                Format::Table => print!(
                    "{}",
                    report::to_table(&rep, std::io::stdout().is_terminal())
                ),
            }
            Ok(())
        }
    }
}

/// A Prometheus client that has answered one query: commands fail fast, with the URL (minus any
/// credentials), when Prometheus cannot be reached.
async fn connect(cfg: &Config) -> anyhow::Result<std::sync::Arc<PrometheusSource>> {
    let source = PrometheusSource::new(&cfg.prometheus)?;
    source.series_count("vector(1)").await.with_context(|| {
        format!(
            "cannot query Prometheus at {}",
            crate::daemon::redact_url(&cfg.prometheus.url)
        )
    })?;
    Ok(source)
}

/// `gate`: fetch the SLO's JSON from a daemon or compute it, then decide.
async fn gate(
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
    // `720h` and `30d` are the same period; the JSON keys use the canonical spelling.
    let period = crate::duration::parse(period)
        .map_err(|e| GateError(anyhow!("--period: {e}")))?
        .to_string();
    let json = gate_fetch(service, name, slo, server, config, prometheus)
        .await
        .map_err(GateError)?;
    let verdict = crate::gate::decide(&json, &period, min_remaining);
    println!("{}", verdict.reason);
    if verdict.allow {
        Ok(())
    } else {
        Err(GateBlocked.into())
    }
}

/// The SLO's JSON, from a running daemon or computed like `report`.
async fn gate_fetch(
    service: &str,
    name: &str,
    slo: &str,
    server: Option<String>,
    config: &std::path::Path,
    prometheus: Option<String>,
) -> anyhow::Result<serde_json::Value> {
    Ok(match server {
        Some(base) => {
            let url = format!(
                "{}/api/v1/slos/{service}/{name}",
                base.trim_end_matches('/')
            );
            let shown = crate::daemon::redact_url(&url);
            let resp = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()?
                .get(&url)
                .send()
                .await
                .map_err(|_| anyhow!("cannot reach the slowburn daemon at {shown}"))?;
            let status = resp.status();
            let body: serde_json::Value = resp
                .json()
                .await
                .map_err(|_| anyhow!("{shown} did not answer JSON"))?;
            if !status.is_success() {
                return Err(anyhow!(
                    "{shown}: HTTP {status}: {}",
                    body["error"].as_str().unwrap_or("")
                ));
            }
            body
        }
        None => {
            let mut cfg = load(config, prometheus)?;
            cfg.slos.retain(|s| s.id == slo);
            if cfg.slos.is_empty() {
                return Err(anyhow!("no SLO `{slo}` in {}", config.display()));
            }
            let source = connect(&cfg).await?;
            let at = report::align(chrono::Utc::now().timestamp(), cfg.bucket);
            let rep = report::build(&cfg, &source, at).await;
            report::to_json(&rep)["slos"][0].clone()
        }
    })
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

/// `validate --online`: every selector has series now; every latency threshold is a bucket.
async fn check_online(cfg: &Config) -> anyhow::Result<()> {
    let source = PrometheusSource::new(&cfg.prometheus)?;
    let mut problems = 0;
    for slo in &cfg.slos {
        if let SliKind::Latency {
            metric,
            matchers,
            threshold,
        } = &slo.sli
        {
            let le = config::validate::le_label(*threshold);
            let sep = if matchers.is_empty() { "" } else { "," };
            let q = format!(
                "{metric}_bucket{{{matchers}{sep}{}}}",
                config::validate::le_matcher(*threshold)
            );
            let found = match source
                .series_count(&format!("last_over_time({q}[1h])"))
                .await
            {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("{}: {}: {e}", cfg.file, slo.id);
                    problems += 1;
                    continue;
                }
            };
            if found == 0 {
                let all =
                    format!("count by (le) (last_over_time({metric}_bucket{{{matchers}}}[1h]))");
                let n = source.series_count(&all).await.unwrap_or(0);
                eprintln!(
                    "{}: {}: histogram `{metric}` has no `le=\"{le}\"` bucket ({} bucket boundaries exist); the threshold must be one of them",
                    cfg.file, slo.id, n
                );
                problems += 1;
            }
        }
        let selectors: Vec<String> = match &slo.counts {
            config::CountSpec::Events { good, bad, total } => [good, bad, total]
                .into_iter()
                .flatten()
                .map(|q| match q {
                    config::EventQuery::Selector(s) => format!("last_over_time({s}[1h])"),
                    config::EventQuery::Expression(e) => e.replace("$window", "5m"),
                })
                .collect(),
            config::CountSpec::Timeslice { query, .. } => vec![query.clone()],
        };
        for (q, probe) in slo.counts.queries().into_iter().zip(selectors) {
            match source.series_count(&probe).await {
                Ok(0) => eprintln!(
                    "{}: {}: warning: `{q}` returned no series in the last hour",
                    cfg.file, slo.id
                ),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("{}: {}: {e}", cfg.file, slo.id);
                    problems += 1;
                }
            }
        }
    }
    if problems > 0 {
        return Err(anyhow!("{problems} online check(s) failed"));
    }
    Ok(())
}
