//! The command line: one file per subcommand, an example in every `--help`, and the exit codes
//! scripts rely on ([`EXIT_CODES`], the same table as the README's).

mod backtest;
mod dashboards;
mod export;
mod gate;
mod import;
mod notify_test;
mod report;
mod rules;
mod run;
mod store;
mod validate;

pub use gate::{GateBlocked, GateError};

use crate::config::{self, Config};
use crate::source::Sources;
use anyhow::{Context, anyhow};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The exit-code table, as a literal so `concat!` can put it into `--help`.
macro_rules! exit_codes {
    () => {
        "Exit codes (every command):
  0  done: valid, sound, healthy, sent; the gate lets the deploy go
  1  the answer is no, or the work failed: an invalid config, a source or daemon that does not
     answer, a damaged store, a receiver or Grafana that refused, a deploy the gate blocks
  2  a bad flag or argument; the gate could not decide (daemon unreachable, unknown SLO)"
    };
}

/// The top-level examples, shared by `-h` and `--help`.
macro_rules! top_examples {
    () => {
        "Examples:
  slowburn validate --config slo.yaml
  slowburn run --config slo.yaml --data-dir /var/lib/slowburn
  slowburn gate --slo api/availability --server http://127.0.0.1:9464
"
    };
}

/// The exit codes of every command, shown by `slowburn --help`: scripts and CI branch on them, so
/// they are one table rather than a sentence per command (the README has the same table).
pub const EXIT_CODES: &str = exit_codes!();

/// `slowburn --version`: [`crate::VERSION`] and the git revision it was built from
/// ([`crate::REVISION`]), composed from the one spelling of each rather than asking Cargo again.
pub static VERSION_LINE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{} ({})", crate::VERSION, crate::REVISION));

