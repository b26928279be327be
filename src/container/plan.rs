//! What the helper builds, as plain data: namespaces, the mounts of the new root in order, and
//! the payload. Made from a definition and the host's layout, without touching anything.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::definition::model::{
    Definition, EtcMode, ImageSource, Kind, Limit, Mode, Network, VarMode,
};
use crate::name::Name;
use crate::security::selinux::Labels;
use crate::security::{capabilities, paths, Confinement, Profile};
use crate::unit::devices;

/// A top-level entry of the host's root that the container shares: merged-/usr hosts have
/// symlinks (`/bin -> usr/bin`), older ones real directories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TopLevel {
    Symlink { name: String, target: String },
    Directory { name: String },
}

/// The host facts a plan depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLayout {
    /// `/run/berth/NAME`.
    pub runtime_dir: PathBuf,
    /// `/var/lib/berth/NAME`.
    pub state_dir: PathBuf,
    /// Where the container's init records how the payload ended.
    pub exit_file: PathBuf,
    pub top_level: Vec<TopLevel>,
    /// `/var/lib/berth/images`.
    pub images: PathBuf,
    /// The host's /etc/resolv.conf, which an image container gets a copy of.
    pub resolv_conf: Option<String>,
}

const SHARED_TOP_LEVEL: [&str; 6] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

impl HostLayout {
    /// Reads how the host lays out /bin, /sbin and the /lib directories.
    pub fn probe(name: &Name, run: &Path, lib: &Path) -> io::Result<HostLayout> {
        let mut top_level = Vec::new();
        for entry in SHARED_TOP_LEVEL {
            let path = Path::new("/").join(entry);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => top_level.push(TopLevel::Symlink {
                    name: entry.into(),
                    target: fs::read_link(&path)?.to_string_lossy().into_owned(),
                }),
                Ok(m) if m.is_dir() => top_level.push(TopLevel::Directory { name: entry.into() }),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(HostLayout {
            runtime_dir: run.join(name.as_str()),
            state_dir: lib.join(name.as_str()),
            exit_file: run.join(format!("{name}.exit.json")),
            top_level,
            images: lib.join("images"),
            resolv_conf: fs::read_to_string("/etc/resolv.conf").ok(),
        })
    }
}

/// One step in building the new root. Targets are paths inside the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MountStep {
    Tmpfs {
        target: PathBuf,
        mode: u32,
        size: Option<u64>,
        noexec: bool,
    },
    /// A bind mount; sources are host paths. Read-only binds are also nosuid and nodev.
    /// `idmap`: an idmapped mount that shows the host's IDs 0-65535 as the container's (its
    /// private /etc and /var, kept owned by the host's IDs on disk).
    Bind {
        source: PathBuf,
        target: PathBuf,
        read_only: bool,
        #[serde(default)]
        idmap: bool,
    },
    /// A fresh copy of the host's /etc in a tmpfs, made the container's own as a persistent
    /// one is on its first start (see `state_dirs::NOT_COPIED`).
    VolatileEtc {
        source: PathBuf,
    },
    Symlink {
        target: PathBuf,
        points_to: String,
    },
    /// A file the container gets from berth: its host name, machine ID, name servers, the
    /// container manager's name. `replace`: written over what is there (a symlink included);
    /// otherwise only where nothing is.
    WriteFile {
        target: PathBuf,
        contents: String,
        replace: bool,
    },
    /// procfs of the container's PID namespace.
    Proc,
    /// sysfs, read-only.
    Sysfs,
    /// The container's own cgroup (the namespace root), as the host mounts its hierarchies;
    /// read-only, except what an init system inside must write (`writable`): the unified
    /// hierarchy and the name=systemd one.
    Cgroups {
        writable: bool,
    },
    /// The minimal /dev: a tmpfs with the named host nodes bound in, a new devpts instance,
    /// /dev/shm, /dev/mqueue and the usual symlinks; with `console`, a terminal the helper
    /// reads into the journal as /dev/console.
    Dev {
        nodes: Vec<String>,
        console: bool,
    },
    /// Hidden: a file under /dev/null, a directory under an empty read-only tmpfs. Paths that
    /// do not exist in the container are skipped.
    Mask {
        target: PathBuf,
    },
    /// Made read-only, with everything mounted below it. Missing paths are skipped.
    ReadOnly {
        target: PathBuf,
    },
}

