//! Fault injection at every step: berth (and berth-helper) failed or killed with SIGKILL at
//! each of the named fault points of src/fault.rs, and what the next berth command leaves: the
//! container fully running, or nothing of it at all, having said what it cleaned.
//!
//! The points are armed with BERTH_FAULT, which only debug builds (the ones `cargo test`
//! builds) read. Run inside a real systemd like tests/system.rs.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

use berth::fault;

mod common;

use common::{berth, berth_ok, define, mountinfo, status_json};

#[test]
fn faults_in_a_real_systemd() {
    common::assert_on_the_host("the fault injection tests");
    common::rerun_in_sandbox("the fault injection tests", &["--ignored"]);
}

/// The payload, findable among the host's processes by its argument.
const MARK: &str = "987654";

fn definition(user_namespace: bool) -> String {
    let mut text = format!("[exec]\ncommand = [\"/bin/sleep\", \"{MARK}\"]\n");
    if user_namespace {
        text.push_str("[security]\nuser_namespace = \"auto\"\n");
    }
    text
}

const ACTIONS: [&str; 2] = ["fail", "kill"];

/// berth with the fault point armed.
fn berth_armed(armed: &str, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env(fault::VARIABLE, armed)
        .output()
        .expect("berth runs");
    eprintln!(
        "$ {}={armed} berth {}\n{}{}(exit {:?}, signal {:?})",
        fault::VARIABLE,
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code(),
        out.status.signal()
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What an armed command must have done: failed saying where, or died of its own SIGKILL.
/// `in_helper`: the point is berth-helper's, whose death berth reports as a failure.
fn assert_faulted(out: &Output, point: &str, action: &str, in_helper: bool) {
    match (action, in_helper) {
        ("kill", false) => assert_eq!(
            out.status.signal(),
            Some(libc::SIGKILL),
            "{point}: berth was not killed there: the point is not on this path"
        ),
        ("kill", true) => assert_eq!(
            out.status.code(),
            Some(1),
            "{point}: the helper's death is a failed start"
        ),
        _ => {
            assert_eq!(out.status.code(), Some(1), "{point}: not a failure");
            assert!(
                stderr(out).contains(&format!("injected fault at {point}")),
                "{point}: the failure does not say where: {}",
                stderr(out)
            );
        }
    }
}

/// The reservation registries' texts (MCS levels, user namespace ranges).
fn registries() -> String {
    ["mcs.json", "userns.json"]
        .iter()
        .map(|f| fs::read_to_string(Path::new("/var/lib/berth").join(f)).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What of the host may differ between "nothing" and the container's absence before the
/// fault: taken where the container is fully stopped.
struct Before {
    mounts: Vec<String>,
    registries: String,
    /// Whether the container had a persistent directory.
    persistent: bool,
    /// Whether the record of how its last run ended may be there: a stopped container's.
    exit_record: bool,
}

fn before(name: &str) -> Before {
    Before {
        mounts: mountinfo(),
        registries: registries(),
        persistent: Path::new("/var/lib/berth").join(name).exists(),
        exit_record: false,
    }
}

fn sh_ok(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .status()
        .expect("sh runs")
        .success()
}

/// Host processes that belong to container `name`: in its scope, or a helper with its plan.
fn processes_of(name: &str) -> Vec<String> {
    let plan = format!("/run/berth/{name}/");
    let scope = format!("/berth-{name}.scope");
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| {
            let cmdline = fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let cgroup = fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
            (cgroup.contains(&scope) || cmdline.contains(&plan))
                .then(|| format!("{}: {cmdline}", e.file_name().to_string_lossy()))
        })
        .collect()
}

/// berth's own log: to the journal, as its stderr is no terminal here.
fn berth_journal() -> String {
    let out = Command::new("journalctl")
        .args(["-t", "berth", "-o", "cat", "--no-pager", "-q"])
        .output()
        .expect("journalctl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The scope's cgroup directories, in any hierarchy.
fn cgroups_of(name: &str) -> Vec<PathBuf> {
    let scope = format!("berth-{name}.scope");
    let mut found = Vec::new();
    let mut dirs = vec![PathBuf::from("/sys/fs/cgroup")];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = entry.path();
            if entry.file_name().to_string_lossy() == scope {
                found.push(path);
            } else if path.components().count() < 9 {
                dirs.push(path);
            }
        }
    }
    found
}

/// Files of `name` in /run/berth other than its lock.
fn runtime_files(name: &str) -> Vec<String> {
    fs::read_dir("/run/berth")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f == name || f.starts_with(&format!("{name}.")))
        .filter(|f| *f != format!("{name}.lock"))
        .collect()
}

/// Nothing of container `name` is left on the host, and its persistent directory and
/// reservations are as they were before the fault.
fn assert_nothing_left(name: &str, before: &Before, context: &str) {
    let unit = format!("berth-{name}.scope");
    assert!(
        !sh_ok(&format!(
            "systemctl list-units --all --no-legend {unit} | grep -q {unit}"
        )),
        "{context}: {unit} is still loaded"
    );
    assert_eq!(
        processes_of(name),
        Vec::<String>::new(),
        "{context}: processes left"
    );
    assert_eq!(
        mountinfo(),
        before.mounts,
        "{context}: the host's mount table changed"
    );
    assert_eq!(
        cgroups_of(name),
        Vec::<PathBuf>::new(),
        "{context}: cgroups left"
    );
    let exit_record = format!("{name}.exit.json");
    assert_eq!(
        runtime_files(name)
            .into_iter()
            .filter(|f| !(before.exit_record && *f == exit_record))
            .collect::<Vec<_>>(),
        Vec::<String>::new(),
        "{context}: files left in /run/berth"
    );
    assert!(
        !sh_ok(&format!("machinectl list --no-legend | grep -qw {name}")),
        "{context}: machine {name} still registered"
    );
    assert_eq!(
        Path::new("/var/lib/berth").join(name).exists(),
        before.persistent,
        "{context}: /var/lib/berth/{name} made or lost"
    );
    assert_eq!(
        registries(),
        before.registries,
        "{context}: the reservations changed"
    );
    if !before.persistent {
        assert!(
            !registries().contains(&format!("\"{name}\"")),
            "{context}: a reservation is left"
        );
    }
}

/// Container `name` runs, all of it.
fn assert_running(name: &str, context: &str) {
    let status = status_json(name);
    assert_eq!(status["state"], "running", "{context}");
    assert!(
        sh_ok(&format!("systemctl is-active --quiet berth-{name}.scope")),
        "{context}: running, yet its unit is not active"
    );
    let pid = status["leader"]
        .as_u64()
        .expect("a running container's leader");
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "{context}: running, yet its PID 1 {pid} is gone"
    );
    assert!(
        !cgroups_of(name).is_empty(),
        "{context}: running, yet it has no cgroup"
    );
}

/// The next commands, `berth status NAME --json` and `berth list`: whether they found the
/// container running, and berth's journal before them (see [`assert_says_cleaned`]).
fn next_command(name: &str, before: &Before, context: &str) -> (bool, String) {
    let said = berth_journal();
    let out = berth(&["status", "--json", name]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let list = berth(&["list"]);
    assert!(list.status.success(), "{context}: berth list failed");
    match status["state"].as_str() {
        Some("running") => {
            assert_running(name, context);
            (true, said)
        }
        Some("stopped") => {
            assert_nothing_left(name, before, context);
            (false, said)
        }
        other => panic!("{context}: the next command found {other:?}: neither running nor gone"),
    }
}

/// Stops a container the next command found running, and checks that the stop leaves nothing.
fn stop_cleanly(name: &str, before: &Before, context: &str) {
    berth_ok(&["stop", name]);
    let _ = fs::remove_file(format!("/run/berth/{name}.exit.json"));
    assert_nothing_left(name, before, &format!("{context}, then stopped"));
}

/// Back to before the first start: nothing of `name` anywhere.
fn reset(name: &str) {
    let _ = berth(&["stop", name]);
    berth_ok(&["reset", name]);
    let _ = fs::remove_file(format!("/run/berth/{name}.exit.json"));
}

/// Points from this one on have written the intent: a killed start there leaves a runtime
/// directory that the next command must say it removed.
const FIRST_WITH_RUNTIME_DIR: &str = "start.intent";
/// Points from this one on have a running container: a killed start there leaves a unit that
/// the next command must say it stopped.
const FIRST_WITH_CONTAINER: &str = "start.register";

fn at_or_after(point: &str, first: &str) -> bool {
    let index = |p: &str| fault::START.iter().position(|s| *s == p);
    index(point) >= index(first)
}

/// berth logged `what` since its journal was `journal_before`.
fn assert_logged(journal_before: &str, what: &str, context: &str) {
    let count = |text: &str| text.matches(what).count();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let journal = berth_journal();
        if count(&journal) > count(journal_before) {
            return;
        }
        let new = journal.get(journal_before.len()..).unwrap_or("");
        assert!(
            Instant::now() < deadline,
            "{context}: the next command does not say `{what}`; it logged:\n{new}"
        );
        sleep(Duration::from_millis(100));
    }
}

/// The next command says what it cleaned after a fault at `point`: in berth's journal, which
/// was `journal_before` before it ran.
fn assert_says_cleaned(
    name: &str,
    point: &str,
    action: &str,
    persistent: bool,
    journal_before: &str,
    context: &str,
) {
    let says = |what: String| assert_logged(journal_before, &what, context);
    // A stop that stopped the unit and then failed or died leaves the runtime directory.
    if ["stop.wait", "stop.runtime_dir"].contains(&point) {
        says(format!("removed stale /run/berth/{name}"));
    }
    if action != "kill" || !fault::START.contains(&point) {
        return;
    }
    if at_or_after(point, FIRST_WITH_RUNTIME_DIR) {
        says(format!("removed stale /run/berth/{name}"));
    }
    if at_or_after(point, FIRST_WITH_CONTAINER) {
        says(format!("stopped berth-{name}.scope of an unfinished start"));
    }
    if !persistent && at_or_after(point, "start.state_dirs") {
        says(format!(
            "removed /var/lib/berth/{name} of an unfinished first start"
        ));
    }
}

/// One armed `berth start` of a stopped container and what the next command makes of it.
fn start_with_fault(name: &str, point: &str, action: &str, user_namespace: bool) {
    let context = format!(
        "{action} at {point}{}",
        if user_namespace {
            " (user namespace)"
        } else {
            ""
        }
    );
    eprintln!("---- {context}");
    define(name, &definition(user_namespace));
    let before = before(name);
    let out = berth_armed(&format!("{point}:{action}"), &["start", name]);
    let in_helper = point.starts_with("helper.");
    assert_faulted(&out, point, action, in_helper);
    let (running, said) = next_command(name, &before, &context);
    assert!(
        !running,
        "{context}: a faulted start left a running container"
    );
    assert_says_cleaned(name, point, action, before.persistent, &said, &context);
    // A start after the fault works, and its stop leaves nothing but what a stop keeps.
    berth_ok(&["start", name]);
    assert_running(name, &format!("{context}, then started"));
    reset(name);
}

/// Every point of `berth start` and of the helper, failed and killed, on a first start (the
/// restart test below has the starts that find an earlier start's persistent directory);
/// every other run with a user namespace of its own, so that ID ranges are reserved.
#[test]
#[ignore = "runs inside a real systemd"]
fn a_start_failed_or_killed_at_any_step_leaves_all_or_nothing() {
    common::assert_systemd_is_pid1();
    let started = Instant::now();
    let name = "faulty";
    let points = fault::START.iter().chain(fault::HELPER);
    for (i, point) in points.enumerate() {
        for (j, action) in ACTIONS.iter().enumerate() {
            let user_namespace = (i + j) % 2 == 1 || fault::USER_NAMESPACE_ONLY.contains(point);
            start_with_fault(name, point, action, user_namespace);
        }
    }
    eprintln!("every start point: {:?}", started.elapsed());
}

/// `berth restart` killed or failed at every point of its stop and of its start: the
/// container is running or stopped, and a stopped one keeps its persistent directory and
/// reservations.
#[test]
#[ignore = "runs inside a real systemd"]
fn a_restart_failed_or_killed_at_any_step_leaves_all_or_nothing() {
    common::assert_systemd_is_pid1();
    let started = Instant::now();
    let name = "refaulty";
    let points = fault::STOP.iter().chain(fault::START).chain(fault::HELPER);
    for (i, point) in points.enumerate() {
        for (j, action) in ACTIONS.iter().enumerate() {
            let user_namespace = (i + j) % 2 == 0 || fault::USER_NAMESPACE_ONLY.contains(point);
            let context = format!("restart: {action} at {point} (user namespace {user_namespace})");
            eprintln!("---- {context}");
            let stopped = running_again_after_a_stop(name, user_namespace);
            assert!(stopped.persistent);
            let old_leader = common::leader(name);
            let out = berth_armed(&format!("{point}:{action}"), &["restart", name]);
            assert_faulted(&out, point, action, point.starts_with("helper."));
            let (running, said) = next_command(name, &stopped, &context);
            if running {
                // Only a stop that never reached its unit leaves the old container running.
                assert_eq!(*point, "stop.unit", "{context}: running after the fault");
                assert_eq!(common::leader(name), old_leader, "{context}");
                stop_cleanly(name, &stopped, &context);
            } else {
                assert_says_cleaned(name, point, action, true, &said, &context);
            }
            reset(name);
        }
    }
    eprintln!("every restart point: {:?}", started.elapsed());
}

/// `berth reset` failed or killed at each point: the persistent directory and reservations
/// are all there or all gone (by the next command).
#[test]
#[ignore = "runs inside a real systemd"]
fn a_reset_failed_or_killed_leaves_all_or_nothing() {
    common::assert_systemd_is_pid1();
    let name = "resetfaulty";
    for point in fault::RESET {
        for action in ACTIONS {
            let context = format!("reset: {action} at {point}");
            eprintln!("---- {context}");
            define(name, &definition(true));
            berth_ok(&["start", name]);
            berth_ok(&["stop", name]);
            let _ = fs::remove_file(format!("/run/berth/{name}.exit.json"));
            let kept = before(name);
            let out = berth_armed(&format!("{point}:{action}"), &["reset", name]);
            assert_faulted(&out, point, action, false);
            let journal = berth_journal();
            let out = berth(&["status", "--json", name]);
            assert!(out.status.success(), "{context}");
            if *point == "reset.release" {
                assert_logged(
                    &journal,
                    "released the reservations of a container without data",
                    &context,
                );
            }
            let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(status["state"], "stopped", "{context}");
            // All of it kept, or all of it gone.
            if Path::new("/var/lib/berth").join(name).exists() {
                assert_eq!(
                    registries(),
                    kept.registries,
                    "{context}: reservations lost"
                );
            } else {
                assert!(
                    !registries().contains(&format!("\"{name}\"")),
                    "{context}: the directory is gone, its reservation is not"
                );
            }
            assert_eq!(runtime_files(name), Vec::<String>::new(), "{context}");
            berth_ok(&["reset", name]);
            let gone = Before {
                persistent: false,
                ..before(name)
            };
            assert_nothing_left(name, &gone, &format!("{context}, then reset"));
        }
    }
}

/// Starts `name` once and stops it, recording what a stopped container keeps (compared after
/// a fault), then starts it again; returns that record.
fn running_again_after_a_stop(name: &str, user_namespace: bool) -> Before {
    define(name, &definition(user_namespace));
    berth_ok(&["start", name]);
    berth_ok(&["stop", name]);
    let _ = fs::remove_file(format!("/run/berth/{name}.exit.json"));
    let stopped = Before {
        exit_record: true,
        ..before(name)
    };
    berth_ok(&["start", name]);
    stopped
}

/// `berth stop` of a running container failed or killed at each point: the next command finds
/// it running or fully stopped, and says what it cleaned.
#[test]
#[ignore = "runs inside a real systemd"]
fn a_stop_failed_or_killed_at_any_step_leaves_all_or_nothing() {
    common::assert_systemd_is_pid1();
    let name = "stopfaulty";
    for (i, point) in fault::STOP.iter().enumerate() {
        for (j, action) in ACTIONS.iter().enumerate() {
            let user_namespace = (i + j) % 2 == 1;
            let context = format!("stop: {action} at {point} (user namespace {user_namespace})");
            eprintln!("---- {context}");
            let stopped = running_again_after_a_stop(name, user_namespace);
            let out = berth_armed(&format!("{point}:{action}"), &["stop", name]);
            assert_faulted(&out, point, action, false);
            let (running, said) = next_command(name, &stopped, &context);
            if running {
                assert_eq!(
                    *point, "stop.unit",
                    "{context}: running after its unit stopped"
                );
                stop_cleanly(name, &stopped, &context);
            } else {
                assert_ne!(*point, "stop.unit", "{context}: stopped without its stop");
                assert_says_cleaned(name, point, action, true, &said, &context);
            }
            reset(name);
        }
    }
}

/// A tiny root tree as a tarball, enough for an image.
fn tiny_image() -> PathBuf {
    let dir = Path::new("/tmp/faults-image");
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir.join("root/usr/bin")).unwrap();
    fs::create_dir_all(dir.join("root/etc")).unwrap();
    fs::write(dir.join("root/etc/os-release"), "ID=tiny\n").unwrap();
    let tarball = dir.join("tiny.tar");
    assert!(sh_ok(&format!(
        "tar --create --file {} --directory {} .",
        tarball.display(),
        dir.join("root").display()
    )));
    tarball
}

