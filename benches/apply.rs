//! A no-op `berth apply` over 6000 definitions, some of them running, timed against
//! `berth check` over the same files and `systemctl list-units` in the same run.
//!
//! 6000 definitions over a three-directory search path like /etc, /run and /usr/lib, with
//! environment tables, resources, binds, tmpfs mounts, capability lists and one or two
//! drop-ins in many combinations; 40 have autostart on (and a command that runs), the rest are
//! off. The first `berth apply` starts the 40; then the timed ones, five after a warm-up, find
//! nothing to do. Running containers need systemd: on a host whose PID 1 is not systemd the
//! bench re-runs itself inside a sandbox booted by tests/harness/berth-sandbox (as root).
//!
//! ```sh
//! cargo bench --bench apply
//! ```
//!
//! Like benches/check.rs, it builds the release binaries itself and writes the definitions
//! under the target directory (`CARGO_TARGET_TMPDIR`, else `target/bench-data`). Run by
//! `cargo test --all-targets` (without `--bench`), it is a smoke test of itself instead: a
//! tenth of the definitions, the debug binaries, no figures worth reading.

mod common;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{time, Dice, Generated};

/// How big a run is: the benchmark, or `cargo test`'s smoke run of it.
#[derive(Clone, Copy)]
struct Size {
    containers: usize,
    running: usize,
    runs: usize,
}

const BENCH: Size = Size {
    containers: 6000,
    running: 40,
    runs: 5,
};
const SMOKE: Size = Size {
    containers: 600,
    running: 4,
    runs: 1,
};

fn main() {
    let Some(args) = common::arguments("apply") else {
        return;
    };
    let bench = common::is_bench(&args);
    let size = if bench { BENCH } else { SMOKE };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("target/bench-data"))
        .join("apply");
    if common::inside() {
        return inside(&root, size);
    }
    if !common::root_or_skip("bench apply") {
        return;
    }
    if bench {
        common::build_release();
    }
    let _ = fs::remove_dir_all(&root);
    let generated = generate(&root, size);
    println!(
        "{} definitions in {} files ({} KiB, {} drop-ins), {} with autostart",
        size.containers,
        generated.files,
        generated.bytes >> 10,
        generated.dropins,
        size.running
    );
    common::rerun_in_sandbox(&args);
}

fn inside(root: &Path, size: Size) {
    let Size {
        containers,
        running,
        runs,
    } = size;
    let berth = common::binary("berth");
    eprintln!("timing {}", berth.display());
    let search = ["etc", "run", "usr"]
        .iter()
        .map(|d| root.join(d).display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let run = |args: &[&str]| {
        let mut all = vec!["--containers-path", &search];
        all.extend_from_slice(args);
        common::run_ok(&berth, &all)
    };

    let first = run(&["apply"]);
    assert!(
        first.contains(&format!("applied: {running} started")),
        "the first apply starts the autostart containers:\n{first}"
    );
    let apply = time(runs, || {
        let out = run(&["apply"]);
        assert_eq!(
            out,
            format!("no changes; {running} container(s) as defined\n"),
            "a second apply has nothing to do"
        );
    });
    let check = time(runs, || {
        let out = run(&["check"]);
        assert!(out.contains(&format!("{containers} definition(s) checked, all valid")));
    });
    let units = time(runs, || {
        let out = Command::new("systemctl")
            .args(["list-units", "--no-legend", "--no-pager", "berth-*.scope"])
            .output()
            .expect("systemctl runs");
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            running
        );
    });

    let secs = |d: Duration| d.as_secs_f64();
    println!("{runs} runs each after a warm-up, {running} containers running:");
    println!(
        "  berth apply (no-op)        median {:.3} s, min {:.3} s ({:.0} µs per definition)",
        secs(apply.median),
        secs(apply.min),
        secs(apply.median) * 1e6 / containers as f64
    );
    println!(
        "  berth check (same files)   median {:.3} s, min {:.3} s",
        secs(check.median),
        secs(check.min)
    );
    println!(
        "  systemctl list-units       median {:.3} s, min {:.3} s",
        secs(units.median),
        secs(units.min)
    );
    println!(
        "berth apply, no-op: {containers} definitions, {running} running: median {:.2} s \
         (min {:.2} s); berth check: {:.2} s; ratio apply/check {:.2}x",
        secs(apply.median),
        secs(apply.min),
        secs(check.median),
        secs(apply.median) / secs(check.median)
    );
}