/// The file system of the container's `/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RootFs {
    /// A host container's: an empty tmpfs that the host's /usr and the container's /etc and
    /// /var are mounted into; read-only in app mode.
    Tmpfs { read_only: bool },
    /// An image container's: the image, read-only, under the container's own writable layer.
    Overlay {
        lower: PathBuf,
        upper: PathBuf,
        work: PathBuf,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub argv: Vec<String>,
    pub environment: Vec<(String, String)>,
    pub user: String,
    pub working_directory: PathBuf,
    pub confinement: Confinement,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerPlan {
    pub name: String,
    pub hostname: String,
    /// 32 hex digits: /etc/machine-id inside, and the machine's ID for machined.
    pub machine_id: String,
    /// The host directory the new root is mounted on (inside the private mount namespace only).
    pub root: PathBuf,
    pub root_fs: RootFs,
    pub exit_file: PathBuf,
    /// A new network namespace with only loopback ("none" and, until veth networking exists,
    /// "private"); otherwise the host's network.
    pub new_network: bool,
    /// The first host ID of the container's user namespace (65536 IDs mapped to 0-65535);
    /// None: the host's IDs.
    pub user_namespace: Option<u32>,
    /// The label of every file system the helper mounts (`context=`); None without SELinux.
    pub file_label: Option<String>,
    pub mounts: Vec<MountStep>,
    /// Boot mode: PID 1 becomes the payload (the container's own init) instead of supervising
    /// it.
    pub boot: bool,
    pub payload: Payload,
}

impl ContainerPlan {
    /// The sources of the binds that are idmapped mounts, in the order they are mounted.
    pub fn idmapped_sources(&self) -> Vec<&Path> {
        self.mounts
            .iter()
            .filter_map(|m| match m {
                MountStep::Bind {
                    source,
                    idmap: true,
                    ..
                } => Some(source.as_path()),
                _ => None,
            })
            .collect()
    }
}

/// What the host grants a container before it is planned: its reservations, its filter and
/// its identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub labels: Option<Labels>,
    pub user_namespace: Option<u32>,
    /// The kernel and file system can idmap the container's private /etc and /var (see
    /// `container::idmap::supported`): they are mapped into its range rather than chowned.
    pub idmapped_mounts: bool,
    pub seccomp: Option<Profile>,
    pub machine_id: Option<String>,
}

impl Grants {
    /// Whether the container's private /etc and /var are idmapped mounts.
    pub fn idmaps(&self) -> bool {
        self.user_namespace.is_some() && self.idmapped_mounts
    }

    /// The range the container's private files are owned by on disk: its own where they are
    /// chowned, the host's (0) where idmapped mounts map them or there is no user namespace.
    pub fn owner_on_disk(&self) -> u32 {
        match self.user_namespace {
            Some(base) if !self.idmapped_mounts => base,
            _ => 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("container `{name}`: its image {path} does not exist (`berth image list` shows the imported ones)")]
    NoImage { name: String, path: PathBuf },
    #[error(
        "container `{name}`: its writable layer cannot be on {path}, an overlay file system itself; \
         /var/lib/berth must be on ext4, xfs, btrfs or tmpfs for image containers"
    )]
    LayerOnOverlay { name: String, path: PathBuf },
    #[error("container `{name}`: the root tree {path} cannot be an overlay layer: its path has a `,` or `:`")]
    BadRoot { name: String, path: PathBuf },
}

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The image tree an image container's root is made from.
pub fn image_root(def: &Definition, images: &Path) -> Option<PathBuf> {
    match &def.kind {
        Kind::Host => None,
        Kind::Image(ImageSource::Named(name)) => Some(images.join(name)),
        Kind::Image(ImageSource::Root(path)) => Some(path.clone()),
    }
}

