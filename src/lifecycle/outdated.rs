//! Which running containers a host update left outdated: their processes still map files from
//! /usr that the host has since replaced or deleted, the way needrestart and `zypper ps` find
//! them. `berth list` and `status` mark them; `berth apply --restart-outdated` restarts them.
//!
//! A container's /usr is the host's, so a package update on the host replaces the files
//! under it; a process keeps the old file mapped until it restarts. Package managers replace
//! by writing a new file and renaming it over the old one, which leaves the mapping pointing
//! at an unlinked inode: /proc/PID/maps marks it " (deleted)". A file replaced while the old
//! inode stays linked somewhere shows as an inode that no longer matches the file at its path.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const DELETED: &str = " (deleted)";

/// One file mapping of /proc/PID/maps under /usr.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mapping {
    /// As the process sees it (its root may not be the host's).
    path: String,
    deleted: bool,
    /// The device the mapped inode is on, as (major, minor).
    dev: (u32, u32),
    inode: u64,
}

/// The file mappings under /usr in a /proc/PID/maps text:
/// `address perms offset major:minor inode path`.
fn usr_mappings(maps: &str) -> Vec<Mapping> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(6, ' ');
            let (_, _, _, dev, inode) = (
                fields.next()?,
                fields.next()?,
                fields.next()?,
                fields.next()?,
                fields.next()?,
            );
            let raw = fields.next()?.trim_start();
            let (path, deleted) = match raw.strip_suffix(DELETED) {
                Some(p) => (p, true),
                None => (raw, false),
            };
            if !path.starts_with("/usr/") {
                return None;
            }
            let (major, minor) = dev.split_once(':')?;
            Some(Mapping {
                path: path.to_owned(),
                deleted,
                dev: (
                    u32::from_str_radix(major, 16).ok()?,
                    u32::from_str_radix(minor, 16).ok()?,
                ),
                inode: inode.parse().ok()?,
            })
        })
        .collect()
}

/// Whether the file mapped is no longer the one at its path. `now` is the (device, inode) at
/// the path today, None when nothing is there. An inode is compared only on the device the
/// mapping names: where the path reaches the file through a stacking filesystem (overlayfs)
/// its device differs, and its inode numbers say nothing.
fn is_stale(m: &Mapping, now: Option<((u32, u32), u64)>) -> bool {
    match now {
        _ if m.deleted => true,
        None => true,
        Some((dev, inode)) => dev == m.dev && inode != m.inode,
    }
}

/// The files under /usr that `pids` map and that were replaced or deleted since, each once,
/// sorted. A process that is gone, or whose maps cannot be read, counts as mapping nothing.
pub fn outdated_files(pids: &[u32]) -> Vec<String> {
    let mut out = Vec::new();
    for pid in pids {
        let Ok(maps) = fs::read_to_string(format!("/proc/{pid}/maps")) else {
            continue;
        };
        // The path as the process sees it: through its own root.
        let root = PathBuf::from(format!("/proc/{pid}/root"));
        for m in usr_mappings(&maps) {
            if out.contains(&m.path) {
                continue;
            }
            let now = if m.deleted {
                None
            } else {
                identity(&root.join(m.path.trim_start_matches('/')))
            };
            if is_stale(&m, now) {
                out.push(m.path);
            }
        }
    }
    out.sort();
    out
}

fn identity(path: &Path) -> Option<((u32, u32), u64)> {
    let meta = fs::metadata(path).ok()?;
    let dev = meta.dev();
    Some(((libc::major(dev), libc::minor(dev)), meta.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1311 /usr/bin/sleep
55d0c0a02000-55d0c0a06000 r-xp 00002000 fd:01 1311 /usr/bin/sleep
7f1e2c000000-7f1e2c028000 r--p 00000000 fd:01 2402 /usr/lib/x86_64-linux-gnu/libc.so.6 (deleted)
7f1e2c200000-7f1e2c201000 rw-p 00000000 00:00 0 
7f1e2c300000-7f1e2c301000 r--p 00000000 00:1f 77 /etc/ld.so.cache
7f1e2c400000-7f1e2c401000 r--p 00000000 fd:01 99 /usr/lib/with space.so
7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0                          [stack]
";

    #[test]
    fn only_file_mappings_under_usr_with_their_inode() {
        let m = usr_mappings(MAPS);
        let paths: Vec<(&str, bool)> = m.iter().map(|m| (m.path.as_str(), m.deleted)).collect();
        assert_eq!(
            paths,
            [
                ("/usr/bin/sleep", false),
                ("/usr/bin/sleep", false),
                ("/usr/lib/x86_64-linux-gnu/libc.so.6", true),
                ("/usr/lib/with space.so", false),
            ]
        );
        assert_eq!((m[0].dev, m[0].inode), ((0xfd, 1), 1311));
    }

    #[test]
    fn deleted_gone_or_another_inode_on_the_same_device_is_stale() {
        let m = |deleted| Mapping {
            path: "/usr/bin/sleep".into(),
            deleted,
            dev: (0xfd, 1),
            inode: 1311,
        };
        assert!(is_stale(&m(true), Some(((0xfd, 1), 1311))));
        assert!(is_stale(&m(false), None));
        assert!(is_stale(&m(false), Some(((0xfd, 1), 4242))));
        assert!(!is_stale(&m(false), Some(((0xfd, 1), 1311))));
        // Through overlayfs the path's device is the overlay's: no comparison possible.
        assert!(!is_stale(&m(false), Some(((0, 45), 4242))));
    }

    #[test]
    fn this_process_maps_nothing_outdated() {
        assert_eq!(outdated_files(&[std::process::id()]), Vec::<String>::new());
    }
}
