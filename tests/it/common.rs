//! Test harness: a real Prometheus (Debian's package) backfilled with synthetic history whose exact
//! ground truth the generator knows. One Prometheus per test or per area's shared fixture.
//!
//! In CI (`CI` set) a missing `prometheus`/`promtool` is installed with apt-get, and a failure to get
//! them fails the test. Outside CI the test is skipped with a loud message.
#![allow(dead_code)]

use slowburn::synth::{History, Incident, ServiceSpec};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether a command exists on PATH.
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Whether a tool the tests need is present: true if so; outside CI false after a loud message;
/// in CI a panic, since `scripts/install-test-deps.sh` must have installed it.
pub fn require(what: &str, present: bool, install: &str) -> bool {
    if present {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{what} is missing; CI must install it ({install})");
    }
    eprintln!("\n!!!!! SKIPPING: {what} not installed ({install}). In CI this fails. !!!!!\n");
    false
}

/// Makes sure the Prometheus binaries are present. Returns false (after a loud message) when they
/// are missing outside CI; panics when they are missing in CI.
pub fn require_prometheus() -> bool {
    if have("prometheus") && have("promtool") {
        return true;
    }
    let _ = Command::new("sh")
        .args(["-c", "apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1)"])
        .status();
    if have("prometheus") && have("promtool") {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "prometheus/promtool are missing and could not be installed; CI must install Debian's `prometheus` package"
        );
    }
    eprintln!(
        "\n!!!!! SKIPPING: prometheus/promtool not installed (apt-get install prometheus). In CI this fails. !!!!!\n"
    );
    false
}

/// Polls `f` every 200 ms until it holds; panics naming `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, f: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Serves `app` from a thread of its own (so blocking tests can use it) on a loopback port the
/// kernel picks, and returns that port. The listener is bound here and handed to the server, so
/// no other process can take the port in between, and connections made before the server's
/// thread runs wait in the listen backlog.
pub fn serve(app: axum::Router) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("the bound address").port();
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener for tokio");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    port
}

/// A loopback port nothing listened on a moment ago: for a "connection refused" address, and for
/// the servers that cannot take port 0 and name the port they got
/// ([`start_on_free_port`] starts those again on another port when the pick was taken meanwhile).
/// In-test servers use [`serve`] and the daemon port 0 instead.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// A running Prometheus over backfilled history; killed when dropped, and by a watchdog if the test
/// process dies first.
pub struct Prometheus {
    /// Base URL.
    pub url: String,
    /// Data directory (kept alive with the process).
    pub dir: tempfile::TempDir,
    child: Child,
    args: Vec<String>,
}

