//! What the helper builds, as plain data: namespaces, the mounts of the new root in order, and
//! the payload. Made from a definition and the host's layout, without touching anything.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::definition::model::{Definition, EtcMode, Limit, Network, VarMode};
use crate::name::Name;

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub argv: Vec<String>,
    pub environment: Vec<(String, String)>,
    pub user: String,
    pub working_directory: PathBuf,
    pub no_new_privileges: bool,
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
    pub mounts: Vec<MountStep>,
    pub payload: Payload,
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

pub fn plan_container(def: &Definition, layout: &HostLayout) -> Result<ContainerPlan, PlanError> {
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
    mounts.push(MountStep::Dev {
        nodes: DEV_NODES.iter().map(|n| (*n).to_owned()).collect(),
    });
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
        mounts,
        payload: Payload {
            argv: def.exec.command.clone(),
            environment,
            user: def.exec.user.clone(),
            working_directory: def.exec.working_directory.clone(),
            no_new_privileges: def.security.no_new_privileges,
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
        )
        .unwrap();
        assert!(plan.new_network);
        assert!(plan.mounts.contains(&MountStep::TmpfsCopy {
            source: "/etc".into(),
            target: "/etc".into()
        }));
        let n = plan.mounts.len();
        assert_eq!(
            plan.mounts[n - 2..],
            [
                MountStep::Tmpfs {
                    target: "/srv".into(),
                    mode: 0o755,
                    size: Some(1 << 20),
                    noexec: false
                },
                MountStep::Bind {
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
            &l
        )
        .is_err());
        assert!(plan_container(&def("mode = \"boot\"\n"), &l).is_err());
    }
}