/// The image tree an image container's root is made from, refused where overlayfs could not
/// take its path as a layer.
fn lower_layer(def: &Definition, images: &Path) -> Result<Option<PathBuf>, PlanError> {
    match image_root(def, images) {
        Some(lower) if lower.to_string_lossy().contains([',', ':']) => Err(PlanError::BadRoot {
            name: def.name.to_string(),
            path: lower,
        }),
        lower => Ok(lower),
    }
}

/// Everything a container can be refused for before the host is touched: an image root that
/// cannot be an overlay layer (as [`plan_container`] refuses it), and what the host must have
/// for an image container: its image, and a file system under /var/lib/berth that can hold an
/// overlayfs upper layer. Reads the host; changes nothing.
pub fn check_image_host(def: &Definition, layout: &HostLayout) -> Result<(), PlanError> {
    let Some(lower) = lower_layer(def, &layout.images)? else {
        return Ok(());
    };
    if !lower.is_dir() {
        return Err(PlanError::NoImage {
            name: def.name.to_string(),
            path: lower,
        });
    }
    // The layer's directory may not exist yet: its nearest ancestor that does tells.
    let lib = layout.state_dir.parent().unwrap_or(Path::new("/"));
    let on_overlay = lib
        .ancestors()
        .find_map(|dir| nix::sys::statfs::statfs(dir).ok())
        .is_some_and(|s| s.filesystem_type() == nix::sys::statfs::OVERLAYFS_SUPER_MAGIC);
    if on_overlay {
        return Err(PlanError::LayerOnOverlay {
            name: def.name.to_string(),
            path: lib.to_owned(),
        });
    }
    Ok(())
}

pub fn plan_container(
    def: &Definition,
    layout: &HostLayout,
    grants: &Grants,
) -> Result<ContainerPlan, PlanError> {
    let boot = def.mode == Mode::Boot;
    let machine_id = grants.machine_id.clone().unwrap_or_else(|| "0".repeat(32));
    let (root_fs, mut mounts) = match lower_layer(def, &layout.images)? {
        None => host_root(def, layout, grants, boot),
        Some(lower) => image_root_mounts(def, layout, lower, &machine_id),
    };
    mounts.push(tmpfs("/tmp", 0o1777, None));
    mounts.push(tmpfs("/run", 0o755, None));
    if boot {
        // systemd's Container Interface: who manages this container, and its ID.
        for (file, contents) in [
            ("container-manager", "berth\n".to_owned()),
            ("container-uuid", format!("{}\n", uuid(&machine_id))),
        ] {
            mounts.push(MountStep::WriteFile {
                target: Path::new("/run/host").join(file),
                contents,
                replace: true,
            });
        }
    }
    mounts.push(MountStep::Dev {
        nodes: devices::nodes(&def.resources.devices),
        console: boot,
    });
    mounts.push(MountStep::Proc);
    mounts.push(MountStep::Sysfs);
    mounts.push(MountStep::Cgroups { writable: boot });
    mounts.extend(definition_mounts(def));
    // Last, so that nothing mounted later uncovers them.
    mounts.extend(hidden_paths(def));

    Ok(ContainerPlan {
        name: def.name.to_string(),
        hostname: def.hostname.clone(),
        root: layout.runtime_dir.join("root"),
        root_fs,
        exit_file: layout.exit_file.clone(),
        new_network: def.network != Network::Host,
        user_namespace: grants.user_namespace,
        file_label: grants.labels.as_ref().map(|l| l.file.clone()),
        mounts,
        boot,
        payload: payload(def, grants, &machine_id),
        machine_id,
    })
}

