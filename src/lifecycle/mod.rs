//! Running containers: start, stop, kill, enter, and cleaning up after a berth that died.
//! This is the "doing" side: it carries out plans made by [`crate::unit`] and
//! [`crate::container`] through systemd and the helper, and reads back what runs
//! ([`status`]).

pub mod confinement;
pub mod groups;
pub mod lock;
pub mod outdated;
pub mod pause;
pub mod recover;
pub mod reset;
pub mod start;
pub mod state;
pub mod status;
pub mod stop;

use crate::container::{HelperError, PlanError};
use crate::definition::{LoadError, SearchPath};
use crate::name::Name;
use crate::store::{IoError, Paths};
use crate::systemd::{MachinedError, SystemdError};
pub use lock::ContainerLock;

/// Where definitions are found and where berth keeps its state.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub search: SearchPath,
    pub paths: Paths,
}

impl Context {
    pub fn lock(&self, name: &Name) -> Result<ContainerLock, IoError> {
        ContainerLock::acquire(&self.paths.lock_file(name))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Definition(#[from] LoadError),
    #[error(transparent)]
    Group(#[from] crate::definition::group::GroupError),
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
    Freezer(#[from] crate::systemd::freezer::FreezerError),
    #[error(transparent)]
    Helper(#[from] HelperError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    SeccompProfile(#[from] crate::security::seccomp::ProfileError),
    #[error(transparent)]
    SeccompCompile(#[from] crate::security::seccomp::CompileError),
    #[error(transparent)]
    Selinux(#[from] crate::container::labelling::SelinuxError),
    #[error(transparent)]
    Mcs(#[from] crate::store::mcs_levels::McsError),
    #[error(transparent)]
    Registry(#[from] crate::store::RegistryError),
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Fault(#[from] crate::fault::Injected),
    #[error("{cause}; rolling back left behind: {}", .leftovers.join("; "))]
    RollbackIncomplete {
        cause: Box<LifecycleError>,
        leftovers: Vec<String>,
    },
    #[error("container `{name}` stopped, but left behind: {}", .leftovers.join("; "))]
    LeftBehind { name: Name, leftovers: Vec<String> },
}
