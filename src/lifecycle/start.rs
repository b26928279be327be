//! `berth start`: definition, then plan, then the steps that change the host, each of which is
//! undone if a later one fails.

use std::fs;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::state::{Phase, ProcessId, State};
use super::{recover, Context, LifecycleError};
use std::path::Path;

use super::confinement;
use crate::config::{self, Config};
use crate::container::{self, Grants, HeldHelper, HostLayout, Prepared};
use crate::definition::{self, render, Loaded};
use crate::name::Name;
use crate::security::selinux::HostSelinux;
use crate::store::{At, IoError};
use crate::systemd::{self, Machined, MachinedError, Systemd};
use crate::unit;

/// How long the helper may take to build the container and start the payload.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// What a successful start reports.
#[derive(Debug)]
pub struct Started {
    pub unit: String,
    pub leader: u32,
    pub warnings: Vec<String>,
}

/// What this start has done so far, so that a failure undoes exactly that.
struct Progress {
    runtime_dir: Option<std::path::PathBuf>,
    state_dir_is_new: bool,
    /// MCS level or ID range reserved: released again unless persistent data keeps them.
    reserved: bool,
    prepared: Option<Prepared>,
    unit: Option<String>,
}

pub fn start(ctx: &Context, name: &Name) -> Result<Started, LifecycleError> {
    let loaded = definition::load(&ctx.search, name)?;
    let _lock = ctx.lock(name)?;
    let systemd = Systemd::connect()?;
    recover::clean_leftovers(ctx, &systemd, name)?;
    refuse_if_running(&systemd, name)?;

    let def = &loaded.definition;
    let cgroup = systemd::cgroup_version().at("detect the cgroup version of", "/sys/fs/cgroup")?;
    let scope = unit::plan_scope(def, cgroup);
    let layout = HostLayout::probe(name, &ctx.paths.run, &ctx.paths.lib)
        .at("inspect the host's root directory", "/")?;
    // Everything that can be refused without touching the host is, here: the container's
    // kind and mode, its seccomp profile, the SELinux policy's knowledge of its label types.
    container::plan_container(def, &layout, &Grants::default())?;
    container::plan::check_image_host(def, &layout)?;
    let mut warnings = scope.warnings.clone();
    let selinux = HostSelinux::probe();
    let seccomp = confinement::preflight(def, selinux, &mut warnings)?;
    let config = Config::load(Path::new(config::PATH))?;

    let mut progress = Progress {
        runtime_dir: None,
        state_dir_is_new: !layout.state_dir.exists(),
        reserved: false,
        prepared: None,
        unit: None,
    };
    let host = Host {
        selinux,
        config: &config,
        seccomp,
    };
    let result = carry_out(
        ctx,
        &systemd,
        &loaded,
        &scope,
        &layout,
        &host,
        &mut progress,
    );
    match result {
        Ok(mut started) => {
            started.warnings.splice(0..0, warnings);
            Ok(started)
        }
        Err(e) => {
            let leftovers = rollback(ctx, &systemd, name, &mut progress);
            if leftovers.is_empty() {
                Err(e)
            } else {
                Err(LifecycleError::RollbackIncomplete {
                    cause: Box::new(e),
                    leftovers,
                })
            }
        }
    }
}

fn refuse_if_running(systemd: &Systemd, name: &Name) -> Result<(), LifecycleError> {
    match systemd.unit_status(&name.scope_unit())? {
        Some(s) if s.active_state != "inactive" && s.active_state != "failed" => {
            Err(LifecycleError::AlreadyRunning(name.clone()))
        }
        _ => Ok(()),
    }
}

/// What this host brings to a start.
struct Host<'a> {
    selinux: HostSelinux,
    config: &'a Config,
    seccomp: Option<crate::security::Profile>,
}

