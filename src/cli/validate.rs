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

/// Lists the members a grouped SLO has now (as the daemon would find them over its longest
/// period) and checks the first one's queries; false when the look failed or found nothing.
async fn members(cfg: &Config, sources: &Sources, def: &crate::config::Slo) -> bool {
    let longest = def
        .periods
        .iter()
        .max()
        .copied()
        .unwrap_or(crate::duration::Dur::from_secs(30 * 86400));
    let found = match crate::source::groups::find(sources, def, None, longest).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{}: {}: cannot find its members: {e}", cfg.file, def.id);
            return false;
        }
    };
    let max = def.group_by.as_ref().map_or(usize::MAX, |g| g.max);
    let by = def
        .group_by
        .as_ref()
        .map(|g| g.labels.join(", "))
        .unwrap_or_default();
    if found.is_empty() {
        eprintln!(
            "{}: {}: no series of its selectors in the last {longest}, so no member (group_by: [{by}])",
            cfg.file, def.id
        );
        return false;
    }
    eprintln!(
        "{}: {}: {} member(s) by [{by}]{}:",
        cfg.file,
        def.id,
        found.len().min(max),
        if found.len() > max {
            format!(
                "; {} more values than max_groups {max} are left out: raise max_groups or narrow the selectors",
                found.len() - max
            )
        } else {
            String::new()
        }
    );
    for v in found.iter().take(max) {
        eprintln!("  {}", crate::config::group::member_id(def, v));
    }
    let first = crate::config::group::member(def, &found[0]);
    let mut ok = true;
    let findings = match sources.for_slo(&first) {
        Ok(source) => source.check(&first).await,
        Err(e) => vec![Finding::Problem(e.to_string())],
    };
    for f in findings {
        match f {
            Finding::Problem(m) => {
                eprintln!("{}: {}: {m}", cfg.file, first.id);
                ok = false;
            }
            Finding::Warning(m) => eprintln!("{}: {}: warning: {m}", cfg.file, first.id),
        }
    }
    ok
}
