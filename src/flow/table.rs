//! The pending-flow table: flows seen but not yet decided, their held
//! packet ids, their samples, and every bound on them.
//!
//! The caller feeds parsed packets with [`Table::ingest`] and the time with
//! [`Table::expire`]; flows that are ready for a decision (identified,
//! unknown, a bound hit, expired, evicted or closed) are pushed to an output
//! vector as [`Finished`], carrying every held packet id. A TCP packet
//! without payload never waits: it passes and, if it opens a flow, records
//! it. A flow that idles before its first payload is judged on that payload
//! whenever it comes: the table holds payload packets, not "the first N".

pub use super::bounds::{Bounds, Reason};
use super::key::{Endpoint, FlowHasher, FlowKey};
use super::reassembly::Stream;
use crate::packet::{tcp_flags, Packet};
use crate::sniff::{classify, Input, Transport, Verdict, SAMPLE_MAX};
use std::collections::{HashMap, VecDeque};

/// One flow awaiting a decision.
#[derive(Debug)]
struct Flow {
    gen: u64,
    client: Endpoint,
    server: Endpoint,
    midstream: bool,
    first_held_ms: Option<u64>,
    last_seen_ms: u64,
    held: Vec<Held>,
    ifaces: (u32, u32),
    c2s: Stream,
    s2c: Stream,
}

impl Default for Flow {
    /// An empty record (a pooled box between two flows); owns no buffer.
    fn default() -> Self {
        let none = Endpoint {
            ip: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            port: 0,
        };
        Flow {
            gen: 0,
            client: none,
            server: none,
            midstream: false,
            first_held_ms: None,
            last_seen_ms: 0,
            held: Vec::new(),
            ifaces: (0, 0),
            c2s: Stream::default(),
            s2c: Stream::default(),
        }
    }
}

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
    c2s: Stream,
    s2c: Stream,
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

/// Recycled flow buffers kept for reuse (bounds the idle memory they pin).
const SPARE_MAX: usize = 256;

/// Flow records live behind a box so the map's buckets stay small (key and
/// pointer): under a flood of flows that never send payload, churn leaves
/// tombstones that make the map double its buckets once (hashbrown grows
/// instead of rehashing in place while more than half full), and with the
/// record inline each bucket was ~280 bytes (about 112-140 MB of peak RSS at
/// 65,536 flows, measured); boxed it is ~50. Boxes are pooled like the
/// buffers, so a flow costs no allocation in steady state.
type FlowBox = Box<Flow>;

/// The pending-flow table.
#[derive(Debug)]
pub struct Table {
    bounds: Bounds,
    flows: HashMap<FlowKey, FlowBox, FlowHasher>,
    /// Creation order, for eviction and idle sweeps: (key, generation).
    order: VecDeque<(FlowKey, u64)>,
    /// Hold deadlines in order: (deadline, key, generation).
    deadlines: VecDeque<(u64, FlowKey, u64)>,
    decided: HashMap<FlowKey, (u32, u64), FlowHasher>,
    decided_order: VecDeque<(FlowKey, u64)>,
    next_gen: u64,
    stats: TableStats,
    /// Sample bytes of all pending flows.
    bytes: usize,
    /// Buffers of finished flows, for the next flows (no allocation per
    /// flow in steady state).
    spare: Vec<(Vec<Held>, Stream, Stream)>,
    /// Emptied flow boxes, for the next flows.
    boxes: Vec<FlowBox>,
}

impl Table {
    /// An empty table with these bounds.
    pub fn new(bounds: Bounds) -> Self {
        let bounds = Bounds {
            max_bytes: bounds.max_bytes.min(SAMPLE_MAX),
            max_packets: bounds.max_packets.max(1),
            max_flows: bounds.max_flows.max(1),
            ..bounds
        };
        Table {
            bounds,
            flows: HashMap::with_hasher(FlowHasher::new()),
            order: VecDeque::new(),
            deadlines: VecDeque::new(),
            decided: HashMap::with_hasher(FlowHasher::new()),
            decided_order: VecDeque::new(),
            next_gen: 0,
            stats: TableStats::default(),
            bytes: 0,
            spare: Vec::with_capacity(SPARE_MAX),
            boxes: Vec::with_capacity(SPARE_MAX),
        }
    }

