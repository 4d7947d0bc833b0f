//! `slowburn rules` (issue 24): the rule files it writes pass Debian's `promtool check rules`
//! for every target, and `promtool test rules` over 200 minutes of counters (a reset, a series
//! that appears late, a histogram turning slow, an SLO without data) finds every recorded value
//! and alert it expects. The expectations in `tests/data/rules/*.test.yaml` are the daemon's
//! arithmetic on the same samples (see that folder's README); here the files under test are
//! written by the release's own binary, not the committed copies.

use crate::common::*;
use std::path::Path;
use std::process::Command;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rules");

/// `slowburn rules` over the test config with `args`, written to `out`.
fn rules(args: &[&str], out: &Path) {
    let config = format!("{DATA}/slo.yaml");
    let mut all = vec![
        "rules",
        "-c",
        &config,
        "--out",
        out.to_str().expect("UTF-8"),
    ];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = slowburn(&all);
    assert_eq!(code, 0, "slowburn rules {args:?}: {stdout}{stderr}");
}

/// `promtool <args>` in `dir`; panics with its output unless it succeeds.
fn promtool(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

/// A flavour's file as promtool 2.42 reads it: without the keys it does not know
/// (`query_offset`, Thanos's `partial_response_strategy`) and Mimir's `namespace:` line.
fn plain(flavoured: &str) -> String {
    flavoured
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("query_offset:")
                || t.starts_with("partial_response_strategy:")
                || l.starts_with("namespace:"))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn the_rules_pass_promtool_check_and_test_for_every_target() {
    if !require_prometheus() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    for test in ["ratio_burn.test.yaml", "ratio_burn_single.test.yaml"] {
        std::fs::copy(format!("{DATA}/{test}"), d.join(test)).expect("copy test file");
    }
    rules(&[], &d.join("ratio_burn.rules.yaml"));
    rules(
        &["--period-interval", "1m"],
        &d.join("ratio_burn_single.rules.yaml"),
    );
    let checked = promtool(
        d,
        &[
            "check",
            "rules",
            "ratio_burn.rules.yaml",
            "ratio_burn_single.rules.yaml",
        ],
    );
    assert!(checked.contains("SUCCESS: 66 rules found"), "{checked}");
    let tested = promtool(
        d,
        &[
            "test",
            "rules",
            "ratio_burn.test.yaml",
            "ratio_burn_single.test.yaml",
        ],
    );
    assert!(tested.contains("SUCCESS"), "{tested}");

    // Thanos's file is Prometheus's plus its keys: without them it computes the same.
    let thanos = d.join("thanos");
    std::fs::create_dir_all(&thanos).expect("mkdir");
    rules(&["--target", "thanos"], &thanos.join("flavoured.yaml"));
    let text = std::fs::read_to_string(thanos.join("flavoured.yaml")).expect("read");
    assert!(text.contains("partial_response_strategy: abort"), "{text}");
    assert!(text.contains("query_offset: 10s"), "{text}");
    std::fs::write(thanos.join("ratio_burn.rules.yaml"), plain(&text)).expect("write");
    std::fs::copy(
        format!("{DATA}/ratio_burn.test.yaml"),
        thanos.join("ratio_burn.test.yaml"),
    )
    .expect("copy");
    promtool(&thanos, &["test", "rules", "ratio_burn.test.yaml"]);

    // Mimir's namespace file and vmalert's file check as rules too.
    for target in ["mimir", "vmalert"] {
        let file = d.join(format!("{target}.yaml"));
        rules(&["--target", target], &file);
        let text = std::fs::read_to_string(&file).expect("read");
        if target == "mimir" {
            assert!(text.contains("\nnamespace: slowburn\n"), "{text}");
        } else {
            assert!(
                !text.contains("query_offset:"),
                "vmalert 1.79 refuses it: {text}"
            );
        }
        let checked_file = d.join(format!("{target}.plain.yaml"));
        std::fs::write(&checked_file, plain(&text)).expect("write");
        let name = checked_file.to_str().expect("UTF-8");
        let out = promtool(d, &["check", "rules", name]);
        assert!(out.contains("SUCCESS"), "{target}: {out}");
    }
}

/// The SLOs a file's groups are for (`slowburn-<service>-<name>`, suffixes dropped).
fn slos_of(yaml: &str) -> std::collections::BTreeSet<String> {
    yaml.lines()
        .filter_map(|l| l.trim_start().strip_prefix("- name: slowburn-"))
        .map(|n| n.split(':').next().unwrap_or(n).to_string())
        .collect()
}

#[test]
fn three_shards_own_every_slo_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("prometheus: {url: \"http://127.0.0.1:9090\"}\nslos:\n");
    for i in 0..30 {
        text.push_str(&format!(
            "  - service: svc{}\n    name: slo{}\n    objective: 99.9\n    sli:\n      ratio:\n        errors: 'r_total{{code=\"5xx\"}}'\n        total: r_total\n",
            i % 10,
            i / 10
        ));
    }
    let config = dir.path().join("slo.yaml");
    std::fs::write(&config, text).expect("write config");
    let config = config.to_str().expect("UTF-8");
    let render = |shard: Option<String>| {
        let mut args = vec!["rules", "-c", config];
        if let Some(s) = &shard {
            args.extend(["--shard", s.as_str()]);
        }
        let (code, stdout, stderr) = slowburn(&args);
        assert_eq!(code, 0, "shard {shard:?}: {stderr}");
        slos_of(&stdout)
    };
    let all = render(None);
    assert_eq!(all.len(), 30, "{all:?}");
    let mut seen = Vec::new();
    for i in 0..3 {
        let owned = render(Some(format!("{i}/3")));
        assert!(
            !owned.is_empty() && owned.len() < 30,
            "shard {i}/3 owns {owned:?}"
        );
        seen.extend(owned);
    }
    seen.sort();
    let all: Vec<String> = all.into_iter().collect();
    assert_eq!(seen, all, "every SLO in exactly one shard");
}
