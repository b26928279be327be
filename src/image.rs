//! Images: read-only root trees under /var/lib/berth/images/NAME, imported from tarballs, that
//! any number of image containers share as the lower layer of their overlay root.
//!
//! An image is never written once imported: containers write into their own layer under
//! /var/lib/berth/CONTAINER, which records the image it sits on (`CONTAINER/image`), so that an
//! image with layers on it cannot be removed from under them.

use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::name::Name;
use crate::store::{now_usec, write_json_atomic, At, FileLock, IoError, LockKind, Paths};

/// What `berth image list` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    pub name: String,
    /// The tarball it was imported from.
    pub source: String,
    /// Realtime microseconds.
    pub imported_usec: u64,
    /// Disk space the tree takes.
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("image `{0}` already exists; remove it first (berth image remove {0})")]
    Exists(String),
    #[error("no image `{0}`; `berth image list` shows the imported ones")]
    NotFound(String),
    #[error("cannot unpack {tarball}: tar failed ({status}): {stderr}")]
    Unpack {
        tarball: PathBuf,
        status: String,
        stderr: String,
    },
    #[error("{tarball} does not hold a root tree: there is no {missing} at its top")]
    NotARoot {
        tarball: PathBuf,
        missing: &'static str,
    },
    #[error(
        "image `{image}` is used by {}: stop and `berth reset` them first",
        .containers.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
    )]
    InUse {
        image: String,
        containers: Vec<String>,
    },
    #[error(transparent)]
    Fault(#[from] crate::fault::Injected),
}

pub struct Store {
    dir: PathBuf,
    paths: Paths,
}

/// Held while an image is imported or removed; imports that a killed berth left half-done are
/// removed by whoever takes it next.
struct StoreLock {
    lock: FileLock,
}

impl Store {
    pub fn new(paths: &Paths) -> Store {
        Store {
            dir: paths.lib.join("images"),
            paths: paths.clone(),
        }
    }

    pub fn path(&self, name: &Name) -> PathBuf {
        self.dir.join(name.as_str())
    }

    fn info_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    fn partial_path(&self, name: &Name) -> PathBuf {
        self.dir.join(format!(".{name}.partial"))
    }

    fn lock(&self) -> Result<StoreLock, ImageError> {
        let lock = FileLock::acquire(&self.dir.join(".lock"), LockKind::Exclusive, || {})?;
        // Nobody else imports while this is held: any partial tree is a dead import's.
        for entry in fs::read_dir(&self.dir).at("read", &self.dir)?.flatten() {
            let file_name = entry.file_name();
            let n = file_name.to_string_lossy();
            if n.starts_with('.') && n.ends_with(".partial") {
                let p = entry.path();
                fs::remove_dir_all(&p).at("remove the unfinished import", &p)?;
            }
            // An import killed between writing its description and moving its tree into place.
            if let Some(image) = n.strip_suffix(".json") {
                if !n.starts_with('.') && !self.dir.join(image).exists() {
                    let p = entry.path();
                    fs::remove_file(&p).at("remove the unfinished import", &p)?;
                }
            }
        }
        Ok(StoreLock { lock })
    }

    /// Unpacks `tarball` (plain or compressed, as tar(1) recognises) as image `name`.
    pub fn import(&self, tarball: &Path, name: &Name) -> Result<ImageInfo, ImageError> {
        fs::metadata(tarball).at("read", tarball)?;
        let lock = self.lock()?;
        if self.path(name).exists() {
            return Err(ImageError::Exists(name.to_string()));
        }
        let partial = self.partial_path(name);
        crate::fault::point("image.partial")?;
        fs::create_dir(&partial).at("create", &partial)?;
        let info_path = self.info_path(name.as_str());
        let result = self.finish_import(tarball, name, &partial, &lock);
        if result.is_err() {
            let _ = fs::remove_dir_all(&partial);
            let _ = fs::remove_file(&info_path);
        }
        result
    }

