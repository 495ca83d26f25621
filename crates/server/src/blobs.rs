//! Attachments (RULES.md "Attachments"; ARCHITECTURE.md "Blobs apart from
//! rows"): a file's bytes are a blob, stored once by content hash in
//! chunks, apart from the rows (SQLite: the file `<store>.blobs` beside the
//! store; PostgreSQL: the `blobs` and `blob_chunks` tables), streamed in
//! and out a chunk at a time. An attachment row names a blob with the
//! file's name and type; a message lists its attachments.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fyncall_domain::Attachment;
use fyncall_domain::Timestamp;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::sessions::TokenDb;
use crate::store::{Store, StoreError, StoreResult};
use crate::time::iso;

/// Bytes a chunk holds.
pub const CHUNK: usize = 256 * 1024;

/// The blob tables of an SQLite store's side file.
pub const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS blobs (
    id     TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    size   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blob_chunks (
    blob_id TEXT NOT NULL,
    n       INTEGER NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (blob_id, n)
);";

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

fn blob_write<T>(
    store: &dyn Store,
    mut f: impl FnMut(&mut dyn TokenDb) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut out = None;
    store.blob_write(&mut |db| {
        out = Some(f(db)?);
        Ok(())
    })?;
    out.ok_or_else(|| db_err("the blob write ended without a result"))
}

fn blob_read<T>(
    store: &dyn Store,
    mut f: impl FnMut(&mut dyn TokenDb) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut out = None;
    store.blob_read(&mut |db| {
        out = Some(f(db)?);
        Ok(())
    })?;
    out.ok_or_else(|| db_err("the blob read ended without a result"))
}

/// A blob being written, a chunk at a time.
pub struct Upload {
    blob_id: Uuid,
    hash: Sha256,
    size: u64,
    n: u32,
    pending: Vec<u8>,
}

impl Default for Upload {
    fn default() -> Self {
        Upload {
            blob_id: Uuid::now_v7(),
            hash: Sha256::new(),
            size: 0,
            n: 0,
            pending: Vec::with_capacity(CHUNK),
        }
    }
}

impl Upload {
    pub fn size(&self) -> u64 {
        self.size + self.pending.len() as u64
    }

    /// Takes more bytes; writes every full chunk.
    pub fn add(&mut self, store: &dyn Store, bytes: &[u8]) -> StoreResult<()> {
        self.pending.extend_from_slice(bytes);
        while self.pending.len() >= CHUNK {
            let rest = self.pending.split_off(CHUNK);
            let chunk = std::mem::replace(&mut self.pending, rest);
            self.write(store, &chunk)?;
        }
        Ok(())
    }

    fn write(&mut self, store: &dyn Store, chunk: &[u8]) -> StoreResult<()> {
        self.hash.update(chunk);
        self.size += chunk.len() as u64;
        let (id, n, data) = (
            self.blob_id.to_string(),
            self.n.to_string(),
            STANDARD.encode(chunk),
        );
        blob_write(store, |db| {
            db.exec(
                "INSERT INTO blob_chunks (blob_id, n, data) VALUES ($1, CAST(CAST($2 AS TEXT) AS INTEGER), $3)",
                &[Some(&id), Some(&n), Some(&data)],
            )
        })?;
        self.n += 1;
        Ok(())
    }

    /// Ends the blob: its id (an earlier one with the same bytes, whose
    /// copy is then dropped), its SHA-256 and size.
    pub fn finish(mut self, store: &dyn Store) -> StoreResult<(Uuid, String, u64)> {
        let last = std::mem::take(&mut self.pending);
        if !last.is_empty() || self.n == 0 {
            self.write(store, &last)?;
        }
        let sha = hex::encode(self.hash.clone().finalize());
        let (id, size) = (self.blob_id.to_string(), self.size.to_string());
        let kept = blob_write(store, |db| {
            let earlier = db
                .rows("SELECT id FROM blobs WHERE sha256 = $1", &[Some(&sha)])?
                .first()
                .and_then(|r| r.first().cloned().flatten());
            match earlier {
                Some(e) => {
                    db.exec("DELETE FROM blob_chunks WHERE blob_id = $1", &[Some(&id)])?;
                    Ok(e)
                }
                None => {
                    db.exec(
                        "INSERT INTO blobs (id, sha256, size) VALUES ($1, $2, CAST(CAST($3 AS TEXT) AS BIGINT))",
                        &[Some(&id), Some(&sha), Some(&size)],
                    )?;
                    Ok(id.clone())
                }
            }
        })?;
        Ok((Uuid::parse_str(&kept).map_err(db_err)?, sha, self.size))
    }

    /// Drops what was written (an upload refused half way).
    pub fn abandon(self, store: &dyn Store) {
        let id = self.blob_id.to_string();
        let _ = blob_write(store, |db| {
            db.exec("DELETE FROM blob_chunks WHERE blob_id = $1", &[Some(&id)])
        });
    }
}

/// Stores a whole file (a mail's attachment) and names it.
pub fn store_file(
    store: &dyn Store,
    name: &str,
    content_type: &str,
    bytes: &[u8],
    now: Timestamp,
) -> StoreResult<Attachment> {
    let mut upload = Upload::default();
    upload.add(store, bytes)?;
    let (blob, sha, size) = upload.finish(store)?;
    let a = Attachment {
        id: Uuid::now_v7(),
        name: clean_name(name),
        content_type: clean_type(content_type),
        size,
    };
    crate::store::write_tokens(store, |db| insert(db, &a, blob, &sha, now))?;
    Ok(a)
}

/// A file name as kept: no path, no control characters, at most 200 characters.
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(200)
        .collect();
    let clean = clean.trim().to_owned();
    if clean.is_empty() || clean == "." || clean == ".." {
        "attachment".into()
    } else {
        clean
    }
}

