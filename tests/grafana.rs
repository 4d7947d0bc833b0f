//! Provisioning by API against a FAKE Grafana (`fakes/grafana.rs`; no Grafana runs here) that
//! follows protocols.md section 5: the folder and the three dashboards are created, a second run
//! writes nothing, a changed config writes only what changed, and 401, 403, 412 (a title taken
//! by someone else's dashboard), a Grafana that is down and one that is slow each give a message
//! that says what to fix. The daemon provisions at start and after a reload, without blocking
//! evaluation, and counts outcomes in `slowburn_grafana_provisions_total`.

mod common;
#[path = "fakes/grafana.rs"]
mod fake;

use common::*;
use fake::{FakeGrafana, Role};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

const TOKEN: &str = "glsa_editor_token";
const VIEWER: &str = "glsa_viewer_token";

fn grafana() -> (Arc<FakeGrafana>, String) {
    let f = FakeGrafana::new(&[(TOKEN, Role::Editor), (VIEWER, Role::Viewer)]);
    let url = format!("http://127.0.0.1:{}", serve(f.router()));
    (f, url)
}

const SLOS: &str = r#"slos:
  - service: api
    name: availability
    objective: 99.9
    labels: {team: web}
    sli:
      ratio:
        errors: http_requests_total{service="api",code=~"5.."}
        total: http_requests_total{service="api"}
"#;

/// Runs `dashboards provision` with this token (none when empty) and extra arguments.
fn provision(
    cfg: &std::path::Path,
    url: &str,
    token: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_slowburn"));
    cmd.args(["dashboards", "provision", "-c"])
        .arg(cfg)
        .args(["--grafana", url])
        .args(extra)
        .env_remove("SLOWBURN_CONFIG")
        .env_remove("GRAFANA_TOKEN");
    if !token.is_empty() {
        cmd.env("GRAFANA_TOKEN", token);
    }
    let out = cmd.output().expect("run slowburn");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn first_run_creates_second_run_writes_nothing_and_a_change_writes_one() {
    let (f, url) = grafana();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), SLOS);
    let (code, out, err) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches(": created").count(), 3, "{out}");
    assert_eq!(
        f.folders
            .lock()
            .expect("lock")
            .get("slowburn")
            .map(String::as_str),
        Some("SLOs")
    );
    for uid in ["slowburn-overview", "slowburn-slo", "slowburn-internals"] {
        assert_eq!(f.version(uid), Some(1), "{uid}");
        let d = f.dashboards.lock().expect("lock")[uid].clone();
        assert_eq!(d.folder_uid, "slowburn");
        assert!(d.messages[0].starts_with("slowburn "), "{:?}", d.messages);
    }
    let saves = f.saves.load(Ordering::Relaxed);
    let (code, out, _) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 0);
    assert_eq!(out.matches(": unchanged").count(), 3, "{out}");
    assert_eq!(f.saves.load(Ordering::Relaxed), saves, "no save at all");
    // A new label key adds a filter to the overview only.
    std::fs::write(
        &cfg,
        SLOS.replace("{team: web}", "{team: web, tier: \"1\"}"),
    )
    .expect("write");
    let (code, out, _) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 0);
    assert!(out.contains("slowburn-overview: updated"), "{out}");
    assert_eq!(out.matches(": unchanged").count(), 2, "{out}");
    assert_eq!(f.version("slowburn-overview"), Some(2));
    assert_eq!(f.version("slowburn-slo"), Some(1));
    // Someone edits the dashboard in the UI: the next run puts slowburn's version back.
    if let Some(d) = f.dashboards.lock().expect("lock").get_mut("slowburn-slo") {
        d.dashboard["title"] = json!("edited by hand");
    }
    let (code, out, err) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("slowburn-slo: updated"), "{out}");
    assert_eq!(
        f.dashboards.lock().expect("lock")["slowburn-slo"].dashboard["title"],
        "SLO detail"
    );
}

#[test]
fn credentials_and_permissions_are_explained() {
    let (f, url) = grafana();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), SLOS);
    let (code, _, err) = provision(&cfg, &url, "", &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("401") && err.contains("GRAFANA_TOKEN"),
        "{err}"
    );
    let (code, _, err) = provision(&cfg, &url, "glsa_wrong", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid API key"), "{err}");
    let (code, _, err) = provision(&cfg, &url, VIEWER, &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("403") && err.contains("Editor") && err.contains("folders:create"),
        "{err}"
    );
    assert!(!err.contains(VIEWER), "the token is never printed: {err}");
    // A token from a file, and an org the token is not in.
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("write");
    let tf = token_file.to_str().expect("utf-8");
    let (code, _, err) = provision(&cfg, &url, "", &["--token-file", tf, "--org-id", "2"]);
    assert_eq!(code, 1);
    assert!(err.contains("not a member"), "{err}");
    let (code, out, err) = provision(&cfg, &url, "", &["--token-file", tf]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches(": created").count(), 3, "{out}");
    assert_eq!(f.folders.lock().expect("lock").len(), 1);
}

