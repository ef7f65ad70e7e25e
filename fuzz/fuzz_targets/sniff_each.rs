//! Fuzzes every flag combination of one sample, and the public helpers the
//! detectors are built on, through the public API only.
//!
//! The detector list (`sniff::FAMILIES`) is `pub(crate)`, so this target
//! cannot call detectors one by one; instead it takes one payload (same
//! layout as `sniff_registry`, see `common.rs`) and classifies it under
//! every transport x complete x midstream x port pair, asserting relations
//! between the answers that the registry's contract implies:
//!
//! * every single call satisfies `common::check_one`;
//! * ports never take part in naming a protocol, except that a UDP DNS
//!   match becomes mDNS (port 5353) or LLMNR (server port 5355): answers
//!   under different port pairs are equal once DNS/mDNS/LLMNR are folded;
//! * `midstream` only adds the swapped reading: a forward identification is
//!   returned unchanged, a forward NeedMore stays NeedMore, and a reversed
//!   identification equals classifying the swapped sample forward; the one
//!   other thing it may add is TLS named on its records (a stream picked
//!   up after its handshake), over TCP, unreversed, without metadata;
//! * `cursor::prefix`, `prefix_ci`, `first_line` agree with naive reference
//!   implementations, and `entropy::bits_per_byte` stays within [0, 8].

#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::sniff::cursor::{first_line, prefix, prefix_ci, Cursor};
use portcullis::sniff::entropy::{bits_per_byte, looks_encrypted, MIN_BYTES};
use portcullis::sniff::{classify, Input, Meta, Proto, Transport, Verdict};

mod common;
use common::{check_one, Case, PORTS};

/// Folds the names the registry derives from ports back to DNS.
fn fold(v: Verdict<'_>) -> Verdict<'_> {
    match v {
        Verdict::Identified(mut c) if matches!(c.proto, Proto::Mdns | Proto::Llmnr) => {
            c.proto = Proto::Dns;
            Verdict::Identified(c)
        }
        other => other,
    }
}

fn swapped<'a>(i: &Input<'a>) -> Input<'a> {
    Input {
        client: i.server,
        server: i.client,
        client_port: i.server_port,
        server_port: i.client_port,
        ..*i
    }
}

fn registry(case: &Case<'_>, extra_ports: (u16, u16)) {
    for transport in [Transport::Tcp, Transport::Udp] {
        for complete in [false, true] {
            let mut folded = None;
            for ports in PORTS.iter().copied().chain([extra_ports]) {
                let input = Input {
                    client: case.client,
                    server: case.server,
                    transport,
                    client_port: ports.0,
                    server_port: ports.1,
                    complete,
                };
                let fwd = check_one(&input, false);
                let mid = check_one(&input, true);

                // Port-derived names only where the registry documents them.
                for v in [fwd, mid] {
                    if let Verdict::Identified(c) = v {
                        let (cp, sp) = if c.reversed {
                            (ports.1, ports.0)
                        } else {
                            ports
                        };
                        match c.proto {
                            Proto::Mdns => assert!(
                                transport == Transport::Udp && (cp == 5353 || sp == 5353),
                                "mdns named without UDP port 5353: {ports:?} {c:?}"
                            ),
                            Proto::Llmnr => assert!(
                                transport == Transport::Udp && sp == 5355,
                                "llmnr named without UDP server port 5355: {ports:?} {c:?}"
                            ),
                            _ => {}
                        }
                    }
                }

                // Ports do not change the answer otherwise.
                let key = (fold(fwd), fold(mid));
                match folded {
                    None => folded = Some(key),
                    Some(first) => assert_eq!(
                        first, key,
                        "answer depends on ports {ports:?} ({transport:?}, complete={complete})"
                    ),
                }

                // midstream only adds the swapped reading.
                match fwd {
                    Verdict::Identified(_) => {
                        assert_eq!(mid, fwd, "midstream changed a forward match")
                    }
                    Verdict::NeedMore => {
                        assert_eq!(mid, fwd, "midstream decided a forward NeedMore")
                    }
                    Verdict::Unknown { .. } => match mid {
                        Verdict::Unknown { .. } => assert_eq!(mid, fwd),
                        Verdict::NeedMore => assert!(!complete),
                        // A TLS stream picked up after its handshake is
                        // named on its records only when midstream, in the
                        // orientation given, with no metadata.
                        Verdict::Identified(c)
                            if !c.reversed
                                && c.proto == Proto::Tls
                                && transport == Transport::Tcp
                                && c.meta == Meta::default() => {}
                        Verdict::Identified(c) => {
                            assert!(
                                c.reversed,
                                "midstream found a forward match forward did not"
                            );
                            let back = classify(&swapped(&input), false);
                            let Verdict::Identified(b) = back else {
                                panic!("reversed match {c:?}, swapped sample gives {back:?}")
                            };
                            assert_eq!((b.proto, b.meta, b.reversed), (c.proto, c.meta, false));
                        }
                    },
                }
            }
        }
    }
}

