//! A boot-mode container from `berth start` until its systemd says it is up
//! (`systemctl -M NAME is-system-running --wait`), next to the same image booted by
//! `systemd-nspawn --boot --volatile=overlay` in the same run, and both shutdowns.
//!
//! ```sh
//! cargo bench --bench boot
//! ```
//!
//! It needs a real systemd: on a machine whose PID 1 is not systemd, the bench re-runs itself
//! inside tests/harness/berth-sandbox (as root). The image is the system tests' Debian image
//! (target/test-images/debian-bookworm.tar, built with mmdebstrap by `cargo test --test image`
//! or by this bench). Without `--bench` (`cargo test --all-targets`), it makes a smoke run: one
//! warm-up and one timed boot of each, with the debug binaries cargo test has built.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{ms, Timing};

const RUNS: usize = 5;
const SMOKE_RUNS: usize = 1;

fn main() {
    let Some(args) = common::arguments("boot") else {
        return;
    };
    let bench = common::is_bench(&args);
    let runs = if bench { RUNS } else { SMOKE_RUNS };
    if !common::inside() {
        if common::root_or_skip("the boot benchmark") {
            if bench {
                common::build_release();
            }
            ensure_image();
            common::rerun_in_sandbox(&args);
        }
        return;
    }
    let berth = common::binary("berth");
    let run = |args: &[&str]| common::run_ok(&berth, args);
    let tarball = image_tarball();
    if !Path::new("/var/lib/berth/images/debian").is_dir() {
        run(&["image", "import", tarball.to_str().unwrap(), "debian"]);
    }
    std::fs::create_dir_all("/etc/berth/containers").expect("create /etc/berth/containers");
    std::fs::write(
        "/etc/berth/containers/bootbench.toml",
        "kind = \"image\"\nimage = \"debian\"\nmode = \"boot\"\n",
    )
    .expect("write the definition");

    let (mut berth_up, mut berth_down, mut nspawn_up, mut nspawn_down) =
        (vec![], vec![], vec![], vec![]);
    // One warm-up of each, then the timed runs, alternating so both see the same machine.
    for i in 0..=runs {
        let t = Instant::now();
        run(&["start", "bootbench"]);
        let leader: serde_json::Value =
            serde_json::from_str(&run(&["status", "--json", "bootbench"])).unwrap();
        wait_until_up("bootbench", leader["leader"].as_u64().unwrap() as u32);
        let up = t.elapsed();
        let t = Instant::now();
        run(&["stop", "bootbench"]);
        let down = t.elapsed();

        let t = Instant::now();
        let status = Command::new("systemd-run")
            .args([
                "--quiet",
                "--unit=nspawn-bench",
                "--collect",
                "--service-type=exec",
            ])
            .args([
                "systemd-nspawn",
                "--quiet",
                "--boot",
                "--volatile=overlay",
                "--keep-unit",
                "--register=yes",
            ])
            .args(["-D", "/var/lib/berth/images/debian", "-M", "nsbench"])
            .status()
            .expect("systemd-run runs");
        assert!(status.success());
        wait_until_up("nsbench", nspawn_leader());
        let nup = t.elapsed();
        let t = Instant::now();
        let status = Command::new("machinectl")
            .args(["poweroff", "nsbench"])
            .status()
            .expect("machinectl runs");
        assert!(status.success());
        while Command::new("systemctl")
            .args(["is-active", "--quiet", "nspawn-bench.service"])
            .status()
            .is_ok_and(|s| s.success())
        {
            sleep(Duration::from_millis(10));
        }
        let ndown = t.elapsed();
        if i > 0 {
            berth_up.push(up);
            berth_down.push(down);
            nspawn_up.push(nup);
            nspawn_down.push(ndown);
        }
    }
    run(&["reset", "bootbench"]);
    let median = |times: Vec<Duration>| Timing::of(times).median;
    let (bu, bd, nu, nd) = (
        median(berth_up),
        median(berth_down),
        median(nspawn_up),
        median(nspawn_down),
    );
    println!("{runs} boots each of a Debian 12 image (systemd 252), after one warm-up:");
    println!(
        "  berth start until is-system-running        median {:7.1} ms",
        ms(bu)
    );
    println!(
        "  systemd-nspawn --boot until the same       median {:7.1} ms",
        ms(nu)
    );
    println!(
        "  berth stop (the init shuts down)           median {:7.1} ms",
        ms(bd)
    );
    println!(
        "  machinectl poweroff of the nspawn one      median {:7.1} ms",
        ms(nd)
    );
    println!(
        "boot to running: berth {:.0} ms, nspawn {:.0} ms, ratio {:.2}x; shutdown: berth {:.0} ms, nspawn {:.0} ms, ratio {:.2}x",
        ms(bu),
        ms(nu),
        ms(bu) / ms(nu),
        ms(bd),
        ms(nd),
        ms(bd) / ms(nd)
    );
}

/// Until the machine's systemd answers is-system-running --wait (through its own bus).
fn wait_until_up(machine: &str, leader: u32) {
    let socket = format!("/proc/{leader}/root/run/dbus/system_bus_socket");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !Path::new(&socket).exists() {
        assert!(Instant::now() < deadline, "{machine}'s bus did not come up");
        sleep(Duration::from_millis(5));
    }
    let out = Command::new("systemctl")
        .args(["-M", machine, "is-system-running", "--wait"])
        .output()
        .expect("systemctl runs");
    let state = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        state == "running" || state == "degraded",
        "{machine} is {state}"
    );
}

fn nspawn_leader() -> u32 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new("machinectl")
            .args(["show", "nsbench", "-p", "Leader", "--value"])
            .output()
            .expect("machinectl runs");
        if let Ok(pid) = String::from_utf8_lossy(&out.stdout).trim().parse() {
            return pid;
        }
        assert!(Instant::now() < deadline, "nspawn did not register nsbench");
        sleep(Duration::from_millis(5));
    }
}

fn image_tarball() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's own path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the target directory")
        .to_owned();
    target.join("test-images/debian-bookworm.tar")
}

fn ensure_image() {
    let tarball = image_tarball();
    if tarball.is_file() {
        return;
    }
    std::fs::create_dir_all(tarball.parent().unwrap()).expect("create target/test-images");
    let partial = tarball.with_extension("tar.partial");
    let status = Command::new("mmdebstrap")
        .args([
            "--variant=minbase",
            "--include=systemd,systemd-sysv,dbus",
            "--mode=root",
            "--format=tar",
            "bookworm",
        ])
        .arg(&partial)
        .arg("http://deb.debian.org/debian")
        .status()
        .expect("mmdebstrap runs (scripts/deps test installs it)");
    assert!(status.success(), "mmdebstrap failed");
    std::fs::rename(&partial, &tarball).expect("move the image into place");
}
