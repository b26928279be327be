//! Running containers: start, stop, kill, enter, and cleaning up after a berth that died.
//! This is the "doing" side: it carries out plans made by [`crate::unit`] and
//! [`crate::container`] through systemd and the helper, and reads back what runs
//! ([`status`]).

pub mod confinement;
pub mod lock;
pub mod recover;
pub mod reset;
pub mod start;
pub mod state;
pub mod status;
pub mod stop;

use std::path::PathBuf;

use crate::container::{HelperError, PlanError, StateDirError};
use crate::definition::{LoadError, SearchPath};
use crate::name::Name;
use crate::systemd::{MachinedError, SystemdError};
pub use lock::ContainerLock;
pub use state::Paths;

/// Where definitions are found and where berth keeps its state.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub search: SearchPath,
    pub paths: Paths,
}

impl Context {
    pub fn lock(&self, name: &Name) -> Result<ContainerLock, lock::LockError> {
        ContainerLock::acquire(&self.paths.lock_file(name))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Definition(#[from] LoadError),
    #[error("container `{0}` is already running")]
    AlreadyRunning(Name),
    #[error("container `{0}` is not running")]
    NotRunning(Name),
    #[error("container `{0}` is running; stop it first")]
    Running(Name),
    #[error("container `{name}` exited while it was being started")]
    DiedDuringStart { name: Name },
    #[error(transparent)]
    Systemd(#[from] SystemdError),
    #[error(transparent)]
    Machined(#[from] MachinedError),
    #[error(transparent)]
    Helper(#[from] HelperError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    StateDir(#[from] StateDirError),
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    SeccompProfile(#[from] crate::security::seccomp::ProfileError),
    #[error(transparent)]
    SeccompCompile(#[from] crate::security::seccomp::CompileError),
    #[error(transparent)]
    Selinux(#[from] crate::security::selinux::SelinuxError),
    #[error(transparent)]
    Mcs(#[from] crate::mcs::McsError),
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    #[error(transparent)]
    Idmap(#[from] crate::security::idmap::IdmapError),
    #[error(transparent)]
    Fault(#[from] crate::fault::Injected),
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{cause}; rolling back left behind: {}", .leftovers.join("; "))]
    RollbackIncomplete {
        cause: Box<LifecycleError>,
        leftovers: Vec<String>,
    },
    #[error("container `{name}` stopped, but left behind: {}", .leftovers.join("; "))]
    LeftBehind { name: Name, leftovers: Vec<String> },
}
