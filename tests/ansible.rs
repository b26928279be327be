//! The Ansible collection berth.host (ansible/ansible_collections/berth/host).
//!
//! On the host, [`collection_builds_and_passes_sanity_and_unit_tests`] builds it with
//! `ansible-galaxy collection build` and runs `ansible-test sanity` and `ansible-test units` on
//! a copy of it, with ansible-core from PyPI in the venv tests/apply.rs uses too
//! (/var/lib/berth-test/ansible-core-VERSION); ansible-test's own venvs and its pip bootstrap
//! live in /var/lib/berth-test/ansible-test. [`in_a_real_systemd_with_berth_installed`] builds
//! the collection and boots a sandbox with berth, its helper and its units installed, and runs
//! this binary's `--ignored` test there: the playbooks in ansible/tests/system drive the
//! modules against a real systemd. Without root, both fail under CI=true and say SKIP
//! otherwise.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

mod common;

use common::{
    installed_leader as leader, installed_running as running, installed_status as status,
};

const BERTH: &str = common::INSTALLED_BERTH;
const COLLECTION: &str = "ansible/ansible_collections/berth/host";
/// Where the collection tarball is built for the sandbox, which sees the target directory.
const BUILT: &str = "ansible-collection";

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs a program of the venv, echoing its output for the test log; fails the test when it
/// fails.
fn venv_ok(program: &str, args: &[&str], dir: &Path, env: &[(&str, String)]) -> String {
    let venv = common::ansible_venv();
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = Instant::now();
    let out = Command::new(venv.join("bin").join(program))
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("LC_ALL", "C.UTF-8")
        .env("ANSIBLE_NOCOLOR", "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = output_text(&out);
    eprintln!(
        "$ {program} {} ({:?})\n{text}",
        args.join(" "),
        started.elapsed()
    );
    assert!(out.status.success(), "{program} {args:?} failed");
    text
}

/// A copy of the collection under DIR/ansible_collections/berth/host, where ansible-test
/// wants it, without what earlier runs left in the source tree.
fn copy_collection(dir: &Path) -> PathBuf {
    let _ = fs::remove_dir_all(dir);
    let root = dir.join("ansible_collections/berth/host");
    fs::create_dir_all(root.parent().unwrap()).unwrap();
    let out = Command::new("cp")
        .arg("-a")
        .arg(manifest().join(COLLECTION))
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "cp failed: {}", output_text(&out));
    for leftover in ["tests/output", ".pytest_cache"] {
        let _ = fs::remove_dir_all(root.join(leftover));
    }
    root
}

/// `ansible-galaxy collection build` into `out`; the tarball's path.
fn build_collection(out: &Path) -> PathBuf {
    let _ = fs::remove_dir_all(out);
    fs::create_dir_all(out).unwrap();
    let root = copy_collection(&out.join("src"));
    let text = venv_ok(
        "ansible-galaxy",
        &[
            "collection",
            "build",
            "--output-path",
            out.to_str().unwrap(),
        ],
        &root,
        &[],
    );
    let tarball = out.join("berth-host-0.1.0.tar.gz");
    assert!(tarball.is_file(), "no {}: {text}", tarball.display());
    tarball
}

/// ansible-test bootstraps pip in its venvs with a get-pip.py it downloads from
/// ci-files.testing.ansible.com, which this network does not reach; its cache is given a
/// stand-in that takes pip from the interpreter's ensurepip and then the pip version asked for
/// from PyPI, which is reachable.
fn ansible_test_home() -> PathBuf {
    let home = PathBuf::from("/var/lib/berth-test/ansible-test");
    let requirements = fs::read_to_string(
        common::ansible_venv()
            .join("lib/python3.11/site-packages/ansible_test/_internal/python_requirements.py"),
    )
    .expect("ansible-test's python_requirements.py");
    let pip = requirements
        .split("pip='")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("ansible-test names the pip version it bootstraps");
    let cache = home.join(".ansible/test/cache");
    fs::create_dir_all(&cache).unwrap();
    fs::write(
        cache.join(format!("get_pip_{}.py", pip.replace('.', "_"))),
        GET_PIP,
    )
    .unwrap();
    home
}

