//! `slowburn run`: the long-running daemon.
//!
//! Wiring: open the store, start the HTTP server (it answers `/readyz` 503 until the backfill is
//! done), backfill, then evaluate at every bucket boundary plus `engine.delay`. A change to the
//! config file (watched, debounced) or SIGHUP reloads it; a bad file keeps the running config.
//! SIGTERM/SIGINT let the current evaluation finish, then the process exits 0.

use crate::config::{self, Config};
use crate::engine::{Engine, Shared};
use crate::server::{self, AppState};
use crate::shard::Shard;
use crate::source::{SourceSettings, Sources, redact_url};
use crate::store::Store;
use crate::time::align;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tracing::{debug, error, info, warn};

/// How long an evaluation in progress may run on after SIGTERM before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Options of `slowburn run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The SLO file.
    pub config: PathBuf,
    /// Directory of the store.
    pub data_dir: PathBuf,
    /// Address of the HTTP server.
    pub listen: SocketAddr,
    /// Where to write the address the server is bound to, so that whoever asked for port 0
    /// learns the port the kernel chose (tests, supervisors).
    pub listen_address_file: Option<PathBuf>,
    /// Overrides `prometheus.url`.
    pub prometheus: Option<String>,
    /// Bearer token for the API endpoints that change state (silences).
    pub api_token: Option<String>,
    /// Host names the HTTP server answers besides IP literals and localhost.
    pub allowed_hosts: Vec<String>,
    /// The share of the file's SLOs this daemon owns (`--shard I/N`); `None`: all of them.
    pub shard: Option<Shard>,
}

fn now() -> i64 {
    crate::time::now_secs()
}

