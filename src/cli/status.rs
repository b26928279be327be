//! `berth list` and `berth status`: what runs, read from systemd, the cgroup and the journal.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use super::exit;
use super::run::name;
use crate::container::Exit;
use crate::definition::value::format_usec;
use crate::definition::{self, LoadError};
use crate::lifecycle::state::{self, Phase};
use crate::lifecycle::{recover, Context};
use crate::name::{name_from_scope_unit, Name};
use crate::security::selinux::HostSelinux;
use crate::systemd::{Systemd, UnitStatus};

/// A container as `list` shows it; with `--json`, these keys as berth(1) (src/cli/json.rs)
/// documents them.
#[derive(Debug, serde::Serialize)]
struct Row {
    name: String,
    /// running, stopped, starting, stopping, failed, orphan (running without a definition),
    /// masked or invalid.
    state: String,
    unit: String,
    description: String,
    group: Option<String>,
    autostart: Option<bool>,
    leader: Option<u32>,
    since_usec: Option<u64>,
    memory_current: Option<u64>,
    tasks_current: Option<u64>,
    cpu_usage_nsec: Option<u64>,
}

/// ActiveEnterTimestamp, unless the unit never was active.
fn since(unit: Option<&UnitStatus>) -> Option<u64> {
    unit.map(|u| u.active_enter_usec).filter(|&t| t > 0)
}

/// The host PID of the container's PID 1, while it runs.
fn running_leader(ctx: &Context, n: &Name) -> Option<u32> {
    match state::read(&ctx.paths.state_file(n)).ok().flatten()?.phase {
        Phase::Running { leader, .. } if leader.is_alive() => Some(leader.pid),
        _ => None,
    }
}

fn state_of(status: Option<&UnitStatus>) -> &'static str {
    match status.map(|s| s.active_state.as_str()) {
        Some("active") => "running",
        Some("activating") => "starting",
        Some("deactivating") => "stopping",
        Some("failed") => "failed",
        _ => "stopped",
    }
}

pub fn list(ctx: &Context, json: bool) -> u8 {
    let systemd = match Systemd::connect() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    for (name, e) in recover::clean_all_leftovers(ctx, &systemd) {
        eprintln!("warning: cleaning up after {name}: {e}");
    }
    let units: BTreeMap<Name, UnitStatus> = match systemd.list_units("berth-*.scope") {
        Ok(units) => units
            .into_iter()
            .filter_map(|u| Some((name_from_scope_unit(&u.id)?, u)))
            .collect(),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    let defined = match ctx.search.names() {
        Ok((names, _)) => names,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    let mut rows = Vec::new();
    for n in defined
        .iter()
        .chain(units.keys().filter(|n| !defined.contains(*n)))
    {
        let unit = units.get(n);
        let loaded = definition::load(&ctx.search, n);
        let mut state = match &loaded {
            Ok(_) => state_of(unit).to_owned(),
            Err(LoadError::Masked(..)) => "masked".to_owned(),
            Err(LoadError::NotFound(..) | LoadError::DropinsOnly { .. }) => "orphan".to_owned(),
            Err(_) => "invalid".to_owned(),
        };
        let definition = loaded.ok().map(|l| l.definition);
        if unit.is_some() && state != "running" && state_of(unit) == "running" {
            // Running, but its definition is gone, masked or broken: say both.
            state = format!("{}+{state}", state_of(unit));
        }
        rows.push(Row {
            name: n.to_string(),
            state,
            unit: n.scope_unit(),
            description: definition
                .as_ref()
                .map(|d| d.description.clone())
                .unwrap_or_default(),
            group: definition
                .as_ref()
                .and_then(|d| d.group.as_ref())
                .map(ToString::to_string),
            autostart: definition.as_ref().map(|d| d.autostart),
            leader: unit.and_then(|_| running_leader(ctx, n)),
            since_usec: since(unit),
            memory_current: unit.and_then(|u| u.memory_current),
            tasks_current: unit.and_then(|u| u.tasks_current),
            cpu_usage_nsec: unit.and_then(|u| u.cpu_usage_nsec),
        });
    }
    if json {
        println!("{:#}", serde_json::json!(rows));
        return exit::OK;
    }
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.state.clone(),
                r.unit.clone(),
                r.memory_current.map_or("-".into(), human_bytes),
                r.tasks_current.map_or("-".into(), |t| t.to_string()),
                r.description.clone(),
            ]
        })
        .collect();
    print_table(
        &["NAME", "STATE", "UNIT", "MEMORY", "TASKS", "DESCRIPTION"],
        &table,
    );
    println!("\n{} container(s) listed.", rows.len());
    exit::OK
}

