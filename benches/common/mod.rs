//! What the benchmarks share: finding the binaries under test, re-running inside a real
//! systemd, timing, generating definitions. Each bench is `harness = false`: `cargo bench` passes `--bench` and it is
//! the benchmark; `cargo test --all-targets` runs it without, as a smoke test of itself.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Set where the bench runs inside a real systemd (the sandbox, as for the system tests).
pub const INSIDE: &str = "BERTH_SYSTEM_TEST";

/// The bench's arguments, or None when cargo's filter names another bench.
pub fn arguments(bench: &str) -> Option<Vec<String>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().find(|a| !a.starts_with('-')) {
        Some(filter) if !bench.contains(filter.as_str()) => None,
        _ => Some(args),
    }
}

/// `cargo bench` rather than `cargo test`.
pub fn is_bench(args: &[String]) -> bool {
    args.iter().any(|a| a == "--bench")
}

pub fn inside() -> bool {
    std::env::var(INSIDE).as_deref() == Ok("1")
}

pub fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The release binaries, which `cargo bench` does not build for a bench.
pub fn build_release() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--bins"])
        .current_dir(manifest())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build --release --bins failed");
}

/// A binary next to this bench's: target/release (or target/debug under `cargo test`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's own path");
    exe.ancestors()
        .skip(1)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} next to the bench, in target/release or target/debug"))
}

/// Runs `program` with `args` and no input; fails the bench unless it succeeds. Its stdout.
pub fn run_ok(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}):\n{text}{}",
        program.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    );
    text
}

/// The cargo target directory.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's own path");
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .unwrap_or_else(|| exe.ancestors().nth(3).expect("the target directory"))
        .to_owned()
}

/// Whether this process may boot a systemd sandbox; says SKIP, or fails under CI=true.
pub fn root_or_skip(what: &str) -> bool {
    if nix::unistd::Uid::effective().is_root() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} needs root to boot a systemd sandbox");
    }
    eprintln!("SKIP {what}: it needs root to boot a systemd sandbox");
    false
}

/// Runs this bench again, with `args`, inside a fresh systemd sandbox that has the checkout
/// and the target directory bound in, and `/var/lib/berth` on a tmpfs of its own (image
/// containers' layers cannot be on the sandbox's overlay root).
pub fn rerun_in_sandbox(args: &[String]) {
    let manifest = manifest();
    let exe = std::env::current_exe().expect("the bench's own path");
    let mut bind = vec![manifest.display().to_string()];
    let target = target_dir();
    if !target.starts_with(manifest) {
        bind.push(target.display().to_string());
    }
    let name = format!("berth-bench-{}", std::process::id());
    let status = Command::new(manifest.join("tests/harness/berth-sandbox"))
        .args(["run", "env", &format!("{INSIDE}=1")])
        .arg(&exe)
        .args(args)
        .env("BERTH_SANDBOX_NAME", &name)
        .env("BERTH_SANDBOX_BIND", bind.join(" "))
        .env("BERTH_SANDBOX_TMPFS", "/var/lib/berth")
        .status()
        .expect("the harness runs");
    assert!(status.success(), "the bench failed inside the sandbox");
    // The harness keeps its state directory (console log) for a failed run to be read; after
    // a good one, nothing is left, once no mount is (its `stop` checks that too).
    let state = format!("/var/lib/berth-test/{name}");
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    assert!(
        !mounts.contains(&format!(" {state}/")),
        "mounts are left below {state}"
    );
    let _ = fs::remove_dir_all(&state);
}

pub struct Timing {
    pub median: Duration,
    pub min: Duration,
    pub p90: Duration,
}

impl Timing {
    pub fn of(mut times: Vec<Duration>) -> Timing {
        times.sort();
        Timing {
            median: times[times.len() / 2],
            min: times[0],
            p90: times[times.len() * 9 / 10],
        }
    }
}

/// One warm-up run (page cache, dentries), then `runs` timed ones.
pub fn time(runs: usize, mut f: impl FnMut()) -> Timing {
    f();
    Timing::of((0..runs).map(|_| timed(&mut f)).collect())
}

pub fn timed(mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The definition files a bench generated, and their size.
#[derive(Default)]
pub struct Generated {
    /// Regular files written, including shadowed ones.
    pub files: usize,
    pub bytes: usize,
    pub dropins: usize,
    /// Symlinks to /dev/null.
    pub masks: usize,
}

impl Generated {
    pub fn write(&mut self, path: &Path, text: &str) {
        fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        fs::write(path, text).expect("write");
        self.files += 1;
        self.bytes += text.len();
    }

    pub fn mask(&mut self, path: &Path) {
        fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::os::unix::fs::symlink("/dev/null", path).expect("symlink");
        self.masks += 1;
    }
}

/// A deterministic stream of choices (xorshift64*), so that every run generates the same
/// definitions.
pub struct Dice(pub u64);

impl Dice {
    /// The dice of container `i`.
    pub fn new(i: usize) -> Self {
        Dice(0x2545_f491_4f6c_dd1d ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}
