//! One queue's receive loop: parse, hold, decide, verdict.
//!
//! Nothing escapes this loop: a packet that does not parse gets the
//! policy's undecided action and a counter; a receive error is counted and
//! the loop goes on; every held packet gets a verdict (decided, bound hit,
//! evicted, or drained at shutdown).

use super::counters::{add, inc, Counters};
use super::netlink::poll;
use super::nflog::NfLog;
use super::nfqueue::{verdict, NfQueue, QueueConfig, QueuedPacket, Verdicts};
use crate::events::{rfc3339, text, EventSink, FlowEvent};
use crate::flow::{Bounds, Finished, Held, Ingest, Judgement, Side, Table, TableStats};
use crate::packet;
use crate::policy::{Action, Decision, Policy};
use crate::rules::{
    MARK_ALLOW, MARK_DROP, MARK_MASK, MARK_PASS, MARK_QUEUED, MARK_QUEUED_REPLY, MARK_REJECT,
};
use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// Everything one worker needs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The queue to bind.
    pub queue: QueueConfig,
    /// Holding bounds.
    pub bounds: Bounds,
    /// Emit an event for every decision, not only non-allow ones.
    pub log_all: bool,
    /// Pin the worker to this CPU.
    pub cpu: Option<usize>,
    /// The NFLOG group the rules copy this queue's opening SYNs to
    /// (`--handshake log`); none when SYNs are queued.
    pub syn_log: Option<u16>,
}

/// The mark bits for an action.
pub fn mark_of(a: Action) -> u32 {
    match a {
        Action::Allow | Action::Alert => MARK_ALLOW,
        Action::Drop => MARK_DROP,
        Action::Reject => MARK_REJECT,
        // A flow in the queue is already bound to its destination: one
        // decided `redirect` here was not diverted to the stream proxy
        // (established before the divert rules, or UDP). Deny it, never
        // allow it; `settle` reports it as a reject.
        Action::Redirect => MARK_REJECT,
    }
}

fn with_bits(orig: u32, bits: u32) -> u32 {
    (orig & !MARK_MASK) | bits
}

struct Ctx<'a> {
    policy: &'a ArcSwap<Policy>,
    counters: &'a Counters,
    events: &'a EventSink,
    log_all: bool,
}

