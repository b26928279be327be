//! User namespaces: each container that asks gets 65536 user and group IDs of its own, mapped
//! to 0-65535 inside, so that its root is nobody on the host.
//!
//! Ranges come from the range systemd sets aside for containers (0x00080000-0x6FFFFFFF, see
//! systemd's UIDS-GIDS.md), in steps of 65536, avoiding what /etc/subuid and /etc/subgid give
//! to rootless users. The registry (/var/lib/berth/userns.json) keeps a persistent
//! container's range across reboots, so that its files stay its own.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::{lchown, MetadataExt};
use std::path::{Path, PathBuf};

use crate::lifecycle::state::Paths;
use crate::name::Name;
use crate::registry::{Registry, RegistryError};

/// IDs per container.
pub const RANGE_SIZE: u32 = 65536;
const FIRST: u32 = 0x0008_0000;
const END: u32 = 0x7000_0000;

/// Ranges in use elsewhere, as (first, count), from files in /etc/subuid's format.
pub fn subordinate_ranges(text: &str) -> Vec<(u32, u32)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let _owner = f.next()?;
            Some((
                f.next()?.trim().parse().ok()?,
                f.next()?.trim().parse().ok()?,
            ))
        })
        .collect()
}

fn overlaps(base: u32, (first, count): (u32, u32)) -> bool {
    let (a0, a1) = (u64::from(base), u64::from(base) + u64::from(RANGE_SIZE));
    let (b0, b1) = (u64::from(first), u64::from(first) + u64::from(count));
    a0 < b1 && b0 < a1
}

/// The lowest free base.
pub fn pick(taken: &BTreeSet<u32>, elsewhere: &[(u32, u32)]) -> Option<u32> {
    (FIRST..END)
        .step_by(RANGE_SIZE as usize)
        .find(|base| !taken.contains(base) && !elsewhere.iter().any(|r| overlaps(*base, *r)))
}

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

#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct MapError {
    path: PathBuf,
    source: io::Error,
}

/// Maps IDs 0-65535 inside the user namespace of `pid` to `base`.. on the host, for users and
/// groups. Only a process outside the namespace may.
pub fn write_id_maps(pid: nix::unistd::Pid, base: u32) -> Result<(), MapError> {
    let line = format!("0 {base} {RANGE_SIZE}\n");
    for map in ["uid_map", "gid_map"] {
        let path = PathBuf::from(format!("/proc/{pid}/{map}"));
        fs::write(&path, &line).map_err(|source| MapError {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// The ID a file owned by `id` gets when its tree moves from the range at `from` to the one
/// at `to` (0 is the host's own IDs). IDs outside the old range are left alone.
fn shifted(id: u32, from: u32, to: u32) -> u32 {
    match id.checked_sub(from) {
        Some(inner) if inner < RANGE_SIZE => to + inner,
        _ => id,
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {path}: {source}")]
pub struct ShiftError {
    op: &'static str,
    path: PathBuf,
    source: io::Error,
}

/// Moves the owners of everything under `root` into the range at `to` (0: back to the host's
/// IDs). Where the tree is now is read off `root` itself, whose owner is the range's root: the
/// tree says what it is, so a shift that a crash interrupted is finished by the next one.
pub fn shift_tree(root: &Path, to: u32) -> Result<(), ShiftError> {
    let meta = fs::symlink_metadata(root).map_err(|source| ShiftError {
        op: "stat",
        path: root.to_owned(),
        source,
    })?;
    let from = meta.uid() - meta.uid() % RANGE_SIZE;
    if from == to && meta.uid() == to {
        return Ok(());
    }
    shift_entry(root, from, to, &meta)?;
    // The root last: until it is done, the next attempt sees the old range and goes on.
    Ok(())
}

fn shift_entry(path: &Path, from: u32, to: u32, meta: &fs::Metadata) -> Result<(), ShiftError> {
    let err = |op: &'static str| {
        let path = path.to_owned();
        move |source| ShiftError { op, path, source }
    };
    if meta.is_dir() {
        for entry in fs::read_dir(path).map_err(err("read"))? {
            let entry = entry.map_err(err("read"))?;
            let child = entry.path();
            let child_meta = fs::symlink_metadata(&child).map_err(|source| ShiftError {
                op: "stat",
                path: child.clone(),
                source,
            })?;
            shift_entry(&child, from, to, &child_meta)?;
        }
    }
    let (uid, gid) = (shifted(meta.uid(), from, to), shifted(meta.gid(), from, to));
    if (uid, gid) != (meta.uid(), meta.gid()) {
        // chown clears set-ID bits on files; put the mode back.
        let mode = meta.mode() & 0o7777;
        lchown(path, Some(uid), Some(gid)).map_err(err("chown"))?;
        if !meta.file_type().is_symlink() && mode & 0o6000 != 0 {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(err("chmod"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_avoid_subordinate_ids_and_each_other() {
        let elsewhere = subordinate_ranges("alice:100000:65536\nbob:0x:1\nsvc:524288:70000\n");
        assert_eq!(elsewhere, [(100000, 65536), (524288, 70000)]);
        let mut taken = BTreeSet::new();
        let first = pick(&taken, &elsewhere).unwrap();
        assert_eq!(
            first,
            FIRST + 2 * RANGE_SIZE,
            "the svc range covers two slots"
        );
        taken.insert(first);
        assert_eq!(pick(&taken, &elsewhere), Some(first + RANGE_SIZE));
    }

    #[test]
    fn ids_shift_between_ranges() {
        assert_eq!(shifted(0, 0, 524288), 524288);
        assert_eq!(shifted(33, 0, 524288), 524321);
        assert_eq!(shifted(524321, 524288, 0), 33);
        assert_eq!(shifted(70000, 0, 524288), 70000, "outside the range");
    }

    #[test]
    fn trees_shift_and_say_where_they_are() {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("SKIP trees_shift_and_say_where_they_are: chown needs root");
            return;
        }
        let base = std::env::temp_dir().join(format!("berth-shift-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(base.join("sub")).unwrap();
        fs::write(base.join("sub/f"), "x").unwrap();
        lchown(base.join("sub/f"), Some(33), Some(33)).unwrap();
        std::os::unix::fs::symlink("f", base.join("sub/l")).unwrap();
        shift_tree(&base, 524288).unwrap();
        let owner = |p: &str| {
            let m = fs::symlink_metadata(base.join(p)).unwrap();
            (m.uid(), m.gid())
        };
        assert_eq!(owner(""), (524288, 524288));
        assert_eq!(owner("sub/f"), (524321, 524321));
        assert_eq!(owner("sub/l"), (524288, 524288));
        shift_tree(&base, 524288).unwrap();
        assert_eq!(
            owner("sub/f"),
            (524321, 524321),
            "a second shift changes nothing"
        );
        shift_tree(&base, 0).unwrap();
        assert_eq!(owner("sub/f"), (33, 33));
        fs::remove_dir_all(&base).unwrap();
    }
}