/// slowburn: error budgets and burn rates from stored per-bucket event counts.
#[derive(Debug, Parser)]
#[command(
    name = "slowburn",
    version = VERSION_LINE.as_str(),
    about,
    after_help = concat!(top_examples!(), "\nEvery command's --help has examples; --help shows the exit codes."),
    after_long_help = concat!(top_examples!(), "\n", exit_codes!())
)]
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
    #[command(
        after_help = "Examples:\n  slowburn run --config slo.yaml --data-dir /var/lib/slowburn\n  SLOWBURN_LISTEN=0.0.0.0:9464 slowburn run          # in a container: listen beyond loopback\n  slowburn run --api-token-file /run/secrets/slowburn-token\n  slowburn run --listen 127.0.0.1:0 --listen-address-file /run/slowburn.addr   # any free port, named in the file"
    )]
    Run {
        /// The SLO file (watched: edits are reloaded; SIGHUP reloads too).
        #[arg(long, short, env = "SLOWBURN_CONFIG", default_value = "slo.yaml")]
        config: PathBuf,
        /// Directory of the embedded store.
        #[arg(long, env = "SLOWBURN_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// Address of the HTTP server; loopback unless told otherwise. Port 0 takes any free
        /// port (see --listen-address-file).
        #[arg(long, env = "SLOWBURN_LISTEN", default_value = "127.0.0.1:9464")]
        listen: std::net::SocketAddr,
        /// Once the server listens, write its address (`host:port`, the port the kernel chose for
        /// port 0) to this file, atomically: whoever started the daemon learns where it listens
        /// without picking a "free" port first, which another process could take meanwhile.
        #[arg(long, env = "SLOWBURN_LISTEN_ADDRESS_FILE")]
        listen_address_file: Option<PathBuf>,
        /// Override `prometheus.url` from the file.
        #[arg(long, env = "SLOWBURN_PROMETHEUS_URL")]
        prometheus: Option<String>,
        /// File holding the bearer token that API changes (silences) need; or set
        /// SLOWBURN_API_TOKEN. Without one, silences can be listed but not changed.
        #[arg(long)]
        api_token_file: Option<PathBuf>,
        /// A host name clients may reach the server by, besides IP addresses and localhost
        /// (a Service or compose name; repeat or comma-separate; `*` allows any). Other names
        /// are refused, so a page on another site cannot read the UI through DNS rebinding.
        #[arg(long, env = "SLOWBURN_ALLOW_HOSTS", value_delimiter = ',')]
        allow_host: Vec<String>,
        /// Own only shard I of N (0-based) of the file's SLOs, by Prometheus's hashmod of
        /// `service/name`, as `slowburn rules --shard` and a relabel rule split them; each
        /// shard reads the same file and keeps its own store.
        #[arg(long, env = "SLOWBURN_SHARD", value_name = "I/N")]
        shard: Option<crate::shard::Shard>,
    },
    /// The embedded store: `backup` it (while the daemon runs), `verify` it (and `--repair` it).
    #[command(after_help = "Examples:\n  slowburn store verify --data-dir /var/lib/slowburn")]
    Store {
        /// What to do.
        #[command(subcommand)]
        action: StoreCommand,
    },
    /// Grafana dashboards: write them (`generate`) or put them into a Grafana (`provision`).
    #[command(
        after_help = "Examples:\n  slowburn dashboards generate --config slo.yaml --out dashboards\n  GRAFANA_TOKEN=glsa_… slowburn dashboards provision --grafana http://grafana:3000"
    )]
    Dashboards {
        /// What to do.
        #[command(subcommand)]
        action: DashboardsCommand,
    },
    /// Write a rule file that computes what the daemon computes, for a Prometheus, Thanos, Mimir
    /// or vmalert ruler: the same series and the same alerts. SLOs a ruler cannot compute
    /// (time slices, logs, `$window` expressions) are named on stderr and left out; exit 1 only
    /// when none is left.
    #[command(
        after_help = "Examples:\n  slowburn rules --target prometheus --config slo.yaml > slowburn.rules.yaml\n  slowburn rules --target thanos --shard 0/3 --out shard-0.rules.yaml\n  slowburn rules --target mimir --out slowburn.rules.yaml && mimirtool rules load slowburn.rules.yaml\n  slowburn rules --period-interval 1m   # every rule of an SLO in one group, every bucket"
    )]
    Rules {
        /// The SLO file.
        #[arg(long, short, env = "SLOWBURN_CONFIG", default_value = "slo.yaml")]
        config: PathBuf,
        /// The ruler: prometheus, thanos, mimir or vmalert.
        #[arg(long, default_value = "prometheus")]
        target: crate::export::rules::Target,
        /// Only the SLOs of shard I of N (0-based): Prometheus's hashmod of `service/name`.
        #[arg(long, value_name = "I/N")]
        shard: Option<crate::export::rules::Shard>,
        /// Write the file here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// How often the 7d/30d sums run (their own group); the bucket puts every rule of an SLO
        /// in one group.
        #[arg(long, default_value = "5m", value_parser = parse_duration)]
        period_interval: crate::duration::Dur,
        /// Also write `query_offset` (the engine delay) for --target prometheus: Prometheus 2.53
        /// and later read it, promtool 2.42 refuses it. Thanos and Mimir always get it.
        #[arg(long)]
        query_offset: bool,
    },
    /// Replay history through the burn-rate rules and list what would have fired.
    #[command(
        after_help = "Examples:\n  slowburn backtest --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z\n  slowburn backtest --data-dir /backups/slowburn --format json"
    )]
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
    #[command(after_help = "Examples:\n  slowburn notify-test --receiver oncall --config slo.yaml")]
    NotifyTest {
        /// The receiver's name in slo.yaml.
        #[arg(long)]
        receiver: String,
        /// The SLO file.
        #[arg(long, short, env = "SLOWBURN_CONFIG", default_value = "slo.yaml")]
        config: PathBuf,
    },
    /// Deploy gate: exit 0 when the SLO's budget allows a deploy, 1 when not; one line says why.
    #[command(
        after_help = "Examples:\n  slowburn gate --slo checkout/availability --min-remaining 0.10 --server http://slowburn:9464\n  slowburn gate --slo api/latency --period 7d --config slo.yaml   # no daemon: computes like report"
    )]
    Gate {
        /// The SLO, as SERVICE/NAME.
        #[arg(long)]
        slo: String,
        /// Budget period to check: a rolling one (`30d`) or a calendar one the SLO lists
        /// (`month`).
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
    /// Probe a running daemon's /healthz: exit 0 when it answers, 1 when not. For container
    /// health checks, which have no shell or curl in a distroless image.
    #[command(
        after_help = "Examples:\n  slowburn healthcheck                          # the daemon on SLOWBURN_LISTEN or 127.0.0.1:9464\n  slowburn healthcheck --listen 127.0.0.1:19100"
    )]
    Healthcheck {
        /// The daemon's listen address (an unspecified address such as 0.0.0.0 is probed on
        /// loopback).
        #[arg(long, env = "SLOWBURN_LISTEN", default_value = "127.0.0.1:9464")]
        listen: std::net::SocketAddr,
    },
    /// Print a completion script for a shell (subcommands, flags and their values).
    #[command(
        after_help = "Examples:\n  slowburn completions bash > ~/.local/share/bash-completion/completions/slowburn\n  slowburn completions zsh > \"${fpath[1]}/_slowburn\"\n  slowburn completions fish > ~/.config/fish/completions/slowburn.fish"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Check slo.yaml; print every error as FILE:LINE:COLUMN: message.
    #[command(
        after_help = "Examples:\n  slowburn validate --config slo.yaml\n  slowburn validate --online --prometheus http://prometheus:9090"
    )]
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
    /// Write a slo.yaml from SLOs written for Sloth, Pyrra or in OpenSLO. What cannot map is
    /// named as FILE:LINE:COLUMN: field: why; exit 1 (nothing written) if an SLO could not be
    /// imported, 0 with warnings for what was dropped.
    #[command(
        after_help = "Examples:\n  slowburn import --from sloth slos/*.yml --out slo.yaml\n  slowburn import --from pyrra --service checkout pyrra/ > slo.yaml\n  slowburn import --from openslo openslo/ --out slo.yaml && slowburn validate -c slo.yaml"
    )]
    Import {
        /// The format of the files.
        #[arg(long, value_enum)]
        from: ImportFormat,
        /// Files, or directories of .yaml/.yml files; OpenSLO references resolve across all.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The SLO period of Sloth files (Sloth's `--default-slo-period`).
        #[arg(long, default_value = "30d")]
        period: String,
        /// The service of Pyrra objects without a namespace (filesystem mode).
        #[arg(long)]
        service: Option<String>,
    },
    /// Write the SLOs as OpenSLO v1 documents: a DataSource per source, then per SLO its SLO (the
    /// SLI inline) and its AlertPolicy (one burn-rate condition per rule). What OpenSLO has no
    /// field for goes into `slowburn.dev/*` annotations, which `slowburn import --from openslo`
    /// reads back.
    #[command(
        after_help = "Examples:\n  slowburn export --to openslo --config slo.yaml > openslo.yaml\n  slowburn export --to openslo --out openslo.yaml && slowburn import --from openslo openslo.yaml"
    )]
    Export {
        /// The format to write.
        #[arg(long, value_enum)]
        to: ExportFormat,
        /// The SLO file.
        #[arg(long, short, env = "SLOWBURN_CONFIG", default_value = "slo.yaml")]
        config: PathBuf,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compute every SLO's budgets and burn rates once, straight from Prometheus.
    #[command(
        after_help = "Examples:\n  slowburn report --config slo.yaml\n  slowburn report --at 2026-12-01T00:00:00Z --format json | jq '.slos[].periods[\"30d\"].error_budget_remaining'\n  slowburn report --calendar 2026-11 --format html > november.html\n  slowburn report --calendar 2026-Q4 --timezone Europe/Berlin --format csv"
    )]
    Report {
        /// The SLO file.
        #[arg(long, short, env = "SLOWBURN_CONFIG", default_value = "slo.yaml")]
        config: PathBuf,
        /// Override `prometheus.url` from the file.
        #[arg(long, env = "SLOWBURN_PROMETHEUS_URL")]
        prometheus: Option<String>,
        /// Evaluation time: unix seconds or RFC 3339; rounded down to a bucket boundary. Default: now.
        #[arg(long, conflicts_with = "calendar")]
        at: Option<String>,
        /// One calendar period instead of the SLOs' windows: a month `2026-11`, a quarter
        /// `2026-Q4` or an ISO week `2026-W48`, past or current.
        #[arg(long)]
        calendar: Option<String>,
        /// The IANA time zone of `--calendar` (default: each SLO's `timezone:`).
        #[arg(long, requires = "calendar")]
        timezone: Option<String>,
        /// Output format (csv, md and html with --calendar).
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// Print query statistics (requests, samples read, time) to stderr.
        #[arg(long)]
        stats: bool,
    },
}

