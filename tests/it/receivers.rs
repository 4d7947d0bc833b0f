//! Email and Alertmanager receivers against the real servers, plus silences and maintenance
//! windows, on one live incident:
//! - a real SMTP server (aiosmtpd, writing a Maildir) gets a multipart page and its resolve;
//! - a real Alertmanager (Debian's `prometheus-alertmanager`) gets the alert through
//!   `POST /api/v2/alerts`, keeps it alive through re-posts (its `endsAt` moves forward) and
//!   passes the firing and resolved notifications on to its webhook receiver (an in-test
//!   collector: it only records what the real Alertmanager sends);
//! - a silence made through the API (token required) holds back a second SLO's page until it is
//!   deleted;
//! - an SLO inside a maintenance window never pages and its buckets are recorded as excluded;
//! - an SLO removed from slo.yaml while firing is resolved for the receivers that got its page.

use crate::common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records every JSON body POSTed to `/am` (Alertmanager's webhook notifications).
pub(crate) fn collector() -> (String, Arc<Mutex<Vec<Value>>>) {
    use axum::Router;
    use axum::body::Bytes;
    use axum::http::StatusCode;
    use axum::routing::post;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let st = Arc::clone(&seen);
    let app = Router::new().route(
        "/am",
        post(move |body: Bytes| {
            let st = Arc::clone(&st);
            async move {
                match serde_json::from_slice::<Value>(&body) {
                    Ok(v) => {
                        st.lock().unwrap().push(v);
                        StatusCode::OK
                    }
                    Err(_) => StatusCode::BAD_REQUEST,
                }
            }
        }),
    );
    let port = serve(app);
    (format!("http://127.0.0.1:{port}/am"), seen)
}

/// Every mail in the Maildir, with folded header lines joined.
fn mails(maildir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    rd.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .map(|m| m.replace("\r\n", "\n").replace("\n ", " "))
        .collect()
}

fn subjects(maildir: &Path) -> Vec<String> {
    mails(maildir)
        .iter()
        .filter_map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(String::from))
        })
        .collect()
}

/// Whether something accepts connections on a loopback port.
fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn slo_json(d: &Daemon, id: &str) -> Value {
    serde_json::from_str(&d.get(&format!("/api/v1/slos/{id}")).1).unwrap_or(Value::Null)
}

/// The `endsAt` Alertmanager holds for the page of `slo`, if it has one.
fn am_ends_at(am: &str, slo: &str) -> Option<String> {
    let (_, body) = http::get(&format!("{am}/api/v2/alerts"))?;
    let v: Value = serde_json::from_str(&body).ok()?;
    v.as_array()?
        .iter()
        .find(|a| a["labels"]["slo"] == slo && a["labels"]["severity"] == "page")
        .and_then(|a| a["endsAt"].as_str().map(String::from))
}

