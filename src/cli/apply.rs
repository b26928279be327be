//! `berth apply`, `berth enable` and `berth disable`.

use super::exit;
use super::run::{fail, name};
use crate::apply::enable::{self, Autostart};
use crate::apply::{self, Action, ApplyError, Outcome};
use crate::lifecycle::stop::Stopped;
use crate::lifecycle::{start, stop, Context, LifecycleError};
use crate::name::Name;

fn names(raw: &[String]) -> Result<Vec<Name>, u8> {
    raw.iter()
        .map(|n| name(n).map_err(|_| exit::USAGE))
        .collect()
}

fn waiting(what: &str) -> impl FnOnce(&apply::lock::Holder) + '_ {
    move |holder| eprintln!("berth {what}: waiting for {holder}, which holds the apply lock")
}

/// How often apply starts over when the definitions change while it runs.
const ROUNDS: usize = 3;

/// `berth apply`'s switches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub dry_run: bool,
    pub until_stable: bool,
    pub restart_outdated: bool,
}

pub fn apply(ctx: &Context, raw: &[String], flags: Flags, json: bool) -> u8 {
    let Flags {
        dry_run,
        until_stable,
        restart_outdated,
    } = flags;
    let options = match names(raw) {
        Ok(names) => apply::Options {
            names,
            dry_run,
            until_stable: until_stable && !dry_run,
            restart_outdated,
        },
        Err(code) => return code,
    };
    let mut report = Report::default();
    for round in 1..=ROUNDS {
        let prepared = match apply::prepare(ctx, &options, waiting("apply")) {
            Ok(p) => p,
            Err(e) => {
                report
                    .errors
                    .push(crate::diagnostic::Diagnostic::new(e.to_string()).to_json());
                if !json {
                    let what = if round == 1 {
                        "nothing"
                    } else {
                        "nothing more"
                    };
                    eprintln!("error: {e}; {what} was applied");
                }
                report.failed = true;
                // Nothing at all, or a later round after the earlier ones did their part.
                report.aborted = round == 1;
                break;
            }
        };
        report.round(ctx, &prepared, json);
        let again = prepared.definitions_changed(ctx);
        drop(prepared);
        if !again {
            break;
        }
        let what = if round < ROUNDS {
            "applying again"
        } else {
            "run berth apply once more"
        };
        report
            .warnings
            .push(format!("definitions changed while applying: {what}"));
        if !json {
            eprintln!("berth apply: definitions changed while applying: {what}");
        }
    }
    let changed = if dry_run {
        report
            .plan
            .iter()
            .any(|(action, _)| action.changes_something())
    } else {
        report.outcomes.iter().any(|o| o.result.is_ok())
    } || report.groups_changed;
    if json {
        let out = serde_json::json!({
            "changed": changed,
            "failed": report.failed,
            "dry_run": dry_run,
            "plan": report.plan.iter().map(|(_, e)| e).collect::<Vec<_>>(),
            "results": report.outcomes.iter().map(Outcome::to_json).collect::<Vec<_>>(),
            "groups": report.groups,
            "errors": report.errors,
            "warnings": report.warnings,
        });
        println!("{out:#}");
    } else if !dry_run && (!report.outcomes.is_empty() || report.groups_changed) {
        println!("{}", summary(&report.outcomes, report.groups_updated));
    }
    if report.aborted {
        exit::NOT_APPLIED
    } else if report.failed {
        exit::FAILED
    } else {
        exit::OK
    }
}

/// What every round planned and did.
#[derive(Default)]
struct Report {
    plan: Vec<(Action, serde_json::Value)>,
    outcomes: Vec<Outcome>,
    groups: Vec<serde_json::Value>,
    /// Group slices whose limits were (with --dry-run: would be) brought up to date.
    groups_changed: bool,
    groups_updated: usize,
    errors: Vec<serde_json::Value>,
    warnings: Vec<String>,
    failed: bool,
    aborted: bool,
}

