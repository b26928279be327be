//! Builds the container's root in the helper's private mount namespace and pivots into it.
//! Nothing here is visible in the host's mount table: `/` is made a slave first.
//!
//! With a user namespace, the container's root builds it without host privileges. The kernel
//! then refuses what would reveal more than the host already shows (a fresh sysfs over a
//! partly hidden one, cgroup v1 hierarchies) and keeps the host's mount flags locked; each
//! step has its way around that, said where it is taken.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::statvfs::{statvfs, FsFlags};

use super::userns::{self, IdmappedTree};
use super::{Step, StepError};
use crate::container::mountinfo;
use crate::container::plan::{ContainerPlan, MountStep, RootFs};
use crate::container::state_dirs::make_etc_own;
use crate::container::tree_copy::copy_tree;
use crate::security::selinux;

/// A step of the build, done.
type Done = Result<(), StepError>;

/// `target` (a path inside the container) under the new root.
fn under(root: &Path, target: &Path) -> PathBuf {
    root.join(target.strip_prefix("/").unwrap_or(target))
}

fn mkdir(step: Step, dir: &Path) -> Done {
    fs::create_dir_all(dir).map_err(step.on("create", dir))
}

fn read_mountinfo(step: Step) -> Result<String, StepError> {
    fs::read_to_string("/proc/self/mountinfo")
        .map_err(step.on("read", Path::new("/proc/self/mountinfo")))
}

/// What the root is built from: the plan and the host facts that only the helper can see.
pub struct Builder<'a> {
    plan: &'a ContainerPlan,
    /// /proc/self/cgroup as read before the cgroup namespace hid the container's place in
    /// the host's hierarchies.
    host_cgroups: &'a str,
    /// The host's mount table, read once: what a recursive bind of a host path brings along.
    host_mounts: Vec<PathBuf>,
    /// The terminal that becomes the container's /dev/console (boot mode).
    console: Option<&'a Path>,
    /// The trees of the plan's idmapped binds (a user namespace).
    idmapped: &'a [IdmappedTree],
}

impl<'a> Builder<'a> {
    pub fn new(plan: &'a ContainerPlan, host_cgroups: &'a str) -> Result<Self, StepError> {
        let host_mounts =
            mountinfo::mount_points_under(&read_mountinfo(Step::PrivateMounts)?, Path::new("/"));
        Ok(Builder {
            plan,
            host_cgroups,
            host_mounts,
            console: None,
            idmapped: &[],
        })
    }

    pub fn with_console(mut self, console: Option<&'a Path>) -> Self {
        self.console = console;
        self
    }

    pub fn with_idmapped(mut self, idmapped: &'a [IdmappedTree]) -> Self {
        self.idmapped = idmapped;
        self
    }

    /// A bind mount of a host path, with everything mounted below it; read-only binds are
    /// read-only, nosuid and nodev all the way down. The mount point is made to match the
    /// source (directory or file).
    fn bind(&self, source: &Path, target: &Path, read_only: bool) -> Done {
        bind_mount(source, target)?;
        if read_only {
            self.make_read_only(source, target)?;
        }
        Ok(())
    }

    /// [`Self::bind`] by way of the idmapped tree of `source` that the helper made before the
    /// user namespace took its privilege.
    fn bind_idmapped(&self, source: &Path, target: &Path, read_only: bool) -> Done {
        let tree = self
            .idmapped
            .iter()
            .find(|t| t.source == source)
            .ok_or_else(|| {
                Step::IdmappedMounts
                    .refused(format!("no idmapped tree of {} was made", source.display()))
            })?;
        userns::attach(tree, target)?;
        if read_only {
            self.make_read_only(source, target)?;
        }
        Ok(())
    }

    /// Makes a bind of `source` at `target` read-only, nosuid and nodev, and everything the
    /// host mounts below `source` with it.
    fn make_read_only(&self, source: &Path, target: &Path) -> Done {
        let source = fs::canonicalize(source).map_err(Step::BindMount.on("resolve", source))?;
        let below = self
            .host_mounts
            .iter()
            .filter(|m| m.starts_with(&source) && **m != source)
            .filter_map(|m| m.strip_prefix(&source).ok())
            .map(|rel| target.join(rel));
        for path in std::iter::once(target.to_owned()).chain(below) {
            bind_remount_read_only(
                Step::ReadOnlyMount,
                &path,
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            )?;
        }
        Ok(())
    }