impl Prometheus {
    /// Stops the server now: SIGTERM to the watchdog shell, whose trap kills the server, then reaps it.
    pub fn kill(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// Starts `prometheus` with `args(port)` in `dir` on a free port and waits until it is ready
    /// (on another port when the one picked was taken before Prometheus bound it).
    fn launch(dir: tempfile::TempDir, args: impl Fn(u16) -> Vec<String>) -> Prometheus {
        let log = dir.path().join("prometheus.log");
        // Ready, and ours: its flags name our directory (not another test's Prometheus that
        // took the port first).
        let mine = dir.path().display().to_string();
        let ready = |port: u16| {
            let base = format!("http://127.0.0.1:{port}");
            if !answers_200(&format!("{base}/-/ready")) {
                return false;
            }
            match http::get(&format!("{base}/api/v1/status/flags")) {
                Some((_, flags)) => flags.contains(&mine),
                None => false,
            }
        };
        let (child, port, args) = start_on_free_port("prometheus", args, &log, ready);
        Prometheus {
            url: format!("http://127.0.0.1:{port}"),
            dir,
            child,
            args,
        }
    }

    /// Starts the server again on the same port and data (after [`Prometheus::kill`]).
    pub fn restart(&mut self) {
        self.child = spawn_with_watchdog(
            "prometheus",
            &self.args,
            &self.dir.path().join("prometheus-restart.log"),
        );
        wait_ready(&format!("{}/-/ready", self.url));
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Writes the history as OpenMetrics, backfills it with promtool and starts Prometheus on a free port.
pub fn start_prometheus(history: &History) -> Prometheus {
    start_prometheus_with(|f| history.write_openmetrics(f).expect("write history"))
}

/// Backfills what `write` writes (OpenMetrics text ending in `# EOF`) with promtool and starts
/// Prometheus on a free port: for histories [`History`] cannot express (resets, late series).
pub fn start_prometheus_with(write: impl FnOnce(&mut std::fs::File)) -> Prometheus {
    let dir = tempfile::tempdir().expect("tempdir");
    let om = dir.path().join("history.om");
    {
        let mut f = std::fs::File::create(&om).expect("create history file");
        write(&mut f);
        f.flush().expect("flush");
    }
    let data = dir.path().join("data");
    let t0 = Instant::now();
    let out = Command::new("promtool")
        .args([
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "-q",
            "--max-block-duration=744h",
        ])
        .arg(&om)
        .arg(&data)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("backfill took {:?}", t0.elapsed());
    let _ = std::fs::remove_file(&om);
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, "global: {scrape_interval: 15s}\nscrape_configs: []\n")
        .expect("write config");
    let args = |port: u16| {
        vec![
            format!("--config.file={}", cfg.display()),
            format!("--storage.tsdb.path={}", data.display()),
            "--storage.tsdb.retention.time=400d".into(),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ]
    };
    Prometheus::launch(dir, args)
}

/// A server process under a watchdog, stopped (and reaped) when dropped.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// [`spawn_with_watchdog`], stopped when the returned guard is dropped.
pub fn spawn_server(cmd: &str, args: &[String], log: &Path) -> Server {
    Server(spawn_with_watchdog(cmd, args, log))
}

/// [`start_on_free_port`] for a server stopped when the returned guard is dropped; also returns
/// its port.
pub fn spawn_server_on_free_port(
    cmd: &str,
    args: impl Fn(u16) -> Vec<String>,
    log: &Path,
    ready: impl Fn(u16) -> bool,
) -> (Server, u16) {
    let (child, port, _) = start_on_free_port(cmd, args, log, ready);
    (Server(child), port)
}

/// A VictoriaMetrics single node (Debian's `victoria-metrics`) on a free port, holding what
/// `write` writes as OpenMetrics (the text [`start_prometheus_with`] backfills), imported through
/// `/api/v1/import/prometheus` (timestamps in milliseconds) and flushed so queries see all of it.
/// Returns the server, its base URL and the directory holding its data.
pub fn start_victoria_metrics_with(
    write: impl FnOnce(&mut Vec<u8>),
) -> (Server, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_path_buf();
    let args = |port: u16| {
        vec![
            format!("-storageDataPath={}", d.join("vmdata").display()),
            "-retentionPeriod=100y".to_string(),
            format!("-httpListenAddr=127.0.0.1:{port}"),
        ]
    };
    let (server, port) =
        spawn_server_on_free_port("victoria-metrics", args, &d.join("vm.log"), |port| {
            answers_200(&format!("http://127.0.0.1:{port}/health"))
        });
    let url = format!("http://127.0.0.1:{port}");
    let mut om = Vec::new();
    write(&mut om);
    let text = String::from_utf8(om).expect("OpenMetrics is UTF-8");
    let t0 = Instant::now();
    let mut chunk = String::with_capacity(1 << 23);
    let post = |chunk: &mut String| {
        let (code, body) = http::request(
            "POST",
            &format!("{url}/api/v1/import/prometheus"),
            &[],
            chunk,
        )
        .expect("import into VictoriaMetrics");
        assert!((200..300).contains(&code), "import: {code} {body}");
        chunk.clear();
    };
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        // `name{labels} value seconds[.fraction]` → `name{labels} value milliseconds`.
        let (head, ts) = line.rsplit_once(' ').expect("a sample line");
        let seconds: f64 = ts.parse().expect("an OpenMetrics timestamp");
        chunk.push_str(head);
        chunk.push(' ');
        chunk.push_str(&format!("{}", (seconds * 1000.0).round() as i64));
        chunk.push('\n');
        if chunk.len() > 8 << 20 {
            post(&mut chunk);
        }
    }
    if !chunk.is_empty() {
        post(&mut chunk);
    }
    assert_eq!(
        http::get(&format!("{url}/internal/force_flush")).map(|r| r.0),
        Some(200)
    );
    eprintln!("VictoriaMetrics import took {:?}", t0.elapsed());
    (server, url, dir)
}

/// Times a server that cannot take port 0 is started on another port after it found the port
/// picked for it taken.
const PORT_ATTEMPTS: usize = 5;

/// Starts `cmd` with `args(port)` under a watchdog ([`spawn_with_watchdog`]) on a port from
/// [`free_port`] and waits until `ready(port)`, for servers such as Prometheus and Alertmanager
/// that cannot be given port 0 and say which port they got. Another process may take the port
/// between the pick and the server's bind: a server that exits with "address already in use" in
/// its log is started again on another port (up to [`PORT_ATTEMPTS`] times); one that exits for
/// any other reason, or is not ready within 60 s, fails the test with its log. Returns the
/// watchdog, the port and the arguments it was started with (for a restart on the same port).
pub fn start_on_free_port(
    cmd: &str,
    args: impl Fn(u16) -> Vec<String>,
    log: &Path,
    ready: impl Fn(u16) -> bool,
) -> (Child, u16, Vec<String>) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = free_port();
        let argv = args(port);
        let mut child = spawn_with_watchdog(cmd, &argv, log);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if ready(port) {
                return (child, port, argv);
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{cmd} on port {port} was not ready within 60 s: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lower = text.to_ascii_lowercase();
        let taken = lower.contains("address already in use");
        assert!(
            taken && attempt < PORT_ATTEMPTS,
            "{cmd} exited before it was ready (attempt {attempt} on port {port}): {text}"
        );
        eprintln!("{cmd}: port {port} was taken before it bound it; starting it on another");
    }
}