/// A host container's root: the host's /usr, /bin, /lib... and the container's /etc and /var.
fn host_root(
    def: &Definition,
    layout: &HostLayout,
    grants: &Grants,
    boot: bool,
) -> (RootFs, Vec<MountStep>) {
    let mut mounts = vec![host_bind("/usr")];
    for entry in &layout.top_level {
        mounts.push(match entry {
            TopLevel::Symlink { name, target } => MountStep::Symlink {
                target: Path::new("/").join(name),
                points_to: target.clone(),
            },
            TopLevel::Directory { name } => host_bind(Path::new("/").join(name)),
        });
    }
    // The container's own trees, writable; idmapped into its range where the host can.
    let private = |source: PathBuf, target: &str| MountStep::Bind {
        source,
        target: target.into(),
        read_only: false,
        idmap: grants.idmaps(),
    };
    mounts.push(
        match private_etc(def, layout, grants.user_namespace.is_some()) {
            Some(source) => private(source, "/etc"),
            None if def.filesystem.etc == EtcMode::Host => host_bind("/etc"),
            None => MountStep::VolatileEtc {
                source: "/etc".into(),
            },
        },
    );
    mounts.push(match private_var(def, layout) {
        Some(source) => private(source, "/var"),
        None => tmpfs("/var", 0o755, None),
    });
    // A booted init system creates what it misses at the top (/home, /srv, /media...).
    (RootFs::Tmpfs { read_only: !boot }, mounts)
}

/// The host directory a host container's own /etc is bound from, if it has one: its
/// persistent one, or with a user namespace the volatile one berth seeds in the runtime
/// directory (see `state_dirs::prepare_runtime_dirs`).
fn private_etc(def: &Definition, layout: &HostLayout, user_namespace: bool) -> Option<PathBuf> {
    match def.filesystem.etc {
        EtcMode::Persistent => Some(layout.state_dir.join("etc")),
        EtcMode::Volatile if user_namespace => Some(layout.runtime_dir.join("etc")),
        EtcMode::Volatile | EtcMode::Host => None,
    }
}

/// The host directory a host container's own /var is bound from, if it has one.
fn private_var(def: &Definition, layout: &HostLayout) -> Option<PathBuf> {
    (def.filesystem.var == VarMode::Persistent).then(|| layout.state_dir.join("var"))
}

/// The host directories a container with a user namespace gets its private trees from, which
/// its plan binds as idmapped mounts where the host can (see [`Grants::idmapped_mounts`]):
/// known before the host grants anything, so that whether it can is found first.
pub fn private_sources(def: &Definition, layout: &HostLayout) -> Vec<PathBuf> {
    if image_root(def, &layout.images).is_some() {
        return Vec::new();
    }
    private_etc(def, layout, true)
        .into_iter()
        .chain(private_var(def, layout))
        .collect()
}

/// A host directory at the same path inside, read-only.
fn host_bind(path: impl AsRef<Path>) -> MountStep {
    MountStep::Bind {
        source: path.as_ref().to_owned(),
        target: path.as_ref().to_owned(),
        read_only: true,
        idmap: false,
    }
}

/// An image container's root: the image under the container's layer, with what is this
/// host's and this container's written into the layer, never into the image.
fn image_root_mounts(
    def: &Definition,
    layout: &HostLayout,
    lower: PathBuf,
    machine_id: &str,
) -> (RootFs, Vec<MountStep>) {
    let write = |target: &str, contents: String, replace: bool| MountStep::WriteFile {
        target: target.into(),
        contents,
        replace,
    };
    let mut mounts = vec![
        write("/etc/hostname", format!("{}\n", def.hostname), true),
        write("/etc/machine-id", format!("{machine_id}\n"), true),
        write(
            "/etc/hosts",
            format!(
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{}\n",
                def.hostname
            ),
            false,
        ),
    ];
    if def.network != Network::None {
        if let Some(resolv) = &layout.resolv_conf {
            mounts.push(write("/etc/resolv.conf", resolv.clone(), true));
        }
    }
    (
        RootFs::Overlay {
            lower,
            upper: layout.state_dir.join("upper"),
            work: layout.state_dir.join("work"),
        },
        mounts,
    )
}

/// The definition's own mounts, parents before children.
fn definition_mounts(def: &Definition) -> Vec<MountStep> {
    let mut extra: Vec<(PathBuf, MountStep)> = Vec::new();
    for (target, bind) in &def.filesystem.binds {
        extra.push((
            target.clone(),
            MountStep::Bind {
                source: bind.source.clone(),
                target: target.clone(),
                read_only: bind.read_only,
                idmap: false,
            },
        ));
    }
    for (target, t) in &def.filesystem.tmpfs {
        let size = t.size.and_then(|s| match s {
            Limit::Value(v) => Some(v),
            Limit::Infinity => None,
        });
        extra.push((target.clone(), tmpfs_at(target.clone(), t.mode, size)));
    }
    extra.sort_by_key(|(target, _)| target.components().count());
    extra.into_iter().map(|(_, step)| step).collect()
}

