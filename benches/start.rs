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

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 30;
/// `cargo test --all-targets` (no `--bench`) runs a smoke test of the bench: a few runs, with
/// the debug binaries cargo test has built.
const SMOKE_RUNS: usize = 3;
const INSIDE: &str = "BERTH_BENCH_INSIDE";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(filter) = args.iter().find(|a| !a.starts_with('-')) {
        if !"start".contains(filter.as_str()) {
            return;
        }
    }
    let bench = args.iter().any(|a| a == "--bench");
    let runs = if bench { RUNS } else { SMOKE_RUNS };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os(INSIDE).is_none() && !Path::new("/run/systemd/system").is_dir() {
        if bench {
            build(manifest);
        }
        return rerun_in_sandbox(manifest, &args);
    }
    let berth = sibling("berth");
    std::fs::create_dir_all("/etc/berth/containers").expect("create /etc/berth/containers");
    std::fs::write(
        "/etc/berth/containers/bench.toml",
        "description = \"start benchmark\"\n[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n",
    )
    .expect("write the definition");

    let run = |args: &[&str]| {
        let out = Command::new(&berth)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("berth runs");
        assert!(
            out.status.success(),
            "berth {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
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

    let (start, stop, floor) = (stats(start), stats(stop), stats(floor));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{runs} runs each, after one warm-up start and stop:");
    println!(
        "  berth start (until the payload runs)  median {:6.1} ms  p90 {:6.1} ms",
        ms(start.0),
        ms(start.1)
    );
    println!(
        "  berth stop                            median {:6.1} ms  p90 {:6.1} ms",
        ms(stop.0),
        ms(stop.1)
    );
    println!(
        "  floor: systemd-run --scope unshare    median {:6.1} ms  p90 {:6.1} ms",
        ms(floor.0),
        ms(floor.1)
    );
    println!(
        "berth start: median {:.1} ms, {:.2}x the floor ({:.1} ms); berth stop: median {:.1} ms, {:.2}x",
        ms(start.0),
        ms(start.0) / ms(floor.0),
        ms(floor.0),
        ms(stop.0),
        ms(stop.0) / ms(floor.0),
    );
}

fn timed(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

/// (median, 90th percentile)
fn stats(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() * 9 / 10])
}

/// A release binary next to this bench's (target/release/deps/start-HASH).
fn sibling(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's own path");
    exe.ancestors()
        .skip(1)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("target/release/{name} next to the bench"))
}

fn build(manifest: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--bins"])
        .current_dir(manifest)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build --release --bins failed");
}

fn rerun_in_sandbox(manifest: &Path, args: &[String]) {
    let exe = std::env::current_exe().expect("the bench's own path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the target directory")
        .to_owned();
    let mut bind = manifest.display().to_string();
    if !target.starts_with(manifest) {
        bind = format!("{bind} {}", target.display());
    }
    if !nix::unistd::Uid::effective().is_root() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the start benchmark needs root to boot a systemd sandbox");
        }
        eprintln!("SKIP the start benchmark: it needs root to boot a systemd sandbox");
        return;
    }
    let status = Command::new(manifest.join("tests/harness/berth-sandbox"))
        .args(["run", "env", &format!("{INSIDE}=1")])
        .arg(&exe)
        .args(args)
        .env(
            "BERTH_SANDBOX_NAME",
            format!("berth-bench-{}", std::process::id()),
        )
        .env("BERTH_SANDBOX_BIND", bind)
        .status()
        .expect("the harness runs (as root)");
    assert!(status.success(), "the benchmark failed inside the sandbox");
}