/// Starts `cmd` under a shell that kills it when this test process exits, so no server outlives
/// `cargo test`.
pub fn spawn_with_watchdog(cmd: &str, args: &[String], log: &Path) -> Child {
    let me = std::process::id();
    let script = format!(
        "\"$0\" \"$@\" & p=$!; trap 'kill -9 $p 2>/dev/null; wait $p 2>/dev/null; exit 0' EXIT TERM; while kill -0 {me} 2>/dev/null && kill -0 $p 2>/dev/null; do sleep 0.5; done"
    );
    let log = std::fs::File::create(log).expect("log file");
    let err = log.try_clone().expect("log file");
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(cmd)
        .args(args)
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("spawn server")
}

/// Whether an HTTP URL answers 200 now.
pub fn answers_200(url: &str) -> bool {
    matches!(http::get(url), Some((200, _)))
}

/// Polls an HTTP URL until it answers 200.
pub fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let client = http::blocking_client();
    while Instant::now() < deadline {
        if client(url) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{url} did not become ready within 60 s");
}

/// Minimal blocking HTTP GET over std (no extra dev-dependency): returns whether the status is 200.
/// Tiny HTTP client over std.
pub mod http {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    pub fn blocking_client() -> impl Fn(&str) -> bool {
        |url: &str| get(url).map(|(status, _)| status == 200).unwrap_or(false)
    }

    /// GET `http://host:port/path`, returning status and body.
    pub fn get(url: &str) -> Option<(u16, String)> {
        request("GET", url, &[], "")
    }

    /// GET, returning the status and the response head (lower-cased), for header checks.
    pub fn get_head(url: &str) -> Option<(u16, String)> {
        exchange("GET", url, &[], "").map(|(s, head, _)| (s, head.to_ascii_lowercase()))
    }

    /// Any method with extra headers and a body (JSON when not empty).
    pub fn request(
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<(u16, String)> {
        exchange(method, url, headers, body).map(|(s, _, b)| (s, b))
    }

    fn exchange(
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<(u16, String, String)> {
        exchange_bytes(method, url, headers, body)
            .map(|(s, h, b)| (s, h, String::from_utf8_lossy(&b).into_owned()))
    }

    /// GET with extra headers, returning the status, the head (lower-cased) and the body's
    /// bytes as sent (a gzip body stays compressed).
    pub fn get_bytes(url: &str, headers: &[(&str, &str)]) -> Option<(u16, String, Vec<u8>)> {
        exchange_bytes("GET", url, headers, "").map(|(s, h, b)| (s, h.to_ascii_lowercase(), b))
    }

    fn exchange_bytes(
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<(u16, String, Vec<u8>)> {
        let rest = url.strip_prefix("http://")?;
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = if path.is_empty() { "/" } else { path };
        let mut s = TcpStream::connect(host).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        write!(s, "{head}\r\n{body}").ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).ok()?;
        let split = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(buf.len());
        let head = String::from_utf8_lossy(&buf[..split]).into_owned();
        let body = buf.get(split + 4..).unwrap_or_default().to_vec();
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, head, body))
    }
}

/// The evaluation time used by accuracy tests: a minute boundary a little in the past.
pub fn history_end() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    (now / 60) * 60 - 600
}

