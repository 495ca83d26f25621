//! Reading connections for the window, pooled (r2d2): a list, the sidebar's
//! counts and a ticket page asked for at once are read side by side, each on
//! its own connection in WAL mode, and none waits for the writer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Cache, CacheError, Result};

/// Opens reading connections to one cache file (or empty ones in memory for
/// a detached cache).
pub struct Manager {
    path: PathBuf,
    detached: bool,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Cache;
    type Error = CacheError;

    fn connect(&self) -> Result<Cache> {
        Cache::open_reader(&self.path, self.detached)
    }

    fn is_valid(&self, _: &mut Cache) -> Result<()> {
        Ok(())
    }

    fn has_broken(&self, _: &mut Cache) -> bool {
        false
    }
}

/// A reading connection lent by `Readers::get`; it goes back when dropped.
pub type Reader = r2d2::PooledConnection<Manager>;

/// A pool of reading connections to one cache file (`Cache::readers`).
/// Cloning shares the pool.
#[derive(Clone)]
pub struct Readers(r2d2::Pool<Manager>);

/// How long a read waits for a free connection before it says so.
const WAIT: Duration = Duration::from_secs(30);

impl Readers {
    pub(crate) fn new(path: &Path, detached: bool, size: u32) -> Result<Readers> {
        // One connection is made now (an unreadable file is said at once);
        // the others when reads overlap.
        let first = Cache::open_reader(path, detached)?;
        drop(first);
        let pool = r2d2::Pool::builder()
            .max_size(size.max(1))
            .min_idle(Some(1))
            .test_on_check_out(false)
            .connection_timeout(WAIT)
            .build_unchecked(Manager {
                path: path.to_path_buf(),
                detached,
            });
        Ok(Readers(pool))
    }

    /// A free reading connection; waits while all are in use (up to 30 s).
    /// Blocking.
    pub fn get(&self) -> Result<Reader> {
        self.0.get().map_err(|e| {
            CacheError::Busy(format!(
                "no reading connection came free within {} s ({e}); try again",
                WAIT.as_secs()
            ))
        })
    }
}