/// Runs until SIGTERM/SIGINT. Errors are startup failures (bad config, store locked, port taken).
pub async fn run(opts: RunOptions) -> anyhow::Result<()> {
    let full = load_or_report(&opts)?;
    for w in full.warnings() {
        warn!(warning = %w, "config warning");
    }
    // Every shard provisions the dashboards of the whole file: they are the same bytes in each,
    // so N shards writing them leave one set, not the last shard's share.
    let grafana = grafana_job(&full);
    let cfg = owned(full, opts.shard);
    let store = Arc::new(open_store(&opts, &cfg)?);
    let sources = Sources::from_config(&cfg)?;
    let shared = Shared::new(Arc::clone(&store));
    if let Some(shard) = opts.shard {
        let _ = shared.health.shard.set(shard);
    }
    server::silences::load(&shared);
    server::corrections::load(&shared);
    let sources_cell = Arc::new(std::sync::RwLock::new(sources.clone()));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Signals are handled before the listener announces the daemon: a SIGHUP sent as soon as
    // it says it started must reload, not kill it (the default action).
    let (reload_tx, mut reload_rx) = mpsc::channel::<&'static str>(4);
    spawn_signals(stop_tx.clone(), reload_tx.clone())?;
    let server = serve(&opts, &cfg, &shared, &sources_cell, stop_rx.clone()).await?;
    let (receivers_tx, receivers_rx) = watch::channel(Arc::new(cfg.receivers.clone()));
    let dispatcher = tokio::spawn(dispatch_loop(
        Arc::clone(&shared),
        receivers_rx,
        stop_rx.clone(),
    ));
    let (grafana_tx, grafana_rx) = watch::channel(grafana);
    let provisioner = tokio::spawn(grafana_loop(
        Arc::clone(&shared),
        grafana_rx,
        stop_rx.clone(),
    ));
    let _watcher = watch_file(&opts.config, reload_tx.clone());

    let delay = cfg.engine.delay.as_secs() as i64;
    let mut engine = Engine::new(cfg, sources, Arc::clone(&shared));
    let start_at = align(now() - delay, engine.config().bucket);
    let mut stop = stop_rx.clone();
    if !backfill(&mut engine, start_at, &mut stop).await? {
        info!("stopped during backfill; committed buckets are kept");
        let _ = stop_tx.send(true);
        // A graceful shutdown waits for open connections: bounded, as after the main loop.
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, server).await;
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, dispatcher).await;
        provisioner.abort();
        return Ok(());
    }
    shared.health.ready.store(true, Ordering::Relaxed);
    info!(at = start_at, "backfill done; ready");
    // Huge pages from here on, not during the backfill ([`crate::memory`]).
    let advised = tokio::task::spawn_blocking(|| crate::memory::advise_huge_heap(true))
        .await
        .unwrap_or(0);
    debug!(mib = advised >> 20, "heap advised onto huge pages");
    // Backups start once the store holds the history: a copy of a half-filled store helps nobody.
    let (backup_tx, backup_rx) = watch::channel(engine.config().backup.clone());
    let backups = tokio::spawn(crate::backups::schedule(
        Arc::clone(&shared),
        backup_rx,
        stop_rx.clone(),
    ));

    let reloader = Reloader {
        opts: &opts,
        shared: &shared,
        sources: &sources_cell,
        receivers: &receivers_tx,
        grafana: &grafana_tx,
        backup: &backup_tx,
    };
    let mut failures = 0u32;
    // A reload the store refused (a full disk) is tried again, so freeing the disk is enough.
    let mut retry: Option<ReloadRetry> = None;
    loop {
        let width = engine.config().bucket.as_secs() as i64;
        let delay = engine.config().engine.delay.as_secs() as i64;
        let next = engine.last_at() + width;
        let mut wait = (next + delay - now()).max(0) as u64;
        if failures > 0 {
            // A failing store must not turn into a query storm: back off up to one bucket.
            wait = wait.max((1u64 << failures.min(6)).min(width.max(1) as u64));
        }
        if let Some(r) = &retry {
            wait = wait.min((r.at - now()).max(0) as u64);
        }
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            _ = tokio::time::sleep(Duration::from_secs(wait)) => {
                if let Some(r) = retry.take_if(|r| r.at <= now()) {
                    info!(attempt = r.attempt + 1, "trying again the config reload that the store refused");
                    if reloader.reload(&mut engine, r.why).await == Reloaded::StoreRefused {
                        retry = Some(r.next(width));
                    }
                }
                let at = align(now() - delay, engine.config().bucket);
                if at > engine.last_at() {
                    let ticked = tick_with_grace(&mut engine, at, stop_rx.clone()).await;
                    // What the heap grew by since is advised too.
                    crate::memory::advise_huge_heap(false);
                    match ticked {
                        Some(Ok(())) => failures = 0,
                        Some(Err(e)) => {
                            failures += 1;
                            error!(error = %e, failures, "evaluation failed; retrying with backoff");
                        }
                        None => {
                            warn!("evaluation still running after the shutdown grace period; stopping");
                            break;
                        }
                    }
                }
            }
            Some(why) = reload_rx.recv() => {
                while reload_rx.try_recv().is_ok() {}
                // A reload backfills new SLOs; a stop must not wait for a stalled source.
                let mut stop = stop_rx.clone();
                tokio::select! {
                    biased;
                    outcome = reloader.reload(&mut engine, why) => {
                        let width = engine.config().bucket.as_secs() as i64;
                        retry = (outcome == Reloaded::StoreRefused).then(|| ReloadRetry::first(why, width));
                    }
                    _ = async {
                        let _ = stop.wait_for(|s| *s).await;
                        tokio::time::sleep(SHUTDOWN_GRACE).await;
                    } => {
                        warn!("reload still running after the shutdown grace period; stopping");
                        break;
                    }
                }
            }
        }
    }
    info!("shutting down: last evaluation finished, store committed");
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
    let _ = tokio::time::timeout(Duration::from_secs(3), dispatcher).await;
    provisioner.abort();
    backups.abort();
    Ok(())
}

/// What the provisioning task works on: the `grafana:` settings and the dashboards of a config.
type GrafanaJob = Option<(
    crate::config::GrafanaSettings,
    Vec<crate::export::grafana::Dashboard>,
)>;

fn grafana_job(cfg: &Config) -> GrafanaJob {
    let g = cfg.grafana.clone()?;
    Some((g, crate::export::grafana::generate(cfg)))
}

/// Provisions the dashboards whenever the config gives new ones, off the evaluation path (a slow
/// or down Grafana never delays a tick). A failure is logged, counted and retried with backoff
/// (1 minute doubling to an hour) until it succeeds or the config changes.
async fn grafana_loop(
    shared: Arc<Shared>,
    mut jobs: watch::Receiver<GrafanaJob>,
    mut stop: watch::Receiver<bool>,
) {
    // Failures in a row for the current job: the retry waits 1, 2, 4 … minutes, at most an hour
    // (a missing permission does not fix itself every minute).
    let mut failures = 0u32;
    loop {
        let job = jobs.borrow_and_update().clone();
        let mut retry = None;
        if let Some((settings, boards)) = job {
            let result = match crate::provision::Provisioner::new(&settings) {
                Ok(p) => p.provision(&boards).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(done) => {
                    failures = 0;
                    for (uid, outcome) in &done {
                        shared.health.provisioned(outcome.as_str());
                        if *outcome != crate::provision::Outcome::Unchanged {
                            info!(dashboard = %uid, result = outcome.as_str(), "dashboard provisioned");
                        }
                    }
                }
                Err(e) => {
                    shared.health.provisioned("failed");
                    let wait =
                        Duration::from_secs(60 << failures.min(6)).min(Duration::from_secs(3600));
                    failures += 1;
                    warn!(error = %e, retry_in_s = wait.as_secs(), "dashboard provisioning failed");
                    retry = Some(wait);
                }
            }
        }
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => return,
            changed = jobs.changed() => {
                if changed.is_err() {
                    return;
                }
                failures = 0;
            }
            _ = tokio::time::sleep(retry.unwrap_or(Duration::MAX / 4)), if retry.is_some() => {}
        }
    }
}

