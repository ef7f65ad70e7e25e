//! The per-packet path allocates nothing in steady state: a counting global
//! allocator around `Table::ingest_from` + detection + `Policy::decide`
//! (+ the table's bookkeeping of the decision) over a corpus of real
//! client bytes: TLS ClientHellos (one split over two segments, out of
//! order), HTTP requests, SSH banners from the server side, and UDP DNS.
//! Warm-up flows fill the table's buffer pool first; the measured flows
//! must then cost zero allocations. The same holds under a SYN flood that
//! keeps the table at its bound (evicting the oldest), and the table's
//! heap then stays within a fixed number of bytes per flow of the bound.
#![allow(missing_docs, clippy::unwrap_used, clippy::indexing_slicing)]
#![allow(
    unsafe_code,
    reason = "a counting GlobalAlloc wrapper is unsafe by definition"
)]

use portcullis::flow::{Bounds, Finished, Held, Side, Table};
use portcullis::packet::{parse, tcp_flags::*};
use portcullis::policy::{Facts, Subject};
use portcullis::sniff::Verdict;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;
thread_local! {
    /// Counting is on for the measuring thread only: the test harness's
    /// own threads (and the other test) allocate whenever they like.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Allocations (and reallocations) of this thread while counting.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed by this thread while counting.
    static NET_BYTES: Cell<i64> = const { Cell::new(0) };
}

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

fn count(allocs: u64, bytes: i64) {
    let _ = ALLOCS.try_with(|c| c.set(c.get() + allocs));
    let _ = NET_BYTES.try_with(|c| c.set(c.get() + bytes));
}

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