/// `slowburn store …`.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Save a consistent copy of the store as OUT/slowburn.redb: from a running daemon
    /// (`--server`, with the API token; it keeps evaluating), or from `--data-dir` with the daemon
    /// stopped. The copy is checked (integrity and every checksum) before this exits 0.
    #[command(
        after_help = "Examples:\n  SLOWBURN_API_TOKEN=… slowburn store backup --server http://127.0.0.1:9464 --out /backups/slowburn-$(date +%F)\n  slowburn store backup --data-dir /var/lib/slowburn --out /backups/slowburn   # daemon stopped\n  slowburn backtest --data-dir /backups/slowburn   # a backup is a store: replay it"
    )]
    Backup {
        /// Directory to write `slowburn.redb` into (created; must not hold a store already).
        #[arg(long)]
        out: PathBuf,
        /// A running daemon to copy from (e.g. http://127.0.0.1:9464).
        #[arg(long)]
        server: Option<String>,
        /// File holding the daemon's API token; or set SLOWBURN_API_TOKEN.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// The store to copy when no `--server` is given (the daemon must be stopped).
        #[arg(long, env = "SLOWBURN_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
    /// Check the store file (redb's integrity check and every value's checksum) with the
    /// daemon stopped. Exit 0 when sound, 1 when damaged or unreadable.
    #[command(
        after_help = "Examples:\n  slowburn store verify --data-dir /var/lib/slowburn\n  slowburn store verify --data-dir /var/lib/slowburn --repair"
    )]
    Verify {
        /// Directory of the embedded store.
        #[arg(long, env = "SLOWBURN_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// Delete the damaged values (their buckets are backfilled from the source at the next
        /// start); exit 0 once removed.
        #[arg(long)]
        repair: bool,
    },
}

