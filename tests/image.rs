//! System tests of image containers and boot mode: a small Debian image built with mmdebstrap
//! (cached under the target directory), imported, shared by two containers; and booted
//! containers, an image one and a host one, with systemd inside, reached through machined.
//!
//! Run inside a real systemd like tests/system.rs; the image is built on the host first.

mod common;

use std::fs;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{berth, berth_ok, define, leader, mountinfo, sh};

#[test]
fn images_and_boot_mode_in_a_real_systemd() {
    common::assert_on_the_host("the image and boot tests");
    if let Err(why) = common::build_test_image() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the test image cannot be built: {why}");
        }
        eprintln!("SKIP the image and boot tests: {why}");
        return;
    }
    common::rerun_in_sandbox("the image and boot tests", &["--ignored"]);
}

/// A command that talks to a container's own bus. Under SELinux it must run at s0: a root
/// login's s0-s0:c0.c1023 would give the container's end of the connection a level that the
/// container's processes may not read (machined, at s0, has no such trouble).
fn to_container_bus(cmd: &str) -> String {
    if Path::new("/sys/fs/selinux/enforce").exists() {
        format!("runcon -l s0 {cmd}")
    } else {
        cmd.to_owned()
    }
}

fn exec(name: &str, script: &str) -> (i32, String) {
    let out = berth(&["exec", name, "/bin/sh", "-c", script]);
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Imports the test image as `image`, unless it is there.
fn import_once(image: &str) {
    if !Path::new("/var/lib/berth/images").join(image).is_dir() {
        berth_ok(&[
            "image",
            "import",
            common::test_image_tarball().to_str().unwrap(),
            image,
        ]);
    }
}

fn assert_gone(name: &str, mounts_before: &[String]) {
    let units = sh("systemctl list-units --all --no-legend 'berth-*.scope'");
    assert!(!units.contains(&format!("berth-{name}.scope")), "{units}");
    let machines = sh("machinectl list --no-legend");
    assert!(!machines.contains(name), "{machines}");
    assert!(!Path::new(&format!("/run/berth/{name}")).exists());
    assert_eq!(mountinfo(), mounts_before, "the host's mount table changed");
}

#[test]
#[ignore = "runs inside a real systemd"]
fn containers_share_an_image_and_write_only_their_own_layers() {
    common::assert_systemd_is_pid1();
    import_once("shared");
    let listed: serde_json::Value =
        serde_json::from_str(&berth_ok(&["image", "list", "--json"])).unwrap();
    common::assert_documented_json("image list", &listed);
    let shared = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "shared")
        .expect("listed");
    assert!(shared["bytes"].as_u64().unwrap() > 50 << 20, "{listed}");

    let app =
        "kind = \"image\"\nimage = \"shared\"\n[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n";
    define("img-a", app);
    define("img-b", app);
    berth_ok(&["start", "img-a"]);
    berth_ok(&["start", "img-b"]);
    let (code, out) = exec("img-a", "echo mine > /root/written-by-a; rm /etc/issue; cat /etc/hostname; grep -c . /etc/machine-id");
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["img-a", "1"]);
    let (code, out) = exec(
        "img-b",
        "ls /root; cat /etc/issue >/dev/null && echo issue-there; cat /etc/hostname",
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["issue-there", "img-b"],
        "b sees none of a's changes"
    );
    let image = Path::new("/var/lib/berth/images/shared");
    assert!(
        !image.join("root/written-by-a").exists() && image.join("etc/issue").exists(),
        "the image is never written"
    );
    assert!(Path::new("/var/lib/berth/img-a/upper/root/written-by-a").exists());
    let machine_a = fs::read_to_string("/var/lib/berth/img-a/machine-id").unwrap();
    assert_ne!(
        machine_a,
        fs::read_to_string("/var/lib/berth/img-b/machine-id").unwrap()
    );

    let out = berth(&["image", "remove", "shared"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: image `shared` is used by `img-a`, `img-b`: stop and `berth reset` them first"
    );
    let out = berth(&["reset", "img-a"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a running container is not reset"
    );

    // Stopped, restarted: the layer is kept; reset drops it.
    berth_ok(&["restart", "img-a"]);
    assert_eq!(exec("img-a", "cat /root/written-by-a").1.trim(), "mine");
    berth_ok(&["stop", "img-a", "img-b"]);
    berth_ok(&["reset", "img-a"]);
    assert!(!Path::new("/var/lib/berth/img-a").exists());
    berth_ok(&["start", "img-a"]);
    let (_, out) = exec("img-a", "ls /root");
    assert_eq!(
        out.trim(),
        "",
        "a reset container starts from the image again"
    );
    berth_ok(&["stop", "img-a"]);
    berth_ok(&["reset", "img-a"]);
    berth_ok(&["reset", "img-b"]);
    berth_ok(&["image", "remove", "shared"]);
    assert!(!image.exists());
}

/// Boots a container and waits until its systemd is up; returns what is-system-running says.
fn boot(name: &str) -> String {
    berth_ok(&["start", name]);
    let pid = leader(name);
    // `systemctl -M` needs the container's bus, which comes up a little after its init.
    let socket = format!("/proc/{pid}/root/run/dbus/system_bus_socket");
    // Generous: under the VM tier's emulation a boot takes tens of seconds.
    let deadline = Instant::now() + Duration::from_secs(300);
    while !Path::new(&socket).exists() {
        assert!(Instant::now() < deadline, "{name}'s D-Bus did not come up");
        sleep(Duration::from_millis(50));
    }
    let state = sh(&to_container_bus(&format!(
        "timeout 300 systemctl -M {name} is-system-running --wait"
    )));
    let failed = sh(&to_container_bus(&format!(
        "systemctl -M {name} --failed --no-pager --no-legend"
    )));
    eprintln!(
        "{name}: {}; failed units: {}",
        state.trim(),
        if failed.trim().is_empty() {
            "none"
        } else {
            failed.trim()
        }
    );
    state.trim().to_owned()
}

fn check_booted(name: &str) {
    let mounts = mountinfo();
    let state = boot(name);
    assert!(
        state == "running" || state == "degraded",
        "{name} is {state}"
    );
    // The Container Interface, from inside.
    let (code, out) = exec(
        name,
        "cat /run/host/container-manager; tr '\\0' '\\n' < /proc/1/environ | grep ^container=",
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["berth", "container=berth"]
    );
    let (_, out) = exec(name, "touch /sys/x; echo x > /proc/sys/kernel/hostname");
    assert_eq!(out.matches("Read-only file system").count(), 2, "{out}");
    // machined and the container's own systemd, reached from the host.
    let shell = sh(&format!(
        "timeout 30 machinectl shell {name} /bin/sh -c 'echo from-inside' </dev/null"
    ));
    assert!(shell.contains("from-inside"), "{shell}");
    // A getty inside answers `machinectl login`; ^] three times ends the session.
    let login = sh(&format!(
        "(sleep 3; printf '\\035\\035\\035') | timeout 30 script -qec 'machinectl login {name}' /dev/null"
    ));
    assert!(login.contains(&format!("{name} login:")), "{login}");
    let status = sh(&to_container_bus(&format!(
        "systemctl -M {name} status --no-pager"
    )));
    assert!(
        status.contains(name) || status.contains("State:"),
        "{status}"
    );
    let machine = sh(&format!(
        "machinectl show {name} -p Class -p Service -p Leader"
    ));
    assert!(
        machine.contains("Class=container") && machine.contains("Service=berth"),
        "{machine}"
    );
    // A clean shutdown by the container's own init.
    let started = Instant::now();
    berth_ok(&["stop", name]);
    eprintln!("{name} shut down in {:?}", started.elapsed());
    let last = common::status_json(name);
    assert_eq!(
        last["last_exit"]["signal"],
        libc::SIGINT,
        "halted by its init: {last}"
    );
    assert_gone(name, &mounts);
}

#[test]
#[ignore = "runs inside a real systemd"]
fn an_image_container_boots_its_systemd() {
    common::assert_systemd_is_pid1();
    import_once("debian");
    define(
        "boot-image",
        "kind = \"image\"\nimage = \"debian\"\nmode = \"boot\"\n",
    );
    check_booted("boot-image");
    berth_ok(&["reset", "boot-image"]);
}

#[test]
#[ignore = "runs inside a real systemd"]
fn a_host_container_boots_the_hosts_systemd() {
    common::assert_systemd_is_pid1();
    define("boot-host", "mode = \"boot\"\n");
    check_booted("boot-host");
}
