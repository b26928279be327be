//! `berth pause` and `berth resume`: freezing a running container's processes and thawing
//! them, by the method this host allows ([`crate::systemd::freezer`]).

use crate::lifecycle::Context;
use crate::name::Name;
use crate::systemd::freezer::{self, FreezerError};
use crate::systemd::{Systemd, SystemdError, UnitStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paused {
    Paused,
    AlreadyPaused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumed {
    Resumed,
    WasNotPaused,
}

#[derive(Debug, thiserror::Error)]
pub enum PauseError {
    #[error("container `{0}` is not running")]
    NotRunning(Name),
    #[error(transparent)]
    Freezer(#[from] FreezerError),
    #[error(transparent)]
    Systemd(#[from] SystemdError),
    #[error(transparent)]
    Io(#[from] crate::store::IoError),
}

/// Freezes every process of the running container `name`; Ok once they are frozen.
pub fn pause(ctx: &Context, name: &Name) -> Result<Paused, PauseError> {
    let systemd = Systemd::connect()?;
    // A start or stop of the same container waits: neither sees it half frozen.
    let _lock = ctx.lock(name)?;
    let unit = running_unit(&systemd, name)?;
    if freezer::is_frozen(&unit) {
        return Ok(Paused::AlreadyPaused);
    }
    let method = freezer::host_freeze_method()?;
    freezer::freeze(&systemd, method, &unit.id, &unit.control_group)?;
    Ok(Paused::Paused)
}

/// Thaws the container `name`; Ok once its processes run again.
pub fn resume(ctx: &Context, name: &Name) -> Result<Resumed, PauseError> {
    let systemd = Systemd::connect()?;
    let _lock = ctx.lock(name)?;
    let unit = running_unit(&systemd, name)?;
    if !freezer::is_frozen(&unit) {
        return Ok(Resumed::WasNotPaused);
    }
    let method = freezer::host_freeze_method()?;
    freezer::thaw(&systemd, method, &unit.id, &unit.control_group)?;
    Ok(Resumed::Resumed)
}

fn running_unit(systemd: &Systemd, name: &Name) -> Result<UnitStatus, PauseError> {
    match systemd.unit_status(&name.scope_unit())? {
        Some(u) if u.active_state == "active" && !u.control_group.is_empty() => Ok(u),
        _ => Err(PauseError::NotRunning(name.clone())),
    }
}
