//! slowburn's integration tests: one test binary (as ripgrep's `tests/tests.rs`), so cargo links
//! the library and its dependencies into a test executable once instead of once per area, and
//! one test harness schedules every test across the cores instead of binary after binary.
//!
//! One module per area; `common` (the real Prometheus, the daemon under test, a tiny HTTP client),
//! `fakes` (services that cannot run here) and `webdriver` (headless Chromium) are shared by all.
//! Run one area with `cargo test --test it <area>::`, one test with
//! `cargo test --test it <area>::<name>`. A new area is a file `tests/it/<area>.rs` plus one line
//! `mod <area>;` below; it reaches the helpers as `use crate::common::*;`.

mod common;
mod fakes;
mod webdriver;

mod alerting;
mod backup;
mod baselines;
mod calendar;
mod cli;
mod compose_loop;
mod connections;
mod corrections;
mod crash;
mod daemon;
mod dashboards;
mod delivery_limits;
mod disk_full;
mod engine;
mod flavors;
mod gate_policy;
mod grafana;
mod groups;
mod ha;
mod heal;
mod import;
mod layout;
mod load;
mod loki;
mod loki_everywhere;
mod loki_retention;
mod merge;
mod notify;
mod outage;
mod process;
mod prometheus_answers;
mod receivers;
mod report_accuracy;
mod rules;
mod rules_live;
mod server;
mod shards;
mod shutdown;
mod silences;
mod store_damage;
mod subset;
mod ui;
mod validate;
