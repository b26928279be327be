//! User namespace ranges reserved on this host, one per container that asks for a user
//! namespace. The registry (/var/lib/berth/userns.json) keeps a persistent container's range
//! across reboots, so that its files stay its own.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::paths::Paths;
use super::registry::{Registry, RegistryError};
use crate::name::Name;
use crate::security::userns::{pick, subordinate_ranges, END, FIRST, RANGE_SIZE};

pub fn registry_path(paths: &Paths) -> PathBuf {
    paths.lib.join("userns.json")
}

/// Reserves `name`'s range (the one it has, or the lowest free one).
pub fn reserve(paths: &Paths, etc: &Path, name: &Name) -> Result<u32, RegistryError> {
    let mut registry = Registry::<u32>::open(&registry_path(paths))?;
    registry.reclaim_stale(paths, name);
    if let Some(base) = registry.entries.get(name.as_str()) {
        return Ok(*base);
    }
    let mut elsewhere = Vec::new();
    for file in ["subuid", "subgid"] {
        if let Ok(text) = fs::read_to_string(etc.join(file)) {
            elsewhere.extend(subordinate_ranges(&text));
        }
    }
    let taken: BTreeSet<u32> = registry.entries.values().copied().collect();
    let base = pick(&taken, &elsewhere).ok_or_else(|| RegistryError::Exhausted {
        what: "user namespace ranges",
        count: ((END - FIRST) / RANGE_SIZE) as usize,
        path: registry.path().to_owned(),
    })?;
    registry.reserve(name, base)?;
    Ok(base)
}

/// Releases `name`'s range unless the container keeps persistent data owned by it.
pub fn release_unless_persistent(paths: &Paths, name: &Name) -> Result<(), RegistryError> {
    if paths.state_dir(name).exists() {
        return Ok(());
    }
    Registry::<u32>::open(&registry_path(paths))?.release(name)
}