/// Three services scraped every 15 s, 30 s and 60 s, with incidents inside the 1h, 6h, 1d, 3d,
/// 7d and 30d windows.
pub fn standard_services() -> (Vec<ServiceSpec>, Vec<Incident>) {
    let svc = |name: &str, interval: i64, rps: f64| ServiceSpec {
        name: name.into(),
        interval,
        rps,
        base_error_ratio: 0.0005,
    };
    let services = vec![
        svc("svc15", 15, 20.0),
        svc("svc30", 30, 12.0),
        svc("svc60", 60, 6.0),
    ];
    let end = history_end();
    let inc = |s: &str, ago_start: i64, len: i64, ratio: f64, slow: bool| Incident {
        service: s.into(),
        start: end - ago_start,
        end: end - ago_start + len,
        error_ratio: ratio,
        slow,
    };
    let incidents = vec![
        inc("svc15", 50 * 60, 20 * 60, 0.05, true),
        inc("svc15", 3 * 86400, 2 * 3600, 0.05, true),
        inc("svc15", 20 * 86400, 30 * 60, 1.0, false),
        inc("svc30", 4 * 3600, 90 * 60, 0.02, true),
        inc("svc30", 10 * 86400, 3600, 0.2, true),
        inc("svc60", 20 * 3600, 3 * 3600, 0.01, true),
        inc("svc60", 2 * 86400, 40 * 60, 0.5, false),
    ];
    (services, incidents)
}

/// Writes a config file into `dir` and returns its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("create the config's directory");
    let p = dir.join("slo.yaml");
    std::fs::write(&p, text).expect("write slo.yaml");
    p
}

