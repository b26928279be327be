//! `berth start`: definition, then every check that needs no change to the host, then the
//! steps that change it, each recorded before it is taken so that a failure undoes exactly
//! what was done.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::groups::{self, GroupSlice};
use super::state::{Phase, ProcessId, State};
use super::{confinement, recover, Context, LifecycleError};
use crate::config::{self, Config};
use crate::container::{self, ContainerPlan, Grants, HeldHelper, HostLayout, Prepared};
use crate::definition::{self, render, Loaded};
use crate::fault;
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

/// What this start has created so far, each recorded just before it is made, so that a
/// failure at any point undoes exactly that.
#[derive(Default)]
struct Progress {
    runtime_dir: Option<PathBuf>,
    /// The exit record of this start's init, in place of the last start's.
    exit_file: Option<PathBuf>,
    /// MCS level or ID range reserved: released again unless persistent data keeps them.
    reserved: bool,
    /// What it made in the persistent directory, removed again however far it got.
    state_dirs: Prepared,
    unit: Option<String>,
}

pub fn start(ctx: &Context, name: &Name) -> Result<Started, LifecycleError> {
    let loaded = definition::load(&ctx.search, name)?;
    let _lock = ctx.lock(name)?;
    let systemd = Systemd::connect()?;
    recover::clean_leftovers(ctx, &systemd, name)?;
    refuse_if_running(&systemd, name)?;
    let mut warnings = Vec::new();
    let start = check(ctx, &systemd, &loaded, &mut warnings)?;

    let mut progress = Progress::default();
    match carry_out(&start, &mut progress) {
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

/// A start that passed every check, with what its steps need from this host.
struct Start<'a> {
    ctx: &'a Context,
    systemd: &'a Systemd,
    loaded: &'a Loaded,
    scope: unit::ScopePlan,
    /// The slices of the container's group (and of the groups it is nested in) that have
    /// group files, outermost first.
    slices: Vec<GroupSlice>,
    layout: HostLayout,
    selinux: HostSelinux,
    config: Config,
    seccomp: Option<crate::security::Profile>,
    state_dir_is_new: bool,
}

/// Everything that can be refused without touching the host is, here: the container's kind
/// and mode, its image, its seccomp profile, the SELinux policy's knowledge of its label types.
fn check<'a>(
    ctx: &'a Context,
    systemd: &'a Systemd,
    loaded: &'a Loaded,
    warnings: &mut Vec<String>,
) -> Result<Start<'a>, LifecycleError> {
    let def = &loaded.definition;
    let cgroup = systemd::cgroup_version().at("detect the cgroup version of", "/sys/fs/cgroup")?;
    let scope = unit::plan_scope(def, cgroup);
    let slices = match &def.group {
        Some(group) => groups::plan_chain(ctx, group, cgroup)?,
        None => Vec::new(),
    };
    let layout = HostLayout::probe(&def.name, &ctx.paths.run, &ctx.paths.lib)
        .at("inspect the host's root directory", "/")?;
    container::plan::check_image_host(def, &layout)?;
    warnings.extend(scope.warnings.iter().cloned());
    warnings.extend(slices.iter().flat_map(|s| s.plan.warnings.iter().cloned()));
    let selinux = HostSelinux::probe();
    let seccomp = confinement::preflight(def, selinux, warnings)?;
    let config = Config::load(Path::new(config::PATH))?;
    Ok(Start {
        ctx,
        systemd,
        loaded,
        state_dir_is_new: !layout.state_dir.exists(),
        scope,
        slices,
        layout,
        selinux,
        config,
        seccomp,
    })
}

