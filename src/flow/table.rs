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
//!
//! Memory under floods: a flow that has only opened (a SYN, no payload
//! yet) is one slot of [`Records`] (key, links, its first sequence
//! numbers: 88 bytes, plus about 20 bytes of index buckets); the boxed
//! [`Flow`] with held packets and samples is made on its first payload
//! packet, from a pool. A SYN flood therefore costs slots, never buffers
//! (`benches/flood.rs` measures it). Nothing kept per flow outlives the
//! flow: the creation order is linked through the slots, and the hold
//! deadlines and remembered decisions are compacted in place before their
//! stale entries outnumber the live ones. Once the pools and maps are
//! warm, the packet path allocates nothing (`tests/alloc.rs`).

pub use super::bounds::{Bounds, Reason};
use super::decided::Decided;
use super::key::{Endpoint, FlowKey};
pub use super::outcome::{Finished, Footprint, Held, Ingest, Side, TableStats};
use super::reassembly::Stream;
use super::records::{Id, Records};
use crate::packet::{tcp_flags, Packet};
use crate::sniff::{classify, Input, Transport, Verdict, SAMPLE_MAX};
use std::collections::VecDeque;

/// What the table keeps of a pending flow.
#[derive(Debug)]
struct Entry {
    last_seen_ms: u64,
    /// The initiator is the key's `lo` endpoint.
    client_lo: bool,
    /// The flow's start was not seen.
    midstream: bool,
    state: State,
}

/// A pending flow before and after its first payload packet.
#[derive(Debug)]
enum State {
    /// Only packets without payload so far: the first sequence number
    /// (ISN + 1) of each direction, once a SYN gave it.
    Opened {
        client_base: Option<u32>,
        server_base: Option<u32>,
    },
    /// Payload seen: held packets and samples.
    Full(Box<Flow>),
}

/// The held part of a flow, from its first payload packet on.
#[derive(Debug, Default)]
struct Flow {
    first_held_ms: Option<u64>,
    held: Vec<Held>,
    ifaces: (u32, u32),
    c2s: Stream,
    s2c: Stream,
}

/// The (initiator, responder) endpoints of a key.
fn ends(key: &FlowKey, client_lo: bool) -> (Endpoint, Endpoint) {
    if client_lo {
        (key.lo, key.hi)
    } else {
        (key.hi, key.lo)
    }
}

/// (input, output) interfaces of the initiator's direction, from a packet.
fn ifaces_of(id: Held, from_client: bool) -> (u32, u32) {
    if from_client {
        (id.indev, id.outdev)
    } else {
        (id.outdev, id.indev)
    }
}

/// Most entries of a queue that may hold stale entries, with `live` live
/// ones, before it is compacted in place: compaction then removes at least
/// half, so its cost is amortised over the entries it removes.
fn slack(live: usize) -> usize {
    live.saturating_mul(2).saturating_add(64)
}

/// Recycled flow buffers kept for reuse (bounds the idle memory they pin).
const SPARE_MAX: usize = 256;

/// Records looked at per [`Table::expire`] call by the idle sweep.
const SWEEP: usize = 64;

