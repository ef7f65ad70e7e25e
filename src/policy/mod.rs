//! Policy: which protocols may cross on which ports, and what happens to
//! everything else.
//!
//! A policy file (TOML, [`model`]) is parsed with every field checked and
//! every error located (file, line, column, field), then compiled
//! ([`compile`]) into a [`Policy`] whose [`Policy::decide`] is pure and
//! allocation-free; [`index`] is the lookup behind it and [`analyse`] the
//! warnings `check` prints. The core does not touch the network or the
//! clock; the shells are [`sign`] (minisign keys and signatures),
//! [`reload`] (verify, parse, compile, swap; rollback state) and
//! [`system_ifindex`] (reads interface indexes from sysfs).

pub mod analyse;
pub mod catalogue;
pub mod check;
pub mod compile;
pub mod divert;
pub(crate) mod index;
pub mod model;
pub mod reload;
pub mod sign;
pub mod state;
pub mod time;
pub mod watch;

pub use compile::{Action, Decision, Facts, Policy, RuleRef, Subject};
pub use model::PolicyError;

use std::path::Path;

/// The built-in default policy ("application-default").
pub const DEFAULT_POLICY: &str = include_str!("../../policy/default.toml");

/// Parses and compiles a policy file's text, resolving interface names
/// with [`system_ifindex`]. `origin` names it in errors.
pub fn load_str(text: &str, origin: &str) -> Result<Policy, PolicyError> {
    load_str_with(text, origin, &system_ifindex)
}

/// Parses and compiles policy text with an interface resolver.
pub fn load_str_with(
    text: &str,
    origin: &str,
    ifindex: &dyn Fn(&str) -> Option<u32>,
) -> Result<Policy, PolicyError> {
    let file = model::parse(text, origin)?;
    compile::compile(&file, origin, ifindex)
}

/// The index of a network interface in this process's network namespace,
/// read from `/sys/class/net/NAME/ifindex` (`ip netns exec` mounts the
/// namespace's own sysfs). `None` when there is no such interface.
pub fn system_ifindex(name: &str) -> Option<u32> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return None;
    }
    let text =
        std::fs::read_to_string(Path::new("/sys/class/net").join(name).join("ifindex")).ok()?;
    text.trim().parse().ok().filter(|&i| i > 0)
}

/// Reads, parses and compiles a policy file.
pub fn load_file(path: &Path) -> Result<Policy, PolicyError> {
    let origin = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| PolicyError::Io {
        file: origin.clone(),
        source: e,
    })?;
    if meta.len() > model::MAX_POLICY_BYTES as u64 {
        return Err(PolicyError::TooLarge {
            file: origin,
            size: meta.len(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Io {
        file: origin.clone(),
        source: e,
    })?;
    load_str(&text, &origin)
}

/// The built-in default policy, compiled.
pub fn builtin() -> Policy {
    // The built-in policy is checked by a unit test; should it ever fail to
    // compile, fail closed to an empty rule set rather than panic.
    load_str(DEFAULT_POLICY, "<built-in default>").unwrap_or_else(|_| Policy::empty())
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

#[cfg(test)]
#[path = "index_tests.rs"]
mod index_tests;
