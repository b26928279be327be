//! berth's systemd and machined client (`berth::systemd`) against a real systemd, D-Bus system
//! bus and machined. Nothing is mocked.
//!
//! The machines berth is built on do not run systemd as PID 1, so on the host
//! [`in_a_real_systemd`] re-runs this test binary inside tests/harness/berth-sandbox with
//! BERTH_SYSTEM_TEST=1 and `--ignored`, and only there does the `#[ignore]`d test talk to
//! systemd. Without root or the harness it says SKIP, and fails under CI=true.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use berth::definition::from_sources;
use berth::diagnostic::Source;
use berth::name::Name;
use berth::systemd::{cgroup_version, Machined, MachinedError, Systemd, SystemdError};
use berth::unit::{plan_scope, CgroupVersion, Property, PropertyValue, ScopePlan};

mod common;

#[test]
fn in_a_real_systemd() {
    common::assert_on_the_host("the systemd client tests");
    common::rerun_in_sandbox("the systemd client tests", &["--ignored"]);
}

// ------------------------------------------------------------------------ in the sandbox

#[test]
#[ignore = "runs inside a real systemd"]
fn scopes_limits_signals_and_machines_in_a_real_systemd() {
    common::assert_systemd_is_pid1();
    let systemd = Systemd::connect().expect("connect to the system bus");
    let cgroup = cgroup_version().expect("the cgroup version");
    eprintln!("cgroup hierarchy: {cgroup:?}");
    let mut teardown = Teardown {
        systemd: &systemd,
        units: Vec::new(),
        machines: Vec::new(),
        children: Vec::new(),
    };
    let t = &mut teardown;

    a_scope_with_limits_lives_and_is_killed(t, cgroup);
    stops_escalate_to_sigkill(t);
    a_failed_slice_fails_the_start_job(t);
    machined_registers_and_terminates(t);
    an_abandoned_scope_ends_with_its_processes(t);
    units_that_do_not_exist(t);
    start_round_trips(t);
    drop(teardown);
}

const DEFINITION: &str = r#"
description = "system test"
group = "test"
[exec]
command = ["/bin/sleep", "300"]
[resources]
memory_max = "64M"
tasks_max = 20
cpu_quota = "20%"
"#;

