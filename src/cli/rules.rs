//! `slowburn rules` writes the rule file a Prometheus, Thanos, Mimir or vmalert ruler runs to
//! compute what the daemon computes (the same series and alerts). SLOs a ruler cannot compute
//! are named on stderr with the reason and left out; the command fails only when none is left.

use crate::config::Config;
use crate::export::rules::{self, Options};
use std::path::Path;

/// Renders the rules and writes them to `out` (unchanged bytes are not rewritten) or stdout.
/// Warnings and notes go to stderr, so stdout stays a rule file.
pub(super) fn run(cfg: &Config, options: &Options, out: Option<&Path>) -> anyhow::Result<()> {
    let r = rules::render_with(cfg, options)?;
    for x in &r.refused {
        eprintln!("{}: warning: left to the daemon: {x}", cfg.file);
    }
    for n in &r.notes {
        eprintln!("{}: note: {n}", cfg.file);
    }
    match out {
        None => print!("{}", r.yaml),
        Some(path) => {
            let same = super::write_unless_same(path, &r.yaml)?;
            eprintln!(
                "{}: {} ({} SLOs, {} groups, {} rules, target {})",
                path.display(),
                if same { "unchanged" } else { "written" },
                r.slos,
                r.groups,
                r.rules,
                options.target
            );
        }
    }
    Ok(())
}
