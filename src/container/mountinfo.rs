//! Reading /proc/PID/mountinfo (proc(5)): which mounts lie below a path, and which cgroup
//! hierarchies a host mounts. Pure functions over the text, tested on fixtures.

use std::path::{Path, PathBuf};

/// One line of mountinfo, the fields berth reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub mount_point: PathBuf,
    pub fstype: String,
    pub super_options: String,
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let octal = std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(octal, 8) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let mount_point = unescape(before.split(' ').nth(4)?);
            let mut fields = after.split(' ');
            let fstype = fields.next()?.to_owned();
            let super_options = fields.nth(1).unwrap_or("").to_owned();
            Some(Mount {
                mount_point: PathBuf::from(mount_point),
                fstype,
                super_options,
            })
        })
        .collect()
}

/// The mount points at or below `top`, in mount order (parents before their children).
pub fn mount_points_under(mountinfo: &str, top: &Path) -> Vec<PathBuf> {
    let mut seen = Vec::new();
    for m in parse(mountinfo) {
        if m.mount_point.starts_with(top) && !seen.contains(&m.mount_point) {
            seen.push(m.mount_point);
        }
    }
    seen
}

#[derive(Debug, PartialEq, Eq)]
pub struct Hierarchy {
    /// Below /sys/fs/cgroup; empty for a unified host.
    pub relative: String,
    pub fstype: String,
    /// The controllers of a v1 hierarchy, e.g. "memory" or "none,name=systemd".
    pub options: Option<String>,
}

impl Hierarchy {
    /// What an init system in the container writes to: the unified hierarchy, and systemd's
    /// own named one on a legacy or hybrid host.
    pub fn is_init_systems(&self) -> bool {
        self.fstype == "cgroup2"
            || self
                .options
                .as_deref()
                .is_some_and(|o| o.split(',').any(|o| o == "name=systemd"))
    }
}

/// The cgroup file systems mounted under /sys/fs/cgroup.
pub fn cgroup_hierarchies(mountinfo: &str) -> Vec<Hierarchy> {
    parse(mountinfo)
        .into_iter()
        .filter_map(|m| {
            let relative = if m.mount_point == Path::new("/sys/fs/cgroup") {
                String::new()
            } else {
                m.mount_point
                    .strip_prefix("/sys/fs/cgroup/")
                    .ok()?
                    .to_string_lossy()
                    .into_owned()
            };
            match m.fstype.as_str() {
                "cgroup2" => Some(Hierarchy {
                    relative,
                    fstype: m.fstype,
                    options: None,
                }),
                "cgroup" => {
                    let controllers: Vec<&str> = m
                        .super_options
                        .split(',')
                        .filter(|o| {
                            !matches!(*o, "rw" | "ro" | "clone_children") && !o.contains("agent")
                        })
                        .collect();
                    let mut options = controllers.join(",");
                    if options.starts_with("name=") {
                        options = format!("none,{options}");
                    }
                    Some(Hierarchy {
                        relative,
                        fstype: m.fstype,
                        options: Some(options),
                    })
                }
                _ => None,
            }
        })
        .collect()
}

/// The path of this process's cgroup in the v1 hierarchy with `options` (as in
/// [`Hierarchy::options`]), from /proc/self/cgroup.
pub fn own_v1_cgroup<'a>(proc_cgroup: &'a str, options: &str) -> Option<&'a str> {
    let wanted: Vec<&str> = options
        .split(',')
        .filter(|o| *o != "none" && *o != "xattr")
        .collect();
    proc_cgroup.lines().find_map(|line| {
        let mut f = line.splitn(3, ':');
        let (_, controllers, path) = (f.next()?, f.next()?, f.next()?);
        let have: Vec<&str> = controllers.split(',').collect();
        (!controllers.is_empty()
            && wanted.iter().all(|w| have.contains(w))
            && have.len() == wanted.len())
        .then_some(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "24 1 0:22 / /sys rw shared:7 - sysfs sysfs rw\n\
        30 24 0:26 / /sys/fs/cgroup ro shared:9 - tmpfs tmpfs ro,mode=755\n\
        31 30 0:27 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw,nsdelegate\n\
        32 30 0:28 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,xattr,name=systemd\n\
        33 30 0:29 / /sys/fs/cgroup/memory rw shared:12 - cgroup cgroup rw,memory\n\
        34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw shared:13 - cgroup cgroup rw,cpu,cpuacct\n\
        40 1 0:40 / /srv/with\\040space rw - tmpfs tmpfs rw\n\
        41 40 0:41 / /srv/with\\040space/inner rw - tmpfs tmpfs rw\n";

    #[test]
    fn hierarchies_of_a_hybrid_host() {
        let h = cgroup_hierarchies(HYBRID);
        assert_eq!(h.len(), 4);
        assert_eq!(
            h[0],
            Hierarchy {
                relative: "unified".into(),
                fstype: "cgroup2".into(),
                options: None
            }
        );
        assert_eq!(h[1].options.as_deref(), Some("xattr,name=systemd"));
        assert_eq!(h[2].options.as_deref(), Some("memory"));
        assert_eq!(h[3].relative, "cpu,cpuacct");
        assert_eq!(h[3].options.as_deref(), Some("cpu,cpuacct"));
    }

    #[test]
    fn hierarchies_of_a_unified_host() {
        let m = "30 24 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            cgroup_hierarchies(m),
            [Hierarchy {
                relative: String::new(),
                fstype: "cgroup2".into(),
                options: None
            }]
        );
    }

    #[test]
    fn mounts_below_a_path_with_escapes() {
        assert_eq!(
            mount_points_under(HYBRID, Path::new("/srv/with space")),
            [
                PathBuf::from("/srv/with space"),
                PathBuf::from("/srv/with space/inner")
            ]
        );
        assert_eq!(
            mount_points_under(HYBRID, Path::new("/sys/fs/cgroup")).len(),
            5
        );
        assert!(mount_points_under(HYBRID, Path::new("/nope")).is_empty());
    }

    #[test]
    fn own_cgroups_by_controllers() {
        let cg = "9:name=systemd:/berth.slice/berth-a.scope\n4:memory:/berth.slice/berth-a.scope\n\
                  3:cpu,cpuacct:/berth.slice/berth-a.scope\n2:cpu:/other\n0::/berth.slice/berth-a.scope\n";
        assert_eq!(
            own_v1_cgroup(cg, "memory"),
            Some("/berth.slice/berth-a.scope")
        );
        assert_eq!(
            own_v1_cgroup(cg, "none,xattr,name=systemd"),
            Some("/berth.slice/berth-a.scope")
        );
        assert_eq!(
            own_v1_cgroup(cg, "cpu,cpuacct"),
            Some("/berth.slice/berth-a.scope")
        );
        assert_eq!(own_v1_cgroup(cg, "cpu"), Some("/other"));
        assert_eq!(own_v1_cgroup(cg, "pids"), None);
    }
}
