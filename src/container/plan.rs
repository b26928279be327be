//! What the helper builds, as plain data: namespaces, the mounts of the new root in order, and
//! the payload. Made from a definition and the host's layout, without touching anything.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::definition::model::{Definition, EtcMode, Limit, Network, VarMode};
use crate::name::Name;
use crate::security::selinux::Labels;
use crate::security::{capabilities, paths, Confinement, Profile};

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
    Bind {
        source: PathBuf,
        target: PathBuf,
        read_only: bool,
    },
    /// A fresh copy of a host directory in a tmpfs (volatile /etc).
    TmpfsCopy {
        source: PathBuf,
        target: PathBuf,
    },
    Symlink {
        target: PathBuf,
        points_to: String,
    },
    /// procfs of the container's PID namespace.
    Proc,
    /// sysfs, read-only.
    Sysfs,
    /// The container's own cgroup (the namespace root), read-only, as the host mounts its
    /// hierarchies.
    Cgroups,
    /// The minimal /dev: a tmpfs with the named host nodes bound in, a new devpts instance,
    /// /dev/shm, /dev/mqueue and the usual symlinks.
    Dev {
        nodes: Vec<String>,
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
    /// The host directory the new root is mounted on (inside the private mount namespace only).
    pub root: PathBuf,
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
    pub payload: Payload,
}

/// What the host grants a container before it is planned: its reservations and its filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub labels: Option<Labels>,
    pub user_namespace: Option<u32>,
    pub seccomp: Option<Profile>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("container `{0}`: image containers are not supported yet")]
    ImageUnsupported(String),
    #[error("container `{0}`: boot mode is not supported yet")]
    BootUnsupported(String),
}

/// Host device nodes bound into every container's /dev (the same list the scope's DeviceAllow
/// permits, see `unit::MINIMAL_DEVICES`).
pub const DEV_NODES: [&str; 7] = [
    "null", "zero", "full", "random", "urandom", "tty", "net/tun",
];

/// Device nodes of a definition's `resources.devices` that are paths under /dev, relative to it.
fn definition_nodes(def: &Definition) -> impl Iterator<Item = String> + '_ {
    def.resources
        .devices
        .keys()
        .filter_map(|d| d.strip_prefix("/dev/"))
        .map(str::to_owned)
}

