//! The packages, built as a distribution would build them and used as an administrator would.
//!
//! [`deb_builds_installs_and_runs_a_container`] builds the Debian packages with
//! `scripts/package deb` (lintian must find no error), then, inside a real systemd (the
//! sandbox of tests/harness/berth-sandbox, whose root is an overlay: `dpkg -i` there changes
//! nothing on the host), installs the .deb and runs a container with the installed
//! /usr/bin/berth and /usr/libexec/berth/berth-helper. [`rpm_builds_and_passes_rpmlint`] builds
//! the RPMs with `scripts/package rpm` (rpmbuild; rpmlint must find no error) and checks what
//! they hold.
//!
//! Both build in release mode into target/package, a cargo target directory of its own that
//! later runs reuse. Without root or the tools, the tests fail under CI=true and say SKIP
//! otherwise.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

mod common;

/// The two builds share target/dist's source tarballs and target/package: one at a time.
static BUILD: Mutex<()> = Mutex::new(());

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn skip_or_fail(what: &str, why: &str) -> bool {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} cannot run: {why}; .ci/run installs what it needs (scripts/deps test)");
    }
    eprintln!("SKIP {what}: {why}");
    false
}

fn can_run(what: &str, tools: &[&str]) -> bool {
    use std::os::unix::fs::MetadataExt;
    if !fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        return skip_or_fail(what, "it needs root");
    }
    for tool in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return skip_or_fail(what, &format!("{tool} is not installed"));
        }
    }
    true
}

/// Runs `scripts/package VERB` with the packages' own target directory; its stderr (the
/// lint reports) is returned.
fn package(verb: &str) -> String {
    let _one = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let out = Command::new(root().join("scripts/package"))
        .arg(verb)
        .env("CARGO_TARGET_DIR", common::target_dir().join("package"))
        // The library's unit tests run in `cargo test` already.
        .env("DEB_BUILD_OPTIONS", "nocheck")
        .env("RPM_WITHOUT_CHECK", "1")
        .output()
        .expect("scripts/package runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!(
        "$ scripts/package {verb} ({:?})\n{stderr}",
        started.elapsed()
    );
    assert!(out.status.success(), "scripts/package {verb} failed");
    stderr
}

fn dist() -> PathBuf {
    root().join("target/dist")
}

