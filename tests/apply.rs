//! `berth apply`, `enable` and `disable`, berth.service, berth.path and the Ansible example
//! (through the berth.host collection in ansible/; tests/ansible.rs tests the collection),
//! against a real systemd booted with berth installed and enabled as a package would have it:
//! the binaries in /usr/local, the units and the generator in /usr/local/lib/systemd, two
//! definitions in /etc/berth/containers, berth.service and berth.path enabled.
//!
//! `cargo test` runs [`in_a_real_systemd_with_berths_units`] on the host: it installs
//! ansible-core from PyPI into a cached venv (/var/lib/berth-test/ansible-core-VERSION), boots
//! a sandbox with those files and runs this binary inside it with `--ignored`. Without root,
//! that test fails under CI=true and says SKIP otherwise.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use berth::unit::CgroupVersion;

mod common;

use common::{installed_leader as leader, installed_running as running};

const BERTH: &str = common::INSTALLED_BERTH;
const UNITS: &str = common::INSTALLED_UNITS;

// ---------------------------------------------------------------- on the host

#[test]
fn in_a_real_systemd_with_berths_units() {
    common::assert_on_the_host("the apply system tests");
    if !fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0) {
        // rerun_in_sandbox says SKIP, or fails under CI=true.
        return common::rerun_in_sandbox("the apply system tests", &["--ignored"]);
    }
    common::install_ansible();
    let defs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("apply-boot");
    let _ = fs::remove_dir_all(&defs);
    fs::create_dir_all(&defs).unwrap();
    fs::write(defs.join("boot.toml"), BOOT).unwrap();
    fs::write(defs.join("boot-limits.toml"), limits("64M")).unwrap();
    fs::write(defs.join("idle.toml"), IDLE).unwrap();
    fs::write(defs.join("bootbroken.toml"), BROKEN).unwrap();
    let mut install = common::berth_installed();
    install.extend([
        format!(
            "{}=/etc/berth/containers/boot.toml",
            defs.join("boot.toml").display()
        ),
        format!(
            "{}=/etc/berth/containers/boot.toml.d/10-limits.toml",
            defs.join("boot-limits.toml").display()
        ),
        format!(
            "{}=/etc/berth/containers/idle.toml",
            defs.join("idle.toml").display()
        ),
        format!(
            "{}=/etc/berth/containers/bootbroken.toml",
            defs.join("bootbroken.toml").display()
        ),
    ]);
    common::rerun_in_sandbox_with(
        "the apply system tests",
        &["--ignored"],
        &[
            ("BERTH_SANDBOX_INSTALL", install.join(" ")),
            ("BERTH_SANDBOX_ENABLE", "berth.service berth.path".into()),
        ],
    );
}

// ---------------------------------------------------------------- helpers (inside)

fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    eprintln!(
        "$ {program} {}\n{}{}(exit {:?})",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code()
    );
    out
}

