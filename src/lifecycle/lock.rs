//! One berth at a time per container: an flock on `/run/berth/NAME.lock`. The kernel drops
//! it when the holder dies, so a killed berth never leaves a container locked.

use std::path::Path;

use crate::store::{FileLock, IoError, LockKind};

pub struct ContainerLock {
    _lock: FileLock,
}

impl ContainerLock {
    /// Waits for other berth processes working on the same container.
    pub fn acquire(path: &Path) -> Result<ContainerLock, IoError> {
        let lock = FileLock::acquire(path, LockKind::Exclusive, || {})?;
        Ok(ContainerLock { _lock: lock })
    }

    /// The lock if nobody else holds it right now.
    pub fn try_acquire(path: &Path) -> Result<Option<ContainerLock>, IoError> {
        Ok(FileLock::try_acquire(path, LockKind::Exclusive)?
            .map(|lock| ContainerLock { _lock: lock }))
    }
}
