//! Provisioning by API against a FAKE Grafana (`fakes/grafana.rs`; no Grafana runs here) that
//! follows protocols.md section 5 and its corrections in section 9 (Grafana 11.3 and later): the
//! folder and the three dashboards are created, a second run writes nothing, a changed config
//! writes only what changed; a dashboard of someone else with the same title is left alone and
//! named (before 11.3, Grafana's 412 `name-exists` is reported instead); a file-provisioned
//! dashboard is saved only when its provider allows UI updates; tokens and basic auth work, and
//! 401, 403, a Grafana that is down and one that is slow each give a message that says what to
//! fix. The daemon provisions at start and after a reload, without blocking evaluation, and
//! counts outcomes in `slowburn_grafana_provisions_total`.

use crate::common;
use crate::common::*;
use crate::fakes::grafana::{FakeGrafana, Role, Stored};
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
    provision_with(cfg, url, token, extra, &[])
}

/// [`provision`] with extra environment variables.
fn provision_with(
    cfg: &std::path::Path,
    url: &str,
    token: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_slowburn"));
    cmd.args(["dashboards", "provision", "-c"])
        .arg(cfg)
        .args(["--grafana", url])
        .args(extra)
        .env_remove("SLOWBURN_CONFIG")
        .env_remove("GRAFANA_TOKEN")
        .envs(env.iter().copied());
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
    // Grafana's own text (section 9 of protocols.md); the fake said "invalid API key" before.
    assert!(err.contains("Invalid API key"), "{err}");
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
    // Grafana's text for a token of another org (the fake said "not a member" before).
    assert!(
        err.contains("API key does not belong to the requested organization")
            && err.contains("grafana.org_id"),
        "{err}"
    );
    let (code, out, err) = provision(&cfg, &url, "", &["--token-file", tf]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches(": created").count(), 3, "{out}");
    assert_eq!(f.folders.lock().expect("lock").len(), 1);
}

/// Someone's "SLO detail" in slowburn's folder.
fn theirs(f: &FakeGrafana) {
    f.folders
        .lock()
        .expect("lock")
        .insert("slowburn".into(), "SLOs".into());
    f.dashboards.lock().expect("lock").insert(
        "theirs".into(),
        Stored::new(
            json!({"id": 99, "uid": "theirs", "title": "SLO detail", "version": 4}),
            "slowburn",
        ),
    );
}

/// Grafana 11.3 and later let titles repeat in a folder (protocols.md section 9), so nothing
/// refuses the second "SLO detail" any more (this test expected the 412 `name-exists` before):
/// slowburn finds the other one by search, leaves it alone and says that there are two.
#[test]
fn a_same_titled_dashboard_is_left_alone_and_named() {
    let (f, url) = grafana();
    theirs(&f);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), SLOS);
    let (code, out, err) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches(": created").count(), 3, "{out}");
    assert!(
        err.contains("already has a dashboard titled `SLO detail` (uid `theirs`)")
            && err.contains("(uid `slowburn-slo`)"),
        "{err}"
    );
    assert_eq!(
        err.matches("already has a dashboard titled").count(),
        1,
        "{err}"
    );
    {
        let boards = f.dashboards.lock().expect("lock");
        assert_eq!(boards["theirs"].dashboard["version"], 4, "theirs untouched");
        assert_eq!(boards["slowburn-slo"].dashboard["title"], "SLO detail");
        assert_eq!(boards["slowburn-slo"].folder_uid, "slowburn");
    }
    // Searched before each creation only: the next run finds its own by uid and says nothing.
    assert_eq!(f.searches.load(Ordering::Relaxed), 3);
    let (code, out, err) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches(": unchanged").count(), 3, "{out}");
    assert!(!err.contains("theirs"), "{err}");
    assert_eq!(f.searches.load(Ordering::Relaxed), 3);
}

/// Grafana before 11.3 kept titles unique in a folder: its 412 `name-exists` is reported with
/// the title to rename, and the other dashboard is not overwritten (the fallback slowburn keeps).
#[test]
fn before_grafana_11_3_a_taken_title_is_refused_not_overwritten() {
    let (f, url) = grafana();
    f.unique_titles.store(true, Ordering::Relaxed);
    theirs(&f);
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

/// A dashboard Grafana loads from a provisioning file: `meta.provisioned` is true only when its
/// provider has `allowUiUpdates: false`, and then slowburn says why it does not write; with
/// `true`, Grafana takes the save and slowburn updates it like its own.
#[test]
fn a_file_provisioned_dashboard_is_saved_only_when_its_provider_allows_it() {
    let (f, url) = grafana();
    f.folders
        .lock()
        .expect("lock")
        .insert("slowburn".into(), "SLOs".into());
    let mut file = Stored::new(
        json!({"id": 5, "uid": "slowburn-slo", "title": "SLO detail (file)", "version": 1}),
        "slowburn",
    );
    file.provisioned = Some(false);
    f.dashboards
        .lock()
        .expect("lock")
        .insert("slowburn-slo".into(), file);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), SLOS);
    let (code, _, err) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("provisioning files") && err.contains("allowUiUpdates: true"),
        "{err}"
    );
    assert_eq!(f.version("slowburn-slo"), Some(1));
    if let Some(d) = f.dashboards.lock().expect("lock").get_mut("slowburn-slo") {
        d.provisioned = Some(true);
    }
    let (code, out, err) = provision(&cfg, &url, TOKEN, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("slowburn-slo: updated"), "{out}");
    assert_eq!(
        f.dashboards.lock().expect("lock")["slowburn-slo"].dashboard["title"],
        "SLO detail"
    );
}