#[test]
fn a_title_taken_by_another_dashboard_is_refused_not_overwritten() {
    let (f, url) = grafana();
    f.folders
        .lock()
        .expect("lock")
        .insert("slowburn".into(), "SLOs".into());
    f.dashboards.lock().expect("lock").insert(
        "theirs".into(),
        fake::Stored {
            dashboard: json!({"id": 99, "uid": "theirs", "title": "SLO detail", "version": 4}),
            folder_uid: "slowburn".into(),
            messages: Vec::new(),
        },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), SLOS);
    let (code, _, err) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("412 name-exists") && err.contains("titled `SLO detail`"),
        "{err}"
    );
    let boards = f.dashboards.lock().expect("lock");
    assert_eq!(boards["theirs"].dashboard["version"], 4, "theirs untouched");
    assert!(!boards.contains_key("slowburn-slo"));
}

#[test]
fn a_copy_of_the_dashboard_in_another_folder_is_not_taken_over() {
    let (f, url) = grafana();
    f.dashboards.lock().expect("lock").insert(
        "slowburn-slo".into(),
        fake::Stored {
            dashboard: json!({"id": 7, "uid": "slowburn-slo", "title": "My SLO view", "version": 3}),
            folder_uid: String::new(),
            messages: Vec::new(),
        },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), SLOS);
    let (code, _, err) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("already exists in folder `General`"), "{err}");
    let boards = f.dashboards.lock().expect("lock");
    assert_eq!(
        boards["slowburn-slo"].dashboard["title"], "My SLO view",
        "untouched"
    );
}

#[test]
fn an_edit_racing_the_save_is_a_version_mismatch_not_a_lost_update() {
    let (f, url) = grafana();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), SLOS);
    let (code, _, err) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        &cfg,
        SLOS.replace("{team: web}", "{team: web, tier: \"1\"}"),
    )
    .expect("write");
    f.concurrent_edit.store(true, Ordering::Relaxed);
    let (code, _, err) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("412 version-mismatch") && err.contains("run again"),
        "{err}"
    );
    // The racing edit is kept; the next run (no race) writes slowburn's version over it.
    assert_eq!(f.version("slowburn-overview"), Some(2));
    f.concurrent_edit.store(false, Ordering::Relaxed);
    let (code, out, err) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("slowburn-overview: updated"), "{out}");
    assert_eq!(f.version("slowburn-overview"), Some(3));
}

#[test]
fn a_grafana_that_is_down_or_slow_is_named() {
    let (f, url) = grafana();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &format!("grafana: {{url: \"{url}\", timeout: 1s}}\n{SLOS}"),
    );
    f.down.store(true, Ordering::Relaxed);
    let (code, _, err) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("is not available") && err.contains("503") && err.contains("failing"),
        "{err}"
    );
    f.down.store(false, Ordering::Relaxed);
    f.delay_ms.store(3000, Ordering::Relaxed);
    let (code, _, err) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("no answer within 1s"), "{err}");
    let port = free_port();
    let (code, _, err) = provision(&cfg, &format!("http://127.0.0.1:{port}"), TOKEN, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("connection refused"), "{err}");
}

/// The daemon provisions at start and after a reload, off the evaluation path, and counts it.
#[test]
fn the_daemon_provisions_at_start_and_after_reload() {
    if !require_prometheus() {
        return;
    }
    let (f, url) = grafana();
    let prom = start_prometheus(&short_live_history());
    let dir = tempfile::tempdir().expect("tempdir");
    let head = format!(
        "{}grafana: {{url: \"{url}\", token: \"${{SB_TEST_GRAFANA_TOKEN}}\"}}\n",
        fast_head(&prom.url)
    );
    let body = fast_config(&prom.url);
    let slos = &body[body.find("slos:").expect("slos")..];
    let cfg = write_config(dir.path(), &format!("{head}{slos}"));
    let mut d = Daemon::start(
        &cfg,
        &dir.path().join("data"),
        &[("SB_TEST_GRAFANA_TOKEN", TOKEN)],
    );
    d.wait_ready(Duration::from_secs(60));
    let metric = |d: &Daemon, result: &str| -> f64 {
        let m = d.get("/metrics").1;
        m.lines()
            .find_map(|l| {
                l.strip_prefix(&format!(
                    "slowburn_grafana_provisions_total{{result=\"{result}\"}} "
                ))
            })
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    wait_until("the first provisioning", Duration::from_secs(30), || {
        metric(&d, "created") == 3.0
    });
    assert_eq!(f.version("slowburn-overview"), Some(1));
    // A reload with a new label key updates the overview only.
    let text = std::fs::read_to_string(&cfg).expect("read");
    std::fs::write(
        &cfg,
        text.replace(
            "name: availability\n",
            "name: availability\n    labels: {team: web}\n",
        ),
    )
    .expect("write");
    d.signal("HUP");
    wait_until(
        "provisioning after the reload",
        Duration::from_secs(30),
        || metric(&d, "updated") == 1.0,
    );
    assert_eq!(metric(&d, "unchanged"), 2.0);
    assert_eq!(f.version("slowburn-overview"), Some(2));
    // Grafana slow: evaluation goes on.
    f.delay_ms.store(20_000, Ordering::Relaxed);
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .expect("read")
            .replace("team: web", "team: platform"),
    )
    .expect("write");
    d.signal("HUP");
    wait_ticks(&d, 2, 10);
    assert!(!d.log_text().contains(TOKEN), "the token is never logged");
}
