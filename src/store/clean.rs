//! The mark of a clean close: beside the file after the store closed it, its length, times and a
//! hash of its first page (redb's header, which every commit changes). An open that finds them
//! unchanged skips redb's whole-file integrity check, which reads every page (seconds for a month
//! of 10,000 SLOs); a crash, a copy, or a change by any other program leaves them different or
//! absent, and that open gets the full check as before. The mark is removed at open, so it never
//! outlives the close it describes.

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
    Some(format!(
        "{} {} {} {} {} {hash:08x}\n",
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime_nsec(),
        meta.ino()
    ))
}

/// Whether the file is exactly as this store left it at its last clean close.
pub(super) fn unchanged_since_close(file: &Path) -> bool {
    match (std::fs::read_to_string(mark(file)), fingerprint(file)) {
        (Ok(saved), Some(now)) => saved == now,
        _ => false,
    }
}

/// Removes the mark: from now on the file is open and may change.
pub(super) fn forget(file: &Path) {
    let _ = std::fs::remove_file(mark(file));
}

/// Writes the mark after a clean close.
pub(super) fn remember(file: &Path) {
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
        forget(&file);
        assert!(!unchanged_since_close(&file), "removed at open");
    }
}
