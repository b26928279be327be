//! The system-test harness itself: tests/harness/berth-sandbox boots a real systemd with a
//! D-Bus system bus, journald and machined, runs commands in it, and leaves nothing behind.
//! Needs root; fails under CI=true without it, says SKIP otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

fn harness() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/harness/berth-sandbox");
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the effective user.
    if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        return Some(path);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the system tests need root to boot a systemd sandbox");
    }
    eprintln!("SKIP: the system tests need root");
    None
}

#[test]
fn boots_systemd_with_bus_journal_and_machined_and_cleans_up() {
    let Some(harness) = harness() else { return };
    let name = "berth-harness-test";
    let inside = r#"
        set -e
        state=$(systemctl is-system-running)
        case $state in running|degraded) ;; *) echo "state $state"; exit 10;; esac
        busctl --system get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 \
            org.freedesktop.systemd1.Manager Version >/dev/null
        systemd-run --scope --quiet -p MemoryMax=64M -p TasksMax=20 --slice=berth-test.slice true
        machinectl list --no-legend >/dev/null
        echo journal-probe | systemd-cat -t berth-harness
        sleep 0.2
        journalctl -t berth-harness -o cat --no-pager | grep -q journal-probe
        exit 7
    "#;
    let out = Command::new(&harness)
        .args(["run", "sh", "-c", inside])
        .env("BERTH_SANDBOX_NAME", name)
        .output()
        .expect("the harness runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(7),
        "the command's exit code comes back:\n{text}"
    );

    let state = format!("/var/lib/berth-test/{name}/");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&state), "sandbox mounts left on the host");
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    for line in cgroups.lines() {
        let (controllers, path) = match line.splitn(3, ':').collect::<Vec<_>>()[..] {
            [_, c, p] => (c, p),
            _ => continue,
        };
        let mount = match controllers {
            "" => "/sys/fs/cgroup/unified".to_owned(),
            c => format!("/sys/fs/cgroup/{}", c.trim_start_matches("name=")),
        };
        let dir = Path::new(&mount)
            .join(path.trim_start_matches('/'))
            .join(name);
        assert!(!dir.exists(), "cgroup {} left", dir.display());
    }
    let out = Command::new(&harness)
        .arg("status")
        .env("BERTH_SANDBOX_NAME", name)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "the sandbox is gone");
}

/// A system test that forgot to check where it runs could pass having tested nothing (on a
/// host where BERTH_SYSTEM_TEST=1 was set by hand, say): every `#[ignore]`d test of every test
/// file checks first that systemd really is PID 1, and every test that re-runs its binary in
/// the sandbox first refuses to run where BERTH_SYSTEM_TEST=1 is set.
#[test]
fn every_system_test_checks_that_it_runs_under_systemd() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    let mut unguarded = Vec::new();
    let mut system_tests = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let wanted = if line.starts_with("#[ignore") {
                "common::assert_systemd_is_pid1();"
            } else if line.starts_with("fn ")
                && lines.get(i + 1).is_some_and(|next| {
                    next.contains("rerun_in_sandbox") || next.contains("common::inside()")
                })
            {
                "common::assert_on_the_host("
            } else {
                continue;
            };
            let Some(body) = lines[i..].iter().position(|l| l.starts_with("fn ")) else {
                continue;
            };
            system_tests += 1;
            let first = lines.get(i + body + 1).map(|l| l.trim()).unwrap_or("");
            if !first.starts_with(wanted) {
                unguarded.push(format!(
                    "{}:{}: {} (starts with {first:?}, not {wanted})",
                    file.file_name().unwrap().to_string_lossy(),
                    i + body + 1,
                    lines[i + body].trim()
                ));
            }
        }
    }
    assert!(system_tests > 20, "only {system_tests} system tests found");
    assert!(unguarded.is_empty(), "unguarded:\n{}", unguarded.join("\n"));
}
