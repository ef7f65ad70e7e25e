//! Policy: which protocols may cross on which ports, and what happens to
//! everything else.
//!
//! A policy file (TOML, [`model`]) is parsed with every field checked and
//! every error located (file, line, column, field), then compiled
//! ([`compile`]) into a [`Policy`] whose [`Policy::decide`] is pure and
//! allocation-free. Nothing here touches the network or the clock.

pub mod catalogue;
pub mod compile;
pub mod model;

pub use compile::{Action, Decision, Facts, Policy, RuleRef, Subject};
pub use model::PolicyError;

use std::path::Path;

/// The built-in default policy ("application-default").
pub const DEFAULT_POLICY: &str = include_str!("../../policy/default.toml");

/// Parses and compiles a policy file's text. `origin` names it in errors.
pub fn load_str(text: &str, origin: &str) -> Result<Policy, PolicyError> {
    let file = model::parse(text, origin)?;
    compile::compile(&file, origin)
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
