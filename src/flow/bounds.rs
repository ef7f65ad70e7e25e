//! The limits on the pending table, and why a flow leaves it.
//!
//! Every bound here is on attacker-controlled input: how many payload
//! packets, bytes and milliseconds one flow may be held, how many flows and
//! sample bytes a table may hold in total, and how long a decision is
//! remembered. At a bound a flow is decided on what it has.

use crate::sniff::SAMPLE_MAX;

/// Limits on what the table holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Payload packets held per flow before it is decided on what it has.
    pub max_packets: usize,
    /// Bytes per direction (capped at [`SAMPLE_MAX`]).
    pub max_bytes: usize,
    /// Milliseconds from the first held packet to a decision.
    pub max_hold_ms: u64,
    /// Flows in the table; the oldest is evicted beyond this.
    pub max_flows: usize,
    /// A flow record with nothing held is dropped after this idle time.
    pub idle_ms: u64,
    /// Recently decided flows remembered (for packets already queued when
    /// the decision was made).
    pub decided_cache: usize,
    /// How long a decided flow is remembered.
    pub decided_ttl_ms: u64,
    /// Sample bytes held by all pending flows together; beyond it the
    /// oldest flows are evicted (decided on what they have).
    pub max_total_bytes: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_packets: 16,
            max_bytes: SAMPLE_MAX,
            max_hold_ms: 2000,
            max_flows: 65536,
            idle_ms: 120_000,
            decided_cache: 8192,
            decided_ttl_ms: 10_000,
            max_total_bytes: 64 << 20,
        }
    }
}

/// Why a flow left the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A detector matched.
    Identified,
    /// No detector can match.
    Unknown,
    /// The per-flow held-packet bound was hit.
    Packets,
    /// The per-direction byte bound was hit.
    Bytes,
    /// The hold time bound was hit.
    Time,
    /// Evicted to make room for a new flow.
    Evicted,
    /// FIN or RST while packets were held.
    Closed,
}

impl Reason {
    /// Whether this is a holding bound (the policy's "held too long" case).
    pub fn is_bound(self) -> bool {
        matches!(
            self,
            Reason::Packets | Reason::Bytes | Reason::Time | Reason::Evicted
        )
    }

    /// Lowercase name for events and counters.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Identified => "identified",
            Reason::Unknown => "unknown",
            Reason::Packets => "packet-bound",
            Reason::Bytes => "byte-bound",
            Reason::Time => "time-bound",
            Reason::Evicted => "evicted",
            Reason::Closed => "closed",
        }
    }
}
