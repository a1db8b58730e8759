//! Helpers shared by the codegen integration tests.

use std::path::Path;
use std::time::{Duration, SystemTime};

/// Sets a file's modification time far into the past, so a later rewrite is visible whatever
/// the file system's timestamp granularity; returns that time.
pub fn age(path: &Path) -> SystemTime {
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(old))
        .unwrap_or_else(|e| panic!("cannot set the mtime of {}: {e}", path.display()));
    old
}

/// A file's modification time.
pub fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
