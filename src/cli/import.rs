//! `slowburn import` writes a `slo.yaml` from Sloth, Pyrra or OpenSLO files. Refusals and
//! warnings go to stderr as `FILE:LINE:COLUMN: field: why`; the file is written only when every
//! SLO imported (exit 1 otherwise), and it is checked with slowburn's own validation before it
//! is written, so what comes out is a file `slowburn validate` accepts.

use crate::import::{self, Format, Input, Options};
use anyhow::{Context, anyhow};
use std::path::{Path, PathBuf};

/// Reads the files, imports them and writes the result to `out` or stdout.
pub(super) fn run(
    format: Format,
    files: &[PathBuf],
    options: &Options,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let inputs = read(files)?;
    let imported = import::import(format, &inputs, options);
    for w in &imported.warnings {
        eprintln!("warning: {w}");
    }
    for r in &imported.refused {
        eprintln!("refused: {r}");
    }
    let command = invocation(format, files);
    let yaml = import::emit::slo_yaml(&imported, &command);
    check(&yaml)?;
    if !imported.refused.is_empty() {
        let slos = refused_slos(&imported.refused);
        return Err(anyhow!(
            "{slos} SLO(s) or document(s) could not be imported (listed above); nothing was written"
        ));
    }
    if imported.slos.is_empty() {
        return Err(anyhow!("no SLO found in {}", names(files)));
    }
    match out {
        None => print!("{yaml}"),
        Some(path) => std::fs::write(path, &yaml)
            .with_context(|| format!("cannot write {}", path.display()))?,
    }
    eprintln!(
        "imported {} SLO(s), {} warning(s)",
        imported.slos.len(),
        imported.warnings.len()
    );
    Ok(())
}

/// Every file's text; a directory stands for its `.yaml`/`.yml`/`.json` files, sorted.
fn read(files: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for f in files {
        if f.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(f)
                .with_context(|| format!("cannot read {}", f.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
                })
                .collect();
            entries.sort();
            inputs.extend(read(&entries)?);
            continue;
        }
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        inputs.push(Input {
            path: f.display().to_string(),
            text,
        });
    }
    Ok(inputs)
}

/// The written file must be one slowburn accepts: a mistake of the importer is a bug to report,
/// not a file to hand over.
fn check(yaml: &str) -> anyhow::Result<()> {
    match crate::config::parse_str(yaml, "<import>", &|_| None) {
        Ok(_) => Ok(()),
        Err(errs) => {
            for e in &errs.0 {
                eprintln!("{e}");
            }
            Err(anyhow!(
                "the imported file does not validate ({} error(s), above): please report this with the input",
                errs.0.len()
            ))
        }
    }
}

/// How many distinct SLOs (or documents) were refused.
fn refused_slos(refused: &[import::Finding]) -> usize {
    let mut ids: Vec<String> = refused
        .iter()
        .map(|f| f.slo.clone().unwrap_or_else(|| f.at.file.clone()))
        .collect();
    ids.sort();
    ids.dedup();
    ids.len()
}

/// The command as the header of the file names it.
fn invocation(format: Format, files: &[PathBuf]) -> String {
    let from = match format {
        Format::Sloth => "sloth",
        Format::Pyrra => "pyrra",
        Format::OpenSlo => "openslo",
    };
    format!("slowburn import --from {from} {}", names(files))
}

/// The files, space-separated.
fn names(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}
