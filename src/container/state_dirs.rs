//! A container's persistent directory, `/var/lib/berth/NAME`: its private /etc (seeded from the
//! host's on first start) and /var.

use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use super::plan::{self, Grants, HostLayout};
use super::tree_copy::copy_tree;
use super::{id_shift, labelling};
use crate::definition::model::{Definition, EtcMode, ImageSource, Kind, VarMode};
use crate::store::{At, IoError};

/// Host /etc entries that a container's /etc does not take over as they are.
pub const NOT_COPIED: [(&str, &str); 11] = [
    (
        "machine-id",
        "written afresh: every container is a machine of its own",
    ),
    ("hostname", "written with the container's host name"),
    (
        "mtab",
        "a symlink to ../proc/self/mounts, the container's own mounts",
    ),
    ("fstab", "emptied: a container mounts nothing from it"),
    (
        "crypttab",
        "left out: the host's encrypted volumes are not the container's",
    ),
    ("machine-info", "left out: describes the host"),
    ("adjtime", "left out: the container does not own the clock"),
    (".pwd.lock", "left out: a lock file"),
    (
        "berth",
        "left out: berth's own configuration stays on the host",
    ),
    (
        "systemd/system",
        "left out: the host's own units and their enablement",
    ),
    (
        "selinux",
        "left out: the host's SELinux policy (tens of megabytes on Fedora and RHEL, in every \
         container), which a container neither loads nor changes: berth labels its processes \
         and files",
    ),
];

pub fn is_not_copied(relative: &Path) -> bool {
    NOT_COPIED.iter().any(|(p, _)| relative == Path::new(p))
}

/// What a start creates in the container's persistent directory. Each path is recorded
/// before it is made, so that a start that fails, however far it got, removes exactly what it
/// made, and never what was there before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prepared {
    pub created: Vec<PathBuf>,
}

impl Prepared {
    /// Whether `path` is to be made, because nothing usable is there. Recorded first as this
    /// start's, unless something (a dangling symlink) is there all the same.
    fn will_make(&mut self, path: &Path) -> bool {
        if path.exists() {
            return false;
        }
        if matches!(fs::symlink_metadata(path), Err(e) if e.kind() == io::ErrorKind::NotFound) {
            self.created.push(path.to_owned());
        }
        true
    }
}

/// Makes the container's persistent directory, if it has one: seeds /etc and makes /var (a
/// host container), makes the writable layer (an image container), and gives the tree to the
/// container: owned by its user namespace range (or by the host's IDs, which idmapped mounts
/// map to it, see [`Grants::owner_on_disk`]), labelled with its SELinux label. Both are
/// checked on every start, so a changed range, a change between chown and idmapped mounts, or
/// a changed level is applied. Records in `prepared` what it is about to create; returns the
/// container's machine ID (32 hex digits; kept in the persistent directory, new at every start
/// without one).
pub fn prepare_state_dirs(
    def: &Definition,
    layout: &HostLayout,
    grants: &Grants,
    prepared: &mut Prepared,
) -> Result<String, IoError> {
    let image = plan::image_root(def, &layout.images);
    let persistent_etc = image.is_none() && def.filesystem.etc == EtcMode::Persistent;
    let persistent_var = image.is_none() && def.filesystem.var == VarMode::Persistent;
    if image.is_none() && !persistent_etc && !persistent_var {
        return random_machine_id();
    }
    let dir = &layout.state_dir;
    if prepared.will_make(dir) {
        fs::create_dir_all(dir).at("create", dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).at("chmod", dir)?;
    }
    let machine_id = persistent_machine_id(dir, prepared)?;
    if persistent_etc {
        let etc = dir.join("etc");
        if !etc.exists() {
            // Its staging copy too, recorded first so that it goes after the tree renamed
            // from it.
            prepared.will_make(&staging(&etc));
            prepared.will_make(&etc);
            seed_etc(Path::new("/etc"), &etc, &def.hostname, &machine_id)?;
        }
    }
    if persistent_var {
        let var = dir.join("var");
        if prepared.will_make(&var) {
            make_var(&var)?;
        }
    }
    if let Some(lower) = image {
        make_layer(def, dir, &lower, prepared)?;
    }
    id_shift::shift_tree(dir, grants.owner_on_disk())
        .map_err(|e| IoError::new("give the container its IDs in", dir, io::Error::other(e)))?;
    if let Some(labels) = &grants.labels {
        for sub in ["etc", "var", "upper", "work"] {
            let path = dir.join(sub);
            if path.exists() {
                labelling::relabel_tree(&path, &labels.file)
                    .map_err(|e| IoError::new("label", &path, io::Error::other(e)))?;
            }
        }
    }
    Ok(machine_id)
}