fn berth(args: &[&str]) -> Output {
    run(BERTH, args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn systemctl(args: &[&str]) -> String {
    stdout(&run("systemctl", args)).trim().to_owned()
}

fn define(name: &str, text: &str) {
    write(&format!("/etc/berth/containers/{name}.toml"), text);
}

fn write(path: &str, text: &str) {
    fs::create_dir_all(Path::new(path).parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// The memory limit as `systemctl show` reports it, under the name this hierarchy uses.
fn memory_limit(name: &str) -> String {
    let property = match berth::systemd::cgroup_version().unwrap() {
        CgroupVersion::V1 => "MemoryLimit",
        CgroupVersion::V2 => "MemoryMax",
    };
    systemctl(&["show", "-P", property, &format!("berth-{name}.scope")])
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(100));
    }
}

fn apply_json(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut all = vec!["apply", "--json"];
    all.extend_from_slice(args);
    let out = berth(&all);
    let json = serde_json::from_slice(&out.stdout).expect("apply --json prints JSON");
    // Every apply --json of these tests is also held to berth(1), JSON OUTPUT.
    common::assert_documented_json("apply", &json);
    (out.status.code(), json)
}

/// Inside: berth is installed as the host side of this file installs it (the VM tier must do
/// the same, e.g. with scripts/install).
fn assert_installed() {
    for path in [
        BERTH.to_owned(),
        format!("{UNITS}/berth.service"),
        format!("{UNITS}/berth.path"),
    ] {
        assert!(
            Path::new(&path).exists(),
            "{path} is missing: these tests need berth installed and its units enabled \
             (in_a_real_systemd_with_berths_units does so with BERTH_SANDBOX_INSTALL)"
        );
    }
}

/// berth.path off, and no path-triggered apply running: the test's own applies are the only
/// ones.
fn quiet_path_unit() {
    systemctl(&["stop", "berth.path"]);
    wait_for("berth-apply.service to finish", || {
        systemctl(&["is-active", "berth-apply.service"]) != "activating"
    });
}

fn sh(cmd: &str) -> String {
    stdout(&run("sh", &["-c", cmd]))
}

const BOOT: &str = r#"
description = "started at boot"
autostart = true
[exec]
command = ["/bin/sleep", "infinity"]
"#;

/// Invalid: at boot it makes apply exit 1, which must not fail berth.service.
const BROKEN: &str = "autostart = true\n[exec]\ncommand = \"/bin/sleep infinity\"\n";

const IDLE: &str = r#"
description = "defined, not autostart"
[exec]
command = ["/bin/sleep", "infinity"]
"#;

fn limits(memory: &str) -> String {
    format!("[resources]\nmemory_max = \"{memory}\"\ntasks_max = 16\n")
}

const SLEEPER: &str = "autostart = true\n[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n";

// ---------------------------------------------------------------- tests (inside the sandbox)

#[test]
#[ignore = "runs inside the systemd sandbox"]
fn boot_starts_autostart_containers_through_berth_service() {
    common::assert_systemd_is_pid1();
    assert_installed();
    // The units as installed pass systemd's own check (man pages aside: none is installed).
    let out = run(
        "systemd-analyze",
        &[
            "verify",
            "--man=no",
            &format!("{UNITS}/berth.service"),
            &format!("{UNITS}/berth.path"),
            &format!("{UNITS}/berth-apply.service"),
        ],
    );
    assert!(out.status.success(), "systemd-analyze verify failed");
    assert_eq!(stderr(&out), "", "systemd-analyze verify has complaints");

    // An invalid definition made apply exit 1 at boot; the others came up, and the boot did
    // not fail for it.
    assert_eq!(systemctl(&["is-active", "berth.service"]), "active");
    assert_eq!(
        systemctl(&["show", "-P", "Result", "berth.service"]),
        "success"
    );
    assert_eq!(
        systemctl(&["show", "-P", "ExecMainStatus", "berth.service"]),
        "1"
    );
    assert_eq!(systemctl(&["is-system-running"]), "running");
    assert_eq!(systemctl(&["is-active", "berth.path"]), "active");
    assert!(running("boot"), "the autostart container came up at boot");
    assert_eq!(memory_limit("boot"), (64u64 << 20).to_string());
    assert!(!running("idle"), "a container without autostart stays down");
    let journal = sh("journalctl -u berth.service -o cat --no-pager");
    assert!(
        journal.contains("started boot as berth-boot.scope"),
        "{journal}"
    );
    assert!(
        journal.contains("error: invalid value for `exec.command`: found a string"),
        "{journal}"
    );
    assert!(
        journal.contains("--> /etc/berth/containers/bootbroken.toml:3:11"),
        "{journal}"
    );
    fs::remove_file("/etc/berth/containers/bootbroken.toml").unwrap();
    wait_for("the path-triggered apply to end", || {
        systemctl(&["is-active", "berth-apply.service"]) != "activating"
    });
    // The generator made berth.path watch the drop-in directory that existed at boot.
    let paths = systemctl(&["show", "-P", "Paths", "berth.path"]);
    assert!(
        paths.contains("/etc/berth/containers/boot.toml.d"),
        "{paths}"
    );
    // And what booted is as defined: a second apply has nothing to do.
    let (code, json) = apply_json(&[]);
    assert_eq!(code, Some(0));
    assert_eq!(json["changed"], false, "{json:#}");
}

#[test]
#[ignore = "runs inside the systemd sandbox"]
fn cli_apply_plans_updates_restarts_stops_and_is_idempotent() {
    common::assert_systemd_is_pid1();
    assert_installed();
    quiet_path_unit();

    // A broken definition is reported as `berth check` reports it; the others are applied.
    define("cli1", SLEEPER);
    define(
        "clibroken",
        "autostart = true\n[exec]\ncommand = [\"/bin/true\"]\n[resources]\nmemory_max = \"lots\"\n",
    );
    let dry = berth(&["apply", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(1), "a dry run sees the failure too");
    assert!(stdout(&dry).contains("+ cli1"), "{}", stdout(&dry));
    assert!(!running("cli1"), "a dry run changes nothing");
    let out = berth(&["apply"]);
    assert_eq!(out.status.code(), Some(1));
    let plan = stdout(&out);
    assert!(plan.contains("  + cli1"), "{plan}");
    assert!(
        plan.contains("! clibroken  refuse   invalid definition (1 error): nothing is started"),
        "{plan}"
    );
    assert!(plan.contains("started cli1 as berth-cli1.scope"), "{plan}");
    let check = berth(&["check", "clibroken"]);
    assert!(
        stderr(&out).contains(&stderr(&check)),
        "apply reports the definition as check does:\n{}\nvs\n{}",
        stderr(&out),
        stderr(&check)
    );
    assert!(running("cli1"));
    fs::remove_file("/etc/berth/containers/clibroken.toml").unwrap();

    // Idempotent.
    let (code, json) = apply_json(&[]);
    assert_eq!(
        (code, &json["changed"]),
        (Some(0), &false.into()),
        "{json:#}"
    );
    let out = berth(&["apply"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("no changes;"), "{}", stdout(&out));

    // A resource limit: in place, same leader, and recorded so that the next apply is a no-op.
    let pid = leader("cli1");
    write(
        "/etc/berth/containers/cli1.toml.d/50-mem.toml",
        &limits("48M"),
    );
    let (code, json) = apply_json(&[]);
    assert_eq!(code, Some(0), "{json:#}");
    assert_eq!(json["changed"], true);
    let entry = &json["plan"].as_array().unwrap()[0];
    assert_eq!(entry["name"], "cli1");
    assert_eq!(entry["action"], "update");
    assert_eq!(entry["changes"][0]["key"], "resources.memory_max");
    assert_eq!(entry["changes"][0]["old"], serde_json::Value::Null);
    assert_eq!(entry["changes"][0]["new"], "\"48M\"");
    assert_eq!(json["results"][0]["ok"], true);
    assert_eq!(memory_limit("cli1"), (48u64 << 20).to_string());
    assert_eq!(
        systemctl(&["show", "-P", "TasksMax", "berth-cli1.scope"]),
        "16"
    );
    assert_eq!(leader("cli1"), pid, "updated in place, not restarted");
    let recorded = fs::read_to_string("/run/berth/cli1/state.json").unwrap();
    assert!(
        recorded.contains("\"resources.memory_max\": \"\\\"48M\\\"\""),
        "{recorded}"
    );
    assert_eq!(apply_json(&[]).1["changed"], false);

    // Removing the limit goes back to what a new scope gets.
    fs::remove_file("/etc/berth/containers/cli1.toml.d/50-mem.toml").unwrap();
    assert_eq!(apply_json(&[]).1["plan"][0]["action"], "update");
    assert_eq!(memory_limit("cli1"), "infinity");
    assert_eq!(
        systemctl(&["show", "-P", "TasksMax", "berth-cli1.scope"]),
        systemctl(&["show", "-P", "DefaultTasksMax"])
    );
    assert_eq!(leader("cli1"), pid);

    // Anything else needs a new container.
    define("cli1", &SLEEPER.replace("infinity", "99999"));
    let out = berth(&["apply"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("-/+ cli1  restart  needs a new container for exec.command\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "      exec.command: [\"/bin/sleep\", \"infinity\"] -> [\"/bin/sleep\", \"99999\"]\n"
        ),
        "{text}"
    );
    assert_ne!(leader("cli1"), pid, "restarted");

    // A berth-*.scope berth did not start is never touched, even when a definition wants it.
    let mut alien = Command::new("systemd-run")
        .args([
            "--scope",
            "--quiet",
            "--unit=berth-alien.scope",
            "/bin/sleep",
            "infinity",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("berth-alien.scope", || {
        systemctl(&["is-active", "berth-alien.scope"]) == "active"
    });
    define("alien", SLEEPER);
    let out = berth(&["apply"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out)
            .contains("berth-alien.scope is active but was not started by berth: left alone"),
        "{}",
        stdout(&out)
    );
    fs::remove_file("/etc/berth/containers/alien.toml").unwrap();
    assert_eq!(
        apply_json(&[]).0,
        Some(0),
        "not ours, not wanted: not touched"
    );
    assert_eq!(systemctl(&["is-active", "berth-alien.scope"]), "active");
    systemctl(&["stop", "berth-alien.scope"]);
    let _ = alien.wait();

    // Two at once do not interleave: the second waits, and says for whom.
    let holder = hold_apply_lock();
    let out = berth(&["apply"]);
    assert!(
        stderr(&out).contains(&format!(
            "berth apply: waiting for PID {} (flock",
            holder.0.id()
        )),
        "{}",
        stderr(&out)
    );
    drop(holder);

    // --until-stable: a definition written while apply runs is applied too. The apply is held
    // up on a container's own lock, and the new definition written meanwhile.
    define("stable1", SLEEPER);
    let held = Command::new("flock")
        // Long enough for apply to plan and block on it; released by itself.
        .args(["--exclusive", "/run/berth/stable1.lock", "sleep", "3"])
        .spawn()
        .unwrap();
    wait_for("flock to hold stable1's lock", || {
        fs::read_to_string("/proc/locks")
            .unwrap()
            .lines()
            .any(|l| l.contains(&format!(" {} ", held.id())))
    });
    let applying = Command::new(BERTH)
        .args(["apply", "--until-stable"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _holder = Holder(held);
    // Planned, and blocked on stable1's lock: /proc/locks lists it as a waiter.
    wait_for("apply to wait for stable1's lock", || {
        fs::read_to_string("/proc/locks")
            .unwrap()
            .lines()
            .any(|l| l.contains(" -> FLOCK") && l.contains(&format!(" {} ", applying.id())))
    });
    define("stable2", SLEEPER);
    let out = applying.wait_with_output().unwrap();
    eprintln!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("berth apply: definitions changed while applying: applying again"),
        "{}",
        stderr(&out)
    );
    assert!(running("stable1") && running("stable2"));
    for name in ["stable1", "stable2"] {
        assert!(berth(&["stop", name]).status.success());
        fs::remove_file(format!("/etc/berth/containers/{name}.toml")).unwrap();
    }

    // enable/disable through berth's own drop-in; apply stops what is no longer autostart.
    let out = berth(&["disable", "cli1"]);
    assert!(out.status.success());
    assert_eq!(
        fs::read_to_string("/etc/berth/containers/cli1.toml.d/50-berth-enable.toml").unwrap(),
        "# Written by `berth disable`; `berth enable` and `berth disable` rewrite it.\nautostart = false\n"
    );
    assert_eq!(
        fs::read_to_string("/etc/berth/containers/cli1.toml").unwrap(),
        SLEEPER.replace("infinity", "99999"),
        "the definition itself is not rewritten"
    );
    assert!(running("cli1"), "disable without --now leaves it running");
    let out = berth(&["apply"]);
    assert!(
        stdout(&out).contains("  - cli1  stop     autostart is now off"),
        "{}",
        stdout(&out)
    );
    assert!(!running("cli1"));
    assert!(berth(&["enable", "--now", "cli1"]).status.success());
    assert!(running("cli1"));
    assert_eq!(
        apply_json(&[]).1["changed"],
        false,
        "enable --now left nothing to apply"
    );
    assert!(berth(&["disable", "--now", "cli1"]).status.success());
    assert!(!running("cli1"));

    // Started by hand without autostart: apply leaves it alone.
    assert!(berth(&["start", "idle"]).status.success());
    assert_eq!(apply_json(&[]).1["changed"], false);
    assert!(running("idle"));
    assert!(berth(&["stop", "idle"]).status.success());

    // Gone definitions stop; unknown names and bad names fail.
    assert!(berth(&["enable", "--now", "cli1"]).status.success());
    fs::remove_file("/etc/berth/containers/cli1.toml").unwrap();
    let out = berth(&["apply"]);
    assert!(
        stdout(&out).contains("- cli1  stop     its definition is gone"),
        "{}",
        stdout(&out)
    );
    assert!(!running("cli1"));
    fs::remove_dir_all("/etc/berth/containers/cli1.toml.d").unwrap();
    assert_eq!(berth(&["apply", "nosuch"]).status.code(), Some(1));
    assert_eq!(berth(&["apply", "bad name"]).status.code(), Some(2));

    systemctl(&["start", "berth.path"]);
}

/// `flock(1)` holding the apply lock until dropped.
struct Holder(Child);

fn hold_apply_lock() -> Holder {
    let child = Command::new("flock")
        .args(["--exclusive", "/run/berth/.apply.lock", "sleep", "1"])
        .spawn()
        .unwrap();
    // Held once /proc/locks lists the flock process.
    wait_for("flock to hold the lock", || {
        fs::read_to_string("/proc/locks")
            .unwrap()
            .lines()
            .any(|l| l.contains(&format!(" {} ", child.id())))
    });
    Holder(child)
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "runs inside the systemd sandbox"]
fn path_unit_follows_definition_changes() {
    common::assert_systemd_is_pid1();
    assert_installed();
    systemctl(&["start", "berth.path"]);
    let settled = || systemctl(&["is-active", "berth-apply.service"]) != "activating";

    // A drop-in directory that existed at boot: watched through the generator.
    assert!(running("boot"));
    let pid = leader("boot");
    write(
        "/etc/berth/containers/boot.toml.d/10-limits.toml",
        &limits("96M"),
    );
    wait_for("boot's new memory limit", || {
        memory_limit("boot") == (96u64 << 20).to_string()
    });
    assert_eq!(leader("boot"), pid, "in place");

    // A new definition.
    wait_for("the path-triggered apply to end", settled);
    define("late", SLEEPER);
    wait_for("late to start", || running("late"));

    // A new drop-in directory: seen as a change of the one above, and then watched itself.
    wait_for("the path-triggered apply to end", settled);
    write(
        "/etc/berth/containers/late.toml.d/10-limits.toml",
        &limits("40M"),
    );
    wait_for("late's limit", || {
        memory_limit("late") == (40u64 << 20).to_string()
    });
    wait_for("the path-triggered apply to end", settled);
    let paths = systemctl(&["show", "-P", "Paths", "berth.path"]);
    assert!(
        paths.contains("/etc/berth/containers/late.toml.d"),
        "{paths}"
    );
    write(
        "/etc/berth/containers/late.toml.d/10-limits.toml",
        &limits("44M"),
    );
    wait_for("late's changed limit", || {
        memory_limit("late") == (44u64 << 20).to_string()
    });

    // Removed: stopped.
    wait_for("the path-triggered apply to end", settled);
    fs::remove_dir_all("/etc/berth/containers/late.toml.d").unwrap();
    fs::remove_file("/etc/berth/containers/late.toml").unwrap();
    wait_for("late to stop", || !running("late"));
    wait_for("the path-triggered apply to end", settled);
    assert_eq!(systemctl(&["is-active", "berth.path"]), "active");
    assert_eq!(
        systemctl(&["show", "-P", "Result", "berth-apply.service"]),
        "success"
    );
}

#[test]
#[ignore = "runs inside the systemd sandbox"]
fn playbook_installs_applies_and_updates_in_place() {
    common::assert_systemd_is_pid1();
    assert_installed();
    quiet_path_unit();
    let playbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ansible/playbook.yml");
    let venv = common::ansible_venv();
    assert!(
        venv.join(".installed").exists(),
        "{} is missing: the host side installs ansible-core there before booting",
        venv.display()
    );
    let run = |memory: &str, command: &[&str]| {
        let extra = serde_json::json!({
            "berth": BERTH,
            "berth_name": "answeb",
            "berth_command": command,
            "berth_memory_max": memory,
            "ansible_python_interpreter": venv.join("bin/python"),
        })
        .to_string();
        let out = Command::new(venv.join("bin/ansible-playbook"))
            .args(["-i", "localhost,", "-c", "local", "-e", &extra])
            .arg(&playbook)
            .env("LC_ALL", "C.UTF-8")
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_LOCALHOST_WARNING", "0")
            .env(
                "ANSIBLE_COLLECTIONS_PATH",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("ansible"),
            )
            .output()
            .expect("ansible-playbook runs");
        let text = stdout(&out);
        eprintln!("{text}{}", stderr(&out));
        (out, text)
    };
    let play = |memory: &str| {
        let (out, text) = run(memory, &["/bin/sleep", "infinity"]);
        assert!(out.status.success(), "ansible-playbook failed");
        let recap = text
            .lines()
            .find(|l| l.starts_with("localhost"))
            .expect("a play recap")
            .to_owned();
        assert!(recap.contains("failed=0"), "{recap}");
        (recap, text)
    };

    let (recap, _) = play("64M");
    assert!(
        recap.contains("changed=2"),
        "the first run writes and applies the definition and the drop-in: {recap}"
    );
    assert!(running("answeb"));
    assert_eq!(memory_limit("answeb"), (64u64 << 20).to_string());
    let pid = leader("answeb");

    let (recap, _) = play("64M");
    assert!(
        recap.contains("changed=0"),
        "the second run changes nothing: {recap}"
    );

    let (recap, _) = play("80M");
    assert!(
        recap.contains("changed=1"),
        "the drop-in, written and applied: {recap}"
    );
    assert_eq!(memory_limit("answeb"), (80u64 << 20).to_string());
    assert_eq!(leader("answeb"), pid, "updated in place, not restarted");

    // An invalid definition fails the task (berth check --as) and never reaches /etc.
    let definition = fs::read_to_string("/etc/berth/containers/answeb.toml").unwrap();
    let (out, text) = run("80M", &[]);
    assert!(!out.status.success(), "an empty command must fail the play");
    assert!(
        text.contains("exec.command"),
        "berth check's report: {text}"
    );
    assert_eq!(
        fs::read_to_string("/etc/berth/containers/answeb.toml").unwrap(),
        definition
    );
    assert_eq!(leader("answeb"), pid, "the running container is left alone");

    assert!(berth(&["stop", "answeb"]).status.success());
    fs::remove_dir_all("/etc/berth/containers/answeb.toml.d").unwrap();
    fs::remove_file("/etc/berth/containers/answeb.toml").unwrap();
    systemctl(&["start", "berth.path"]);
}
