//! FAKE services for the services that cannot run here (Grafana, Loki, PagerDuty, Slack), each as
//! strict as the protocol it stands for (protocols.md); every one says what it checks.

pub mod grafana;
pub mod loki;
pub mod pagerduty;
pub mod slack;