/// Opens the store; when it is damaged and `backup:` keeps copies, the error names the newest
/// one and how to put it in place.
fn open_store(opts: &RunOptions, cfg: &Config) -> anyhow::Result<Store> {
    match Store::open(&opts.data_dir) {
        Ok(s) => Ok(s),
        Err(e @ crate::store::StoreError::Damaged { .. }) => {
            let newest = cfg
                .backup
                .as_ref()
                .and_then(|b| crate::backups::newest(&b.to));
            let e = anyhow::Error::new(e).context("cannot open the store");
            Err(match newest {
                Some((copy, at)) => e.context(format!(
                    "the newest verified backup was taken at {}: restore it with `mv {data} {data}.damaged && cp -r {copy} {data}`",
                    crate::time::rfc3339(at),
                    data = opts.data_dir.display(),
                    copy = copy.display()
                )),
                None => e,
            })
        }
        Err(e) => Err(anyhow::Error::new(e).context("cannot open the store")),
    }
}

/// The config at start; every error is printed (and logged) before the daemon refuses to start.
/// The SLOs of `cfg` that `shard` owns (all without one); logged, since a shard that owns none
/// of a file's SLOs is legal but worth a look.
fn owned(mut cfg: Config, shard: Option<Shard>) -> Config {
    let Some(shard) = shard else { return cfg };
    let all = cfg.slos.len();
    cfg.slos.retain(|s| shard.owns(&s.id));
    info!(shard = %shard, owned = cfg.slos.len(), of = all, "sharded: this daemon owns its share of the SLOs");
    if cfg.slos.is_empty() && all > 0 {
        warn!(shard = %shard, of = all, "this shard owns none of the file's SLOs");
    }
    cfg
}

fn load_or_report(opts: &RunOptions) -> anyhow::Result<Config> {
    config::load_with(&opts.config, opts.prometheus.as_deref()).map_err(|errs| {
        for e in &errs.0 {
            error!(error = %e, "invalid config");
            eprintln!("{e}");
        }
        anyhow::anyhow!("{} has {} error(s)", opts.config.display(), errs.0.len())
    })
}

/// The startup backfill; `Ok(false)` when a stop arrived first (what was committed is kept).
async fn backfill(
    engine: &mut Engine,
    at: i64,
    stop: &mut watch::Receiver<bool>,
) -> anyhow::Result<bool> {
    tokio::select! {
        r = engine.start(at) => r.context("backfill failed").map(|()| true),
        _ = stop.wait_for(|s| *s) => Ok(false),
    }
}

/// Binds the listen address and serves the router until `stop`; binding errors are startup
/// errors (port taken), reported before the backfill starts.
async fn serve(
    opts: &RunOptions,
    cfg: &Config,
    shared: &Arc<Shared>,
    sources: &Arc<std::sync::RwLock<Sources>>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    info!(
        listen = %addr,
        prometheus = %redact_url(&cfg.prometheus.url),
        slos = cfg.slos.len(),
        data_dir = %opts.data_dir.display(),
        "slowburn started: metrics at http://{addr}/metrics, API at http://{addr}/api/v1/slos"
    );
    if let Some(path) = &opts.listen_address_file {
        server::listen::write_address_file(path, addr)
            .with_context(|| format!("cannot write the listen address to {}", path.display()))?;
    }
    let app = server::router(AppState {
        shared: Arc::clone(shared),
        sources: Arc::clone(sources),
        token: opts.api_token.clone().map(Arc::from),
        allowed_hosts: server::guard::AllowedHosts::new(&opts.allowed_hosts),
    });
    Ok(tokio::spawn(server::listen::serve(listener, app, stop)))
}

