//! The web UI in a real browser (issue 13): Debian's headless Chromium driven through
//! chromedriver (`webdriver.rs`) against a daemon over the demo's 31 days of history in a
//! real Prometheus. The list's numbers equal the API's, the detail page draws the API's
//! burn-down with the demo's incidents visible (its pixels checked), a silence is created from
//! the page only with the token, and markup in an SLO's description or labels stays text.

use crate::common;
use crate::common::*;
use crate::webdriver;
use crate::webdriver::Browser;
use serde_json::Value;
use std::sync::OnceLock;
use std::time::Duration;

const TOKEN: &str = "ui-test-token";
const XSS: &str = r#"<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">"#;

struct Fixture {
    d: Daemon,
    cfg: std::path::PathBuf,
    _prom: Prometheus,
    _dir: tempfile::TempDir,
}

/// One Prometheus with the demo's history and one daemon over the repository's slo.yaml, an SLO
/// whose description is markup, and a log SLO whose Loki does not answer (an error row).
fn fixture() -> Option<&'static Fixture> {
    static F: OnceLock<Option<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        if !require_prometheus() {
            return None;
        }
        if !webdriver::available() {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromium and chromedriver are needed in CI (scripts/install-test-deps.sh)"
            );
            eprintln!("SKIPPED: chromium or chromedriver missing");
            return None;
        }
        let end = now_secs() / 60 * 60;
        let prom = start_prometheus(&slowburn::synth::demo(end, 31));
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/slo.yaml"))
            .expect("slo.yaml");
        let cfg = repo.replace("http://127.0.0.1:9090", &prom.url)
            + &format!(
                r#"
  - service: web
    name: markup
    objective: 99
    description: '{XSS}'
    labels: {{ team: "<b>bold</b>" }}
    sli:
      ratio:
        errors: http_requests_total{{service="api",code=~"5.."}}
        total: http_requests_total{{service="api"}}
  - service: web
    name: by-code
    objective: 99
    group_by: [code]
    sli:
      ratio:
        errors: http_requests_total{{service="api",code=~"5.."}}
        total: http_requests_total{{service="api"}}
  - service: web
    name: broken
    objective: 95
    sli:
      ratio:
        source: loki
        errors: '{{app="web"}} |= "error"'
        total: '{{app="web"}}'
"#
            );
        // The log SLO's Loki is a closed port: every query fails, so its row carries the error.
        let cfg = cfg.replacen(
            "slos:\n",
            &format!(
                "loki: {{url: \"http://127.0.0.1:{}\", timeout: 1s}}\nslos:\n",
                free_port()
            ),
            1,
        );
        let path = write_config(dir.path(), &cfg);
        let mut d = Daemon::start(
            &path,
            &dir.path().join("data"),
            &[("SLOWBURN_API_TOKEN", TOKEN)],
        );
        d.wait_ready(Duration::from_secs(300));
        Some(Fixture {
            d,
            cfg: path,
            _prom: prom,
            _dir: dir,
        })
    })
    .as_ref()
}

fn browser() -> Browser {
    Browser::start(1400, 1000)
}

