//! berth's own settings for the host: `/etc/berth/berth.toml`, optional. Everything has a
//! default, so most hosts never have the file.
//!
//! ```toml
//! [selinux]
//! # The MCS categories containers' levels are drawn from (c1023 is left out by default).
//! categories = "c0.c1022"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::security::mcs::Categories;
use crate::store::IoError;

pub const PATH: &str = "/etc/berth/berth.toml";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub mcs_categories: Categories,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    selinux: SelinuxSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SelinuxSection {
    categories: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Read(#[from] IoError),
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads `path`; a missing file is the defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => return Err(IoError::new("read", path, source).into()),
        };
        Self::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut config = Config::default();
        if let Some(c) = file.selinux.categories {
            config.mcs_categories = c.parse()?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_categories() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
        let c = Config::parse("[selinux]\ncategories = \"c100.c200\"\n").unwrap();
        assert_eq!(
            c.mcs_categories,
            Categories {
                first: 100,
                last: 200
            }
        );
        assert!(Config::parse("[selinux]\ncategories = \"c9\"\n").is_err());
        assert!(Config::parse("[selinx]\n")
            .unwrap_err()
            .contains("unknown field"));
        assert_eq!(
            Config::load(Path::new("/nonexistent/berth.toml")).unwrap(),
            Config::default()
        );
    }
}
