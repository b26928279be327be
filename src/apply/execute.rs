//! The side of `berth apply` that acts: read the definitions and what runs, plan, and carry the
//! plan out container by container, one failure not stopping the others.

use std::collections::{BTreeMap, BTreeSet};

use super::lock::{ApplyLock, Holder, LOCK_FILE};
use super::plan::{self, Action, Desired, Entry, Host, Observed, Plan};
use super::ApplyError;
use crate::definition::{self, render, LoadError};
use crate::diagnostic::Diagnostic;
use crate::lifecycle::state::{self, Phase};
use crate::lifecycle::stop::Stopped;
use crate::lifecycle::{groups, recover, start, stop, Context, LifecycleError};
use crate::name::{name_from_scope_unit, Name};
use crate::store::At;
use crate::systemd::{self, Systemd};

/// A plan made under the apply lock, ready to be carried out.
pub struct Prepared {
    pub plan: Plan,
    /// Definition files whose names are not container names, as `berth check` reports them.
    pub invalid_files: Vec<Diagnostic>,
    /// What cleaning up after dead berths or ended containers did not manage.
    pub warnings: Vec<String>,
    /// Of the search path, taken before the definitions were read, when asked for.
    fingerprint: Option<u64>,
    dry_run: bool,
    /// Group slices are brought up to date only by an apply of everything.
    all: bool,
    cgroup: crate::unit::CgroupVersion,
    _lock: ApplyLock,
}

impl Prepared {
    /// Whether something is already known to fail before anything is done.
    pub fn has_problems(&self) -> bool {
        !self.invalid_files.is_empty() || self.plan.refused().next().is_some()
    }

    /// Whether a definition file was added, removed or written since this plan read them
    /// (false unless [`Options::until_stable`] asked to keep track).
    pub fn definitions_changed(&self, ctx: &Context) -> bool {
        self.fingerprint
            .is_some_and(|before| ctx.search.fingerprint() != before)
    }
}

/// How one planned action went.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: Name,
    pub action: Action,
    /// What was done, or the error.
    pub result: Result<String, String>,
    pub warnings: Vec<String>,
}

impl Outcome {
    pub fn to_json(&self) -> serde_json::Value {
        let (message, error) = match &self.result {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(e)),
        };
        serde_json::json!({
            "name": self.name.as_str(),
            "action": self.action,
            "ok": self.result.is_ok(),
            "message": message,
            "error": error,
            "warnings": self.warnings,
        })
    }
}

/// What to apply, and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only these containers; all when empty.
    pub names: Vec<Name>,
    /// Plan only.
    pub dry_run: bool,
    /// Keep track of the definition files, so that a caller can apply again when they changed
    /// while apply ran: berth-apply.service needs it, since systemd does not watch the paths
    /// of berth.path while the unit it triggered runs. It costs a walk of the search path.
    pub until_stable: bool,
    /// Also restart the running containers that a host update left outdated
    /// ([`crate::lifecycle::outdated`]).
    pub restart_outdated: bool,
}

/// Takes the apply lock (waiting for it, after telling `on_wait` who holds it), cleans up after
/// dead berths and ended containers (unless `dry_run`), reads the definitions and what runs,
/// and plans.
pub fn prepare(
    ctx: &Context,
    options: &Options,
    on_wait: impl FnOnce(&Holder),
) -> Result<Prepared, ApplyError> {
    let Options {
        names,
        dry_run,
        until_stable,
        restart_outdated,
    } = options;
    let dry_run = *dry_run;
    let lock = ApplyLock::acquire(&ctx.paths.run.join(LOCK_FILE), !dry_run, on_wait)?;
    let systemd = Systemd::connect()?;
    let mut warnings = Vec::new();
    if !dry_run {
        for (name, e) in recover::clean_all_leftovers(ctx, &systemd) {
            warnings.push(format!("cleaning up after {name}: {e}"));
        }
    }
    let only: Option<BTreeSet<Name>> = (!names.is_empty()).then(|| names.iter().cloned().collect());
    let fingerprint = until_stable.then(|| ctx.search.fingerprint());
    let (desired, invalid_files) = desired(ctx, only.as_ref())?;
    let observed = observed(ctx, &systemd)?;
    let host = Host {
        cgroup: systemd::cgroup_version().at("detect the cgroup version of", "/sys/fs/cgroup")?,
        default_tasks_max: systemd.default_tasks_max()?,
    };
    let mut plan = plan::plan(&desired, &observed, only.as_ref(), host);
    if *restart_outdated {
        plan::restart_outdated(&mut plan, &outdated(&systemd, &observed)?);
    }
    Ok(Prepared {
        plan,
        invalid_files,
        warnings,
        fingerprint,
        dry_run,
        all: only.is_none(),
        cgroup: host.cgroup,
        _lock: lock,
    })
}

