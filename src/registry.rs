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
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::lifecycle::state::{write_json_atomic, Paths};
use crate::name::Name;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot parse {path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
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
    _lock: Flock<File>,
    /// Container name to its value.
    pub entries: BTreeMap<String, T>,
}

impl<T: Serialize + DeserializeOwned + Clone + PartialEq> Registry<T> {
    /// Opens `path` (created when missing) and waits for its lock, `path` + `.lock`.
    pub fn open(path: &Path) -> Result<Registry<T>, RegistryError> {
        let io = |op: &'static str, p: &Path| {
            let p = p.to_owned();
            move |source| RegistryError::Io {
                op,
                path: p,
                source,
            }
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io("create", dir))?;
        }
        let lock_path = path.with_extension("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io("open", &lock_path))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| io("lock", &lock_path)(e.into()))?;
        let entries = match fs::read(path) {
            Ok(text) => serde_json::from_slice(&text).map_err(|source| RegistryError::Parse {
                path: path.to_owned(),
                source,
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(io("read", path)(e)),
        };
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
        write_json_atomic(&self.path, &self.entries).map_err(|e| RegistryError::Io {
            op: "write",
            path: self.path.clone(),
            source: io::Error::other(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_persist_and_stale_ones_are_reclaimed() {
        let base = std::env::temp_dir().join(format!("berth-registry-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let paths = Paths {
            run: base.join("run"),
            lib: base.join("lib"),
        };
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
        r.release(&a).unwrap();
        drop(r);
        let r = Registry::<u32>::open(&file).unwrap();
        assert_eq!(r.entries.keys().collect::<Vec<_>>(), ["b"]);
        fs::remove_dir_all(&base).unwrap();
    }
}