/// The steps that change the host, in order. Each records itself in `progress` first.
fn carry_out(
    ctx: &Context,
    systemd: &Systemd,
    loaded: &Loaded,
    scope: &unit::ScopePlan,
    layout: &HostLayout,
    host: &Host<'_>,
    progress: &mut Progress,
) -> Result<Started, LifecycleError> {
    let name = &loaded.definition.name;
    let mut state = State {
        name: name.to_string(),
        unit: scope.unit.clone(),
        phase: Phase::Starting {
            berth: ProcessId::current().ok_or_else(|| {
                IoError::new("read", "/proc/self/stat", std::io::Error::last_os_error())
            })?,
        },
        state_dir_is_new: progress.state_dir_is_new,
        digest: digest(loaded),
        machine_registered: false,
        selinux_label: None,
        user_namespace: None,
        idmapped_mounts: false,
        boot: loaded.definition.mode == crate::definition::model::Mode::Boot,
        stop_signal: loaded.definition.exec.stop_signal.number(),
        stop_timeout_usec: loaded.definition.exec.stop_timeout_usec,
        settings: render::to_flat(&loaded.settings),
    };

    // The intent goes on disk before anything else, so that a killed berth can be cleaned up.
    create_runtime_dir(ctx, name, progress)?;
    crate::store::write_json_atomic(&ctx.paths.state_file(name), &state)?;
    let _ = fs::remove_file(ctx.paths.exit_file(name));

    // Reserved only now that the runtime directory exists: it is what keeps another berth
    // from reclaiming the reservations as stale.
    progress.reserved = true;
    let mut grants = confinement::reserve(
        ctx,
        &loaded.definition,
        host.selinux,
        host.config,
        host.seccomp.clone(),
    )?;
    state.selinux_label = grants.labels.as_ref().map(|l| l.process.clone());
    state.user_namespace = grants.user_namespace;
    crate::store::write_json_atomic(&ctx.paths.state_file(name), &state)?;
    // Decided before the state directories are made: chowned into the range or not.
    grants.idmapped_mounts = confinement::idmapped_mounts(&loaded.definition, layout, &grants)?;
    let prepared = container::prepare_state_dirs(&loaded.definition, layout, &grants)?;
    let machine_id = prepared.machine_id.clone();
    progress.prepared = Some(prepared);
    container::prepare_runtime_dirs(&loaded.definition, layout, &grants, &machine_id)?;
    grants.machine_id = Some(machine_id.clone());
    let plan = &container::plan_container(&loaded.definition, layout, &grants)?;
    state.idmapped_mounts = !plan.idmapped_sources().is_empty();
    let plan_path = ctx.paths.plan_file(name);
    container::write_plan(plan, &plan_path).at("write", &plan_path)?;

    // The helper waits until systemd has moved it into the scope, so that everything it
    // starts is accounted and limited from its first instruction.
    let helper = HeldHelper::spawn_init(&container::helper_path(), &plan_path)?;
    progress.unit = Some(scope.unit.clone());
    if let Err(e) = systemd.start_scope(&scope.clone().with_pids(&[helper.pid()])) {
        helper.abort();
        return Err(e.into());
    }
    let started = helper.release(SETUP_TIMEOUT)?;
    let mut warnings = started.warnings;

    if loaded.definition.register_machine {
        let root = layout.runtime_dir.join("root");
        let id = machine_id_bytes(&machine_id);
        match register_machine(
            systemd,
            name,
            &id,
            started.leader_pid,
            &root.to_string_lossy(),
        ) {
            Ok(()) => state.machine_registered = true,
            Err(MachinedError::Unavailable { .. }) => warnings.push(
                "systemd-machined is not available: the container is not registered as a machine"
                    .into(),
            ),
            Err(e) => return Err(e.into()),
        }
    }

    let leader = ProcessId::of(started.leader_pid)
        .ok_or(LifecycleError::DiedDuringStart { name: name.clone() })?;
    state.phase = Phase::Running {
        leader,
        started_usec: crate::store::now_usec(),
    };
    crate::store::write_json_atomic(&ctx.paths.state_file(name), &state)?;
    Ok(Started {
        unit: scope.unit.clone(),
        leader: started.leader_pid,
        warnings,
    })
}

fn register_machine(
    systemd: &Systemd,
    name: &Name,
    id: &[u8],
    leader: u32,
    root: &str,
) -> Result<(), MachinedError> {
    Machined::new(systemd)?.register(name.as_str(), id, leader, root)
}

/// 32 hex digits as the 16 bytes machined takes; empty if it is not that.
fn machine_id_bytes(id: &str) -> Vec<u8> {
    (0..id.len() / 2)
        .map(|i| u8::from_str_radix(id.get(2 * i..2 * i + 2).unwrap_or("x"), 16))
        .collect::<Result<Vec<u8>, _>>()
        .ok()
        .filter(|b| b.len() == 16)
        .unwrap_or_default()
}

fn create_runtime_dir(
    ctx: &Context,
    name: &Name,
    progress: &mut Progress,
) -> Result<(), LifecycleError> {
    let dir = ctx.paths.runtime_dir(name);
    fs::create_dir_all(&dir).at("create", &dir)?;
    progress.runtime_dir = Some(dir);
    Ok(())
}

/// Undoes what `progress` records, newest first; returns what could not be undone.
fn rollback(ctx: &Context, systemd: &Systemd, name: &Name, progress: &mut Progress) -> Vec<String> {
    let mut leftovers = Vec::new();
    if let Some(unit) = progress.unit.take() {
        if let Err(e) = systemd.stop_unit(&unit) {
            leftovers.push(format!("unit {unit}: {e}"));
        }
    }
    if let Some(prepared) = progress.prepared.take() {
        if let Err(e) = container::remove_created(&prepared) {
            leftovers.push(e.to_string());
        }
    }
    if let Some(dir) = progress.runtime_dir.take() {
        if let Err(e) = fs::remove_dir_all(&dir) {
            leftovers.push(format!("{}: {e}", dir.display()));
        }
    }
    if progress.reserved {
        leftovers.extend(confinement::release(ctx, name));
    }
    leftovers
}

/// Identifies the effective definition a container runs with (for `berth apply`).
pub fn digest(loaded: &Loaded) -> String {
    let text = render::to_toml(&loaded.settings, false);
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
