//! Tunnel decapsulation: headers built from their RFCs around a real
//! IPv4/TCP packet; look-alikes on tunnel ports are left alone.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use proptest::prelude::*;

fn inner_tcp() -> Vec<u8> {
    crate::packet::tests::v4_tcp(
        [10, 2, 0, 1],
        [10, 2, 0, 2],
        39198,
        1234,
        1,
        0x18,
        b"GET / HTTP/1.1\r\n\r\n",
    )
}

fn v4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
    p.extend_from_slice(&[198, 18, 0, 1, 198, 18, 0, 2]);
    p.extend_from_slice(payload);
    p
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = sport.to_be_bytes().to_vec();
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    v4(17, &u)
}

fn ether(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    f.extend_from_slice(ip);
    f
}

#[test]
fn gre_plain_and_with_key_and_sequence() {
    let mut g = vec![0x00, 0x00, 0x08, 0x00];
    g.extend_from_slice(&inner_tcp());
    assert_eq!(inner(&v4(47, &g)), Some((Tunnel::Gre, &inner_tcp()[..])));
    // K and S bits: 8 more bytes.
    let mut g = vec![0x30, 0x00, 0x08, 0x00, 0, 0, 0, 7, 0, 0, 0, 1];
    g.extend_from_slice(&inner_tcp());
    assert_eq!(inner(&v4(47, &g)).unwrap().1, &inner_tcp()[..]);
    // Transparent Ethernet bridging.
    let mut g = vec![0x00, 0x00, 0x65, 0x58];
    g.extend_from_slice(&ether(&inner_tcp()));
    assert_eq!(inner(&v4(47, &g)).unwrap().1, &inner_tcp()[..]);
    // Version 1 (PPTP) is not followed.
    let mut g = vec![0x30, 0x01, 0x88, 0x0b];
    g.extend_from_slice(&inner_tcp());
    assert_eq!(inner(&v4(47, &g)), None);
}

#[test]
fn ip_in_ip() {
    assert_eq!(
        inner(&v4(4, &inner_tcp())),
        Some((Tunnel::IpInIp, &inner_tcp()[..]))
    );
}

#[test]
fn vxlan_and_geneve_nested_gre() {
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0];
    vx.extend_from_slice(&ether(&inner_tcp()));
    assert_eq!(
        inner(&udp(50000, 4789, &vx)),
        Some((Tunnel::Vxlan, &inner_tcp()[..]))
    );
    // Geneve with 8 bytes of options carrying IPv4 that is itself GRE.
    let mut g = vec![0x00, 0x00, 0x08, 0x00];
    g.extend_from_slice(&inner_tcp());
    let gre_pkt = v4(47, &g);
    let mut gen = vec![0x02, 0x00, 0x08, 0x00, 0, 0, 0, 0];
    gen.extend_from_slice(&[0; 8]);
    gen.extend_from_slice(&gre_pkt);
    let outer = udp(60276, 6081, &gen);
    let (t1, mid) = inner(&outer).unwrap();
    assert_eq!((t1, mid), (Tunnel::Geneve, &gre_pkt[..]));
    let (t2, ip) = inner(mid).unwrap();
    assert_eq!((t2, ip), (Tunnel::Gre, &inner_tcp()[..]));
}

#[test]
fn teredo_with_origin_indication() {
    // IPv6 + TCP header, no payload.
    let mut v6 = vec![0x60, 0, 0, 0, 0, 20, 6, 64];
    v6.extend_from_slice(&[0x20, 0x01, 0, 0, 0x41, 0x37, 0x9e, 0x50]);
    v6.extend_from_slice(&[0x80, 0, 0xf1, 0x2a, 0xb9, 0xc8, 0x28, 0x15]);
    v6.extend_from_slice(&[0x20, 0x01, 0x48, 0x60, 0, 0, 0x20, 0x01]);
    v6.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0x68]);
    v6.extend_from_slice(&[
        0x05, 0x06, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff,
    ]);
    v6.extend_from_slice(&[0, 0, 0, 0]);
    let mut t = vec![0x00, 0x00, 0x0e, 0xd5, 0x9a, 0xbc, 0xde, 0xf0];
    t.extend_from_slice(&v6);
    let outer = udp(3797, 3544, &t);
    let (tun, ip) = inner(&outer).unwrap();
    assert_eq!((tun, ip), (Tunnel::Teredo, &v6[..]));
    let p = crate::packet::parse(ip).unwrap();
    assert_eq!((p.sport, p.dport), (1286, 80));
    // Client to relay: any ports, no origin indication.
    let outer = udp(3797, 32900, &v6);
    assert_eq!(inner(&outer), Some((Tunnel::Teredo, &v6[..])));
    // Not Teredo-addressed, or trailing bytes: not a tunnel.
    let mut other = v6.clone();
    other[8] = 0x3f;
    other[24] = 0x3f;
    assert_eq!(inner(&udp(3797, 32900, &other)), None);
    let mut long = v6.clone();
    long.push(0);
    assert_eq!(inner(&udp(3797, 32900, &long)), None);
}

#[test]
fn look_alikes_on_tunnel_ports_are_not_tunnels() {
    // DNS-looking bytes on 4789, 6081 and 3544.
    let junk = [
        0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'f', b'o', b'o',
    ];
    for port in [4789, 6081, 3544] {
        assert_eq!(inner(&udp(40000, port, &junk)), None, "port {port}");
    }
    // A plain TCP packet is not a tunnel.
    assert_eq!(inner(&inner_tcp()), None);
}

proptest! {
    #[test]
    fn never_panics_and_returns_a_suffix(
        proto in prop_oneof![Just(4u8), Just(41), Just(47), Just(17)],
        port in prop_oneof![Just(4789u16), Just(6081), Just(3544)],
        body in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        let pkt = if proto == 17 { udp(1, port, &body) } else { v4(proto, &body) };
        if let Some((_, ip)) = inner(&pkt) {
            prop_assert!(pkt.ends_with(ip) || pkt.windows(ip.len()).any(|w| w == ip));
        }
    }
}
