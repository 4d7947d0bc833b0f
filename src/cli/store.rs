//! `slowburn store backup`: a verified copy of the store, taken through a running daemon or from
//! a stopped one's directory. `slowburn store verify`: is the store file sound? redb's integrity
//! check runs at open; then every row of every table is read and its checksum checked.
//! `--repair` deletes damaged rows.

use crate::store::{Store, TABLE_NAMES};
use anyhow::{Context, anyhow};
use std::path::Path;

/// Prints what was read and what is damaged; `Err` (exit 1) when the store is damaged and not
/// repaired, or cannot be opened (the message says how to recover).
pub(super) fn verify(data_dir: &Path, repair: bool) -> anyhow::Result<()> {
    let file = data_dir.join(crate::store::FILE_NAME);
    if !file.exists() {
        return Err(anyhow!("no store at {}", file.display()));
    }
    let store = match Store::open(data_dir) {
        Ok(s) => s,
        Err(crate::store::StoreError::Damaged { message, .. }) if repair => {
            return salvage(data_dir, &message);
        }
        Err(e) => return Err(anyhow::Error::new(e).context("the store does not open")),
    };
    let v = store.verify(repair)?;
    let rows: Vec<String> = TABLE_NAMES
        .iter()
        .zip(v.rows)
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    println!("{}: read {}", file.display(), rows.join(", "));
    for (table, key) in &v.damaged {
        println!("damaged: {table} {key}");
    }
    match (v.damaged.len(), repair) {
        (0, _) => {
            println!("sound: redb's integrity check passed and every checksum holds");
            Ok(())
        }
        (n, true) => {
            println!(
                "removed {n} damaged value(s); their buckets are backfilled from the source at the next start"
            );
            Ok(())
        }
        (n, false) => Err(anyhow!(
            "{n} damaged value(s); `slowburn store verify --repair` removes them (chunks are then backfilled from the source; a damaged alert state, outbox entry or silence is lost)"
        )),
    }
}

/// `--repair` on a file redb refuses: keep every row that still reads and passes its checksum.
fn salvage(data_dir: &Path, why: &str) -> anyhow::Result<()> {
    println!("redb refuses the file ({why}); salvaging what still reads");
    let s = crate::store::salvage::salvage(data_dir).context("the salvage failed")?;
    let rows: Vec<String> = TABLE_NAMES
        .iter()
        .zip(s.rows)
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    println!("kept {}", rows.join(", "));
    if s.dropped > 0 {
        println!("dropped {} row(s) whose checksum failed", s.dropped);
    }
    if !s.incomplete.is_empty() {
        println!(
            "not read whole (rows in the damaged pages are lost): {}",
            s.incomplete.join(", ")
        );
    }
    println!(
        "the damaged file is kept as {}; lost chunks are backfilled from the source at the next start",
        s.aside.display()
    );
    let v = Store::open(data_dir)
        .context("the salvaged store does not open")?
        .verify(false)?;
    if !v.damaged.is_empty() {
        return Err(anyhow!("the salvaged store still has damaged values"));
    }
    println!("sound: the salvaged store passes redb's integrity check and every checksum holds");
    Ok(())
}

/// `slowburn store backup`: through the daemon's API, or straight from a stopped daemon's store;
/// either way the copy is opened and verified before it is reported saved.
pub(super) async fn backup(
    out: &Path,
    server: Option<String>,
    token_file: Option<std::path::PathBuf>,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let file = out.join(crate::store::FILE_NAME);
    if file.exists() {
        return Err(anyhow!(
            "{} already holds a store; back up into a new directory",
            out.display()
        ));
    }
    match server {
        Some(server) => download(&server, token_file, out).await?,
        None => {
            // Opening creates a store: a mistyped directory must not back up an empty one.
            let source = data_dir.join(crate::store::FILE_NAME);
            if !source.exists() {
                return Err(anyhow!("no store at {}", source.display()));
            }
            let store = Store::open(data_dir).with_context(|| {
                format!(
                    "cannot open the store in {}; while the daemon runs, back up through it with --server",
                    data_dir.display()
                )
            })?;
            store.backup(out)?;
        }
    }
    // A copy that does not verify is removed: it must not sit there looking like a store.
    let v = crate::store::verify_copy(out).context("the backup does not verify")?;
    let rows: Vec<String> = TABLE_NAMES
        .iter()
        .zip(v.rows)
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    println!(
        "{}: {} bytes, {}; verified",
        file.display(),
        bytes,
        rows.join(", ")
    );
    Ok(())
}

/// Streams `POST /api/v1/store/backup` into `out/slowburn.redb.partial`, checks its length, and
/// renames it into place.
async fn download(
    server: &str,
    token_file: Option<std::path::PathBuf>,
    out: &Path,
) -> anyhow::Result<()> {
    // Read and trimmed as the daemon reads its own (a variable's trailing newline included).
    let token = super::run::api_token(token_file.as_deref())?.unwrap_or_default();
    if token.is_empty() {
        return Err(anyhow!(
            "a backup through the daemon needs its API token: --token-file or SLOWBURN_API_TOKEN"
        ));
    }
    let url = format!("{}/api/v1/store/backup", server.trim_end_matches('/'));
    let mut resp = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&token)
        .send()
        .await
        .with_context(|| format!("{url} does not answer"))?;
    if !resp.status().is_success() {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        let msg = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or(body);
        return Err(anyhow!("{url} answered HTTP {status}: {msg}"));
    }
    let expected = resp.content_length();
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let partial = out.join(format!("{}.partial", crate::store::FILE_NAME));
    let got = save(&mut resp, &partial, &url).await;
    let got = match got {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    if expected.is_some_and(|n| n != got) {
        let _ = std::fs::remove_file(&partial);
        return Err(anyhow!(
            "the backup from {url} is {got} bytes, {} were announced",
            expected.unwrap_or(0)
        ));
    }
    std::fs::rename(&partial, out.join(crate::store::FILE_NAME))?;
    Ok(())
}

/// Streams the answer's body into `partial`, returning its length.
async fn save(resp: &mut reqwest::Response, partial: &Path, url: &str) -> anyhow::Result<u64> {
    use tokio::io::AsyncWriteExt;
    let mut f = tokio::fs::File::create(partial)
        .await
        .with_context(|| format!("cannot write {}", partial.display()))?;
    let mut got = 0u64;
    while let Some(chunk) = resp
        .chunk()
        .await
        .with_context(|| format!("the backup from {url} broke off after {got} bytes"))?
    {
        got += chunk.len() as u64;
        f.write_all(&chunk).await?;
    }
    f.sync_all().await?;
    drop(f);
    Ok(got)
}
