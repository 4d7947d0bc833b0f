//! Alerting core (pure): burn-rate [`policy`] rules, the per-(SLO, severity) [`state`] machine and
//! [`silence`] matching. [`crate::backtest`] replays history through them; [`crate::notify`]
//! delivers what the engine decides to send.

pub mod policy;
pub mod silence;
pub mod state;
