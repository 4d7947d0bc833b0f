//! `slowburn validate --online`: each SLO's source is asked whether its queries run and find
//! data (the offline checks already ran when the config loaded).

use crate::config::Config;
use crate::source::{Finding, Sources};
use anyhow::anyhow;

/// Prints every finding as `file: slo: message`; problems fail the command, warnings do not.
pub(super) async fn online(cfg: &Config) -> anyhow::Result<()> {
    let sources = Sources::from_config(cfg)?;
    let mut problems = 0;
    for slo in &cfg.slos {
        let findings = match sources.for_slo(slo) {
            Ok(source) => source.check(slo).await,
            Err(e) => vec![Finding::Problem(e.to_string())],
        };
        for f in findings {
            match f {
                Finding::Problem(m) => {
                    eprintln!("{}: {}: {m}", cfg.file, slo.id);
                    problems += 1;
                }
                Finding::Warning(m) => eprintln!("{}: {}: warning: {m}", cfg.file, slo.id),
            }
        }
    }
    if problems > 0 {
        return Err(anyhow!("{problems} online check(s) failed"));
    }
    Ok(())
}
