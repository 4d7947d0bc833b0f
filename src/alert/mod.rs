//! Alerting core (pure): burn-rate [`policy`] rules and the per-(SLO, severity) [`state`] machine.
//! [`crate::backtest`] replays history through them; notifiers are not part of this build yet.

pub mod policy;
pub mod state;
