//! Watching the policy file and its signature for replacement.
//!
//! Polls (device, inode, size, mtime) of each file; an atomic rename shows
//! as a new inode, an in-place write as a new size or mtime. A change fires
//! only after the files have been still for a settle time, so that the
//! usual update (rename the policy, then rename its `.minisig`) is read
//! once, as a pair. Polling rather than inotify: it works the same on every
//! filesystem (including bind mounts and ConfigMap symlink swaps) and costs
//! two `stat` calls per poll.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The identity of a file's current content, or `None` if it is missing.
type Stamp = Option<(u64, u64, u64, i64, i64)>;

fn stamp(p: &PathBuf) -> Stamp {
    let m = std::fs::metadata(p).ok()?;
    Some((m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
}

/// Watches a set of files.
#[derive(Debug)]
pub struct Watcher {
    paths: Vec<PathBuf>,
    last: Vec<Stamp>,
    changed_at: Option<Instant>,
    settle: Duration,
}

impl Watcher {
    /// Starts watching `paths` as they are now.
    pub fn new(paths: Vec<PathBuf>, settle: Duration) -> Watcher {
        let last = paths.iter().map(stamp).collect();
        Watcher {
            paths,
            last,
            changed_at: None,
            settle,
        }
    }

    /// Call periodically: true once after the files changed and then stayed
    /// unchanged for the settle time.
    pub fn poll(&mut self, now: Instant) -> bool {
        let cur: Vec<Stamp> = self.paths.iter().map(stamp).collect();
        if cur != self.last {
            self.last = cur;
            self.changed_at = Some(now);
            return false;
        }
        match self.changed_at {
            Some(t) if now.duration_since(t) >= self.settle => {
                self.changed_at = None;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rename_fires_once_after_settling() {
        let dir = std::env::temp_dir().join(format!("pc-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("p.toml");
        std::fs::write(&f, "a").unwrap();
        let settle = Duration::from_millis(100);
        let mut w = Watcher::new(vec![f.clone()], settle);
        let t0 = Instant::now();
        assert!(!w.poll(t0));
        let tmp = dir.join("p.toml.new");
        std::fs::write(&tmp, "b").unwrap();
        std::fs::rename(&tmp, &f).unwrap();
        assert!(!w.poll(t0), "fires only after settling");
        assert!(!w.poll(t0 + Duration::from_millis(50)));
        assert!(w.poll(t0 + Duration::from_millis(150)));
        assert!(!w.poll(t0 + Duration::from_millis(300)), "fires once");
        std::fs::remove_file(&f).unwrap();
        assert!(!w.poll(t0 + Duration::from_millis(400)));
        assert!(
            w.poll(t0 + Duration::from_millis(600)),
            "removal is a change too"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
