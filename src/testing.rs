//! Fixtures for the unit tests.

use std::fs;
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// A directory tree of its own for one test, under the system's temporary directory: made
/// afresh (with these subdirectories), removed when the test ends.
pub struct TempTree(PathBuf);

impl TempTree {
    /// `berth-TAG-PID`: the PID keeps concurrent test runs apart, the tag the tests of one run.
    pub fn new(tag: &str, dirs: &[&str]) -> TempTree {
        let root = std::env::temp_dir().join(format!("berth-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for d in dirs {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        TempTree(root)
    }

    /// Writes `text` to `rel`, with the directories leading to it.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.0.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        p
    }
}

impl Deref for TempTree {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