fn a_scope_with_limits_lives_and_is_killed(t: &mut Teardown, cgroup: CgroupVersion) {
    let systemd = t.systemd;
    let def = from_sources(
        &Name::new("dbus-test").unwrap(),
        vec![Source::new(
            "/etc/berth/containers/dbus-test.toml",
            DEFINITION,
        )],
    )
    .expect("a valid definition")
    .definition;
    let plan = plan_scope(&def, cgroup);
    let unit = plan.unit.clone();
    assert_eq!(unit, "berth-dbus\\x2dtest.scope");
    let first = t.sleeper();
    t.units.push(unit.clone());

    let started = Instant::now();
    systemd
        .start_scope(&plan.clone().with_pids(&[first]))
        .expect("StartTransientUnit");
    eprintln!(
        "first StartTransientUnit until JobRemoved: {:?}",
        started.elapsed()
    );

    let cg = format!("/berth.slice/berth-test.slice/{unit}");
    let status = systemd
        .unit_status(&unit)
        .unwrap()
        .expect("the scope exists");
    assert_eq!(
        (
            status.id.as_str(),
            status.load_state.as_str(),
            status.active_state.as_str(),
            status.sub_state.as_str()
        ),
        (unit.as_str(), "loaded", "active", "running")
    );
    assert_eq!(
        status.description,
        "system test (berth container dbus-test)"
    );
    assert_eq!(status.slice, "berth-test.slice");
    assert_eq!(status.control_group, cg);
    assert_eq!(status.memory_limit, Some(64 << 20));
    assert_eq!(status.tasks_max, Some(20));
    assert_eq!(status.tasks_current, Some(1));
    // Reported (memory accounting is on), though on v1 a moved process's pages stay charged
    // to its old cgroup, so it may read 0.
    assert!(status.memory_current.is_some(), "{status:?}");
    assert_eq!(status.result, "success");
    let now_usec = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    assert!(
        status.active_enter_usec <= now_usec && now_usec - status.active_enter_usec < 60_000_000,
        "{status:?}"
    );
    assert!(status.state_change_usec >= status.active_enter_usec);

    assert!(
        in_cgroup(first, &cg, cgroup),
        "{}",
        read(&format!("/proc/{first}/cgroup"))
    );
    // What systemd wrote into cgroupfs is what the kernel enforces.
    let memory_limit = match cgroup {
        CgroupVersion::V1 => {
            let cpu = ["cpu", "cpu,cpuacct"]
                .iter()
                .map(|c| format!("/sys/fs/cgroup/{c}{cg}"))
                .find(|d| Path::new(d).is_dir())
                .expect("the scope's cpu cgroup");
            assert_eq!(read(&format!("{cpu}/cpu.cfs_quota_us")), "20000");
            assert_eq!(read(&format!("{cpu}/cpu.cfs_period_us")), "100000");
            assert_eq!(read(&format!("/sys/fs/cgroup/pids{cg}/pids.max")), "20");
            format!("/sys/fs/cgroup/memory{cg}/memory.limit_in_bytes")
        }
        CgroupVersion::V2 => {
            assert_eq!(read(&format!("/sys/fs/cgroup{cg}/cpu.max")), "20000 100000");
            assert_eq!(read(&format!("/sys/fs/cgroup{cg}/pids.max")), "20");
            format!("/sys/fs/cgroup{cg}/memory.max")
        }
    };
    assert_eq!(read(&memory_limit), "67108864");

    // A live change reaches the kernel.
    let memory_property = match cgroup {
        CgroupVersion::V1 => "MemoryLimit",
        CgroupVersion::V2 => "MemoryMax",
    };
    systemd
        .set_unit_properties(
            &unit,
            true,
            &[Property {
                name: memory_property,
                value: PropertyValue::U64(128 << 20),
            }],
        )
        .expect("SetUnitProperties");
    assert_eq!(read(&memory_limit), "134217728");
    assert_eq!(
        systemd.unit_status(&unit).unwrap().unwrap().memory_limit,
        Some(128 << 20)
    );

    // The same unit twice is refused, in systemd's own words.
    let second = t.sleeper();
    match systemd.start_scope(&plan.clone().with_pids(&[second])) {
        Err(e @ SystemdError::Call { .. }) => {
            assert_eq!(
                e.to_string(),
                "StartTransientUnit berth-dbus\\x2dtest.scope: \
                 org.freedesktop.systemd1.UnitExists: \
                 Unit berth-dbus\\x2dtest.scope was already loaded or has a fragment file."
            );
            assert_eq!(
                e.dbus_error_name(),
                Some("org.freedesktop.systemd1.UnitExists")
            );
        }
        other => panic!("a second start of the same unit: {other:?}"),
    }
    assert!(!in_cgroup(second, &cg, cgroup));

    // A process moved in afterwards, as `berth exec` does with its helper.
    systemd
        .attach_processes(&unit, "", &[second])
        .expect("AttachProcessesToUnit");
    assert!(in_cgroup(second, &cg, cgroup));
    assert_eq!(
        systemd.unit_status(&unit).unwrap().unwrap().tasks_current,
        Some(2)
    );

    let listed = systemd
        .list_units("berth-*.scope")
        .expect("ListUnitsByPatterns");
    let found = listed
        .iter()
        .find(|u| u.id == unit)
        .expect("the scope is listed");
    assert_eq!(found.control_group, cg);
    assert!(listed.windows(2).all(|w| w[0].id <= w[1].id));
    assert!(systemd
        .list_units("berth-nothing-*.scope")
        .unwrap()
        .is_empty());

    // SIGTERM to every process; an empty scope ends by itself.
    systemd.kill_unit(&unit, 15).expect("KillUnit");
    assert_eq!(t.wait_child(first).signal(), Some(15));
    assert_eq!(t.wait_child(second).signal(), Some(15));
    wait_for("the killed scope to end", || {
        systemd
            .unit_status(&unit)
            .unwrap()
            .is_none_or(|s| !s.is_active())
    });
    systemd
        .stop_unit(&unit)
        .expect("stopping a unit that has ended");
}

