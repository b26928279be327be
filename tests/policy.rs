//! berth's SELinux policy modules (policy/) compile with the distribution's policy headers,
//! in seconds, before the VM tier loads them into an enforcing guest.
//!
//! Needs Debian's selinux-policy-dev (`scripts/deps test` installs it); without it the test
//! fails under CI=true and says SKIP otherwise.

use std::fs;
use std::path::Path;
use std::process::Command;

const MAKEFILE: &str = "/usr/share/selinux/devel/Makefile";

#[test]
fn the_policy_modules_compile() {
    if !Path::new(MAKEFILE).exists() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{MAKEFILE} is missing: install selinux-policy-dev (scripts/deps test)");
        }
        eprintln!("SKIP the policy build: {MAKEFILE} is missing (selinux-policy-dev)");
        return;
    }
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("policy");
    let dir = std::env::temp_dir().join(format!("berth-policy-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for entry in fs::read_dir(&policy).unwrap().flatten() {
        let path = entry.path();
        if path
            .extension()
            .is_some_and(|e| e == "te" || e == "fc" || e == "if")
        {
            fs::copy(&path, dir.join(entry.file_name())).unwrap();
        }
    }
    // berth-container-types first: berth needs its types (container-selinux's on Fedora).
    for module in ["berth-container-types", "berth"] {
        let out = Command::new("make")
            .args(["-f", MAKEFILE, &format!("{module}.pp")])
            .current_dir(&dir)
            .output()
            .expect("make runs");
        assert!(
            out.status.success(),
            "{module}.pp does not build:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(dir.join(format!("{module}.pp")).is_file());
    }
    fs::remove_dir_all(&dir).unwrap();
}
