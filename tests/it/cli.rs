//! The command line as people and scripts meet it (issue 12, item 5): `--version` names the git
//! revision, every `--help` has examples and the top one the exit codes, completions complete in
//! a real bash, and usage errors exit 2 as the exit-code table says.

use crate::common::{
    fast_config, require_prometheus, short_live_history, slowburn, start_prometheus, write_config,
};
use std::process::Command;

#[test]
fn version_names_the_git_revision() {
    let expected = std::env::var("SLOWBURN_GIT_REVISION")
        .ok()
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(12).collect::<String>())
        .unwrap_or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .expect("git");
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        });
    let (code, out, _) = slowburn(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("slowburn {} ({expected})", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_has_examples_everywhere_and_the_exit_codes_on_top() {
    let (code, top, _) = slowburn(&["--help"]);
    assert_eq!(code, 0);
    assert!(top.contains("Exit codes (every command):"), "{top}");
    assert!(top.contains(slowburn::cli::EXIT_CODES), "{top}");
    for cmd in [
        vec!["run"],
        vec!["validate"],
        vec!["report"],
        vec!["backtest"],
        vec!["gate"],
        vec!["notify-test"],
        vec!["healthcheck"],
        vec!["completions"],
        vec!["store", "backup"],
        vec!["store", "verify"],
        vec!["dashboards", "generate"],
        vec!["dashboards", "provision"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let (code, out, err) = slowburn(&args);
        assert_eq!(code, 0, "{cmd:?}: {err}");
        let example = format!("slowburn {}", cmd.join(" "));
        assert!(
            out.contains("Examples:") && out.contains(&example),
            "{cmd:?} --help has no example of `{example}`:\n{out}"
        );
    }
}

#[test]
fn bash_completes_subcommands_and_their_subcommands() {
    let script = format!(
        r#"source <("{bin}" completions bash) || exit 3
complete -p slowburn >/dev/null || exit 4
COMP_WORDS=(slowburn st); COMP_CWORD=1; COMP_LINE="slowburn st"; COMP_POINT=${{#COMP_LINE}}
_slowburn slowburn st slowburn; echo "1: ${{COMPREPLY[*]}}"
COMP_WORDS=(slowburn store ""); COMP_CWORD=2; COMP_LINE="slowburn store "; COMP_POINT=${{#COMP_LINE}}
_slowburn slowburn "" store; echo "2: ${{COMPREPLY[*]}}"
COMP_WORDS=(slowburn report --format ""); COMP_CWORD=3; COMP_LINE="slowburn report --format "; COMP_POINT=${{#COMP_LINE}}
_slowburn slowburn "" --format; echo "3: ${{COMPREPLY[*]}}""#,
        bin = env!("CARGO_BIN_EXE_slowburn")
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("bash");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |n: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{n}: ")))
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(line("1"), ["store"], "{text}");
    for sub in ["backup", "verify"] {
        assert!(line("2").contains(&sub), "{text}");
    }
    assert_eq!(line("3"), ["table", "json", "csv", "md", "html"], "{text}");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let (code, out, _) = slowburn(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(
            out.contains("backup") && out.contains("healthcheck"),
            "{shell}"
        );
    }
}

#[test]
fn usage_errors_exit_2_and_a_no_exits_1() {
    assert_eq!(slowburn(&["report", "--no-such-flag"]).0, 2);
    assert_eq!(slowburn(&["gate"]).0, 2, "--slo is required");
    assert_eq!(slowburn(&["completions", "tcsh"]).0, 2);
    let (code, _, err) = slowburn(&["validate", "--config", "/nonexistent/slo.yaml"]);
    assert_eq!(code, 1, "{err}");
}

/// `report` and `backtest` draw a progress bar on a terminal (a pseudo-terminal from util-linux's
/// `script`) and nothing on a pipe, where their output is read by scripts.
#[test]
fn report_and_backtest_show_progress_on_a_terminal_and_nothing_on_a_pipe() {
    if !require_prometheus() {
        return;
    }
    let prom = start_prometheus(&short_live_history());
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &fast_config(&prom.url));
    let bin = env!("CARGO_BIN_EXE_slowburn");
    for (args, unit) in [
        (vec!["report", "--format", "json"], "buckets ["),
        (vec!["backtest", "--format", "json"], "SLOs ["),
    ] {
        let line = format!("{bin} {} -c {}", args.join(" "), cfg.display());
        let tty = Command::new("script")
            .args(["-qefc", &line, "/dev/null"])
            .output()
            .expect("util-linux script");
        let shown = String::from_utf8_lossy(&tty.stdout);
        assert!(tty.status.success(), "{line}: {shown}");
        assert!(
            shown.contains(unit) && shown.contains('%'),
            "{line} on a terminal: {shown}"
        );
        let piped = Command::new(bin)
            .args(&args)
            .arg("-c")
            .arg(&cfg)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&piped.stderr);
        assert!(
            piped.status.success() && !err.contains(unit),
            "{line} on a pipe: {err}"
        );
        assert!(
            serde_json::from_slice::<serde_json::Value>(&piped.stdout).is_ok(),
            "stdout stays JSON"
        );
    }
}