pub(crate) fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == N {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

/// Bytes as systemd prints them: 1024-based, one decimal.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut value = b as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{b}B")
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

pub(crate) fn timestamp(usec: u64) -> String {
    let t = UNIX_EPOCH + Duration::from_micros(usec);
    let ago = crate::store::now_usec().saturating_sub(usec);
    // Whole seconds are enough for "how long ago".
    let ago = format_usec(ago - ago % 1_000_000);
    format!("{}; {ago} ago", humantime::format_rfc3339_seconds(t))
}

pub fn status(ctx: &Context, n: &str, json: bool) -> u8 {
    let n = match name(n) {
        Ok(n) => n,
        Err(c) => return c,
    };
    let systemd = match Systemd::connect() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    if let Ok(_lock) = ctx.lock(&n) {
        if let Err(e) = recover::clean_leftovers(ctx, &systemd, &n) {
            eprintln!("warning: cleaning up after {n}: {e}");
        }
    }
    let unit_name = n.scope_unit();
    let unit = match systemd.unit_status(&unit_name) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    let loaded = definition::load(&ctx.search, &n);
    if unit.is_none() && loaded.is_err() {
        if let Err(e) = loaded {
            eprintln!("error: {e}");
        }
        return exit::FAILED;
    }
    let recorded = state::read(&ctx.paths.state_file(&n)).ok().flatten();
    let leader = match recorded.as_ref().map(|s| &s.phase) {
        Some(Phase::Running { leader, .. }) if leader.is_alive() => Some(leader.pid),
        _ => None,
    };
    let last_exit: Option<Exit> = fs::read(ctx.paths.exit_file(&n))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let processes = unit
        .as_ref()
        .map(|u| cgroup_processes(&u.control_group))
        .unwrap_or_default();
    let description = match &loaded {
        Ok(l) => l.definition.description.clone(),
        Err(_) => unit
            .as_ref()
            .map(|u| u.description.clone())
            .unwrap_or_default(),
    };
    let selinux = selinux_label(recorded.as_ref().and_then(|s| s.selinux_label.as_deref()));
    let user_namespace = recorded.as_ref().and_then(|s| s.user_namespace);
    let idmapped = recorded.as_ref().is_some_and(|s| s.idmapped_mounts);

    if json {
        let v = serde_json::json!({
            "name": n.as_str(),
            "state": state_of(unit.as_ref()),
            "description": description,
            "unit": unit_name,
            "slice": unit.as_ref().map(|u| u.slice.clone()),
            "since_usec": since(unit.as_ref()),
            "leader": leader,
            "memory_current": unit.as_ref().and_then(|u| u.memory_current),
            "memory_limit": unit.as_ref().and_then(|u| u.memory_limit),
            "tasks_current": unit.as_ref().and_then(|u| u.tasks_current),
            "tasks_max": unit.as_ref().and_then(|u| u.tasks_max),
            "cpu_usage_nsec": unit.as_ref().and_then(|u| u.cpu_usage_nsec),
            "control_group": unit.as_ref().map(|u| u.control_group.clone()),
            "processes": processes.iter().map(|(p, c)| serde_json::json!({"pid": p, "command": c})).collect::<Vec<_>>(),
            "selinux": selinux,
            "user_namespace": user_namespace.map(|base| serde_json::json!({
                "host_first": base,
                "count": crate::security::userns::RANGE_SIZE,
                "idmapped": idmapped,
            })),
            "last_exit": last_exit,
            "definition_valid": loaded.is_ok(),
        });
        println!("{v:#}");
        return exit::OK;
    }

    let state = state_of(unit.as_ref());
    let dot = if state == "running" { "●" } else { "○" };
    if description.is_empty() {
        println!("{dot} {n}");
    } else {
        println!("{dot} {n} - {description}");
    }
    match &unit {
        Some(u) if u.active_enter_usec > 0 => {
            println!(
                "     State: {state} since {}",
                timestamp(u.active_enter_usec)
            )
        }
        _ => println!("     State: {state}"),
    }
    if let Some(u) = &unit {
        println!("      Unit: {unit_name} (slice {})", u.slice);
    } else {
        println!("      Unit: {unit_name} (not loaded)");
    }
    if let Some(l) = leader {
        println!("    Leader: {l} (the container's PID 1)");
    }
    if let Some(u) = &unit {
        if let Some(m) = u.memory_current {
            let limit = u
                .memory_limit
                .map(|l| format!(" (limit {})", human_bytes(l)));
            println!(
                "    Memory: {}{}",
                human_bytes(m),
                limit.unwrap_or_default()
            );
        }
        if let Some(t) = u.tasks_current {
            let limit = u.tasks_max.map(|l| format!(" (limit {l})"));
            println!("     Tasks: {t}{}", limit.unwrap_or_default());
        }
        if let Some(c) = u.cpu_usage_nsec {
            println!("       CPU: {}", format_usec(c / 1000 - (c / 1000) % 1000));
        }
    }
    println!("   SELinux: {selinux}");
    if let Some(base) = user_namespace {
        let files = if idmapped { "; its files idmapped" } else { "" };
        println!(
            "  User IDs: {base}-{} (0-65535 inside{files})",
            base + crate::security::userns::RANGE_SIZE - 1
        );
    }
    if let Err(LoadError::Invalid { .. } | LoadError::NotFound(..) | LoadError::Masked(..)) =
        &loaded
    {
        println!(
            "Definition: {}",
            loaded
                .as_ref()
                .err()
                .map(ToString::to_string)
                .unwrap_or_default()
        );
    }
    if let Some(e) = &last_exit {
        println!("Last exit: {}", describe_exit(e));
    }
    if let Some(u) = &unit {
        println!("    CGroup: {}", u.control_group);
        for (i, (pid, cmd)) in processes.iter().enumerate() {
            let branch = if i + 1 == processes.len() {
                "└─"
            } else {
                "├─"
            };
            println!("            {branch}{pid} {cmd}");
        }
    }
    println!();
    let _ = Command::new("journalctl")
        .args(["--no-pager", "--lines=10", "-u", &unit_name])
        .status();
    exit::OK
}

pub fn describe_exit(e: &Exit) -> String {
    // A booted init ends its container with reboot(2), which the kernel reports to the PID
    // namespace's parent as a signal: SIGINT for halt and power-off, SIGHUP for reboot.
    let how = match (e.boot, e.signal) {
        (true, Some(libc::SIGINT)) => "shut down by its init".to_owned(),
        (true, Some(libc::SIGHUP)) => {
            "rebooted by its init (berth does not start it again)".to_owned()
        }
        (true, None) => format!("its init exited with status {}", e.status),
        (_, Some(sig)) => format!("killed by {}", crate::definition::value::Signal(sig)),
        (false, None) => format!("exited with status {}", e.status),
    };
    let oom = if e.oom_killed {
        " (out of memory: the memory limit was reached)"
    } else {
        ""
    };
    let t = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_micros(e.time_usec));
    format!("{how}{oom} at {t}")
}