    fn in_user_namespace(&self) -> bool {
        self.plan.user_namespace.is_some()
    }

    /// Mount options for a file system berth makes: `base`, plus the container's SELinux
    /// label, so that its processes may use what is in it.
    fn data(&self, base: &str) -> String {
        match &self.plan.file_label {
            Some(label) => format!("{base},{}", selinux::mount_option(label)),
            None => base.to_owned(),
        }
    }

    fn mount_new(
        &self,
        step: Step,
        fstype: &str,
        target: &Path,
        flags: MsFlags,
        data: Option<&str>,
    ) -> Done {
        mkdir(step, target)?;
        mount(Some(fstype), target, Some(fstype), flags, data)
            .map_err(step.on(format!("mount {fstype} on"), target))
    }

    fn tmpfs(&self, step: Step, target: &Path, flags: MsFlags, base: &str) -> Done {
        self.mount_new(step, "tmpfs", target, flags, Some(&self.data(base)))
    }

    /// Makes `/` a slave so that nothing propagates back to the host, then carries out every
    /// planned step under the new root.
    pub fn build(&self) -> Done {
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_SLAVE,
            None::<&str>,
        )
        .map_err(Step::PrivateMounts.on("make slave", Path::new("/")))?;
        let root = &self.plan.root;
        match &self.plan.root_fs {
            RootFs::Tmpfs { .. } => self.tmpfs(
                Step::Root,
                root,
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                "mode=0755",
            )?,
            RootFs::Overlay { lower, upper, work } => {
                let options = format!(
                    "lowerdir={},upperdir={},workdir={}",
                    lower.display(),
                    upper.display(),
                    work.display()
                );
                self.mount_new(
                    Step::Root,
                    "overlay",
                    root,
                    MsFlags::empty(),
                    Some(&self.data(&options)),
                )?;
            }
        }
        for step in &self.plan.mounts {
            self.carry_out(root, step)?;
        }
        Ok(())
    }

    fn carry_out(&self, root: &Path, step: &MountStep) -> Done {
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
                let mut base = format!("mode={mode:o}");
                if let Some(size) = size {
                    base.push_str(&format!(",size={size}"));
                }
                self.tmpfs(Step::Tmpfs, &under(root, target), flags, &base)
            }
            MountStep::Bind {
                source,
                target,
                read_only,
                idmap: false,
            } => self.bind(source, &under(root, target), *read_only),
            MountStep::Bind {
                source,
                target,
                read_only,
                idmap: true,
            } => self.bind_idmapped(source, &under(root, target), *read_only),
            MountStep::VolatileEtc { source } => self.volatile_etc(source, &root.join("etc")),
            MountStep::WriteFile {
                target,
                contents,
                replace,
            } => write_file(&under(root, target), contents, *replace),
            MountStep::Symlink { target, points_to } => {
                let link = under(root, target);
                symlink(points_to, &link).map_err(Step::Symlink.on("create", &link))
            }
            MountStep::Proc => self.mount_new(
                Step::Proc,
                "proc",
                &root.join("proc"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                None,
            ),
            MountStep::Sysfs => self.sysfs(&root.join("sys")),
            MountStep::Cgroups { writable } => self.cgroups(root, *writable),
            MountStep::Dev { nodes, console } => self.dev(root, nodes, *console),
            MountStep::Mask { target } => self.mask(&under(root, target)),
            MountStep::ReadOnly { target } => {
                let path = under(root, target);
                if !path.exists() {
                    return Ok(());
                }
                // Inside the new root, nothing is mounted below these yet.
                mount(
                    Some(&path),
                    &path,
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .map_err(Step::ReadOnlyPath.on("bind", &path))?;
                bind_remount_read_only(
                    Step::ReadOnlyPath,
                    &path,
                    MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                )
            }
        }
    }

    fn volatile_etc(&self, source: &Path, dir: &Path) -> Done {
        self.tmpfs(
            Step::VolatileEtc,
            dir,
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            "mode=0755",
        )?;
        let staging = dir.join(".berth-copy");
        copy_tree(source, &staging).map_err(|e| Step::VolatileEtc.nested(e))?;
        for entry in fs::read_dir(&staging).map_err(Step::VolatileEtc.on("read", &staging))? {
            let entry = entry.map_err(Step::VolatileEtc.on("read", &staging))?;
            let to = dir.join(entry.file_name());
            fs::rename(entry.path(), &to).map_err(Step::VolatileEtc.on("move into place", &to))?;
        }
        fs::remove_dir(&staging).map_err(Step::VolatileEtc.on("remove", &staging))?;
        make_etc_own(dir, &self.plan.hostname, &self.plan.machine_id)
            .map_err(|e| Step::VolatileEtc.nested(e))
    }

    /// A fresh read-only sysfs. In a user namespace the kernel allows that only where the
    /// namespace owns the network namespace and the host's sysfs is fully visible; elsewhere
    /// the host's is bound, read-only.
    fn sysfs(&self, target: &Path) -> Done {
        let ro = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        mkdir(Step::Sysfs, target)?;
        match mount(Some("sysfs"), target, Some("sysfs"), ro, None::<&str>) {
            Ok(()) => Ok(()),
            Err(Errno::EPERM) if self.in_user_namespace() => {
                self.bind(Path::new("/sys"), target, true)
            }
            Err(e) => Err(Step::Sysfs.on("mount sysfs on", target)(e)),
        }
    }

    /// The minimal /dev.
    fn dev(&self, root: &Path, nodes: &[String], console: bool) -> Done {
        let dev = root.join("dev");
        self.tmpfs(
            Step::Dev,
            &dev,
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
            "mode=0755,size=4m",
        )?;
        for node in nodes {
            let host = Path::new("/dev").join(node);
            if host.exists() {
                self.bind(&host, &dev.join(node), false)?;
            }
        }
        self.mount_new(
            Step::Dev,
            "devpts",
            &dev.join("pts"),
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
            Some(&self.data("newinstance,ptmxmode=0666,mode=0620,gid=5")),
        )?;
        self.tmpfs(
            Step::Dev,
            &dev.join("shm"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            "mode=1777",
        )?;
        self.mount_new(
            Step::Dev,
            "mqueue",
            &dev.join("mqueue"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None,
        )?;
        if let (true, Some(terminal)) = (console, self.console) {
            self.bind(terminal, &dev.join("console"), false)?;
        }
        for (link, to) in [
            ("ptmx", "pts/ptmx"),
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            let path = dev.join(link);
            symlink(to, &path).map_err(Step::Dev.on("create", &path))?;
        }
        Ok(())
    }

    /// The hierarchies the host mounts under /sys/fs/cgroup, read-only, each showing the
    /// container's own cgroup as its root. cgroup2 is mounted afresh in the container's cgroup
    /// namespace; so are v1 hierarchies, except in a user namespace, where the kernel does not
    /// mount them and the container's directory in the host's hierarchy is bound instead.
    fn cgroups(&self, root: &Path, writable: bool) -> Done {
        let base = root.join("sys/fs/cgroup");
        let rw = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        let ro = MsFlags::MS_RDONLY | rw;
        let hierarchies = mountinfo::cgroup_hierarchies(&read_mountinfo(Step::Cgroups)?);
        if hierarchies.iter().any(|h| h.relative.is_empty()) {
            let flags = if writable { rw } else { ro };
            return match self.mount_new(Step::Cgroups, "cgroup2", &base, flags, None) {
                // The host's /sys was bound (a user namespace, see sysfs()), and with it the
                // host's cgroup2 here: the kernel does not mount a file system over its own
                // root. A tmpfs between them will do.
                Err(_) if self.in_user_namespace() => {
                    self.tmpfs(Step::Cgroups, &base, rw, "mode=0755")?;
                    self.mount_new(Step::Cgroups, "cgroup2", &base, flags, None)
                }
                other => other,
            };
        }
        self.tmpfs(
            Step::Cgroups,
            &base,
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            "mode=0755",
        )?;
        for h in &hierarchies {
            let target = base.join(&h.relative);
            mkdir(Step::Cgroups, &target)?;
            match (&h.options, self.in_user_namespace()) {
                (Some(options), true) => {
                    let own = mountinfo::own_v1_cgroup(self.host_cgroups, options).unwrap_or("/");
                    let source = Path::new("/sys/fs/cgroup")
                        .join(&h.relative)
                        .join(own.trim_start_matches('/'));
                    self.bind(&source, &target, true)?;
                }
                (options, _) => mount(
                    Some("cgroup"),
                    &target,
                    Some(h.fstype.as_str()),
                    if writable && h.is_init_systems() {
                        rw
                    } else {
                        ro
                    },
                    options.as_deref(),
                )
                .map_err(Step::Cgroups.on(format!("mount {} on", h.fstype), &target))?,
            }
        }
        bind_remount_read_only(
            Step::Cgroups,
            &base,
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        )
    }

    /// Hides a path: a file under /dev/null, a directory under an empty read-only tmpfs.
    fn mask(&self, path: &Path) -> Done {
        match fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Step::MaskedPath.on("inspect", path)(e)),
            Ok(m) if m.is_dir() => self.tmpfs(
                Step::MaskedPath,
                path,
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                "mode=0555",
            ),
            Ok(_) => mount(
                Some("/dev/null"),
                path,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(Step::MaskedPath.on("cover", path)),
        }
    }
}

