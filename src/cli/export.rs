//! `slowburn export --to openslo` writes the config as OpenSLO v1 documents. What `slowburn
//! import` could not read back as it was is named on stderr as a note; the documents go to
//! stdout or `--out`, so a pipe gets only YAML.

use crate::config::Config;
use crate::export::openslo;
use std::path::Path;

/// Renders the documents and writes them to `out` (unchanged bytes are not rewritten) or stdout.
pub(super) fn run(cfg: &Config, out: Option<&Path>) -> anyhow::Result<()> {
    let r = openslo::render(cfg);
    for n in &r.notes {
        eprintln!("{}: note: {n}", cfg.file);
    }
    match out {
        None => print!("{}", r.yaml),
        Some(path) => {
            let same = super::write_unless_same(path, &r.yaml)?;
            eprintln!(
                "{}: {} ({} SLOs as OpenSLO v1)",
                path.display(),
                if same { "unchanged" } else { "written" },
                r.slos
            );
        }
    }
    Ok(())
}