/// Binds the queue and runs until `stop` is set.
pub fn run_worker(
    cfg: WorkerConfig,
    policy: Arc<ArcSwap<Policy>>,
    counters: Arc<Counters>,
    events: EventSink,
    stop: Arc<AtomicBool>,
    ready: std::sync::mpsc::Sender<std::io::Result<()>>,
) -> std::io::Result<()> {
    if let Some(cpu) = cfg.cpu {
        if let Err(e) = super::affinity::pin_current_thread(cpu) {
            let _ = ready.send(Err(std::io::Error::other(format!(
                "pinning queue {} to CPU {cpu}: {e}",
                cfg.queue.num
            ))));
            return Err(e);
        }
    }
    let opened = NfQueue::open(cfg.queue).and_then(|q| {
        let log = match cfg.syn_log {
            Some(g) => Some(NfLog::open(g, 4 << 20).map_err(|e| {
                std::io::Error::new(e.kind(), format!("binding SYN log group {g}: {e}"))
            })?),
            None => None,
        };
        Ok((q, log))
    });
    let (mut q, mut log) = match opened {
        Ok(v) => {
            let _ = ready.send(Ok(()));
            v
        }
        Err(e) => {
            let msg = e.to_string();
            let _ = ready.send(Err(e));
            return Err(std::io::Error::other(msg));
        }
    };
    let mut table = Table::new(cfg.bounds);
    table.reserve(4096);
    let mut out: Vec<Finished> = Vec::with_capacity(64);
    let mut seen = TableStats::default();
    let start = Instant::now();
    let ctx = Ctx {
        policy: &policy,
        counters: &counters,
        events: &events,
        log_all: cfg.log_all,
    };
    while !stop.load(Ordering::Relaxed) {
        let now = start.elapsed().as_millis() as u64;
        let timeout = table.next_deadline(now).map_or(100, |d| d.clamp(1, 100)) as i32;
        // One clock read per drained batch, taken after the wait.
        let mut batch_now = None;
        // With the SYN log, both sockets are polled and the log is read
        // first on every turn: a flow's SYN was logged an RTT before its
        // first payload was queued.
        let queue_ready = match log.as_mut() {
            None => None,
            Some(log) => {
                let [log_ready, queue_ready] = if q.more() {
                    [true, true]
                } else {
                    poll(&[log.socket(), q.socket()], timeout).unwrap_or([true, true])
                };
                if log_ready {
                    let now = start.elapsed().as_millis() as u64;
                    match log.drain(|raw| on_syn(&ctx, &mut table, &mut out, raw, now)) {
                        Ok(_) => {}
                        Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                            inc(&counters.syn_log_lost)
                        }
                        Err(_) => inc(&counters.recv_errors),
                    }
                    if !out.is_empty() {
                        let mut v = q.verdicts();
                        settle(&ctx, &mut table, &mut out, &mut v, now);
                    }
                }
                Some(queue_ready)
            }
        };
        let mut on_queued = |v: &mut Verdicts<'_>, p: QueuedPacket<'_>| {
            let now = *batch_now.get_or_insert_with(|| start.elapsed().as_millis() as u64);
            on_packet(&ctx, &mut table, &mut out, v, p, now);
        };
        let res = match queue_ready {
            None => q.recv(timeout, &mut on_queued),
            Some(true) => q.recv_ready(&mut on_queued),
            Some(false) => Ok(0),
        };
        match res {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => inc(&counters.enobufs),
            Err(_) => {
                inc(&counters.recv_errors);
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        let now = batch_now.unwrap_or_else(|| start.elapsed().as_millis() as u64);
        table.expire(now, &mut out);
        if !out.is_empty() {
            let mut v = q.verdicts();
            settle(&ctx, &mut table, &mut out, &mut v, now);
        }
        if q.flush().is_err() {
            inc(&counters.verdict_errors);
        }
        let st = table.stats();
        add(&counters.evictions, st.evicted - seen.evicted);
        add(
            &counters.evictions_bytes,
            st.evicted_bytes - seen.evicted_bytes,
        );
        seen = st;
    }
    // Shutdown: every held packet still gets a verdict.
    table.drain(&mut out);
    let now = start.elapsed().as_millis() as u64;
    let mut v = q.verdicts();
    settle(&ctx, &mut table, &mut out, &mut v, now);
    let _ = q.flush();
    let _ = q.unbind();
    if let Some(l) = log.as_mut() {
        let _ = l.unbind();
    }
    Ok(())
}

/// A copy of an opening SYN from the SYN log: records the flow (its
/// initiator and first sequence number). Nothing is held or given a
/// verdict: the SYN went on in the kernel.
fn on_syn(ctx: &Ctx<'_>, table: &mut Table, out: &mut Vec<Finished>, raw: &[u8], now: u64) {
    let Ok(pkt) = packet::parse(raw) else {
        inc(&ctx.counters.parse_errors);
        return;
    };
    // The rules only log opening SYNs without payload; anything else is
    // ignored here (a payload is judged when it is queued).
    if !pkt.is_opening_syn() || !pkt.payload.is_empty() {
        return;
    }
    inc(&ctx.counters.syns_logged);
    let copy = Held::bare(0);
    let _ = table.ingest_from(&pkt, Side::Initiator, copy, now, out);
}

fn on_packet(
    ctx: &Ctx<'_>,
    table: &mut Table,
    out: &mut Vec<Finished>,
    v: &mut Verdicts<'_>,
    p: QueuedPacket<'_>,
    now: u64,
) {
    inc(&ctx.counters.packets);
    let pkt = match packet::parse(p.payload) {
        Ok(pkt) => pkt,
        Err(_) => {
            inc(&ctx.counters.parse_errors);
            let a = ctx.policy.load().undecided_action();
            let (verdict, mark) = if a.passes() {
                (verdict::REPEAT, Some(with_bits(p.mark, MARK_PASS)))
            } else {
                (verdict::DROP, None)
            };
            v.push(p.id, verdict, mark);
            return;
        }
    };
    // The rules mark each queued packet with its conntrack direction.
    let side = match p.mark & MARK_MASK {
        MARK_QUEUED => Side::Initiator,
        MARK_QUEUED_REPLY => Side::Responder,
        _ => Side::Unknown,
    };
    match table.ingest_from(
        &pkt,
        side,
        Held {
            id: p.id,
            mark: p.mark,
            indev: p.indev,
            outdev: p.outdev,
        },
        now,
        out,
    ) {
        Ingest::Pass => {
            inc(&ctx.counters.passed);
            v.push(p.id, verdict::REPEAT, Some(with_bits(p.mark, MARK_PASS)));
        }
        Ingest::Held => inc(&ctx.counters.held),
        Ingest::Decided(bits) => {
            inc(&ctx.counters.late);
            v.push(p.id, verdict::REPEAT, Some(with_bits(p.mark, bits)));
        }
    }
    if !out.is_empty() {
        settle(ctx, table, out, v, now);
    }
}

/// Decides every finished flow, gives verdicts for its held packets and
/// remembers the decision briefly.
fn settle(
    ctx: &Ctx<'_>,
    table: &mut Table,
    out: &mut Vec<Finished>,
    v: &mut Verdicts<'_>,
    now: u64,
) {
    let policy = ctx.policy.load();
    for f in out.drain(..) {
        let j = f.judge();
        let mut d = policy.decide(&j.facts(f.key.transport));
        if d.action == Action::Redirect {
            inc(&ctx.counters.redirect_rejected);
            d.action = Action::Reject;
        }
        let bits = mark_of(d.action);
        for h in &f.held {
            v.push(h.id, verdict::REPEAT, Some(with_bits(h.mark, bits)));
        }
        table.remember(f.key, bits, now);
        let c = ctx.counters;
        inc(match d.action {
            Action::Allow => &c.flows_allowed,
            Action::Alert => &c.flows_alerted,
            Action::Drop => &c.flows_dropped,
            Action::Reject | Action::Redirect => &c.flows_rejected,
        });
        if f.reason.is_bound() {
            inc(&c.flows_bound);
        }
        if f.reason == crate::flow::Reason::Evicted {
            inc(&c.flows_evicted);
        }
        if ctx.log_all || d.action != Action::Allow {
            ctx.events.emit(event(&policy, &f, &j, &d));
        }
        table.recycle(f);
    }
}

fn event(policy: &Policy, f: &Finished, j: &Judgement<'_>, d: &Decision) -> FlowEvent {
    let class = j.class;
    let meta = class.map(|c| c.meta).unwrap_or_default();
    FlowEvent {
        timestamp: rfc3339(SystemTime::now()),
        event_type: "flow",
        src_ip: j.client.ip.to_string(),
        src_port: j.client.port,
        dest_ip: j.server.ip.to_string(),
        dest_port: j.server.port,
        proto: f.key.transport.name(),
        app_proto: class.map_or("unknown", |c| c.proto.name()).to_string(),
        action: d.action.name(),
        policy_action: (d.action != d.policy_action).then(|| d.policy_action.name()),
        rule: policy.rule_name(d.rule).to_string(),
        reason: f.reason.name(),
        policy_version: policy.version,
        mitre_technique: d.t1571.then_some("T1571"),
        encrypted: j.encrypted,
        midstream: f.midstream,
        sni: text(meta.sni),
        alpn: text(meta.alpn),
        host: text(meta.host),
        software: text(meta.software),
        redirect: None,
        proxied: false,
    }
}
