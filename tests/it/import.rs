//! `slowburn import`: every fixture of `tests/data/import/` (modelled on the examples Sloth, Pyrra
//! and OpenSLO publish) imports into the SLOs its `.expected.yaml` holds, and the written file
//! passes `slowburn validate`; a fixture with `.expected.err` is refused (exit 1, nothing on
//! stdout) with `FILE:LINE:COLUMN:` findings naming each refused SLO.

use crate::common::*;
use std::path::{Path, PathBuf};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/import");

/// Every fixture: a file or directory beside an `.expected.yaml` or `.expected.err`.
fn fixtures() -> Vec<(String, PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for format in ["sloth", "pyrra", "openslo"] {
        let dir = Path::new(DIR).join(format);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            panic!("no fixtures in {}", dir.display())
        };
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for p in names {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            for suffix in [".expected.yaml", ".expected.err"] {
                if let Some(stem) = name.strip_suffix(suffix) {
                    let input = ["", ".yml", ".yaml"]
                        .iter()
                        .map(|ext| dir.join(format!("{stem}{ext}")))
                        .find(|c| c.exists())
                        .unwrap_or_else(|| panic!("no input for {name}"));
                    out.push((format.to_string(), input, p.clone()));
                }
            }
        }
    }
    out
}

/// The extra flags a fixture asks for (`X.args`).
fn args_of(input: &Path) -> Vec<String> {
    let stem = input.with_extension("");
    std::fs::read_to_string(stem.with_extension("args"))
        .map(|t| t.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// A query in one spelling: parsed and printed back (`$window` kept), so matcher order and
/// spaces do not count.
fn norm_query(q: &str) -> String {
    let probe = q.replace("$window", "3d4h5m6s7ms");
    match promql_parser::parser::parse(&probe) {
        Ok(e) => e.to_string().replace("3d4h5m6s7ms", "$window"),
        Err(_) => q.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// The SLOs of a slo.yaml text as comparable JSON: queries normalised, numbers as numbers.
fn slos_of(yaml: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let mut slos = v["slos"].as_array().cloned().unwrap_or_default();
    for s in &mut slos {
        for kind in ["ratio", "latency", "timeslice"] {
            if let Some(sli) = s["sli"][kind].as_object_mut() {
                for key in ["good", "errors", "total", "histogram", "query"] {
                    if let Some(q) = sli.get(key).and_then(|q| q.as_str()).map(norm_query) {
                        sli.insert(key.into(), q.into());
                    }
                }
            }
        }
        if let Some(o) = s["objective"].as_f64() {
            s["objective"] = o.into();
        }
        // Labels as strings on both sides (`tier: "1"` and `tier: 1` are one label value).
        if let Some(l) = s["labels"].as_object_mut() {
            for v in l.values_mut() {
                if !v.is_string() {
                    *v = v.to_string().into();
                }
            }
        }
        if let Some(rules) = s["alerting"]["rules"].as_array_mut() {
            for r in rules {
                if let Some(f) = r["factor"].as_f64() {
                    r["factor"] = ((f * 1e4).round() / 1e4).into();
                }
            }
        }
    }
    slos
}

#[test]
fn every_fixture_imports_as_expected_and_validates() {
    let all = fixtures();
    assert!(all.len() >= 18, "fixtures: {}", all.len());
    let mut failures = Vec::new();
    for (format, input, expected) in all {
        let mut args = vec![
            "import",
            "--from",
            &format,
            input.to_str().unwrap_or_default(),
        ];
        let extra = args_of(&input);
        args.extend(extra.iter().map(String::as_str));
        let (code, out, err) = slowburn(&args);
        let label = input.display().to_string();
        if expected.extension().is_some_and(|e| e == "err") {
            let want = std::fs::read_to_string(&expected).unwrap_or_default();
            if code != 1 || !out.is_empty() {
                failures.push(format!(
                    "{label}: want exit 1 and no output, got {code}\n{out}{err}"
                ));
                continue;
            }
            for line in want.lines().filter(|l| !l.trim().is_empty()) {
                // `FILE: SLO service/name refused: ...`: the SLO must be named, with a position.
                let slo = line.split("SLO ").nth(1).and_then(|r| r.split(' ').next());
                let Some(slo) = slo else { continue };
                let named = err.lines().any(|l| {
                    l.starts_with("refused: ")
                        && l.contains(slo)
                        && l.split(':')
                            .nth(2)
                            .is_some_and(|n| n.trim().parse::<u64>().is_ok())
                });
                if !named {
                    failures.push(format!("{label}: no positioned refusal of {slo} in\n{err}"));
                }
            }
            continue;
        }
        if code != 0 {
            failures.push(format!("{label}: exit {code}\n{err}"));
            continue;
        }
        let want = std::fs::read_to_string(&expected).unwrap_or_default();
        let (got, wanted) = (slos_of(&out), slos_of(&want));
        if got != wanted {
            failures.push(format!(
                "{label}: imported\n{}\nexpected\n{}\nstderr:\n{err}",
                serde_json::to_string_pretty(&got).unwrap_or_default(),
                serde_json::to_string_pretty(&wanted).unwrap_or_default()
            ));
            continue;
        }
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cfg = write_config(dir.path(), &out);
        let (code, vout, verr) = slowburn(&["validate", "-c", cfg.to_str().unwrap_or_default()]);
        if code != 0 {
            failures.push(format!(
                "{label}: the written file does not validate\n{vout}{verr}\n{out}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn a_bad_file_is_named_with_its_position_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let f = dir.path().join("bad.yml");
    std::fs::write(
        &f,
        "version: \"prometheus/v1\"\nservice: api\nslos:\n  - name: a\n    objective: 99\n    sli:\n      events:\n        error_query: sum by (route) (rate(e[{{.window}}]))\n        total_query: sum(rate(t[{{.window}}]))\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("slo.yaml");
    let (code, _, err) = slowburn(&[
        "import",
        "--from",
        "sloth",
        f.to_str().unwrap_or_default(),
        "--out",
        out.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(!out.exists(), "nothing may be written");
    let line = err
        .lines()
        .find(|l| l.starts_with("refused: "))
        .unwrap_or_default();
    assert!(line.contains("bad.yml:8:"), "{err}");
    assert!(line.contains("api/a") && line.contains("`route`"), "{err}");
}
