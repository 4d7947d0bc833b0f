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
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
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
            let source = PrometheusSource::new(&cfg.prometheus)?;
            source
                .series_count("vector(1)")
                .await
                .with_context(|| format!("cannot query Prometheus at {}", cfg.prometheus.url))?;
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
            for r in &rep.slos {
                for p in &r.eval.periods {
                    if p.sum.coverage() < 1.0 {
                        eprintln!(
                            "warning: {}: only {:.1}% of the {} period has data; missing buckets are not counted as good or bad (is Prometheus's --storage.tsdb.retention.time shorter than {}, or was it down?)",
                            r.slo.id,
                            p.sum.coverage() * 100.0,
                            p.period,
                            p.period
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
            let q = format!("{metric}_bucket{{{matchers}{sep}le=\"{le}\"}}");
            if source.series_count(&q).await? == 0 {
                let all = format!("count by (le) ({metric}_bucket{{{matchers}}})");
                let n = source.series_count(&all).await.unwrap_or(0);
                eprintln!(
                    "{}: {}: histogram `{metric}` has no `le=\"{le}\"` bucket ({} bucket boundaries exist); the threshold must be one of them",
                    cfg.file, slo.id, n
                );
                problems += 1;
            }
        }
        for q in slo.counts.queries() {
            let probe = q.replace("$window", "5m");
            match source.series_count(&probe).await {
                Ok(0) => eprintln!(
                    "{}: {}: warning: `{q}` returns no series right now",
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
