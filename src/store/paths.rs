//! Where berth keeps things on the host.

use std::path::{Path, PathBuf};

use crate::name::Name;

/// The two roots of berth's host state, and the per-container files under them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Runtime state, gone at reboot: `/run/berth`.
    pub run: PathBuf,
    /// Persistent data: `/var/lib/berth`.
    pub lib: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            run: PathBuf::from("/run/berth"),
            lib: PathBuf::from("/var/lib/berth"),
        }
    }
}

impl Paths {
    /// `base/run` and `base/lib`: a whole host state in one directory, for tests.
    pub fn under(base: &Path) -> Paths {
        Paths {
            run: base.join("run"),
            lib: base.join("lib"),
        }
    }
    pub fn runtime_dir(&self, name: &Name) -> PathBuf {
        self.run.join(name.as_str())
    }
    pub fn state_dir(&self, name: &Name) -> PathBuf {
        self.lib.join(name.as_str())
    }
    pub fn state_file(&self, name: &Name) -> PathBuf {
        self.runtime_dir(name).join("state.json")
    }
    pub fn plan_file(&self, name: &Name) -> PathBuf {
        self.runtime_dir(name).join("plan.json")
    }
    /// Written by the container's init when the payload ends; kept after the container is gone
    /// so that `status` can say how it ended.
    pub fn exit_file(&self, name: &Name) -> PathBuf {
        self.run.join(format!("{name}.exit.json"))
    }
    pub fn lock_file(&self, name: &Name) -> PathBuf {
        self.run.join(format!("{name}.lock"))
    }
}
