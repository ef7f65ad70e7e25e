//! Memory of the pending-flow table under floods: peak RSS (VmHWM) and heap
//! bytes (a counting global allocator) while SYN-only and payload-less
//! flows, and a sustained churn of real flows, go through
//! `Table::ingest_from` / `Table::expire` exactly as the datapath worker
//! drives them (default bounds, `reserve(4096)` unless said otherwise,
//! `expire` every 16 packets).
//!
//! Each scenario runs in its own child process, so each peak is its own.
//! Legitimate flows (a TLS ClientHello, an HTTP request) are mixed into
//! every flood, their first payload arriving behind a few hundred flood
//! SYNs; the bench fails (exit 1) if one of them is not identified.
//! `ns/pkt` is wall time per packet fed (table, detection of the
//! legitimate flows, bookkeeping): indicative only on a shared machine.
//!
//! ```sh
//! cargo bench --bench flood              # every scenario, one table
//! cargo bench --bench flood -- churn     # the scenarios whose name contains "churn"
//! ```
#![allow(unsafe_code)] // the counting global allocator
#![allow(missing_docs, clippy::unwrap_used)]

use portcullis::flow::{Bounds, Finished, Held, Side, Table};
use portcullis::packet::{tcp_flags, Packet};
use portcullis::sniff::{Transport, Verdict};
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Tracks live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: forwards every call unchanged to `System`; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        grew(l.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        grew(l.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        grew(n);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const TLS: &[u8] = include_bytes!("../src/sniff/testdata/tcp/tls/curl.client.bin");
const HTTP: &[u8] = include_bytes!("../src/sniff/testdata/tcp/http/curl.client.bin");

/// A scenario: its name and what it feeds.
struct Scenario {
    name: &'static str,
    /// Flows in total (flood or churn).
    flows: u32,
    /// New flows per second of simulated time.
    rate: u32,
    /// Which flows are legitimate ones that speak (the others never do).
    speaks: fn(u32) -> bool,
    /// Flows that never speak also send a SYN-ACK and an ACK
    /// (`--handshake all`), not only the SYN.
    handshake_all: bool,
    /// `Table::reserve` at start (the datapath worker reserves 4096).
    reserve: usize,
    /// Stop after feeding, without the legitimate flows' payloads pending
    /// (a snapshot of a full table).
    snapshot: bool,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "pending-65536",
        flows: 65_536,
        rate: 50_000,
        speaks: |_| false,
        handshake_all: false,
        snapshot: true,
        reserve: 4096,
    },
    Scenario {
        name: "syn-flood-1m",
        flows: 1_000_000,
        rate: 50_000,
        speaks: |i| i % 1000 == 0,
        handshake_all: false,
        snapshot: false,
        reserve: 4096,
    },
    Scenario {
        name: "no-payload-flood-1m",
        flows: 1_000_000,
        rate: 50_000,
        speaks: |i| i % 1000 == 0,
        handshake_all: true,
        snapshot: false,
        reserve: 4096,
    },
    // The same flood into a table reserved for its bound up front.
    Scenario {
        name: "syn-flood-1m-reserved",
        flows: 1_000_000,
        rate: 50_000,
        speaks: |i| i % 1000 == 0,
        handshake_all: false,
        snapshot: false,
        reserve: 65_536,
    },
    // Sustained load: 49 of 50 flows speak and are decided; 1 of 50 never
    // speaks (20,000 silent flows within the 120 s idle time: the table
    // never fills, nothing is evicted).
    Scenario {
        name: "churn-1m",
        flows: 1_000_000,
        rate: 20_000,
        speaks: |i| i % 50 != 0,
        handshake_all: false,
        snapshot: false,
        reserve: 4096,
    },
    // The same for 150 s, past the 120 s idle time: silent flows idle out.
    Scenario {
        name: "churn-3m",
        flows: 3_000_000,
        rate: 20_000,
        speaks: |i| i % 50 != 0,
        handshake_all: false,
        snapshot: false,
        reserve: 4096,
    },
];

/// Flows between the legitimate client's SYN and its first payload.
const RTT_FLOWS: u32 = 300;

/// Clients 198.18.x.y, 64,000 source ports each: no two flows share a tuple.
fn client(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0xc612_0000 | (i / 64_000 + 1)))
}

const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 2, 2));

fn sport(i: u32) -> u16 {
    1024 + (i % 64_000) as u16
}

fn tcp<'a>(
    from_client: bool,
    i: u32,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    data: &'a [u8],
) -> Packet<'a> {
    let (src, dst, sp, dp) = if from_client {
        (client(i), SERVER, sport(i), dport)
    } else {
        (SERVER, client(i), dport, sport(i))
    };
    Packet {
        src,
        dst,
        transport: Transport::Tcp,
        sport: sp,
        dport: dp,
        flags,
        seq,
        ack,
        payload: data,
    }
}

/// What a worker's table saw and did in one scenario.
#[derive(Default)]
struct Tally {
    packets: u64,
    legit: u64,
    identified: u64,
    most_pending: usize,
}

fn feed(
    t: &mut Table,
    pkt: &Packet<'_>,
    side: Side,
    now: u64,
    out: &mut Vec<Finished>,
    tally: &mut Tally,
) {
    let id = Held::bare(tally.packets as u32);
    let _ = t.ingest_from(pkt, side, id, now, out);
    tally.packets += 1;
    if tally.packets % 16 == 0 {
        t.expire(now, out);
    }
    for f in out.drain(..) {
        if matches!(f.classify(), Verdict::Identified(_)) {
            tally.identified += 1;
        }
        t.remember(f.key, 0x0100_0000, now);
        t.recycle(f);
    }
    tally.most_pending = tally.most_pending.max(t.len());
}