/// The pending-flow table.
#[derive(Debug)]
pub struct Table {
    bounds: Bounds,
    records: Records<Entry>,
    /// Hold deadlines in order: (deadline, flow). One live entry per flow
    /// holding packets; stale ones are skipped and compacted.
    deadlines: VecDeque<(u64, Id)>,
    decided: Decided,
    stats: TableStats,
    /// Sample bytes of all pending flows.
    bytes: usize,
    /// Buffers of finished flows, for the next flows (no allocation per
    /// flow in steady state).
    spare: Vec<(Vec<Held>, Stream, Stream)>,
    /// Emptied flow boxes, for the next flows.
    #[allow(
        clippy::vec_box,
        reason = "a pool of the boxes the records point to: reusing one allocates nothing"
    )]
    boxes: Vec<Box<Flow>>,
    /// Flows in [`State::Full`].
    full: usize,
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
            records: Records::new(),
            deadlines: VecDeque::new(),
            decided: Decided::new(bounds.decided_cache, bounds.decided_ttl_ms),
            stats: TableStats::default(),
            bytes: 0,
            spare: Vec::with_capacity(SPARE_MAX),
            boxes: Vec::with_capacity(SPARE_MAX),
            full: 0,
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
    /// The flow index then costs about 20 bytes per flow (4-byte slot
    /// numbers); a slot 88 (touched only when used).
    pub fn reserve(&mut self, flows: usize) {
        let n = flows.min(self.bounds.max_flows);
        self.records.reserve(n);
        self.deadlines.reserve(
            slack(n)
                .saturating_add(1)
                .saturating_sub(self.deadlines.len()),
        );
        self.decided.reserve(n.max(1));
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

    /// The bounds in force.
    pub fn bounds(&self) -> Bounds {
        self.bounds
    }

    /// Counters so far.
    pub fn stats(&self) -> TableStats {
        self.stats
    }

    /// Sizes of the table's structures.
    pub fn footprint(&self) -> Footprint {
        let (decided, decided_queue) = self.decided.sizes();
        Footprint {
            flows: self.records.len(),
            full: self.full,
            slots: self.records.slots(),
            index_buckets: self.records.index_buckets(),
            deadlines: self.deadlines.len(),
            decided,
            decided_queue,
        }
    }

    /// Flows pending.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no flow is pending.
    pub fn is_empty(&self) -> bool {
        self.records.len() == 0
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
    ///
    /// A packet without payload (a SYN, in particular) always returns
    /// [`Ingest::Pass`] or [`Ingest::Decided`] and its `id` is never kept,
    /// except a FIN or RST that closes a flow holding packets
    /// ([`Ingest::Held`]). So a SYN that reached userspace without being
    /// queued (a copy through NFLOG, with a dummy id) may be fed here: it
    /// records the flow, its initiator (`side`) and its first sequence
    /// number, from which a later out-of-order first payload is
    /// reassembled.
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
        if syn && pkt.flags & tcp_flags::ACK == 0 {
            self.decided.forget(&key);
        } else if let Some(mark) = self.decided.get(&key, now) {
            return Ingest::Decided(mark);
        }
        let rid = match self.records.find(&key) {
            Some(rid) => rid,
            None if tcp && pkt.payload.is_empty() && !syn => return Ingest::Pass,
            None => match self.create(key, pkt, side, now, out) {
                Some(rid) => rid,
                None => return Ingest::Pass,
            },
        };
        let Some(e) = self.records.get_mut(rid) else {
            return Ingest::Pass;
        };
        e.last_seen_ms = now;
        let from_client = src == ends(&key, e.client_lo).0;
        if pkt.payload.is_empty() {
            self.empty(rid, pkt, from_client, id, out)
        } else {
            self.payload(rid, key, pkt, from_client, id, now, out)
        }
    }

    /// A packet without payload: a SYN records its direction's first
    /// sequence number; a FIN or RST ends the flow.
    fn empty(
        &mut self,
        rid: Id,
        pkt: &Packet<'_>,
        from_client: bool,
        id: Held,
        out: &mut Vec<Finished>,
    ) -> Ingest {
        let tcp = pkt.transport == Transport::Tcp;
        let syn = tcp && pkt.flags & tcp_flags::SYN != 0;
        let closing = tcp && pkt.flags & (tcp_flags::FIN | tcp_flags::RST) != 0;
        let Some(e) = self.records.get_mut(rid) else {
            return Ingest::Pass;
        };
        let base = pkt.seq.wrapping_add(1);
        let holds = match &mut e.state {
            State::Opened {
                client_base,
                server_base,
            } => {
                if syn {
                    *(if from_client {
                        client_base
                    } else {
                        server_base
                    }) = Some(base);
                }
                false
            }
            State::Full(flow) => {
                // A packet copied to userspace without being queued (an
                // NFLOG SYN) carries no interfaces: keep the known ones.
                if id.indev != 0 || id.outdev != 0 {
                    flow.ifaces = ifaces_of(id, from_client);
                }
                if syn {
                    let stream = if from_client {
                        &mut flow.c2s
                    } else {
                        &mut flow.s2c
                    };
                    stream.set_base(base);
                }
                !flow.held.is_empty()
            }
        };
        if syn || !closing {
            return Ingest::Pass;
        }
        if !holds {
            self.finish(rid, Reason::Closed, out);
            return Ingest::Pass;
        }
        if let Some(State::Full(flow)) = self.records.get_mut(rid).map(|e| &mut e.state) {
            flow.held.push(id);
        }
        self.finish(rid, Reason::Closed, out);
        Ingest::Held
    }

    /// A payload packet: held, its bytes placed in the sample, the flow
    /// judged.
    #[allow(clippy::too_many_arguments)]
    fn payload(
        &mut self,
        rid: Id,
        key: FlowKey,
        pkt: &Packet<'_>,
        from_client: bool,
        id: Held,
        now: u64,
        out: &mut Vec<Finished>,
    ) -> Ingest {
        self.make_full(rid);
        let tcp = pkt.transport == Transport::Tcp;
        let syn = tcp && pkt.flags & tcp_flags::SYN != 0;
        let ack = tcp && pkt.flags & tcp_flags::ACK != 0;
        let closing = tcp && pkt.flags & (tcp_flags::FIN | tcp_flags::RST) != 0;
        let Some(e) = self.records.get_mut(rid) else {
            return Ingest::Pass;
        };
        let (client_lo, midstream) = (e.client_lo, e.midstream);
        let State::Full(flow) = &mut e.state else {
            return Ingest::Pass;
        };
        flow.ifaces = ifaces_of(id, from_client);
        flow.held.push(id);
        let first = flow.first_held_ms.is_none();
        if first {
            flow.first_held_ms = Some(now);
        }
        let (stream, other) = if from_client {
            (&mut flow.c2s, &mut flow.s2c)
        } else {
            (&mut flow.s2c, &mut flow.c2s)
        };
        // Data on a SYN (TCP Fast Open) starts at ISN + 1.
        let seq = if syn {
            stream.set_base(pkt.seq.wrapping_add(1));
            pkt.seq.wrapping_add(1)
        } else {
            pkt.seq
        };
        // While a flow is undecided no payload crosses, so the peer has
        // acknowledged none: this packet's ack is the other side's first
        // sequence number (its SYN-ACK or SYN may not have been queued).
        if ack && !other.has_base() {
            other.set_base(pkt.ack);
        }
        let before = stream.footprint();
        match pkt.transport {
            Transport::Tcp => stream.add(seq, pkt.payload),
            // A UDP sample is the first datagram of each direction.
            Transport::Udp if stream.held_bytes() == 0 => stream.add(0, pkt.payload),
            Transport::Udp => {}
        }
        let grown = stream.footprint().saturating_sub(before);
        let reason = judge(&self.bounds, &key, client_lo, midstream, flow, closing);
        self.bytes += grown;
        if first {
            self.push_deadline(now.saturating_add(self.bounds.max_hold_ms), rid);
        }
        if let Some(reason) = reason {
            self.finish(rid, reason, out);
        }
        while self.bytes > self.bounds.max_total_bytes {
            if !self.evict_oldest(out) {
                break;
            }
            self.stats.evicted_bytes += 1;
        }
        Ingest::Held
    }

    /// Gives an opened flow its full record (from the pools), carrying the
    /// first sequence numbers over.
    fn make_full(&mut self, rid: Id) {
        let Some(e) = self.records.get_mut(rid) else {
            return;
        };
        let State::Opened {
            client_base,
            server_base,
        } = e.state
        else {
            return;
        };
        let (held, mut c2s, mut s2c) = self.spare.pop().unwrap_or_default();
        if let Some(b) = client_base {
            c2s.set_base(b);
        }
        if let Some(b) = server_base {
            s2c.set_base(b);
        }
        let mut boxed = self.boxes.pop().unwrap_or_default();
        *boxed = Flow {
            first_held_ms: None,
            held,
            ifaces: (0, 0),
            c2s,
            s2c,
        };
        e.state = State::Full(boxed);
        self.full += 1;
    }

    fn push_deadline(&mut self, at: u64, rid: Id) {
        if self.deadlines.len() >= slack(self.records.len()) {
            let records = &self.records;
            self.deadlines.retain(|&(_, r)| records.get(r).is_some());
        }
        self.deadlines.push_back((at, rid));
    }

    /// Records a new flow (evicting the oldest at the bound).
    fn create(
        &mut self,
        key: FlowKey,
        pkt: &Packet<'_>,
        side: Side,
        now: u64,
        out: &mut Vec<Finished>,
    ) -> Option<Id> {
        while self.records.len() >= self.bounds.max_flows {
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
        let client = if side == Side::Initiator {
            src
        } else if side == Side::Responder {
            dst
        } else if syn_only || !tcp {
            src
        } else if syn_ack || (pkt.sport < 1024 && pkt.dport >= 1024) {
            dst
        } else {
            src
        };
        let midstream = tcp && !syn_only;
        let rid = self.records.insert(
            key,
            Entry {
                last_seen_ms: now,
                client_lo: client == key.lo,
                midstream,
                state: State::Opened {
                    client_base: None,
                    server_base: None,
                },
            },
        )?;
        self.stats.created += 1;
        if midstream && !syn_ack {
            self.stats.midstream += 1;
        }
        Some(rid)
    }

    /// Evicts the oldest flow. False if there was none.
    fn evict_oldest(&mut self, out: &mut Vec<Finished>) -> bool {
        let Some(rid) = self.records.oldest() else {
            return false;
        };
        self.stats.evicted += 1;
        self.finish(rid, Reason::Evicted, out);
        true
    }

    /// Removes a flow; pushes it to `out` if it holds packets.
    fn finish(&mut self, rid: Id, reason: Reason, out: &mut Vec<Finished>) {
        let Some((key, e)) = self.records.remove(rid) else {
            return;
        };
        let State::Full(mut boxed) = e.state else {
            return;
        };
        self.full = self.full.saturating_sub(1);
        let flow = std::mem::take(&mut *boxed);
        if self.boxes.len() < SPARE_MAX {
            self.boxes.push(boxed);
        }
        self.bytes = self
            .bytes
            .saturating_sub(flow.c2s.footprint() + flow.s2c.footprint());
        if flow.held.is_empty() {
            self.recycle_parts(flow.held, flow.c2s, flow.s2c);
            return;
        }
        let (client, server) = ends(&key, e.client_lo);
        out.push(Finished {
            key,
            client,
            server,
            reason,
            midstream: e.midstream,
            held: flow.held,
            ifaces: flow.ifaces,
            c2s: flow.c2s,
            s2c: flow.s2c,
        });
    }

    /// Finishes flows whose hold time ran out, drops idle records and
    /// forgets old decisions. Call at least every few tens of milliseconds.
    pub fn expire(&mut self, now: u64, out: &mut Vec<Finished>) {
        while let Some(&(deadline, rid)) = self.deadlines.front() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_front();
            self.finish(rid, Reason::Time, out);
        }
        // Idle sweep: a bounded number of records per call, walking the
        // creation order round and round (the order itself is untouched,
        // so eviction still takes the oldest).
        for _ in 0..self.records.len().min(SWEEP) {
            let Some(rid) = self.records.sweep() else {
                break;
            };
            let idle = self.records.get(rid).is_some_and(|e| {
                let holds = matches!(&e.state, State::Full(f) if !f.held.is_empty());
                !holds && now.saturating_sub(e.last_seen_ms) >= self.bounds.idle_ms
            });
            if idle {
                // Nothing held: nothing goes to `out`.
                self.finish(rid, Reason::Time, out);
                self.stats.idled += 1;
            }
        }
        self.decided.expire(now);
    }

    /// Remembers a decision so packets of the flow that were already queued
    /// get the same mark.
    pub fn remember(&mut self, key: FlowKey, mark: u32, now: u64) {
        self.decided.remember(key, mark, now);
    }

    /// Milliseconds until the next hold deadline, if any flow is held.
    pub fn next_deadline(&self, now: u64) -> Option<u64> {
        self.deadlines.front().map(|&(d, _)| d.saturating_sub(now))
    }

    /// Finishes every flow that holds packets (shutdown).
    pub fn drain(&mut self, out: &mut Vec<Finished>) {
        for rid in self.records.ids() {
            self.finish(rid, Reason::Time, out);
        }
    }
}

/// Runs the detectors on a flow that just got bytes; a reason to finish
/// it, or `None` to keep holding.
fn judge(
    bounds: &Bounds,
    key: &FlowKey,
    client_lo: bool,
    midstream: bool,
    flow: &Flow,
    closing: bool,
) -> Option<Reason> {
    let bound = if flow.held.len() >= bounds.max_packets {
        Some(Reason::Packets)
    } else if flow.c2s.held_bytes() >= bounds.max_bytes || flow.s2c.held_bytes() >= bounds.max_bytes
    {
        Some(Reason::Bytes)
    } else if closing {
        Some(Reason::Closed)
    } else {
        None
    };
    let (client, server) = ends(key, client_lo);
    let input = Input {
        client: flow.c2s.contiguous(),
        server: flow.s2c.contiguous(),
        transport: key.transport,
        client_port: client.port,
        server_port: server.port,
        // A held UDP datagram gets no answer: decide on it now.
        complete: bound.is_some() || key.transport == Transport::Udp,
    };
    match classify(&input, midstream) {
        Verdict::Identified(_) => Some(Reason::Identified),
        Verdict::Unknown { .. } => Some(bound.unwrap_or(Reason::Unknown)),
        Verdict::NeedMore => bound,
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
