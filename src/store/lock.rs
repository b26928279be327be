//! flock(2) locks on files of their own. The kernel drops a lock when its holder dies, so a
//! killed berth never leaves anything locked.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use super::error::{At, IoError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// To change what the lock guards.
    Exclusive,
    /// To only look: shared holders do not wait for each other.
    Shared,
}

/// A held lock, dropped with the value. Derefs to the lock file, which a holder may write.
pub struct FileLock {
    lock: Flock<File>,
}

impl std::ops::Deref for FileLock {
    type Target = File;
    fn deref(&self) -> &File {
        &self.lock
    }
}

impl FileLock {
    /// Takes the lock on `path` (created, with its directory, when missing), waiting for it if
    /// it is held, after calling `on_wait`.
    pub fn acquire(
        path: &Path,
        kind: LockKind,
        on_wait: impl FnOnce(),
    ) -> Result<FileLock, IoError> {
        let file = open(path, kind)?;
        let (now, wait) = match kind {
            LockKind::Exclusive => (FlockArg::LockExclusiveNonblock, FlockArg::LockExclusive),
            LockKind::Shared => (FlockArg::LockSharedNonblock, FlockArg::LockShared),
        };
        let lock = match Flock::lock(file, now) {
            Ok(lock) => lock,
            Err((file, Errno::EWOULDBLOCK)) => {
                on_wait();
                Flock::lock(file, wait).map_err(|(_, e)| lock_err(path, e))?
            }
            Err((_, e)) => return Err(lock_err(path, e)),
        };
        Ok(FileLock { lock })
    }

    /// The lock on `path` if nobody else holds it right now.
    pub fn try_acquire(path: &Path, kind: LockKind) -> Result<Option<FileLock>, IoError> {
        let how = match kind {
            LockKind::Exclusive => FlockArg::LockExclusiveNonblock,
            LockKind::Shared => FlockArg::LockSharedNonblock,
        };
        match Flock::lock(open(path, kind)?, how) {
            Ok(lock) => Ok(Some(FileLock { lock })),
            Err((_, Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, e)) => Err(lock_err(path, e)),
        }
    }
}

fn open(path: &Path, kind: LockKind) -> Result<File, IoError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).at("create", dir)?;
    }
    match OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(f) => Ok(f),
        // Looking needs no write access: a user may look where only root changes things.
        Err(e) if kind == LockKind::Shared && e.kind() == io::ErrorKind::PermissionDenied => {
            File::open(path).at("open", path)
        }
        Err(e) => Err(IoError::new("open", path, e)),
    }
}

fn lock_err(path: &Path, errno: Errno) -> IoError {
    IoError::new("lock", path, errno)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_locks_exclude_and_shared_ones_share() {
        let dir = crate::store::scratch_dir("lock");
        let path = dir.join("sub/x.lock");
        let first = FileLock::acquire(&path, LockKind::Exclusive, || panic!("free")).unwrap();
        // flock locks belong to open file descriptions: a second open in this process
        // conflicts like another process would.
        assert!(FileLock::try_acquire(&path, LockKind::Exclusive)
            .unwrap()
            .is_none());
        assert!(FileLock::try_acquire(&path, LockKind::Shared)
            .unwrap()
            .is_none());
        drop(first);
        let _a = FileLock::try_acquire(&path, LockKind::Shared)
            .unwrap()
            .unwrap();
        let _b = FileLock::acquire(&path, LockKind::Shared, || panic!("shared")).unwrap();
        let _ = fs::remove_dir_all(&dir);
    }
}
