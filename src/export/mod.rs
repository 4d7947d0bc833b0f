//! Pure renderers of the config into other systems' formats: Grafana dashboards and Prometheus-style
//! rule files for a ruler (`rules`). Nothing here does I/O; the CLI and the daemon write or send the
//! result.

pub mod grafana;
pub mod rules;
