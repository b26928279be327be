//! The helper's side of a user namespace: the handshake between the child that made it and
//! the parent that maps its IDs (only a process outside may write the maps), and makes the
//! idmapped trees of the container's private /etc and /var (only a process privileged over
//! the host's mounts may), which it passes to the child with the go-ahead.

use std::fs;
use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use nix::unistd::Pid;

use super::{Cause, Step, StepError};
use crate::container::idmap;
use crate::container::plan::ContainerPlan;

/// A detached idmapped mount tree, to be attached where `source` would be bound.
pub struct IdmappedTree {
    pub source: PathBuf,
    pub tree: OwnedFd,
}

fn talk<E: Into<Cause>>(e: E) -> StepError {
    Step::UserNamespace.call("talk to the helper")(e)
}

/// The child's side: says the namespaces exist, waits until its IDs are mapped, and receives
/// the idmapped trees of the plan's idmapped binds, in their order.
pub fn handshake(
    stream: &mut UnixStream,
    plan: &ContainerPlan,
) -> Result<Vec<IdmappedTree>, StepError> {
    stream.write_all(b"u").map_err(talk)?;
    let sources = plan.idmapped_sources();
    let trees = receive_go_ahead(stream, sources.len())?;
    Ok(sources
        .into_iter()
        .zip(trees)
        .map(|(source, tree)| IdmappedTree {
            source: source.to_owned(),
            tree,
        })
        .collect())
}

pub fn wait_for_byte(stream: &mut UnixStream) -> Result<(), StepError> {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(1) => Ok(()),
        Ok(_) => Err(Step::UserNamespace.refused("the other side of the helper ended")),
        Err(e) => Err(talk(e)),
    }
}

/// Reads the go-ahead byte and exactly `count` file descriptors sent with it.
fn receive_go_ahead(stream: &UnixStream, count: usize) -> Result<Vec<OwnedFd>, StepError> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let fd_bytes = (count * std::mem::size_of::<RawFd>()) as u32;
    // SAFETY: CMSG_SPACE only computes a buffer size from a length.
    let mut space = vec![0u8; unsafe { libc::CMSG_SPACE(fd_bytes) } as usize];
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        (count > 0).then_some(&mut space[..]),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(talk)?;
    let mut fds = Vec::new();
    for cmsg in msg.cmsgs().map_err(talk)? {
        if let ControlMessageOwned::ScmRights(received) = cmsg {
            // SAFETY: SCM_RIGHTS installed these descriptors in this process just now; each
            // is owned here alone.
            fds.extend(
                received
                    .into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    let truncated = msg.flags.contains(MsgFlags::MSG_CTRUNC);
    match msg.bytes {
        0 => Err(Step::UserNamespace.refused("the other side of the helper ended")),
        _ if truncated || fds.len() != count => Err(Step::IdmappedMounts.refused(format!(
            "expected {count} idmapped trees, received {}",
            fds.len()
        ))),
        _ => Ok(fds),
    }
}

/// The parent's side, once the child has said its namespaces exist: maps its IDs, makes the
/// idmapped trees, and sends them with the go-ahead. An error is the parent's to report; a
/// child that went away reports for itself.
pub fn map_and_go_ahead(
    stream: &UnixStream,
    child: Pid,
    base: u32,
    plan: &ContainerPlan,
) -> Result<(), StepError> {
    idmap::write_id_maps(child, base).map_err(|e| Step::UserNamespace.nested(e))?;
    let trees = idmapped_trees(child, plan)?;
    let fds: Vec<RawFd> = trees.iter().map(|t| t.as_raw_fd()).collect();
    let rights = [ControlMessage::ScmRights(&fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
    // The trees are the child's now; ours close when they go out of scope.
    let _ = sendmsg::<()>(
        stream.as_raw_fd(),
        &[IoSlice::new(b"m")],
        cmsgs,
        MsgFlags::empty(),
        None,
    );
    Ok(())
}

/// The plan's idmapped binds as detached trees mapped by the child's user namespace: made
/// here, in the host's mount namespace, with the privilege the child no longer has.
fn idmapped_trees(child: Pid, plan: &ContainerPlan) -> Result<Vec<OwnedFd>, StepError> {
    let sources = plan.idmapped_sources();
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    let ns = PathBuf::from(format!("/proc/{child}/ns/user"));
    let userns = fs::File::open(&ns).map_err(Step::IdmappedMounts.on("open", &ns))?;
    sources
        .iter()
        .map(|source| {
            idmap::idmapped_tree(source, userns.as_fd()).map_err(|e| Step::IdmappedMounts.nested(e))
        })
        .collect()
}

/// Attaches an idmapped tree at `target` (made first), where a bind would go.
pub fn attach(tree: &IdmappedTree, target: &Path) -> Result<(), StepError> {
    fs::create_dir_all(target).map_err(Step::IdmappedMounts.on("create", target))?;
    crate::container::mount_api::attach_tree(&tree.tree, target).map_err(Step::IdmappedMounts.call(
        format!(
            "attach the idmapped tree of {} at {}",
            tree.source.display(),
            target.display()
        ),
    ))
}
