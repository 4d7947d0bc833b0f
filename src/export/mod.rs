//! Pure renderers of the config into other systems' formats: Grafana dashboards, Prometheus-style
//! rule files for a ruler (`rules`) and OpenSLO v1 documents (`openslo`). Nothing here does I/O;
//! the CLI and the daemon write or send the result.

pub mod grafana;
pub mod openslo;
pub mod rules;
