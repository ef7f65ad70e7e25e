//! Offline classification of a capture: the datapath's flow, reassembly
//! and detection code run over a pcap or pcapng file, one record per flow.
//!
//! Each frame is decoded to IP ([`link`]), parsed with
//! [`crate::packet::parse`] and fed to the same pending table as the
//! datapath ([`crate::flow::Table`], same [`Bounds`]) with the capture's
//! timestamps as `now` and synthetic packet ids. What the table finishes
//! is classified with [`crate::flow::Finished::classify`] and, with a
//! policy, decided with [`crate::policy::Policy::decide`], exactly as a
//! worker would. The [`tracker`] stands in for conntrack: it keeps each
//! decided flow until it ends, so a flow yields one record however long
//! it runs, and memory stays bounded whatever the capture's size.
//!
//! Nothing here may panic on a capture's bytes: unknown link types,
//! non-IP frames and packets that do not parse are counted in the
//! [`Summary`].

pub mod link;
pub mod output;
pub mod source;
pub mod tracker;
pub mod tunnel;

use crate::events::{rfc3339, text};
use crate::flow::{Bounds, Finished, Held, Table};
use crate::policy::{Facts, Policy, Subject};
use output::Record;
use source::Capture;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};
use tracker::{Done, Limits, Outcome, TextMeta, Tracker};
use tunnel::Tunnel;

/// Why a capture could not be classified.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The capture file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a pcap or pcapng capture.
    #[error("{path}: not a capture: {what}")]
    Format {
        /// The capture file.
        path: String,
        /// What was wrong.
        what: String,
    },
    /// The capture's framing broke part-way (truncated or corrupt).
    #[error("{path}: capture damaged: {what}")]
    Damaged {
        /// The capture file.
        path: String,
        /// What the reader said.
        what: String,
    },
    /// Writing a record failed (a closed pipe, a full disk).
    #[error("writing records: {0}")]
    Output(#[from] std::io::Error),
}

/// How to classify.
#[derive(Debug)]
pub struct Options {
    /// The capture file.
    pub path: PathBuf,
    /// Decide each flow with this policy (adds action, rule, technique).
    pub policy: Option<Policy>,
    /// The pending table's bounds (the datapath's defaults unless changed).
    pub bounds: Bounds,
    /// The flow tracker's bounds.
    pub limits: Limits,
}

/// Counts of what was read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Frames in the capture.
    pub frames: u64,
    /// Frames that carried a TCP or UDP packet that parsed.
    pub packets: u64,
    /// Records written.
    pub flows: u64,
    /// Frames without IP, by reason (link type, ethertype...).
    pub link_errors: BTreeMap<String, u64>,
    /// IP packets that did not parse as TCP/UDP, by reason.
    pub packet_errors: BTreeMap<String, u64>,
    /// pcapng blocks skipped as undecodable.
    pub bad_blocks: u64,
    /// The read ended early because the file is damaged (the records
    /// written are those of the part that could be read).
    pub damaged: Option<String>,
    /// Most flows remembered at once.
    pub peak_flows: usize,
    /// Stray packets of closed flows already written (late RSTs...).
    pub strays: u64,
}

/// The state of one run over a capture.
struct Run<'o> {
    opts: &'o Options,
    pcap: String,
    table: Table,
    tracker: Tracker,
    finished: Vec<Finished>,
    done: Vec<Done>,
    id: u32,
    s: Summary,
}

