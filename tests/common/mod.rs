//! What the system-test files share: running a test binary's `#[ignore]`d tests inside a real
//! systemd.
//!
//! On a host whose PID 1 is not systemd, a test binary re-runs itself inside a sandbox booted
//! by tests/harness/berth-sandbox, with BERTH_SYSTEM_TEST=1 set; only there do its system tests
//! act. The VM tier sets BERTH_SYSTEM_TEST=1 itself and runs the same binaries in a guest
//! whose PID 1 is systemd. Without root, the tests fail under CI=true and say SKIP otherwise.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Set (to 1) where systemd is PID 1 and the system tests may act.
pub const INSIDE: &str = "BERTH_SYSTEM_TEST";

/// Whether this process runs where the system tests act. BERTH_SYSTEM_TEST=1 is believed only
/// where systemd really is PID 1: set anywhere else, it fails the test, rather than turning the
/// system tests into passes that tested nothing.
pub fn inside() -> bool {
    let inside = std::env::var(INSIDE).as_deref() == Ok("1");
    if inside {
        assert_systemd_is_pid1();
    }
    inside
}

/// Called first by the one test of a system-test binary that, on the host, re-runs the
/// binary's `--ignored` tests inside a real systemd. Where BERTH_SYSTEM_TEST=1 is set, the
/// `--ignored` tests are the system tests and this one must not run at all (the harness and the
/// VM tier pass `--ignored`); run there anyway, it fails instead of passing having run nothing.
pub fn assert_on_the_host(what: &str) {
    assert!(
        !inside(),
        "{INSIDE}=1 is set, so {what} are this binary's `--ignored` tests: run them with \
         `--ignored`, as tests/harness/berth-sandbox and the VM tier do"
    );
}

/// Panics unless systemd really is PID 1 here, with its runtime directory: called first in
/// every system test (tests/sandbox.rs checks that each `#[ignore]`d test does).
pub fn assert_systemd_is_pid1() {
    let comm = fs::read_to_string("/proc/1/comm").unwrap_or_default();
    let exe = fs::read_link("/proc/1/exe").unwrap_or_default();
    let pid1_is_systemd =
        comm.trim() == "systemd" || exe.file_name().is_some_and(|n| n == "systemd");
    assert!(
        pid1_is_systemd && Path::new("/run/systemd/system").is_dir(),
        "{INSIDE}=1, but systemd is not PID 1 here (PID 1 is {:?}, {}): run the system tests \
         through `cargo test` (which boots tests/harness/berth-sandbox) or the VM tier",
        comm.trim(),
        exe.display()
    );
}

pub fn skip_or_fail(what: &str, why: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} cannot run: {why}; under CI=true the system tests must run");
    }
    eprintln!("SKIP {what}: {why}");
}

/// The cargo target directory (the binaries under test live there).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| exe.parent().expect("a directory").to_path_buf())
}

/// Runs this test binary with `args` (a filter, `--ignored`, ...) inside a freshly booted
/// systemd sandbox, prints its output, and fails if it fails. `what` names the tests for
/// the SKIP line.
pub fn rerun_in_sandbox(what: &str, args: &[&str]) {
    rerun_in_sandbox_with(what, args, &[]);
}

