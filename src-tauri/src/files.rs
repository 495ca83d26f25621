//! Files on messages, on the desktop (RULES.md "Attachments"): fetched from
//! the server when first opened, kept in the app's `attachments` folder
//! within a size budget (the least recently opened go first), and opened
//! with the OS's own viewer, never in the app's window. A reply's files
//! are uploaded first (that needs the server), then named in the reply.

use std::path::{Path, PathBuf};

use crate::desk::{Desk, internal};
use crate::error::{IpcCode, IpcError, IpcResult};
use fyncall_domain::Attachment;

/// Most bytes of attachments kept on this computer.
pub const BUDGET: u64 = 500 * 1024 * 1024;

/// A file name safe to keep: no folder in it, no control characters.
pub fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control() && !"<>:\"|?*".contains(*c))
        .take(120)
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_owned();
    if clean.is_empty() {
        "attachment".into()
    } else {
        clean
    }
}

/// The kept files: each attachment's folder, its size and when it was
/// last opened.
fn kept(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let mut size = 0;
            let mut used = std::time::UNIX_EPOCH;
            for f in std::fs::read_dir(e.path()).ok()?.flatten() {
                let meta = f.metadata().ok()?;
                size += meta.len();
                used = used.max(meta.modified().unwrap_or(std::time::UNIX_EPOCH));
            }
            Some((e.path(), size, used))
        })
        .collect()
}

/// Removes the least recently opened files until `incoming` more bytes
/// fit in the budget; how many bytes were freed.
pub fn make_room(dir: &Path, incoming: u64, budget: u64, keep: &Path) -> u64 {
    let mut files = kept(dir);
    files.sort_by_key(|(_, _, used)| *used);
    let mut total: u64 = files.iter().map(|(_, s, _)| s).sum();
    let mut freed = 0;
    for (path, size, _) in files {
        if total + incoming <= budget {
            break;
        }
        if path == keep {
            continue;
        }
        if std::fs::remove_dir_all(&path).is_ok() {
            total -= size;
            freed += size;
        }
    }
    freed
}

impl Desk {
    /// The attachment's file on this computer, fetched first if needed
    /// (within the budget); its path.
    pub async fn attachment_file(&self, attachment: &Attachment) -> IpcResult<PathBuf> {
        let dir = self.home().join("attachments");
        let folder = dir.join(attachment.id.to_string());
        let path = folder.join(safe_name(&attachment.name));
        if path.exists() {
            // Opened now: last to go when room is needed.
            if let Ok(f) = std::fs::File::options().append(true).open(&path) {
                let _ = f.set_modified(std::time::SystemTime::now());
            }
            return Ok(path);
        }
        let client = self.client().await?;
        std::fs::create_dir_all(&folder)
            .map_err(|e| internal(format!("cannot make {}: {e}", folder.display())))?;
        let (d, f, size) = (dir.clone(), folder.clone(), attachment.size);
        tauri::async_runtime::spawn_blocking(move || make_room(&d, size, BUDGET, &f))
            .await
            .map_err(|e| internal(format!("making room failed: {e}")))?;
        client
            .download_attachment(attachment.id, &path)
            .await
            .map_err(|e| {
                let _ = std::fs::remove_dir_all(&folder);
                IpcError::from(e)
            })?;
        Ok(path)
    }

    /// Uploads a file for a reply; what the reply names.
    pub async fn upload_attachment(
        &self,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> IpcResult<Attachment> {
        if bytes.len() as u64 > fyncall_domain::conversation::MAX_ATTACHMENT_BYTES {
            return Err(IpcError::new(
                IpcCode::Invalid,
                format!(
                    "{name} is over 25 MiB, the most a file may have: share a link to it instead"
                ),
            ));
        }
        Ok(self
            .client()
            .await?
            .upload_attachment(name, content_type, bytes)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_no_folder_and_room_goes_oldest_first() {
        assert_eq!(safe_name("../../.bashrc"), "bashrc");
        assert_eq!(safe_name("a<b>.pdf"), "ab.pdf");
        assert_eq!(safe_name(""), "attachment");
        let dir = tempfile::tempdir().expect("dir");
        let now = std::time::SystemTime::now();
        for (i, age) in [(1, 300), (2, 200), (3, 100)] {
            let f = dir.path().join(format!("a{i}"));
            std::fs::create_dir_all(&f).expect("folder");
            let file = f.join("x.bin");
            std::fs::write(&file, vec![0u8; 100]).expect("file");
            let handle = std::fs::File::options()
                .append(true)
                .open(&file)
                .expect("open");
            handle
                .set_modified(now - std::time::Duration::from_secs(age))
                .expect("mtime");
        }
        // 300 kept, budget 350, 100 coming: the oldest one goes.
        let keep = dir.path().join("new");
        assert_eq!(make_room(dir.path(), 100, 350, &keep), 100);
        assert!(!dir.path().join("a1").exists());
        assert!(dir.path().join("a2").exists() && dir.path().join("a3").exists());
    }
}
