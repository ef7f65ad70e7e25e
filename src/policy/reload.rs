//! The one path by which a policy comes into force: at start, on SIGHUP, on
//! a change of the watched files, and (a later issue) from the admin API.
//!
//! Order: read the file and its signature (bounded) → verify the signature
//! over the exact bytes with a trusted key (when any is configured) →
//! parse → check that the key id the file names is the key that signed →
//! check expiry → check the version against the running one and the
//! persisted one (rollback) → compile → persist the version → swap the
//! `ArcSwap`. Every step before the swap is free of side effects except
//! the state write, which comes last and whose failure also refuses; so a
//! refusal changes nothing, and each one is logged and emitted as an event
//! with its reason.
//!
//! Once a trusted key is configured there is no path that skips
//! verification: a missing signature is a refusal.

use super::sign::{self, SignError, TrustedKey};
use super::state::{self, State, StateError};
use super::{model, Policy, PolicyError};
use crate::events::{rfc3339, EventSink, PolicyEvent};
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// What asked for a (re)load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The daemon starting.
    Start,
    /// SIGHUP.
    Signal,
    /// The policy or its signature changed on disk.
    Watch,
    /// The admin API.
    Api,
}

impl Trigger {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Signal => "signal",
            Trigger::Watch => "watch",
            Trigger::Api => "api",
        }
    }
}

/// How policies are accepted.
#[derive(Clone, Debug)]
pub struct ReloadConfig {
    /// The policy file (its signature is `FILE.minisig`).
    pub policy: PathBuf,
    /// Keys trusted to sign; non-empty makes signatures mandatory.
    pub trusted: Vec<TrustedKey>,
    /// The rollback state file; `None` keeps no state (e.g. `check`).
    pub state: Option<PathBuf>,
    /// Accept a version lower than the running or persisted one.
    pub allow_downgrade: bool,
    /// What the datapath can do with redirect rules.
    pub redirect: RedirectSupport,
    /// Applied to an accepted policy before it is swapped in (the stream
    /// proxy's divert rules); an error refuses the policy and changes
    /// nothing.
    pub apply: Apply,
    /// Resolves interface names to indexes.
    pub ifindex: fn(&str) -> Option<u32>,
}

/// What the datapath can carry out of a policy's redirect rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectSupport {
    /// Nothing: any redirect rule refuses the policy, for this reason
    /// (host mode, or a backend without the divert rules).
    None(&'static str),
    /// TCP redirects through the stream proxy (gateway mode); the
    /// problems [`Policy::redirect_problems`] lists refuse the policy.
    TcpProxy,
}

impl RedirectSupport {
    /// Why `policy` is refused, if it is.
    pub fn refusal(self, policy: &Policy) -> Option<String> {
        match self {
            RedirectSupport::None(reason) => {
                let r = policy.redirect_rules();
                (!r.is_empty()).then(|| format!("rules {} redirect, but {reason}", r.join(", ")))
            }
            RedirectSupport::TcpProxy => {
                let p = policy.redirect_problems();
                (!p.is_empty()).then(|| p.join("; "))
            }
        }
    }
}

/// A step run on an accepted policy before it is swapped in.
#[derive(Clone, Default)]
pub struct Apply(pub Option<Arc<ApplyFn>>);

/// The function behind [`Apply`]: `Err` says why the policy is refused.
pub type ApplyFn = dyn Fn(&Policy) -> Result<(), String> + Send + Sync;

impl std::fmt::Debug for Apply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Apply(set)"
        } else {
            "Apply(none)"
        })
    }
}

/// Why a policy was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// Reading, parsing or compiling failed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// Signatures are mandatory and the signature file is missing.
    #[error("{path}: missing; a trusted key is configured, so every policy must be signed")]
    MissingSignature {
        /// The expected signature file.
        path: String,
    },
    /// The signature is bad, of another file, or by an untrusted key.
    #[error(transparent)]
    Signature(#[from] SignError),
    /// The policy names no key id although it must be signed.
    #[error("{file}: no `key_id`; a signed policy must name the key that signs it ({signed})")]
    KeyIdMissing {
        /// The policy file.
        file: String,
        /// The key that signed it.
        signed: String,
    },
    /// The policy names a key other than the one that signed it.
    #[error("{file}: `key_id` is {named} but the policy is signed by {signed}")]
    KeyIdMismatch {
        /// The policy file.
        file: String,
        /// The key id in the file.
        named: String,
        /// The key that signed it.
        signed: String,
    },
    /// The policy's `expires` is past.
    #[error("{file}: expired at {expires} (now {now})")]
    Expired {
        /// The policy file.
        file: String,
        /// Its expiry (RFC 3339).
        expires: String,
        /// The current time (RFC 3339).
        now: String,
    },
    /// The version is not higher than the running or last accepted one.
    #[error("{file}: version {version} is not higher than {against} version {current} (rollback protection; --allow-downgrade overrides)")]
    Rollback {
        /// The policy file.
        file: String,
        /// Its version.
        version: u64,
        /// "running" or "last accepted".
        against: &'static str,
        /// That version.
        current: u64,
    },
    /// The policy redirects in a way this datapath cannot carry out.
    #[error(
        "{file}: {why}; the policy is refused rather than have redirect treated as allow or reject"
    )]
    Redirect {
        /// The policy file.
        file: String,
        /// What cannot be carried out.
        why: String,
    },
    /// Putting the policy's divert rules in place failed.
    #[error("{file}: installing the stream proxy's divert rules failed: {why}")]
    Apply {
        /// The policy file.
        file: String,
        /// The error.
        why: String,
    },
    /// The rollback state could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn rfc(secs: i64) -> String {
    let t = UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
    rfc3339(t)
}