/// The processes of a cgroup and its children, with their command lines.
fn cgroup_processes(control_group: &str) -> Vec<(u32, String)> {
    let rel = control_group.trim_start_matches('/');
    let roots = [
        "/sys/fs/cgroup/unified",
        "/sys/fs/cgroup/systemd",
        "/sys/fs/cgroup",
    ];
    let Some(dir) = roots
        .iter()
        .map(|r| Path::new(r).join(rel))
        .find(|d| d.join("cgroup.procs").exists())
    else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    collect_pids(&dir, &mut pids);
    pids.sort_unstable();
    pids.dedup();
    pids.into_iter()
        .map(|p| {
            let cmd = fs::read(format!("/proc/{p}/cmdline"))
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .trim_end_matches('\0')
                        .replace('\0', " ")
                })
                .unwrap_or_default();
            (p, cmd)
        })
        .collect()
}

fn collect_pids(dir: &PathBuf, out: &mut Vec<u32>) {
    if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
    }
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_pids(&entry.path(), out);
        }
    }
}

/// The label of the container's processes; "disabled" where the host has SELinux off, "off"
/// where the container runs with the caller's label.
fn selinux_label(recorded: Option<&str>) -> String {
    if !HostSelinux::probe().is_enabled() {
        return "disabled".into();
    }
    recorded.unwrap_or("off").to_owned()
}