/// [`rerun_in_sandbox`], with more environment for the harness: `BERTH_SANDBOX_INSTALL` and
/// `BERTH_SANDBOX_ENABLE` put files and enabled units into the sandbox before it boots.
pub fn rerun_in_sandbox_with(what: &str, args: &[&str], harness_env: &[(&str, String)]) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let harness = manifest.join("tests/harness/berth-sandbox");
    if !harness.is_file() {
        return skip_or_fail(what, &format!("{} is missing", harness.display()));
    }
    // /proc/self belongs to the effective user.
    if !fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        return skip_or_fail(what, "booting a systemd sandbox needs root");
    }
    let me = std::env::current_exe().expect("the test binary's path");
    // The sandbox's root is an overlay of the host's /: the checkout and the target directory
    // are bound read-write at the same paths, so the binaries under test are there.
    let mut bind = vec![manifest.to_owned()];
    let target = target_dir();
    if !target.starts_with(manifest) {
        bind.push(target);
    }
    let bind: Vec<String> = bind.iter().map(|p| p.display().to_string()).collect();
    // One sandbox per test binary and run: two checkouts testing at once do not meet.
    let name = format!("berth-test-{}", std::process::id());

    let started = Instant::now();
    let out = Command::new(&harness)
        .args(["run", "env", &format!("{INSIDE}=1"), "BERTH_LOG=info"])
        .arg(&me)
        .args(args)
        .args(["--nocapture", "--test-threads=1"])
        .env("BERTH_SANDBOX_NAME", &name)
        .env("BERTH_SANDBOX_BIND", bind.join(" "))
        // Image containers' writable layers are overlayfs upper layers, which the sandbox's
        // own overlay root cannot hold.
        .env("BERTH_SANDBOX_TMPFS", "/var/lib/berth")
        .envs(harness_env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("the harness runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("sandbox boot, tests and poweroff: {:?}", started.elapsed());
    assert!(
        out.status.success(),
        "{what} failed inside the sandbox ({}); the output is above",
        out.status
    );
    assert!(
        stdout.contains("test result: ok.") && !stdout.contains("test result: ok. 0 passed"),
        "{what}: no test ran inside the sandbox"
    );
    remove_sandbox_state(&name);
}

/// The harness leaves its (empty) state directory behind; remove it unless something is
/// still mounted below it, which the harness's `stop` already checks.
fn remove_sandbox_state(name: &str) {
    let state = format!("/var/lib/berth-test/{name}");
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    if mounts.contains(&format!(" {state}/")) || mounts.contains(&format!(" {state} ")) {
        panic!("mounts are left below {state}");
    }
    let _ = fs::remove_dir_all(&state);
}

/// Where the tests of berth's units install it in the sandbox, as `scripts/install` does.
pub const INSTALLED_BERTH: &str = "/usr/local/bin/berth";
pub const INSTALLED_UNITS: &str = "/usr/local/lib/systemd/system";

/// `BERTH_SANDBOX_INSTALL` pairs that install the berth and berth-helper under test, berth's
/// units and its generator into the sandbox, where a package would put them.
pub fn berth_installed() -> Vec<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let unit = |f: &str| {
        format!(
            "{}={INSTALLED_UNITS}/{f}",
            manifest.join("units").join(f).display()
        )
    };
    vec![
        format!("{}={INSTALLED_BERTH}", env!("CARGO_BIN_EXE_berth")),
        format!(
            "{}=/usr/local/libexec/berth/berth-helper",
            env!("CARGO_BIN_EXE_berth-helper")
        ),
        unit("berth.service"),
        unit("berth-apply.service"),
        unit("berth.path"),
        format!(
            "{}=/usr/local/lib/systemd/system-generators/berth-generator",
            manifest.join("units/berth-generator").display()
        ),
    ]
}

/// `berth status --json NAME` of the installed berth ([`INSTALLED_BERTH`], which berth's units
/// run); Null when it prints nothing.
pub fn installed_status(name: &str) -> serde_json::Value {
    let out = Command::new(INSTALLED_BERTH)
        .args(["status", "--json", name])
        .output()
        .expect("the installed berth runs");
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

pub fn installed_running(name: &str) -> bool {
    installed_status(name)["state"] == "running"
}

pub fn installed_leader(name: &str) -> u64 {
    installed_status(name)["leader"]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} runs and has a leader"))
}

// ---------------------------------------------------------------- driving berth (inside)

/// Runs the berth under test, echoing the command and its output for the test log.
pub fn berth(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .output()
        .expect("berth runs");
    eprintln!(
        "$ berth {}\n{}{}(exit {:?})",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code()
    );
    out
}