pub fn plan_container(
    def: &Definition,
    layout: &HostLayout,
    grants: &Grants,
) -> Result<ContainerPlan, PlanError> {
    use crate::definition::model::{Kind, Mode};
    if def.kind != Kind::Host {
        return Err(PlanError::ImageUnsupported(def.name.to_string()));
    }
    if def.mode == Mode::Boot {
        return Err(PlanError::BootUnsupported(def.name.to_string()));
    }
    let mut mounts = vec![MountStep::Bind {
        source: "/usr".into(),
        target: "/usr".into(),
        read_only: true,
    }];
    for entry in &layout.top_level {
        mounts.push(match entry {
            TopLevel::Symlink { name, target } => MountStep::Symlink {
                target: Path::new("/").join(name),
                points_to: target.clone(),
            },
            TopLevel::Directory { name } => MountStep::Bind {
                source: Path::new("/").join(name),
                target: Path::new("/").join(name),
                read_only: true,
            },
        });
    }
    mounts.push(match def.filesystem.etc {
        EtcMode::Persistent => MountStep::Bind {
            source: layout.state_dir.join("etc"),
            target: "/etc".into(),
            read_only: false,
        },
        // Seeded by berth in the runtime directory: see state_dirs::prepare_runtime_dirs.
        EtcMode::Volatile if grants.user_namespace.is_some() => MountStep::Bind {
            source: layout.runtime_dir.join("etc"),
            target: "/etc".into(),
            read_only: false,
        },
        EtcMode::Volatile => MountStep::TmpfsCopy {
            source: "/etc".into(),
            target: "/etc".into(),
        },
        EtcMode::Host => MountStep::Bind {
            source: "/etc".into(),
            target: "/etc".into(),
            read_only: true,
        },
    });
    mounts.push(match def.filesystem.var {
        VarMode::Persistent => MountStep::Bind {
            source: layout.state_dir.join("var"),
            target: "/var".into(),
            read_only: false,
        },
        VarMode::Volatile => tmpfs("/var", 0o755, None),
    });
    mounts.push(tmpfs("/tmp", 0o1777, None));
    mounts.push(tmpfs("/run", 0o755, None));
    let mut nodes: Vec<String> = DEV_NODES.iter().map(|n| (*n).to_owned()).collect();
    nodes.extend(
        definition_nodes(def)
            .filter(|n| !nodes.contains(n))
            .collect::<Vec<_>>(),
    );
    mounts.push(MountStep::Dev { nodes });
    mounts.push(MountStep::Proc);
    mounts.push(MountStep::Sysfs);
    mounts.push(MountStep::Cgroups);

    // The definition's own mounts, parents before children.
    let mut extra: Vec<(PathBuf, MountStep)> = Vec::new();
    for (target, bind) in &def.filesystem.binds {
        extra.push((
            target.clone(),
            MountStep::Bind {
                source: bind.source.clone(),
                target: target.clone(),
                read_only: bind.read_only,
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
    mounts.extend(extra.into_iter().map(|(_, step)| step));

    // Last, so that nothing mounted later uncovers them.
    let fs = &def.filesystem;
    let read_only = paths::READ_ONLY
        .iter()
        .map(PathBuf::from)
        .chain(fs.read_only_paths.iter().cloned());
    mounts.extend(read_only.map(|target| MountStep::ReadOnly { target }));
    let masked = paths::MASKED
        .iter()
        .map(PathBuf::from)
        .chain(fs.masked_paths.iter().cloned());
    mounts.extend(masked.map(|target| MountStep::Mask { target }));

    let mut environment = vec![
        ("container".to_owned(), "berth".to_owned()),
        (
            "PATH".to_owned(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
        ),
    ];
    for (k, v) in &def.exec.environment {
        environment.retain(|(name, _)| name != k || k == "container");
        if k != "container" {
            environment.push((k.clone(), v.clone()));
        }
    }
    Ok(ContainerPlan {
        name: def.name.to_string(),
        hostname: def.hostname.clone(),
        root: layout.runtime_dir.join("root"),
        exit_file: layout.exit_file.clone(),
        new_network: def.network != Network::Host,
        user_namespace: grants.user_namespace,
        file_label: grants.labels.as_ref().map(|l| l.file.clone()),
        mounts,
        payload: Payload {
            argv: def.exec.command.clone(),
            environment,
            user: def.exec.user.clone(),
            working_directory: def.exec.working_directory.clone(),
            confinement: Confinement {
                capabilities: capabilities::plan(&def.security),
                no_new_privileges: def.security.no_new_privileges,
                seccomp: grants.seccomp.clone(),
                process_label: grants.labels.as_ref().map(|l| l.process.clone()),
            },
        },
    })
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
                    read_only: true
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
            read_only: false
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
            read_only: true
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
        assert!(plan.mounts.contains(&MountStep::TmpfsCopy {
            source: "/etc".into(),
            target: "/etc".into()
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
                    read_only: true
                },
            ],
            "parents before children"
        );
    }

    #[test]
    fn image_and_boot_are_refused_for_now() {
        let l = layout(merged());
        assert!(plan_container(
            &def("kind = \"image\"\nroot = \"/srv/t\"\n[exec]\ncommand = [\"/x\"]\n"),
            &l,
            &Grants::default(),
        )
        .is_err());
        assert!(plan_container(&def("mode = \"boot\"\n"), &l, &Grants::default()).is_err());
    }

    #[test]
    fn confinement_masks_and_devices() {
        let grants = Grants {
            labels: Some(crate::security::selinux::labels(
                "container_t",
                crate::mcs::Level { low: 1, high: 2 },
            )),
            user_namespace: Some(524288),
            seccomp: Some(crate::security::seccomp::default_profile(true)),
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
        let Some(MountStep::Dev { nodes }) = plan
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
}