    /// Unpacks into `partial`, describes it, and moves it into place as image `name`.
    fn finish_import(
        &self,
        tarball: &Path,
        name: &Name,
        partial: &Path,
        lock: &StoreLock,
    ) -> Result<ImageInfo, ImageError> {
        crate::fault::point("image.unpack")?;
        unpack(tarball, partial, lock)?;
        check_root(tarball, partial)?;
        label_for_containers(partial)?;
        let info = ImageInfo {
            name: name.to_string(),
            source: tarball
                .canonicalize()
                .unwrap_or_else(|_| tarball.to_owned())
                .display()
                .to_string(),
            imported_usec: now_usec(),
            bytes: disk_usage(partial),
        };
        let info_path = self.info_path(name.as_str());
        crate::fault::point("image.info")?;
        write_json_atomic(&info_path, &info)
            .map_err(io::Error::other)
            .at("write", &info_path)?;
        let target = self.path(name);
        crate::fault::point("image.rename")?;
        fs::rename(partial, &target).at("move into place", &target)?;
        Ok(info)
    }

    /// The imported images, by name.
    pub fn list(&self) -> Result<Vec<ImageInfo>, ImageError> {
        let mut images = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(images),
            Err(e) => return Err(IoError::new("read", &self.dir, e).into()),
        };
        for entry in entries.flatten() {
            let n = entry.file_name().to_string_lossy().into_owned();
            if n.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let info = fs::read(self.info_path(&n))
                .ok()
                .and_then(|t| serde_json::from_slice(&t).ok())
                .unwrap_or_else(|| ImageInfo {
                    name: n.clone(),
                    source: String::new(),
                    imported_usec: 0,
                    bytes: disk_usage(&entry.path()),
                });
            images.push(info);
        }
        images.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(images)
    }

    /// Removes image `name`, unless a container's layer sits on it.
    pub fn remove(&self, name: &Name) -> Result<(), ImageError> {
        let _lock = self.lock()?;
        let path = self.path(name);
        if !path.exists() {
            return Err(ImageError::NotFound(name.to_string()));
        }
        let containers = users(&self.paths, name.as_str());
        if !containers.is_empty() {
            return Err(ImageError::InUse {
                image: name.to_string(),
                containers,
            });
        }
        // Renamed first, so that a crash in the middle leaves a partial tree the next lock
        // removes, never a half image under its name.
        let doomed = self.partial_path(name);
        fs::rename(&path, &doomed).at("move away", &path)?;
        let _ = fs::remove_file(self.info_path(name.as_str()));
        fs::remove_dir_all(&doomed).at("remove", &doomed)?;
        Ok(())
    }
}

/// The record a container's layer keeps of its image: /var/lib/berth/CONTAINER/image.
pub fn layer_image_file(paths: &Paths, container: &Name) -> PathBuf {
    paths.state_dir(container).join("image")
}

/// Containers whose layer sits on image `name`.
pub fn users(paths: &Paths, image: &str) -> Vec<String> {
    let mut users: Vec<String> = fs::read_dir(&paths.lib)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name() != "images")
        .filter(|e| fs::read_to_string(e.path().join("image")).is_ok_and(|i| i.trim() == image))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    users.sort();
    users
}

/// Runs tar to unpack; tar holds the store's lock too, so that a berth killed mid-import
/// leaves no tar writing into a tree the next import removes, and dies with berth.
fn unpack(tarball: &Path, into: &Path, lock: &StoreLock) -> Result<(), ImageError> {
    let lock_fd = lock.lock.as_raw_fd();
    let mut cmd = Command::new("tar");
    cmd.arg("--extract")
        .arg("--file")
        .arg(tarball)
        .arg("--directory")
        .arg(into)
        .args([
            "--numeric-owner",
            "--same-permissions",
            "--same-owner",
            "--xattrs",
            "--xattrs-include=*",
            "--acls",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec the closure only calls prctl and fcntl, which are
    // async-signal-safe; `lock_fd` is open in the parent for as long as the child runs.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0
                || libc::fcntl(lock_fd, libc::F_SETFD, 0) != 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().at("run tar to unpack", tarball)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ImageError::Unpack {
            tarball: tarball.to_owned(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr)
                .trim()
                .lines()
                .take(5)
                .collect::<Vec<_>>()
                .join("; "),
        })
    }
}

