//! The data directory's lock: one larder per `--data-dir`.
//!
//! Two servers appending to the same append-only file (or handing out the same queue messages) would
//! corrupt both, so [`lock`] takes an exclusive advisory lock (`flock`) on `<data-dir>/larder.lock`
//! before anything in the directory is read or written, and holds it for as long as the server runs.
//! The kernel drops the lock when the process dies, so a crash never leaves a stale lock behind; the
//! file keeps the holder's process id only to name it in the error.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

use anyhow::Context;

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "larder.lock";

/// Holds the data directory's lock until dropped.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Creates `dir` if needed and locks it, or explains which process holds it.
pub fn lock(dir: &Path) -> anyhow::Result<DataDirLock> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("create the data directory {}", dir.display()))?;
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("open {}", path.display()))?;
    if !try_lock(&file).with_context(|| format!("lock {}", path.display()))? {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = match holder.trim() {
            "" => "another larder".to_string(),
            pid => format!("another larder (pid {pid})"),
        };
        anyhow::bail!(
            "{holder} is using the data directory {}; stop it, or give this one another --data-dir",
            dir.display()
        );
    }
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())?;
    Ok(DataDirLock { _file: file })
}

/// Takes an exclusive lock without waiting: `Ok(false)` when another open file holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Elsewhere no lock is taken (larder's supported platforms are Unix).
#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path()).unwrap();
        let err = lock(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        assert!(err.contains("--data-dir"), "{err}");
        drop(first);
        let _again = lock(dir.path()).expect("the lock is free once its holder is dropped");
    }

    #[test]
    fn creates_a_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        let _lock = lock(&nested).unwrap();
        assert!(nested.join(LOCK_FILE).exists());
    }
}
