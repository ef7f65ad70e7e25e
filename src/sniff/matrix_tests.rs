//! The cross-protocol matrix: every detector against every fixture.
//!
//! Fixtures live in `testdata/<tcp|udp>/<app_proto>/<name>.<client|server>.bin`
//! (a `.client` and a `.server` file with the same name are one flow). For
//! each fixture: the registry names the directory's protocol, no detector of
//! another protocol matches it, and every prefix of it yields either "need
//! more" or the right protocol, never a wrong one.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::registry::{classify, Verdict};
use super::{Input, Proto, Sniff, Transport, FAMILIES};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) struct Fixture {
    pub(crate) name: String,
    pub(crate) transport: Transport,
    pub(crate) proto: Proto,
    pub(crate) client: Vec<u8>,
    pub(crate) server: Vec<u8>,
}

impl Fixture {
    pub(crate) fn input(&self, complete: bool) -> Input<'_> {
        self.input_of(&self.client, &self.server, complete)
    }

    pub(crate) fn input_of<'a>(
        &self,
        client: &'a [u8],
        server: &'a [u8],
        complete: bool,
    ) -> Input<'a> {
        let server_port = match self.proto {
            Proto::Mdns => 5353,
            Proto::Llmnr => 5355,
            _ => 1,
        };
        Input {
            client,
            server,
            transport: self.transport,
            client_port: 40000,
            server_port,
            complete,
        }
    }
}

/// Every fixture under `testdata/`.
pub(crate) fn fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sniff/testdata");
    let mut flows: BTreeMap<PathBuf, Fixture> = BTreeMap::new();
    for (dir, transport) in [("tcp", Transport::Tcp), ("udp", Transport::Udp)] {
        let Ok(protos) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for p in protos {
            let p = p.unwrap().path();
            let pname = p.file_name().unwrap().to_str().unwrap().to_string();
            let proto = Proto::from_name(&pname).unwrap_or_else(|| panic!("unknown dir {pname}"));
            for f in std::fs::read_dir(&p).unwrap() {
                let f = f.unwrap().path();
                let fname = f.file_name().unwrap().to_str().unwrap().to_string();
                let Some(stem) = fname.strip_suffix(".bin") else {
                    continue;
                };
                let (stem, side) = stem
                    .rsplit_once('.')
                    .unwrap_or_else(|| panic!("{fname}: no side"));
                let key = p.join(stem);
                let entry = flows.entry(key).or_insert_with(|| Fixture {
                    name: format!("{dir}/{pname}/{stem}"),
                    transport,
                    proto,
                    client: Vec::new(),
                    server: Vec::new(),
                });
                let bytes = std::fs::read(&f).unwrap();
                match side {
                    "client" => entry.client = bytes,
                    "server" => entry.server = bytes,
                    _ => panic!("{fname}: side must be client or server"),
                }
            }
        }
    }
    flows.into_values().collect()
}

#[test]
fn registry_names_every_fixture() {
    let all = fixtures();
    assert!(all.len() >= 8, "fixtures missing: {}", all.len());
    for f in &all {
        match classify(&f.input(true), false) {
            Verdict::Identified(c) => assert_eq!(c.proto, f.proto, "{}", f.name),
            other => panic!("{}: {other:?}", f.name),
        }
    }
}

#[test]
fn no_detector_claims_another_protocols_bytes() {
    let all = fixtures();
    for f in &all {
        for d in FAMILIES.iter().flat_map(|fam| fam.iter()) {
            if !d.runs_on(f.transport) || d.proto == f.proto || same_wire(d.proto, f.proto) {
                continue;
            }
            for complete in [false, true] {
                if let Sniff::Match(meta) = (d.detect)(&f.input(complete)) {
                    // A ClientHello whose ALPN the registry names after
                    // the protocol inside (PostgreSQL's direct TLS).
                    if super::registry::by_alpn(d.proto, &meta) == f.proto {
                        continue;
                    }
                    panic!("{:?} claims fixture {}", d.proto, f.name);
                }
            }
        }
    }
}

/// Protocols the registry tells apart by port only after one wire match.
fn same_wire(a: Proto, b: Proto) -> bool {
    let dnsish = |p| matches!(p, Proto::Dns | Proto::Mdns | Proto::Llmnr);
    dnsish(a) && dnsish(b)
}

#[test]
fn every_prefix_is_need_more_or_right() {
    // A UDP datagram arrives whole: prefixes only make sense for TCP streams.
    for f in fixtures()
        .into_iter()
        .filter(|f| f.transport == Transport::Tcp)
    {
        // Grow the side that speaks first, then the other.
        let (first, second, client_first) = if f.client.is_empty() {
            (&f.server, &f.client, false)
        } else {
            (&f.client, &f.server, true)
        };
        let step = (first.len() / 256).max(1);
        for n in (0..first.len()).step_by(step) {
            let part = &first[..n];
            let input = if client_first {
                f.input_of(part, &[], false)
            } else {
                f.input_of(&[], part, false)
            };
            match classify(&input, false) {
                Verdict::Identified(c) => assert_eq!(c.proto, f.proto, "{} prefix {n}", f.name),
                Verdict::NeedMore => {}
                Verdict::Unknown { .. } if n == 0 => {}
                Verdict::Unknown { .. } => {
                    panic!("{} prefix {n}: unknown before the bytes ran out", f.name)
                }
            }
        }
        let _ = second;
    }
}

/// Unknown traffic must not be held: one full segment of random bytes (an
/// encrypted protocol portcullis has no detector for) is settled at once by
/// nearly every sample, in both directions.
#[test]
fn random_segments_are_settled_without_waiting() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for transport in [Transport::Tcp, Transport::Udp] {
        let mut waiting = Vec::new();
        for i in 0..2000 {
            let buf: Vec<u8> = (0..1400).map(|_| next() as u8).collect();
            let (client, server): (&[u8], &[u8]) =
                if i % 2 == 0 { (&buf, &[]) } else { (&[], &buf) };
            let input = Input {
                client,
                server,
                transport,
                client_port: 40000,
                server_port: 443,
                complete: false,
            };
            match classify(&input, false) {
                Verdict::NeedMore => waiting.push(buf[..8].to_vec()),
                Verdict::Identified(c) => {
                    panic!("random bytes named {:?}: {:02x?}", c.proto, &buf[..16])
                }
                Verdict::Unknown { encrypted } => assert!(encrypted),
            }
        }
        assert!(
            waiting.len() <= 10,
            "{transport:?}: {} of 2000 random segments held, e.g. {:02x?}",
            waiting.len(),
            waiting.first()
        );
    }
}

/// Short random samples, seen whole, are almost never named: a false name
/// would let a tunnel pass as an allowed protocol or block a real one.
#[test]
fn short_random_samples_are_rarely_named() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut named = std::collections::BTreeMap::new();
    let n = 20_000;
    for i in 0..n {
        let len = 1 + (next() % 96) as usize;
        let buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let transport = if i % 2 == 0 {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        let input = Input {
            client: &buf,
            server: &[],
            transport,
            client_port: 40000,
            server_port: 443,
            complete: true,
        };
        if let Verdict::Identified(c) = classify(&input, false) {
            *named.entry(c.proto.name()).or_insert(0) += 1;
        }
    }
    let total: usize = named.values().sum();
    assert!(
        total * 1000 <= n,
        "{total} of {n} random samples named: {named:?}"
    );
}
