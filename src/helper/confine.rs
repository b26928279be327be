//! Applies a container's [`Confinement`] to the calling process, as the last thing before
//! execve. The order is a checklist: each step must still be allowed by the ones before it.
//!
//! 1. seccomp, first when no_new_privs is off: the kernel then only takes a filter from a
//!    process with CAP_SYS_ADMIN, which step 2 takes away;
//! 2. the bounding set, while CAP_SETPCAP is still effective;
//! 3. inheritable, effective and permitted sets, then the ambient set, which may only hold
//!    what is both permitted and inheritable;
//! 4. the SELinux label of the next exec;
//! 5. no_new_privs;
//! 6. seccomp, last, so that the filter need not allow the set-up itself.
//!
//! The filter is compiled once, by [`Filter::compile`] before the payload's fork, and loaded
//! by each process that runs under it.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::str::FromStr;

use caps::{CapSet, Capability, CapsHashSet};

use super::{Step, StepError};
use crate::security::capabilities::ProcessSets;
use crate::security::seccomp;
use crate::security::Confinement;

/// A container's seccomp filter, compiled; none when the container has no profile.
pub struct Filter(Option<libseccomp::ScmpFilterContext>);

impl Filter {
    pub fn compile(confinement: &Confinement) -> Result<Filter, StepError> {
        let compiled = confinement
            .seccomp
            .as_ref()
            .map(|profile| {
                seccomp::compile(profile, &seccomp::native_arches())
                    .map(|c| c.filter)
                    .map_err(|e| Step::Seccomp.nested(e))
            })
            .transpose()?;
        Ok(Filter(compiled))
    }

    fn load(&self) -> Result<(), StepError> {
        match &self.0 {
            Some(f) => f.load().map_err(Step::Seccomp.call("load the filter")),
            None => Ok(()),
        }
    }
}

/// Confines the calling process as `confinement` says, with its compiled `filter`.
pub fn confine(confinement: &Confinement, filter: &Filter, uid: u32) -> Result<(), StepError> {
    let early = !confinement.no_new_privileges;
    if early {
        filter.load()?;
    }
    apply_capabilities(&confinement.capabilities.process_sets(uid))?;
    if let Some(label) = &confinement.process_label {
        set_exec_label(label)?;
    }
    if confinement.no_new_privileges {
        set_no_new_privs()?;
    }
    if !early {
        filter.load()?;
    }
    Ok(())
}

/// The container's PID 1 only waits, reaps and passes signals on: it keeps CAP_KILL (the
/// payload may run as another user) and nothing else, and runs under the payload's filter.
pub fn confine_init(filter: &Filter) -> Result<(), StepError> {
    let kill: BTreeSet<String> = ["KILL".to_owned()].into();
    apply_capabilities(&ProcessSets {
        bounding: kill.clone(),
        permitted: kill.clone(),
        effective: kill,
        inheritable: BTreeSet::new(),
        ambient: BTreeSet::new(),
    })?;
    set_no_new_privs()?;
    filter.load()
}

fn to_caps(names: &BTreeSet<String>) -> Result<CapsHashSet, StepError> {
    names
        .iter()
        .map(|n| {
            Capability::from_str(&format!("CAP_{n}"))
                .map_err(|_| Step::Capabilities.refused(format!("unknown capability {n}")))
        })
        .collect()
}

pub fn apply_capabilities(sets: &ProcessSets) -> Result<(), StepError> {
    let fail = |what: &str| {
        Step::Capabilities.call::<caps::errors::CapsError>(format!("set the {what} set"))
    };
    // After a switch to another user only the permitted set survives (see
    // keep_capabilities_across_setuid); CAP_SETPCAP must be effective to shrink the bounding set.
    let permitted = caps::read(None, CapSet::Permitted).map_err(fail("permitted"))?;
    caps::set(None, CapSet::Effective, &permitted).map_err(fail("effective"))?;

    // What the host did not give berth (a bounding set of its own, as in a sandbox), berth
    // cannot give the container.
    let held: CapsHashSet = permitted;
    let within = |names: &BTreeSet<String>| -> Result<CapsHashSet, StepError> {
        Ok(to_caps(names)?.intersection(&held).copied().collect())
    };
    let bounding = to_caps(&sets.bounding)?;
    for cap in caps::all() {
        // Capabilities this kernel does not know are not in its bounding set anyway.
        if !bounding.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap).map_err(fail("bounding"))?;
        }
    }
    caps::clear(None, CapSet::Ambient).map_err(fail("ambient"))?;
    caps::set(None, CapSet::Inheritable, &within(&sets.inheritable)?)
        .map_err(fail("inheritable"))?;
    caps::set(None, CapSet::Effective, &within(&sets.effective)?).map_err(fail("effective"))?;
    caps::set(None, CapSet::Permitted, &within(&sets.permitted)?).map_err(fail("permitted"))?;
    for cap in within(&sets.ambient)? {
        caps::raise(None, CapSet::Ambient, cap).map_err(fail("ambient"))?;
    }
    Ok(())
}

/// Capabilities survive the switch to another user only when asked to; which of them the
/// payload keeps is decided right after, by [`confine`].
pub fn keep_capabilities_across_setuid() -> Result<(), StepError> {
    // SAFETY: PR_SET_KEEPCAPS takes an integer flag and touches only this thread's
    // credentials.
    let r = unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    if r == 0 {
        Ok(())
    } else {
        Err(Step::Capabilities.call("keep capabilities across setuid")(
            std::io::Error::last_os_error(),
        ))
    }
}

fn set_exec_label(label: &str) -> Result<(), StepError> {
    let c =
        CString::new(label).map_err(|_| Step::Selinux.refused(format!("bad label {label:?}")))?;
    let context = selinux::SecurityContext::from_c_str(&c, false);
    let set = context.set_for_next_exec();
    set.map_err(Step::Selinux.call(format!("set the label {label} for exec")))
}

fn set_no_new_privs() -> Result<(), StepError> {
    nix::sys::prctl::set_no_new_privs().map_err(Step::NoNewPrivs.call("set no_new_privs"))
}
