//! The mark of a clean close: beside the file after the store closed it, its length, inode and a
//! hash of its first page (redb's header, which every commit changes), written a little after the
//! close so that the mark is strictly newer than the file's last change. An open that finds them
//! unchanged and the file still older than the mark skips redb's whole-file integrity check, which
//! reads every page (seconds for a month of 10,000 SLOs); a crash, a copy, or a change by any other
//! program (which makes the file at least as new as the mark, the kernel's clock being coarse)
//! leaves them different or absent, and that open gets the full check as before. The mark is
//! removed at open, so it never outlives the close it describes.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn mark(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".clean");
    PathBuf::from(name)
}

/// What the mark holds for the file as it is now; `None` when it cannot be read.
fn fingerprint(file: &Path) -> Option<String> {
    let meta = std::fs::metadata(file).ok()?;
    let mut head = vec![0u8; 4096];
    let mut f = std::fs::File::open(file).ok()?;
    let n = f.read(&mut head).ok()?;
    head.truncate(n);
    let hash = super::seal::crc32(&[&head]);
    Some(format!("{} {} {hash:08x}\n", meta.len(), meta.ino()))
}

/// A file's last change, as the kernel stamps it.
fn changed(path: &Path) -> Option<(i64, i64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.mtime().max(m.ctime()), m.mtime_nsec().max(m.ctime_nsec())))
}

/// Whether the file is exactly as this store left it at its last clean close.
pub(super) fn unchanged_since_close(file: &Path) -> bool {
    let same = match (std::fs::read_to_string(mark(file)), fingerprint(file)) {
        (Ok(saved), Some(now)) => saved == now,
        _ => false,
    };
    same && matches!((changed(file), changed(&mark(file))), (Some(f), Some(m)) if f < m)
}

/// Removes the mark: from now on the file is open and may change.
pub(super) fn forget(file: &Path) {
    let _ = std::fs::remove_file(mark(file));
}

/// Writes the mark after a clean close, once the kernel's coarse clock has moved on, so that
/// any later change to the file stamps it at least as new as the mark.
pub(super) fn remember(file: &Path) {
    std::thread::sleep(std::time::Duration::from_millis(20));
    if let Some(f) = fingerprint(file) {
        let _ = std::fs::write(mark(file), f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_holds_only_while_the_file_is_untouched() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("f");
        std::fs::write(&file, b"abc").unwrap_or_else(|e| panic!("{e}"));
        assert!(!unchanged_since_close(&file), "no mark yet");
        remember(&file);
        assert!(unchanged_since_close(&file));
        // Same length, changed bytes, written at once: the header hash tells.
        std::fs::write(&file, b"abd").unwrap_or_else(|e| panic!("{e}"));
        assert!(!unchanged_since_close(&file));
        remember(&file);
        assert!(unchanged_since_close(&file));
        // Changed beyond the first page with the header and length kept: the time tells.
        std::fs::write(&file, b"abd").unwrap_or_else(|e| panic!("{e}"));
        assert!(!unchanged_since_close(&file));
        remember(&file);
        forget(&file);
        assert!(!unchanged_since_close(&file), "removed at open");
    }
}