fn net_bytes() -> i64 {
    NET_BYTES.with(Cell::get)
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if counting() {
            count(1, l.size() as i64);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if counting() {
            count(0, -(l.size() as i64));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if counting() {
            count(1, n as i64 - l.size() as i64);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Flows in the run: 2,000 to warm up, the rest measured (long enough
/// for the maps to churn through their spare slots many times).
const FLOWS: usize = 40_000;

const CHROMIUM: &[u8] = include_bytes!("../src/sniff/testdata/tcp/tls/chromium.client.bin");
const CURL_TLS: &[u8] = include_bytes!("../src/sniff/testdata/tcp/tls/curl.client.bin");
const CURL_HTTP: &[u8] = include_bytes!("../src/sniff/testdata/tcp/http/curl.client.bin");

/// An IPv4 packet: TCP when `udp` is false.
#[allow(clippy::too_many_arguments)]
fn v4(
    src: [u8; 4],
    dst: [u8; 4],
    sp: u16,
    dp: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    udp: bool,
    data: &[u8],
) -> Vec<u8> {
    let l4 = if udp { 8 } else { 20 };
    let total = 20 + l4 + data.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = if udp { 17 } else { 6 };
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    p[20..22].copy_from_slice(&sp.to_be_bytes());
    p[22..24].copy_from_slice(&dp.to_be_bytes());
    if udp {
        p[24..26].copy_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    } else {
        p[24..28].copy_from_slice(&seq.to_be_bytes());
        p[28..32].copy_from_slice(&ack.to_be_bytes());
        p[32] = 5 << 4;
        p[33] = flags;
    }
    p[20 + l4..].copy_from_slice(data);
    p
}

/// Packets of flow `i` as the queue sees them (payload-free segments other
/// than the SYN stay in the kernel), with the side conntrack marks.
fn flow(i: u32) -> Vec<(Vec<u8>, Side)> {
    let c = [198, 18, 1, (2 + i % 200) as u8];
    let s = [198, 18, 2, 2];
    let sp = 10000 + (i % 50000) as u16;
    let (isn, srv) = (i.wrapping_mul(7919), i.wrapping_mul(104729));
    let syn = |dp| (v4(c, s, sp, dp, isn, 0, SYN, false, b""), Side::Initiator);
    let data = |dp, off: usize, d: &[u8]| {
        (
            v4(
                c,
                s,
                sp,
                dp,
                isn + 1 + off as u32,
                srv + 1,
                ACK | 0x08,
                false,
                d,
            ),
            Side::Initiator,
        )
    };
    match i % 5 {
        0 => vec![syn(443), data(443, 0, CURL_TLS)],
        1 => vec![
            syn(8088),
            data(8088, 1200, &CHROMIUM[1200..]),
            data(8088, 0, &CHROMIUM[..1200]),
        ],
        2 => vec![syn(80), data(80, 0, CURL_HTTP)],
        3 => vec![
            syn(22),
            (
                v4(
                    s,
                    c,
                    22,
                    sp,
                    srv + 1,
                    isn + 1,
                    ACK | 0x08,
                    false,
                    b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
                ),
                Side::Responder,
            ),
        ],
        _ => {
            let q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x03lab\x04test\x00\x00\x01\x00\x01";
            vec![(v4(c, s, sp, 53, 0, 0, 0, true, q), Side::Initiator)]
        }
    }
}

fn subject(v: &Verdict<'_>) -> Subject {
    match v {
        Verdict::Identified(c) => Subject::Known(c.proto),
        Verdict::Unknown { .. } => Subject::Unidentified,
        Verdict::NeedMore => Subject::Undecided,
    }
}

#[test]
fn per_packet_path_does_not_allocate_in_steady_state() {
    let policy =
        portcullis::policy::load_str(portcullis::policy::DEFAULT_POLICY, "default").unwrap();
    let bounds = Bounds {
        decided_cache: 1024,
        ..Bounds::default()
    };
    let mut table = Table::new(bounds);
    table.reserve(4096);
    let mut out: Vec<Finished> = Vec::with_capacity(64);
    let corpus: Vec<Vec<(Vec<u8>, Side)>> = (0..FLOWS as u32).map(flow).collect();
    let (decided, packets, identified) = (Cell::new(0u64), Cell::new(0u64), Cell::new(0u64));
    let run = |range: std::ops::Range<usize>, table: &mut Table, out: &mut Vec<Finished>| {
        for (n, pkts) in corpus[range].iter().enumerate() {
            let now = n as u64;
            for (raw, side) in pkts {
                let pkt = parse(raw).unwrap();
                let _ = table.ingest_from(&pkt, *side, Held::bare(n as u32), now, out);
                packets.set(packets.get() + 1);
                for f in out.drain(..) {
                    let v = f.classify();
                    if matches!(v, Verdict::Identified(_)) {
                        identified.set(identified.get() + 1);
                    }
                    let facts = Facts {
                        subject: subject(&v),
                        transport: f.key.transport,
                        src: f.client.ip,
                        dst: f.server.ip,
                        dport: f.server.port,
                        iif: 0,
                        oif: 0,
                    };
                    let d = policy.decide(&facts);
                    std::hint::black_box(d);
                    table.remember(f.key, 1, now);
                    table.recycle(f);
                    decided.set(decided.get() + 1);
                }
            }
            table.expire(now, out);
        }
    };
    run(0..2000, &mut table, &mut out);
    let warm = (decided.get(), identified.get());
    let before = allocs();
    COUNTING.with(|c| c.set(true));
    run(2000..FLOWS, &mut table, &mut out);
    COUNTING.with(|c| c.set(false));
    let allocs = allocs() - before;
    // The corpus is real: every flow was decided and identified.
    assert_eq!(warm, (2000, 2000));
    assert_eq!(
        (decided.get(), identified.get()),
        (FLOWS as u64, FLOWS as u64)
    );
    assert_eq!(
        allocs,
        0,
        "{allocs} allocations over {} packets of {} flows in steady state",
        packets.get(),
        FLOWS - 2000
    );
}

/// A SYN flood (SYN-only flows from many ports) at 20 times the table's
/// bound, with a real flow (SYN, then its first payload behind 100 flood SYNs)
/// every 500 flood SYNs: once the table is full and the pools warm, no
/// allocation; every real flow identified; the table's heap within 320
/// bytes per flow of its bound (a slot, index buckets, queues reserved
/// for the bound and the pools; a boxed record or a buffer per flood flow
/// would exceed it).
#[test]
fn syn_flood_at_the_bound_does_not_allocate_and_stays_small() {
    const BOUND: usize = 4096;
    const FLOOD: u32 = 20 * BOUND as u32;
    let bounds = Bounds {
        max_flows: BOUND,
        decided_cache: 1024,
        ..Bounds::default()
    };
    let syn = |i: u32| {
        let c = [198, 18, 3 + (i / 60_000) as u8, 1];
        v4(
            c,
            [198, 18, 2, 2],
            1024 + (i % 60_000) as u16,
            80,
            i,
            0,
            SYN,
            false,
            b"",
        )
    };
    // TLS, TLS split and out of order, HTTP, SSH from the server side.
    let real: Vec<Vec<(Vec<u8>, Side)>> = (0..500u32).filter(|i| i % 5 != 4).map(flow).collect();
    let syns: Vec<Vec<u8>> = (0..FLOOD).map(syn).collect();
    let before = allocs();
    COUNTING.with(|c| c.set(true));
    let net_before = net_bytes();
    let mut table = Table::new(bounds);
    table.reserve(BOUND);
    let mut out: Vec<Finished> = Vec::with_capacity(64);
    let (mut identified, mut warm_allocs) = (0, 0);
    let mut feed = |table: &mut Table, raw: &[u8], side, n: u32, out: &mut Vec<Finished>| {
        let pkt = parse(raw).unwrap();
        let id = Held::bare(n);
        let _ = table.ingest_from(&pkt, side, id, u64::from(n / 50), out);
        for f in out.drain(..) {
            if matches!(f.classify(), Verdict::Identified(_)) {
                identified += 1;
            }
            table.remember(f.key, 1, u64::from(n / 50));
            table.recycle(f);
        }
        if n % 16 == 0 {
            table.expire(u64::from(n / 50), out);
        }
    };
    for n in 0..FLOOD {
        if n == 2 * BOUND as u32 {
            // Full, evicting, pools warm: from here on nothing may allocate.
            warm_allocs = allocs();
        }
        feed(&mut table, &syns[n as usize], Side::Initiator, n, &mut out);
        let k = (n / 500) as usize;
        let pkts = &real[k % real.len()];
        if n % 500 == 0 {
            feed(&mut table, &pkts[0].0, pkts[0].1, n, &mut out);
        }
        if n % 500 == 100 {
            for (raw, side) in &pkts[1..] {
                feed(&mut table, raw, *side, n, &mut out);
            }
        }
    }
    let net = net_bytes() - net_before;
    COUNTING.with(|c| c.set(false));
    let steady = allocs() - warm_allocs;
    let stats = table.stats();
    let spoke = (0..FLOOD).filter(|n| n % 500 == 100).count();
    assert_eq!(table.len(), BOUND);
    // Every flood flow beyond the bound evicted the oldest.
    assert_eq!(
        stats.evicted,
        stats.created - spoke as u64 - BOUND as u64,
        "{stats:?}"
    );
    assert!(warm_allocs > before, "the counter saw the warm-up");
    assert_eq!(identified, spoke, "{stats:?}");
    assert_eq!(steady, 0, "{steady} allocations in a flood at the bound");
    eprintln!(
        "table heap after the flood: {net} bytes for {BOUND} flows ({} per flow), {:?}",
        net / BOUND as i64,
        table.footprint()
    );
    assert!(net <= 320 * BOUND as i64, "{net} bytes for {BOUND} flows");
}
