//! How the `slowburn` process starts: glibc's malloc backs the heap with huge pages (the daemon
//! starts itself once more with `GLIBC_TUNABLES` set, same PID), unless the user set the
//! tunables themselves, whose value it then keeps.

use crate::common::*;
use std::time::Duration;

/// The environment the process with `pid` runs with now (after any `exec`).
fn environ(pid: &str) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).expect("read /proc/PID/environ");
    raw.split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// A daemon on a source nobody listens on: it serves HTTP all the same.
fn daemon(env: &[(&str, &str)]) -> (tempfile::TempDir, Daemon) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        "prometheus: {url: \"http://127.0.0.1:9\", retries: 0}\nslos:\n  - {service: svc, name: s, objective: 99, sli: {ratio: {errors: 'x{code=\"500\"}', total: x}}}\n",
    );
    let d = Daemon::start(&cfg, &dir.path().join("data"), env);
    wait_until("the server", Duration::from_secs(30), || {
        d.get("/healthz").0 == 200
    });
    (dir, d)
}

#[test]
fn the_daemon_runs_on_huge_pages_and_keeps_tunables_a_user_set() {
    let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|mode| !mode.contains("[never]"));
    let (_dir, d) = daemon(&[]);
    let env = environ(&d.pid());
    let tuned = env
        .iter()
        .any(|v| v == "GLIBC_TUNABLES=glibc.malloc.hugetlb=1");
    assert_eq!(
        tuned, thp,
        "huge pages available: {thp}; the daemon's environment: {env:?}"
    );
    // The same PID still serves: the second start replaced the first, it did not fork.
    assert_eq!(d.get("/healthz").0, 200);
    drop(d);

    let (_dir, d) = daemon(&[("GLIBC_TUNABLES", "glibc.malloc.arena_max=3")]);
    let env = environ(&d.pid());
    let tunables: Vec<&String> = env
        .iter()
        .filter(|v| v.starts_with("GLIBC_TUNABLES="))
        .collect();
    assert_eq!(
        tunables,
        ["GLIBC_TUNABLES=glibc.malloc.arena_max=3"],
        "a user's tunables are kept as they are"
    );
}
