//! `berth start` until the payload runs, and `berth stop`, against a floor measured in the same
//! run: `systemd-run --scope` of `unshare --mount --uts --ipc --pid --fork true`, a transient
//! scope around bare namespaces, the least a container manager on systemd can do.
//!
//! ```sh
//! cargo bench --bench start
//! ```
//!
//! It needs a real systemd: on a machine whose PID 1 is not systemd, the bench re-runs itself
//! inside tests/harness/berth-sandbox (as root). It builds the release binaries first, as
//! `cargo bench` does not build the crate's binaries.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{ms, timed, Timing};

const RUNS: usize = 30;
/// `cargo test --all-targets` (no `--bench`) runs a smoke test of the bench: a few runs, with
/// the debug binaries cargo test has built.
const SMOKE_RUNS: usize = 3;

fn main() {
    let Some(args) = common::arguments("start") else {
        return;
    };
    let bench = common::is_bench(&args);
    let runs = if bench { RUNS } else { SMOKE_RUNS };
    if !common::inside() {
        if common::root_or_skip("the start benchmark") {
            if bench {
                common::build_release();
            }
            common::rerun_in_sandbox(&args);
        }
        return;
    }
    let berth = common::binary("berth");
    std::fs::create_dir_all("/etc/berth/containers").expect("create /etc/berth/containers");
    std::fs::write(
        "/etc/berth/containers/bench.toml",
        "description = \"start benchmark\"\n[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n",
    )
    .expect("write the definition");

    let run = |args: &[&str]| {
        common::run_ok(&berth, args);
    };
    // The first start seeds the container's /etc; that is not what is measured.
    run(&["start", "bench"]);
    run(&["stop", "bench"]);
    let (mut start, mut stop) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        start.push(timed(|| run(&["start", "bench"])));
        stop.push(timed(|| run(&["stop", "bench"])));
    }
    let floor: Vec<Duration> = (0..runs)
        .map(|_| {
            timed(|| {
                let status = Command::new("systemd-run")
                    .args(["--scope", "--quiet", "--collect", "--slice=bench.slice"])
                    .args([
                        "unshare", "--mount", "--uts", "--ipc", "--pid", "--fork", "true",
                    ])
                    .status()
                    .expect("systemd-run runs");
                assert!(status.success());
            })
        })
        .collect();

    let (start, stop, floor) = (Timing::of(start), Timing::of(stop), Timing::of(floor));
    println!("{runs} runs each, after one warm-up start and stop:");
    println!(
        "  berth start (until the payload runs)  median {:6.1} ms  p90 {:6.1} ms",
        ms(start.median),
        ms(start.p90)
    );
    println!(
        "  berth stop                            median {:6.1} ms  p90 {:6.1} ms",
        ms(stop.median),
        ms(stop.p90)
    );
    println!(
        "  floor: systemd-run --scope unshare    median {:6.1} ms  p90 {:6.1} ms",
        ms(floor.median),
        ms(floor.p90)
    );
    println!(
        "berth start: median {:.1} ms, {:.2}x the floor ({:.1} ms); berth stop: median {:.1} ms, {:.2}x",
        ms(start.median),
        ms(start.median) / ms(floor.median),
        ms(floor.median),
        ms(stop.median),
        ms(stop.median) / ms(floor.median),
    );
}