#[test]
fn email_alertmanager_silences_and_maintenance_on_a_live_incident() {
    if !require_prometheus()
        || !require(
            "Alertmanager",
            have("prometheus-alertmanager"),
            "apt-get install prometheus-alertmanager",
        )
        || !require(
            "aiosmtpd",
            std::process::Command::new("python3")
                .args(["-c", "import aiosmtpd"])
                .status()
                .is_ok_and(|s| s.success()),
            "python3 -m pip install aiosmtpd",
        )
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();

    // A real SMTP server writing a Maildir, refusing one recipient as a real server refuses an
    // unknown user (550 at RCPT, which aborts a multi-recipient transaction).
    let maildir = dir.path().join("maildir");
    std::fs::write(
        dir.path().join("refusing.py"),
        "from aiosmtpd.handlers import Mailbox\n\
         class Refusing(Mailbox):\n\
         \x20   async def handle_RCPT(self, server, session, envelope, address, rcpt_options):\n\
         \x20       if address.startswith('nobody@'):\n\
         \x20           return '550 5.1.1 <%s>: Recipient address rejected: User unknown' % address\n\
         \x20       envelope.rcpt_tos.append(address)\n\
         \x20       return '250 OK'\n",
    )
    .unwrap();
    let smtpd = |port: u16| {
        vec![
            format!("PYTHONPATH={}", dir.path().display()),
            "python3".into(),
            "-m".into(),
            "aiosmtpd".into(),
            "-n".into(),
            "-l".into(),
            format!("127.0.0.1:{port}"),
            "-c".into(),
            "refusing.Refusing".into(),
            maildir.display().to_string(),
        ]
    };
    let (_smtp, smtp_port) =
        spawn_server_on_free_port("env", smtpd, &dir.path().join("smtpd.log"), port_open);

    // A real Alertmanager whose webhook receiver is the collector.
    let (hook, am_seen) = collector();
    let (_am, am) = start_alertmanager(dir.path(), &hook);

    // 50% errors for 150 s, starting 75 s from now: time to set the silence first.
    let skew = now_secs() % 60;
    let history = svc15_incident(75 + skew, 225 + skew, 0.5, 21);
    let prom = start_prometheus(&history);
    let t = now_secs();
    let slo = |name: &str| burn_only_slo("svc15", name, 99.9);
    let cfg = format!(
        r#"{}receivers:
  - name: mail
    email: {{host: 127.0.0.1, port: {smtp_port}, tls: none, from: "slowburn <slowburn@example.test>", to: [nobody@example.test, oncall@example.test]}}
    severities: [page]
  - name: am
    alertmanager: {{url: "{am}"}}
    repeat_interval: 4s
    severities: [page]
maintenance:
  - name: db-migration
    start: "{}"
    end: "{}"
    slos: [svc15/availability-maint]
slos:
{}{}{}"#,
        fast_head(&prom.url),
        chrono_rfc3339(t - 7200),
        chrono_rfc3339(t + 7200),
        // Label names a classic Alertmanager refuses: sent mapped (`team-name` → `team_name`).
        slo("availability").replace(
            "    objective: 99.9\n",
            "    objective: 99.9\n    labels: {team-name: web, app.kubernetes.io/part-of: shop}\n"
        ),
        slo("availability-copy"),
        slo("availability-maint"),
    );
    let cfg = write_config(dir.path(), &cfg);
    let data = dir.path().join("data");
    let token = "t0ken-for-tests";
    let mut d = Daemon::start(&cfg, &data, &[("SLOWBURN_API_TOKEN", token)]);
    d.wait_ready(Duration::from_secs(120));

    // Silences: refused without the token, stored with it.
    let silence = json!({"slo": "svc15/availability-copy", "ends_at": chrono_rfc3339(t + 3600),
        "comment": "known issue, fix deploying", "created_by": "test"})
    .to_string();
    let url = format!("{}/api/v1/silences", d.url);
    let (code, _) = http::request("POST", &url, &[], &silence).unwrap();
    assert_eq!(code, 401);
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];
    let (code, _) = http::request(
        "POST",
        &url,
        &auth,
        r#"{"ends_at": "2100-01-01T00:00:00Z", "comment": "x", "created_by": "y"}"#,
    )
    .unwrap();
    assert_eq!(code, 400, "a silence without a matcher is refused");
    let (code, body) = http::request("POST", &url, &auth, &silence).unwrap();
    assert_eq!(code, 201, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(d.get("/api/v1/silences").1.contains(&id));

    // The page reaches the SMTP server and, through Alertmanager, its webhook.
    wait_until("the page email", Duration::from_secs(240), || {
        subjects(&maildir)
            .iter()
            .any(|s| s.starts_with("[FIRING][page] svc15/availability burning"))
    });
    let mail = mails(&maildir)
        .into_iter()
        .find(|m| m.contains("[FIRING][page] svc15/availability burning"))
        .unwrap();
    assert!(
        mail.contains("multipart/alternative")
            && mail.contains("text/plain")
            && mail.contains("text/html"),
        "{mail}"
    );
    // The refused first recipient did not stop the second; the mail has a Message-ID.
    assert!(mail.contains("oncall@example.test"), "{mail}");
    assert!(
        mail.lines()
            .any(|l| l.starts_with("Message-ID: <slowburn.") && l.ends_with("@example.test>")),
        "{mail}"
    );
    wait_until(
        "Alertmanager's firing webhook",
        Duration::from_secs(60),
        || {
            am_seen.lock().unwrap().iter().any(|n| {
                n["status"] == "firing"
                    && n["alerts"][0]["labels"]["slo"] == "svc15/availability"
                    && n["alerts"][0]["labels"]["alertname"] == "SLOErrorBudgetBurnPage"
                    && n["alerts"][0]["labels"]["team_name"] == "web"
                    && n["alerts"][0]["labels"]["app_kubernetes_io_part_of"] == "shop"
            })
        },
    );
    // Re-posted while firing: Alertmanager's endsAt moves forward.
    let first = am_ends_at(&am, "svc15/availability").expect("alert held by Alertmanager");
    wait_until("a re-post", Duration::from_secs(30), || {
        am_ends_at(&am, "svc15/availability").is_some_and(|e| e > first)
    });

    // The silenced SLO fires but notifies nobody until the silence goes.
    let copy = slo_json(&d, "svc15/availability-copy");
    assert_eq!(copy["alerts"]["page"]["firing"], true, "{copy}");
    assert_eq!(copy["alerts"]["page"]["notified"], json!([]), "{copy}");
    assert!(
        !subjects(&maildir)
            .iter()
            .any(|s| s.contains("availability-copy"))
    );
    let del = format!("{url}/{id}");
    assert_eq!(http::request("DELETE", &del, &[], "").unwrap().0, 401);
    assert_eq!(http::request("DELETE", &del, &auth, "").unwrap().0, 204);
    assert_eq!(http::request("DELETE", &del, &auth, "").unwrap().0, 404);
    wait_until(
        "the page once the silence is gone",
        Duration::from_secs(60),
        || {
            subjects(&maildir)
                .iter()
                .any(|s| s.starts_with("[FIRING][page] svc15/availability-copy"))
        },
    );

    // Removing a firing SLO from slo.yaml resolves it for the receivers that got its page.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace(&slo("availability-copy"), "")).unwrap();
    wait_until("the removed SLO's resolve", Duration::from_secs(60), || {
        mails(&maildir).iter().any(|m| {
            m.contains("Subject: [RESOLVED][page] svc15/availability-copy")
                && m.contains("SLO removed from the configuration")
        })
    });
    assert_eq!(d.get("/api/v1/slos/svc15/availability-copy").0, 404);

    // Maintenance: no page, and the buckets are excluded rather than counted as good.
    let maint = slo_json(&d, "svc15/availability-maint");
    let real = slo_json(&d, "svc15/availability");
    assert_eq!(maint["alerts"]["page"]["firing"], false, "{maint}");
    assert!(
        maint["periods"]["1d"]["excluded_buckets"].as_u64().unwrap() >= 700,
        "{maint}"
    );
    assert_eq!(real["periods"]["1d"]["excluded_buckets"], 0);
    assert!(
        maint["periods"]["1d"]["total"].as_f64().unwrap()
            < real["periods"]["1d"]["total"].as_f64().unwrap(),
        "excluded events are not counted: {maint}"
    );
    // Excluded, not missing (a query that timed out under load heals first).
    wait_until(
        "the maintenance SLO's 5m known",
        Duration::from_secs(60),
        || slo_json(&d, "svc15/availability-maint")["coverage"]["5m"] == 1.0,
    );

    // Recovery: the resolve reaches both.
    wait_until("the resolve email", Duration::from_secs(300), || {
        subjects(&maildir)
            .iter()
            .any(|s| s == "[RESOLVED][page] svc15/availability")
    });
    wait_until(
        "Alertmanager's resolved webhook",
        Duration::from_secs(60),
        || {
            am_seen.lock().unwrap().iter().any(|n| {
                n["status"] == "resolved" && n["alerts"][0]["labels"]["slo"] == "svc15/availability"
            })
        },
    );
    let subjects = subjects(&maildir);
    assert!(
        !subjects.iter().any(|s| s.contains("availability-maint")),
        "{subjects:?}"
    );
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.starts_with("[FIRING][page] svc15/availability burning"))
            .count(),
        1,
        "email repeats only after 4h: {subjects:?}"
    );
}

