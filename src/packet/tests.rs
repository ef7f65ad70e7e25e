//! Packet parser tests over hand-assembled headers.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;

/// Builds an IPv4 + TCP packet (no options) around `payload`.
pub(crate) fn v4_tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let total = 20 + 20 + payload.len();
    let mut p = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ];
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&0u32.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(payload);
    p
}

#[test]
fn ipv4_tcp() {
    let p = v4_tcp(
        [198, 18, 1, 2],
        [198, 18, 2, 2],
        40000,
        443,
        7,
        tcp_flags::ACK,
        b"hello",
    );
    let got = parse(&p).unwrap();
    assert_eq!(got.transport, Transport::Tcp);
    assert_eq!((got.sport, got.dport, got.seq), (40000, 443, 7));
    assert_eq!(got.payload, b"hello");
    assert_eq!(got.dst.to_string(), "198.18.2.2");
}

#[test]
fn ipv6_udp_with_hop_by_hop() {
    let payload = b"\x12\x34";
    let mut p = vec![0x60, 0, 0, 0, 0, 0, 0, 64];
    let l4len = 8 + 8 + payload.len();
    p[4..6].copy_from_slice(&(l4len as u16).to_be_bytes());
    p[6] = 0; // hop-by-hop
    p.extend_from_slice(&"2001:db8:1::2".parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&"2001:db8:2::2".parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]); // HBH: next UDP, len 0 (8 bytes)
    p.extend_from_slice(&[0x9c, 0x40, 0, 53, 0, (8 + payload.len()) as u8, 0, 0]);
    p.extend_from_slice(payload);
    let got = parse(&p).unwrap();
    assert_eq!(got.transport, Transport::Udp);
    assert_eq!(got.dport, 53);
    assert_eq!(got.payload, payload);
}

#[test]
fn errors_are_typed() {
    assert_eq!(parse(&[]), Err(PacketError::Truncated("IP")));
    assert_eq!(parse(&[0x55]), Err(PacketError::BadVersion(5)));
    let mut p = v4_tcp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, 0, 0, b"");
    p[9] = 1;
    assert_eq!(parse(&p), Err(PacketError::NotTcpUdp(1)));
    let mut p = v4_tcp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, 0, 0, b"");
    p[6] = 0x00;
    p[7] = 0x10;
    assert_eq!(parse(&p), Err(PacketError::Fragment));
    let p = v4_tcp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, 0, 0, b"");
    for n in 0..p.len() {
        assert!(parse(&p[..n]).is_err(), "prefix {n}");
    }
}

proptest::proptest! {
    #[test]
    fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..128)) {
        let _ = parse(&bytes);
    }
}