/// Every definition on the search path (or just `only`), read and checked.
fn desired(
    ctx: &Context,
    only: Option<&BTreeSet<Name>>,
) -> Result<(BTreeMap<Name, Desired>, Vec<Diagnostic>), ApplyError> {
    let (names, invalid) = match only {
        Some(only) => (only.clone(), Vec::new()),
        None => ctx.search.names()?,
    };
    let invalid_files = invalid
        .iter()
        .map(|p| definition::invalid_file_name(p))
        .collect();
    let names: Vec<Name> = names.into_iter().collect();
    // Reading and checking thousands of definitions is CPU work that parallelises cleanly.
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8);
    let chunk = names.len().div_ceil(threads).max(1);
    let desired = std::thread::scope(|s| {
        let workers: Vec<_> = names
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|n| (n.clone(), load(ctx, n)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a definition loader panicked"))
            .collect()
    });
    Ok((desired, invalid_files))
}

fn load(ctx: &Context, name: &Name) -> Desired {
    match definition::load(&ctx.search, name) {
        Ok(loaded) => Desired::Defined(Box::new(loaded)),
        Err(LoadError::Masked(_, path)) => Desired::Masked(path),
        Err(LoadError::NotFound(..) | LoadError::DropinsOnly { .. }) => Desired::Gone,
        Err(LoadError::Invalid { problems, .. }) => Desired::Invalid(problems),
        Err(e @ LoadError::Search(_)) => Desired::Invalid(vec![Diagnostic::new(e.to_string())]),
    }
}

/// What runs: berth's active scopes, with the state berth recorded for them.
fn observed(ctx: &Context, systemd: &Systemd) -> Result<BTreeMap<Name, Observed>, ApplyError> {
    let mut out = BTreeMap::new();
    for unit in systemd.list_units("berth-*.scope")? {
        if !unit.is_active() {
            continue;
        }
        let Some(name) = name_from_scope_unit(&unit.id) else {
            continue;
        };
        let seen = match state::read(&ctx.paths.state_file(&name))? {
            None => Observed::Foreign { unit: unit.id },
            Some(s) => match s.phase {
                Phase::Running { .. } => Observed::Berth(Box::new(s)),
                Phase::Starting { berth } if berth.is_alive() => {
                    Observed::Starting { berth: berth.pid }
                }
                // A start that died: cleaning up stops its unit, so it counts as not running
                // (only a dry run sees this; apply itself cleaned up first).
                Phase::Starting { .. } => continue,
            },
        };
        out.insert(name, seen);
    }
    Ok(out)
}

/// berth's running containers that map files from /usr replaced since they started, with
/// those files.
fn outdated(
    systemd: &Systemd,
    observed: &BTreeMap<Name, Observed>,
) -> Result<BTreeMap<Name, Vec<String>>, ApplyError> {
    let mut out = BTreeMap::new();
    for name in observed
        .iter()
        .filter(|(_, o)| matches!(o, Observed::Berth(_)))
        .map(|(n, _)| n)
    {
        let Some(unit) = systemd.unit_status(&name.scope_unit())? else {
            continue;
        };
        let files = crate::lifecycle::status::outdated_files(&unit);
        if !files.is_empty() {
            out.insert(name.clone(), files);
        }
    }
    Ok(out)
}

/// Brings the active group slices up to date with their group files (with `--dry-run`: says
/// what that would do); nothing when apply was given container names. Done before the
/// containers, so that a container started in a group joins its slice as the file says.
pub fn sync_groups(ctx: &Context, prepared: &Prepared) -> Result<Vec<groups::Synced>, ApplyError> {
    if !prepared.all {
        return Ok(Vec::new());
    }
    let systemd = Systemd::connect()?;
    let synced = groups::sync(ctx, &systemd, prepared.cgroup, prepared.dry_run)?;
    for s in &synced {
        match &s.result {
            Ok(done) => tracing::info!(group = %s.group, "{done}"),
            Err(e) => tracing::error!(group = %s.group, "{e}"),
        }
    }
    Ok(synced)
}