/// A real Alertmanager (Debian's) in `dir` that groups by alert name and SLO and sends every
/// notification, firing and resolved, to the webhook `hook`; returns its guard and base URL.
pub(crate) fn start_alertmanager(dir: &Path, hook: &str) -> (Server, String) {
    let am_cfg = dir.join("am.yml");
    std::fs::write(
        &am_cfg,
        format!(
            "route: {{receiver: hook, group_by: [alertname, slo], group_wait: 1s, group_interval: 2s, repeat_interval: 1h}}\n\
             receivers: [{{name: hook, webhook_configs: [{{url: '{hook}', send_resolved: true}}]}}]\n"
        ),
    )
    .expect("write am.yml");
    let alertmanager = |port: u16| {
        vec![
            format!("--config.file={}", am_cfg.display()),
            format!("--storage.path={}", dir.join("amdata").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--cluster.listen-address=".into(),
        ]
    };
    let am_ready = |port: u16| answers_200(&format!("http://127.0.0.1:{port}/-/ready"));
    let (server, port) = spawn_server_on_free_port(
        "prometheus-alertmanager",
        alertmanager,
        &dir.join("am.log"),
        am_ready,
    );
    (server, format!("http://127.0.0.1:{port}"))
}

pub(crate) fn chrono_rfc3339(t: i64) -> String {
    slowburn::time::rfc3339(t)
}
