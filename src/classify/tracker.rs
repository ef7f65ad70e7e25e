//! The capture-long memory of flows: one entry per 5-tuple from its first
//! packet until it ends, so that every flow gives exactly one record.
//!
//! The pending table ([`crate::flow::Table`]) forgets a flow once it is
//! decided; the datapath then relies on the conntrack mark. Offline there is
//! no conntrack, so this tracker plays its part: it counts every packet and
//! byte of a flow, keeps the decision once the table made it, and tells the
//! caller to stop feeding the table for decided flows.
//!
//! An entry ends (and is handed out for its record) when:
//! - the flow closed (RST, or FIN from both sides) and a linger time passed
//!   without a new SYN on the same tuple (late ACKs and retransmissions
//!   fall into the linger and are counted, not made a second flow);
//! - a new SYN arrives on a closed tuple (port reuse): the old entry ends
//!   at once;
//! - it was idle longer than its transport's idle time;
//! - the tracker is full ([`Limits::max_flows`]): the least recently
//!   queued entry ends early, marked `evicted`;
//! - the capture ends.
//!
//! Memory is therefore bounded by `max_flows` entries of fixed size plus
//! their metadata strings (each capped), whatever the capture's length.
//! Pure: `now` (capture time, ms) is passed in.

use crate::flow::{Endpoint, FlowKey};
use crate::packet::{tcp_flags, Packet};
use crate::policy::Subject;
use crate::sniff::Transport;
use std::collections::{HashMap, VecDeque};

/// Bounds on the tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Flows remembered at once; beyond this the oldest ends early.
    pub max_flows: usize,
    /// A TCP flow with no packet for this long ends.
    pub tcp_idle_ms: u64,
    /// A UDP flow with no packet for this long ends.
    pub udp_idle_ms: u64,
    /// How long a closed TCP flow still collects stray packets.
    pub linger_ms: u64,
    /// After its record is written, how long a closed TCP flow's tuple
    /// still absorbs stragglers without a SYN (as TIME_WAIT does).
    pub tomb_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_flows: 1 << 20,
            tcp_idle_ms: 600_000,
            udp_idle_ms: 120_000,
            linger_ms: 5_000,
            tomb_ms: 120_000,
        }
    }
}

/// How a flow's record came to be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// FIN from both sides.
    Fin,
    /// RST.
    Rst,
    /// No packet for the idle time.
    Idle,
    /// The tracker was full.
    Evicted,
    /// The capture ended.
    Eof,
}

impl End {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            End::Fin => "fin",
            End::Rst => "rst",
            End::Idle => "idle",
            End::Evicted => "evicted",
            End::Eof => "eof",
        }
    }
}

/// What the detectors and the pending table concluded about a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The initiator (after a detector's swap of sides).
    pub client: Endpoint,
    /// The responder.
    pub server: Endpoint,
    /// Policy subject: the protocol, or why there is none.
    pub subject: Subject,
    /// Why the table decided when it did (`identified`, `packet-bound`...).
    pub reason: &'static str,
    /// The flow's start was not seen.
    pub midstream: bool,
    /// Unknown bytes that look encrypted.
    pub encrypted: bool,
    /// Metadata as text (each capped at 256 bytes).
    pub meta: TextMeta,
}

/// Metadata of a flow as owned text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextMeta {
    /// TLS/QUIC/DTLS server name.
    pub sni: Option<String>,
    /// First ALPN offered.
    pub alpn: Option<String>,
    /// HTTP Host or CONNECT target.
    pub host: Option<String>,
    /// HTTP method or first command.
    pub method: Option<String>,
    /// Software in a banner.
    pub software: Option<String>,
    /// Protocol version as the protocol encodes it.
    pub version: Option<u32>,
}

/// A flow that ended, ready for its record.
#[derive(Clone, Debug)]
pub struct Done {
    /// The flow's key.
    pub key: FlowKey,
    /// Initiator as the packets say (SYN sender, or a guess).
    pub client: Endpoint,
    /// Responder as the packets say.
    pub server: Endpoint,
    /// The decision, if the flow carried payload.
    pub outcome: Option<Outcome>,
    /// Packets seen.
    pub packets: u64,
    /// Bytes on the wire (IP header and payload).
    pub bytes: u64,
    /// First packet, ms.
    pub first_ms: u64,
    /// Last packet, ms.
    pub last_ms: u64,
    /// Why the record was written now.
    pub end: End,
    /// The tunnel the flow was found in, if any.
    pub tunnel: Option<&'static str>,
}

#[derive(Debug)]
struct Entry {
    gen: u64,
    client: Endpoint,
    server: Endpoint,
    syn_seen: bool,
    first_ms: u64,
    last_ms: u64,
    packets: u64,
    bytes: u64,
    fin_lo: bool,
    fin_hi: bool,
    closed: Option<End>,
    outcome: Option<Outcome>,
    tunnel: Option<&'static str>,
}

