//! Builds the container's root in the helper's private mount namespace and pivots into it.
//! Nothing here is visible in the host's mount table: `/` is made a slave first.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::{failed, StepError};
use crate::container::plan::{ContainerPlan, MountStep};

type Step = Result<(), StepError>;

/// `target` (a path inside the container) under the new root.
fn under(root: &Path, target: &Path) -> PathBuf {
    root.join(target.strip_prefix("/").unwrap_or(target))
}

fn mount_fs(
    step: &'static str,
    fstype: &str,
    target: &Path,
    flags: MsFlags,
    data: Option<&str>,
) -> Step {
    mkdir(step, target)?;
    mount(Some(fstype), target, Some(fstype), flags, data)
        .map_err(|e| failed(step, &format!("mount {fstype} on"), target, e))
}

fn mkdir(step: &'static str, dir: &Path) -> Step {
    fs::create_dir_all(dir).map_err(|e| failed(step, "create", dir, e))
}

/// Mounts and remounts so that nothing propagates back to the host, then builds every planned
/// step under the new root.
pub fn build(plan: &ContainerPlan) -> Step {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(|e| failed("private mounts", "make slave", Path::new("/"), e))?;
    let root = &plan.root;
    mount_fs(
        "root",
        "tmpfs",
        root,
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=0755"),
    )?;
    for step in &plan.mounts {
        carry_out(root, step)?;
    }
    Ok(())
}

fn carry_out(root: &Path, step: &MountStep) -> Step {
    match step {
        MountStep::Tmpfs {
            target,
            mode,
            size,
            noexec,
        } => {
            let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
            if *noexec {
                flags |= MsFlags::MS_NOEXEC;
            }
            let mut data = format!("mode={mode:o}");
            if let Some(size) = size {
                data.push_str(&format!(",size={size}"));
            }
            mount_fs("tmpfs", "tmpfs", &under(root, target), flags, Some(&data))
        }
        MountStep::Bind {
            source,
            target,
            read_only,
        } => bind(source, &under(root, target), *read_only),
        MountStep::TmpfsCopy { source, target } => {
            let dir = under(root, target);
            mount_fs(
                "volatile copy",
                "tmpfs",
                &dir,
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some("mode=0755"),
            )?;
            let staging = dir.join(".berth-copy");
            crate::container::tree_copy::copy_tree(source, &staging)
                .map_err(|e| StepError::new("volatile copy", e.to_string()))?;
            for entry in
                fs::read_dir(&staging).map_err(|e| failed("volatile copy", "read", &staging, e))?
            {
                let entry = entry.map_err(|e| failed("volatile copy", "read", &staging, e))?;
                let to = dir.join(entry.file_name());
                fs::rename(entry.path(), &to)
                    .map_err(|e| failed("volatile copy", "move into place", &to, e))?;
            }
            fs::remove_dir(&staging).map_err(|e| failed("volatile copy", "remove", &staging, e))
        }
        MountStep::Symlink { target, points_to } => {
            let link = under(root, target);
            symlink(points_to, &link).map_err(|e| failed("symlink", "create", &link, e))
        }
        MountStep::Proc => mount_fs(
            "proc",
            "proc",
            &root.join("proc"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None,
        ),
        MountStep::Sysfs => mount_fs(
            "sysfs",
            "sysfs",
            &root.join("sys"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None,
        ),
        MountStep::Cgroups => cgroups(root),
        MountStep::Dev { nodes } => dev(root, nodes),
    }
}

/// A bind mount of a host path; read-only binds also lose suid and device files. The mount
/// point is made to match the source (directory or file).
fn bind(source: &Path, target: &Path, read_only: bool) -> Step {
    let meta = fs::metadata(source).map_err(|e| failed("bind mount", "bind", source, e))?;
    if meta.is_dir() {
        mkdir("bind mount", target)?;
    } else {
        if let Some(parent) = target.parent() {
            mkdir("bind mount", parent)?;
        }
        if !target.exists() {
            fs::write(target, "").map_err(|e| failed("bind mount", "create", target, e))?;
        }
    }
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| {
        StepError::new(
            "bind mount",
            format!(
                "cannot bind {} to {}: {e}",
                source.display(),
                target.display()
            ),
        )
    })?;
    if read_only {
        let flags = MsFlags::MS_BIND
            | MsFlags::MS_REMOUNT
            | MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV;
        mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
            .map_err(|e| failed("bind mount", "make read-only", target, e))?;
    }
    Ok(())
}

/// The minimal /dev.
fn dev(root: &Path, nodes: &[String]) -> Step {
    let dev = root.join("dev");
    mount_fs(
        "dev",
        "tmpfs",
        &dev,
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("mode=0755,size=4m"),
    )?;
    for node in nodes {
        let host = Path::new("/dev").join(node);
        if host.exists() {
            bind(&host, &dev.join(node), false)?;
        }
    }
    mount_fs(
        "dev",
        "devpts",
        &dev.join("pts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )?;
    mount_fs(
        "dev",
        "tmpfs",
        &dev.join("shm"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777"),
    )?;
    mount_fs(
        "dev",
        "mqueue",
        &dev.join("mqueue"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None,
    )?;
    for (link, to) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let path = dev.join(link);
        symlink(to, &path).map_err(|e| failed("dev", "create", &path, e))?;
    }
    Ok(())
}

/// The hierarchies the host mounts under /sys/fs/cgroup, mounted again (read-only) in the
/// container's cgroup namespace, so that the container sees its own scope as the root.
fn cgroups(root: &Path) -> Step {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| failed("cgroups", "read", Path::new("/proc/self/mountinfo"), e))?;
    let base = root.join("sys/fs/cgroup");
    let ro = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let hierarchies = cgroup_hierarchies(&mountinfo);
    if hierarchies.iter().any(|h| h.relative.is_empty()) {
        return mount_fs("cgroups", "cgroup2", &base, ro, None);
    }
    mount(
        Some("tmpfs"),
        &base,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=0755"),
    )
    .map_err(|e| failed("cgroups", "mount tmpfs on", &base, e))?;
    for h in &hierarchies {
        let target = base.join(&h.relative);
        mkdir("cgroups", &target)?;
        mount(
            Some("cgroup"),
            &target,
            Some(h.fstype.as_str()),
            ro,
            h.options.as_deref(),
        )
        .map_err(|e| failed("cgroups", &format!("mount {} on", h.fstype), &target, e))?;
    }
    mount(
        None::<&str>,
        &base,
        None::<&str>,
        MsFlags::MS_REMOUNT | ro,
        Some("mode=0755"),
    )
    .map_err(|e| failed("cgroups", "make read-only", &base, e))
}

#[derive(Debug, PartialEq, Eq)]
pub struct Hierarchy {
    /// Below /sys/fs/cgroup; empty for a unified host.
    pub relative: String,
    pub fstype: String,
    /// The controllers of a v1 hierarchy, e.g. "memory" or "none,name=systemd".
    pub options: Option<String>,
}

/// The cgroup file systems mounted under /sys/fs/cgroup, from mountinfo.
pub fn cgroup_hierarchies(mountinfo: &str) -> Vec<Hierarchy> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let mount_point = before.split(' ').nth(4)?;
            let mut fields = after.split(' ');
            let fstype = fields.next()?;
            let super_options = fields.nth(1).unwrap_or("");
            let relative = if mount_point == "/sys/fs/cgroup" {
                String::new()
            } else {
                mount_point.strip_prefix("/sys/fs/cgroup/")?.to_owned()
            };
            match fstype {
                "cgroup2" => Some(Hierarchy {
                    relative,
                    fstype: fstype.into(),
                    options: None,
                }),
                "cgroup" => {
                    let controllers: Vec<&str> = super_options
                        .split(',')
                        .filter(|o| {
                            !matches!(*o, "rw" | "ro")
                                && !o.contains("agent")
                                && *o != "clone_children"
                        })
                        .collect();
                    let mut options = controllers.join(",");
                    if options.starts_with("name=") {
                        options = format!("none,{options}");
                    }
                    Some(Hierarchy {
                        relative,
                        fstype: fstype.into(),
                        options: Some(options),
                    })
                }
                _ => None,
            }
        })
        .collect()
}

