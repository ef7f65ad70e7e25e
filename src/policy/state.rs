//! The rollback-protection state file: the version of the last policy
//! accepted, kept across restarts so an old (validly signed) policy cannot
//! be replayed after a restart.
//!
//! Format: one JSON object, `{"version":N,"key_id":"..","accepted_at":".."}`.
//! Written atomically (temporary file, fsync, rename, fsync of the
//! directory). A state file that exists but cannot be read is an error,
//! never "no state": silently forgetting it would reopen rollback.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the state lives unless `--state-file` says otherwise.
pub const DEFAULT_STATE_FILE: &str = "/var/lib/portcullis/state.json";

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("state file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file exists but is not a state file.
    #[error("state file {path}: unreadable ({detail}); fix or remove it deliberately (removing it forgets rollback protection)")]
    Corrupt {
        /// The file.
        path: String,
        /// What was wrong.
        detail: String,
    },
}

/// What the state file records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The last accepted policy version.
    pub version: u64,
    /// The key that signed it, if signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// When it was accepted (RFC 3339).
    #[serde(default)]
    pub accepted_at: String,
}

/// Reads the state; `None` when the file does not exist.
pub fn read(path: &Path) -> Result<Option<State>, StateError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StateError::Io {
                path: path.display().to_string(),
                source: e,
            })
        }
    };
    if text.len() > 4096 {
        return Err(StateError::Corrupt {
            path: path.display().to_string(),
            detail: format!("{} bytes", text.len()),
        });
    }
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| StateError::Corrupt {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
}

/// Writes the state atomically, creating the directory (mode 0700) if
/// needed.
pub fn write(path: &Path, state: &State) -> Result<(), StateError> {
    let io = |source| StateError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
    }
    let tmp: PathBuf = {
        let mut s = path.as_os_str().to_owned();
        s.push(format!(".tmp{}", std::process::id()));
        s.into()
    };
    let json = serde_json::to_string(state).map_err(|e| io(std::io::Error::other(e)))?;
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(json.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.map_err(io)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_missing_and_corrupt() {
        let dir = std::env::temp_dir().join(format!("pc-state-{}", std::process::id()));
        let path = dir.join("sub").join("state.json");
        assert_eq!(read(&path).unwrap(), None);
        let s = State {
            version: 9,
            key_id: Some("00112233AABBCCDD".into()),
            accepted_at: "2026-12-03T00:00:00Z".into(),
        };
        write(&path, &s).unwrap();
        assert_eq!(read(&path).unwrap(), Some(s));
        std::fs::write(&path, "{\"version\": -1}").unwrap();
        assert!(matches!(read(&path), Err(StateError::Corrupt { .. })));
        std::fs::write(&path, "").unwrap();
        assert!(matches!(read(&path), Err(StateError::Corrupt { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