/// Flows of a capture from first packet to record.
#[derive(Debug)]
pub struct Tracker {
    limits: Limits,
    flows: HashMap<FlowKey, Entry>,
    /// Per transport: (key, generation, last activity when queued).
    idle: [VecDeque<(FlowKey, u64, u64)>; 2],
    /// Closed flows: (key, generation, closed at).
    closed: VecDeque<(FlowKey, u64, u64)>,
    /// Tuples of closed flows already written: key to close time.
    tombs: HashMap<FlowKey, u64>,
    tomb_order: VecDeque<(FlowKey, u64)>,
    strays: u64,
    next_gen: u64,
}

fn lane(t: Transport) -> usize {
    match t {
        Transport::Tcp => 0,
        Transport::Udp => 1,
    }
}

impl Tracker {
    /// An empty tracker.
    pub fn new(limits: Limits) -> Self {
        Tracker {
            limits: Limits {
                max_flows: limits.max_flows.max(1),
                ..limits
            },
            flows: HashMap::new(),
            idle: [VecDeque::new(), VecDeque::new()],
            closed: VecDeque::new(),
            tombs: HashMap::new(),
            tomb_order: VecDeque::new(),
            strays: 0,
            next_gen: 0,
        }
    }

    /// Flows remembered now.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Packets of already-written closed flows that were absorbed.
    pub fn strays(&self) -> u64 {
        self.strays
    }

    /// Whether no flow is remembered.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Counts a packet. Returns true when the flow is undecided and the
    /// packet must go to the pending table. Flows that end because of this
    /// packet (port reuse, a full tracker) are pushed to `done`.
    pub fn packet(
        &mut self,
        pkt: &Packet<'_>,
        wire_len: u64,
        tunnel: Option<&'static str>,
        now: u64,
        done: &mut Vec<Done>,
    ) -> bool {
        let (key, src, dst) = FlowKey::of(pkt);
        let tcp = pkt.transport == Transport::Tcp;
        let syn_only = pkt.is_opening_syn();
        if syn_only && self.flows.get(&key).is_some_and(|e| e.closed.is_some()) {
            self.end(key, None, done);
        }
        if !self.flows.contains_key(&key) {
            if let Some(&closed_at) = self.tombs.get(&key) {
                if !syn_only && now.saturating_sub(closed_at) < self.limits.tomb_ms {
                    // A straggler of a flow already written (a late RST or
                    // retransmitted FIN): not a new flow.
                    self.strays += 1;
                    return false;
                }
                self.tombs.remove(&key);
            }
            self.create(key, pkt, tunnel, now, done);
        }
        let Some(e) = self.flows.get_mut(&key) else {
            return false;
        };
        e.packets += 1;
        e.bytes = e.bytes.saturating_add(wire_len);
        e.last_ms = e.last_ms.max(now);
        if syn_only && !e.syn_seen && e.outcome.is_none() {
            e.syn_seen = true;
            e.client = src;
            e.server = dst;
        }
        if tcp && e.closed.is_none() {
            if pkt.flags & tcp_flags::RST != 0 {
                e.closed = Some(End::Rst);
            } else if pkt.flags & tcp_flags::FIN != 0 {
                if src == key.lo {
                    e.fin_lo = true;
                } else {
                    e.fin_hi = true;
                }
                if e.fin_lo && e.fin_hi {
                    e.closed = Some(End::Fin);
                }
            }
            if e.closed.is_some() {
                self.closed.push_back((key, e.gen, now));
            }
        }
        e.outcome.is_none()
    }

    fn create(
        &mut self,
        key: FlowKey,
        pkt: &Packet<'_>,
        tunnel: Option<&'static str>,
        now: u64,
        done: &mut Vec<Done>,
    ) {
        let src = Endpoint {
            ip: pkt.src,
            port: pkt.sport,
        };
        let dst = Endpoint {
            ip: pkt.dst,
            port: pkt.dport,
        };
        while self.flows.len() >= self.limits.max_flows {
            if !self.evict_one(done) {
                break;
            }
        }
        let tcp = pkt.transport == Transport::Tcp;
        let syn_ack = pkt.is_syn_ack();
        // Same guess as the pending table when the SYN was not seen.
        let (client, server) = if syn_ack || (tcp && pkt.sport < 1024 && pkt.dport >= 1024) {
            (dst, src)
        } else {
            (src, dst)
        };
        self.next_gen += 1;
        let gen = self.next_gen;
        self.flows.insert(
            key,
            Entry {
                gen,
                client,
                server,
                syn_seen: false,
                first_ms: now,
                last_ms: now,
                packets: 0,
                bytes: 0,
                fin_lo: false,
                fin_hi: false,
                closed: None,
                outcome: None,
                tunnel,
            },
        );
        self.idle[lane(key.transport)].push_back((key, gen, now));
    }