/// The read-only and masked paths: podman's, then the definition's.
fn hidden_paths(def: &Definition) -> Vec<MountStep> {
    let fs = &def.filesystem;
    let read_only = paths::READ_ONLY
        .iter()
        .map(PathBuf::from)
        .chain(fs.read_only_paths.iter().cloned());
    let masked = paths::MASKED
        .iter()
        .map(PathBuf::from)
        .chain(fs.masked_paths.iter().cloned());
    read_only
        .map(|target| MountStep::ReadOnly { target })
        .chain(masked.map(|target| MountStep::Mask { target }))
        .collect()
}

fn payload(def: &Definition, grants: &Grants, machine_id: &str) -> Payload {
    let mut environment = vec![
        ("container".to_owned(), "berth".to_owned()),
        ("PATH".to_owned(), PATH.to_owned()),
    ];
    if def.mode == Mode::Boot {
        environment.push(("container_uuid".to_owned(), uuid(machine_id)));
    }
    for (k, v) in &def.exec.environment {
        if k != "container" {
            environment.retain(|(name, _)| name != k);
            environment.push((k.clone(), v.clone()));
        }
    }
    Payload {
        argv: def.exec.command.clone(),
        environment,
        user: def.exec.user.clone(),
        working_directory: def.exec.working_directory.clone(),
        confinement: Confinement {
            capabilities: capabilities::plan(&def.security, def.mode),
            no_new_privileges: def.security.no_new_privileges,
            seccomp: grants.seccomp.clone(),
            process_label: grants.labels.as_ref().map(|l| l.process.clone()),
        },
    }
}

/// A machine ID written as a UUID, as systemd's `container_uuid` is.
fn uuid(machine_id: &str) -> String {
    let id = machine_id;
    if id.len() != 32 {
        return id.to_owned();
    }
    format!(
        "{}-{}-{}-{}-{}",
        &id[..8],
        &id[8..12],
        &id[12..16],
        &id[16..20],
        &id[20..]
    )
}

fn tmpfs(target: &str, mode: u32, size: Option<u64>) -> MountStep {
    tmpfs_at(target.into(), mode, size)
}

