//! Stamps the git revision into `slowburn --version`, so a binary or image found in the wild says
//! which commit it is. `SLOWBURN_GIT_REVISION` overrides it (image builds have no `.git`); without
//! either the revision is `unknown`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SLOWBURN_GIT_REVISION");
    let given = std::env::var("SLOWBURN_GIT_REVISION")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let revision = match given {
        Some(r) => r.trim().chars().take(12).collect(),
        None => {
            // Rebuild when HEAD moves: HEAD itself (a checkout) and the branch it names (a commit).
            println!("cargo:rerun-if-changed=.git/HEAD");
            if let Ok(head) = std::fs::read_to_string(".git/HEAD")
                && let Some(r) = head.trim().strip_prefix("ref: ")
            {
                println!("cargo:rerun-if-changed=.git/{r}");
                println!("cargo:rerun-if-changed=.git/packed-refs");
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