/// A policy that passed every check, with what it was checked against.
#[derive(Debug)]
pub struct Accepted {
    /// The compiled policy.
    pub policy: Policy,
    /// The key that signed it (when signatures are mandatory).
    pub key: Option<String>,
}

/// Verifies, parses, checks and compiles `cfg.policy` without side effects.
/// `floor`: the version it must exceed (`Some((v, "running"))`), or equal or
/// exceed at start; `now`: Unix seconds.
pub fn prepare(
    cfg: &ReloadConfig,
    floor: Option<(u64, &'static str, bool)>,
    now: i64,
) -> Result<Accepted, ReloadError> {
    let path = &cfg.policy;
    let file = path.display().to_string();
    let bytes = read_bounded(path)?;
    let key = if cfg.trusted.is_empty() {
        None
    } else {
        let sp = sign::sig_path(path);
        let sig = match sign::read_signature(&sp) {
            Ok(s) => s,
            Err(SignError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(ReloadError::MissingSignature {
                    path: sp.display().to_string(),
                })
            }
            Err(e) => return Err(e.into()),
        };
        let k = sign::verify(&bytes, &sig, &sp.display().to_string(), &cfg.trusted)?;
        Some(k.id.to_string())
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| PolicyError::Parse {
        file: file.clone(),
        line: 1,
        column: 1,
        field: "-".into(),
        message: format!("not UTF-8 text: {e}"),
    })?;
    let parsed = model::parse(text, &file)?;
    if let Some(signed) = &key {
        match &parsed.key_id {
            None => {
                return Err(ReloadError::KeyIdMissing {
                    file,
                    signed: signed.clone(),
                })
            }
            Some(k) if &k.0 != signed => {
                return Err(ReloadError::KeyIdMismatch {
                    file,
                    named: k.0.clone(),
                    signed: signed.clone(),
                })
            }
            Some(_) => {}
        }
    }
    if let Some(e) = parsed.expires {
        if e.0 <= now {
            return Err(ReloadError::Expired {
                file,
                expires: rfc(e.0),
                now: rfc(now),
            });
        }
    }
    if let (Some((current, against, strict)), false) = (floor, cfg.allow_downgrade) {
        if parsed.version < current || (strict && parsed.version == current) {
            return Err(ReloadError::Rollback {
                file,
                version: parsed.version,
                against,
                current,
            });
        }
    }
    let policy = super::compile::compile(&parsed, &file, &cfg.ifindex)?;
    if let Some(why) = cfg.redirect.refusal(&policy) {
        return Err(ReloadError::Redirect { file, why });
    }
    Ok(Accepted { policy, key })
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, PolicyError> {
    use std::io::Read;
    let origin = path.display().to_string();
    let io = |source| PolicyError::Io {
        file: origin.clone(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    f.take(model::MAX_POLICY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > model::MAX_POLICY_BYTES {
        let size = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        return Err(PolicyError::TooLarge { file: origin, size });
    }
    Ok(bytes)
}

/// The running policy and the one function that replaces it.
#[derive(Debug)]
pub struct Reloader {
    cfg: ReloadConfig,
    current: Arc<ArcSwap<Policy>>,
    events: EventSink,
    /// Serialises reloads (signal, watch and API may race).
    lock: Mutex<()>,
}

/// What a successful reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The version now in force.
    pub version: u64,
    /// The version before.
    pub previous: u64,
    /// The key that signed it.
    pub key_id: Option<String>,
}

impl Reloader {
    /// Loads the policy at start: it must verify, parse, compile, not be
    /// expired, and not be older than the persisted version (equal is fine:
    /// a restart with the same file). Persists its version.
    pub fn start(cfg: ReloadConfig, events: EventSink) -> Result<Reloader, ReloadError> {
        Reloader::start_at(cfg, events, unix_now())
    }

    /// [`Reloader::start`] at a given time (Unix seconds).
    pub fn start_at(
        cfg: ReloadConfig,
        events: EventSink,
        now: i64,
    ) -> Result<Reloader, ReloadError> {
        let persisted = match &cfg.state {
            Some(p) => state::read(p)?,
            None => None,
        };
        let floor = persisted
            .as_ref()
            .map(|s| (s.version, "last accepted", false));
        let res = prepare(&cfg, floor, now).and_then(|a| {
            apply(&cfg, &a.policy)?;
            persist(&cfg, &a, now)?;
            Ok(a)
        });
        let file = cfg.policy.display().to_string();
        let (event, result) = match res {
            Ok(a) => (
                policy_event(
                    Trigger::Start,
                    &file,
                    Ok((a.policy.version, a.key.clone())),
                    a.policy.version,
                ),
                Ok(a.policy),
            ),
            Err(e) => (policy_event(Trigger::Start, &file, Err(&e), 0), Err(e)),
        };
        events.emit_policy(event);
        Ok(Reloader {
            cfg,
            current: Arc::new(ArcSwap::from_pointee(result?)),
            events,
            lock: Mutex::new(()),
        })
    }

    /// The running policy, for the workers.
    pub fn current(&self) -> Arc<ArcSwap<Policy>> {
        Arc::clone(&self.current)
    }

    /// Sets the step run on every accepted policy before it is swapped in
    /// (the policy in force at start is the caller's to apply).
    pub fn set_apply(&mut self, apply: Apply) {
        self.cfg.apply = apply;
    }

    /// The configuration.
    pub fn config(&self) -> &ReloadConfig {
        &self.cfg
    }

    /// Re-reads the policy; on success it is in force for every flow decided
    /// from now on, on failure nothing changed. Logs and emits an event
    /// either way.
    pub fn reload(&self, trigger: Trigger) -> Result<Outcome, ReloadError> {
        self.reload_at(trigger, unix_now())
    }

    /// [`Reloader::reload`] at a given time (Unix seconds).
    pub fn reload_at(&self, trigger: Trigger, now: i64) -> Result<Outcome, ReloadError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let running = self.current.load().version;
        let file = self.cfg.policy.display().to_string();
        let res = self.try_reload(running, now);
        let event = match &res {
            Ok(o) => {
                eprintln!(
                    "portcullis: policy version {} now in force (was {}; {}{})",
                    o.version,
                    o.previous,
                    trigger.name(),
                    o.key_id
                        .as_ref()
                        .map(|k| format!(", signed by {k}"))
                        .unwrap_or_default()
                );
                policy_event(trigger, &file, Ok((o.version, o.key_id.clone())), o.version)
            }
            Err(e) => {
                eprintln!(
                    "portcullis: reload refused ({}), policy version {running} stays: {e}",
                    trigger.name()
                );
                policy_event(trigger, &file, Err(e), running)
            }
        };
        self.events.emit_policy(event);
        res
    }

    fn try_reload(&self, running: u64, now: i64) -> Result<Outcome, ReloadError> {
        let persisted = match &self.cfg.state {
            Some(p) => state::read(p)?.map(|s| s.version),
            None => None,
        };
        let floor = match persisted {
            Some(p) if p > running => (p, "last accepted", true),
            _ => (running, "running", true),
        };
        let a = prepare(&self.cfg, Some(floor), now)?;
        apply(&self.cfg, &a.policy)?;
        persist(&self.cfg, &a, now)?;
        let out = Outcome {
            version: a.policy.version,
            previous: running,
            key_id: a.key,
        };
        self.current.store(Arc::new(a.policy));
        Ok(out)
    }
}

fn apply(cfg: &ReloadConfig, policy: &Policy) -> Result<(), ReloadError> {
    match &cfg.apply.0 {
        Some(f) => f(policy).map_err(|why| ReloadError::Apply {
            file: cfg.policy.display().to_string(),
            why,
        }),
        None => Ok(()),
    }
}

fn persist(cfg: &ReloadConfig, a: &Accepted, now: i64) -> Result<(), StateError> {
    match &cfg.state {
        Some(p) => state::write(
            p,
            &State {
                version: a.policy.version,
                key_id: a.key.clone(),
                accepted_at: rfc(now),
            },
        ),
        None => Ok(()),
    }
}

fn policy_event(
    trigger: Trigger,
    file: &str,
    res: Result<(u64, Option<String>), &ReloadError>,
    running: u64,
) -> PolicyEvent {
    let (result, version, key_id, reason) = match res {
        Ok((v, k)) => ("accepted", Some(v), k, None),
        Err(e) => ("refused", None, None, Some(e.to_string())),
    };
    PolicyEvent {
        timestamp: rfc3339(SystemTime::now()),
        event_type: "policy",
        result,
        trigger: trigger.name(),
        file: file.to_string(),
        version,
        running_version: running,
        key_id,
        reason,
    }
}

#[cfg(test)]
#[path = "reload_tests.rs"]
mod tests;