/// The label of an image where SELinux is on: any container's level dominates s0, so every
/// container may read it (and none write it: its writes go to its own layer).
pub const IMAGE_LABEL: &str = "system_u:object_r:container_file_t:s0";

fn label_for_containers(tree: &Path) -> Result<(), ImageError> {
    if !crate::security::selinux::HostSelinux::probe().is_enabled() {
        return Ok(());
    }
    crate::container::labelling::relabel_tree(tree, IMAGE_LABEL)
        .map_err(io::Error::other)
        .at("label", tree)?;
    Ok(())
}

/// A root tree has /usr and /etc at its top (merged-/usr or not).
fn check_root(tarball: &Path, tree: &Path) -> Result<(), ImageError> {
    for missing in ["usr", "etc"] {
        if !fs::symlink_metadata(tree.join(missing)).is_ok_and(|m| m.is_dir()) {
            return Err(ImageError::NotARoot {
                tarball: tarball.to_owned(),
                missing: if missing == "usr" { "/usr" } else { "/etc" },
            });
        }
    }
    Ok(())
}

/// Bytes of disk a tree takes, hard links counted once.
fn disk_usage(tree: &Path) -> u64 {
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![tree.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            }
            if meta.nlink() <= 1 || seen.insert((meta.dev(), meta.ino())) {
                total += meta.blocks() * 512;
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(base: &Path) -> Store {
        Store::new(&Paths::under(base))
    }

    fn tarball(base: &Path, with_usr: bool) -> PathBuf {
        let tree = base.join(if with_usr { "tree" } else { "bad-tree" });
        fs::create_dir_all(tree.join("etc")).unwrap();
        if with_usr {
            fs::create_dir_all(tree.join("usr/bin")).unwrap();
            fs::write(tree.join("usr/bin/hello"), "#!/bin/sh\n").unwrap();
        }
        let tar = base.join(if with_usr { "root.tar.gz" } else { "bad.tar" });
        let status = Command::new("tar")
            .arg("-czf")
            .arg(&tar)
            .arg("-C")
            .arg(&tree)
            .arg(".")
            .status()
            .unwrap();
        assert!(status.success());
        tar
    }

    #[test]
    fn import_list_remove() {
        let base = std::env::temp_dir().join(format!("berth-image-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).unwrap();
        let s = store(&base);
        let name = Name::new("deb").unwrap();
        let info = s.import(&tarball(&base, true), &name).unwrap();
        assert_eq!(info.name, "deb");
        assert!(s.path(&name).join("usr/bin/hello").is_file());
        assert!(matches!(
            s.import(&tarball(&base, true), &name),
            Err(ImageError::Exists(_))
        ));
        assert_eq!(
            s.list()
                .unwrap()
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>(),
            ["deb"]
        );

        let bad = s
            .import(&tarball(&base, false), &Name::new("bad").unwrap())
            .unwrap_err();
        assert!(
            bad.to_string()
                .ends_with("does not hold a root tree: there is no /usr at its top"),
            "{bad}"
        );
        assert!(
            !base.join("lib/images/.bad.partial").exists(),
            "nothing left of a failed import"
        );

        // A container's layer on it keeps it.
        let layer = base.join("lib/web");
        fs::create_dir_all(&layer).unwrap();
        fs::write(layer.join("image"), "deb\n").unwrap();
        assert_eq!(
            s.remove(&name).unwrap_err().to_string(),
            "image `deb` is used by `web`: stop and `berth reset` them first"
        );
        fs::remove_dir_all(&layer).unwrap();
        s.remove(&name).unwrap();
        assert!(s.list().unwrap().is_empty());
        assert!(matches!(s.remove(&name), Err(ImageError::NotFound(_))));

        // What a killed import left is removed by the next one.
        fs::create_dir_all(base.join("lib/images/.x.partial/usr")).unwrap();
        s.import(&tarball(&base, true), &name).unwrap();
        assert!(!base.join("lib/images/.x.partial").exists());
        fs::remove_dir_all(&base).unwrap();
    }
}