/// Makes the new root the process's `/` and detaches the host's.
pub fn pivot(root: &Path) -> Step {
    let old = root.join(".old-root");
    mkdir("pivot_root", &old)?;
    nix::unistd::pivot_root(root, &old).map_err(|e| failed("pivot_root", "pivot into", root, e))?;
    nix::unistd::chdir("/").map_err(|e| failed("pivot_root", "chdir to", Path::new("/"), e))?;
    umount2("/.old-root", MntFlags::MNT_DETACH)
        .map_err(|e| failed("pivot_root", "detach", Path::new("/.old-root"), e))?;
    fs::remove_dir("/.old-root")
        .map_err(|e| failed("pivot_root", "remove", Path::new("/.old-root"), e))?;
    // The tmpfs root itself is read-only from now on; what must be written has its own mount.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=0755"),
    )
    .map_err(|e| failed("pivot_root", "make read-only", Path::new("/"), e))?;
    let _ = fs::set_permissions("/", fs::Permissions::from_mode(0o755));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchies_of_a_hybrid_host() {
        let m = "24 1 0:22 / /sys rw shared:7 - sysfs sysfs rw\n\
                 30 24 0:26 / /sys/fs/cgroup ro shared:9 - tmpfs tmpfs ro,mode=755\n\
                 31 30 0:27 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw,nsdelegate\n\
                 32 30 0:28 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,xattr,name=systemd\n\
                 33 30 0:29 / /sys/fs/cgroup/memory rw shared:12 - cgroup cgroup rw,memory\n\
                 34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw shared:13 - cgroup cgroup rw,cpu,cpuacct\n";
        let h = cgroup_hierarchies(m);
        assert_eq!(h.len(), 4);
        assert_eq!(
            h[0],
            Hierarchy {
                relative: "unified".into(),
                fstype: "cgroup2".into(),
                options: None
            }
        );
        assert_eq!(h[1].options.as_deref(), Some("xattr,name=systemd"));
        assert_eq!(h[2].options.as_deref(), Some("memory"));
        assert_eq!(h[3].relative, "cpu,cpuacct");
        assert_eq!(h[3].options.as_deref(), Some("cpu,cpuacct"));
    }

    #[test]
    fn hierarchies_of_a_unified_host() {
        let m = "30 24 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            cgroup_hierarchies(m),
            [Hierarchy {
                relative: String::new(),
                fstype: "cgroup2".into(),
                options: None
            }]
        );
    }
}
