//! Leftovers of a berth that was killed mid-start, and of containers that ended on their own.
//!
//! Every berth command that touches a container first calls [`clean_leftovers`] under the
//! container's lock. Because a start writes its intent before changing anything, the state file
//! says exactly what may be left: a `starting` state whose berth process is gone is a start
//! that never finished, and is undone; a `running` state whose unit is gone is a container that
//! ended, whose runtime directory is removed.

use std::fs;
use std::io;
use std::path::Path;

use super::state::{self, Phase};
use super::{Context, LifecycleError};
use crate::name::Name;
use crate::store::IoError;
use crate::systemd::{Systemd, UnitStatus};

/// What was cleaned up, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    pub actions: Vec<String>,
}

fn is_active(status: &Option<UnitStatus>) -> bool {
    matches!(status, Some(s) if s.active_state != "inactive" && s.active_state != "failed")
}

/// Cleans up what a dead berth or an ended container left for `name`. Call with the lock held.
pub fn clean_leftovers(
    ctx: &Context,
    systemd: &Systemd,
    name: &Name,
) -> Result<Cleaned, LifecycleError> {
    let mut cleaned = Cleaned::default();
    let runtime_dir = ctx.paths.runtime_dir(name);
    if !runtime_dir.exists() {
        // A reset that died between removing the persistent directory and releasing what it
        // kept: nothing keeps those reservations now.
        if !ctx.paths.state_dir(name).exists() && super::confinement::holds_reservation(ctx, name) {
            let left = super::confinement::release(ctx, name);
            for left in &left {
                tracing::warn!(container = %name, "cannot release: {left}");
            }
            if left.is_empty() {
                let action = "released the reservations of a container without data".to_owned();
                tracing::info!(container = %name, "{action}");
                cleaned.actions.push(action);
            }
        }
        return Ok(cleaned);
    }
    let unit = name.scope_unit();
    let state = state::read(&ctx.paths.state_file(name))?;
    match state.as_ref().map(|s| &s.phase) {
        // A start died between creating the directory and writing its intent: nothing else
        // can have happened yet.
        None => {}
        Some(Phase::Starting { berth }) if berth.is_alive() => return Ok(cleaned),
        Some(Phase::Starting { .. }) => {
            if systemd.unit_status(&unit)?.is_some() {
                systemd.stop_unit(&unit)?;
                cleaned
                    .actions
                    .push(format!("stopped {unit} of an unfinished start"));
            }
            // A start drops the last exit record first thing: one there now is the unfinished
            // start's own init's, or the one it was about to drop.
            let exit_file = ctx.paths.exit_file(name);
            gone(&exit_file, fs::remove_file(&exit_file))?;
            if state.as_ref().is_some_and(|s| s.state_dir_is_new) {
                let dir = ctx.paths.state_dir(name);
                remove_dir(&dir)?;
                cleaned.actions.push(format!(
                    "removed {} of an unfinished first start",
                    dir.display()
                ));
            }
        }
        Some(Phase::Running { .. }) if is_active(&systemd.unit_status(&unit)?) => {
            return Ok(cleaned);
        }
        Some(Phase::Running { .. }) => {}
    }
    remove_dir(&runtime_dir)?;
    cleaned
        .actions
        .push(format!("removed stale {}", runtime_dir.display()));
    for left in super::confinement::release(ctx, name) {
        tracing::warn!(container = %name, "cannot release: {left}");
    }
    for action in &cleaned.actions {
        tracing::info!(container = %name, "{action}");
    }
    Ok(cleaned)
}

fn remove_dir(dir: &Path) -> Result<(), LifecycleError> {
    gone(dir, fs::remove_dir_all(dir))
}

/// `removed`, the removal of `path`, where a path that is not there is removed all the same.
fn gone(path: &Path, removed: io::Result<()>) -> Result<(), LifecycleError> {
    match removed {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(IoError::new("remove", path, source).into()),
    }
}

/// Names with a runtime directory under /run/berth.
pub fn runtime_names(ctx: &Context) -> Vec<Name> {
    let mut names: Vec<Name> = fs::read_dir(&ctx.paths.run)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| Name::new(e.file_name().to_str()?).ok())
        .collect();
    names.sort();
    names
}

/// Cleans leftovers of every container that has any, skipping those another berth is working
/// on right now.
pub fn clean_all_leftovers(ctx: &Context, systemd: &Systemd) -> Vec<(Name, LifecycleError)> {
    let mut failures = Vec::new();
    for name in runtime_names(ctx) {
        let Ok(Some(_lock)) = super::lock::ContainerLock::try_acquire(&ctx.paths.lock_file(&name))
        else {
            continue;
        };
        if let Err(e) = clean_leftovers(ctx, systemd, &name) {
            failures.push((name, e));
        }
    }
    failures
}
