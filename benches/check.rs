//! `berth check` over 6000 generated definitions with drop-ins, spread over a three-directory
//! search path like /etc, /run and /usr/lib, timed against reading the same files with `cat`
//! in the same run.
//!
//! ```sh
//! cargo bench --bench check
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CONTAINERS: usize = 6000;
const RUNS: usize = 5;

fn main() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let berth = build_berth(manifest);
    let root = manifest.join("target/bench-data/check");
    let _ = fs::remove_dir_all(&root);
    let files = generate(&root);
    let dirs: Vec<PathBuf> = ["etc", "run", "usr"].iter().map(|d| root.join(d)).collect();
    let search = dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":");

    let check = time(RUNS, || {
        let status = Command::new(&berth)
            .args(["--containers-path", &search, "check"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("berth runs");
        assert!(
            status.success(),
            "berth check found the generated definitions invalid"
        );
    });
    let read = time(RUNS, || {
        let status = Command::new("find")
            .args(&dirs)
            .args(["-type", "f", "-exec", "cat", "{}", "+"])
            .stdout(Stdio::null())
            .status()
            .expect("find runs");
        assert!(status.success());
    });
    println!(
        "berth check: {CONTAINERS} definitions, {files} files: median {:.3} s (min {:.3} s), \
         {:.1} µs per definition; reading the files with cat: median {:.3} s; ratio {:.1}x",
        check.median.as_secs_f64(),
        check.min.as_secs_f64(),
        check.median.as_secs_f64() * 1e6 / CONTAINERS as f64,
        read.median.as_secs_f64(),
        check.median.as_secs_f64() / read.median.as_secs_f64()
    );
}

struct Timing {
    median: Duration,
    min: Duration,
}

fn time(runs: usize, mut f: impl FnMut()) -> Timing {
    f(); // warm the page cache
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    Timing {
        median: times[runs / 2],
        min: times[0],
    }
}

/// The release binary, built if needed (a bench does not build the crate's binaries).
fn build_berth(manifest: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--bin", "berth"])
        .current_dir(manifest)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build failed");
    manifest.join("target/release/berth")
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

/// Writes the definitions; returns how many files it wrote.
fn generate(root: &Path) -> usize {
    let mut files = 0;
    for i in 0..CONTAINERS {
        let name = format!("c{i:04}");
        // Packaged definitions in usr, local ones in etc, a few runtime ones in run.
        let dir = match i % 10 {
            0..=5 => "usr",
            6..=8 => "etc",
            _ => "run",
        };
        write(&root.join(dir).join(format!("{name}.toml")), &main_file(i));
        files += 1;
        for (j, dropin_dir) in ["etc", "run", "usr"].iter().enumerate().take(i % 4) {
            let path = root
                .join(dropin_dir)
                .join(format!("{name}.toml.d/{}0-local.toml", j + 1));
            write(&path, &dropin(i, j));
            files += 1;
        }
        if i % 50 == 0 {
            // Masked in /etc: present lower down, but never checked.
            let masked = root.join("etc").join(format!("m{i:04}.toml"));
            fs::create_dir_all(masked.parent().expect("a parent")).expect("mkdir");
            std::os::unix::fs::symlink("/dev/null", &masked).expect("symlink");
            write(
                &root.join("usr").join(format!("m{i:04}.toml")),
                &main_file(i),
            );
            files += 1;
        }
    }
    files
}

fn main_file(i: usize) -> String {
    format!(
        r#"description = "generated container {i}"
group = "g{group}/sub"
autostart = {autostart}

[exec]
command = ["/usr/bin/python3", "-m", "http.server", "{port}"]
environment = {{ PYTHONUNBUFFERED = "1", INDEX = "{i}" }}
user = "www-data"
stop_timeout = "1min 30s"

[resources]
memory_max = "{mem}M"
cpu_quota = "{cpu}%"
cpu_weight = {weight}
tasks_max = 64
allowed_cpus = "0-1"
devices = {{ "/dev/fuse" = "rw" }}

[filesystem]
etc = "persistent"
read_only_paths = ["/srv/ro{i}"]

[filesystem.binds."/srv/data"]
source = "/srv/data/{i}"

[filesystem.tmpfs."/var/cache/app"]
size = "64M"

[security]
capabilities_drop = ["NET_RAW"]
"#,
        group = i % 20,
        autostart = i % 7 == 0,
        port = 8000 + i,
        mem = 128 + i % 512,
        cpu = 10 + i % 190,
        weight = 1 + i % 10000,
    )
}

fn dropin(i: usize, j: usize) -> String {
    format!(
        r#"[resources]
memory_max = "{mem}M"

[exec.environment]
INDEX = false
LOCAL{j} = "yes"

[filesystem.binds."/srv/data"]
read_only = false

[security]
capabilities_add = ["NET_ADMIN"]
"#,
        mem = 256 + (i + j) % 1024,
    )
}