fn run(s: &Scenario) {
    let base_rss = status_kib("VmRSS:");
    let started = std::time::Instant::now();
    let mut t = Table::new(Bounds::default());
    t.reserve(s.reserve);
    let mut out: Vec<Finished> = Vec::with_capacity(64);
    let mut tally = Tally::default();
    let mut now = 0;
    let isn = |i: u32| i.wrapping_mul(2_654_435_761);
    let srv_isn = |i: u32| i.wrapping_mul(40_503).wrapping_add(7);
    for i in 0..s.flows + RTT_FLOWS {
        if i < s.flows {
            now = u64::from(i) * 1000 / u64::from(s.rate);
            let legit = (s.speaks)(i);
            let dport = if legit { 443 } else { 10_000 + (i % 16) as u16 };
            let syn = tcp(true, i, dport, tcp_flags::SYN, isn(i), 0, b"");
            feed(&mut t, &syn, Side::Initiator, now, &mut out, &mut tally);
            if s.handshake_all && !legit {
                let sa = tcp(
                    false,
                    i,
                    dport,
                    tcp_flags::SYN | tcp_flags::ACK,
                    srv_isn(i),
                    isn(i).wrapping_add(1),
                    b"",
                );
                feed(&mut t, &sa, Side::Responder, now, &mut out, &mut tally);
                let a = tcp(
                    true,
                    i,
                    dport,
                    tcp_flags::ACK,
                    isn(i).wrapping_add(1),
                    srv_isn(i).wrapping_add(1),
                    b"",
                );
                feed(&mut t, &a, Side::Initiator, now, &mut out, &mut tally);
            }
        }
        if s.snapshot {
            continue;
        }
        // The legitimate flow that opened RTT_FLOWS flows ago speaks now:
        // alternately a TLS ClientHello in two segments, second first, and
        // an HTTP request.
        let Some(j) = i.checked_sub(RTT_FLOWS) else {
            continue;
        };
        if j >= s.flows || !(s.speaks)(j) {
            continue;
        }
        tally.legit += 1;
        let (c, a) = (isn(j).wrapping_add(1), srv_isn(j).wrapping_add(1));
        let psh = tcp_flags::ACK | 0x08;
        if tally.legit % 2 == 0 {
            let (head, tail) = TLS.split_at(TLS.len() / 2);
            let p2 = tcp(
                true,
                j,
                443,
                psh,
                c.wrapping_add(head.len() as u32),
                a,
                tail,
            );
            feed(&mut t, &p2, Side::Initiator, now, &mut out, &mut tally);
            let p1 = tcp(true, j, 443, psh, c, a, head);
            feed(&mut t, &p1, Side::Initiator, now, &mut out, &mut tally);
        } else {
            let p = tcp(true, j, 443, psh, c, a, HTTP);
            feed(&mut t, &p, Side::Initiator, now, &mut out, &mut tally);
        }
    }
    t.expire(now, &mut out);
    let ns = started.elapsed().as_nanos() as f64 / tally.packets as f64;
    let st = t.stats();
    println!(
        "{:<22} {:>9} {:>8} {:>10.1} {:>10.1} {:>9.1} {:>9.1} {:>8} {:>8} {:>9} {:>7.0} {:>6}/{:<6}",
        s.name,
        s.flows,
        tally.most_pending,
        PEAK.load(Ordering::Relaxed) as f64 / 1e6,
        LIVE.load(Ordering::Relaxed) as f64 / 1e6,
        status_kib("VmHWM:") as f64 / 1024.0,
        base_rss as f64 / 1024.0,
        st.evicted,
        st.idled,
        tally.packets,
        ns,
        tally.identified,
        tally.legit,
    );
    if tally.identified != tally.legit {
        std::process::exit(1);
    }
}

/// A `/proc/self/status` field in KiB (0 if absent).
fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

const ENV: &str = "PORTCULLIS_FLOOD_SCENARIO";

fn main() {
    if let Ok(name) = std::env::var(ENV) {
        let s = SCENARIOS.iter().find(|s| s.name == name).unwrap();
        run(s);
        return;
    }
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    println!(
        "{:<22} {:>9} {:>8} {:>10} {:>10} {:>9} {:>9} {:>8} {:>8} {:>9} {:>7} {:>13}",
        "scenario",
        "flows",
        "pending",
        "heap-peak",
        "heap-end",
        "VmHWM",
        "start-RSS",
        "evicted",
        "idled",
        "packets",
        "ns/pkt",
        "legit-ident",
    );
    println!(
        "{:<22} {:>9} {:>8} {:>10} {:>10} {:>9} {:>9}",
        "", "", "(most)", "(MB)", "(MB)", "(MiB)", "(MiB)"
    );
    let exe = std::env::current_exe().unwrap();
    let mut failed = false;
    for s in SCENARIOS {
        if !filter.is_empty() && !filter.iter().any(|f| s.name.contains(f.as_str())) {
            continue;
        }
        let st = std::process::Command::new(&exe)
            .env(ENV, s.name)
            .status()
            .unwrap();
        if !st.success() {
            eprintln!("{}: a legitimate flow was not identified ({st})", s.name);
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
