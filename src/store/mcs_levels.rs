//! MCS levels reserved on this host, one per container that runs under SELinux.
//!
//! Uniqueness holds across concurrent berth processes and reboots (the registry,
//! /var/lib/berth/mcs.json), and against other managers such as podman, whose running
//! processes' levels are read from /proc before a pair is chosen.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::Path;

use super::paths::Paths;
use super::registry::{Registry, RegistryError};
use crate::name::Name;
use crate::security::mcs::{level_of_context, pick, Categories, Level};

/// The two-category levels of the processes running on this host (podman's containers,
/// another berth's), from `proc`/PID/attr/current, each with one process that has it.
pub fn levels_of_running_processes(proc: &Path) -> BTreeMap<Level, String> {
    let mut levels = BTreeMap::new();
    for entry in fs::read_dir(proc).into_iter().flatten().flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        let Ok(context) = fs::read_to_string(entry.path().join("attr/current")) else {
            continue;
        };
        if let Some(level) = level_of_context(context.trim_end_matches(['\0', '\n'])) {
            levels.insert(level, entry.file_name().to_string_lossy().into_owned());
        }
    }
    levels
}

#[derive(Debug, thiserror::Error)]
pub enum McsError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("MCS level {level} is already used by container `{other}`")]
    Taken { level: Level, other: String },
    #[error("MCS level {level} is already used by process {pid} on this host")]
    InUse { level: Level, pid: String },
    #[error("security.selinux_level: {message}")]
    Fixed { message: String },
}

pub fn registry_path(paths: &Paths) -> std::path::PathBuf {
    paths.lib.join("mcs.json")
}

/// Reserves a level for `name`: the one it already has, the definition's fixed one, or a new
/// random one that neither another container nor a process running under `proc` has.
pub fn reserve(
    paths: &Paths,
    proc: &Path,
    name: &Name,
    fixed: Option<Level>,
    range: Categories,
) -> Result<Level, McsError> {
    let mut registry = Registry::<Level>::open(&registry_path(paths))?;
    registry.reclaim_stale(paths, name);
    let current = registry.entries.get(name.as_str()).copied();
    let taken_by_others: BTreeSet<Level> = registry
        .entries
        .iter()
        .filter(|(n, _)| n.as_str() != name.as_str())
        .map(|(_, l)| *l)
        .collect();
    let level = match (fixed, current) {
        (Some(level), _) => {
            if let Some((other, _)) = registry
                .entries
                .iter()
                .find(|(n, l)| **l == level && n.as_str() != name.as_str())
            {
                return Err(McsError::Taken {
                    level,
                    other: other.clone(),
                });
            }
            if let Some(pid) = levels_of_running_processes(proc).remove(&level) {
                return Err(McsError::InUse { level, pid });
            }
            level
        }
        (None, Some(level)) if range.contains(&level) => level,
        (None, _) => {
            let mut taken = taken_by_others;
            taken.extend(levels_of_running_processes(proc).into_keys());
            pick(range, &taken, random_u64).ok_or_else(|| RegistryError::Exhausted {
                what: "MCS category pairs",
                count: range.pairs() as usize,
                path: registry.path().to_owned(),
            })?
        }
    };
    if current != Some(level) {
        registry.reserve(name, level)?;
    }
    Ok(level)
}

/// Releases `name`'s level unless the container keeps persistent data labelled with it.
pub fn release_unless_persistent(paths: &Paths, name: &Name) -> Result<(), McsError> {
    if paths.state_dir(name).exists() {
        return Ok(());
    }
    let mut registry = Registry::<Level>::open(&registry_path(paths))?;
    Ok(registry.release(name)?)
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // /dev/urandom does not block and does not fail on a running Linux system; should it,
    // the level still cannot collide: every pick is checked against what is taken.
    let _ = fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    u64::from_ne_bytes(bytes) ^ u64::from(std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_unique_kept_and_released() {
        let base = crate::store::scratch_dir("mcs");
        let paths = Paths::under(&base);
        let range = Categories { first: 0, last: 2 };
        let names: Vec<Name> = ["a", "b", "c"]
            .iter()
            .map(|n| Name::new(n).unwrap())
            .collect();
        let mut levels = BTreeSet::new();
        for n in &names {
            fs::create_dir_all(paths.runtime_dir(n)).unwrap();
            levels.insert(reserve(&paths, &paths.run, n, None, range).unwrap());
        }
        assert_eq!(levels.len(), 3, "three containers, three pairs");
        let d = Name::new("d").unwrap();
        assert!(matches!(
            reserve(&paths, &paths.run, &d, None, range),
            Err(McsError::Registry(RegistryError::Exhausted { .. }))
        ));
        // The same container keeps its level.
        let a_level = reserve(&paths, &paths.run, &names[0], None, range).unwrap();
        assert!(levels.contains(&a_level));
        assert_eq!(
            reserve(&paths, &paths.run, &names[0], None, range).unwrap(),
            a_level
        );
        // Another container cannot take it as a fixed level.
        assert!(matches!(
            reserve(&paths, &paths.run, &d, Some(a_level), range),
            Err(McsError::Taken { .. })
        ));
        // Stopped without persistent data: released, and free for the next one.
        fs::remove_dir_all(paths.runtime_dir(&names[0])).unwrap();
        release_unless_persistent(&paths, &names[0]).unwrap();
        assert_eq!(
            reserve(&paths, &paths.run, &d, None, range).unwrap(),
            a_level
        );
        fs::remove_dir_all(&base).unwrap();
    }
}