fn helpers(a: &[u8], b: &[u8]) {
    // prefix: three-way compare of a buffer with a literal.
    let want = if a.len() >= b.len() {
        Some(a.starts_with(b))
    } else if b.starts_with(a) {
        None
    } else {
        Some(false)
    };
    assert_eq!(prefix(a, b), want, "prefix({a:?}, {b:?})");
    let lower = |s: &[u8]| s.to_ascii_lowercase();
    let want_ci = {
        let (la, lb) = (lower(a), lower(b));
        if la.len() >= lb.len() {
            Some(la.starts_with(&lb))
        } else if lb.starts_with(&la) {
            None
        } else {
            Some(false)
        }
    };
    assert_eq!(prefix_ci(a, b), want_ci, "prefix_ci({a:?}, {b:?})");

    // first_line: the bytes before the first LF within `max`, minus one CR.
    let max = b.first().map_or(16, |&m| m as usize);
    let window = &a[..a.len().min(max)];
    let want_line = match window.iter().position(|&c| c == b'\n') {
        Some(i) => {
            let l = &window[..i];
            Ok(Some(l.strip_suffix(b"\r").unwrap_or(l)))
        }
        None if a.len() >= max => Err(()),
        None => Ok(None),
    };
    assert_eq!(first_line(a, max), want_line, "first_line({a:?}, {max})");

    // Cursor reads: lengths add up, nothing past the end.
    let mut c = Cursor::new(a);
    let mut consumed = 0usize;
    for &op in b.iter().take(64) {
        let before = c.remaining();
        let got = match op % 9 {
            0 => c.u8().map(|_| 1),
            1 => c.be16().map(|_| 2),
            2 => c.be24().map(|_| 3),
            3 => c.be32().map(|_| 4),
            4 => c.le16().map(|_| 2),
            5 => c.le32().map(|_| 4),
            6 => c.vec8().map(|v| 1 + v.len()),
            7 => c.vec16().map(|v| 2 + v.len()),
            _ => c.take(usize::from(op >> 4)).map(|v| v.len()),
        };
        match got {
            Some(n) => {
                assert_eq!(
                    before - c.remaining(),
                    n,
                    "cursor op {op} consumed wrong length"
                );
                consumed += n;
            }
            None => {
                // Length-prefixed reads may consume their prefix before failing.
                assert!(c.remaining() <= before);
                consumed += before - c.remaining();
            }
        }
        assert_eq!(consumed + c.remaining(), a.len());
        assert!(core::ptr::eq(
            c.rest().as_ptr_range().end,
            a.as_ptr_range().end
        ));
    }

    // Entropy is a bit count per byte.
    let bits = bits_per_byte(a);
    assert!((0.0..=8.0 + 1e-9).contains(&bits), "bits_per_byte = {bits}");
    if a.len() < MIN_BYTES {
        assert!(!looks_encrypted(a));
    }
}

fuzz_target!(|data: &[u8]| {
    let case = Case::decode(data);
    // Two extra ports from the payload's last bytes, so arbitrary pairs are
    // tried too; the header's own pair is among PORTS.
    let extra = match data {
        [.., a, b, c, d] => (u16::from_be_bytes([*a, *b]), u16::from_be_bytes([*c, *d])),
        _ => (0, 0),
    };
    registry(&case, extra);
    helpers(case.client, case.server);
});