/// Entries of the image store that belong to image `name`.
fn store_entries(name: &str) -> Vec<String> {
    fs::read_dir("/var/lib/berth/images")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| {
            f == name || f.starts_with(&format!("{name}.")) || f.contains(&format!(".{name}."))
        })
        .collect()
}

/// `berth image import` failed or killed at each point: no image half there, and the next
/// import succeeds and leaves only the image.
#[test]
#[ignore = "runs inside a real systemd"]
fn an_image_import_failed_or_killed_leaves_no_partial_image() {
    common::assert_systemd_is_pid1();
    let tarball = tiny_image();
    let tarball = tarball.to_str().unwrap();
    let name = "tinyfault";
    for point in fault::IMAGE_IMPORT {
        for action in ACTIONS {
            let context = format!("image import: {action} at {point}");
            eprintln!("---- {context}");
            let out = berth_armed(
                &format!("{point}:{action}"),
                &["image", "import", tarball, name],
            );
            assert_faulted(&out, point, action, false);
            let list = berth_ok(&["image", "list"]);
            assert!(!list.contains(name), "{context}: listed: {list}");
            assert!(
                !Path::new("/var/lib/berth/images").join(name).exists(),
                "{context}: the image is there"
            );
            if action == "fail" {
                assert_eq!(store_entries(name), Vec::<String>::new(), "{context}");
            }
            // The next command that takes the store's lock removes what a killed import left.
            let out = berth(&["image", "remove", name]);
            assert_eq!(out.status.code(), Some(1), "{context}: removed");
            assert_eq!(store_entries(name), Vec::<String>::new(), "{context}");
            berth_ok(&["image", "import", tarball, name]);
            let mut entries = store_entries(name);
            entries.sort();
            assert_eq!(
                entries,
                [name.to_owned(), format!("{name}.json")],
                "{context}"
            );
            berth_ok(&["image", "remove", name]);
            assert_eq!(store_entries(name), Vec::<String>::new(), "{context}");
        }
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(50));
    }
}

