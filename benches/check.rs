//! `berth check` over 6000 generated definitions, timed against reading the same files.
//!
//! The definitions are spread over a three-directory search path like /etc, /run and /usr/lib:
//! varied main files (every one with `exec.command`; resources, environment tables, binds, tmpfs
//! mounts and capability lists in many combinations), most with one to three drop-ins from any
//! of the directories, some main files and drop-ins masking same-named lower ones, and a few
//! containers masked with a symlink to /dev/null. The real release binary checks them all
//! (`berth --containers-path ETC:RUN:USR check`), five times after a warm-up; the baseline, in
//! the same run, is `find ETC RUN USR -type f -exec cat {} +`: reading every byte once.
//!
//! ```sh
//! cargo bench --bench check
//! ```
//!
//! The bench builds the release binaries itself, as `cargo bench` does not build the crate's
//! binaries, and writes the definitions under the target directory (`CARGO_TARGET_TMPDIR`,
//! else `target/bench-data`). Under `cargo test` (no `--bench`) it is a smoke test: 600
//! definitions, once, with the debug binary.

mod common;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{time, Dice, Generated};

/// The benchmark's size; `cargo test --all-targets` (no `--bench`) runs a smoke test of it:
/// 600 definitions, once.
const CONTAINERS: usize = 6000;
const RUNS: usize = 5;
const SMOKE_CONTAINERS: usize = 600;

fn main() {
    let Some(args) = common::arguments("check") else {
        return;
    };
    let bench = common::is_bench(&args);
    let (containers, runs) = if bench {
        (CONTAINERS, RUNS)
    } else {
        (SMOKE_CONTAINERS, 1)
    };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    if bench {
        common::build_release();
    }
    let berth = common::binary("berth");
    eprintln!("timing {}", berth.display());
    let root = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("target/bench-data"))
        .join("check");
    let _ = fs::remove_dir_all(&root);
    let dirs: Vec<PathBuf> = ["etc", "run", "usr"].iter().map(|d| root.join(d)).collect();
    let generated = generate(&dirs, containers);
    let search = dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":");

    let check = time(runs, || {
        let out = Command::new(&berth)
            .args(["--containers-path", &search, "check"])
            .stdin(Stdio::null())
            .output()
            .expect("berth runs");
        assert!(
            out.status.success(),
            "berth check found the generated definitions invalid ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .take(40)
                .collect::<Vec<_>>()
                .join("\n")
        );
        let summary = String::from_utf8_lossy(&out.stdout);
        assert!(
            summary.contains(&format!("{containers} definition(s) checked, all valid")),
            "unexpected summary: {summary}"
        );
    });
    let read = time(runs, || {
        let status = Command::new("find")
            .args(&dirs)
            .args(["-type", "f", "-exec", "cat", "{}", "+"])
            .stdout(Stdio::null())
            .status()
            .expect("find runs");
        assert!(status.success());
    });

    let secs = |d: Duration| d.as_secs_f64();
    let ratio = secs(check.median) / secs(read.median);
    println!(
        "{containers} definitions in {} files ({} KiB; {} drop-ins; {} symlinks to /dev/null), \
         {runs} runs each after a warm-up:",
        generated.files,
        generated.bytes >> 10,
        generated.dropins,
        generated.masks,
    );
    println!(
        "  berth check         median {:.3} s, min {:.3} s ({:.0} µs per definition)",
        secs(check.median),
        secs(check.min),
        secs(check.median) * 1e6 / containers as f64,
    );
    println!(
        "  find -exec cat      median {:.3} s, min {:.3} s",
        secs(read.median),
        secs(read.min)
    );
    println!("  check/read ratio    {ratio:.1}x");
    println!(
        "berth check: {containers} definitions, {} files: median {:.2} s (min {:.2} s); \
         reading the files: {:.2} s; ratio {ratio:.1}x",
        generated.files,
        secs(check.median),
        secs(check.min),
        secs(read.median),
    );
}