    /// Makes room for one flow: ends the closed flow that closed first
    /// (its record is complete anyway), else the entry queued longest ago
    /// (either transport), marked evicted.
    fn evict_one(&mut self, done: &mut Vec<Done>) -> bool {
        while let Some((key, gen, _)) = self.closed.pop_front() {
            if self.flows.get(&key).is_some_and(|e| e.gen == gen) {
                self.end(key, None, done);
                return true;
            }
        }
        loop {
            let front = |q: &VecDeque<(FlowKey, u64, u64)>| q.front().map(|&(_, _, t)| t);
            let l = match (front(&self.idle[0]), front(&self.idle[1])) {
                (None, None) => return false,
                (Some(_), None) => 0,
                (None, Some(_)) => 1,
                (Some(a), Some(b)) => usize::from(b < a),
            };
            let Some((key, gen, _)) = self.idle.get_mut(l).and_then(|q| q.pop_front()) else {
                return false;
            };
            if self.flows.get(&key).is_some_and(|e| e.gen == gen) {
                self.end(key, Some(End::Evicted), done);
                return true;
            }
        }
    }

    /// Attaches the table's decision to a flow. A flow the tracker no longer
    /// knows (ended early under memory pressure) gets a fresh entry.
    pub fn decide(&mut self, key: FlowKey, outcome: Outcome, now: u64, done: &mut Vec<Done>) {
        if !self.flows.contains_key(&key) {
            while self.flows.len() >= self.limits.max_flows {
                if !self.evict_one(done) {
                    break;
                }
            }
            self.next_gen += 1;
            let gen = self.next_gen;
            self.flows.insert(
                key,
                Entry {
                    gen,
                    client: outcome.client,
                    server: outcome.server,
                    syn_seen: false,
                    first_ms: now,
                    last_ms: now,
                    packets: 0,
                    bytes: 0,
                    fin_lo: false,
                    fin_hi: false,
                    closed: None,
                    outcome: None,
                    tunnel: None,
                },
            );
            self.idle[lane(key.transport)].push_back((key, gen, now));
        }
        if let Some(e) = self.flows.get_mut(&key) {
            if e.outcome.is_none() {
                e.outcome = Some(outcome);
            }
        }
    }

    /// Ends closed flows whose linger passed and idle flows.
    pub fn sweep(&mut self, now: u64, done: &mut Vec<Done>) {
        while let Some(&(key, gen, at)) = self.closed.front() {
            if now.saturating_sub(at) < self.limits.linger_ms {
                break;
            }
            self.closed.pop_front();
            if self.flows.get(&key).is_some_and(|e| e.gen == gen) {
                self.end(key, None, done);
                self.tombs.insert(key, at);
                self.tomb_order.push_back((key, at));
            }
        }
        while let Some(&(key, at)) = self.tomb_order.front() {
            if now.saturating_sub(at) < self.limits.tomb_ms
                && self.tombs.len() <= self.limits.max_flows
            {
                break;
            }
            self.tomb_order.pop_front();
            if self.tombs.get(&key) == Some(&at) {
                self.tombs.remove(&key);
            }
        }
        for l in 0..2 {
            let idle_ms = if l == 0 {
                self.limits.tcp_idle_ms
            } else {
                self.limits.udp_idle_ms
            };
            while let Some(&(key, gen, at)) = self.idle.get(l).and_then(|q| q.front()) {
                if now.saturating_sub(at) < idle_ms {
                    break;
                }
                if let Some(q) = self.idle.get_mut(l) {
                    q.pop_front();
                }
                let last = match self.flows.get(&key) {
                    Some(e) if e.gen == gen => e.last_ms,
                    _ => continue,
                };
                if now.saturating_sub(last) >= idle_ms {
                    self.end(key, Some(End::Idle), done);
                } else if let Some(q) = self.idle.get_mut(l) {
                    // Touched since it was queued: queue it again by its
                    // last activity.
                    q.push_back((key, gen, last));
                }
            }
        }
    }

    /// Ends every flow (end of capture).
    pub fn drain(&mut self, done: &mut Vec<Done>) {
        let mut keys: Vec<(u64, FlowKey)> = self.flows.iter().map(|(k, e)| (e.gen, *k)).collect();
        keys.sort_unstable_by_key(|&(g, _)| g);
        for (_, key) in keys {
            self.end(key, Some(End::Eof), done);
        }
        self.idle = [VecDeque::new(), VecDeque::new()];
        self.closed.clear();
        self.tombs.clear();
        self.tomb_order.clear();
    }

    /// Removes a flow and hands it out. `why` overrides a close reason.
    fn end(&mut self, key: FlowKey, why: Option<End>, done: &mut Vec<Done>) {
        let Some(e) = self.flows.remove(&key) else {
            return;
        };
        let end = match (e.closed, why) {
            (Some(c), None | Some(End::Eof)) => c,
            (_, Some(w)) => w,
            (None, None) => End::Idle,
        };
        done.push(Done {
            key,
            client: e.client,
            server: e.server,
            outcome: e.outcome,
            packets: e.packets,
            bytes: e.bytes,
            first_ms: e.first_ms,
            last_ms: e.last_ms,
            end,
            tunnel: e.tunnel,
        });
    }
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
