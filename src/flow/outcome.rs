//! What the pending table takes and gives back: a held packet's identity,
//! the answer to one packet, a finished flow with its held packets and
//! sample, and the table's counters and sizes.

use super::bounds::Reason;
use super::key::{Endpoint, FlowKey};
use super::reassembly::Stream;
use crate::sniff::{classify, Input, Verdict};

/// A held packet: its NFQUEUE id and the mark it carried when queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    /// NFQUEUE packet id.
    pub id: u32,
    /// Packet mark at queueing (bits outside portcullis's mask are kept).
    pub mark: u32,
    /// Index of the interface the packet came in on (0: none).
    pub indev: u32,
    /// Index of the interface it is going out on (0: none yet).
    pub outdev: u32,
}

impl Held {
    /// A packet known only by its id: no mark, no interfaces (a SYN-log
    /// copy, a packet read from a capture, tests and benches).
    pub fn bare(id: u32) -> Held {
        Held {
            id,
            mark: 0,
            indev: 0,
            outdev: 0,
        }
    }
}

/// A flow ready for a decision, with every packet id it held.
#[derive(Debug)]
pub struct Finished {
    /// The flow's key.
    pub key: FlowKey,
    /// Initiator (as seen; see [`crate::sniff::Classification::reversed`]).
    pub client: Endpoint,
    /// Responder.
    pub server: Endpoint,
    /// Why it left the table.
    pub reason: Reason,
    /// The flow's start was not seen.
    pub midstream: bool,
    /// Held packets, oldest first.
    pub held: Vec<Held>,
    /// (input, output) interface indexes of the initiator's direction, from
    /// the flow's latest packet (a responder's packet counts with the two
    /// swapped); 0 when unknown.
    pub ifaces: (u32, u32),
    pub(super) c2s: Stream,
    pub(super) s2c: Stream,
}

impl Finished {
    /// Classifies the flow's sample (no more bytes will come).
    pub fn classify(&self) -> Verdict<'_> {
        let input = Input {
            client: self.c2s.contiguous(),
            server: self.s2c.contiguous(),
            transport: self.key.transport,
            client_port: self.client.port,
            server_port: self.server.port,
            complete: true,
        };
        classify(&input, self.midstream)
    }
}

/// What to do with the packet just ingested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ingest {
    /// No payload: let it through now, undecided.
    Pass,
    /// Held: its id is in a flow (which may already be in the output).
    Held,
    /// The flow was decided moments ago: apply this remembered mark.
    Decided(u32),
}

/// Counters the table keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Flows created.
    pub created: u64,
    /// Flows evicted to make room.
    pub evicted: u64,
    /// Records without held packets dropped for idleness.
    pub idled: u64,
    /// Flows created from a payload packet with no handshake seen.
    pub midstream: u64,
    /// Flows evicted because the byte budget of all flows was spent.
    pub evicted_bytes: u64,
}

/// Sizes of the table's structures (for metrics, tests and benches).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Flows pending.
    pub flows: usize,
    /// Of which hold packets (a boxed record with samples); the others
    /// have only opened and cost a slot.
    pub full: usize,
    /// Record slots allocated: the most flows pending at once.
    pub slots: usize,
    /// Buckets of the flow index (about 5 bytes each).
    pub index_buckets: usize,
    /// Hold deadlines queued, live and stale.
    pub deadlines: usize,
    /// Decisions remembered.
    pub decided: usize,
    /// Entries of the decisions' age queue, live and stale.
    pub decided_queue: usize,
}

/// Which side sent a packet, when the caller knows (from conntrack).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Not known: the table infers it from the handshake or the ports.
    Unknown,
    /// The flow's initiator.
    Initiator,
    /// The flow's responder.
    Responder,
}
