//! Named fault points, for the tests that fail or kill berth and berth-helper at every step
//! (tests/faults.rs).
//!
//! A point is armed through the environment: `BERTH_FAULT=start.reserve:fail` makes the step
//! after that point fail with "injected fault at start.reserve"; `BERTH_FAULT=start.reserve:kill`
//! makes the process SIGKILL itself there; a third field, `start.reserve:kill:2`, arms the
//! second time the point is reached (between two containers of one `berth apply`, say).
//! berth-helper inherits berth's environment, so its points are armed the same way.
//!
//! Only debug builds (what `cargo test` builds and runs) look at the environment: in a release
//! build [`point`] is an empty function the compiler removes, so no package can be made to fail
//! by its environment.

/// `berth start`, in order: each before the step of the same name.
pub const START: &[&str] = &[
    "start.runtime_dir",
    "start.intent",
    "start.clear_exit",
    "start.reserve",
    "start.record_grants",
    "start.state_dirs",
    "start.runtime_dirs",
    "start.plan",
    "start.helper",
    "start.scope",
    "start.release",
    "start.register",
    "start.running",
];

/// `berth stop` of a running container, in order.
pub const STOP: &[&str] = &["stop.unit", "stop.wait", "stop.runtime_dir", "stop.release"];

/// `berth reset`, in order.
pub const RESET: &[&str] = &["reset.remove", "reset.release"];

/// `berth apply`: before each container's action, between the stop and the start of a
/// restart, and before an update's recording.
pub const APPLY: &[&str] = &["apply.entry", "apply.restart", "apply.update"];

/// `berth image import`, in order.
pub const IMAGE_IMPORT: &[&str] = &[
    "image.partial",
    "image.unpack",
    "image.info",
    "image.rename",
];

/// berth-helper's setup of an app container, in order.
pub const HELPER: &[&str] = &[
    "helper.namespaces",
    "helper.id_maps",
    "helper.root",
    "helper.pivot",
    "helper.confinement",
    "helper.payload",
    "helper.ready",
];

/// Points passed only by a container with a user namespace of its own.
pub const USER_NAMESPACE_ONLY: &[&str] = &["helper.id_maps"];

/// Every point, by the command it is in. (`berth restart` is a stop and then a start: it
/// passes the points of both.)
pub const ALL: &[(&str, &[&str])] = &[
    ("start", START),
    ("stop", STOP),
    ("reset", RESET),
    ("apply", APPLY),
    ("image import", IMAGE_IMPORT),
    ("helper", HELPER),
];

/// The environment variable that arms a point.
pub const VARIABLE: &str = "BERTH_FAULT";

/// The step after an armed `fail` point.
#[derive(Debug, thiserror::Error)]
#[error("injected fault at {0}")]
pub struct Injected(pub &'static str);

/// What an armed point does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Fail,
    Kill,
}

/// A point as `BERTH_FAULT` arms it: its name, what it does, and on which passage (from 1).
#[derive(Debug, PartialEq, Eq)]
pub struct Armed {
    pub point: String,
    pub action: Action,
    pub nth: usize,
}

impl Armed {
    /// `POINT:fail`, `POINT:kill`, with an optional `:N`; None for anything else.
    pub fn parse(text: &str) -> Option<Armed> {
        let mut fields = text.trim().split(':');
        let point = fields.next()?.to_owned();
        let action = match fields.next()? {
            "fail" => Action::Fail,
            "kill" => Action::Kill,
            _ => return None,
        };
        let nth = match fields.next() {
            Some(n) => n.parse().ok().filter(|n| *n > 0)?,
            None => 1,
        };
        if fields.next().is_some() || !is_known(&point) {
            return None;
        }
        Some(Armed { point, action, nth })
    }
}

fn is_known(point: &str) -> bool {
    ALL.iter().any(|(_, points)| points.contains(&point))
}

/// The fault point `name`: Ok unless `BERTH_FAULT` arms it for failing now; where it arms it
/// for killing, this process dies here.
#[cfg(debug_assertions)]
pub fn point(name: &'static str) -> Result<(), Injected> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::OnceLock;
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    static PASSED: AtomicUsize = AtomicUsize::new(0);

    debug_assert!(is_known(name), "fault point {name} is not in fault::ALL");
    let armed = ARMED.get_or_init(|| {
        let text = std::env::var(VARIABLE).ok()?;
        let armed = Armed::parse(&text);
        if armed.is_none() {
            eprintln!("{VARIABLE}={text} arms no fault point; see src/fault.rs");
        }
        armed
    });
    let Some(armed) = armed.as_ref().filter(|a| a.point == name) else {
        return Ok(());
    };
    if PASSED.fetch_add(1, Ordering::SeqCst) + 1 != armed.nth {
        return Ok(());
    }
    match armed.action {
        Action::Fail => Err(Injected(name)),
        Action::Kill => {
            // SAFETY: kill(2) on this process's own PID with a signal number.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            // A PID namespace's init does not receive its own SIGKILL: it ends as abruptly.
            // SAFETY: _exit(2) ends the process without running anything of it.
            unsafe { libc::_exit(128 + libc::SIGKILL) }
        }
    }
}

/// Release builds have no fault points.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn point(_name: &'static str) -> Result<(), Injected> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    #[test]
    fn armed_points_are_parsed() {
        assert_eq!(
            Armed::parse("start.reserve:fail"),
            Some(Armed {
                point: "start.reserve".into(),
                action: Action::Fail,
                nth: 1
            })
        );
        assert_eq!(
            Armed::parse("apply.entry:kill:2").map(|a| (a.action, a.nth)),
            Some((Action::Kill, 2))
        );
        for wrong in [
            "",
            "start.reserve",
            "start.reserve:stop",
            "no.such:fail",
            "start.reserve:kill:0",
            "start.reserve:kill:1:2",
        ] {
            assert_eq!(Armed::parse(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn an_unarmed_point_passes() {
        // The unit tests run without BERTH_FAULT.
        assert!(point("start.reserve").is_ok());
    }

    fn sources(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }

    /// The table the tests iterate over is the points in the code: each listed point is
    /// placed exactly once, and no placed point is missing from the list.
    #[test]
    fn the_list_is_the_points_in_the_code() {
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let call = "fault::point(\"";
        let mut placed = Vec::new();
        for file in files.iter().filter(|f| !f.ends_with("src/fault.rs")) {
            let text = std::fs::read_to_string(file).unwrap();
            for (at, _) in text.match_indices(call) {
                let rest = &text[at + call.len()..];
                let name = &rest[..rest.find('"').unwrap()];
                placed.push(format!("{name} ({})", file.display()));
            }
        }
        let names: Vec<&str> = placed
            .iter()
            .map(|p| p.split(' ').next().unwrap())
            .collect();
        let listed: BTreeSet<&str> = ALL.iter().flat_map(|(_, p)| p.iter().copied()).collect();
        let unique: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "placed twice: {placed:#?}");
        assert_eq!(unique, listed, "placed: {placed:#?}");
    }
}