    /// Pre-sizes the table's maps and queues for `flows` flows, so that
    /// the packet path does not grow them while the table fills up to it.
    ///
    /// The hash maps get twice the room: a map that churns (insert,
    /// remove, insert...) leaves tombstones, and when they use up its
    /// spare slots hashbrown rehashes in place only while the map is at
    /// most half full; above that it allocates a bigger table. At twice
    /// the bound the rehash always stays in place (this once showed as 4
    /// allocations in `tests/alloc.rs`, depending on the random hash seed).
    pub fn reserve(&mut self, flows: usize) {
        let n = flows.min(self.bounds.max_flows);
        self.flows.reserve(n.saturating_mul(2));
        self.order.reserve(n);
        self.deadlines.reserve(n);
        let d = self.bounds.decided_cache.min(n.max(1));
        self.decided.reserve(d.saturating_mul(2));
        self.decided_order.reserve(d);
    }

    /// Sample bytes held by all pending flows.
    pub fn held_bytes(&self) -> usize {
        self.bytes
    }

    /// Gives a decided flow's buffers back for reuse.
    pub fn recycle(&mut self, f: Finished) {
        self.recycle_parts(f.held, f.c2s, f.s2c);
    }

    fn recycle_parts(&mut self, mut held: Vec<Held>, mut c2s: Stream, mut s2c: Stream) {
        if self.spare.len() < SPARE_MAX {
            held.clear();
            c2s.reset();
            s2c.reset();
            self.spare.push((held, c2s, s2c));
        }
    }

    /// Keeps an emptied flow box for the next flow (up to [`SPARE_MAX`]).
    fn keep_box(&mut self, boxed: FlowBox) {
        if self.boxes.len() < SPARE_MAX {
            self.boxes.push(boxed);
        }
    }

    /// The bounds in force.
    pub fn bounds(&self) -> Bounds {
        self.bounds
    }

    /// Counters so far.
    pub fn stats(&self) -> TableStats {
        self.stats
    }

    /// Flows pending.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether no flow is pending.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Takes one packet (`id`: its NFQUEUE id and mark). Flows that become ready are
    /// pushed to `out`.
    pub fn ingest(
        &mut self,
        pkt: &Packet<'_>,
        id: Held,
        now: u64,
        out: &mut Vec<Finished>,
    ) -> Ingest {
        self.ingest_from(pkt, Side::Unknown, id, now, out)
    }

    /// [`Table::ingest`], with the sender's side when the caller knows it
    /// (conntrack's direction): a flow first seen on a payload packet then
    /// gets its initiator right whatever the ports.
    pub fn ingest_from(
        &mut self,
        pkt: &Packet<'_>,
        side: Side,
        id: Held,
        now: u64,
        out: &mut Vec<Finished>,
    ) -> Ingest {
        let (key, src, _) = FlowKey::of(pkt);
        let tcp = pkt.transport == Transport::Tcp;
        let syn = tcp && pkt.flags & tcp_flags::SYN != 0;
        // An opening SYN starts a new connection, even on the 5-tuple of
        // one decided moments ago (port reuse): it must not inherit that
        // decision, or a reconnect would skip inspection.
        let opening = syn && pkt.flags & tcp_flags::ACK == 0;
        if opening {
            self.decided.remove(&key);
        } else if let Some(&(mark, at)) = self.decided.get(&key) {
            if now.saturating_sub(at) <= self.bounds.decided_ttl_ms {
                return Ingest::Decided(mark);
            }
        }
        let ack = pkt.flags & tcp_flags::ACK != 0;
        let closing = tcp && pkt.flags & (tcp_flags::FIN | tcp_flags::RST) != 0;

        if !self.flows.contains_key(&key) {
            if tcp && pkt.payload.is_empty() && !syn {
                return Ingest::Pass;
            }
            self.create(key, pkt, side, now, out);
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return Ingest::Pass;
        };
        flow.last_seen_ms = now;
        let from_client = src == flow.client;
        flow.ifaces = if from_client {
            (id.indev, id.outdev)
        } else {
            (id.outdev, id.indev)
        };
        if syn && pkt.payload.is_empty() {
            let stream = if from_client {
                &mut flow.c2s
            } else {
                &mut flow.s2c
            };
            stream.set_base(pkt.seq.wrapping_add(1));
            let _ = ack;
            return Ingest::Pass;
        }
        if pkt.payload.is_empty() {
            if closing {
                if flow.held.is_empty() {
                    self.finish(key, Reason::Closed, out);
                    return Ingest::Pass;
                }
                flow.held.push(id);
                self.finish(key, Reason::Closed, out);
                return Ingest::Held;
            }
            return Ingest::Pass;
        }
        flow.held.push(id);
        if flow.first_held_ms.is_none() {
            flow.first_held_ms = Some(now);
            self.deadlines
                .push_back((now.saturating_add(self.bounds.max_hold_ms), key, flow.gen));
        }
        let (stream, other) = if from_client {
            (&mut flow.c2s, &mut flow.s2c)
        } else {
            (&mut flow.s2c, &mut flow.c2s)
        };
        // While a flow is undecided no payload crosses, so the peer has
        // acknowledged none: this packet's ack is the other side's first
        // sequence number (its SYN-ACK or SYN may not have been queued).
        if tcp && ack && !other.has_base() {
            other.set_base(pkt.ack);
        }
        let before = stream.footprint();
        match pkt.transport {
            Transport::Tcp => stream.add(pkt.seq, pkt.payload),
            // A UDP sample is the first datagram of each direction.
            Transport::Udp if stream.held_bytes() == 0 => stream.add(0, pkt.payload),
            Transport::Udp => {}
        }
        self.bytes += stream.footprint().saturating_sub(before);
        let reason = self.judge(&key, closing);
        if let Some(reason) = reason {
            self.finish(key, reason, out);
        }
        while self.bytes > self.bounds.max_total_bytes {
            if !self.evict_oldest(out) {
                break;
            }
            self.stats.evicted_bytes += 1;
        }
        Ingest::Held
    }

