//! Which cgroup hierarchy this host runs: it decides the names of the resource properties
//! ([`crate::unit::plan_scope`]).

use std::io;

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
    fn this_host_has_an_answer() {
        // Whatever the host runs, /sys/fs/cgroup exists on every Linux berth supports.
        cgroup_version().unwrap();
    }
}