/// The steps that change the host, in order. Each records in `progress` what it is about to
/// create before it creates it.
fn carry_out(start: &Start<'_>, progress: &mut Progress) -> Result<Started, LifecycleError> {
    let (ctx, def) = (start.ctx, &start.loaded.definition);
    let mut state = intent(start)?;
    // The intent goes on disk before anything else, so that a killed berth can be cleaned up.
    fault::point("start.runtime_dir")?;
    create_runtime_dir(ctx, &def.name, progress)?;
    fault::point("start.intent")?;
    record(ctx, &def.name, &state)?;
    fault::point("start.clear_exit")?;
    clear_last_exit(ctx, &def.name, progress);
    fault::point("start.reserve")?;
    let mut grants = reserve(start, progress)?;
    state.selinux_label = grants.labels.as_ref().map(|l| l.process.clone());
    state.user_namespace = grants.user_namespace;
    fault::point("start.record_grants")?;
    record(ctx, &def.name, &state)?;
    // Decided before the state directories are made: chowned into the range or not.
    grants.idmapped_mounts = confinement::idmapped_mounts(def, &start.layout, &grants)?;
    fault::point("start.state_dirs")?;
    grants.machine_id = Some(prepare_dirs(start, &grants, progress)?);
    // Planned once, now that everything the host grants the container is known.
    let plan = container::plan_container(def, &start.layout, &grants)?;
    state.idmapped_mounts = !plan.idmapped_sources().is_empty();
    fault::point("start.plan")?;
    let plan_path = write_plan(ctx, &def.name, &plan)?;
    set_up_slices(start)?;
    fault::point("start.helper")?;
    let started = start_in_scope(start, &plan_path, progress)?;
    let mut warnings = started.warnings;
    fault::point("start.register")?;
    if def.register_machine {
        state.machine_registered =
            register_machine(start, &plan.machine_id, started.leader_pid, &mut warnings)?;
    }
    let leader = ProcessId::of(started.leader_pid).ok_or(LifecycleError::DiedDuringStart {
        name: def.name.clone(),
    })?;
    state.phase = Phase::Running {
        leader,
        started_usec: crate::store::now_usec(),
    };
    fault::point("start.running")?;
    record(ctx, &def.name, &state)?;
    Ok(Started {
        unit: start.scope.unit.clone(),
        leader: started.leader_pid,
        warnings,
    })
}

/// What the state file says while the start is under way: that this berth is starting it.
fn intent(start: &Start<'_>) -> Result<State, LifecycleError> {
    let (loaded, def) = (start.loaded, &start.loaded.definition);
    Ok(State {
        name: def.name.to_string(),
        unit: start.scope.unit.clone(),
        phase: Phase::Starting {
            berth: ProcessId::current().ok_or_else(|| {
                IoError::new("read", "/proc/self/stat", std::io::Error::last_os_error())
            })?,
        },
        state_dir_is_new: start.state_dir_is_new,
        digest: digest(loaded),
        machine_registered: false,
        selinux_label: None,
        user_namespace: None,
        idmapped_mounts: false,
        boot: def.mode == crate::definition::model::Mode::Boot,
        stop_signal: def.exec.stop_signal.number(),
        stop_timeout_usec: def.exec.stop_timeout_usec,
        settings: render::to_flat(&loaded.settings),
    })
}

/// Writes the state file: what the start has got to.
fn record(ctx: &Context, name: &Name, state: &State) -> Result<(), LifecycleError> {
    Ok(crate::store::write_json_atomic(
        &ctx.paths.state_file(name),
        state,
    )?)
}

fn create_runtime_dir(
    ctx: &Context,
    name: &Name,
    progress: &mut Progress,
) -> Result<(), LifecycleError> {
    let dir = ctx.paths.runtime_dir(name);
    progress.runtime_dir = Some(dir.clone());
    Ok(fs::create_dir_all(&dir).at("create", &dir)?)
}

/// Drops the last start's exit record: this start's init makes its own.
fn clear_last_exit(ctx: &Context, name: &Name, progress: &mut Progress) {
    let file = ctx.paths.exit_file(name);
    let _ = fs::remove_file(&file);
    progress.exit_file = Some(file);
}

/// Reserved only now that the runtime directory exists: it is what keeps another berth from
/// reclaiming the reservations as stale.
fn reserve(start: &Start<'_>, progress: &mut Progress) -> Result<Grants, LifecycleError> {
    progress.reserved = true;
    confinement::reserve(
        start.ctx,
        &start.loaded.definition,
        start.selinux,
        &start.config,
        start.seccomp.clone(),
    )
}