fn stops_escalate_to_sigkill(t: &mut Teardown) {
    let systemd = t.systemd;
    // SIGTERM stays ignored across exec: these sleeps only yield to SIGKILL.
    let mut stubborn = || t.spawn(Command::new("sh").args(["-c", "trap '' TERM; exec sleep 300"]));
    let (first, second) = (stubborn(), stubborn());

    // The stop timeout of the plan (exec.stop_timeout), set when the scope is made.
    let mut plan = hand_made_plan("berth-dbus\\x2dstop.scope").with_pids(&[first]);
    plan.properties.push(Property {
        name: "TimeoutStopUSec",
        value: PropertyValue::U64(1_000_000),
    });
    t.units.push(plan.unit.clone());
    systemd.start_scope(&plan).expect("StartTransientUnit");
    // systemd does not take it later: `stop --timeout` needs stop_unit_within.
    let e = systemd
        .set_unit_properties(
            &plan.unit,
            true,
            &[Property {
                name: "TimeoutStopUSec",
                value: PropertyValue::U64(2_000_000),
            }],
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "SetUnitProperties berth-dbus\\x2dstop.scope: \
         org.freedesktop.DBus.Error.PropertyReadOnly: \
         Cannot set property TimeoutStopUSec, or unknown property."
    );
    let started = Instant::now();
    systemd.stop_unit(&plan.unit).expect("StopUnit");
    let took = started.elapsed();
    eprintln!("StopUnit, SIGTERM ignored, TimeoutStopUSec=1s: {took:?}");
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(t.wait_child(first).signal(), Some(9));
    assert!(systemd
        .unit_status(&plan.unit)
        .unwrap()
        .is_none_or(|s| !s.is_active()));

    // systemd's default of 90 s, cut short by berth.
    let plan = hand_made_plan("berth-dbus\\x2dstop2.scope").with_pids(&[second]);
    t.units.push(plan.unit.clone());
    systemd.start_scope(&plan).expect("StartTransientUnit");
    let started = Instant::now();
    systemd
        .stop_unit_within(&plan.unit, Duration::from_millis(300))
        .expect("StopUnit, then KillUnit SIGKILL");
    let took = started.elapsed();
    eprintln!("StopUnit, SIGTERM ignored, SIGKILL from berth after 300 ms: {took:?}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(t.wait_child(second).signal(), Some(9));
    assert!(systemd
        .unit_status(&plan.unit)
        .unwrap()
        .is_none_or(|s| !s.is_active()));
}

fn a_failed_slice_fails_the_start_job(t: &mut Teardown) {
    let systemd = t.systemd;
    // A slice that needs a service that fails: systemd accepts the start, and the job ends
    // with "dependency". The sandbox's /run is its own.
    fs::create_dir_all("/run/systemd/system").unwrap();
    fs::write(
        "/run/systemd/system/berth-failing.service",
        "[Service]\nType=oneshot\nExecStart=/bin/false\n",
    )
    .unwrap();
    fs::write(
        "/run/systemd/system/berth-broken.slice",
        "[Unit]\nRequires=berth-failing.service\nAfter=berth-failing.service\n",
    )
    .unwrap();
    let reload = Command::new("systemctl")
        .arg("daemon-reload")
        .status()
        .unwrap();
    assert!(reload.success());

    let pid = t.sleeper();
    let mut plan = hand_made_plan("berth-dbus\\x2ddep.scope").with_pids(&[pid]);
    for p in &mut plan.properties {
        if p.name == "Slice" {
            p.value = PropertyValue::Str("berth-broken.slice".into());
        }
    }
    t.units.push(plan.unit.clone());
    let e = systemd.start_scope(&plan).unwrap_err();
    assert!(
        matches!(&e, SystemdError::JobFailed { result, .. } if result == "dependency"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "StartTransientUnit berth-dbus\\x2ddep.scope: the job ended with result \"dependency\""
    );

    // A plan without processes never reaches systemd.
    let e = systemd
        .start_scope(&hand_made_plan("berth-dbus\\x2dempty.scope"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "StartTransientUnit berth-dbus\\x2dempty.scope: the plan names no processes (PIDs) for \
         the scope"
    );
}

fn machined_registers_and_terminates(t: &mut Teardown) {
    let systemd = t.systemd;
    let leader = t.sleeper();
    let plan = hand_made_plan("berth-dbus\\x2dmachine.scope").with_pids(&[leader]);
    t.units.push(plan.unit.clone());
    systemd.start_scope(&plan).expect("StartTransientUnit");

    let machined = Machined::new(systemd).expect("machined");
    t.machines.push("dbus-test".into());
    machined
        .register("dbus-test", &[], leader, "/")
        .expect("RegisterMachine");
    assert!(machined.machine_exists("dbus-test").unwrap());
    assert!(!machined.machine_exists("no-such-machine").unwrap());
    let list = Command::new("machinectl")
        .args(["list", "--no-legend"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()[..3]
                == ["dbus-test", "container", "berth"]),
        "{list}"
    );
    let status = Command::new("machinectl")
        .args(["status", "dbus-test", "--no-pager"])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains(&format!("Unit: {}", plan.unit)), "{status}");

    match machined.register("bad name!", &[], leader, "/") {
        Err(e @ MachinedError::Call { .. }) => assert_eq!(
            e.to_string(),
            "RegisterMachine bad name!: org.freedesktop.DBus.Error.InvalidArgs: Invalid machine name"
        ),
        other => panic!("an invalid machine name: {other:?}"),
    }

    // machined stops the unit of a machine it terminates: here, the scope.
    machined.terminate("dbus-test").expect("TerminateMachine");
    assert_eq!(t.wait_child(leader).signal(), Some(15));
    wait_for("machined to forget the machine", || {
        !machined.machine_exists("dbus-test").unwrap()
    });
    wait_for("the machine's scope to end", || {
        systemd
            .unit_status(&plan.unit)
            .unwrap()
            .is_none_or(|s| !s.is_active())
    });
    machined
        .terminate("dbus-test")
        .expect("terminating a machine that is gone");
}

fn an_abandoned_scope_ends_with_its_processes(t: &mut Teardown) {
    let systemd = t.systemd;
    let pid = t.sleeper();
    let plan = hand_made_plan("berth-dbus\\x2dabandon.scope").with_pids(&[pid]);
    t.units.push(plan.unit.clone());
    systemd.start_scope(&plan).expect("StartTransientUnit");
    systemd.abandon_scope(&plan.unit).expect("AbandonScope");
    let status = systemd.unit_status(&plan.unit).unwrap().unwrap();
    assert_eq!(
        (status.active_state.as_str(), status.sub_state.as_str()),
        ("active", "abandoned")
    );
    t.kill_child(pid);
    wait_for("the abandoned scope to end", || {
        systemd
            .unit_status(&plan.unit)
            .unwrap()
            .is_none_or(|s| !s.is_active())
    });
}

fn units_that_do_not_exist(t: &mut Teardown) {
    let systemd = t.systemd;
    let missing = "berth-never\\x2dexisted.scope";
    assert!(systemd.unit_status(missing).unwrap().is_none());
    systemd
        .stop_unit(missing)
        .expect("stopping a unit that is not loaded");
    let e = systemd.kill_unit(missing, 15).unwrap_err();
    assert_eq!(
        e.to_string(),
        "KillUnit berth-never\\x2dexisted.scope: org.freedesktop.systemd1.NoSuchUnit: \
         Unit berth-never\\x2dexisted.scope not loaded."
    );
}

/// StartTransientUnit until its JobRemoved, the figure berth's start latency is made of.
fn start_round_trips(t: &mut Teardown) {
    let systemd = t.systemd;
    let mut took = Vec::new();
    for i in 0..10 {
        let pid = t.sleeper();
        let plan = hand_made_plan(&format!("berth-dbus\\x2dtiming{i}.scope")).with_pids(&[pid]);
        t.units.push(plan.unit.clone());
        let started = Instant::now();
        systemd.start_scope(&plan).expect("StartTransientUnit");
        took.push(started.elapsed());
        systemd.stop_unit(&plan.unit).expect("StopUnit");
        t.wait_child(pid);
    }
    took.sort();
    eprintln!(
        "StartTransientUnit until JobRemoved, 10 scopes: median {:?}, max {:?}",
        took[took.len() / 2],
        took[took.len() - 1]
    );
}

// ------------------------------------------------------------------------ helpers

/// A scope in berth-test.slice made by hand, without PIDs.
fn hand_made_plan(unit: &str) -> ScopePlan {
    let prop = |name, value| Property { name, value };
    ScopePlan {
        unit: unit.to_owned(),
        slices: vec!["berth.slice".into(), "berth-test.slice".into()],
        properties: vec![
            prop(
                "Description",
                PropertyValue::Str(format!("berth system test {unit}")),
            ),
            prop("Slice", PropertyValue::Str("berth-test.slice".into())),
            prop(
                "CollectMode",
                PropertyValue::Str("inactive-or-failed".into()),
            ),
        ],
        warnings: Vec::new(),
    }
}

/// Stops every unit, terminates every machine and kills every process the test made, whether
/// it passes or not.
struct Teardown<'a> {
    systemd: &'a Systemd,
    units: Vec<String>,
    machines: Vec<String>,
    children: Vec<Child>,
}

impl Teardown<'_> {
    fn spawn(&mut self, command: &mut Command) -> u32 {
        let child = command.spawn().expect("spawn a test process");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    fn sleeper(&mut self) -> u32 {
        self.spawn(Command::new("sleep").arg("300"))
    }

    fn child(&mut self, pid: u32) -> Child {
        let i = self
            .children
            .iter()
            .position(|c| c.id() == pid)
            .expect("a child of this test");
        self.children.swap_remove(i)
    }

    /// Reaps the child, which must end within a few seconds.
    fn wait_child(&mut self, pid: u32) -> ExitStatus {
        let mut child = self.child(pid);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("process {pid} did not end");
            }
            sleep(Duration::from_millis(5));
        }
    }

    fn kill_child(&mut self, pid: u32) {
        let mut child = self.child(pid);
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Teardown<'_> {
    fn drop(&mut self) {
        // Processes first: a stop would wait out the stop timeout of one that ignores SIGTERM.
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Ok(machined) = Machined::new(self.systemd) {
            for m in &self.machines {
                if let Err(e) = machined.terminate(m) {
                    eprintln!("teardown: {e}");
                }
            }
        }
        for unit in &self.units {
            if let Err(e) = self.systemd.stop_unit(unit) {
                eprintln!("teardown: {e}");
            }
        }
    }
}

fn in_cgroup(pid: u32, cg: &str, cgroup: CgroupVersion) -> bool {
    let lines = read(&format!("/proc/{pid}/cgroup"));
    let wanted: &[&str] = match cgroup {
        CgroupVersion::V1 => &["memory", "pids"],
        CgroupVersion::V2 => &[""],
    };
    wanted.iter().all(|controllers| {
        lines.lines().any(|l| {
            let mut fields = l.splitn(3, ':').skip(1);
            fields.next() == Some(controllers) && fields.next() == Some(cg)
        })
    })
}

fn read(path: &str) -> String {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_owned()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(10));
    }
}
