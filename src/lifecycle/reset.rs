//! `berth reset`: a stopped container back to before its first start. Its persistent
//! directory goes (the private /etc and /var of a host container, the writable layer of an
//! image container), and with it what it kept: its machine ID, MCS level and ID range.

use std::fs;
use std::io;

use super::{confinement, recover, Context, LifecycleError};
use crate::name::Name;
use crate::store::IoError;
use crate::systemd::Systemd;

#[derive(Debug, PartialEq, Eq)]
pub enum Reset {
    Reset,
    NothingToReset,
}

pub fn reset(ctx: &Context, name: &Name) -> Result<Reset, LifecycleError> {
    let _lock = ctx.lock(name)?;
    let systemd = Systemd::connect()?;
    recover::clean_leftovers(ctx, &systemd, name)?;
    let running = systemd
        .unit_status(&name.scope_unit())?
        .is_some_and(|s| s.active_state != "inactive" && s.active_state != "failed");
    if running || ctx.paths.runtime_dir(name).exists() {
        return Err(LifecycleError::Running(name.clone()));
    }
    let dir = ctx.paths.state_dir(name);
    crate::fault::point("reset.remove")?;
    let outcome = match fs::remove_dir_all(&dir) {
        Ok(()) => Reset::Reset,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Reset::NothingToReset,
        Err(source) => return Err(IoError::new("remove", dir, source).into()),
    };
    crate::fault::point("reset.release")?;
    if let Some(left) = confinement::release(ctx, name).into_iter().next() {
        tracing::warn!(container = %name, "cannot release: {left}");
    }
    Ok(outcome)
}
