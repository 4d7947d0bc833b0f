//! Stamps the git revision into `slowburn --version`, so a binary or image found in the wild says
//! which commit it is. `SLOWBURN_GIT_REVISION` overrides it (image builds have no `.git`); without
//! either the revision is `unknown`.

use std::process::Command;

fn main() {
    // Naming any path stops cargo rerunning this on every change in the package (fuzz corpora).
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SLOWBURN_GIT_REVISION");
    let given = std::env::var("SLOWBURN_GIT_REVISION")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let revision = match given {
        Some(r) => r.trim().chars().take(12).collect(),
        None => {
            // Rebuild when HEAD moves: HEAD itself (a checkout), the loose branch refs (a commit)
            // and packed-refs (a `git pack-refs`). Only paths that exist are named: cargo reruns a
            // build script on every build while a named path is missing, and that rebuilt the
            // crate on each `cargo fuzz run` where a clone has no packed-refs.
            for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
                if std::path::Path::new(path).exists() {
                    println!("cargo:rerun-if-changed={path}");
                }
            }
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "unknown".into())
        }
    };
    println!("cargo:rustc-env=SLOWBURN_GIT_REVISION={revision}");
}