    /// Runs the detectors on a flow that just got bytes; a reason to finish
    /// it, or `None` to keep holding.
    fn judge(&self, key: &FlowKey, closing: bool) -> Option<Reason> {
        let flow = self.flows.get(key)?;
        let bound = if flow.held.len() >= self.bounds.max_packets {
            Some(Reason::Packets)
        } else if flow.c2s.held_bytes() >= self.bounds.max_bytes
            || flow.s2c.held_bytes() >= self.bounds.max_bytes
        {
            Some(Reason::Bytes)
        } else if closing {
            Some(Reason::Closed)
        } else {
            None
        };
        let input = Input {
            client: flow.c2s.contiguous(),
            server: flow.s2c.contiguous(),
            transport: key.transport,
            client_port: flow.client.port,
            server_port: flow.server.port,
            // A held UDP datagram gets no answer: decide on it now.
            complete: bound.is_some() || key.transport == Transport::Udp,
        };
        match classify(&input, flow.midstream) {
            Verdict::Identified(_) => Some(Reason::Identified),
            Verdict::Unknown { .. } => Some(bound.unwrap_or(Reason::Unknown)),
            Verdict::NeedMore => bound,
        }
    }

    fn create(
        &mut self,
        key: FlowKey,
        pkt: &Packet<'_>,
        side: Side,
        now: u64,
        out: &mut Vec<Finished>,
    ) {
        while self.flows.len() >= self.bounds.max_flows {
            if !self.evict_oldest(out) {
                break;
            }
        }
        let src = Endpoint {
            ip: pkt.src,
            port: pkt.sport,
        };
        let dst = Endpoint {
            ip: pkt.dst,
            port: pkt.dport,
        };
        let tcp = pkt.transport == Transport::Tcp;
        let syn_only = pkt.is_opening_syn();
        let syn_ack = pkt.is_syn_ack();
        // The initiator: the SYN's sender; the SYN-ACK's receiver; for a
        // flow picked up mid-stream, the side on the ephemeral port.
        let (client, server) = if side == Side::Initiator {
            (src, dst)
        } else if side == Side::Responder {
            (dst, src)
        } else if syn_only || !tcp {
            (src, dst)
        } else if syn_ack || (pkt.sport < 1024 && pkt.dport >= 1024) {
            (dst, src)
        } else {
            (src, dst)
        };
        let midstream = tcp && !syn_only;
        self.next_gen += 1;
        let gen = self.next_gen;
        let (held, c2s, s2c) = self.spare.pop().unwrap_or_default();
        let mut boxed = self.boxes.pop().unwrap_or_default();
        *boxed = Flow {
            gen,
            client,
            server,
            midstream,
            first_held_ms: None,
            last_seen_ms: now,
            held,
            ifaces: (0, 0),
            c2s,
            s2c,
        };
        self.flows.insert(key, boxed);
        self.order.push_back((key, gen));
        self.stats.created += 1;
        if midstream && !syn_ack {
            self.stats.midstream += 1;
        }
    }

