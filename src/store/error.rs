//! The one shape of a failed file operation: which operation, on which path, and what the
//! kernel said.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {path}: {source}")]
pub struct IoError {
    /// What was being done, as a verb phrase: "create", "rename into place".
    pub op: &'static str,
    pub path: PathBuf,
    pub source: io::Error,
}

impl IoError {
    pub fn new(op: &'static str, path: impl AsRef<Path>, source: impl Into<io::Error>) -> IoError {
        IoError {
            op,
            path: path.as_ref().to_owned(),
            source: source.into(),
        }
    }
}

/// Names the operation and path of a failed call: `fs::create_dir(&p).at("create", &p)?`.
pub trait At<T> {
    fn at(self, op: &'static str, path: impl AsRef<Path>) -> Result<T, IoError>;
}

impl<T> At<T> for io::Result<T> {
    fn at(self, op: &'static str, path: impl AsRef<Path>) -> Result<T, IoError> {
        self.map_err(|source| IoError::new(op, path, source))
    }
}

impl<T> At<T> for nix::Result<T> {
    fn at(self, op: &'static str, path: impl AsRef<Path>) -> Result<T, IoError> {
        self.map_err(|errno| IoError::new(op, path, errno))
    }
}

/// For `map_err` where the error is needed as a value: `.map_err(io_err("read", &p))`.
pub fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> IoError {
    let path = path.to_owned();
    move |source| IoError { op, path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_operation_path_and_cause() {
        let e = std::fs::read("/nonexistent/berth").at("read", "/nonexistent/berth");
        assert_eq!(
            e.unwrap_err().to_string(),
            "cannot read /nonexistent/berth: No such file or directory (os error 2)"
        );
        let e: Result<(), _> = Err(nix::errno::Errno::EPERM).at("lock", Path::new("/x"));
        assert_eq!(
            e.unwrap_err().to_string(),
            "cannot lock /x: Operation not permitted (os error 1)"
        );
    }
}
