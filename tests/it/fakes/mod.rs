//! FAKE services for the services that cannot run here (Grafana, Loki, PagerDuty, Slack, and
//! Mimir's and Thanos's fronts over a real Prometheus), each as
//! strict as the protocol it stands for (protocols.md); every one says what it checks.

pub mod distributed;
pub mod grafana;
pub mod loki;
pub mod pagerduty;
pub mod slack;
