//! `slowburn validate --online`: each SLO's source is asked whether its queries run and find
//! data (the offline checks already ran when the config loaded).

use crate::config::Config;
use crate::source::{Finding, Sources};
use anyhow::anyhow;

/// Prints every finding as `file: slo: message`; problems fail the command, warnings do not.
pub(super) async fn online(cfg: &Config) -> anyhow::Result<()> {
    let sources = Sources::from_config(cfg)?;
    let mut problems = 0;
    for def in cfg.slos.iter().filter(|s| s.is_group()) {
        problems += usize::from(!members(cfg, &sources, def).await);
    }
    for slo in cfg.slos.iter().filter(|s| !s.is_group()) {
        problems += check(cfg, &sources, slo).await;
    }
    if problems > 0 {
        return Err(anyhow!("{problems} online check(s) failed"));
    }
    Ok(())
}

/// Asks the SLO's source whether its queries run and find data; prints every finding as
/// `file: slo: message` and returns how many were problems.
async fn check(cfg: &Config, sources: &Sources, slo: &crate::config::Slo) -> usize {
    let findings = match sources.for_slo(slo) {
        Ok(source) => source.check(slo).await,
        Err(e) => vec![Finding::Problem(e.to_string())],
    };
    let mut problems = 0;
    for f in findings {
        match f {
            Finding::Problem(m) => {
                eprintln!("{}: {}: {m}", cfg.file, slo.id);
                problems += 1;
            }
            Finding::Warning(m) => eprintln!("{}: {}: warning: {m}", cfg.file, slo.id),
        }
    }
    problems
}

/// Lists the members a grouped SLO has now (as the daemon would find them over its longest
/// period) and checks the first one's queries; false when the look failed or found nothing.
async fn members(cfg: &Config, sources: &Sources, def: &crate::config::Slo) -> bool {
    let longest = def.longest_period();
    let found = match crate::source::groups::find(sources, def, None, longest).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{}: {}: cannot find its members: {e}", cfg.file, def.id);
            return false;
        }
    };
    let by = def
        .group_by
        .as_ref()
        .map(|g| g.labels.join(", "))
        .unwrap_or_default();
    let (followed, dropped) = crate::config::group::capped(def, found);
    let Some(first) = followed.first() else {
        eprintln!(
            "{}: {}: no series of its selectors in the last {longest}, so no member (group_by: [{by}])",
            cfg.file, def.id
        );
        return false;
    };
    let max = def.group_by.as_ref().map_or(0, |g| g.max);
    eprintln!(
        "{}: {}: {} member(s) by [{by}]{}:",
        cfg.file,
        def.id,
        followed.len(),
        if dropped > 0 {
            format!(
                "; {dropped} more values than max_groups {max} are left out: raise max_groups or narrow the selectors"
            )
        } else {
            String::new()
        }
    );
    for v in &followed {
        eprintln!("  {}", crate::config::group::member_id(def, v));
    }
    let first = crate::config::group::member(def, first);
    check(cfg, sources, &first).await == 0
}