/// One evaluation that finishes even if a stop is asked, but not for ever: its commit is
/// atomic, so dropping it after [`SHUTDOWN_GRACE`] loses nothing committed. `None`: dropped.
async fn tick_with_grace(
    engine: &mut Engine,
    at: i64,
    mut stop: watch::Receiver<bool>,
) -> Option<Result<(), crate::store::StoreError>> {
    tokio::select! {
        biased;
        r = engine.tick(at) => Some(r),
        _ = async {
            let _ = stop.wait_for(|s| *s).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => None,
    }
}

/// What a reload touches besides the engine.
struct Reloader<'a> {
    opts: &'a RunOptions,
    shared: &'a Arc<Shared>,
    sources: &'a Arc<std::sync::RwLock<Sources>>,
    receivers: &'a watch::Sender<Arc<Vec<crate::config::Receiver>>>,
    grafana: &'a watch::Sender<GrafanaJob>,
    backup: &'a watch::Sender<Option<crate::config::BackupSettings>>,
}

/// How a reload ended, for the main loop to know whether to try it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reloaded {
    /// The new config runs.
    Done,
    /// The file was refused; only an edit helps.
    Refused,
    /// The file was good but the store failed to take its SLOs (a full disk): worth another try
    /// once the store heals, without waiting for someone to send SIGHUP again.
    StoreRefused,
}

/// A reload to try again: when, and how many tries so far.
#[derive(Debug, Clone, Copy)]
struct ReloadRetry {
    why: &'static str,
    at: i64,
    attempt: u32,
}

/// Longest wait between two tries of a refused reload: each try queries every new SLO's history.
const RELOAD_RETRY_MAX_SECS: i64 = 600;

impl ReloadRetry {
    /// The first retry, one bucket (at least 10 s) after the refusal.
    fn first(why: &'static str, width: i64) -> ReloadRetry {
        ReloadRetry {
            why,
            at: now() + width.max(10),
            attempt: 1,
        }
    }

    /// The next retry after one more refusal: the wait doubles, up to ten minutes.
    fn next(self, width: i64) -> ReloadRetry {
        let wait = width.max(10).saturating_mul(1 << self.attempt.min(16));
        ReloadRetry {
            why: self.why,
            at: now() + wait.min(RELOAD_RETRY_MAX_SECS),
            attempt: self.attempt + 1,
        }
    }
}

impl Reloader<'_> {
    /// Reads the file again; a bad file or a failed backfill keeps the running config, and the
    /// failure shows in `slowburn_config_reload_success`.
    async fn reload(&self, engine: &mut Engine, why: &'static str) -> Reloaded {
        let health = &self.shared.health;
        let new = match config::load_with(&self.opts.config, self.opts.prometheus.as_deref()) {
            Ok(new) => new,
            Err(errs) => {
                let text: Vec<String> = errs.0.iter().map(ToString::to_string).collect();
                // Logged before the gauge moves: whoever sees the gauge finds the reason logged.
                for e in &errs.0 {
                    error!(error = %e, trigger = why, "config reload rejected; keeping the running config");
                }
                health.reload_outcome(Some(text.join("\n")));
                return Reloaded::Refused;
            }
        };
        let old = engine.config();
        if new.slos.is_empty() && !old.slos.is_empty() {
            // A truncated or emptied file (an editor's half-written save) would resolve every
            // firing alert and stop every budget: not a change anyone makes by reloading.
            error!(
                trigger = why,
                running = old.slos.len(),
                "config reload rejected: the file has no SLOs; keeping the running config (restart the daemon to run with none)"
            );
            health.reload_outcome(Some(
                "the file has no SLOs; the running config is kept (restart the daemon to run with none)".into(),
            ));
            return Reloaded::Refused;
        }
        let grafana = grafana_job(&new);
        let new = owned(new, self.opts.shard);
        if SourceSettings::of(&new) != SourceSettings::of(old) {
            match Sources::from_config(&new) {
                Ok(s) => {
                    engine.set_sources(s.clone());
                    if let Ok(mut cell) = self.sources.write() {
                        *cell = s;
                    }
                }
                Err(e) => warn!(error = %e, "new source settings unusable; keeping the old ones"),
            }
        }
        let at = align(now() - new.engine.delay.as_secs() as i64, new.bucket);
        let n = new.slos.len();
        let receivers = Arc::new(new.receivers.clone());
        let backup = new.backup.clone();
        match engine.reload(new, at).await {
            Ok(()) => {
                let _ = self.receivers.send(receivers);
                let _ = self.grafana.send(grafana);
                self.backup.send_if_modified(|b| {
                    let changed = *b != backup;
                    *b = backup;
                    changed
                });
                health.reload_outcome(None);
                info!(slos = n, trigger = why, "config reloaded");
                Reloaded::Done
            }
            Err(e) => {
                error!(error = %e, "config reload failed in the store; it is tried again");
                health.reload_outcome(Some(format!("the store refused the new config: {e}")));
                Reloaded::StoreRefused
            }
        }
    }
}

