//! Alerting core (pure): burn-rate [`policy`] rules, the per-(SLO, severity) [`state`] machine,
//! [`silence`] matching, and [`evaluate`], the one decision that the daemon and
//! [`crate::backtest`] both call. [`details`] is what a notification says; [`crate::notify`]
//! delivers it.

pub mod details;
pub mod evaluate;
pub mod policy;
pub mod silence;
pub mod state;