/// The machine ID a persistent container keeps: `DIR/machine-id`, made on its first start
/// (taken over from its /etc where an older berth seeded only that).
fn persistent_machine_id(dir: &Path, prepared: &mut Prepared) -> Result<String, IoError> {
    let file = dir.join("machine-id");
    for candidate in [&file, &dir.join("etc/machine-id")] {
        if let Ok(id) = fs::read_to_string(candidate) {
            let id = id.trim();
            if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                if candidate != &file {
                    prepared.will_make(&file);
                    write(&file, &format!("{id}\n"))?;
                }
                return Ok(id.to_owned());
            }
        }
    }
    let id = random_machine_id()?;
    prepared.will_make(&file);
    write(&file, &format!("{id}\n"))?;
    Ok(id)
}

/// An image container's writable layer: `upper` and overlayfs' `work`, on the same file
/// system, and the record of the image the layer belongs to.
fn make_layer(
    def: &Definition,
    dir: &Path,
    lower: &Path,
    prepared: &mut Prepared,
) -> Result<(), IoError> {
    let record = dir.join("image");
    let image = match &def.kind {
        Kind::Image(ImageSource::Named(name)) => name.clone(),
        _ => lower.display().to_string(),
    };
    match fs::read_to_string(&record) {
        Ok(old) if old.trim() != image => {
            return Err(IoError::new(
                "use the layer in",
                dir,
                io::Error::other(format!(
                    "it was made on image `{}`, not `{image}`; `berth reset {}` drops it",
                    old.trim(),
                    def.name
                )),
            ))
        }
        Ok(_) => {}
        Err(_) => {
            prepared.will_make(&record);
            write(&record, &format!("{image}\n"))?;
        }
    }
    for sub in ["upper", "work"] {
        let path = dir.join(sub);
        if prepared.will_make(&path) {
            fs::create_dir(&path).at("create", &path)?;
        }
    }
    Ok(())
}

/// With a user namespace, a volatile /etc is seeded here, in the runtime directory, and given
/// to the container's IDs (chowned, or mapped by an idmapped mount): inside, the host's files
/// would belong to nobody. It goes with the runtime directory when the container stops.
pub fn prepare_runtime_dirs(
    def: &Definition,
    layout: &HostLayout,
    grants: &Grants,
    machine_id: &str,
) -> Result<(), IoError> {
    if def.filesystem.etc != EtcMode::Volatile || grants.user_namespace.is_none() {
        return Ok(());
    }
    let etc = layout.runtime_dir.join("etc");
    seed_etc(Path::new("/etc"), &etc, &def.hostname, machine_id)?;
    id_shift::shift_tree(&etc, grants.owner_on_disk())
        .map_err(|e| IoError::new("give the container its IDs in", &etc, io::Error::other(e)))?;
    if let Some(labels) = &grants.labels {
        labelling::relabel_tree(&etc, &labels.file)
            .map_err(|e| IoError::new("label", &etc, io::Error::other(e)))?;
    }
    Ok(())
}