/// `slowburn dashboards …`.
#[derive(Debug, Subcommand)]
pub enum DashboardsCommand {
    /// Write the dashboards' JSON files (the repository commits them in `dashboards/`).
    #[command(
        after_help = "Examples:\n  slowburn dashboards generate --config slo.yaml --out dashboards"
    )]
    Generate {
        /// The SLO file (its labels become filters, its policies the burn-rate lines).
        #[arg(long, short, env = "SLOWBURN_CONFIG", default_value = "slo.yaml")]
        config: PathBuf,
        /// Folder to write into.
        #[arg(long, default_value = "dashboards")]
        out: PathBuf,
    },
    /// Create the folder and write every dashboard that differs, through Grafana's HTTP API.
    /// The token comes from GRAFANA_TOKEN, --token-file or `grafana.token`.
    #[command(
        after_help = "Examples:\n  GRAFANA_TOKEN=glsa_… slowburn dashboards provision --grafana http://grafana:3000\n  slowburn dashboards provision --token-file /run/secrets/grafana --org-id 2"
    )]
    Provision {
        /// The SLO file.
        #[arg(long, short, env = "SLOWBURN_CONFIG", default_value = "slo.yaml")]
        config: PathBuf,
        /// Grafana's base URL (overrides `grafana.url`).
        #[arg(long)]
        grafana: Option<String>,
        /// File holding a service-account token.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Organisation id, sent as X-Grafana-Org-Id.
        #[arg(long)]
        org_id: Option<u64>,
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

/// `report --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns for people.
    Table,
    /// The documented JSON contract.
    Json,
    /// RFC 4180 CSV, one row per SLO (with --calendar).
    Csv,
    /// A Markdown table (with --calendar).
    Md,
    /// A printable page (with --calendar).
    Html,
}

