//! Throughput of `sniff::classify` on first payloads, and a check that
//! classification never allocates.
//!
//! Loads every fixture under `src/sniff/testdata/<tcp|udp>/<proto>/` at
//! startup. Each flow contributes its first payload: the client's bytes for
//! a client-first fixture, the server's for a server-first one (a fixture
//! with no client side), classified with `complete = false` and
//! `midstream = false`, as the datapath does for the first packet of a
//! flow. See `benches/README.md` for how to run it and measured numbers.
#![allow(unsafe_code)] // the counting global allocator
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use portcullis::sniff::{classify, Input, Proto, Transport, Verdict};
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts every allocation (and reallocation) made through it.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call unchanged to `System`; only adds a counter.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One flow's first payload.
struct Sample {
    name: String,
    proto: Option<Proto>,
    transport: Transport,
    client_first: bool,
    bytes: Vec<u8>,
    server_port: u16,
}

impl Sample {
    fn input(&self) -> Input<'_> {
        let (client, server): (&[u8], &[u8]) = if self.client_first {
            (&self.bytes, &[])
        } else {
            (&[], &self.bytes)
        };
        Input {
            client,
            server,
            transport: self.transport,
            client_port: 40000,
            server_port: self.server_port,
            complete: false,
        }
    }
}

/// (transport, protocol directory, flow name) of one fixture flow.
type FlowKey = (String, String, String);
/// The flow's client and server bytes, where present.
type FlowSides = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Every fixture flow's first payload, in a stable order.
fn load() -> Vec<Sample> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sniff/testdata");
    let mut flows: BTreeMap<FlowKey, FlowSides> = BTreeMap::new();
    for t in ["tcp", "udp"] {
        let Ok(protos) = std::fs::read_dir(root.join(t)) else {
            continue;
        };
        for p in protos {
            let p: PathBuf = p.unwrap().path();
            if !p.is_dir() {
                continue;
            }
            let pname = p.file_name().unwrap().to_string_lossy().into_owned();
            for f in std::fs::read_dir(&p).unwrap() {
                let f = f.unwrap().path();
                let fname = f.file_name().unwrap().to_string_lossy().into_owned();
                let Some(stem) = fname.strip_suffix(".bin") else {
                    continue;
                };
                let Some((stem, side)) = stem.rsplit_once('.') else {
                    continue;
                };
                let e = flows
                    .entry((t.to_string(), pname.clone(), stem.to_string()))
                    .or_default();
                let bytes = std::fs::read(&f).unwrap();
                match side {
                    "client" => e.0 = Some(bytes),
                    "server" => e.1 = Some(bytes),
                    _ => {}
                }
            }
        }
    }
    flows
        .into_iter()
        .filter_map(|((t, pname, stem), (client, server))| {
            let proto = Proto::from_name(&pname);
            let (client_first, bytes) = match (client, server) {
                (Some(c), _) if !c.is_empty() => (true, c),
                (_, Some(s)) if !s.is_empty() => (false, s),
                _ => return None,
            };
            Some(Sample {
                name: format!("{t}/{pname}/{stem}"),
                proto,
                transport: Transport::from_name(&t).unwrap(),
                client_first,
                bytes,
                server_port: match proto {
                    Some(Proto::Mdns) => 5353,
                    Some(Proto::Llmnr) => 5355,
                    _ => 1,
                },
            })
        })
        .collect()
}

/// Prints what each first payload classifies as, and checks that running
/// the corpus `ROUNDS` times allocates nothing.
fn preflight(samples: &[Sample], inputs: &[Input<'_>]) {
    println!("classify corpus: {} first payloads", samples.len());
    for (s, i) in samples.iter().zip(inputs) {
        let v = classify(i, false);
        let got = match v {
            Verdict::Identified(c) => c.proto.name().to_string(),
            other => format!("{other:?}"),
        };
        let want = s.proto.map_or("?", |p| p.name());
        let side = if s.client_first { "client" } else { "server" };
        let flag = if got == want {
            ""
        } else {
            "   <-- differs from fixture dir"
        };
        println!(
            "  {:<40} {side:<6} {:>5} B -> {got}{flag}",
            s.name,
            s.bytes.len()
        );
    }

    const ROUNDS: u64 = 10_000;
    let before = ALLOCS.load(Ordering::SeqCst);
    for _ in 0..ROUNDS {
        for i in inputs {
            black_box(classify(black_box(i), false));
        }
    }
    let allocs = ALLOCS.load(Ordering::SeqCst) - before;
    println!(
        "allocation check: {} classifications ({ROUNDS} rounds x {} payloads), {allocs} allocations",
        ROUNDS * inputs.len() as u64,
        inputs.len()
    );
    assert_eq!(allocs, 0, "classify allocated {allocs} times");
}

/// Bytes that no detector claims: the cost of an `unknown` flow, which
/// runs every detector and then the entropy estimate.
fn negatives() -> Vec<(&'static str, Vec<u8>)> {
    let mut x: u32 = 0x9e37_79b9;
    let random: Vec<u8> = (0..1200)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect();
    let text = b"hello there, this is a plain text line that no detector knows about\r\n".repeat(4);
    vec![("random-1200", random), ("text-284", text)]
}

fn benches(c: &mut Criterion) {
    let samples = load();
    assert!(!samples.is_empty(), "no fixtures under src/sniff/testdata");
    let inputs: Vec<Input<'_>> = samples.iter().map(Sample::input).collect();
    preflight(&samples, &inputs);

    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(inputs.len() as u64));
    g.bench_function("first_payload_mixed", |b| {
        b.iter(|| {
            for i in &inputs {
                black_box(classify(black_box(i), false));
            }
        })
    });
    // Naive baseline: one linear scan of each payload for a LF (what the
    // cheapest line-oriented detector does), to put the registry in scale.
    g.bench_function("baseline_scan_lf", |b| {
        b.iter(|| {
            for i in &inputs {
                let buf = if i.client.is_empty() {
                    i.server
                } else {
                    i.client
                };
                black_box(black_box(buf).iter().position(|&c| c == b'\n'));
            }
        })
    });
    g.finish();

    // Per fixture and per negative sample, to see which detectors cost.
    let mut g = c.benchmark_group("classify_one");
    g.throughput(Throughput::Elements(1));
    for (s, i) in samples.iter().zip(&inputs) {
        g.bench_with_input(BenchmarkId::from_parameter(&s.name), i, |b, i| {
            b.iter(|| classify(black_box(i), false))
        });
    }
    for (name, bytes) in negatives() {
        for t in [Transport::Tcp, Transport::Udp] {
            let i = Input {
                client: &bytes,
                server: &[],
                transport: t,
                client_port: 40000,
                server_port: 1,
                complete: false,
            };
            g.bench_with_input(
                BenchmarkId::from_parameter(format!("{t}/unknown/{name}")),
                &i,
                |b, i| b.iter(|| classify(black_box(i), false)),
            );
        }
    }
    g.finish();
}

criterion_group!(classify_benches, benches);
criterion_main!(classify_benches);
