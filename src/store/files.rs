//! berth's own files: replaced whole, so that a reader sees the old file or the new one, never
//! half of one, even if berth is killed in between; and read back as JSON.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{At, IoError};

#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("cannot parse {path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Writes `bytes` to `tmp`, flushes it to disk and renames it over `path`. `tmp` must be on
/// the same file system, and is named by the caller so that nothing that reads the directory
/// takes it for one of its files.
pub fn write_atomic(path: &Path, tmp: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mut f = fs::File::create(tmp).at("create", tmp)?;
    f.write_all(bytes).at("write", tmp)?;
    f.sync_all().at("sync", tmp)?;
    fs::rename(tmp, path).at("rename into place", path)
}

/// Writes `value` as JSON to `path` atomically, through `path` with the extension `json.tmp`.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), IoError> {
    let text = serde_json::to_vec_pretty(value)
        .map_err(io::Error::other)
        .at("write", path)?;
    write_atomic(path, &path.with_extension("json.tmp"), &text)
}

/// The JSON file at `path`, or None when there is none.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, JsonError> {
    let text = match fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(IoError::new("read", path, e).into()),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|source| JsonError::Parse {
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = crate::store::scratch_dir("atomic");
        let path = dir.join("x.json");
        write_json_atomic(&path, &[1, 2]).unwrap();
        write_json_atomic(&path, &[3]).unwrap();
        assert_eq!(read_json::<Vec<u32>>(&path).unwrap(), Some(vec![3]));
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        let missing = dir.join("no/such/dir/x.json");
        let e = write_json_atomic(&missing, &1).unwrap_err();
        assert_eq!(e.op, "create");
        assert_eq!(e.path, missing.with_extension("json.tmp"));
        assert!(read_json::<u32>(&missing).unwrap().is_none());
        fs::write(&path, "{").unwrap();
        let e = read_json::<u32>(&path).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("cannot parse {}: ", path.display())),
            "{e}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