/// Basic auth (`grafana.username`/`password`, the password from the environment) instead of a
/// token; a wrong password is Grafana's 401 with what to check, and is never printed.
#[test]
fn basic_auth_provisions_and_a_wrong_password_is_named() {
    let (f, url) = grafana();
    f.users
        .lock()
        .expect("lock")
        .insert("slowburn".into(), ("s3cret-pass".into(), Role::Editor));
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &format!(
            "grafana: {{url: \"{url}\", username: slowburn, password: \"${{SB_TEST_GRAFANA_PASSWORD}}\"}}\n{SLOS}"
        ),
    );
    let env = |p: &'static str| [("SB_TEST_GRAFANA_PASSWORD", p)];
    let (code, _, err) = provision_with(&cfg, &url, "", &[], &env("wrong-pass"));
    assert_eq!(code, 1);
    assert!(
        err.contains("401: Invalid username or password") && err.contains("grafana.password"),
        "{err}"
    );
    assert!(
        !err.contains("wrong-pass"),
        "the password is never printed: {err}"
    );
    let (code, out, err) = provision_with(&cfg, &url, "", &[], &env("s3cret-pass"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches(": created").count(), 3, "{out}");
    assert!(!err.contains("s3cret-pass"), "{err}");
}

/// What the fake refuses and takes, as Grafana 11.3 and later do (protocols.md section 9):
/// folder uids `general` and `sharedwithme`, a dashboard uid over 40 characters; a second
/// folder and a second dashboard with a title already used; a Basic credential.
#[test]
fn the_fake_refuses_and_takes_what_grafana_does() {
    let (f, url) = grafana();
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("Authorization", bearer.as_str())];
    let post = |path: &str, body: serde_json::Value| {
        common::http::request("POST", &format!("{url}{path}"), &auth, &body.to_string())
            .expect("the fake answers")
    };
    for uid in ["general", "sharedwithme"] {
        let (status, body) = post("/api/folders", json!({"uid": uid, "title": "Mine"}));
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("invalid uid for folder provided"), "{body}");
    }
    for uid in ["a", "b"] {
        let (status, body) = post("/api/folders", json!({"uid": uid, "title": "Same"}));
        assert_eq!(status, 200, "folder titles repeat: {body}");
    }
    let (status, body) = post("/api/folders", json!({"uid": "a", "title": "Other"}));
    assert_eq!(status, 409, "{body}");
    let long = "x".repeat(41);
    let (status, body) = post(
        "/api/dashboards/db",
        json!({"dashboard": {"uid": long, "title": "T"}, "folderUid": "a"}),
    );
    assert_eq!(status, 400);
    assert!(body.contains("uid too long, max 40 characters"), "{body}");
    for uid in ["one", "two"] {
        let (status, body) = post(
            "/api/dashboards/db",
            json!({"dashboard": {"uid": uid, "title": "Twice"}, "folderUid": "a"}),
        );
        assert_eq!(status, 200, "dashboard titles repeat: {body}");
    }
    let search = format!("{url}/api/search?query=twice&type=dash-db&folderUIDs=a");
    let (status, body) = common::http::get(&search).expect("the fake answers");
    assert_eq!(status, 401, "search needs credentials too: {body}");
    // `slowburn:s3cret` in base64.
    let basic = [("Authorization", "Basic c2xvd2J1cm46czNjcmV0")];
    let (status, body) =
        common::http::request("GET", &search, &basic, "").expect("the fake answers");
    assert_eq!(status, 401, "an unknown user: {body}");
    f.users
        .lock()
        .expect("lock")
        .insert("slowburn".into(), ("s3cret".into(), Role::Viewer));
    let (status, body) =
        common::http::request("GET", &search, &basic, "").expect("the fake answers");
    assert_eq!(status, 200, "{body}");
    let hits: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let uids: Vec<&str> = hits
        .as_array()
        .expect("hits")
        .iter()
        .filter_map(|h| h["uid"].as_str())
        .collect();
    assert_eq!(uids, ["one", "two"]);
}

#[test]
fn a_copy_of_the_dashboard_in_another_folder_is_not_taken_over() {
    let (f, url) = grafana();
    f.dashboards.lock().expect("lock").insert(
        "slowburn-slo".into(),
        Stored::new(
            json!({"id": 7, "uid": "slowburn-slo", "title": "My SLO view", "version": 3}),
            "",
        ),
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
    // The file watch may reload once more after the HUP: that round finds nothing to write.
    assert!(metric(&d, "unchanged") >= 2.0);
    assert_eq!(
        metric(&d, "updated"),
        1.0,
        "only the overview changed, once"
    );
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