fn api(d: &Daemon, path: &str) -> Value {
    let (status, body) = d.get(path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// The list page's rows as the DOM holds them: id, then per period SLI and budget (the exact
/// numbers in `data-value`, the text people read), burn rates and alert.
const READ_ROWS: &str = r#"
return [...document.querySelectorAll("tr[data-slo]")].map(tr => ({
  id: tr.dataset.slo,
  cells: [...tr.querySelectorAll("td[data-period]")].map(td => ({
    period: td.dataset.period, kind: td.className, value: td.dataset.value, text: td.textContent.trim()
  })),
  burn1h: tr.querySelector("td.burn1h").dataset.value,
  alert: tr.querySelector("td.alert").textContent.trim(),
  gate: tr.querySelector("td.gate").textContent.trim(),
}));
"#;

#[test]
fn the_list_shows_every_slo_with_the_apis_numbers() {
    let Some(f) = fixture() else { return };
    let b = browser();
    // The page and the API read one snapshot; a tick between them changes numbers, so retry.
    let (rows, list) = (0..5)
        .find_map(|_| {
            let before = api(&f.d, "/api/v1/slos");
            b.goto(&f.d.url);
            let rows = b.eval(READ_ROWS);
            let after = api(&f.d, "/api/v1/slos");
            (before["at"] == after["at"]).then_some((rows, after))
        })
        .expect("a quiet moment between ticks");
    let slos = list["slos"].as_array().expect("slos");
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), slos.len(), "every SLO has a row");
    let mut compared = 0;
    for s in slos {
        let id = s["id"].as_str().expect("id");
        let row = rows
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} has no row"));
        for (period, p) in s["periods"].as_object().expect("periods") {
            for (kind, key) in [("sli", "sli"), ("remaining", "error_budget_remaining")] {
                let cell = row["cells"]
                    .as_array()
                    .expect("cells")
                    .iter()
                    .find(|c| c["period"] == period.as_str() && c["kind"] == kind)
                    .unwrap_or_else(|| panic!("{id} {period} {kind}"));
                let dom: Option<f64> = cell["value"].as_str().and_then(|v| v.parse().ok());
                assert_eq!(
                    dom.is_some(),
                    p[key].as_f64().is_some(),
                    "{id} {period} {kind}"
                );
                if let (Some(a), Some(b)) = (dom, p[key].as_f64()) {
                    // The same f64 printed twice; serde_json's default parser (which reads the
                    // API's text here) may land one ulp beside the correctly rounded one.
                    assert!(
                        (a - b).abs() <= 4.0 * f64::EPSILON * b.abs().max(1e-300),
                        "{id} {period} {kind}: DOM {a} API {b}"
                    );
                }
                if let Some(x) = p[key].as_f64() {
                    let shown = slowburn::ui::pct(Some(x));
                    assert!(
                        cell["text"].as_str().expect("text").contains(&shown),
                        "{cell} vs {shown}"
                    );
                    compared += 1;
                }
            }
        }
        let burn: Option<f64> = row["burn1h"].as_str().and_then(|v| v.parse().ok());
        let api_burn = s["burn_rates"]["1h"].as_f64();
        assert_eq!(burn.is_some(), api_burn.is_some(), "{id} burn 1h");
        if let (Some(a), Some(b)) = (burn, api_burn) {
            assert!(
                (a - b).abs() <= 4.0 * f64::EPSILON * b.abs(),
                "{id} burn 1h: {a} vs {b}"
            );
        }
        let status: slowburn::status::SloStatus =
            serde_json::from_value(s.clone()).expect("an SLO's status");
        let gate = slowburn::gate::decide(
            &status,
            status.periods.keys().next().expect("a period"),
            0.0,
        );
        assert_eq!(row["gate"], if gate.allow { "go" } else { "hold" }, "{id}");
    }
    assert!(compared >= 6, "numbers compared: {compared}");
    // The SLO whose query finds nothing shows its error in its row; the page is not empty.
    let err = b.eval(r#"return document.querySelector("tr.error-row")?.textContent || """#);
    let broken = slos
        .iter()
        .find(|s| s["id"] == "web/broken")
        .expect("web/broken");
    assert!(
        err.as_str().expect("text").contains("web/broken"),
        "{err}: {broken}"
    );

    // The URL keeps the view: filtered, sorted, grouped.
    b.goto(&format!(
        "{}/?label=team%3Dweb&sort=slo&order=desc&group=service",
        f.d.url
    ));
    let ids: Vec<String> = b
        .eval(r#"return [...document.querySelectorAll("tr[data-slo]")].map(t => t.dataset.slo)"#)
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id").to_string())
        .collect();
    assert_eq!(ids, ["api/latency", "api/availability"]);
    let group = b.eval(r#"return document.querySelector("tr.group").textContent"#);
    assert!(
        group
            .as_str()
            .expect("group")
            .contains("api · 2 SLOs · worst budget"),
        "{group}"
    );
}

/// Parses the `M x,y L x,y …` of an SVG path.
fn path_points(d: &str) -> Vec<(f64, f64)> {
    d.split(['M', 'L'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (x, y) = p.split_once(',').expect("x,y");
            (x.parse().expect("x"), y.parse().expect("y"))
        })
        .collect()
}

#[test]
fn the_detail_page_draws_the_apis_burn_down_with_the_incidents() {
    let Some(f) = fixture() else { return };
    let b = browser();
    let (chart, history) = (0..5)
        .find_map(|_| {
            let before = api(&f.d, "/api/v1/slos/api/availability");
            b.goto(&format!("{}/slos/api/availability", f.d.url));
            let chart = b.eval(
                r##"const p = document.querySelector("#chart-budget path.line.s0");
                   const r = document.querySelector("#chart-budget svg").getBoundingClientRect();
                   window.scrollTo(0, r.top + window.scrollY - 20);
                   const r2 = document.querySelector("#chart-budget svg").getBoundingClientRect();
                   return {d: p.getAttribute("d"), n: +p.dataset.points, x: r2.left, y: r2.top, w: r2.width, h: r2.height,
                           vw: document.documentElement.clientWidth};"##,
            );
            let history = api(&f.d, "/api/v1/slos/api/availability/history?period=30d");
            let after = api(&f.d, "/api/v1/slos/api/availability");
            (before["at"] == after["at"]).then_some((chart, history))
        })
        .expect("a quiet moment between ticks");
    // The chart takes the page's width (it once took about half of a 1,400-pixel window).
    let (w, vw) = (
        chart["w"].as_f64().expect("width"),
        chart["vw"].as_f64().expect("viewport"),
    );
    assert!(w >= 0.85 * vw, "the chart is {w} px wide in a {vw} px page");
    // The chart's line is the API's history: one vertex per point with a value, and each
    // vertex's height a linear function of the API's remaining budget.
    let values: Vec<f64> = history["points"]
        .as_array()
        .expect("points")
        .iter()
        .filter_map(|p| p["error_budget_remaining"].as_f64())
        .collect();
    let verts = path_points(chart["d"].as_str().expect("path"));
    assert_eq!(
        chart["n"].as_u64(),
        Some(history["points"].as_array().expect("p").len() as u64)
    );
    assert_eq!(verts.len(), values.len(), "one vertex per known point");
    assert!(
        values.len() > 1500,
        "30 days within about 2,000 points: {}",
        values.len()
    );
    let (i, j) = (0, values.len() - 1);
    let scale = (verts[j].1 - verts[i].1) / (values[j] - values[i]);
    for (v, (_, y)) in values.iter().zip(&verts) {
        let expect = verts[i].1 + (v - values[i]) * scale;
        assert!(
            (expect - y).abs() < 0.15,
            "y {y} for {v}, expected {expect}"
        );
    }
    // The incidents 12 and 3 days ago each take a step out of the 30-day budget.
    let pts = history["points"].as_array().expect("points");
    let at = |ago: i64| -> f64 {
        let t = pts.last().expect("last")["time"].as_i64().expect("t") - ago;
        pts.iter()
            .rev()
            .find(|p| p["time"].as_i64().expect("t") <= t)
            .and_then(|p| p["error_budget_remaining"].as_f64())
            .expect("a value")
    };
    let outage = at(12 * 86400 - 3600) - at(12 * 86400 + 3600);
    let errors = at(3 * 86400 - 3 * 3600) - at(3 * 86400 + 3600);
    assert!(
        outage < -0.05 && errors < -0.05,
        "drops: outage {outage}, 5% errors {errors}"
    );

    // Pixels: the chart's area holds the line's colour and more than a plot frame.
    let png = b.screenshot();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().expect("PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    let channels = info.color_type.samples();
    let (x0, y0) = (
        chart["x"].as_f64().expect("x") as usize,
        chart["y"].as_f64().expect("y") as usize,
    );
    let (w, h) = (
        chart["w"].as_f64().expect("w") as usize,
        chart["h"].as_f64().expect("h") as usize,
    );
    let (mut ink, mut line) = (0, 0);
    for y in y0..(y0 + h).min(info.height as usize) {
        for x in x0..(x0 + w).min(info.width as usize) {
            let o = (y * info.width as usize + x) * channels;
            let (r, g, bl) = (buf[o], buf[o + 1], buf[o + 2]);
            if (r, g, bl) != (255, 255, 255) {
                ink += 1;
            }
            // --s0 in the light theme, #1f5fbf, at any coverage of a pixel: anti-aliasing blends
            // it with the white or shaded background (how many pixels are solid depends on
            // where the line falls between pixel rows), but green stays above red and blue
            // above green, which no other colour in this chart has (--s1 #7b3fbf has less green
            // than red; the grid and rules are grey, red or orange).
            let (r, g, bl) = (i32::from(r), i32::from(g), i32::from(bl));
            if g >= r + 12 && bl >= g + 20 {
                line += 1;
            }
        }
    }
    eprintln!(
        "burn-down chart {w}×{h} px: {ink} non-background pixels, {line} in the 30d line's colour"
    );
    assert!(line > 500, "the line is drawn: {line} pixels");
    assert!(ink > 2000, "axes, rules and lines: {ink} pixels");
    // The current policy's episodes over the stored history and the past periods are listed.
    let tables = b.eval(
        r##"return [document.querySelectorAll("#episodes tbody tr").length,
                   [...document.querySelectorAll("#past tbody tr")].map(tr => tr.children[0].textContent)]"##,
    );
    assert!(
        tables[0].as_u64().expect("episodes") >= 2,
        "the demo's incidents page: {tables}"
    );
    let past = tables[1].as_array().expect("past");
    assert!(
        past.iter().filter(|p| *p == "7d").count() >= 4 && past.contains(&"30d".into()),
        "{tables}"
    );
    std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/target/ui")).expect("dir");
    let _ = std::fs::write(
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/ui/detail.png"),
        b.screenshot(),
    );
}

#[test]
fn a_silence_from_the_page_needs_the_token() {
    let Some(f) = fixture() else { return };
    let b = browser();
    b.goto(&format!("{}/silences", f.d.url));
    let fill = |comment: &str| {
        b.type_into("input[name=comment]", comment);
        b.type_into("input[name=created_by]", "ui-test");
        b.click("#silence-form button[type=submit]");
    };
    fill("without a token");
    let refused = b.wait_for(
        r#"return document.getElementById("status").textContent"#,
        10,
    );
    assert!(
        refused.as_str().expect("status").contains("HTTP 401"),
        "{refused}"
    );
    let none = api(&f.d, "/api/v1/silences");
    assert!(
        !none.to_string().contains("without a token"),
        "no silence was made: {none}"
    );
    b.type_into("#token", TOKEN);
    fill("from the page");
    b.wait_for(
        r#"return document.querySelector("tr[data-id]")?.textContent.includes("from the page")"#,
        10,
    );
    let list = api(&f.d, "/api/v1/silences");
    assert!(list.to_string().contains("from the page"), "{list}");
    // The token lives in the tab's sessionStorage: never a cookie, never the URL.
    let where_ = b.eval(
        r#"return [document.cookie, location.href, sessionStorage.getItem("slowburn-token")]"#,
    );
    assert_eq!(where_[0], "");
    assert!(!where_[1].as_str().expect("href").contains(TOKEN));
    assert_eq!(where_[2], TOKEN);
    // Expire it from the page.
    b.click("button.expire");
    b.wait_for(
        r#"return document.getElementById("status").textContent.includes("expired")"#,
        10,
    );
}

#[test]
fn markup_in_a_description_or_label_stays_text() {
    let Some(f) = fixture() else { return };
    let b = browser();
    b.goto(&format!("{}/slos/web/markup", f.d.url));
    let v = b.eval(
        r#"return [window.pwned === undefined, document.querySelector(".description").textContent,
                   document.querySelectorAll("main script, main img").length]"#,
    );
    assert_eq!(v[0], true, "no script ran");
    assert_eq!(v[1], XSS, "the description reads as written");
    assert_eq!(v[2], 0, "no element was made from it");
    b.goto(&f.d.url);
    let label = b.eval(
        r#"return [...document.querySelectorAll("select[name=label] option")].map(o => o.textContent)"#,
    );
    assert!(label.to_string().contains("team=<b>bold</b>"), "{label}");
    assert_eq!(
        b.eval("return document.querySelectorAll('main b').length"),
        0
    );
    // Light and dark follow the browser's setting.
    let bg = || b.eval("return getComputedStyle(document.body).backgroundColor");
    b.color_scheme("light");
    assert_eq!(bg(), "rgb(255, 255, 255)");
    b.color_scheme("dark");
    assert_eq!(bg(), "rgb(18, 21, 28)", "the dark theme");
    let text = b.eval("return getComputedStyle(document.body).color");
    assert_eq!(
        text, "rgb(227, 231, 238)",
        "light text on the dark background"
    );
    // Every page carries the strict policy.
    for path in ["/", "/slos/web/markup", "/silences", "/internals"] {
        let (status, head) = http::get_head(&format!("{}{path}", f.d.url)).expect("answer");
        assert_eq!(status, 200, "{path}");
        assert!(
            head.contains("content-security-policy: default-src 'none'; script-src 'self'"),
            "{path}: {head}"
        );
        assert!(head.contains("x-content-type-options: nosniff"), "{path}");
    }
}

/// The episodes table of the try page: severity, rule, fired, resolved per row.
const READ_EPISODES: &str = r##"
const read = id => [...document.querySelectorAll("#" + id + " tbody tr")].map(tr =>
  [...tr.querySelectorAll("td")].slice(0, 4).map(td => td.textContent.trim()));
return {current: read("current"), tried: document.getElementById("tried") ? read("tried") : null,
        errors: [...document.querySelectorAll("#rule-errors li")].map(li => li.textContent)};
"##;

#[test]
fn trying_a_policy_replays_the_stored_history_as_backtest_does() {
    let Some(f) = fixture() else { return };
    let b = browser();
    let try_url = |rules: &str| {
        format!(
            "{}/slos/api/availability/try?range=30d&rules={}",
            f.d.url,
            slowburn::ui::url_enc(rules)
        )
    };
    let current_rules = "page 1h 5m 14.4\npage 6h 30m 6\nticket 1d 2h 3\nticket 3d 6h 1";
    let root = tempfile::tempdir().expect("tempdir");
    // The page's current-policy episodes against `slowburn backtest` over a backup of the same
    // store, at one snapshot.
    let (page, backtest) = (0..5)
        .find_map(|k| {
            let before = api(&f.d, "/api/v1/slos");
            b.goto(&try_url(current_rules));
            let page = b.eval(READ_EPISODES);
            let span = b.eval(r#"return document.querySelector(".description").textContent"#);
            let copy = root.path().join(format!("copy{k}"));
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_slowburn"))
                .args([
                    "store",
                    "backup",
                    "--server",
                    &f.d.url,
                    "--out",
                    copy.to_str().expect("p"),
                ])
                .env("SLOWBURN_API_TOKEN", TOKEN)
                .output()
                .expect("backup");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let after = api(&f.d, "/api/v1/slos");
            if before["at"] != after["at"] {
                return None;
            }
            let text = span.as_str().expect("span").to_string();
            let times: Vec<&str> = text
                .split_whitespace()
                .filter(|w| w.starts_with("20"))
                .collect();
            let (code, out, err) = slowburn(&[
                "backtest",
                "-c",
                f.cfg.to_str().expect("p"),
                "--data-dir",
                copy.to_str().expect("p"),
                "--from",
                times[0],
                "--to",
                times[1],
                "--format",
                "json",
            ]);
            assert_eq!(code, 0, "{err}");
            Some((
                page,
                serde_json::from_str::<Value>(&out).expect("backtest JSON"),
            ))
        })
        .expect("a quiet moment between ticks");
    let from_backtest: Vec<Vec<String>> = backtest["episodes"]
        .as_array()
        .expect("episodes")
        .iter()
        .filter(|e| e["slo"] == "api/availability")
        .map(|e| {
            vec![
                e["severity"].as_str().expect("sev").to_string(),
                e["rule"].as_str().expect("rule").to_string(),
                e["fired_at"].as_str().expect("fired").to_string(),
                e["resolved_at"]
                    .as_str()
                    .unwrap_or("still firing")
                    .to_string(),
            ]
        })
        .collect();
    let on_page: Vec<Vec<String>> = serde_json::from_value(page["current"].clone()).expect("rows");
    assert!(!on_page.is_empty(), "the demo's incidents fire");
    assert_eq!(on_page, from_backtest, "the page replays as backtest does");
    // The same rules tried: the same episodes.
    assert_eq!(page["tried"], page["current"]);
    // Factors nobody reaches: nothing pages, but the current policy still does.
    b.goto(&try_url("page 1h 5m 900\nticket 3d 6h 900"));
    let strict = b.eval(READ_EPISODES);
    let pages = |v: &Value| {
        v.as_array()
            .expect("rows")
            .iter()
            .filter(|r| r[0] == "page")
            .count()
    };
    assert_eq!(pages(&strict["tried"]), 0, "{strict}");
    assert!(pages(&strict["current"]) > 0);
    // A bad rule says which line and what to write; nothing is replayed for it.
    b.goto(&try_url("page 1h 5m 14.4\nurgent 1h 5m 2"));
    let bad = b.eval(READ_EPISODES);
    assert!(bad["tried"].is_null());
    assert!(
        bad["errors"][0]
            .as_str()
            .expect("error")
            .starts_with("line 2:"),
        "{bad}"
    );
}

/// Text answers are gzipped when the client asks (as Chromium and Prometheus do) and only then,
/// with `Vary: Accept-Encoding`; the unpacked body is the plain one, byte for byte.
#[test]
fn pages_and_json_are_gzipped_only_when_asked() {
    use std::io::Read as _;
    let Some(f) = fixture() else { return };
    let gz = [("Accept-Encoding", "br, gzip;q=0.8")];
    for path in [
        "/ui/style.css",
        "/slos/api/availability",
        "/api/v1/slos/api/availability/history",
        "/metrics",
    ] {
        let url = format!("{}{path}", f.d.url);
        // A tick between two requests changes a page; retry until both plain answers agree.
        let mut checked = false;
        for _ in 0..5 {
            let (s1, head, plain) = common::http::get_bytes(&url, &[]).expect("plain");
            let (s2, zhead, packed) = common::http::get_bytes(&url, &gz).expect("gzip");
            let (_, _, again) = common::http::get_bytes(&url, &[]).expect("plain again");
            assert_eq!((s1, s2), (200, 200), "{path}");
            assert!(!head.contains("content-encoding"), "{path} unasked: {head}");
            assert!(head.contains("vary: accept-encoding"), "{path}: {head}");
            assert!(zhead.contains("content-encoding: gzip"), "{path}: {zhead}");
            let mut unpacked = Vec::new();
            flate2::read::GzDecoder::new(&packed[..])
                .read_to_end(&mut unpacked)
                .expect("valid gzip");
            if plain != again {
                continue;
            }
            assert_eq!(unpacked, plain, "{path}");
            eprintln!(
                "{path}: {} bytes, {} gzipped ({:.1}×)",
                plain.len(),
                packed.len(),
                plain.len() as f64 / packed.len() as f64
            );
            if path.contains("history") || path.starts_with("/slos") {
                assert!(packed.len() * 3 < plain.len(), "{path} barely compressed");
            }
            checked = true;
            break;
        }
        assert!(checked, "{path} changed on every attempt");
    }
    let (_, head, _) = common::http::get_bytes(
        &format!("{}/ui/style.css", f.d.url),
        &[("Accept-Encoding", "gzip;q=0")],
    )
    .expect("refused gzip");
    assert!(
        !head.contains("content-encoding"),
        "q=0 refuses gzip: {head}"
    );
}

/// A grouped SLO (`group_by: [code]` over the demo's requests) in a real browser: its members
/// stand under one header row naming the definition and how many members it has, the worst first
/// (every `code="500"` request is an error, so its budget is far below `code="200"`'s), and a
/// member's link opens its own page (issue 26, item 4).
#[test]
fn members_stand_under_their_definition_worst_first() {
    let Some(f) = fixture() else { return };
    let b = browser();
    b.goto(&f.d.url);
    let order = b.eval(
        r#"return [...document.querySelectorAll("tbody tr")].map(tr => tr.dataset.slo || ("header:" + tr.textContent.trim().replace(/\s+/g, " ")));"#,
    );
    let order: Vec<String> = serde_json::from_value(order).expect("rows");
    let header = order
        .iter()
        .position(|r| r.starts_with("header:") && r.contains("web/by-code"))
        .unwrap_or_else(|| panic!("no header row for web/by-code in {order:?}"));
    assert!(order[header].contains("2 members"), "{}", order[header]);
    assert_eq!(
        order[header + 1..header + 3],
        [
            "web/by-code{code=\"500\"}".to_string(),
            "web/by-code{code=\"200\"}".to_string()
        ],
        "the worst member first: {order:?}"
    );
    b.click("tr[data-slo='web/by-code{code=\"500\"}'] a");
    let title = b.wait_for(
        "return document.querySelector('h1') && document.querySelector('h1').textContent",
        10,
    );
    assert!(
        title.as_str().is_some_and(|t| t.contains("by-code")),
        "the member's page: {title}"
    );
}
