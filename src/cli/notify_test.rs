//! `slowburn notify-test`: a clearly marked trigger, then its resolve, to one receiver, so a
//! team can check a routing key or webhook before an incident does.

use crate::alert::details::AlertDetails;
use crate::alert::policy::Severity;
use crate::config::Config;
use crate::notify::{Action, Delivery, Notification};
use anyhow::anyhow;
use std::path::Path;

/// Sends both and fails on the first one the receiver does not accept.
pub(super) async fn run(cfg: &Config, file: &Path, receiver: &str) -> anyhow::Result<()> {
    let Some(r) = cfg.receivers.iter().find(|r| r.name == receiver) else {
        let names: Vec<&str> = cfg.receivers.iter().map(|r| r.name.as_str()).collect();
        return Err(anyhow!(
            "no receiver `{receiver}` in {} (defined: {})",
            file.display(),
            names.join(", ")
        ));
    };
    let now = chrono::Utc::now().timestamp();
    let mut n = Notification {
        receiver: receiver.to_string(),
        slo: "slowburn/notify-test".into(),
        severity: Severity::Ticket,
        action: Action::Trigger,
        created_at: now,
        attempts: 0,
        next_attempt: 0,
        details: AlertDetails {
            test: true,
            slo: "slowburn/notify-test".into(),
            service: "slowburn".into(),
            rule: Some("test".into()),
            message: Some(
                "This is a test notification from `slowburn notify-test`. No SLO is burning."
                    .into(),
            ),
            ..Default::default()
        },
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    for action in [Action::Trigger, Action::Resolve] {
        n.action = action;
        match crate::notify::send(&client, r, &n, now).await {
            Delivery::Delivered => println!("{receiver}: test {} accepted", action.as_str()),
            other => {
                return Err(anyhow!(
                    "{receiver}: test {} not accepted: {other:?}",
                    action.as_str()
                ));
            }
        }
    }
    Ok(())
}