fn arch() -> String {
    let out = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .expect("dpkg runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Where `scripts/package deb` leaves the binary package.
fn deb_path() -> PathBuf {
    dist().join(format!("deb/berth_{}-1_{}.deb", version(), arch()))
}

fn listing(cmd: &mut Command) -> String {
    let out = cmd.output().expect("the listing command runs");
    assert!(out.status.success(), "{cmd:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What both packages hold, whatever units/ and policy/ hold.
const INSTALLED: &[&str] = &[
    "/usr/bin/berth",
    "/usr/libexec/berth/berth-helper",
    "/usr/share/man/man1/berth.1.gz",
    "/usr/share/man/man5/berth.toml.5.gz",
    "/usr/share/bash-completion/completions/berth",
    "/usr/share/fish/vendor_completions.d/berth.fish",
    "/usr/share/berth/berth.schema.json",
    "/usr/lib/tmpfiles.d/berth.conf",
    "/etc/berth/containers",
    "/usr/lib/berth/containers",
];

#[test]
fn deb_builds_installs_and_runs_a_container() {
    common::assert_on_the_host("the .deb tests");
    if !can_run(
        "the .deb test",
        &["dpkg-buildpackage", "dh", "lintian", "cargo"],
    ) {
        return;
    }
    let report = package("deb");
    assert!(report.contains("lintian: 0 errors"), "{report}");
    let deb = deb_path();
    let files = listing(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    for path in INSTALLED
        .iter()
        .chain(&["/usr/share/zsh/vendor-completions/_berth"])
    {
        assert!(
            files.contains(&format!(" .{path}")),
            "{} lacks {path}:\n{files}",
            deb.display()
        );
    }
    common::rerun_in_sandbox(
        "the .deb installed in a real systemd",
        &[
            "--ignored",
            "--exact",
            "inside_the_installed_deb_runs_a_container",
        ],
    );
}

fn sh(cmd: &str) -> (bool, String) {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .expect("sh runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("$ {cmd}\n{text}");
    (out.status.success(), text)
}

fn ok(cmd: &str) -> String {
    let (success, text) = sh(cmd);
    assert!(success, "`{cmd}` failed:\n{text}");
    text
}

#[test]
#[ignore = "runs inside the systemd sandbox"]
fn inside_the_installed_deb_runs_a_container() {
    common::assert_systemd_is_pid1();
    // Only the installed programs: no berth-helper from the build, and no berth that
    // scripts/install put in /usr/local on the host (the sandbox's root is the host's).
    std::env::remove_var("BERTH_HELPER");
    std::env::set_var("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    ok(&format!("dpkg -i {}", deb_path().display()));
    for path in INSTALLED {
        assert!(Path::new(path).exists(), "{path} is not installed");
    }
    // The package made berth's directories (tmpfiles.d, run by its postinst).
    assert!(Path::new("/run/berth").is_dir() && Path::new("/var/lib/berth").is_dir());
    assert!(ok("man -w berth").contains("/usr/share/man/man1/berth.1"));
    assert!(ok("man -w berth.toml").contains("/usr/share/man/man5/berth.toml.5"));

    fs::write(
        "/etc/berth/containers/pkgweb.toml",
        "description = \"installed from the package\"\n\n[exec]\n\
         command = [\"/bin/sh\", \"-c\", \"echo from-the-package; exec sleep infinity\"]\n",
    )
    .unwrap();
    ok("/usr/bin/berth check pkgweb");
    ok("/usr/bin/berth start pkgweb");
    assert_eq!(
        ok("systemctl is-active berth-pkgweb.scope").trim(),
        "active"
    );
    let status = ok("/usr/bin/berth status pkgweb");
    assert!(status.contains("State: running"), "{status}");
    // The container's PID 1 is the installed helper.
    let json: serde_json::Value =
        serde_json::from_str(&ok("/usr/bin/berth status --json pkgweb")).expect("JSON");
    let leader = json["leader"].as_u64().expect("a leader");
    assert_eq!(
        fs::read_link(format!("/proc/{leader}/exe")).unwrap(),
        Path::new("/usr/libexec/berth/berth-helper")
    );
    // The installed bash completion, loaded by bash-completion as at a prompt, offers the name.
    let completion = ok("bash --norc --noprofile -c '\
        source /usr/share/bash-completion/bash_completion; _completion_loader berth; \
        COMP_WORDS=(berth start \"\"); COMP_CWORD=2; COMP_LINE=\"berth start \"; \
        COMP_POINT=${#COMP_LINE}; COMP_TYPE=9; _clap_complete_berth berth \"\" start; \
        printf \"%s\\n\" \"${COMPREPLY[@]}\"'");
    assert!(completion.lines().any(|l| l == "pkgweb"), "{completion}");

    ok("/usr/bin/berth stop pkgweb");
    let (active, _) = sh("systemctl is-active --quiet berth-pkgweb.scope");
    assert!(!active, "berth-pkgweb.scope is still active");
    // Removal leaves the administrator's definitions, purging the package's directories.
    ok("dpkg --remove berth");
    assert!(!Path::new("/usr/bin/berth").exists());
    assert!(Path::new("/etc/berth/containers/pkgweb.toml").exists());
    ok("dpkg --purge berth");
}

#[test]
fn rpm_builds_and_passes_rpmlint() {
    if !can_run("the RPM test", &["rpmbuild", "rpmlint", "cargo"]) {
        return;
    }
    let report = package("rpm");
    let summary = report
        .lines()
        .rev()
        .find(|l| l.contains("packages and") && l.contains("errors"))
        .unwrap_or_else(|| panic!("no rpmlint summary in:\n{report}"));
    assert!(summary.contains(" 0 errors"), "{summary}");
    let rpms: Vec<PathBuf> = fs::read_dir(dist().join("rpm/RPMS"))
        .unwrap()
        .flatten()
        .flat_map(|arch| fs::read_dir(arch.path()).unwrap().flatten())
        .map(|e| e.path())
        .collect();
    let main = rpms
        .iter()
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(&format!("berth-{}-", version())) && !n.contains("debug")
        })
        .unwrap_or_else(|| panic!("no berth RPM among {rpms:?}"));
    let files = listing(Command::new("rpm").args(["-qlp"]).arg(main));
    for path in INSTALLED
        .iter()
        .chain(&["/usr/share/zsh/site-functions/_berth", "/run/berth"])
    {
        assert!(
            files.lines().any(|l| l == *path),
            "{} lacks {path}:\n{files}",
            main.display()
        );
    }
    let scripts = listing(Command::new("rpm").args(["-qp", "--scripts"]).arg(main));
    assert!(
        scripts.contains("systemd-tmpfiles --create berth.conf"),
        "{scripts}"
    );
    let requires = listing(Command::new("rpm").args(["-qp", "--requires"]).arg(main));
    for lib in ["libselinux.so.1", "libseccomp.so.2"] {
        assert!(requires.contains(lib), "{requires}");
    }
}
