//! Which cgroup hierarchy this host runs: it decides the names of the resource properties
//! ([`crate::unit::plan_scope`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use nix::sys::statfs::{statfs, FsType, CGROUP2_SUPER_MAGIC};

use crate::unit::CgroupVersion;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The hierarchy of this host, from the filesystem mounted at /sys/fs/cgroup (systemd decides
/// the same way).
pub fn cgroup_version() -> io::Result<CgroupVersion> {
    let fs = statfs(CGROUP_ROOT).map_err(|errno| {
        let e = io::Error::from(errno);
        io::Error::new(e.kind(), format!("statfs {CGROUP_ROOT}: {e}"))
    })?;
    Ok(version_of(fs.filesystem_type()))
}

/// cgroup2 at /sys/fs/cgroup is the unified hierarchy. Anything else is a tmpfs holding v1
/// hierarchies: legacy, or hybrid with cgroup2 at /sys/fs/cgroup/unified, where the
/// resource controllers are still on v1.
fn version_of(fs_type: FsType) -> CgroupVersion {
    if fs_type == CGROUP2_SUPER_MAGIC {
        CgroupVersion::V2
    } else {
        CgroupVersion::V1
    }
}

/// The directory of `control_group` (a unit's ControlGroup, "/berth.slice/...") in the
/// hierarchy systemd tracks processes in: the unified one where it is mounted (v2, or hybrid's
/// /sys/fs/cgroup/unified), else v1's name=systemd.
pub fn tracking_dir(control_group: &str) -> Option<PathBuf> {
    let rel = control_group.trim_start_matches('/');
    [
        "/sys/fs/cgroup/unified",
        "/sys/fs/cgroup/systemd",
        CGROUP_ROOT,
    ]
    .iter()
    .map(|r| Path::new(r).join(rel))
    .find(|d| d.join("cgroup.procs").exists())
}

/// Every process of `control_group` and the cgroups below it, by PID, without repeats; empty
/// when the cgroup is gone.
pub fn cgroup_pids(control_group: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    if let Some(dir) = tracking_dir(control_group) {
        collect_pids(&dir, &mut pids);
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn collect_pids(dir: &Path, out: &mut Vec<u32>) {
    if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(parse_pids(&text));
    }
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_pids(&entry.path(), out);
        }
    }
}

/// cgroup.procs: one PID a line.
pub(super) fn parse_pids(text: &str) -> impl Iterator<Item = u32> + '_ {
    text.lines().filter_map(|l| l.trim().parse::<u32>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::statfs::{CGROUP_SUPER_MAGIC, TMPFS_MAGIC};

    #[test]
    fn only_cgroup2_at_the_root_is_v2() {
        // linux/magic.h
        assert_eq!(CGROUP2_SUPER_MAGIC, FsType(0x6367_7270));
        assert_eq!(version_of(FsType(0x6367_7270)), CgroupVersion::V2);
        assert_eq!(version_of(TMPFS_MAGIC), CgroupVersion::V1);
        // A v1 hierarchy mounted at the root itself (unusual, but systemd treats it as v1).
        assert_eq!(version_of(CGROUP_SUPER_MAGIC), CgroupVersion::V1);
    }

    #[test]
    fn cgroup_procs_lines_are_pids() {
        let pids: Vec<u32> = parse_pids("12\n 345\n\nx\n").collect();
        assert_eq!(pids, [12, 345]);
    }

    #[test]
    fn this_host_has_an_answer() {
        // Whatever the host runs, /sys/fs/cgroup exists on every Linux berth supports.
        cgroup_version().unwrap();
    }
}