impl Run<'_> {
    /// Feeds one IP packet (outer, or found inside a tunnel) to the
    /// tracker and, while its flow is undecided, to the pending table.
    /// The parse error, as text, if it is not a TCP/UDP packet.
    fn ip(&mut self, ip: &[u8], wire: u64, tunnel: Option<Tunnel>, now: u64) -> Result<(), String> {
        let pkt = crate::packet::parse(ip).map_err(|e| e.to_string())?;
        self.s.packets += 1;
        let tag = tunnel.map(Tunnel::name);
        if self.tracker.packet(&pkt, wire, tag, now, &mut self.done) {
            self.id = self.id.wrapping_add(1);
            // A capture has no interface indexes: `iif`/`oif` rules do not
            // match offline.
            let held = Held::bare(self.id);
            self.table.ingest(&pkt, held, now, &mut self.finished);
        }
        Ok(())
    }

    /// Hands the records of ended flows to `emit`.
    fn flush(
        &mut self,
        emit: &mut dyn FnMut(&Record) -> std::io::Result<()>,
    ) -> Result<(), ClassifyError> {
        for d in self.done.drain(..) {
            self.s.flows += 1;
            emit(&record(&self.pcap, &d, self.opts.policy.as_ref()))?;
        }
        Ok(())
    }
}

/// Most tunnel layers followed inside one frame.
const MAX_TUNNELS: usize = 4;

/// Classifies a capture, handing each record to `emit` as its flow ends.
/// `progress` is called now and then with (bytes read, file size, flows
/// open).
pub fn run(
    opts: &Options,
    emit: &mut dyn FnMut(&Record) -> std::io::Result<()>,
    progress: &mut dyn FnMut(u64, u64, usize),
) -> Result<Summary, ClassifyError> {
    let cap = Capture::open(&opts.path)?;
    run_capture(cap, opts, emit, progress)
}

/// [`run`] over a capture already open (from a file or from memory);
/// `opts.path` only names the records' `pcap`.
pub fn run_capture(
    mut cap: Capture,
    opts: &Options,
    emit: &mut dyn FnMut(&Record) -> std::io::Result<()>,
    progress: &mut dyn FnMut(u64, u64, usize),
) -> Result<Summary, ClassifyError> {
    let mut r = Run {
        opts,
        pcap: base_name(&opts.path),
        table: Table::new(opts.bounds),
        tracker: Tracker::new(opts.limits),
        finished: Vec::new(),
        done: Vec::new(),
        id: 0,
        s: Summary::default(),
    };
    let mut now_ms = 0u64;
    let mut last_sweep = 0u64;
    loop {
        let frame = match cap.next_frame() {
            None => break,
            Some(Ok(f)) => f,
            Some(Err(e)) => {
                r.s.damaged = Some(format!("{e} (after frame {})", r.s.frames));
                break;
            }
        };
        r.s.frames += 1;
        // Capture time, never going backwards (captures merged from
        // several interfaces can be slightly out of order).
        now_ms = now_ms.max(frame.ts_ns / 1_000_000);
        match link::ip_payload(frame.linktype, frame.data) {
            Ok(ip) => {
                let link_len = frame.data.len().saturating_sub(ip.len()) as u64;
                let wire = u64::from(frame.orig_len).saturating_sub(link_len);
                let outer = r.ip(ip, wire, None, now_ms);
                // Flows inside tunnels, each layer in turn.
                let mut cur = ip;
                let mut first: Option<Tunnel> = None;
                let mut last_err = outer.err();
                for _ in 0..MAX_TUNNELS {
                    let Some((t, inner)) = tunnel::inner(cur) else {
                        break;
                    };
                    let t = *first.get_or_insert(t);
                    last_err = r.ip(inner, inner.len() as u64, Some(t), now_ms).err();
                    cur = inner;
                }
                if let Some(e) = last_err {
                    *r.s.packet_errors.entry(e).or_default() += 1;
                }
            }
            Err(e) => *r.s.link_errors.entry(e.to_string()).or_default() += 1,
        }
        if now_ms != last_sweep {
            last_sweep = now_ms;
            r.table.expire(now_ms, &mut r.finished);
            r.tracker.sweep(now_ms, &mut r.done);
        }
        settle(&mut r.finished, &mut r.tracker, now_ms, None, &mut r.done);
        r.s.peak_flows = r.s.peak_flows.max(r.tracker.len());
        r.flush(emit)?;
        if r.s.frames % 4096 == 0 {
            progress(cap.bytes_read(), cap.size, r.tracker.len());
        }
    }
    // End of capture: what is still held is decided on what it has.
    r.table.drain(&mut r.finished);
    settle(
        &mut r.finished,
        &mut r.tracker,
        now_ms,
        Some("end-of-capture"),
        &mut r.done,
    );
    r.tracker.drain(&mut r.done);
    r.flush(emit)?;
    progress(cap.bytes_read(), cap.size, 0);
    r.s.bad_blocks = cap.bad_blocks;
    r.s.strays = r.tracker.strays();
    Ok(r.s)
}