/// berth's stdout; fails the test when berth fails.
pub fn berth_ok(args: &[&str]) -> String {
    let out = berth(args);
    assert!(out.status.success(), "berth {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes /etc/berth/containers/NAME.toml.
pub fn define(name: &str, text: &str) {
    fs::create_dir_all("/etc/berth/containers").unwrap();
    fs::write(format!("/etc/berth/containers/{name}.toml"), text).unwrap();
}

/// Fails the test unless `value`, what `berth VERB --json` printed, is as berth(1), JSON
/// OUTPUT, documents it (src/cli/json.rs).
pub fn assert_documented_json(verb: &str, value: &serde_json::Value) {
    let shape = berth::cli::json::output(verb)
        .unwrap_or_else(|| panic!("berth {verb} --json is not documented"))
        .shape;
    if let Err(e) = berth::cli::json::validate(value, &shape, &[]) {
        panic!("berth {verb} --json is not as documented: {e}\n{value:#}");
    }
}

pub fn status_json(name: &str) -> serde_json::Value {
    let out = berth(&["status", "--json", name]);
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// The host PID of a running container's PID 1.
pub fn leader(name: &str) -> u32 {
    status_json(name)["leader"]
        .as_u64()
        .expect("a running container has a leader") as u32
}

/// The host's mount table as (mount point, options of the mount) lines, sorted: what a
/// container must leave as it was.
pub fn mountinfo() -> Vec<String> {
    let mut lines: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(|l| l.split(' ').skip(4).take(2).collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

/// The first child of a process: a container's payload, for its PID 1.
pub fn first_child(pid: u32) -> u32 {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("process {pid} has no child"))
}

/// A field of /proc/PID/status, e.g. "CapEff".
pub fn proc_status(pid: u32, field: &str) -> String {
    proc_status_of(
        &fs::read_to_string(format!("/proc/{pid}/status")).unwrap(),
        field,
    )
}

/// A field of a /proc/PID/status text.
pub fn proc_status_of(status: &str, field: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {status}"))
        .trim()
        .to_owned()
}

/// A shell command's stdout and stderr together.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .expect("sh runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ---------------------------------------------------------------- the image tests' image

/// A Debian 12 root with systemd and D-Bus, as a tarball, built once and kept.
pub fn test_image_tarball() -> PathBuf {
    target_dir().join("test-images/debian-bookworm.tar")
}

pub fn build_test_image() -> Result<(), String> {
    let tarball = test_image_tarball();
    if tarball.is_file() {
        return Ok(());
    }
    if !nix::unistd::Uid::effective().is_root() {
        return Err("building the image needs root".into());
    }
    fs::create_dir_all(tarball.parent().unwrap()).map_err(|e| e.to_string())?;
    let partial = tarball.with_extension("tar.partial");
    let started = Instant::now();
    let out = Command::new("mmdebstrap")
        .args([
            "--variant=minbase",
            "--include=systemd,systemd-sysv,dbus",
            "--mode=root",
            "--format=tar",
        ])
        .args(["bookworm"])
        .arg(&partial)
        .arg("http://deb.debian.org/debian")
        .output()
        .map_err(|e| format!("cannot run mmdebstrap (scripts/deps test installs it): {e}"))?;
    if !out.status.success() {
        let _ = fs::remove_file(&partial);
        return Err(format!(
            "mmdebstrap failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    fs::rename(&partial, &tarball).map_err(|e| e.to_string())?;
    eprintln!("built {} in {:?}", tarball.display(), started.elapsed());
    Ok(())
}

// ---------------------------------------------------------------- ansible-core (apply, ansible)

/// The ansible-core the Ansible example (tests/apply.rs) and the berth.host collection
/// (tests/ansible.rs) are tested with.
pub const ANSIBLE_CORE: &str = "2.19.14";

pub fn ansible_venv() -> PathBuf {
    PathBuf::from(format!("/var/lib/berth-test/ansible-core-{ANSIBLE_CORE}"))
}

/// ansible-core from PyPI in a venv of its own, made once and kept: a venv holds absolute
/// paths, so it is made in place and marked complete last; a half-made one is made again.
pub fn install_ansible() {
    let venv = ansible_venv();
    let done = venv.join(".installed");
    if done.exists() {
        return;
    }
    let _ = fs::remove_dir_all(&venv);
    fs::create_dir_all(venv.parent().unwrap()).unwrap();
    let run = |cmd: &mut Command| {
        let out = cmd.output().expect("runs");
        assert!(
            out.status.success(),
            "{cmd:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Debian's python3 (python3-venv), not whatever python3 is first on PATH: the sandbox sees
    // the host's /usr, not a per-user interpreter manager's shims.
    run(Command::new("/usr/bin/python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv));
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("ansible-core=={ANSIBLE_CORE}"),
    ]));
    fs::write(done, "").unwrap();
}
