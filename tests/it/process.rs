//! The daemon's process: once ready, its heap is advised onto transparent huge pages
//! (`slowburn::memory`), which the kernel shows as the `hg` flag of the `[heap]` mapping.

use crate::common::*;
use std::time::Duration;

/// The `VmFlags` of each `[heap]` mapping of the process with `pid`.
fn heap_flags(pid: &str) -> Vec<String> {
    let smaps =
        std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("read /proc/PID/smaps");
    let mut heap = false;
    let mut flags = Vec::new();
    for line in smaps.lines() {
        if let Some(f) = line.strip_prefix("VmFlags:") {
            if heap {
                flags.push(f.trim().to_string());
            }
        } else if line
            .split_whitespace()
            .next()
            .is_some_and(|w| w.contains('-'))
        {
            heap = line.ends_with("[heap]");
        }
    }
    flags
}

#[test]
fn once_ready_the_daemon_s_heap_is_advised_onto_huge_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A source nobody listens on: its buckets are missing, and the daemon is ready all the same.
    let cfg = write_config(
        dir.path(),
        "prometheus: {url: \"http://127.0.0.1:9\", retries: 0}\nslos:\n  - {service: svc, name: s, objective: 99, sli: {ratio: {errors: 'x{code=\"500\"}', total: x}}}\n",
    );
    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(60));
    // The advice follows the readiness flag by moments: waited for, not raced.
    let pid = d.pid();
    let advised = |flags: &[String]| {
        flags
            .iter()
            .any(|f| f.split_whitespace().any(|w| w == "hg"))
    };
    wait_until(
        "the heap advised onto huge pages",
        Duration::from_secs(10),
        || advised(&heap_flags(&pid)),
    );
    let flags = heap_flags(&pid);
    assert!(!flags.is_empty(), "no [heap] mapping in the daemon's smaps");
    assert!(
        advised(&flags),
        "no [heap] mapping advised onto huge pages (flag `hg`): {flags:?}"
    );
}
