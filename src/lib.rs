//! slowburn: an SLO engine that computes error budgets itself, from per-bucket good/total event
//! counts pulled from Prometheus and kept in an embedded store.
//!
//! The layout follows responsibilities: [`config`] (slo.yaml), [`source`] (queries → counts),
//! [`store`] (redb), [`budget`] (pure math), [`report`] and [`cli`] (the commands), [`synth`]
//! (synthetic history with exact ground truth, for tests, demos and benchmarks). Alerting: the pure
//! [`alert`] core and [`maintenance`] windows decide, [`engine`] evaluates every bucket, and
//! [`notify`] delivers from the outbox.
#![deny(missing_docs)]

pub mod alert;
pub mod backtest;
pub mod budget;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod duration;
pub mod engine;
pub mod gate;
pub mod maintenance;
pub mod notify;
pub mod report;
pub mod server;
pub mod source;
pub mod store;
pub mod synth;
