//! Input layout and invariant checks shared by the fuzz targets.
//!
//! Layout of one fuzz input (also what `seed.sh` writes):
//!
//! ```text
//! byte 0      header: bit 0 transport (0 TCP, 1 UDP)
//!                     bit 1 complete
//!                     bit 2 midstream
//!                     bits 3-4 port pair (see PORTS)
//! bytes 1..3  split point, big-endian u16, clamped to the payload length
//! bytes 3..   payload: client = payload[..split], server = payload[split..]
//! ```
//!
//! Inputs shorter than 3 bytes are treated as header 0, split 0 with the
//! bytes as server payload, so no input is wasted.

#![allow(dead_code)]

use portcullis::sniff::{classify, Input, Meta, Proto, Transport, Verdict};

/// (client_port, server_port) chosen by header bits 3-4: an ordinary port
/// pair, mDNS (5353 either side) and LLMNR (5355).
pub const PORTS: [(u16, u16); 4] = [(40000, 1), (40000, 5353), (40000, 5355), (5353, 40000)];

/// A decoded fuzz input.
#[derive(Clone, Copy, Debug)]
pub struct Case<'a> {
    pub transport: Transport,
    pub complete: bool,
    pub midstream: bool,
    pub ports: (u16, u16),
    pub client: &'a [u8],
    pub server: &'a [u8],
}

impl<'a> Case<'a> {
    pub fn decode(data: &'a [u8]) -> Self {
        let (header, split, payload) = match data {
            [h, a, b, rest @ ..] => (*h, u16::from_be_bytes([*a, *b]) as usize, rest),
            _ => (0, 0, data),
        };
        let split = split.min(payload.len());
        let (client, server) = payload.split_at(split);
        Case {
            transport: if header & 1 == 0 {
                Transport::Tcp
            } else {
                Transport::Udp
            },
            complete: header & 2 != 0,
            midstream: header & 4 != 0,
            ports: PORTS[((header >> 3) & 3) as usize],
            client,
            server,
        }
    }

    pub fn input(&self) -> Input<'a> {
        Input {
            client: self.client,
            server: self.server,
            transport: self.transport,
            client_port: self.ports.0,
            server_port: self.ports.1,
            complete: self.complete,
        }
    }
}

/// `inner` lies entirely inside `outer` (pointer range check).
fn within(inner: &[u8], outer: &[u8]) -> bool {
    let o = outer.as_ptr_range();
    let i = inner.as_ptr_range();
    o.start <= i.start && i.end <= o.end
}

fn borrowed(field: &str, s: &[u8], input: &Input<'_>) {
    assert!(
        within(s, input.client) || within(s, input.server),
        "meta.{field} = {s:?} is not a sub-slice of the client or server bytes"
    );
}

/// Metadata invariants: every byte-string field except `method` borrows
/// from the sample. `method` may also be a protocol-defined label (HTTP
/// returns the matched entry of its method table, DNS the words "query" /
/// "response"), so when it is not a sub-slice it must be a short,
/// non-empty, printable ASCII token.
pub fn check_meta(meta: &Meta<'_>, input: &Input<'_>) {
    for (field, v) in [
        ("sni", meta.sni),
        ("alpn", meta.alpn),
        ("host", meta.host),
        ("software", meta.software),
    ] {
        if let Some(s) = v {
            borrowed(field, s, input);
        }
    }
    if let Some(m) = meta.method {
        if !(within(m, input.client) || within(m, input.server)) {
            assert!(
                !m.is_empty() && m.len() <= 32 && m.iter().all(|b| b.is_ascii_graphic()),
                "meta.method = {m:?} is neither borrowed nor a printable label"
            );
        }
    }
}

/// Invariants of one `classify` call; returns the verdict.
pub fn check_one<'a>(input: &Input<'a>, midstream: bool) -> Verdict<'a> {
    let v = classify(input, midstream);
    // (a) deterministic: a pure function of its input.
    assert_eq!(
        v,
        classify(input, midstream),
        "classify is not deterministic"
    );
    match v {
        Verdict::NeedMore => {
            // (b) a flow that hit its bounds must be decided.
            assert!(!input.complete, "NeedMore although complete=true");
        }
        Verdict::Unknown { encrypted } => {
            if input.client.is_empty() && input.server.is_empty() {
                assert!(input.complete, "empty sample not complete must be NeedMore");
                assert!(!encrypted, "empty sample called encrypted");
            }
            if encrypted {
                assert!(
                    input.client.len() >= portcullis::sniff::entropy::MIN_BYTES
                        || input.server.len() >= portcullis::sniff::entropy::MIN_BYTES,
                    "encrypted=true below entropy::MIN_BYTES"
                );
            }
        }
        Verdict::Identified(c) => {
            assert!(
                !(input.client.is_empty() && input.server.is_empty()),
                "identified an empty sample as {:?}",
                c.proto
            );
            // Directions are only swapped for flows picked up mid-stream,
            // and for a UDP flow of the DNS family that opens with an
            // answer (QR bit set, nothing from the other side).
            let answer_first = input.transport == Transport::Udp
                && matches!(c.proto, Proto::Dns | Proto::Mdns | Proto::Llmnr)
                && input.server.is_empty()
                && input.client.get(2).is_some_and(|b| b & 0x80 != 0);
            assert!(
                midstream || !c.reversed || answer_first,
                "reversed without midstream"
            );
            // (c) metadata borrows from the sample.
            check_meta(&c.meta, input);
        }
    }
    v
}
