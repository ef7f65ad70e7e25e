//! The netfilter ruleset portcullis installs in chains of its own, and the
//! backends that install it.
//!
//! Packet path (per family, filter table, jumped to from the hook chains):
//!
//! ```text
//! mark == PASS                 -> RETURN   (undecided packet without payload, passed once)
//! mark == QUEUED*              -> clear it (a stale "was queued" mark, host mode loopback)
//! mark != 0 (our bits)         -> CONNMARK --save-mark  (a verdict coming back via NF_REPEAT)
//! connmark == ALLOW            -> RETURN   (decided: the kernel carries it, no userspace)
//! connmark == DROP             -> DROP
//! connmark == REJECT           -> REJECT (tcp-reset / icmp port unreachable)
//! opening SYN, no payload      -> NFLOG group G, RETURN  (--handshake log)
//! tcp, no payload, not a SYN   -> RETURN   (bpf; unless --handshake all)
//! mark = QUEUED or QUEUED_REPLY (conntrack direction)
//! tcp, udp                     -> NFQUEUE --queue-balance A:B [--queue-bypass]
//! ```
//!
//! With `--handshake log` and several queues, a flow is pinned to queue k
//! (and SYN log group G+k) by connmark bits set on its first packet (see
//! [`PIN_MASK`]), instead of `--queue-balance`.
//!
//! A second chain of the same name in the `security` table (which runs
//! after `filter` on the same hooks) counts packets that still carry a
//! QUEUED mark: they left the queue without a verdict from portcullis, i.e.
//! the kernel passed them fail-open (queue full, or nobody bound). The
//! kernel keeps no counter of its own for those.
//!
//! RETURN (not ACCEPT) hands allowed packets back to the operator's own
//! rules. The mark bits are confined to [`MARK_MASK`] so other software's
//! marks survive.

pub mod bpf;
pub mod divert;
pub mod iptables;
pub mod nft;

use std::fmt;

/// The packet/conntrack mark bits portcullis owns.
pub const MARK_MASK: u32 = 0x0f00_0000;
/// Decided: allow (or alert).
pub const MARK_ALLOW: u32 = 0x0100_0000;
/// Decided: drop.
pub const MARK_DROP: u32 = 0x0200_0000;
/// Decided: reject.
pub const MARK_REJECT: u32 = 0x0300_0000;
/// Undecided packet passed once (never saved to the connmark).
pub const MARK_PASS: u32 = 0x0f00_0000;
/// Set on a packet as it is queued: it travels in the flow's original
/// direction (the initiator sent it). Replaced by every verdict.
pub const MARK_QUEUED: u32 = 0x0400_0000;
/// Set on a packet as it is queued: it travels in the reply direction.
pub const MARK_QUEUED_REPLY: u32 = 0x0500_0000;
/// Name of portcullis's chains.
pub const CHAIN: &str = "PORTCULLIS";

/// Where portcullis sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// A router between zones: FORWARD, both directions.
    Forward,
    /// One host's own traffic: OUTPUT and INPUT.
    Host,
}

/// What the ruleset needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleConfig {
    /// First queue number.
    pub queue_lo: u16,
    /// Last queue number.
    pub queue_hi: u16,
    /// `--queue-bypass`: accept when no program listens (fail open).
    pub bypass: bool,
    /// Which hooks to attach to.
    pub hook: Hook,
    /// Which TCP segments without payload reach userspace, and how.
    pub handshake: Handshake,
    /// First NFLOG group of the SYN log (queue `lo + k` logs to group
    /// `log_group + k`); used with [`Handshake::Log`].
    pub log_group: u16,
}

/// Which TCP segments without payload reach userspace while a flow is
/// undecided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handshake {
    /// Every one is queued.
    All,
    /// The opening SYN is queued; the rest pass in the kernel.
    Syn,
    /// A copy of the opening SYN's headers goes to an NFLOG group and the
    /// SYN passes at once; the rest pass in the kernel. Nothing without
    /// payload is queued (iptables backend only).
    Log,
}

/// Connmark bits that pin a flow to one queue (and its SYN log group)
/// when several queues run with [`Handshake::Log`]: the kernel's
/// `--queue-balance` hash cannot be mirrored by NFLOG rules, so the rules
/// deal flows out round-robin on their first packet and keep the choice in
/// the conntrack entry.
pub const PIN_MASK: u32 = 0x00f0_0000;
/// Queues that can be pinned with [`PIN_MASK`].
pub const PIN_MAX_QUEUES: u16 = 15;

/// The connmark bits of queue index `k` (0-based; 0 means "not pinned").
pub fn pin_bits(k: u16) -> u32 {
    (u32::from(k) + 1) << PIN_MASK.trailing_zeros()
}