/// Writes a file the container gets from berth; see [`MountStep::WriteFile`].
fn write_file(path: &Path, contents: &str, replace: bool) -> Done {
    let exists = fs::symlink_metadata(path).is_ok();
    if exists && !replace {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        mkdir(Step::WriteFile, parent)?;
    }
    if exists {
        fs::remove_file(path).map_err(Step::WriteFile.on("replace", path))?;
    }
    fs::write(path, contents).map_err(Step::WriteFile.on("write", path))
}

/// Binds `source` and everything mounted below it onto `target`, made to match it (directory
/// or file).
fn bind_mount(source: &Path, target: &Path) -> Done {
    let meta = fs::metadata(source).map_err(Step::BindMount.on("bind", source))?;
    if meta.is_dir() {
        mkdir(Step::BindMount, target)?;
    } else {
        if let Some(parent) = target.parent() {
            mkdir(Step::BindMount, parent)?;
        }
        if !target.exists() {
            fs::write(target, "").map_err(Step::BindMount.on("create", target))?;
        }
    }
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(Step::BindMount.call(format!(
        "bind {} to {}",
        source.display(),
        target.display()
    )))
}

/// The flags the kernel keeps locked on a mount made by a more privileged namespace: a
/// remount must repeat them, or it is refused.
fn locked_flags(path: &Path) -> Result<MsFlags, StepError> {
    let st = statvfs(path).map_err(Step::ReadOnlyMount.on("inspect", path))?;
    let f = st.flags();
    let mut flags = MsFlags::empty();
    for (fs_flag, ms_flag) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs_flag) {
            flags |= ms_flag;
        }
    }
    Ok(flags)
}

fn bind_remount_read_only(step: Step, path: &Path, extra: MsFlags) -> Done {
    let flags =
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | extra | locked_flags(path)?;
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>)
        .map_err(step.on("make read-only", path))
}

/// Makes the new root the process's `/` and detaches the host's.
pub fn pivot(root: &Path, root_fs: &RootFs) -> Done {
    let old = root.join(".old-root");
    mkdir(Step::PivotRoot, &old)?;
    nix::unistd::pivot_root(root, &old).map_err(Step::PivotRoot.on("pivot into", root))?;
    nix::unistd::chdir("/").map_err(Step::PivotRoot.on("chdir to", Path::new("/")))?;
    umount2("/.old-root", MntFlags::MNT_DETACH)
        .map_err(Step::PivotRoot.on("detach", Path::new("/.old-root")))?;
    fs::remove_dir("/.old-root").map_err(Step::PivotRoot.on("remove", Path::new("/.old-root")))?;
    match root_fs {
        // A host container's root holds only mount points: read-only, unless an init system
        // inside wants to make its own.
        RootFs::Tmpfs { read_only: true } => bind_remount_read_only(
            Step::PivotRoot,
            Path::new("/"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        ),
        _ => Ok(()),
    }
}
