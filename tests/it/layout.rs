//! The layout `src/lib.rs` promises: no import circle, between top-level modules or between the
//! children of one module (`server::metrics` and `server::compat` once imported each other). Read
//! from the source text: every `crate::a::b` and `super::b` outside comments and test modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let p = entry.expect("a directory entry").path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file: `src/server/metrics.rs` is `["server", "metrics"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file
        .strip_prefix(src)
        .expect("under src/")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

/// The paths a file names, without its comments and its `#[cfg(test)]` module. A group
/// (`super::{metrics, compat::Series}`) names each of its members.
fn references(text: &str) -> Vec<Vec<String>> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let code: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    for (prefix, keep) in [("crate::", "crate"), ("super::", "super")] {
        for (i, _) in code.match_indices(prefix) {
            // `super::super::x` is read once, from its first `super::`.
            if keep == "super" && code[..i].ends_with("super::") {
                continue;
            }
            let mut head = vec![keep.to_string()];
            let rest = &code[i + prefix.len()..];
            let (path, tail) = segments(rest);
            head.extend(path);
            match tail.strip_prefix('{') {
                Some(group) => {
                    for member in members(group) {
                        let mut p = head.clone();
                        p.extend(segments(member).0);
                        out.push(p);
                    }
                }
                None => out.push(head),
            }
        }
    }
    out
}

/// The leading `a::b::` names of a path and what follows them.
fn segments(text: &str) -> (Vec<String>, &str) {
    let mut names = Vec::new();
    let mut rest = text.trim_start();
    loop {
        let len = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()))
            .unwrap_or(rest.len());
        if len == 0 {
            return (names, rest);
        }
        names.push(rest[..len].to_string());
        match rest[len..].strip_prefix("::") {
            Some(after) => rest = after,
            None => return (names, &rest[len..]),
        }
    }
}

/// The top-level members of a `{…}` group whose opening brace is already read.
fn members(group: &str) -> Vec<&str> {
    let mut depth = 0usize;
    let mut start = 0;
    let mut out = Vec::new();
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                out.push(&group[start..i]);
                return out;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out
}

/// Strongly connected components of more than one node: the circles.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Reachability by depth-first search; small graphs (tens of nodes).
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(n) = stack.pop() {
            for m in graph.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|k| (k, reach(k))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for (a, ra) in &reachable {
        let mut comp: Vec<String> = ra
            .iter()
            .filter(|b| *b != *a && reachable.get(b).is_some_and(|rb| rb.contains(*a)))
            .cloned()
            .collect();
        if comp.is_empty() {
            continue;
        }
        comp.push((*a).clone());
        comp.sort();
        if !out.contains(&comp) {
            out.push(comp);
        }
    }
    out
}

#[test]
fn no_module_imports_another_that_imports_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    assert!(all.len() > 50, "read {} files", all.len());
    // Top level: `budget`, `server`, …; and per module, its children: `server::metrics`, ….
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut children: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &all {
        let module = module_of(&src, file);
        let Some(first) = module.first().cloned() else {
            continue;
        };
        if first == "lib" || first == "main" {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for r in references(&text) {
            // Resolve `super::` against the file's own module path to an absolute one.
            let absolute: Vec<String> = if r[0] == "super" {
                let mut base = module.clone();
                let mut rest = &r[1..];
                base.pop();
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                base
            } else {
                r[1..].to_vec()
            };
            let Some(target) = absolute.first() else {
                continue;
            };
            if *target != first {
                top.entry(first.clone()).or_default().insert(target.clone());
            } else if module.len() >= 2 && absolute.len() >= 2 && absolute[1] != module[1] {
                children
                    .entry(first.clone())
                    .or_default()
                    .entry(module[1].clone())
                    .or_default()
                    .insert(absolute[1].clone());
            }
        }
    }
    assert!(
        top.get("server").is_some_and(|s| s.contains("engine")),
        "the scan sees server's imports: {top:?}"
    );
    let mut found = circles(&top);
    for (parent, graph) in &children {
        for c in circles(graph) {
            found.push(c.iter().map(|m| format!("{parent}::{m}")).collect());
        }
    }
    assert!(found.is_empty(), "import circles: {found:?}");
}
