//! The helper's side of a user namespace: the handshake between the child that made it and
//! the parent that maps its IDs (only a process outside may write the maps).

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::unistd::Pid;

use super::{failed, StepError};

/// The child's side: says the namespaces exist, waits until its IDs are mapped.
pub fn handshake(stream: &mut UnixStream) -> Result<(), StepError> {
    stream
        .write_all(b"u")
        .map_err(|e| StepError::new("user namespace", format!("cannot talk to the helper: {e}")))?;
    wait_for_byte(stream)
}

pub fn wait_for_byte(stream: &mut UnixStream) -> Result<(), StepError> {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(1) => Ok(()),
        Ok(_) => Err(StepError::new(
            "user namespace",
            "the other side of the helper ended",
        )),
        Err(e) => Err(StepError::new(
            "user namespace",
            format!("cannot talk to the helper: {e}"),
        )),
    }
}

/// Maps IDs 0-65535 inside to `base`.. on the host, for users and groups.
pub fn write_id_maps(pid: Pid, base: u32) -> Result<(), StepError> {
    let line = format!("0 {base} {}\n", crate::security::userns::RANGE_SIZE);
    for map in ["uid_map", "gid_map"] {
        let path = format!("/proc/{pid}/{map}");
        fs::write(&path, &line)
            .map_err(|e| failed("user namespace", "write", Path::new(&path), e))?;
    }
    Ok(())
}
