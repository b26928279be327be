//! One berth at a time per container: an flock on `/run/berth/NAME.lock`. The kernel drops
//! it when the holder dies, so a killed berth never leaves a container locked.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot open lock file {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot lock {path}: {source}")]
    Lock { path: PathBuf, source: nix::Error },
}

pub struct ContainerLock {
    _lock: Flock<File>,
}

impl ContainerLock {
    /// Waits for other berth processes working on the same container.
    pub fn acquire(path: &Path) -> Result<ContainerLock, LockError> {
        Self::lock(path, FlockArg::LockExclusive)?.ok_or_else(|| LockError::Lock {
            path: path.to_owned(),
            source: nix::errno::Errno::EWOULDBLOCK,
        })
    }

    /// The lock if nobody else holds it right now.
    pub fn try_acquire(path: &Path) -> Result<Option<ContainerLock>, LockError> {
        Self::lock(path, FlockArg::LockExclusiveNonblock)
    }

    fn lock(path: &Path, how: FlockArg) -> Result<Option<ContainerLock>, LockError> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|source| LockError::Open {
                path: path.to_owned(),
                source,
            })?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|source| LockError::Open {
                path: path.to_owned(),
                source,
            })?;
        match Flock::lock(file, how) {
            Ok(lock) => Ok(Some(ContainerLock { _lock: lock })),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, source)) => Err(LockError::Lock {
                path: path.to_owned(),
                source,
            }),
        }
    }
}
