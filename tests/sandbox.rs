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