/// Sends what the outbox holds: woken by the engine, and every second for retries.
async fn dispatch_loop(
    shared: Arc<Shared>,
    receivers: watch::Receiver<Arc<Vec<crate::config::Receiver>>>,
    mut stop: watch::Receiver<bool>,
) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            error!(error = %e, "cannot build the notification client; notifications stay in the outbox");
            return;
        }
    };
    let mut pacer = crate::notify::Pacer::default();
    loop {
        let list = Arc::clone(&receivers.borrow());
        let pass = crate::notify::dispatch_once(
            &shared.store,
            &list,
            &client,
            &shared.notifications,
            &mut pacer,
            now(),
        )
        .await;
        if let Ok(mut p) = shared.pending.lock() {
            *p = pass.pending;
        }
        let nap = pass
            .paced
            .map_or(Duration::from_secs(1), |p| p.min(Duration::from_secs(1)));
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            _ = shared.outbox_wake.notified() => {}
            _ = tokio::time::sleep(nap) => {}
        }
    }
}

fn spawn_signals(
    stop: watch::Sender<bool>,
    reload: mpsc::Sender<&'static str>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { info!("SIGTERM"); let _ = stop.send(true); }
                _ = int.recv() => { info!("SIGINT"); let _ = stop.send(true); }
                // One pending reload is enough: a full queue must never hold up SIGTERM.
                _ = hup.recv() => { info!("SIGHUP: reloading the config"); let _ = reload.try_send("SIGHUP"); }
            }
        }
    });
    Ok(())
}

/// Watches the config's directory (editors and Kubernetes ConfigMaps replace files by rename or
/// symlink swap, so watching the file itself misses changes) and sends a reload after a quiet
/// 500 ms.
fn watch_file(
    path: &Path,
    tx: mpsc::Sender<&'static str>,
) -> Option<
    notify_debouncer_full::Debouncer<
        notify::RecommendedWatcher,
        notify_debouncer_full::RecommendedCache,
    >,
> {
    use notify::RecursiveMode;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let name = path.file_name()?.to_os_string();
    let mut debouncer = match notify_debouncer_full::new_debouncer(
        Duration::from_millis(500),
        None,
        move |res: notify_debouncer_full::DebounceEventResult| {
            if let Ok(events) = res {
                // Kubernetes ConfigMaps swap a `..data` symlink instead of touching the file.
                let ours = events.iter().any(|e| {
                    e.paths.iter().any(|p| {
                        p.file_name() == Some(name.as_os_str())
                            || p.file_name() == Some(std::ffi::OsStr::new("..data"))
                    }) && !matches!(e.kind, notify::EventKind::Access(_))
                });
                if ours {
                    let _ = tx.try_send("file change");
                }
            }
        },
    ) {
        Ok(d) => d,
        Err(e) => {
            warn!(error = %e, "cannot watch the config file; reload with SIGHUP");
            return None;
        }
    };
    if let Err(e) = debouncer.watch(&dir, RecursiveMode::NonRecursive) {
        warn!(error = %e, dir = %dir.display(), "cannot watch the config directory; reload with SIGHUP");
        return None;
    }
    Some(debouncer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_reload_is_tried_again_one_bucket_later_then_doubling_up_to_ten_minutes() {
        let waits = |width: i64| {
            let mut r = ReloadRetry::first("SIGHUP", width);
            let mut out = vec![r.at - now()];
            for _ in 0..8 {
                r = r.next(width);
                out.push(r.at - now());
            }
            out
        };
        // Clock ticks between the calls may add a second.
        let near = |got: Vec<i64>, want: &[i64]| {
            assert!(
                got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 1),
                "{got:?} vs {want:?}"
            );
        };
        near(waits(60), &[60, 120, 240, 480, 600, 600, 600, 600, 600]);
        // Buckets under 10 s wait at least 10 s: each try queries the new SLOs' history.
        near(waits(1), &[10, 20, 40, 80, 160, 320, 600, 600, 600]);
    }
}
