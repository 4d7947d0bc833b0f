//! slowburn: an SLO engine that computes error budgets itself, from per-bucket good/total event
//! counts pulled from its sources (Prometheus) and kept in an embedded store.
//!
//! The layout follows responsibilities, and no module imports one that imports it, at the top
//! level or among one module's children (`tests/it/layout.rs` checks it from the source):
//! - the pure core: [`budget`] (window math), [`alert`] (policy rules, the state machine, the one
//!   alert decision, typed details), [`sli`] (what to count in each query language, and the
//!   [`sli::SourceKind`] that names where), [`history`] (points for charts), [`maintenance`]
//!   windows and [`correction`]s (past ranges excluded through the API), [`shard`] (which SLOs one of N daemons or rulers owns), [`time`] and [`duration`];
//! - the model: [`config`] (slo.yaml: parse, validate with positions), [`status`] (the typed
//!   status of one SLO that the API, `report`, the UI and the gate read) and [`secret`];
//! - adapters: [`http`] (the one HTTP layer of sources: permits, retries, `Retry-After`),
//!   [`source`] (one `Source` interface: Prometheus, Loki, mixed, and the store for replays;
//!   settings by kind whose `build()` makes the source), [`store`] (redb, its keys in
//!   `store::keys` alone), [`notify`] (outbox, dispatch, one file per receiver), [`server`]
//!   (HTTP), [`ui`] (view structs and HTML escaped by construction), [`export`] and [`provision`]
//!   (Grafana);
//! - the shell: [`engine`] (the tick), [`daemon`] (`run`), [`backups`], [`report`], [`backtest`],
//!   [`gate`] and [`cli`];
//! - [`names`] (exported metric names) and [`synth`] (synthetic history with exact ground truth,
//!   for tests, demos and benchmarks).
#![deny(missing_docs)]

/// The crate's version, spelled once: `slowburn --version` and the web UI's internals page both
/// read it here, so the UI need not reach into `cli` for it (an import circle).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git revision the binary was built from (`build.rs`; `unknown` without one), printed
/// beside [`VERSION`] so a binary or image found in the wild says which commit it is.
pub const REVISION: &str = env!("SLOWBURN_GIT_REVISION");

pub mod alert;
pub mod backtest;
pub mod backups;
pub mod budget;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod correction;
pub mod daemon;
pub mod duration;
pub mod engine;
pub mod export;
pub mod gate;
pub mod history;
pub mod http;
pub mod import;
pub mod maintenance;
pub mod memory;
pub mod names;
pub mod notify;
pub mod provision;
pub mod report;
pub mod secret;
pub mod server;
pub mod shard;
pub mod sli;
pub mod source;
pub mod status;
pub mod store;
pub mod synth;
pub mod time;
pub mod ui;
