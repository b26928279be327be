//! Host-wide reservations that must be unique among containers: MCS levels and user
//! namespace ID ranges. One JSON file each under /var/lib/berth, read and written only under
//! an flock, so that concurrent berth processes never hand out the same value twice; on disk,
//! so that a persistent container keeps its value across reboots.
//!
//! A reservation belongs to a container name. It is live while the container has runtime
//! state (`/run/berth/NAME`, gone at reboot and removed by every stop, rollback and cleanup
//! after a crash) or persistent data (`/var/lib/berth/NAME`, whose files carry the value as
//! their owner or label). Anything else is stale and reclaimed by the next reservation, which
//! is how the reservations of a crashed berth are recovered.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{At, IoError};
use super::files::{read_json, write_json_atomic, JsonError};
use super::lock::{FileLock, LockKind};
use super::paths::Paths;
use crate::name::Name;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Json(#[from] JsonError),
    #[error("{what} are exhausted: all {count} in {path} are in use")]
    Exhausted {
        what: &'static str,
        count: usize,
        path: PathBuf,
    },
}

/// An open registry, locked until dropped.
pub struct Registry<T> {
    path: PathBuf,
    _lock: FileLock,
    /// Container name to its value.
    pub entries: BTreeMap<String, T>,
}

impl<T: Serialize + DeserializeOwned + Clone + PartialEq> Registry<T> {
    /// Opens `path` (created when missing) and waits for its lock, `path` + `.lock`.
    pub fn open(path: &Path) -> Result<Registry<T>, RegistryError> {
        let lock = FileLock::acquire(&path.with_extension("lock"), LockKind::Exclusive, || {})?;
        let entries = read_json(path)?.unwrap_or_default();
        Ok(Registry {
            path: path.to_owned(),
            _lock: lock,
            entries,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Drops the reservations of containers that have neither runtime state nor persistent
    /// data; `keep` is a name being worked on right now.
    pub fn reclaim_stale(&mut self, paths: &Paths, keep: &Name) {
        self.entries.retain(|name, _| {
            name == keep.as_str()
                || Name::new(name)
                    .is_ok_and(|n| paths.runtime_dir(&n).exists() || paths.state_dir(&n).exists())
        });
    }

    /// Records `value` for `name` and writes the registry.
    pub fn reserve(&mut self, name: &Name, value: T) -> Result<(), RegistryError> {
        self.entries.insert(name.to_string(), value);
        self.save()
    }

    /// Forgets `name`'s reservation, if any, and writes the registry.
    pub fn release(&mut self, name: &Name) -> Result<(), RegistryError> {
        if self.entries.remove(name.as_str()).is_some() {
            self.save()?;
        }
        Ok(())
    }

    fn save(&self) -> Result<(), RegistryError> {
        write_json_atomic(&self.path, &self.entries)
            .map_err(io::Error::other)
            .at("write", &self.path)?;
        Ok(())
    }
}

/// Whether the registry at `path` holds a reservation for `name`: read without its lock, as
/// a hint that a release has something to do (the release itself takes the lock).
pub fn holds(path: &Path, name: &Name) -> bool {
    read_json::<BTreeMap<String, serde_json::Value>>(path)
        .ok()
        .flatten()
        .is_some_and(|entries| entries.contains_key(name.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn reservations_persist_and_stale_ones_are_reclaimed() {
        let base = crate::store::scratch_dir("registry");
        let paths = Paths::under(&base);
        let file = paths.lib.join("test.json");
        let (a, b, c) = (
            Name::new("a").unwrap(),
            Name::new("b").unwrap(),
            Name::new("c").unwrap(),
        );
        {
            let mut r = Registry::<u32>::open(&file).unwrap();
            r.reserve(&a, 1).unwrap();
            r.reserve(&b, 2).unwrap();
            r.reserve(&c, 3).unwrap();
        }
        fs::create_dir_all(paths.runtime_dir(&a)).unwrap();
        fs::create_dir_all(paths.state_dir(&b)).unwrap();
        let mut r = Registry::<u32>::open(&file).unwrap();
        assert_eq!(r.entries.len(), 3, "written to disk");
        r.reclaim_stale(&paths, &Name::new("d").unwrap());
        assert_eq!(r.entries.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert!(
            holds(&file, &a) && !holds(&file, &Name::new("d").unwrap()),
            "read without the lock"
        );
        r.release(&a).unwrap();
        drop(r);
        let r = Registry::<u32>::open(&file).unwrap();
        assert_eq!(r.entries.keys().collect::<Vec<_>>(), ["b"]);
        fs::remove_dir_all(&base).unwrap();
    }
}