// ---------------------------------------------------------------------------------------------
// The definitions
// ---------------------------------------------------------------------------------------------

const ETC: usize = 0;
const RUN: usize = 1;
const USR: usize = 2;

/// Capabilities are added from one set and dropped from another, so that none is both.
const CAPS_ADD: [&str; 5] = [
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_NICE",
    "IPC_LOCK",
    "CAP_NET_BIND_SERVICE",
];
const CAPS_DROP: [&str; 5] = [
    "NET_RAW",
    "MKNOD",
    "AUDIT_WRITE",
    "SYS_CHROOT",
    "cap_setfcap",
];

const DROPIN_NAMES: [&str; 6] = [
    "10-limits.toml",
    "20-environment.toml",
    "30-mounts.toml",
    "50-security.toml",
    "60-exec.toml",
    "90-local.toml",
];

fn generate(dirs: &[PathBuf], containers: usize) -> Generated {
    let mut g = Generated::default();
    for i in 0..containers {
        let name = format!("c{i:04}");
        let mut dice = Dice::new(i);
        let main = main_file(i, &mut dice);
        // Packaged in usr, local in etc, a few at runtime in run.
        let home = match dice.below(10) {
            0..=5 => USR,
            6..=8 => ETC,
            _ => RUN,
        };
        let file = format!("{name}.toml");
        if i % 100 == 99 {
            // Masked: packaged, but switched off by the administrator; never read.
            g.write(&dirs[USR].join(&file), &main.text);
            g.mask(&dirs[ETC].join(&file));
            continue;
        }
        g.write(&dirs[home].join(&file), &main.text);
        if home != USR && dice.chance(25) {
            // A packaged file that the local one masks: never read.
            g.write(&dirs[USR].join(&file), "this = is not even TOML [\n");
        }

        // Most have one to three drop-ins, from any directory.
        let count = match dice.below(20) {
            0..=2 => 0,
            3..=10 => 1,
            11..=16 => 2,
            _ => 3,
        };
        let mut names: Vec<&str> = DROPIN_NAMES.to_vec();
        for _ in 0..count {
            let file_name = names.remove(dice.below(names.len()));
            let dir = [ETC, RUN, USR, USR][dice.below(4)];
            let path = dirs[dir].join(format!("{name}.toml.d")).join(file_name);
            g.write(&path, &dropin(&main, &mut dice));
            g.dropins += 1;
            if dir != USR && dice.chance(15) {
                // The same drop-in name lower down is masked by this one: never read.
                let lower = dirs[USR].join(format!("{name}.toml.d")).join(file_name);
                g.write(&lower, "[resources]\nmemory_max = \"not a size\"\n");
            }
        }
        if dice.chance(3) {
            // A packaged drop-in switched off with /dev/null.
            let file_name = names.remove(dice.below(names.len()));
            let lower = dirs[USR].join(format!("{name}.toml.d")).join(file_name);
            g.write(&lower, "[exec]\nuser = \"no such user!\"\n");
            g.mask(&dirs[ETC].join(format!("{name}.toml.d")).join(file_name));
        }
        // Files that are not drop-ins are ignored.
        if dice.chance(2) {
            let dir = dirs[ETC].join(format!("{name}.toml.d"));
            g.write(&dir.join("README"), "drop-ins go here\n");
            g.write(&dir.join("10-limits.toml.orig"), "[[[\n");
        }
    }
    g
}

/// A main file, and what a drop-in may build on.
struct Main {
    text: String,
    binds: Vec<String>,
    env: Vec<String>,
    selinux_off: bool,
    /// A host container in app mode: the only kind that may have a user namespace and run as
    /// another user than root.
    host_app: bool,
}