    /// Evicts the oldest live flow. False if there was none.
    fn evict_oldest(&mut self, out: &mut Vec<Finished>) -> bool {
        while let Some((key, gen)) = self.order.pop_front() {
            if self.flows.get(&key).is_some_and(|f| f.gen == gen) {
                self.stats.evicted += 1;
                self.finish(key, Reason::Evicted, out);
                return true;
            }
        }
        false
    }

    /// Removes a flow; pushes it to `out` if it holds packets.
    fn finish(&mut self, key: FlowKey, reason: Reason, out: &mut Vec<Finished>) {
        if let Some(mut boxed) = self.flows.remove(&key) {
            let flow = std::mem::take(&mut *boxed);
            self.keep_box(boxed);
            self.bytes = self
                .bytes
                .saturating_sub(flow.c2s.footprint() + flow.s2c.footprint());
            if flow.held.is_empty() {
                if self.spare.len() < SPARE_MAX {
                    let (mut held, mut c2s, mut s2c) = (flow.held, flow.c2s, flow.s2c);
                    held.clear();
                    c2s.reset();
                    s2c.reset();
                    self.spare.push((held, c2s, s2c));
                }
            } else {
                out.push(Finished {
                    key,
                    client: flow.client,
                    server: flow.server,
                    reason,
                    midstream: flow.midstream,
                    held: flow.held,
                    ifaces: flow.ifaces,
                    c2s: flow.c2s,
                    s2c: flow.s2c,
                });
            }
        }
    }

    /// Finishes flows whose hold time ran out, drops idle records and
    /// forgets old decisions. Call at least every few tens of milliseconds.
    pub fn expire(&mut self, now: u64, out: &mut Vec<Finished>) {
        while let Some(&(deadline, key, gen)) = self.deadlines.front() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_front();
            if self.flows.get(&key).is_some_and(|f| f.gen == gen) {
                self.finish(key, Reason::Time, out);
            }
        }
        // Idle sweep: look at a bounded number of the oldest records.
        for _ in 0..64 {
            let Some((key, gen)) = self.order.pop_front() else {
                break;
            };
            match self.flows.get(&key) {
                Some(f) if f.gen == gen => {
                    if f.held.is_empty()
                        && now.saturating_sub(f.last_seen_ms) >= self.bounds.idle_ms
                    {
                        if let Some(mut boxed) = self.flows.remove(&key) {
                            // Nothing held: its buffers go back for reuse.
                            let f = std::mem::take(&mut *boxed);
                            self.keep_box(boxed);
                            self.recycle_parts(f.held, f.c2s, f.s2c);
                        }
                        self.stats.idled += 1;
                    } else {
                        self.order.push_back((key, gen));
                        break;
                    }
                }
                _ => {}
            }
        }
        while let Some(&(key, at)) = self.decided_order.front() {
            if now.saturating_sub(at) <= self.bounds.decided_ttl_ms
                && self.decided.len() <= self.bounds.decided_cache
            {
                break;
            }
            self.decided_order.pop_front();
            if self.decided.get(&key).is_some_and(|&(_, t)| t == at) {
                self.decided.remove(&key);
            }
        }
    }

    /// Remembers a decision so packets of the flow that were already queued
    /// get the same mark.
    pub fn remember(&mut self, key: FlowKey, mark: u32, now: u64) {
        self.decided.insert(key, (mark, now));
        self.decided_order.push_back((key, now));
        while self.decided.len() > self.bounds.decided_cache {
            let Some((k, at)) = self.decided_order.pop_front() else {
                break;
            };
            if self.decided.get(&k).is_some_and(|&(_, t)| t == at) {
                self.decided.remove(&k);
            }
        }
    }

    /// Milliseconds until the next hold deadline, if any flow is held.
    pub fn next_deadline(&self, now: u64) -> Option<u64> {
        self.deadlines
            .front()
            .map(|&(d, _, _)| d.saturating_sub(now))
    }

    /// Finishes every flow that holds packets (shutdown).
    pub fn drain(&mut self, out: &mut Vec<Finished>) {
        let keys: Vec<FlowKey> = self.flows.keys().copied().collect();
        for key in keys {
            self.finish(key, Reason::Time, out);
        }
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