/// Why installing or removing rules failed.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A command could not be run.
    #[error("running {cmd}: {source}")]
    Spawn {
        /// The command.
        cmd: String,
        /// The error.
        source: std::io::Error,
    },
    /// A command failed.
    #[error("{cmd} failed: {stderr}")]
    Failed {
        /// The command.
        cmd: String,
        /// Its standard error.
        stderr: String,
    },
    /// No backend can queue packets on this kernel.
    #[error("no working netfilter backend: {0}")]
    NoBackend(String),
}

/// A way to install and remove the ruleset.
pub trait RuleBackend: fmt::Debug {
    /// Backend name for logs.
    fn name(&self) -> &'static str;
    /// Installs the ruleset atomically per family, replacing leftovers.
    fn install(&self, cfg: &RuleConfig) -> Result<(), RulesError>;
    /// Removes every rule and chain portcullis installed. Idempotent.
    fn remove(&self) -> Result<(), RulesError>;
    /// Whether any portcullis rule is installed.
    fn installed(&self) -> Result<bool, RulesError>;
    /// Packets the kernel let through fail-open (queue full or nobody
    /// bound) since the rules were installed, both families.
    fn unseen(&self) -> Result<u64, RulesError>;
    /// Whether this kernel takes the rules `handshake` needs (the bpf match
    /// for empty segments, the NFLOG target for the SYN log), tried in a
    /// scratch chain that is removed at once. Backends whose rules do not
    /// depend on the mode have nothing to check.
    fn supports(&self, handshake: Handshake, log_group: u16) -> Result<(), RulesError> {
        let _ = (handshake, log_group);
        Ok(())
    }
}

/// Picks the backend that can queue packets on this kernel: native nft
/// `queue` needs CONFIG_NFT_QUEUE; iptables (legacy or nft-compat, which
/// uses xt_NFQUEUE) works where it does not. The probe runs in a scratch
/// nft table that is removed at once.
pub fn detect() -> Result<Box<dyn RuleBackend>, RulesError> {
    let nft_queue = nft_queue_works();
    let ipt = iptables::Iptables::probe();
    choose(nft_queue, ipt)
}

/// Which backend `run --backend` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// Probe and pick ([`detect`]).
    Auto,
    /// iptables / ip6tables (legacy or nft-compat).
    Iptables,
    /// Native nftables (needs the nft `queue` statement).
    Nft,
}

/// The backend for `choice`; an explicit choice that cannot work on this
/// machine is an error that says why, never a silent fallback.
pub fn select(choice: BackendChoice) -> Result<Box<dyn RuleBackend>, RulesError> {
    match choice {
        BackendChoice::Auto => detect(),
        BackendChoice::Iptables => Ok(Box::new(iptables::Iptables::probe()?)),
        BackendChoice::Nft if nft_queue_works() => Ok(Box::new(nft::Nft)),
        BackendChoice::Nft => Err(RulesError::NoBackend(
            "--backend nft: this kernel rejects the nft queue statement (CONFIG_NFT_QUEUE is off); use --backend iptables".into(),
        )),
    }
}

/// The choice [`detect`] makes. iptables is preferred where both work: it
/// can let empty TCP segments pass in the kernel (a bpf match nft lacks),
/// and its nft-compat flavour drives the same kernel tables. Native nft is
/// used where iptables is missing or unusable and the kernel accepts the
/// nft `queue` statement.
fn choose(
    nft_queue: bool,
    ipt: Result<iptables::Iptables, RulesError>,
) -> Result<Box<dyn RuleBackend>, RulesError> {
    match (nft_queue, ipt) {
        (_, Ok(b)) => Ok(Box::new(b)),
        (true, Err(_)) => Ok(Box::new(nft::Nft)),
        (false, Err(e)) => Err(RulesError::NoBackend(format!(
            "the nft queue statement is unsupported by this kernel (CONFIG_NFT_QUEUE) and iptables is unusable: {e}"
        ))),
    }
}

/// Whether the native nft `queue` statement is accepted by this kernel.
pub fn nft_queue_works() -> bool {
    let script = "add table inet portcullis_probe\n\
                  add chain inet portcullis_probe c { type filter hook forward priority 0; policy accept; }\n\
                  add rule inet portcullis_probe c meta l4proto 253 queue num 0 bypass\n";
    let ok = std::process::Command::new("nft")
        .args(["-c", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            if let Some(mut i) = c.stdin.take() {
                i.write_all(script.as_bytes())?;
            }
            c.wait()
        })
        .map(|s| s.success())
        .unwrap_or(false);
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choice_prefers_iptables_and_never_picks_a_backend_that_cannot_queue() {
        let broken = || Err(RulesError::NoBackend("no iptables".into()));
        assert_eq!(
            choose(true, Ok(iptables::Iptables)).map(|b| b.name()).ok(),
            Some("iptables")
        );
        assert_eq!(
            choose(false, Ok(iptables::Iptables)).map(|b| b.name()).ok(),
            Some("iptables")
        );
        assert_eq!(choose(true, broken()).map(|b| b.name()).ok(), Some("nft"));
        assert!(choose(false, broken()).is_err());
    }
}