// ---------------------------------------------------------------------------------------------

fn generate(root: &Path, size: Size) -> Generated {
    let Size {
        containers,
        running,
        ..
    } = size;
    let dirs: Vec<PathBuf> = ["etc", "run", "usr"].iter().map(|d| root.join(d)).collect();
    let mut g = Generated::default();
    // Every 150th has autostart: spread over the range, as a real host's would be.
    let every = containers / running;
    for i in 0..containers {
        let mut d = Dice(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1).wrapping_mul(0x2545_f491));
        let name = format!("c{i:04}");
        let autostart = i % every == every / 2;
        let home = [2, 2, 2, 0, 0, 1][d.below(6)];
        let mut t = String::new();
        writeln!(t, "description = \"bench container {i}\"").unwrap();
        writeln!(t, "autostart = {autostart}").unwrap();
        if d.chance(60) {
            writeln!(
                t,
                "group = \"{}\"",
                ["web", "db", "build/x86", "infra/dns"][d.below(4)]
            )
            .unwrap();
        }
        if d.chance(30) {
            writeln!(t, "register_machine = false").unwrap();
        }
        t.push_str("\n[exec]\n");
        if autostart {
            t.push_str("command = [\"/bin/sleep\", \"infinity\"]\n");
        } else {
            writeln!(t, "command = [\"/opt/app/bin/worker\", \"--id={i}\"]").unwrap();
            if d.chance(50) {
                writeln!(
                    t,
                    "user = \"{}\"",
                    ["nobody", "www-data", "1000"][d.below(3)]
                )
                .unwrap();
            }
        }
        if d.chance(70) {
            t.push_str("\n[exec.environment]\n");
            for v in 0..1 + d.below(6) {
                writeln!(t, "VAR_{v} = \"value {i} {v}\"").unwrap();
            }
        }
        t.push_str("\n[resources]\n");
        writeln!(t, "memory_max = \"{}M\"", 64 << d.below(5)).unwrap();
        if d.chance(60) {
            writeln!(t, "cpu_quota = \"{}%\"", 10 + d.below(190)).unwrap();
        }
        if d.chance(60) {
            writeln!(t, "tasks_max = {}", 16 << d.below(6)).unwrap();
        }
        if !autostart {
            if d.chance(40) {
                writeln!(
                    t,
                    "\n[filesystem.binds.\"/srv/data\"]\nsource = \"/srv/c/{i}\""
                )
                .unwrap();
            }
            if d.chance(30) {
                writeln!(t, "\n[filesystem.tmpfs.\"/var/cache/app\"]\nsize = \"32M\"").unwrap();
            }
            if d.chance(50) {
                writeln!(
                    t,
                    "\n[security]\ncapabilities_drop = [\"NET_RAW\", \"MKNOD\"]"
                )
                .unwrap();
            }
        }
        g.write(&dirs[home].join(format!("{name}.toml")), &t);
        for n in 0..d.below(3) {
            let dir = dirs[d.below(3)].join(format!("{name}.toml.d"));
            let text = match n {
                0 => format!("[resources]\nmemory_max = \"{}M\"\n", 128 << d.below(4)),
                _ => format!("[exec.environment]\nLOCAL_{} = \"yes\"\n", d.below(10)),
            };
            g.write(&dir.join(format!("{}0-local.toml", n + 1)), &text);
            g.dropins += 1;
        }
    }
    g
}