fn main_file(i: usize, d: &mut Dice) -> Main {
    let mut t = String::new();
    let mut binds = Vec::new();
    let mut env = Vec::new();

    writeln!(t, "# Generated container {i}.").unwrap();
    writeln!(
        t,
        "description = \"generated container {i}: {}\"",
        d.pick(&[
            "web server",
            "database",
            "build worker",
            "cache",
            "mail relay"
        ])
    )
    .unwrap();
    if d.chance(60) {
        let group = [
            "web",
            "db",
            "build/x86",
            "build/arm",
            "infra/dns",
            "infra/mail",
        ][d.below(6)];
        writeln!(t, "group = \"{group}\"").unwrap();
    }
    writeln!(t, "autostart = {}", d.chance(40)).unwrap();
    if d.chance(20) {
        writeln!(t, "register_machine = false").unwrap();
    }
    if d.chance(30) {
        writeln!(t, "hostname = \"host-{i}.example.org\"").unwrap();
    }
    let boot = d.chance(10);
    let kind = d.below(10);
    let host_app = !boot && kind > 1;
    match kind {
        0 => writeln!(
            t,
            "kind = \"image\"\nimage = \"fedora-{}\"",
            38 + d.below(4)
        )
        .unwrap(),
        1 => writeln!(t, "kind = \"image\"\nroot = \"/srv/trees/tree{}\"", i % 17).unwrap(),
        _ => {}
    }
    if boot {
        writeln!(t, "mode = \"boot\"").unwrap();
    }

    t.push_str("\n[exec]\n");
    let command = if boot {
        "[\"/sbin/init\"]".to_owned()
    } else {
        match d.below(4) {
            0 => format!("[\"/usr/bin/python3\", \"-m\", \"http.server\", \"{}\"]", 8000 + i % 1000),
            1 => format!("[\"/usr/sbin/nginx\", \"-g\", \"daemon off;\", \"-c\", \"/etc/nginx/site{i}.conf\"]"),
            2 => "[\"/usr/bin/redis-server\", \"--save\", \"\", \"--appendonly\", \"no\"]".to_owned(),
            _ => format!("[\"/opt/app/bin/worker\", \"--id={i}\", \"--threads\", \"{}\"]", 1 + d.below(16)),
        }
    };
    writeln!(t, "command = {command}").unwrap();
    if !boot && d.chance(60) {
        writeln!(
            t,
            "user = \"{}\"",
            d.pick(&["www-data", "nobody", "app", "1000", "postgres"])
        )
        .unwrap();
    }
    if d.chance(30) {
        writeln!(t, "working_directory = \"/srv/app{}\"", i % 50).unwrap();
    }
    if d.chance(30) {
        writeln!(
            t,
            "stop_signal = \"{}\"",
            d.pick(&["SIGINT", "SIGQUIT", "SIGRTMIN+3", "TERM"])
        )
        .unwrap();
    }
    if d.chance(40) {
        writeln!(
            t,
            "stop_timeout = \"{}\"",
            d.pick(&["1min 30s", "10s", "500ms", "2min", "infinity"])
        )
        .unwrap();
    }
    let vars = d.below(9);
    if vars > 0 {
        // Inline or as its own table.
        let pairs: Vec<String> = (0..vars)
            .map(|v| {
                let key = [
                    "PYTHONUNBUFFERED",
                    "LANG",
                    "TZ",
                    "APP_ENV",
                    "LOG_LEVEL",
                    "WORKERS",
                    "PORT",
                    "DATA_DIR",
                ][v];
                env.push(key.to_owned());
                format!(
                    "{key} = \"{}\"",
                    [
                        "1",
                        "C.UTF-8",
                        "UTC",
                        "production",
                        "info",
                        "4",
                        "8080",
                        "/srv/data"
                    ][v]
                )
            })
            .collect();
        if d.chance(50) {
            writeln!(t, "environment = {{ {} }}", pairs.join(", ")).unwrap();
        } else {
            writeln!(t, "\n[exec.environment]\n{}", pairs.join("\n")).unwrap();
        }
    }

    if d.chance(85) {
        t.push_str("\n[resources]\n");
        let mib = 64 << d.below(6);
        writeln!(t, "memory_max = \"{mib}M\"").unwrap();
        if d.chance(50) {
            writeln!(t, "memory_high = \"{}M\"", mib * 3 / 4).unwrap();
        }
        if d.chance(20) {
            writeln!(
                t,
                "memory_swap_max = \"{}\"",
                d.pick(&["0", "1G", "infinity", "512M"])
            )
            .unwrap();
        }
        if d.chance(70) {
            writeln!(t, "cpu_quota = \"{}%\"", 10 + d.below(390)).unwrap();
        }
        if d.chance(50) {
            writeln!(t, "cpu_weight = {}", 1 + d.below(10_000)).unwrap();
        }
        if d.chance(30) {
            writeln!(t, "io_weight = {}", 1 + d.below(10_000)).unwrap();
        }
        if d.chance(60) {
            writeln!(
                t,
                "tasks_max = {}",
                if d.chance(10) {
                    "\"infinity\"".to_owned()
                } else {
                    (16 << d.below(8)).to_string()
                }
            )
            .unwrap();
        }
        if d.chance(30) {
            writeln!(
                t,
                "allowed_cpus = \"{}\"",
                d.pick(&["0-1", "0-3,6", "2", "4-7", "0,2,4,6"])
            )
            .unwrap();
        }
        if d.chance(20) {
            writeln!(
                t,
                "devices = {{ \"/dev/fuse\" = \"rw\", \"char-pts\" = \"rwm\" }}"
            )
            .unwrap();
        }
    }

    let mounts = d.below(4);
    if d.chance(70) || mounts > 0 {
        t.push_str("\n[filesystem]\n");
        if d.chance(40) {
            writeln!(
                t,
                "etc = \"{}\"",
                d.pick(&["persistent", "volatile", "host"])
            )
            .unwrap();
        }
        if d.chance(30) {
            writeln!(t, "var = \"{}\"", d.pick(&["persistent", "volatile"])).unwrap();
        }
        if d.chance(40) {
            writeln!(t, "read_only_paths = [\"/srv/ro{i}\", \"/opt/app\"]").unwrap();
        }
        if d.chance(30) {
            writeln!(
                t,
                "masked_paths = [\"/proc/kcore\", \"/srv/secret{}\"]",
                i % 9
            )
            .unwrap();
        }
        for m in 0..mounts {
            let target = format!("/srv/data{m}");
            writeln!(t, "\n[filesystem.binds.\"{target}\"]").unwrap();
            if d.chance(70) {
                writeln!(t, "source = \"/srv/containers/{i}/data{m}\"").unwrap();
            }
            if d.chance(50) {
                writeln!(t, "read_only = {}", d.chance(50)).unwrap();
            }
            binds.push(target);
        }
        for m in 0..d.below(3) {
            writeln!(t, "\n[filesystem.tmpfs.\"/var/cache/app{m}\"]").unwrap();
            if d.chance(70) {
                writeln!(t, "size = \"{}M\"", 16 << d.below(5)).unwrap();
            }
            if d.chance(40) {
                writeln!(t, "mode = \"{}\"", d.pick(&["0755", "1777", "0700"])).unwrap();
            }
        }
    }

    if d.chance(40) {
        writeln!(
            t,
            "\n[network]\nmode = \"{}\"",
            d.pick(&["host", "none", "private"])
        )
        .unwrap();
    }

    let mut selinux_off = false;
    if d.chance(75) {
        t.push_str("\n[security]\n");
        if d.chance(60) {
            let n = 1 + d.below(3);
            let caps: Vec<String> = CAPS_DROP[..n].iter().map(|c| format!("\"{c}\"")).collect();
            writeln!(t, "capabilities_drop = [{}]", caps.join(", ")).unwrap();
        }
        if d.chance(40) {
            writeln!(t, "capabilities_add = [\"{}\"]", d.pick(&CAPS_ADD)).unwrap();
        }
        if d.chance(20) {
            writeln!(t, "no_new_privileges = false").unwrap();
        }
        if d.chance(20) {
            writeln!(
                t,
                "seccomp = \"{}\"",
                d.pick(&["unconfined", "/etc/berth/seccomp/strict.json"])
            )
            .unwrap();
        }
        if host_app && d.chance(20) {
            writeln!(t, "user_namespace = \"auto\"").unwrap();
        }
        if d.chance(15) {
            writeln!(t, "selinux = \"off\"").unwrap();
            selinux_off = true;
        } else if d.chance(20) {
            writeln!(
                t,
                "selinux_type = \"{}\"\nselinux_level = \"s0:c{},c{}\"",
                d.pick(&["container_t", "spc_t"]),
                i % 512,
                512 + i % 511
            )
            .unwrap();
        }
    }
    Main {
        text: t,
        binds,
        env,
        selinux_off,
        host_app,
    }
}