fn base_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Classifies what the table finished and gives it to the tracker.
/// `reason` overrides the table's reason (at the end of the capture the
/// table says "time-bound" for flows whose hold time had not run out).
fn settle(
    finished: &mut Vec<Finished>,
    tracker: &mut Tracker,
    now: u64,
    reason: Option<&'static str>,
    done: &mut Vec<Done>,
) {
    for f in finished.drain(..) {
        let mut o = outcome(&f);
        if let Some(r) = reason {
            o.reason = r;
        }
        tracker.decide(f.key, o, now, done);
    }
}

/// The decision on a finished flow, judged as the datapath's worker does.
fn outcome(f: &Finished) -> Outcome {
    let j = f.judge();
    let meta = j.class.map_or_else(TextMeta::default, |c| TextMeta {
        sni: text(c.meta.sni),
        alpn: text(c.meta.alpn),
        host: text(c.meta.host),
        method: text(c.meta.method),
        software: text(c.meta.software),
        version: c.meta.version,
    });
    Outcome {
        client: j.client,
        server: j.server,
        subject: j.subject,
        reason: f.reason.name(),
        midstream: f.midstream,
        encrypted: j.encrypted,
        meta,
    }
}

fn time(ms: u64) -> String {
    rfc3339(UNIX_EPOCH + Duration::from_millis(ms))
}

/// The record of a flow that ended.
fn record(pcap: &str, d: &Done, policy: Option<&Policy>) -> Record {
    let (client, server) = d
        .outcome
        .as_ref()
        .map_or((d.client, d.server), |o| (o.client, o.server));
    let transport = d.key.transport;
    let mut r = Record {
        pcap: pcap.to_string(),
        proto: transport.name(),
        src: client.ip.to_string(),
        sport: client.port,
        dst: server.ip.to_string(),
        dport: server.port,
        app_proto: "unknown",
        sni: None,
        alpn: None,
        host: None,
        method: None,
        software: None,
        version: None,
        encrypted: None,
        reason: "no-payload",
        midstream: false,
        packets: d.packets,
        bytes: d.bytes,
        start: time(d.first_ms),
        end: time(d.last_ms),
        ended: d.end.name(),
        tunnel: d.tunnel,
        action: None,
        policy_action: None,
        rule: None,
        mitre_technique: None,
    };
    let Some(o) = &d.outcome else {
        // No payload: the datapath passes such packets without a decision.
        if policy.is_some() {
            r.action = Some("pass");
        }
        return r;
    };
    r.reason = o.reason;
    r.midstream = o.midstream;
    match o.subject {
        Subject::Known(p) => r.app_proto = p.name(),
        _ => r.encrypted = Some(o.encrypted),
    }
    let m = o.meta.clone();
    (r.sni, r.alpn, r.host, r.method, r.software, r.version) =
        (m.sni, m.alpn, m.host, m.method, m.software, m.version);
    if let Some(policy) = policy {
        let d = policy.decide(&Facts {
            subject: o.subject,
            transport,
            src: client.ip,
            dst: server.ip,
            dport: server.port,
            iif: 0,
            oif: 0,
        });
        r.action = Some(d.action.name());
        r.policy_action = (d.action != d.policy_action).then(|| d.policy_action.name());
        r.rule = Some(policy.rule_name(d.rule).to_string());
        r.mitre_technique = d.t1571.then_some("T1571");
    }
    r
}
