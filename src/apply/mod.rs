//! `berth apply`: bring the host to what the definitions declare. Every container with
//! autostart on runs with its current definition; containers berth started whose definition is
//! gone, masked or no longer autostart are stopped; nothing berth did not start is touched.
//!
//! [`plan`] decides, purely, from the definitions and the runtime state berth recorded;
//! [`execute`] gathers those, takes the apply lock ([`lock`]) and carries the plan out;
//! [`enable`] switches autostart through a drop-in of berth's own.

pub mod enable;
pub mod execute;
pub mod lock;
pub mod plan;

use std::path::PathBuf;

use crate::definition::{LoadError, SearchError};
use crate::lifecycle::state::StateError;
use crate::lifecycle::LifecycleError;
use crate::name::Name;
use crate::store::IoError;
use crate::systemd::SystemdError;

pub use execute::{execute, prepare, sync_groups, synced_json, Options, Outcome, Prepared};
pub use plan::{Action, Plan};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Systemd(#[from] SystemdError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    Definition(#[from] LoadError),
    #[error("the search path is empty: there is no directory to write berth's drop-in in")]
    EmptySearchPath,
    #[error("container `{0}` changed while apply was planning: run berth apply again")]
    ChangedMeanwhile(Name),
    #[error("container `{0}` is no longer running")]
    NotRunning(Name),
    #[error(
        "autostart of `{name}` stays {stays}: {origin} sets it, and it is applied after {dropin}; \
         change it there (nothing was changed)"
    )]
    Overridden {
        name: Name,
        stays: bool,
        origin: String,
        dropin: PathBuf,
    },
}