/// A drop-in that changes a few things in `main`'s definition, as an administrator would.
fn dropin(main: &Main, d: &mut Dice) -> String {
    let mut t = String::from("# Local changes.\n");
    // A few different changes, top-level keys first (a key after a [table] belongs to it).
    let mut changes: Vec<usize> = (0..7).collect();
    let mut chosen: Vec<usize> = (0..1 + d.below(3))
        .map(|_| changes.remove(d.below(changes.len())))
        .collect();
    chosen.sort_by_key(|c| *c != 6);
    for change in chosen {
        match change {
            0 => {
                writeln!(t, "\n[resources]\nmemory_max = \"{}M\"", 128 << d.below(5)).unwrap();
                if d.chance(50) {
                    writeln!(t, "tasks_max = {}", 32 << d.below(6)).unwrap();
                }
            }
            1 => {
                t.push_str("\n[exec.environment]\n");
                writeln!(t, "LOCAL_{} = \"yes\"", d.below(100)).unwrap();
                if let Some(var) = main.env.first().filter(|_| d.chance(50)) {
                    writeln!(t, "{var} = false").unwrap();
                }
            }
            2 => {
                if let Some(target) = main.binds.last() {
                    if d.chance(30) {
                        writeln!(t, "\n[filesystem.binds]\n\"{target}\" = false").unwrap();
                    } else {
                        writeln!(
                            t,
                            "\n[filesystem.binds.\"{target}\"]\nread_only = {}",
                            d.chance(50)
                        )
                        .unwrap();
                    }
                } else {
                    writeln!(
                        t,
                        "\n[filesystem.binds.\"/srv/extra\"]\nsource = \"/srv/shared\""
                    )
                    .unwrap();
                }
            }
            3 => {
                let reset = if d.chance(30) { "\"\", " } else { "" };
                writeln!(
                    t,
                    "\n[filesystem]\nread_only_paths = [{reset}\"/srv/local{}\"]",
                    d.below(10)
                )
                .unwrap();
            }
            4 => {
                writeln!(
                    t,
                    "\n[security]\ncapabilities_add = [\"{}\"]",
                    d.pick(&CAPS_ADD)
                )
                .unwrap();
                if !main.selinux_off && d.chance(30) {
                    writeln!(
                        t,
                        "selinux_level = \"s0:c{},c{}\"",
                        d.below(100),
                        100 + d.below(100)
                    )
                    .unwrap();
                }
            }
            5 => {
                writeln!(t, "\n[exec]\nstop_timeout = \"{}s\"", 5 + d.below(120)).unwrap();
                if main.host_app && d.chance(30) {
                    writeln!(t, "user = \"{}\"", d.pick(&["root", "nobody", "65534"])).unwrap();
                }
            }
            _ => {
                writeln!(t, "autostart = {}", d.chance(50)).unwrap();
                if d.chance(30) {
                    writeln!(t, "description = \"changed locally\"").unwrap();
                }
            }
        }
    }
    t
}
