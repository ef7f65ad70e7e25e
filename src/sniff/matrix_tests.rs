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
                if let Sniff::Match(_) = (d.detect)(&f.input(complete)) {
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
