//! The limits of group slices on the host: a start gives the slices of its container's group
//! what the group files say, and `berth apply` brings the active slices up to date when a
//! group file changed.
//!
//! What a slice was given is recorded in `/run/berth/.groups/SLICE.digest` (no container name
//! starts with `.`, so this cannot be a container's runtime directory): apply compares it
//! with the group's files and touches only the slices whose files changed.

use std::fs;
use std::io;
use std::path::PathBuf;

use super::{Context, LifecycleError};
use crate::definition::group::{self, GroupError, LoadedGroup};
use crate::definition::model::Resources;
use crate::name::{unescape, Group};
use crate::store::At;
use crate::systemd::Systemd;
use crate::unit::{self, CgroupVersion, SlicePlan};

/// A slice planned from its group's files, with their digest (None: the group has no files).
#[derive(Debug, Clone)]
pub struct GroupSlice {
    pub group: Group,
    pub plan: SlicePlan,
    pub digest: Option<String>,
}

impl GroupSlice {
    fn of(group: &Group, loaded: Option<&LoadedGroup>, cgroup: CgroupVersion) -> GroupSlice {
        let none = Resources::default();
        let (description, resources) =
            loaded.map_or(("", &none), |l| (l.description.as_str(), &l.resources));
        GroupSlice {
            group: group.clone(),
            plan: unit::plan_slice(group, description, resources, cgroup),
            digest: loaded.map(LoadedGroup::digest),
        }
    }
}

/// The slices of `group` and of the groups it is nested in, outermost first, that have
/// group files.
pub fn plan_chain(
    ctx: &Context,
    group: &Group,
    cgroup: CgroupVersion,
) -> Result<Vec<GroupSlice>, GroupError> {
    let groups = group::search_path(&ctx.search);
    let text = group.to_string();
    let mut out = Vec::new();
    let mut prefix = String::new();
    for level in text.split('/') {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(level);
        let Ok(g) = Group::new(&prefix) else {
            continue;
        };
        if let Some(loaded) = group::load(&groups, &g)? {
            out.push(GroupSlice::of(&g, Some(&loaded), cgroup));
        }
    }
    Ok(out)
}

/// Gives the slice its limits and records that it has them.
pub fn set_up(ctx: &Context, systemd: &Systemd, slice: &GroupSlice) -> Result<(), LifecycleError> {
    systemd.set_up_slice(&slice.plan)?;
    record(ctx, slice)
}

fn record_file(ctx: &Context, unit: &str) -> PathBuf {
    ctx.paths.run.join(".groups").join(format!("{unit}.digest"))
}

fn record(ctx: &Context, slice: &GroupSlice) -> Result<(), LifecycleError> {
    let file = record_file(ctx, &slice.plan.unit);
    match &slice.digest {
        Some(digest) => {
            if let Some(dir) = file.parent() {
                fs::create_dir_all(dir).at("create", dir)?;
            }
            fs::write(&file, digest).at("write", &file)?;
        }
        None => match fs::remove_file(&file) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(crate::store::IoError::new("remove", &file, e).into())
            }
            _ => {}
        },
    }
    Ok(())
}

fn recorded(ctx: &Context, unit: &str) -> Option<String> {
    fs::read_to_string(record_file(ctx, unit)).ok()
}

/// What `berth apply` did (or would do) with one group's slice.
#[derive(Debug, Clone)]
pub struct Synced {
    pub group: Group,
    pub unit: String,
    /// What was done, or the error (an invalid group file's problems as `check` words them).
    pub result: Result<String, String>,
    pub warnings: Vec<String>,
}

/// Brings every active group slice to what its group's files say, where they changed since
/// the slice got its limits: new limits set, the ones taken out lifted. A slice that is not
/// active gets its limits when a container of the group starts. A dry run only says so.
pub fn sync(
    ctx: &Context,
    systemd: &Systemd,
    cgroup: CgroupVersion,
    dry_run: bool,
) -> Result<Vec<Synced>, LifecycleError> {
    let groups = group::search_path(&ctx.search);
    let mut out = Vec::new();
    for status in systemd.list_units("berth-*.slice")? {
        if !status.is_active() {
            continue;
        }
        let Some(group) = group_of_slice(&status.id) else {
            continue;
        };
        let slice = match group::load(&groups, &group) {
            Ok(loaded) => GroupSlice::of(&group, loaded.as_ref(), cgroup),
            Err(e) => {
                let mut text = String::new();
                if let GroupError::Invalid { problems, .. } = &e {
                    for p in problems {
                        text.push_str(&p.to_string());
                    }
                }
                text.push_str(&format!("{e}; its slice was not changed"));
                out.push(Synced {
                    group,
                    unit: status.id.clone(),
                    result: Err(text),
                    warnings: Vec::new(),
                });
                continue;
            }
        };
        if slice.digest == recorded(ctx, &slice.plan.unit) {
            continue;
        }
        let unit = slice.plan.unit.clone();
        let done = match (&slice.digest, dry_run) {
            (Some(_), true) => format!("would set the limits of group {group} on {unit}"),
            (None, true) => format!("would lift the limits of group {group} from {unit}"),
            (Some(_), false) => format!("set the limits of group {group} on {unit}"),
            (None, false) => format!("lifted the limits of group {group} from {unit}"),
        };
        let result = if dry_run {
            Ok(done)
        } else {
            systemd
                .set_unit_properties(&unit, true, &slice.plan.properties)
                .map_err(LifecycleError::from)
                .and_then(|()| record(ctx, &slice))
                .map(|()| done)
                .map_err(|e| e.to_string())
        };
        out.push(Synced {
            group,
            unit,
            result,
            warnings: slice.plan.warnings.clone(),
        });
    }
    Ok(out)
}

/// The group whose slice `berth-GROUP.slice` is; None for `berth.slice` and foreign units.
pub fn group_of_slice(unit: &str) -> Option<Group> {
    let escaped = unit.strip_prefix("berth-")?.strip_suffix(".slice")?;
    Group::new(&unescape(escaped)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_name_their_groups() {
        for g in ["web", "web/front", "my-app/x.y"] {
            let group = Group::new(g).unwrap();
            let unit = group.slice_chain().pop().unwrap();
            assert_eq!(group_of_slice(&unit), Some(group));
        }
        assert_eq!(group_of_slice("berth.slice"), None);
        assert_eq!(group_of_slice("system.slice"), None);
    }
}