/// Parses a duration flag (`5m`, `1h`) as `slo.yaml` writes durations.
fn parse_duration(s: &str) -> Result<crate::duration::Dur, String> {
    crate::duration::parse(s).map_err(|e| e.to_string())
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

/// Reads and validates the config, printing every error as `file:line:column: message`, and
/// applies `--prometheus`.
fn load(path: &std::path::Path, prometheus: Option<String>) -> anyhow::Result<Config> {
    config::load_with(path, prometheus.as_deref()).map_err(|errs| {
        for e in &errs.0 {
            eprintln!("{e}");
        }
        anyhow!("{} has {} error(s)", path.display(), errs.0.len())
    })
}

/// The formats `import --from` reads.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ImportFormat {
    /// Sloth `prometheus/v1`, its Kubernetes resource, OpenSLO v1alpha as Sloth reads it.
    Sloth,
    /// Pyrra `ServiceLevelObjective` resources.
    Pyrra,
    /// OpenSLO v1 documents.
    Openslo,
}

/// The formats `export --to` writes.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ExportFormat {
    /// OpenSLO v1 documents.
    Openslo,
}

impl From<ImportFormat> for crate::import::Format {
    fn from(f: ImportFormat) -> Self {
        match f {
            ImportFormat::Sloth => crate::import::Format::Sloth,
            ImportFormat::Pyrra => crate::import::Format::Pyrra,
            ImportFormat::Openslo => crate::import::Format::OpenSlo,
        }
    }
}

/// Writes `text` to `path` unless the file already holds exactly it (a rule or export file
/// regenerated in CI keeps its mtime); returns whether it was unchanged.
fn write_unless_same(path: &std::path::Path, text: &str) -> anyhow::Result<bool> {
    let same = std::fs::read_to_string(path).is_ok_and(|old| old == text);
    if !same {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(same)
}

/// Runs a parsed command; `Err` means exit code 1 (or 2 for [`GateError`]).
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run {
            config,
            data_dir,
            listen,
            listen_address_file,
            prometheus,
            api_token_file,
            allow_host,
            shard,
        } => {
            let opts = crate::daemon::RunOptions {
                config,
                data_dir,
                listen,
                listen_address_file,
                prometheus,
                api_token: None,
                allowed_hosts: allow_host,
                shard,
            };
            run::run(opts, api_token_file).await
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
            backtest::run(&cfg, from, to, data_dir, format).await
        }
        Command::Dashboards { action } => match action {
            DashboardsCommand::Generate { config, out } => {
                let cfg = load(&config, None)?;
                dashboards::generate(&cfg, &out)
            }
            DashboardsCommand::Provision {
                config,
                grafana,
                token_file,
                org_id,
            } => {
                let cfg = load(&config, None)?;
                dashboards::provision(&cfg, grafana, token_file, org_id).await
            }
        },
        Command::Rules {
            config,
            target,
            shard,
            out,
            period_interval,
            query_offset,
        } => {
            let cfg = load(&config, None)?;
            let options = crate::export::rules::Options {
                target,
                shard,
                period_interval,
                query_offset,
            };
            rules::run(&cfg, &options, out.as_deref())
        }
        Command::Store { action } => match action {
            StoreCommand::Verify { data_dir, repair } => store::verify(&data_dir, repair),
            StoreCommand::Backup {
                out,
                server,
                token_file,
                data_dir,
            } => store::backup(&out, server, token_file, &data_dir).await,
        },
        Command::NotifyTest { receiver, config } => {
            let cfg = load(&config, None)?;
            notify_test::run(&cfg, &config, &receiver).await
        }
        Command::Gate {
            slo,
            period,
            min_remaining,
            server,
            config,
            prometheus,
        } => gate::run(&slo, &period, min_remaining, server, &config, prometheus).await,
        Command::Healthcheck { listen } => healthcheck(listen).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "slowburn",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Validate {
            config,
            online,
            prometheus,
        } => {
            let cfg = load(&config, prometheus)?;
            if online {
                validate::online(&cfg).await?;
            }
            for w in cfg.warnings() {
                eprintln!("{}: warning: {w}", config.display());
            }
            println!("{}: OK ({} SLOs)", config.display(), cfg.slos.len());
            Ok(())
        }
        Command::Import {
            from,
            files,
            out,
            period,
            service,
        } => {
            let options = crate::import::Options {
                period: Some(period),
                service,
            };
            import::run(from.into(), &files, &options, out.as_deref())
        }
        Command::Export { to, config, out } => {
            let cfg = load(&config, None)?;
            match to {
                ExportFormat::Openslo => export::run(&cfg, out.as_deref()),
            }
        }
        Command::Report {
            config,
            prometheus,
            at,
            calendar,
            timezone,
            format,
            stats,
        } => {
            let cfg = load(&config, prometheus)?;
            match calendar {
                Some(label) => report::calendar(&cfg, &label, timezone.as_deref(), format).await,
                None => {
                    let format = match format {
                        ReportFormat::Table => Format::Table,
                        ReportFormat::Json => Format::Json,
                        other => anyhow::bail!(
                            "--format {other:?} is for calendar reports: add --calendar 2026-11 (or use table or json)"
                        ),
                    };
                    report::run(&cfg, at, format, stats).await
                }
            }
        }
    }
}

