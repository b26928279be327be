//! `berth list` and `berth status`: prints what [`crate::lifecycle::status`] gathers, as text
//! (status ends with the unit's latest journal lines) or as JSON.

use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use super::exit;
use super::run::name;
use crate::container::Exit;
use crate::definition::value::format_usec;
use crate::definition::LoadError;
use crate::lifecycle::status::{self, UnitState};
use crate::lifecycle::{recover, Context};
use crate::systemd::Systemd;

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
    let entries = match status::list(ctx, &systemd) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    if json {
        println!("{:#}", serde_json::json!(entries));
        return exit::OK;
    }
    let table: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            [
                e.name.to_string(),
                state_text(&e.state.to_string(), e.paused, e.outdated),
                e.unit.clone(),
                e.memory_current.map_or("-".into(), human_bytes),
                e.tasks_current.map_or("-".into(), |t| t.to_string()),
                e.description.clone(),
            ]
        })
        .collect();
    print_table(
        &["NAME", "STATE", "UNIT", "MEMORY", "TASKS", "DESCRIPTION"],
        &table,
    );
    println!("\n{} container(s) listed.", entries.len());
    exit::OK
}

/// The state with what is true of the running container besides: "running (paused,
/// outdated)".
fn state_text(state: &str, paused: bool, outdated: bool) -> String {
    let marks: Vec<&str> = [(paused, "paused"), (outdated, "outdated")]
        .into_iter()
        .filter_map(|(on, word)| on.then_some(word))
        .collect();
    if marks.is_empty() {
        state.to_owned()
    } else {
        format!("{state} ({})", marks.join(", "))
    }
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
    if let Err(e) = status::settle(ctx, &systemd, &n) {
        eprintln!("warning: cleaning up after {n}: {e}");
    }
    let s = match status::status(ctx, &systemd, &n) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    if json {
        println!("{:#}", serde_json::json!(s));
        return exit::OK;
    }

    let dot = if s.state == UnitState::Running {
        "●"
    } else {
        "○"
    };
    if s.description.is_empty() {
        println!("{dot} {n}");
    } else {
        println!("{dot} {n} - {}", s.description);
    }
    let state = state_text(s.state.as_str(), s.paused, s.outdated);
    match s.since_usec {
        Some(since) => println!("     State: {state} since {}", timestamp(since)),
        None => println!("     State: {state}"),
    }
    match &s.slice {
        Some(slice) => println!("      Unit: {} (slice {slice})", s.unit),
        None => println!("      Unit: {} (not loaded)", s.unit),
    }
    if let Some(l) = s.leader {
        println!("    Leader: {l} (the container's PID 1)");
    }
    if let Some(m) = s.memory_current {
        let limit = s
            .memory_limit
            .map(|l| format!(" (limit {})", human_bytes(l)));
        println!(
            "    Memory: {}{}",
            human_bytes(m),
            limit.unwrap_or_default()
        );
    }
    if let Some(t) = s.tasks_current {
        let limit = s.tasks_max.map(|l| format!(" (limit {l})"));
        println!("     Tasks: {t}{}", limit.unwrap_or_default());
    }
    if let Some(c) = s.cpu_usage_nsec {
        println!("       CPU: {}", format_usec(c / 1000 - (c / 1000) % 1000));
    }
    if let (Some(r), Some(w)) = (s.io_read_bytes, s.io_write_bytes) {
        println!(
            "        IO: {} read, {} written",
            human_bytes(r),
            human_bytes(w)
        );
    }
    println!("   SELinux: {}", s.selinux);
    if let Some(ns) = &s.user_namespace {
        let files = if ns.idmapped {
            "; its files idmapped"
        } else {
            ""
        };
        println!(
            "  User IDs: {}-{} (0-65535 inside{files})",
            ns.host_first,
            ns.host_first + ns.count - 1
        );
    }
    if let Some(e @ (LoadError::Invalid { .. } | LoadError::NotFound(..) | LoadError::Masked(..))) =
        &s.definition_error
    {
        println!("Definition: {e}");
    }
    if let Some((first, rest)) = s.outdated_files.split_first() {
        println!("  Outdated: {first} (replaced on the host since it started)");
        for f in rest {
            println!("            {f}");
        }
    }
    if let Some(e) = &s.last_exit {
        println!("Last exit: {}", describe_exit(e));
    }
    if let Some(control_group) = &s.control_group {
        println!("    CGroup: {control_group}");
        for (i, p) in s.processes.iter().enumerate() {
            let branch = if i + 1 == s.processes.len() {
                "└─"
            } else {
                "├─"
            };
            println!("            {branch}{} {}", p.pid, p.command);
        }
    }
    println!();
    let _ = Command::new("journalctl")
        .args(["--no-pager", "--lines=10", "-u", &s.unit])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paused_and_outdated_are_said_after_the_state() {
        assert_eq!(state_text("running", false, false), "running");
        assert_eq!(state_text("running", true, false), "running (paused)");
        assert_eq!(state_text("running", false, true), "running (outdated)");
        assert_eq!(
            state_text("running", true, true),
            "running (paused, outdated)"
        );
    }
}
