//! A small real file system for full-disk tests: a tmpfs mounted on a temporary directory,
//! filled to the last byte and freed again. Used by the SQLite store's full-disk tests, the
//! engine's and the `outdial serve` one.
//!
//! Mounting needs root (or the right to mount). Where it is not permitted, [`SmallFs::mount`]
//! applies the [CI rule](crate::ci): a notice and `None` (the test passes as skipped), or a
//! panic under `CI=true`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of a fixed size mounted on a temporary directory, unmounted when dropped.
pub struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    /// Mounts a tmpfs of `size` (a `mount -o size=` value, e.g. `2m`). `None`, with a
    /// notice on stderr, when mounting is not permitted here; panics under `CI=true`.
    pub fn mount(size: &str) -> Option<SmallFs> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(SmallFs { dir }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
                    Err(e) => e.to_string(),
                };
                crate::precondition_missing(
                    "the full-disk test",
                    &format!("cannot mount a tmpfs here ({why})"),
                );
                None
            }
        }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The filler file [`SmallFs::fill`] writes.
    pub fn filler(&self) -> PathBuf {
        self.path().join("filler")
    }

    /// Fills the file system with [`SmallFs::filler`]; returns the bytes written.
    pub fn fill(&self) -> u64 {
        fill(&self.filler())
    }

    /// Removes the filler: the space is free again.
    pub fn free(&self) {
        std::fs::remove_file(self.filler()).expect("remove the filler file");
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("could not unmount {}", self.dir.path().display());
        }
    }
}

/// Writes zeros to `path` until the file system refuses more (ENOSPC), in shrinking chunks
/// so that not even a page is left. Returns the bytes written.
pub fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).expect("create the filler file");
    let mut written = 0u64;
    for chunk in [64 * 1024, 4096, 512, 1] {
        let buf = vec![0u8; chunk];
        while f.write_all(&buf).is_ok() {
            written += chunk as u64;
        }
    }
    let _ = f.sync_all();
    written
}