/// Removes what [`prepare_state_dirs`] created, or was about to, newest first.
pub fn remove_created(prepared: &Prepared) -> Result<(), IoError> {
    for path in prepared.created.iter().rev() {
        let removed = match fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(path),
            Ok(_) => fs::remove_file(path),
            Err(e) => Err(e),
        };
        match removed {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(IoError::new("remove", path, e))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Copies the host's /etc into `target` by way of `target.new`, renamed into place when
/// complete: a crash leaves only `etc.new`, which the next start removes.
pub fn seed_etc(
    host_etc: &Path,
    target: &Path,
    hostname: &str,
    machine_id: &str,
) -> Result<(), IoError> {
    let staging = staging(target);
    if staging.exists() {
        fs::remove_dir_all(&staging).at("remove the leftover", &staging)?;
    }
    copy_tree(host_etc, &staging).map_err(|e| IoError::new("seed", target, io::Error::other(e)))?;
    make_etc_own(&staging, hostname, machine_id)?;
    fs::rename(&staging, target).at("rename into place", target)
}

/// Where [`seed_etc`] copies to before the copy is complete.
fn staging(target: &Path) -> PathBuf {
    target.with_extension("new")
}

/// Makes a copy of the host's /etc the container's: what is the host's alone goes (see
/// [`NOT_COPIED`]), the container's host name and machine ID come in.
pub fn make_etc_own(etc: &Path, hostname: &str, machine_id: &str) -> Result<(), IoError> {
    for (rel, _) in NOT_COPIED {
        let path = etc.join(rel);
        let removed = match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(&path),
            Ok(_) => fs::remove_file(&path),
            Err(_) => Ok(()),
        };
        removed.at("remove", &path)?;
    }
    write(&etc.join("hostname"), &format!("{hostname}\n"))?;
    write(&etc.join("machine-id"), &format!("{machine_id}\n"))?;
    write(&etc.join("fstab"), "")?;
    let mtab = etc.join("mtab");
    symlink("../proc/self/mounts", &mtab).at("create", &mtab)
}

fn write(path: &Path, text: &str) -> Result<(), IoError> {
    fs::write(path, text).at("write", path)
}

pub fn random_machine_id() -> Result<String, IoError> {
    let path = Path::new("/proc/sys/kernel/random/uuid");
    let uuid = fs::read_to_string(path).at("read", path)?;
    Ok(uuid.trim().replace('-', ""))
}

/// The skeleton of an empty /var.
fn make_var(var: &Path) -> Result<(), IoError> {
    for (sub, mode) in [
        ("", 0o755),
        ("lib", 0o755),
        ("log", 0o755),
        ("cache", 0o755),
        ("spool", 0o755),
        ("tmp", 0o1777),
    ] {
        let dir = var.join(sub);
        fs::create_dir_all(&dir).at("create", &dir)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).at("chmod", &dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions() {
        assert!(is_not_copied(Path::new("machine-id")));
        assert!(is_not_copied(Path::new("systemd/system")));
        assert!(!is_not_copied(Path::new("passwd")));
        assert!(!is_not_copied(Path::new("resolv.conf")));
    }

    #[test]
    fn berth_toml_5_lists_what_is_not_copied() {
        let page = include_str!("../../man/berth.toml.5").replace("\\-", "-");
        for (path, _) in NOT_COPIED {
            assert!(
                page.contains(&format!("\\fI{path}\\fR")),
                "berth.toml(5) does not list /etc/{path} among what is not copied"
            );
        }
    }

    #[test]
    fn what_is_recorded_before_it_is_made_is_removed_and_nothing_else() {
        let base = std::env::temp_dir().join(format!("berth-prepared-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let old = base.join("old");
        fs::create_dir_all(&old).unwrap();
        let mut prepared = Prepared::default();
        assert!(!prepared.will_make(&old), "there before");
        let (made, file, never) = (old.join("made"), old.join("file"), old.join("never"));
        assert!(prepared.will_make(&made));
        fs::create_dir_all(made.join("sub")).unwrap();
        assert!(prepared.will_make(&file));
        fs::write(&file, "x").unwrap();
        assert!(
            prepared.will_make(&never),
            "recorded, then its making failed"
        );
        assert_eq!(prepared.created, [made, file, never]);
        remove_created(&prepared).unwrap();
        assert_eq!(
            fs::read_dir(&old).unwrap().count(),
            0,
            "all it made is gone"
        );
        assert!(old.is_dir(), "what was there before stays");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn seeding_is_complete_and_replaces_leftovers() {
        let base = std::env::temp_dir().join(format!("berth-seed-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let host = base.join("host-etc");
        fs::create_dir_all(host.join("systemd/system")).unwrap();
        fs::write(host.join("passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        fs::write(host.join("machine-id"), "host\n").unwrap();
        fs::write(host.join("fstab"), "/dev/sda1 / ext4\n").unwrap();
        let target = base.join("state/etc");
        fs::create_dir_all(base.join("state/etc.new/junk")).unwrap();
        seed_etc(&host, &target, "web", &"a".repeat(32)).unwrap();
        assert_eq!(
            fs::read_to_string(target.join("passwd")).unwrap(),
            "root:x:0:0::/root:/bin/sh\n"
        );
        assert_eq!(
            fs::read_to_string(target.join("hostname")).unwrap(),
            "web\n"
        );
        assert_eq!(fs::read_to_string(target.join("fstab")).unwrap(), "");
        assert_eq!(
            fs::read_to_string(target.join("machine-id")).unwrap(),
            format!("{}\n", "a".repeat(32))
        );
        assert_eq!(
            fs::read_link(target.join("mtab")).unwrap(),
            Path::new("../proc/self/mounts")
        );
        assert!(!target.join("systemd/system").exists());
        assert!(!base.join("state/etc.new").exists());
        fs::remove_dir_all(&base).unwrap();
    }
}
