//! The host's side of a container's confinement at start: checking its seccomp profile and
//! SELinux types before anything is done, then reserving its MCS level and user namespace
//! range (and finding whether its private trees are idmapped or chowned into it), and
//! releasing them when it is gone.

use std::path::{Path, PathBuf};

use super::{Context, LifecycleError};
use crate::config::Config;
use crate::container::{self, Grants, HostLayout};
use crate::container::{idmap, labelling};
use crate::definition::model::{Definition, Mode, Seccomp, Selinux};
use crate::name::Name;
use crate::security::seccomp::{self, Profile, Target};
use crate::security::selinux::{self, HostSelinux};
use crate::security::{capabilities, mcs};
use crate::store::{mcs_levels, registry, userns_ranges};

/// Checks what can be checked without changing the host, and returns the container's seccomp
/// profile. Names in a profile that this libseccomp does not know are skipped with a warning.
pub fn preflight(
    def: &Definition,
    host: HostSelinux,
    warnings: &mut Vec<String>,
) -> Result<Option<Profile>, LifecycleError> {
    let profile = match &def.security.seccomp {
        Seccomp::Unconfined => None,
        Seccomp::Default => Some(seccomp::default_profile(
            def.security.user_namespace,
            def.mode == Mode::Boot,
        )),
        Seccomp::Profile(path) => {
            let bounding = capabilities::plan(&def.security, def.mode).bounding;
            Some(seccomp::read_profile(
                path,
                &Target::of_this_host(bounding),
            )?)
        }
    };
    if let Some(p) = &profile {
        let compiled = seccomp::compile(p, &seccomp::native_arches())?;
        if !compiled.unknown.is_empty() {
            warnings.push(format!(
                "the seccomp profile names system calls this host's libseccomp does not know, \
                 which are skipped: {}",
                compiled.unknown.join(", ")
            ));
        }
    }
    if let (Selinux::Auto { process_type, .. }, true) = (&def.security.selinux, host.is_enabled()) {
        labelling::check_in_policy(&format!("system_u:system_r:{process_type}:s0"))?;
        labelling::check_in_policy(&format!("system_u:object_r:{}:s0", selinux::FILE_TYPE))?;
    }
    Ok(profile)
}

/// Reserves the container's MCS level (where SELinux is on and the definition wants one) and
/// user namespace range. Call once the runtime directory exists, which keeps them live.
pub fn reserve(
    ctx: &Context,
    def: &Definition,
    host: HostSelinux,
    config: &Config,
    seccomp: Option<Profile>,
) -> Result<Grants, LifecycleError> {
    let labels = match (&def.security.selinux, host.is_enabled()) {
        (
            Selinux::Auto {
                process_type,
                level,
            },
            true,
        ) => {
            let fixed = level
                .as_deref()
                .map(|l| l.parse::<mcs::Level>())
                .transpose()
                .map_err(|message| mcs_levels::McsError::Fixed { message })?;
            let level = mcs_levels::reserve(
                &ctx.paths,
                std::path::Path::new("/proc"),
                &def.name,
                fixed,
                config.mcs_categories,
            )?;
            Some(selinux::labels(process_type, level))
        }
        _ => None,
    };
    let user_namespace = if def.security.user_namespace {
        Some(userns_ranges::reserve(
            &ctx.paths,
            std::path::Path::new("/etc"),
            &def.name,
        )?)
    } else {
        None
    };
    Ok(Grants {
        labels,
        user_namespace,
        idmapped_mounts: false,
        seccomp,
        machine_id: None,
    })
}

/// Whether the container's private /etc and /var can be idmapped mounts on this host: tried,
/// once per start, on the directories its plan binds them from.
pub fn idmapped_mounts(
    def: &Definition,
    layout: &HostLayout,
    grants: &Grants,
) -> Result<bool, LifecycleError> {
    let Some(base) = grants.user_namespace else {
        return Ok(false);
    };
    let sources = container::plan::private_sources(def, layout);
    let sources: Vec<&Path> = sources.iter().map(PathBuf::as_path).collect();
    Ok(idmap::supported(&sources, base)?)
}

/// Releases what [`reserve`] took, unless persistent data keeps it; returns what could not
/// be released.
pub fn release(ctx: &Context, name: &Name) -> Vec<String> {
    let mut left = Vec::new();
    if let Err(e) = mcs_levels::release_unless_persistent(&ctx.paths, name) {
        left.push(format!("MCS level of {name}: {e}"));
    }
    if let Err(e) = userns_ranges::release_unless_persistent(&ctx.paths, name) {
        left.push(format!("user namespace range of {name}: {e}"));
    }
    left
}

/// Whether a registry holds a reservation for `name`: a hint that [`release`] has something
/// to do.
pub fn holds_reservation(ctx: &Context, name: &Name) -> bool {
    registry::holds(&mcs_levels::registry_path(&ctx.paths), name)
        || registry::holds(&userns_ranges::registry_path(&ctx.paths), name)
}