/// Makes the container's persistent and runtime directories; returns its machine ID.
fn prepare_dirs(
    start: &Start<'_>,
    grants: &Grants,
    progress: &mut Progress,
) -> Result<String, LifecycleError> {
    let (def, layout) = (&start.loaded.definition, &start.layout);
    let machine_id = container::prepare_state_dirs(def, layout, grants, &mut progress.state_dirs)?;
    fault::point("start.runtime_dirs")?;
    container::prepare_runtime_dirs(def, layout, grants, &machine_id)?;
    Ok(machine_id)
}

fn write_plan(ctx: &Context, name: &Name, plan: &ContainerPlan) -> Result<PathBuf, LifecycleError> {
    let path = ctx.paths.plan_file(name);
    container::write_plan(plan, &path)?;
    Ok(path)
}

/// Gives the group's slices their limits before the scope joins them, so that the container
/// shares the group's budget from its first instruction. Not recorded in [`Progress`] and not
/// undone by a rollback: the slices are shared with the group's other containers, and what
/// they get is what the group files say, whether this start succeeds or not.
fn set_up_slices(start: &Start<'_>) -> Result<(), LifecycleError> {
    for slice in &start.slices {
        groups::set_up(start.ctx, start.systemd, slice)?;
    }
    Ok(())
}

/// The helper waits until systemd has moved it into the scope, so that everything it starts
/// is accounted and limited from its first instruction.
fn start_in_scope(
    start: &Start<'_>,
    plan_path: &Path,
    progress: &mut Progress,
) -> Result<container::Started, LifecycleError> {
    let helper = HeldHelper::spawn_init(&container::helper_path(), plan_path)?;
    progress.unit = Some(start.scope.unit.clone());
    let scope = start.scope.clone().with_pids(&[helper.pid()]);
    // Up to its release the helper is held: killed there, berth leaves it to end on its own.
    let held = fault::point("start.scope")
        .map_err(LifecycleError::from)
        .and_then(|()| Ok(start.systemd.start_scope(&scope)?))
        .and_then(|()| Ok(fault::point("start.release")?));
    if let Err(e) = held {
        helper.abort();
        return Err(e);
    }
    Ok(helper.release(SETUP_TIMEOUT)?)
}

/// Registers the container with machined; whether it is, or a warning where machined is not
/// there.
fn register_machine(
    start: &Start<'_>,
    machine_id: &str,
    leader: u32,
    warnings: &mut Vec<String>,
) -> Result<bool, LifecycleError> {
    let root = start.layout.runtime_dir.join("root");
    let registered = Machined::new(start.systemd).and_then(|m| {
        m.register(
            start.loaded.definition.name.as_str(),
            &machine_id_bytes(machine_id),
            leader,
            &root.to_string_lossy(),
        )
    });
    match registered {
        Ok(()) => Ok(true),
        Err(MachinedError::Unavailable { .. }) => {
            warnings.push(
                "systemd-machined is not available: the container is not registered as a machine"
                    .into(),
            );
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
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

/// Undoes what `progress` records, newest first; returns what could not be undone. What was
/// recorded but never made is not there, which is no failure.
fn rollback(ctx: &Context, systemd: &Systemd, name: &Name, progress: &mut Progress) -> Vec<String> {
    let mut leftovers = Vec::new();
    if let Some(unit) = progress.unit.take() {
        if let Err(e) = systemd.stop_unit(&unit) {
            leftovers.push(format!("unit {unit}: {e}"));
        }
    }
    if let Err(e) = container::remove_created(&std::mem::take(&mut progress.state_dirs)) {
        leftovers.push(e.to_string());
    }
    // The exit record after the unit: the container's init writes it as it ends.
    if let Some(dir) = progress.runtime_dir.take() {
        leftovers.extend(left(&dir, fs::remove_dir_all(&dir)));
    }
    if let Some(file) = progress.exit_file.take() {
        leftovers.extend(left(&file, fs::remove_file(&file)));
    }
    if progress.reserved {
        leftovers.extend(confinement::release(ctx, name));
    }
    leftovers
}

/// What is left of `path` after removing it: nothing where it is gone or was never made.
fn left(path: &Path, removed: std::io::Result<()>) -> Option<String> {
    match removed {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Some(format!("{}: {e}", path.display()))
        }
        _ => None,
    }
}

/// Identifies the effective definition a container runs with (for `berth apply`).
pub fn digest(loaded: &Loaded) -> String {
    let text = render::to_toml(&loaded.settings, false);
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