/// `slowburn report --at AT --format json` over a config file: the JSON, after asserting exit 0.
pub fn report_json(cfg: &Path, at: i64) -> serde_json::Value {
    let (code, out, err) = slowburn(&[
        "report",
        "-c",
        cfg.to_str().expect("a UTF-8 path"),
        "--at",
        &at.to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "report: {err}");
    serde_json::from_str(&out).expect("report's JSON")
}

/// Runs the slowburn binary and returns (exit code, stdout, stderr).
pub fn slowburn(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_slowburn"))
        .args(args)
        .env_remove("SLOWBURN_CONFIG")
        .env_remove("SLOWBURN_PROMETHEUS_URL")
        .output()
        .expect("run slowburn");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Relative difference, with an absolute floor for values near zero.
pub fn rel_err(got: f64, want: f64) -> f64 {
    if want.abs() < 1e-12 {
        got.abs()
    } else {
        ((got - want) / want).abs()
    }
}

/// A running `slowburn run`; killed when dropped, and by a watchdog shell if the test process dies
/// first (a shared daemon in a `static` is never dropped).
pub struct Daemon {
    /// Base URL of its HTTP server.
    pub url: String,
    /// The watchdog shell; its exit status is the daemon's.
    pub child: Child,
    /// Where its log goes.
    pub log: PathBuf,
    pid_file: PathBuf,
}

impl Daemon {
    /// Starts the daemon with `config` and `data_dir` on a port the kernel picks
    /// (`--listen 127.0.0.1:0`), which the daemon names in `--listen-address-file` once bound.
    /// Returns once it listens, or once it has exited (a daemon that fails at startup; its `url`
    /// then names port 0, where nothing answers).
    pub fn start(config: &Path, data_dir: &Path, extra_env: &[(&str, &str)]) -> Daemon {
        let log = data_dir.with_extension("log");
        let pid_file = data_dir.with_extension("pid");
        let addr_file = data_dir.with_extension("addr");
        let _ = std::fs::remove_file(&pid_file);
        let _ = std::fs::remove_file(&addr_file);
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("daemon log");
        let err = out.try_clone().expect("daemon log");
        let me = std::process::id();
        // `SB_TEST_ULIMIT_N` in `extra_env` starts the daemon under that open-file limit.
        let script = format!(
            "[ -n \"$SB_TEST_ULIMIT_N\" ] && ulimit -n \"$SB_TEST_ULIMIT_N\"; \
             \"$0\" \"$@\" & p=$!; echo $p > '{}'; trap 'kill -9 $p 2>/dev/null' TERM; \
             while kill -0 {me} 2>/dev/null && kill -0 $p 2>/dev/null; do sleep 0.2; done; \
             kill -0 $p 2>/dev/null && kill -9 $p; wait $p",
            pid_file.display()
        );
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(script)
            .arg(env!("CARGO_BIN_EXE_slowburn"))
            .args(["run", "--config"])
            .arg(config)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0", "--listen-address-file"])
            .arg(&addr_file)
            .env_remove("SLOWBURN_PROMETHEUS_URL")
            .env("SLOWBURN_LOG", "info")
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn slowburn run");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pid_file.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // The config is read and the store opened before the server binds: seconds at most.
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            if let Ok(text) = std::fs::read_to_string(&addr_file) {
                break text.trim().to_string();
            }
            if let Ok(Some(_)) = child.try_wait() {
                break "127.0.0.1:0".to_string();
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not listen within 60 s: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Daemon {
            url: format!("http://{addr}"),
            child,
            log,
            pid_file,
        }
    }

    /// The daemon's own PID.
    pub fn pid(&self) -> String {
        std::fs::read_to_string(&self.pid_file)
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Waits for `/readyz` to answer 200.
    pub fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((200, _)) = http::get(&format!("{}/readyz", self.url)) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("daemon exited with {status}: {}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "daemon not ready in {timeout:?}: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET a path, returning status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        http::get(&format!("{}{path}", self.url)).unwrap_or((0, String::new()))
    }

    /// Sends a signal by name (TERM, HUP, KILL) to the daemon itself.
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid()])
            .stderr(Stdio::null())
            .status();
    }

    /// Waits for the daemon to exit and returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }
}

/// A Prometheus with no history that scrapes `target` (host:port) every second.
pub fn start_scraper(target: &str) -> Prometheus {
    start_scraper_with(target, "1s", None)
}

/// A Prometheus with no history that scrapes `target` every `interval` and, when given, loads
/// the rule file `rules` (evaluated at each group's own interval).
pub fn start_scraper_with(target: &str, interval: &str, rules: Option<&Path>) -> Prometheus {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("prometheus.yml");
    let rule_files = rules.map_or(String::new(), |r| {
        format!("rule_files: ['{}']\n", r.display())
    });
    std::fs::write(
        &cfg,
        format!("global: {{scrape_interval: {interval}, evaluation_interval: 1s}}\n{rule_files}scrape_configs:\n  - job_name: slowburn\n    static_configs: [{{targets: ['{target}']}}]\n"),
    )
    .expect("write config");
    let data = dir.path().join("data");
    let args = |port: u16| {
        vec![
            format!("--config.file={}", cfg.display()),
            format!("--storage.tsdb.path={}", data.display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ]
    };
    Prometheus::launch(dir, args)
}

/// Runs an instant query and returns `(labels, value)` per series.
pub fn instant_query(prom: &str, query: &str) -> Vec<(serde_json::Value, f64)> {
    let enc: String = query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let Some((200, body)) = http::get(&format!("{prom}/api/v1/query?query={enc}")) else {
        return Vec::new();
    };
    let body = dechunk(&body);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["data"]["result"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| Some((r["metric"].clone(), r["value"][1].as_str()?.parse().ok()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Undoes HTTP/1.1 chunked transfer encoding if the body looks chunked.
pub fn dechunk(body: &str) -> String {
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('#') || trimmed.is_empty() {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Four days of history for svc15 and svc30 that runs 20 minutes into the future, so a daemon
/// with 10 s buckets sees real traffic at every tick of a test.
pub fn short_live_history() -> History {
    let (services, incidents) = standard_services();
    let services: Vec<ServiceSpec> = services.into_iter().filter(|s| s.name != "svc60").collect();
    let end = now_secs() / 60 * 60 + 1200;
    History::generate(&services, &incidents, end - 4 * 86400 - 1200, end, 0.3, 11)
}

/// The `slos:` entry of svc15's availability (99.9%, 5xx of `http_requests_total`), which many
/// tests' configs hold.
pub const SVC15_AVAILABILITY: &str = r#"  - service: svc15
    name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{service="svc15",code=~"5.."}
        total: http_requests_total{service="svc15"}
"#;

/// A config with 10 s buckets, 1 s delay, fast heals and no retries, for daemon tests that need
/// ticks within seconds.
pub fn fast_config(prom_url: &str) -> String {
    format!(
        r#"{}slos:
{SVC15_AVAILABILITY}  - service: svc30
    name: latency
    objective: 95
    sli:
      latency:
        histogram: http_request_duration_seconds{{service="svc30"}}
        threshold: 200ms
"#,
        fast_head(prom_url)
    )
}

/// The first lines of a daemon config with 10 s buckets, a 1-day period (alert windows scaled to
/// 1/30), 1 s delay, fast heals and no retries: ticks and alerts within seconds.
pub fn fast_head(prom_url: &str) -> String {
    format!(
        "prometheus: {{url: \"{prom_url}\", retries: 0, timeout: 2s}}\ndefaults: {{bucket: 10s, windows: [1d]}}\nengine: {{lag: 3, delay: 1s, heal_interval: 10s}}\n"
    )
}

/// One `slos:` entry: an availability SLO on `http_requests_total{service}` with only the
/// burn-rate rules (budget conditions off), for alerting tests.
pub fn burn_only_slo(service: &str, name: &str, objective: f64) -> String {
    format!(
        r#"  - service: {service}
    name: {name}
    objective: {objective}
    sli:
      ratio:
        errors: http_requests_total{{service="{service}",code=~"5.."}}
        total: http_requests_total{{service="{service}"}}
    alerting: {{budget_exhausted: none, budget_ticket_below: 0}}
"#
    )
}

/// The value of the first `/metrics` line that starts with `prefix` (a series name with its
/// labels and the space before the value); `None` when absent or unreachable.
pub fn metric(d: &Daemon, prefix: &str) -> Option<f64> {
    d.get("/metrics")
        .1
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// The `slowburn_last_eval_timestamp_seconds` a daemon reports (0 when unreachable).
pub fn last_eval(d: &Daemon) -> i64 {
    metric(d, "slowburn_last_eval_timestamp_seconds ").unwrap_or(0.0) as i64
}

/// Waits until the daemon has evaluated `n` more buckets.
pub fn wait_ticks(d: &Daemon, n: i64, width: i64) {
    let start = last_eval(d);
    let deadline = Instant::now() + Duration::from_secs((n * width + 30) as u64);
    while last_eval(d) < start + n * width {
        assert!(Instant::now() < deadline, "no tick; log: {}", d.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// svc15 alone (15 s scrape, 20 req/s, 0.05% errors) from four days ago to 30 minutes ahead, with
/// `ratio` errors over `[now + from, now + to)`: an incident in progress for alerting tests.
pub fn svc15_incident(from: i64, to: i64, ratio: f64, seed: u64) -> History {
    let now = now_secs() / 60 * 60;
    let svc = ServiceSpec {
        name: "svc15".into(),
        interval: 15,
        rps: 20.0,
        base_error_ratio: 0.0005,
    };
    let incident = Incident {
        service: "svc15".into(),
        start: now + from,
        end: now + to,
        error_ratio: ratio,
        slow: false,
    };
    History::generate(&[svc], &[incident], now - 4 * 86400, now + 1800, 0.3, seed)
}

/// `promtool check metrics` over an exposition: whether it passed, and its complaints, one per
/// line (empty when clean).
pub fn promtool_check_metrics(body: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(body.as_bytes()).expect("write to promtool");
    }
    let out = child.wait_with_output().expect("promtool");
    let problems = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), problems)
}

/// Every SLO of `yaml` counted together by one Prometheus source over `range`, as the daemon and
/// `report` count them: the requests that took, and each SLO's counts, checked to be whole and
/// equal to what its own queries count asked one by one (what batching must never change).
pub fn counted_together_as_alone(
    yaml: &str,
    range: slowburn::source::BucketRange,
) -> (u64, Vec<slowburn::source::Counts>) {
    use slowburn::source::{Ask, Source};
    let cfg = slowburn::config::parse_str(yaml, "t.yaml", &|_| None).expect("config");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let source =
            slowburn::source::prometheus::PrometheusSource::new(&cfg.prometheus).expect("source");
        let asks: Vec<Ask> = cfg.slos.iter().map(Ask::slo).collect();
        let stats = source.stats();
        let before = stats.requests.load(std::sync::atomic::Ordering::Relaxed);
        let together = source.counts_many(&asks, range).await;
        let requests = stats.requests.load(std::sync::atomic::Ordering::Relaxed) - before;
        eprintln!("measured: {} SLOs in {requests} requests", asks.len());
        for (ask, t) in asks.iter().zip(&together) {
            let one = source.counts(ask, range).await;
            assert!(t.errors.is_empty(), "{:?}", t.errors);
            assert!(
                t.buckets
                    .iter()
                    .all(|x| matches!(x, slowburn::budget::Bucket::Known { .. })),
                "{:?}",
                t.buckets
            );
            assert_eq!(t.buckets, one.buckets, "{:?}", ask.spec);
        }
        (requests, together)
    })
}
