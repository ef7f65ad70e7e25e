//! DHCP detector tests over a dhcping DHCPREQUEST.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const REQUEST: &[u8] = include_bytes!("testdata/udp/dhcp/dhcping.client.bin");

fn input(client: &[u8]) -> Input<'_> {
    Input {
        client,
        server: b"",
        transport: Transport::Udp,
        client_port: 68,
        server_port: 67,
        complete: false,
    }
}

#[test]
fn dhcping_request_matches() {
    match detect(&input(REQUEST)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"request"[..])),
        other => panic!("{other:?}"),
    }
}

#[test]
fn offer_with_vendor_class_reads_it() {
    // The request turned into a server OFFER with a vendor class option.
    let mut b = REQUEST[..240].to_vec();
    b[0] = 2;
    b.extend_from_slice(&[53, 1, 2, 60, 8]);
    b.extend_from_slice(b"MSFT 5.0");
    b.push(255);
    match detect(&input(&b)) {
        Sniff::Match(m) => {
            assert_eq!(m.method, Some(&b"offer"[..]));
            assert_eq!(m.software, Some(&b"MSFT 5.0"[..]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn near_misses_are_not_dhcp() {
    // No magic cookie (plain BOOTP), op 3, reply op with a client message,
    // options running past the end, no END option, no message type.
    for (i, v) in [(236usize, 0u8), (0, 3), (0, 2), (2, 17), (10, 0x01)] {
        let mut b = REQUEST.to_vec();
        b[i] = v;
        assert_eq!(detect(&input(&b)), Sniff::NotThis, "byte {i} = {v:#x}");
    }
    let mut b = REQUEST[..240].to_vec();
    b.extend_from_slice(&[53, 1, 3, 61, 200, 1]);
    assert_eq!(detect(&input(&b)), Sniff::NotThis);
    let mut b = REQUEST[..240].to_vec();
    b.extend_from_slice(&[53, 1, 3]);
    assert_eq!(detect(&input(&b)), Sniff::NotThis);
    let mut b = REQUEST[..240].to_vec();
    b.extend_from_slice(&[12, 1, b'a', 255]);
    assert_eq!(detect(&input(&b)), Sniff::NotThis);
}

#[test]
fn every_truncation_is_safe() {
    for n in 1..REQUEST.len() {
        let _ = detect(&input(&REQUEST[..n]));
    }
}