/// A content type as kept: `type/subtype` only, lower case.
pub fn clean_type(t: &str) -> String {
    let bare = t
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let fine = bare.split_once('/').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && bare
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c))
    });
    if fine {
        bare
    } else {
        "application/octet-stream".into()
    }
}

/// Names a stored blob as an attachment.
pub fn insert(
    db: &mut dyn TokenDb,
    a: &Attachment,
    blob: Uuid,
    sha: &str,
    now: Timestamp,
) -> StoreResult<()> {
    let (id, blob, size, now) = (
        a.id.to_string(),
        blob.to_string(),
        a.size.to_string(),
        iso(now),
    );
    db.exec(
        "INSERT INTO attachments (id, blob_id, sha256, name, content_type, size, created_at)
         VALUES ($1, $2, $3, $4, $5, CAST(CAST($6 AS TEXT) AS BIGINT), $7)",
        &[
            Some(&id),
            Some(&blob),
            Some(sha),
            Some(&a.name),
            Some(&a.content_type),
            Some(&size),
            Some(&now),
        ],
    )?;
    Ok(())
}

/// An attachment and its blob.
pub fn attachment(db: &mut dyn TokenDb, id: Uuid) -> StoreResult<Option<(Attachment, Uuid)>> {
    let id_text = id.to_string();
    db.rows(
        "SELECT name, content_type, CAST(size AS TEXT), blob_id FROM attachments WHERE id = $1",
        &[Some(&id_text)],
    )?
    .first()
    .map(|r| {
        let cell = |i: usize| {
            r.get(i)
                .cloned()
                .flatten()
                .ok_or_else(|| db_err("attachment column empty"))
        };
        Ok((
            Attachment {
                id,
                name: cell(0)?,
                content_type: cell(1)?,
                size: cell(2)?.parse().map_err(db_err)?,
            },
            Uuid::parse_str(&cell(3)?).map_err(db_err)?,
        ))
    })
    .transpose()
}

/// The attachments `ids` name, in order; a refusal naming an unknown one
/// or a sum past the message's limit.
pub fn describe(db: &mut dyn TokenDb, ids: &[Uuid]) -> StoreResult<Vec<Attachment>> {
    let mut out: Vec<Attachment> = Vec::with_capacity(ids.len());
    for id in ids {
        if out.iter().any(|a| a.id == *id) {
            continue;
        }
        let (a, _) = attachment(db, *id)?.ok_or_else(|| {
            fyncall_domain::Refusal::invalid(
                "attachment_ids",
                format!("no attachment has id {id}: upload the file first with POST /attachments"),
            )
        })?;
        out.push(a);
    }
    let total: u64 = out.iter().map(|a| a.size).sum();
    if total > fyncall_domain::conversation::MAX_MESSAGE_ATTACHMENT_BYTES {
        return Err(fyncall_domain::Refusal::invalid(
            "attachment_ids",
            format!(
                "the files come to {} MiB: a message carries at most 50 MiB, send the rest in another",
                total / (1024 * 1024)
            ),
        )
        .into());
    }
    Ok(out)
}

/// Chunk `n` of a blob, if there is one.
pub fn chunk(store: &dyn Store, blob: Uuid, n: u32) -> StoreResult<Option<Vec<u8>>> {
    let (id, n) = (blob.to_string(), n.to_string());
    let text = blob_read(store, |db| {
        Ok(db
            .rows(
                "SELECT data FROM blob_chunks WHERE blob_id = $1 AND n = CAST(CAST($2 AS TEXT) AS INTEGER)",
                &[Some(&id), Some(&n)],
            )?
            .first()
            .and_then(|r| r.first().cloned().flatten()))
    })?;
    text.map(|t| STANDARD.decode(t).map_err(db_err)).transpose()
}

/// A whole blob (for a mail, at most 50 MiB).
pub fn read_all(store: &dyn Store, blob: Uuid) -> StoreResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut n = 0;
    while let Some(c) = chunk(store, blob, n)? {
        out.extend(c);
        n += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types_are_kept_plain() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\a\\shot.png"), "shot.png");
        assert_eq!(clean_name("a\u{0}b\"c.pdf"), "abc.pdf");
        assert_eq!(clean_name(".."), "attachment");
        assert_eq!(clean_type("Image/PNG; name=x"), "image/png");
        assert_eq!(clean_type("text/html<script>"), "application/octet-stream");
        assert_eq!(clean_type(""), "application/octet-stream");
    }
}
