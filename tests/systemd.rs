//! berth's D-Bus client against a real systemd and machined (in the harness's sandbox).
//!
//! On the host, [`in_a_real_systemd`] boots the sandbox and runs this binary inside it with
//! `--ignored`; the `#[ignore]`d tests are the ones that need systemd.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command};
use std::thread::sleep;
use std::time::{Duration, Instant};

use berth::definition::from_sources;
use berth::diagnostic::Source;
use berth::name::Name;
use berth::systemd::{Machined, Systemd, SystemdError};
use berth::unit::{plan_scope, CgroupVersion, Property, PropertyValue, ScopePlan};

const INSIDE: &str = "BERTH_SYSTEM_TEST";

#[test]
fn in_a_real_systemd() {
    if std::env::var(INSIDE).is_ok() {
        return;
    }
    if !fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the system tests need root to boot a systemd sandbox");
        }
        eprintln!("SKIP: the system tests need root");
        return;
    }
    let manifest = env!("CARGO_MANIFEST_DIR");
    let me = std::env::current_exe().expect("test binary");
    let target = me
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .expect("the test binary is under target/")
        .to_owned();
    let out = Command::new(Path::new(manifest).join("tests/harness/berth-sandbox"))
        .args(["run", "env", &format!("{INSIDE}=1")])
        .arg(&me)
        .args(["--ignored", "--test-threads=1", "--nocapture"])
        .env("BERTH_SANDBOX_NAME", "berth-systemd-test")
        .env(
            "BERTH_SANDBOX_BIND",
            format!("{manifest} {}", target.display()),
        )
        .output()
        .expect("the harness runs");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the tests inside the sandbox failed");
}

/// Kills and reaps the child, and stops the unit, whatever happens in the test.
struct Cleanup<'a> {
    systemd: &'a Systemd,
    unit: String,
    children: Vec<Child>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.systemd.stop_unit(&self.unit);
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn plan(name: &str, text: &str) -> ScopePlan {
    let def = from_sources(
        &Name::new(name).unwrap(),
        vec![Source::new("/t.toml", text)],
    )
    .expect("valid definition")
    .definition;
    plan_scope(&def, berth::systemd::cgroup_version().unwrap())
}

fn read(path: &str) -> String {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_owned()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "needs systemd: runs inside the sandbox"]
fn scopes_limits_kill_attach_and_machined() {
    let systemd = Systemd::connect().expect("system bus");
    assert_eq!(
        berth::systemd::cgroup_version().unwrap(),
        CgroupVersion::V1,
        "the sandbox is hybrid"
    );
    let plan = plan(
        "dbus-test",
        "group = \"systest\"\n[exec]\ncommand = [\"/bin/sleep\"]\n[resources]\nmemory_max = \"64M\"\ntasks_max = 20\ncpu_quota = \"20%\"\n",
    );
    let sleeper = Command::new("sleep").arg("300").spawn().unwrap();
    let pid = sleeper.id();
    let mut guard = Cleanup {
        systemd: &systemd,
        unit: plan.unit.clone(),
        children: vec![sleeper],
    };

    let t = Instant::now();
    systemd
        .start_scope(&plan.clone().with_pids(&[pid]))
        .expect("StartTransientUnit");
    eprintln!("StartTransientUnit + JobRemoved: {:?}", t.elapsed());

    let status = systemd
        .unit_status(&plan.unit)
        .unwrap()
        .expect("the unit exists");
    assert_eq!(status.active_state, "active");
    assert_eq!(status.slice, "berth-systest.slice");
    let cg = "/berth.slice/berth-systest.slice/berth-dbus\\x2dtest.scope";
    assert_eq!(status.control_group, cg);
    assert!(read(&format!("/proc/{pid}/cgroup")).contains(&format!(":memory:{cg}")));
    assert_eq!(
        read(&format!("/sys/fs/cgroup/memory{cg}/memory.limit_in_bytes")),
        "67108864"
    );
    assert_eq!(read(&format!("/sys/fs/cgroup/pids{cg}/pids.max")), "20");
    // The cpu controller is mounted alone here, with cpuacct elsewhere (RHEL: cpu,cpuacct).
    let cpu = ["cpu", "cpu,cpuacct"]
        .iter()
        .map(|c| format!("/sys/fs/cgroup/{c}{cg}/cpu.cfs_quota_us"))
        .find(|p| Path::new(p).exists())
        .expect("the scope's cpu cgroup");
    assert_eq!(read(&cpu), "20000");
    assert_eq!(status.memory_limit, Some(64 << 20));
    assert_eq!(status.tasks_max, Some(20));

    // Live changes.
    systemd
        .set_unit_properties(
            &plan.unit,
            true,
            &[Property {
                name: "MemoryLimit",
                value: PropertyValue::U64(128 << 20),
            }],
        )
        .unwrap();
    assert_eq!(
        read(&format!("/sys/fs/cgroup/memory{cg}/memory.limit_in_bytes")),
        "134217728"
    );

    // The same unit twice is refused with systemd's own reason.
    let again = Command::new("sleep").arg("300").spawn().unwrap();
    let again_pid = again.id();
    guard.children.push(again);
    match systemd.start_scope(&plan.clone().with_pids(&[again_pid])) {
        Err(e @ SystemdError::Call { .. }) => {
            assert!(e.to_string().contains("UnitExists"), "{e}")
        }
        other => panic!("a second start of the same unit: {other:?}"),
    }

    // Moving a process in.
    systemd.attach_processes(&plan.unit, &[again_pid]).unwrap();
    assert!(read(&format!("/proc/{again_pid}/cgroup")).contains(&format!(":memory:{cg}")));

    // Listing.
    let listed = systemd.list_units("berth-*.scope").unwrap();
    assert!(listed.iter().any(|u| u.id == plan.unit), "{listed:?}");

    // machined.
    let machined = Machined::new(&systemd).unwrap();
    machined
        .register("dbus-test", pid, "/")
        .expect("RegisterMachine");
    assert!(machined.machine_exists("dbus-test").unwrap());
    let list = Command::new("machinectl")
        .args(["list", "--no-legend"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("dbus-test"));
    assert!(!machined.machine_exists("no-such-machine").unwrap());

    // Kill, then stop; the unit goes away.
    systemd.kill_unit(&plan.unit, 15).unwrap();
    wait_for("the scope to empty and go", || {
        systemd
            .unit_status(&plan.unit)
            .unwrap()
            .is_none_or(|s| !s.is_active())
    });
    wait_for("machined to forget the machine", || {
        !machined.machine_exists("dbus-test").unwrap()
    });
    systemd
        .stop_unit(&plan.unit)
        .expect("stopping a gone unit is fine");
    systemd
        .stop_unit("berth-never-existed.scope")
        .expect("stopping a missing unit is fine");
    assert!(systemd
        .unit_status("berth-never-existed.scope")
        .unwrap()
        .is_none());
    drop(guard);
}