/// One group's line in `berth apply --json`'s `groups`.
pub fn synced_json(s: &groups::Synced) -> serde_json::Value {
    let (message, error) = match &s.result {
        Ok(m) => (Some(m), None),
        Err(e) => (None, Some(e)),
    };
    serde_json::json!({
        "group": s.group.to_string(),
        "unit": s.unit,
        "ok": s.result.is_ok(),
        "message": message,
        "error": error,
        "warnings": s.warnings,
    })
}

/// Carries out the plan in its order, calling `on_done` after each action; a failure is
/// reported in its outcome and does not stop the rest. A dry run does nothing.
pub fn execute(
    ctx: &Context,
    prepared: &Prepared,
    mut on_done: impl FnMut(&Outcome),
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    if prepared.dry_run {
        return outcomes;
    }
    for entry in &prepared.plan.entries {
        if !entry.action.changes_something() {
            continue;
        }
        let mut warnings = entry.warnings.clone();
        let result = crate::fault::point("apply.entry")
            .map_err(|e| ApplyError::Lifecycle(e.into()))
            .and_then(|()| carry_out(ctx, entry, &mut warnings))
            .map_err(|e| describe(&e));
        match &result {
            Ok(done) => tracing::info!(container = %entry.name, "{done}"),
            Err(e) => tracing::error!(container = %entry.name, "{e}"),
        }
        let outcome = Outcome {
            name: entry.name.clone(),
            action: entry.action,
            result,
            warnings,
        };
        on_done(&outcome);
        outcomes.push(outcome);
    }
    outcomes
}

fn carry_out(
    ctx: &Context,
    entry: &Entry,
    warnings: &mut Vec<String>,
) -> Result<String, ApplyError> {
    let name = &entry.name;
    match entry.action {
        Action::Start => {
            let started = start::start(ctx, name)?;
            warnings.extend(started.warnings);
            Ok(format!(
                "started {name} as {} (leader PID {})",
                started.unit, started.leader
            ))
        }
        Action::Stop => Ok(match stop::stop(ctx, name, None)? {
            Stopped::Stopped => format!("stopped {name}"),
            Stopped::WasNotRunning => format!("{name} had stopped already"),
        }),
        Action::Restart => {
            stop::stop(ctx, name, None)?;
            crate::fault::point("apply.restart").map_err(LifecycleError::from)?;
            let started = start::start(ctx, name)?;
            warnings.extend(started.warnings);
            Ok(format!(
                "restarted {name} as {} (leader PID {})",
                started.unit, started.leader
            ))
        }
        Action::Update => update_in_place(ctx, entry),
        Action::Unchanged | Action::Refuse => Ok(String::new()),
    }
}

/// Sets the planned properties on the running scope and records the new definition, so that
/// the next apply finds it as defined. Under the container's lock, and only if the container
/// still runs with what the plan compared against.
fn update_in_place(ctx: &Context, entry: &Entry) -> Result<String, ApplyError> {
    let name = &entry.name;
    let loaded = entry
        .loaded
        .as_deref()
        .expect("an update is planned with its definition");
    let _lock = ctx.lock(name).map_err(LifecycleError::from)?;
    let path = ctx.paths.state_file(name);
    let mut recorded = match state::read(&path)? {
        Some(s) if matches!(s.phase, Phase::Running { .. }) => s,
        _ => return Err(ApplyError::NotRunning(name.clone())),
    };
    if Some(&recorded.digest) != entry.recorded_digest.as_ref() {
        return Err(ApplyError::ChangedMeanwhile(name.clone()));
    }
    if !entry.properties.is_empty() {
        let systemd = Systemd::connect()?;
        systemd.set_unit_properties(&recorded.unit, true, &entry.properties)?;
    }
    crate::fault::point("apply.update").map_err(LifecycleError::from)?;
    recorded.digest = start::digest(loaded);
    recorded.settings = render::to_flat(&loaded.settings);
    crate::store::write_json_atomic(&path, &recorded)?;
    let set: Vec<String> = entry.properties.iter().map(|p| p.name.to_owned()).collect();
    Ok(if set.is_empty() {
        format!("updated {name} (recorded only; nothing to set on its unit)")
    } else {
        format!("updated {name} in place: {}", set.join(", "))
    })
}

/// An error in one line, with an invalid definition's problems as `berth check` words them.
fn describe(e: &ApplyError) -> String {
    match e {
        ApplyError::Lifecycle(LifecycleError::Definition(LoadError::Invalid {
            name,
            problems,
        })) => {
            let mut text = String::new();
            for p in problems {
                text.push_str(&p.to_string());
            }
            text.push_str(&format!(
                "the definition of `{name}` became invalid; nothing was changed"
            ));
            text
        }
        e => e.to_string(),
    }
}
