//! Pure renderers of the config into other systems' formats: Grafana dashboards (and, later,
//! Prometheus rule files). Nothing here does I/O; the CLI and the daemon write or send the result.

pub mod grafana;