impl Report {
    /// Prints the plan (unless `json`), carries it out, printing each result, and keeps both.
    fn round(&mut self, ctx: &Context, prepared: &apply::Prepared, json: bool) {
        let plan = &prepared.plan;
        if !json {
            for d in &prepared.invalid_files {
                eprintln!("{d}");
            }
            for e in plan.refused() {
                for p in &e.problems {
                    eprintln!("{p}");
                }
            }
            for w in &prepared.warnings {
                eprintln!("warning: {w}");
            }
            print!("{}", plan.to_text());
        }
        self.sync_groups(ctx, prepared, json);
        let outcomes = apply::execute(ctx, prepared, |o| {
            if json {
                return;
            }
            for w in &o.warnings {
                eprintln!("warning: {}: {w}", o.name);
            }
            match &o.result {
                Ok(done) => println!("{done}"),
                Err(e) => eprintln!("error: {} {}: {e}", o.action.word(), o.name),
            }
        });
        self.failed |= prepared.has_problems() || outcomes.iter().any(|o| o.result.is_err());
        self.plan
            .extend(plan.entries.iter().map(|e| (e.action, e.to_json())));
        self.errors
            .extend(prepared.invalid_files.iter().map(|d| d.to_json()));
        self.warnings.extend(prepared.warnings.iter().cloned());
        self.outcomes.extend(outcomes);
    }
}

impl Report {
    fn sync_groups(&mut self, ctx: &Context, prepared: &apply::Prepared, json: bool) {
        let synced = match apply::sync_groups(ctx, prepared) {
            Ok(s) => s,
            Err(e) => {
                if !json {
                    eprintln!("error: group slices: {e}");
                }
                self.errors
                    .push(crate::diagnostic::Diagnostic::new(e.to_string()).to_json());
                self.failed = true;
                return;
            }
        };
        for s in &synced {
            if !json {
                for w in &s.warnings {
                    eprintln!("warning: group {}: {w}", s.group);
                }
                match &s.result {
                    Ok(done) => println!("{done}"),
                    Err(e) => eprintln!("error: group {}: {e}", s.group),
                }
            }
            match &s.result {
                Ok(_) => {
                    self.groups_changed = true;
                    self.groups_updated += 1;
                }
                Err(_) => self.failed = true,
            }
            self.groups.push(apply::synced_json(s));
        }
    }
}

fn summary(outcomes: &[Outcome], groups: usize) -> String {
    let mut parts = Vec::new();
    for (action, done) in [
        (Action::Start, "started"),
        (Action::Stop, "stopped"),
        (Action::Restart, "restarted"),
        (Action::Update, "updated"),
    ] {
        let n = outcomes
            .iter()
            .filter(|o| o.action == action && o.result.is_ok())
            .count();
        if n > 0 {
            parts.push(format!("{n} {done}"));
        }
    }
    if groups > 0 {
        parts.push(format!("{groups} group slice(s) updated"));
    }
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    format!("applied: {}", parts.join(", "))
}

/// `berth enable NAME [--now]` and `berth disable NAME [--now]`.
pub fn set_autostart(ctx: &Context, raw: &str, on: bool, now: bool) -> u8 {
    let n = match name(raw) {
        Ok(n) => n,
        Err(code) => return code,
    };
    let verb = if on { "enable" } else { "disable" };
    // With --now this also starts or stops: not in the middle of an apply.
    let lock = if now {
        match apply::lock::ApplyLock::acquire(
            &ctx.paths.run.join(apply::lock::LOCK_FILE),
            true,
            waiting(verb),
        ) {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::FAILED;
            }
        }
    } else {
        None
    };
    match enable::set_autostart(ctx, &n, on) {
        Ok(Autostart::Written(path)) => {
            println!("{verb}d {n}: autostart = {on} in {}", path.display())
        }
        Ok(Autostart::Already) => println!("{n}: autostart is already {on}"),
        Err(ApplyError::Definition(e)) => return fail(&LifecycleError::Definition(e)),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    }
    if !now {
        return exit::OK;
    }
    let code = if on {
        match start::start(ctx, &n) {
            Ok(started) => {
                for w in &started.warnings {
                    eprintln!("warning: {w}");
                }
                println!(
                    "started {n} as {} (leader PID {})",
                    started.unit, started.leader
                );
                exit::OK
            }
            Err(LifecycleError::AlreadyRunning(_)) => {
                println!("{n} is already running");
                exit::OK
            }
            Err(e) => fail(&e),
        }
    } else {
        match stop::stop(ctx, &n, None) {
            Ok(Stopped::Stopped) => {
                println!("stopped {n}");
                exit::OK
            }
            Ok(Stopped::WasNotRunning) => {
                println!("{n} is not running");
                exit::OK
            }
            Err(e) => fail(&e),
        }
    };
    drop(lock);
    code
}
