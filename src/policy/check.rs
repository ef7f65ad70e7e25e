//! `portcullis check`: verify, parse, compile and analyse a policy file
//! through the same path a reload takes (without the version and state
//! checks, which belong to a running daemon), and summarise it.

use super::analyse::{analyse, Warning};
use super::reload::{prepare, unix_now, ReloadConfig, ReloadError};
use super::sign::TrustedKey;
use super::Policy;
use std::fmt;
use std::path::Path;

/// What `check` found in a valid policy.
#[derive(Debug)]
pub struct Report {
    /// The file.
    pub file: String,
    /// The compiled policy.
    pub policy: Policy,
    /// The key that signed it, when keys were given.
    pub signed_by: Option<String>,
    /// Warnings.
    pub warnings: Vec<Warning>,
}

/// Checks `path`; with `keys`, its signature (`PATH.minisig`) must verify
/// with one of them and its `key_id` must name the signer.
pub fn check(path: &Path, keys: Vec<TrustedKey>) -> Result<Report, ReloadError> {
    let cfg = ReloadConfig {
        policy: path.to_path_buf(),
        trusted: keys,
        state: None,
        allow_downgrade: false,
        redirect: super::reload::RedirectSupport::TcpProxy,
        apply: Default::default(),
        ifindex: super::system_ifindex,
    };
    let a = prepare(&cfg, None, unix_now())?;
    let warnings = analyse(&a.policy);
    Ok(Report {
        file: path.display().to_string(),
        policy: a.policy,
        signed_by: a.key,
        warnings,
    })
}

/// Most warnings printed.
const MAX_PRINTED: usize = 100;

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.policy;
        writeln!(
            f,
            "{}: ok: version {}, {} rules, {:?} mode",
            self.file,
            p.version,
            p.rule_count(),
            p.mode
        )?;
        match &self.signed_by {
            Some(k) => writeln!(f, "  signature: good, key {k}")?,
            None => writeln!(f, "  signature: not verified (no --key given)")?,
        }
        if let Some(k) = &p.key_id {
            writeln!(f, "  key_id: {k}")?;
        }
        if let Some(e) = p.expires {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(e.max(0) as u64);
            writeln!(f, "  expires: {}", crate::events::rfc3339(t))?;
        }
        let redirects = p.redirect_rules();
        if !redirects.is_empty() {
            writeln!(
                f,
                "  note: rules {} redirect: `run --hook forward` diverts the TCP flows they could match to its stream proxy at their SYN; `--hook host` refuses this policy",
                redirects.join(", ")
            )?;
        }
        for w in self.warnings.iter().take(MAX_PRINTED) {
            writeln!(f, "  warning: {w}")?;
        }
        if self.warnings.len() > MAX_PRINTED {
            writeln!(
                f,
                "  ... and {} more warnings",
                self.warnings.len() - MAX_PRINTED
            )?;
        }
        Ok(())
    }
}