/// `berth apply` killed or failed between containers, between a restart's stop and start, and
/// before an update's record: the next apply finishes the job.
#[test]
#[ignore = "runs inside a real systemd"]
fn an_apply_failed_or_killed_is_finished_by_the_next() {
    common::assert_systemd_is_pid1();
    let names = ["applyfa", "applyfb"];
    let autostart = |extra: &str| format!("autostart = true\n{extra}{}", definition(false));
    let fresh: Vec<Before> = names.iter().map(|n| before(n)).collect();
    for action in ACTIONS {
        // Between the two containers' starts.
        for n in names {
            define(n, &autostart(""));
        }
        let out = berth_armed(&format!("apply.entry:{action}:2"), &["apply"]);
        if action == "kill" {
            assert_eq!(out.status.signal(), Some(libc::SIGKILL));
        } else {
            assert_eq!(out.status.code(), Some(1));
            assert!(
                stderr(&out).contains("injected fault at apply.entry")
                    || String::from_utf8_lossy(&out.stdout)
                        .contains("injected fault at apply.entry")
            );
        }
        let context = format!("apply: {action} between containers");
        let (first, _) = next_command(names[0], &fresh[0], &context);
        assert!(first, "{context}: the first container did not start");
        let (second, _) = next_command(names[1], &fresh[1], &context);
        assert!(!second, "{context}: the second container started");
        berth_ok(&["apply"]);
        for n in names {
            assert_running(n, &format!("{context}, then applied"));
        }

        // Between a restart's stop and its start.
        let old = common::leader(names[0]);
        define(
            names[0],
            &autostart("description = \"changed\"\n").replace(MARK, "987654.5"),
        );
        let out = berth_armed(&format!("apply.restart:{action}"), &["apply"]);
        let context = format!("apply: {action} in a restart");
        if action == "kill" {
            assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{context}");
        }
        wait_until("the old PID 1 to go", || {
            !Path::new(&format!("/proc/{old}")).exists()
        });
        let kept = Before {
            persistent: true,
            exit_record: true,
            ..before(names[0])
        };
        let (running, _) = next_command(names[0], &kept, &context);
        assert!(!running, "{context}: running");
        berth_ok(&["apply"]);
        assert_running(names[0], &format!("{context}, then applied"));

        // Before an update records the new definition.
        define(names[1], &autostart("description = \"updated\"\n"));
        let out = berth_armed(&format!("apply.update:{action}"), &["apply"]);
        let context = format!("apply: {action} in an update");
        if action == "kill" {
            assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{context}");
        }
        assert_running(names[1], &context);
        let again = berth_ok(&["apply"]);
        assert!(again.contains("updated applyfb"), "{context}: {again}");
        assert!(berth_ok(&["apply"]).starts_with("no changes;"), "{context}");

        for (n, fresh) in names.iter().zip(&fresh) {
            define(n, &definition(false));
            berth_ok(&["stop", n]);
            reset(n);
            assert_nothing_left(n, fresh, &format!("{context}, then reset"));
        }
    }
    for n in names {
        fs::remove_file(format!("/etc/berth/containers/{n}.toml")).unwrap();
    }
}
