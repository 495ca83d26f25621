//! A small disk of a test's own that it can fill: a tmpfs mounted at a new
//! folder (mounting needs root; `scripts/test` runs these tests as CI does).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of a few MiB; unmounted when dropped.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `mib` MiB at a new folder.
    ///
    /// # Panics
    /// When it cannot be mounted (not root): with what `mount` said.
    pub fn mount(mib: u32) -> Tmpfs {
        let dir = tempfile::tempdir().expect("a folder");
        Tmpfs::mount_at_folder(dir, mib)
    }

    fn mount_at_folder(dir: tempfile::TempDir, mib: u32) -> Tmpfs {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "mounting a tmpfs needs root (scripts/test runs this test as CI does): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills it to the last byte with one file; its path (remove it to
    /// give the space back).
    pub fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).expect("the filler file");
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        while f.write_all(&[0u8; 512]).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Still in use (a process the test started is ending): detached
            // now, freed when the last file on it closes.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}