/// A directory removed when the test ends, whether it passed or not.
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const GET_PIP: &str = r#""""Written by berth's tests/ansible.rs in place of get-pip.py: pip from ensurepip, then
the pip version ansible-test asks for from PyPI."""
import subprocess
import sys

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet'] + args)
"#;

// ---------------------------------------------------------------- on the host

#[test]
fn collection_builds_and_passes_sanity_and_unit_tests() {
    common::assert_on_the_host("the Ansible collection's sanity and unit tests");
    let what = "the Ansible collection's sanity and unit tests";
    if !is_root() {
        return common::skip_or_fail(
            what,
            "installing ansible-core into /var/lib/berth-test needs root",
        );
    }
    let started = Instant::now();
    common::install_ansible();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ansible-sanity");
    let tarball = build_collection(&tmp.join("build"));
    // The tarball holds the modules and no test output.
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(&tarball)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for file in [
        "MANIFEST.json",
        "meta/runtime.yml",
        "plugins/modules/berth_container.py",
        "plugins/modules/berth_image.py",
        "plugins/modules/berth_info.py",
        "plugins/module_utils/berth.py",
    ] {
        assert!(
            listing.lines().any(|l| l.trim_start_matches("./") == file),
            "{file} is not in the collection:\n{listing}"
        );
    }
    assert!(!listing.contains("tests/output"), "{listing}");

    // Outside any git checkout: in one, ansible-test takes the files git lists, and a copy
    // below the ignored target/ has none.
    let home = ansible_test_home();
    let work = Removed(home.join(format!("run-{}", std::process::id())));
    let root = copy_collection(&work.0);
    let env = [("HOME", home.display().to_string())];
    // --python 3.11: Debian 12's python3, the one the venv is made from. The collection's
    // tests/sanity/ignore-X.Y.txt must name common::ANSIBLE_CORE's X.Y.
    let sanity = venv_ok(
        "ansible-test",
        &["sanity", "--venv", "--python", "3.11", "--color", "no"],
        &root,
        &env,
    );
    assert!(
        sanity.contains("Running sanity test \"validate-modules\""),
        "{sanity}"
    );
    let units = venv_ok(
        "ansible-test",
        &["units", "--venv", "--python", "3.11", "--color", "no"],
        &root,
        &env,
    );
    let passed: u32 = units
        .lines()
        .filter(|l| l.starts_with("=") && l.contains(" passed"))
        .filter_map(|l| l.trim_matches(|c| c == '=' || c == ' ').split(' ').next())
        .filter_map(|n| n.parse::<u32>().ok())
        .sum();
    assert!(
        passed >= 30,
        "the unit tests ran ({passed} passed):\n{units}"
    );
    assert!(!units.contains(" failed"), "{units}");
    drop(work);
    eprintln!(
        "collection built, sanity passed, {passed} unit tests passed in {:?}",
        started.elapsed()
    );
}

#[test]
fn in_a_real_systemd_with_berth_installed() {
    common::assert_on_the_host("the Ansible collection's system tests");
    let what = "the Ansible collection's system tests";
    if !is_root() {
        // rerun_in_sandbox says SKIP, or fails under CI=true.
        return common::rerun_in_sandbox(what, &["--ignored"]);
    }
    common::install_ansible();
    build_collection(&Path::new(env!("CARGO_TARGET_TMPDIR")).join(BUILT));
    let install = common::berth_installed();
    // berth.path on, as a package has it: its applies run alongside the modules' own.
    common::rerun_in_sandbox_with(
        what,
        &["--ignored"],
        &[
            ("BERTH_SANDBOX_INSTALL", install.join(" ")),
            ("BERTH_SANDBOX_ENABLE", "berth.service berth.path".into()),
        ],
    );
}

// ---------------------------------------------------------------- inside the sandbox

/// A playbook's run: its exit status, its PLAY RECAP line and its whole output.
struct Play {
    ok: bool,
    recap: String,
    text: String,
}

impl Play {
    fn changed(&self) -> u32 {
        self.count("changed")
    }

    fn count(&self, what: &str) -> u32 {
        self.recap
            .split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{what}=")))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {what}= in the recap: {}", self.recap))
    }
}

fn play(collections: &Path, playbook: &str, args: &[&str]) -> Play {
    let venv = common::ansible_venv();
    let extra = serde_json::json!({ "ansible_python_interpreter": venv.join("bin/python") });
    let out = Command::new(venv.join("bin/ansible-playbook"))
        .args(["-i", "localhost,", "-c", "local", "-e", &extra.to_string()])
        .args(args)
        .arg(manifest().join("ansible/tests/system").join(playbook))
        .env("LC_ALL", "C.UTF-8")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "0")
        .env("ANSIBLE_COLLECTIONS_PATH", collections)
        .output()
        .expect("ansible-playbook runs");
    let text = output_text(&out);
    eprintln!("$ ansible-playbook {playbook} {}\n{text}", args.join(" "));
    let recap = text
        .lines()
        .find(|l| l.starts_with("localhost "))
        .unwrap_or_else(|| panic!("no play recap:\n{text}"))
        .to_owned();
    Play {
        ok: out.status.success(),
        recap,
        text,
    }
}

/// A playbook that must succeed, changing `changed` things.
fn play_ok(collections: &Path, playbook: &str, args: &[&str], changed: u32) -> Play {
    let p = play(collections, playbook, args);
    assert!(p.ok, "{playbook} {args:?} failed: {}", p.recap);
    assert_eq!(p.count("failed"), 0, "{}", p.recap);
    assert_eq!(
        p.changed(),
        changed,
        "{playbook} {args:?} changes {changed}: {}",
        p.recap
    );
    p
}

fn memory_limit(name: &str) -> u64 {
    status(name)["memory_limit"]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} has a memory limit"))
}

fn definitions() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir("/etc/berth/containers")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
#[ignore = "runs inside the systemd sandbox"]
fn playbooks_create_predict_update_remove_and_refuse() {
    common::assert_systemd_is_pid1();
    let started = Instant::now();
    assert!(
        Path::new(BERTH).exists(),
        "{BERTH} is missing: in_a_real_systemd_with_berth_installed installs it"
    );
    // The collection as built, installed as users install it.
    let tarball = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(BUILT)
        .join("berth-host-0.1.0.tar.gz");
    let collections = Path::new("/tmp/ansible-collections");
    let venv = common::ansible_venv();
    let out = Command::new(venv.join("bin/ansible-galaxy"))
        .args(["collection", "install", "--offline", "-p"])
        .arg(collections)
        .arg(&tarball)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let etc = Path::new("/etc/berth/containers");
    let mib = |n: u64| n << 20;

    // Two containers; run again, nothing changes.
    let first = play_ok(collections, "containers.yml", &[], 3);
    assert!(running("answeb1") && running("answeb2"), "{}", first.text);
    assert_eq!(memory_limit("answeb1"), mib(64));
    let dropin = etc.join("answeb1.toml.d/40-ansible-resources.toml");
    let mode = fs::metadata(&dropin).unwrap().mode() & 0o7777;
    assert_eq!(mode, 0o644, "{}", dropin.display());
    let pid = leader("answeb1");
    play_ok(collections, "containers.yml", &[], 0);

    // Check mode predicts the memory change in place, and diff mode shows file and plan; the
    // host is left as it was.
    let before = fs::read_to_string(&dropin).unwrap();
    let check = play_ok(
        collections,
        "containers.yml",
        &["--check", "--diff", "-e", "memory=80M"],
        1,
    );
    for line in [
        "-memory_max = \"64M\"",
        "+memory_max = \"80M\"",
        "berth apply --dry-run answeb1:",
        "  ~ answeb1  update  in place, no restart",
        "      resources.memory_max: \"64M\" -> \"80M\"",
    ] {
        assert!(check.text.contains(line), "no {line:?} in:\n{}", check.text);
    }
    assert_eq!(fs::read_to_string(&dropin).unwrap(), before);
    assert_eq!(
        memory_limit("answeb1"),
        mib(64),
        "check mode applied nothing"
    );

    // The real run applies it in place.
    play_ok(collections, "containers.yml", &["-e", "memory=80M"], 1);
    assert_eq!(memory_limit("answeb1"), mib(80));
    assert_eq!(leader("answeb1"), pid, "updated in place, not restarted");
    play_ok(collections, "containers.yml", &["-e", "memory=80M"], 0);

    // Removing one: predicted, then stopped and its file gone; then nothing to do.
    play_ok(collections, "remove.yml", &["--check"], 1);
    assert!(running("answeb2") && etc.join("answeb2.toml").exists());
    play_ok(collections, "remove.yml", &[], 1);
    assert!(!running("answeb2"));
    assert!(!etc.join("answeb2.toml").exists());
    play_ok(collections, "remove.yml", &[], 0);
    assert!(running("answeb1"), "the other one is left alone");

    // An invalid definition fails its task and never reaches /etc, for a container that runs
    // and for a new one; no temporary file is left behind.
    let files = definitions();
    let definition = fs::read_to_string(etc.join("answeb1.toml")).unwrap();
    for container in ["answeb1", "ansbad"] {
        let bad = play(
            collections,
            "invalid.yml",
            &["-e", &format!("container={container}")],
        );
        assert!(!bad.ok, "an invalid definition must fail the play");
        assert_eq!(bad.count("failed"), 1, "{}", bad.recap);
        assert_eq!(bad.changed(), 0, "{}", bad.recap);
        assert!(
            bad.text
                .contains("invalid value for `exec.command`: found a string"),
            "berth check's report: {}",
            bad.text
        );
    }
    assert_eq!(definitions(), files);
    assert_eq!(
        fs::read_to_string(etc.join("answeb1.toml")).unwrap(),
        definition
    );
    assert_eq!(
        leader("answeb1"),
        pid,
        "the running container is left alone"
    );

    // An image, idempotent by the tarball's digest.
    let tree = Path::new("/tmp/ansimg");
    let tarball = "/tmp/ansimg.tar";
    let pack = |content: &str| {
        fs::create_dir_all(tree.join("usr")).unwrap();
        fs::create_dir_all(tree.join("etc")).unwrap();
        fs::write(tree.join("etc/content"), content).unwrap();
        let out = Command::new("tar")
            .args(["-cf", tarball, "-C"])
            .arg(tree)
            .arg(".")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", output_text(&out));
    };
    let images = || {
        let out = Command::new(BERTH)
            .args(["image", "list", "--json"])
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let with = format!("tarball={tarball}");
    pack("one");
    play_ok(collections, "images.yml", &["-e", &with], 1);
    assert_eq!(images()[0]["name"], "ansimg");
    play_ok(collections, "images.yml", &["-e", &with], 0);
    pack("two");
    play_ok(collections, "images.yml", &["--check", "-e", &with], 1);
    play_ok(collections, "images.yml", &["-e", &with], 1);
    play_ok(collections, "images.yml", &["-e", &with], 0);
    play_ok(collections, "images.yml", &["-e", "state=absent"], 1);
    play_ok(collections, "images.yml", &["-e", "state=absent"], 0);
    assert_eq!(images(), serde_json::json!([]));

    // States and autostart: each changes once, then nothing (restarted always restarts).
    let states = |args: &[&str]| {
        play_ok(collections, "states.yml", args, 1);
        play_ok(collections, "states.yml", args, 0);
    };
    play_ok(
        collections,
        "states.yml",
        &["-e", "state=restarted", "--check"],
        1,
    );
    assert_eq!(leader("answeb1"), pid, "check mode restarts nothing");
    play_ok(collections, "states.yml", &["-e", "state=restarted"], 1);
    assert_ne!(leader("answeb1"), pid, "restarted");
    states(&["-e", "state=stopped"]);
    assert!(!running("answeb1"));
    states(&["-e", "state=started"]);
    assert!(running("answeb1"));
    states(&["-e", "enabled=false"]);
    assert!(
        !running("answeb1"),
        "apply stops what is no longer autostart"
    );
    assert!(etc.join("answeb1.toml.d/50-berth-enable.toml").exists());
    states(&["-e", "enabled=true"]);
    assert!(running("answeb1"));

    eprintln!("the collection's playbooks ran in {:?}", started.elapsed());
}