/// `GET /healthz` on the daemon's address, with a 3 s timeout.
async fn healthcheck(mut listen: std::net::SocketAddr) -> anyhow::Result<()> {
    if listen.ip().is_unspecified() {
        listen.set_ip(if listen.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let url = format!("http://{listen}/healthz");
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()?;
    let resp = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url} does not answer"))?;
    if resp.status().is_success() {
        println!("{url}: ok");
        Ok(())
    } else {
        Err(anyhow!("{url} answered HTTP {}", resp.status()))
    }
}

/// The config's sources, each having answered one request: commands fail fast, naming the source
/// and its URL (minus any credentials), when one the SLOs read cannot be reached.
/// A progress bar on stderr for long fetches (`report`, `backtest`), only when stderr is a
/// terminal: a pipe, a file or a CI log gets nothing.
fn progress_bar(what: &'static str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:32}] {percent:>3}% {human_pos}/{human_len} ({per_sec}, about {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    Some(bar)
}

/// Moves `bar` to `done` of `total`.
fn advance(bar: &Option<indicatif::ProgressBar>, done: u64, total: u64) {
    if let Some(b) = bar {
        b.set_length(total);
        b.set_position(done);
    }
}

/// `cfg` with each `group_by` definition replaced by the members seen in its longest period
/// before `at`, as the daemon would follow them; values beyond `max_groups` are named on stderr.
async fn with_members(cfg: &Config, sources: &Sources, at: i64) -> anyhow::Result<Config> {
    if !crate::config::group::has_groups(cfg) {
        return Ok(cfg.clone());
    }
    let (expanded, found) = crate::source::groups::expand_at(cfg, sources, Some(at))
        .await
        .context("cannot find the members of a group_by SLO")?;
    for f in found.iter().filter(|f| f.dropped > 0) {
        eprintln!(
            "warning: {}: {} more values than max_groups; only the first {} (sorted) are evaluated: raise max_groups or narrow the selectors",
            f.id,
            f.dropped,
            f.members.len()
        );
    }
    Ok(expanded)
}

async fn connect(cfg: &Config) -> anyhow::Result<Sources> {
    let sources = Sources::from_config(cfg)?;
    // The error names the source and its URL (minus any credentials).
    sources
        .health(cfg)
        .await
        .context("cannot query a source the SLOs read")?;
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and subcommand shows at least one example: people learn a CLI from them.
    #[test]
    fn every_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let name = format!("{path} {}", sub.get_name());
                let help = sub
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                if !(help.starts_with("Examples:\n  ") && help.contains(name.as_str())) {
                    missing.push(name.clone());
                }
                walk(sub, &name, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "slowburn", &mut missing);
        assert!(missing.is_empty(), "no example in --help of: {missing:?}");
        Cli::command().debug_assert();
    }
}
