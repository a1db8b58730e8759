//! Helpers shared by the codegen integration tests.

use std::path::{Path, PathBuf};
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

/// The workspace root (the parent of `codegen/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen/ has a parent")
        .to_path_buf()
}

/// A file's text; panics naming the file.
pub fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A committed snapshot file as this bitrix-codegen writes it: files of format version 1 load
/// and are written as version 2 (the same descriptors, with `entity.api`).
#[allow(dead_code)]
pub fn as_written(text: &str) -> String {
    bitrix_codegen::Snapshot::parse(text, &bitrix_codegen::EntityInfo::deal())
        .map(|s| s.to_json_pretty())
        .unwrap_or_else(|e| panic!("a committed snapshot does not load: {e}"))
}
