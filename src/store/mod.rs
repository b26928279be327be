//! berth's state on the host: where it lives ([`Paths`]), how a file of it is replaced
//! ([`files`]) and locked ([`lock`]), the registries of host-wide reservations
//! ([`registry`], [`mcs_levels`], [`userns_ranges`]), and the one shape of a failed file
//! operation ([`IoError`]).
//!
//! It sits below everything that keeps state, so that no lower module reaches up into
//! `lifecycle` for a path or a writer.

pub mod error;
pub mod files;
pub mod lock;
pub mod mcs_levels;
pub mod paths;
pub mod registry;
pub mod userns_ranges;

pub use error::{io_err, At, IoError};
pub use files::{read_json, write_atomic, write_json_atomic, JsonError};
pub use lock::{FileLock, LockKind};
pub use paths::Paths;
pub use registry::{Registry, RegistryError};

/// Now, in realtime microseconds: the time stamps of berth's records.
pub fn now_usec() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// A fresh, empty directory for a test: `berth-TAG-PID` in the temporary directory.
#[cfg(test)]
pub(crate) fn scratch_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