fn tmpfs_at(target: PathBuf, mode: u32, size: Option<u64>) -> MountStep {
    MountStep::Tmpfs {
        target,
        mode,
        size,
        noexec: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::from_sources;
    use crate::diagnostic::Source;

    fn def(text: &str) -> Definition {
        from_sources(
            &Name::new("web").unwrap(),
            vec![Source::new("/t.toml", text)],
        )
        .unwrap()
        .definition
    }

    fn layout(top_level: Vec<TopLevel>) -> HostLayout {
        HostLayout {
            runtime_dir: "/run/berth/web".into(),
            state_dir: "/var/lib/berth/web".into(),
            exit_file: "/run/berth/web.exit.json".into(),
            top_level,
            images: "/var/lib/berth/images".into(),
            resolv_conf: Some("nameserver 192.0.2.1\n".into()),
        }
    }

    fn merged() -> Vec<TopLevel> {
        vec![
            TopLevel::Symlink {
                name: "bin".into(),
                target: "usr/bin".into(),
            },
            TopLevel::Symlink {
                name: "lib".into(),
                target: "usr/lib".into(),
            },
        ]
    }

    #[test]
    fn readme_example_on_a_merged_usr_host() {
        let plan = plan_container(
            &def(include_str!("../../examples/web.toml")),
            &layout(merged()),
            &Grants::default(),
        )
        .unwrap();
        assert_eq!(plan.root, Path::new("/run/berth/web/root"));
        assert!(!plan.new_network);
        assert_eq!(
            plan.mounts[..3],
            [
                MountStep::Bind {
                    source: "/usr".into(),
                    target: "/usr".into(),
                    read_only: true,
                    idmap: false
                },
                MountStep::Symlink {
                    target: "/bin".into(),
                    points_to: "usr/bin".into()
                },
                MountStep::Symlink {
                    target: "/lib".into(),
                    points_to: "usr/lib".into()
                },
            ]
        );
        assert!(plan.mounts.contains(&MountStep::Bind {
            source: "/var/lib/berth/web/etc".into(),
            target: "/etc".into(),
            read_only: false,
            idmap: false
        }));
        assert_eq!(plan.payload.argv[0], "/usr/bin/python3");
        assert!(plan
            .payload
            .environment
            .contains(&("container".into(), "berth".into())));
        assert!(plan
            .payload
            .environment
            .contains(&("PYTHONUNBUFFERED".into(), "1".into())));
    }

    #[test]
    fn split_usr_hosts_bind_their_directories() {
        let plan = plan_container(
            &def("[exec]\ncommand = [\"/bin/true\"]\n"),
            &layout(vec![TopLevel::Directory { name: "bin".into() }]),
            &Grants::default(),
        )
        .unwrap();
        assert!(plan.mounts.contains(&MountStep::Bind {
            source: "/bin".into(),
            target: "/bin".into(),
            read_only: true,
            idmap: false
        }));
    }

    #[test]
    fn modes_and_definition_mounts() {
        let plan = plan_container(
            &def(
                "[exec]\ncommand = [\"/bin/true\"]\n[network]\nmode = \"none\"\n[filesystem]\netc = \"volatile\"\nvar = \"volatile\"\n[filesystem.binds.\"/srv/a/b\"]\nsource = \"/data\"\n[filesystem.tmpfs.\"/srv\"]\nsize = \"1M\"\n",
            ),
            &layout(merged()),
            &Grants::default(),
        )
        .unwrap();
        assert!(plan.new_network);
        assert!(plan.mounts.contains(&MountStep::VolatileEtc {
            source: "/etc".into()
        }));
        let own: Vec<&MountStep> = plan
            .mounts
            .iter()
            .filter(|m| matches!(m, MountStep::Tmpfs { target, .. } | MountStep::Bind { target, .. } if target.starts_with("/srv")))
            .collect();
        assert_eq!(
            own,
            [
                &MountStep::Tmpfs {
                    target: "/srv".into(),
                    mode: 0o755,
                    size: Some(1 << 20),
                    noexec: false
                },
                &MountStep::Bind {
                    source: "/data".into(),
                    target: "/srv/a/b".into(),
                    read_only: true,
                    idmap: false
                },
            ],
            "parents before children"
        );
    }

    #[test]
    fn image_containers_sit_on_their_image() {
        let grants = Grants {
            machine_id: Some("0123456789abcdef0123456789abcdef".into()),
            ..Grants::default()
        };
        let plan = plan_container(
            &def("kind = \"image\"\nimage = \"deb\"\n[exec]\ncommand = [\"/bin/sh\"]\n"),
            &layout(merged()),
            &grants,
        )
        .unwrap();
        assert_eq!(
            plan.root_fs,
            RootFs::Overlay {
                lower: "/var/lib/berth/images/deb".into(),
                upper: "/var/lib/berth/web/upper".into(),
                work: "/var/lib/berth/web/work".into(),
            }
        );
        assert!(!plan
            .mounts
            .iter()
            .any(|m| matches!(m, MountStep::Bind { source, .. } if source == Path::new("/usr"))));
        let file = |t: &str| {
            plan.mounts.iter().find_map(|m| match m {
                MountStep::WriteFile {
                    target,
                    contents,
                    replace,
                } if target == Path::new(t) => Some((contents.as_str(), *replace)),
                _ => None,
            })
        };
        assert_eq!(file("/etc/hostname"), Some(("web\n", true)));
        assert_eq!(
            file("/etc/machine-id"),
            Some(("0123456789abcdef0123456789abcdef\n", true))
        );
        assert_eq!(
            file("/etc/resolv.conf"),
            Some(("nameserver 192.0.2.1\n", true))
        );
        assert_eq!(
            file("/etc/hosts").map(|(_, r)| r),
            Some(false),
            "the image's own hosts file stays"
        );
        assert_eq!(file("/run/host/container-manager"), None, "app mode");

        let root = plan_container(
            &def("kind = \"image\"\nroot = \"/srv/a,b\"\n[exec]\ncommand = [\"/x\"]\n"),
            &layout(merged()),
            &grants,
        );
        assert!(matches!(root, Err(PlanError::BadRoot { .. })));
    }

    #[test]
    fn boot_mode_follows_the_container_interface() {
        let grants = Grants {
            machine_id: Some("0123456789abcdef0123456789abcdef".into()),
            ..Grants::default()
        };
        let plan = plan_container(&def("mode = \"boot\"\n"), &layout(merged()), &grants).unwrap();
        assert!(plan.boot);
        assert_eq!(plan.root_fs, RootFs::Tmpfs { read_only: false });
        assert_eq!(plan.payload.argv, ["/sbin/init"]);
        assert!(plan
            .payload
            .environment
            .contains(&("container".into(), "berth".into())));
        assert!(plan.payload.environment.contains(&(
            "container_uuid".into(),
            "01234567-89ab-cdef-0123-456789abcdef".into()
        )));
        assert!(plan.mounts.contains(&MountStep::WriteFile {
            target: "/run/host/container-manager".into(),
            contents: "berth\n".into(),
            replace: true
        }));
        assert!(plan.mounts.contains(&MountStep::Cgroups { writable: true }));
        assert!(plan
            .mounts
            .iter()
            .any(|m| matches!(m, MountStep::Dev { console: true, .. })));
        assert!(!plan.payload.confinement.no_new_privileges);
        assert!(plan
            .payload
            .confinement
            .capabilities
            .bounding
            .contains("SYS_ADMIN"));
    }

    #[test]
    fn confinement_masks_and_devices() {
        let grants = Grants {
            labels: Some(crate::security::selinux::labels(
                "container_t",
                crate::security::mcs::Level { low: 1, high: 2 },
            )),
            user_namespace: Some(524288),
            idmapped_mounts: false,
            seccomp: Some(crate::security::seccomp::default_profile(true, false)),
            machine_id: None,
        };
        let plan = plan_container(
            &def("[exec]\ncommand = [\"/bin/true\"]\n[resources]\ndevices = { \"/dev/fuse\" = \"rw\", \"char-usb_device\" = \"r\" }\n[filesystem]\nmasked_paths = [\"/etc/secret\"]\nread_only_paths = [\"/srv\"]\n[security]\ncapabilities_add = [\"NET_ADMIN\"]\n"),
            &layout(merged()),
            &grants,
        )
        .unwrap();
        let c = &plan.payload.confinement;
        assert!(c.no_new_privileges);
        assert!(c.capabilities.bounding.contains("NET_ADMIN"));
        assert_eq!(
            c.process_label.as_deref(),
            Some("system_u:system_r:container_t:s0:c1,c2")
        );
        assert_eq!(
            plan.file_label.as_deref(),
            Some("system_u:object_r:container_file_t:s0:c1,c2")
        );
        assert_eq!(plan.user_namespace, Some(524288));
        assert!(c.seccomp.is_some());
        let Some(MountStep::Dev { nodes, .. }) = plan
            .mounts
            .iter()
            .find(|m| matches!(m, MountStep::Dev { .. }))
        else {
            panic!("no /dev")
        };
        assert!(nodes.contains(&"fuse".to_owned()) && nodes.contains(&"null".to_owned()));
        assert!(
            !nodes.iter().any(|n| n.contains("usb")),
            "device classes are not nodes"
        );
        let tail: Vec<&MountStep> = plan.mounts.iter().rev().take(2).collect();
        assert_eq!(
            tail,
            [
                &MountStep::Mask {
                    target: "/etc/secret".into()
                },
                &MountStep::Mask {
                    target: "/sys/devices/virtual/powercap".into()
                },
            ]
        );
        assert!(plan.mounts.contains(&MountStep::ReadOnly {
            target: "/proc/sys".into()
        }));
        assert!(plan.mounts.contains(&MountStep::ReadOnly {
            target: "/srv".into()
        }));
        assert!(plan.mounts.contains(&MountStep::Mask {
            target: "/proc/kcore".into()
        }));
    }

    #[test]
    fn private_trees_are_idmapped_only_where_the_host_can() {
        let persistent = def("[exec]\ncommand = [\"/bin/true\"]\n[filesystem.binds.\"/data\"]\nsource = \"/srv/data\"\nread_only = false\n");
        let userns = |idmapped_mounts| Grants {
            user_namespace: Some(524288),
            idmapped_mounts,
            ..Grants::default()
        };
        let idmapped = plan_container(&persistent, &layout(merged()), &userns(true)).unwrap();
        assert_eq!(
            idmapped.idmapped_sources(),
            [
                Path::new("/var/lib/berth/web/etc"),
                Path::new("/var/lib/berth/web/var")
            ],
            "the container's own /etc and /var, not the host's /usr nor its binds"
        );
        assert!(idmapped.mounts.contains(&MountStep::Bind {
            source: "/var/lib/berth/web/etc".into(),
            target: "/etc".into(),
            read_only: false,
            idmap: true
        }));
        assert_eq!(userns(true).owner_on_disk(), 0, "left to the host's IDs");

        let chowned = plan_container(&persistent, &layout(merged()), &userns(false)).unwrap();
        assert!(chowned.idmapped_sources().is_empty());
        assert_eq!(
            userns(false).owner_on_disk(),
            524288,
            "chowned into the range"
        );

        // Without a user namespace, there is nothing to map whatever the host can do.
        let host_ids = Grants {
            idmapped_mounts: true,
            ..Grants::default()
        };
        let plan = plan_container(&persistent, &layout(merged()), &host_ids).unwrap();
        assert!(plan.idmapped_sources().is_empty());
        assert_eq!(host_ids.owner_on_disk(), 0);

        let volatile = def("[exec]\ncommand = [\"/bin/true\"]\n[filesystem]\netc = \"volatile\"\nvar = \"volatile\"\n");
        let plan = plan_container(&volatile, &layout(merged()), &userns(true)).unwrap();
        assert_eq!(
            plan.idmapped_sources(),
            [Path::new("/run/berth/web/etc")],
            "the volatile /etc berth seeds"
        );
        let host_etc = def("[exec]\ncommand = [\"/bin/true\"]\n[filesystem]\netc = \"host\"\n");
        let plan = plan_container(&host_etc, &layout(merged()), &userns(true)).unwrap();
        assert_eq!(
            plan.idmapped_sources(),
            [Path::new("/var/lib/berth/web/var")],
            "the host's /etc stays the host's"
        );
    }

    #[test]
    fn private_sources_are_what_an_idmapped_plan_idmaps() {
        let granted = Grants {
            user_namespace: Some(524288),
            idmapped_mounts: true,
            ..Grants::default()
        };
        for text in [
            "[exec]\ncommand = [\"/bin/true\"]\n",
            "[exec]\ncommand = [\"/bin/true\"]\n[filesystem]\netc = \"volatile\"\nvar = \"volatile\"\n",
            "[exec]\ncommand = [\"/bin/true\"]\n[filesystem]\netc = \"host\"\n",
            "kind = \"image\"\nimage = \"deb\"\n[exec]\ncommand = [\"/bin/sh\"]\n",
        ] {
            let def = def(text);
            let plan = plan_container(&def, &layout(merged()), &granted).unwrap();
            assert_eq!(
                private_sources(&def, &layout(merged())),
                plan.idmapped_sources(),
                "{text}"
            );
        }
    }

    #[test]
    fn plans_without_idmap_still_read() {
        let bind = r#"{"Bind": {"source": "/usr", "target": "/usr", "read_only": true}}"#;
        assert_eq!(
            serde_json::from_str::<MountStep>(bind).unwrap(),
            host_bind("/usr"),
            "a running container's plan written by an older berth, read by `berth exec`"
        );
    }
}
