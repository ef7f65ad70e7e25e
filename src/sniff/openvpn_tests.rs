//! OpenVPN detector tests over OpenVPN 2.6 client and server resets, with
//! every control channel protection, over UDP and TCP.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

macro_rules! flows {
    ($($mode:literal),*) => {
        [$((
            $mode,
            &include_bytes!(concat!("testdata/udp/openvpn/", $mode, ".client.bin"))[..],
            &include_bytes!(concat!("testdata/udp/openvpn/", $mode, ".server.bin"))[..],
            &include_bytes!(concat!("testdata/tcp/openvpn/", $mode, ".client.bin"))[..],
            &include_bytes!(concat!("testdata/tcp/openvpn/", $mode, ".server.bin"))[..],
        )),*]
    };
}

fn input<'a>(client: &'a [u8], server: &'a [u8], transport: Transport) -> Input<'a> {
    Input {
        client,
        server,
        transport,
        client_port: 40000,
        server_port: 1194,
        complete: false,
    }
}

fn version(client: &[u8], server: &[u8], t: Transport) -> u32 {
    match detect(&input(client, server, t)) {
        Sniff::Match(m) => m.version.unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_mode_matches_both_sides() {
    for (mode, uc, us, tc, ts) in flows!("plain", "tls-auth", "tls-crypt", "tls-crypt-v2") {
        let want = if mode == "tls-crypt-v2" { 3 } else { 2 };
        assert_eq!(version(uc, b"", Transport::Udp), want, "{mode}");
        assert_eq!(version(tc, b"", Transport::Tcp), want, "{mode}");
        assert_eq!(version(b"", us, Transport::Udp), 2, "{mode}");
        assert_eq!(version(b"", ts, Transport::Tcp), 2, "{mode}");
        for n in 0..tc.len() {
            assert_eq!(
                detect(&input(&tc[..n], b"", Transport::Tcp)),
                Sniff::NeedMore,
                "{mode} {n}"
            );
        }
        // The server's reset is not a client's, and the other way round.
        assert_eq!(
            detect(&input(us, b"", Transport::Udp)),
            Sniff::NotThis,
            "{mode}"
        );
        assert_eq!(
            detect(&input(b"", uc, Transport::Udp)),
            Sniff::NotThis,
            "{mode}"
        );
        // One byte more or less breaks the layout.
        let mut long = uc.to_vec();
        long.push(0);
        assert_eq!(
            detect(&input(&long, b"", Transport::Udp)),
            Sniff::NotThis,
            "{mode}"
        );
        assert_eq!(
            detect(&input(&uc[..uc.len() - 1], b"", Transport::Udp)),
            Sniff::NotThis,
            "{mode}"
        );
    }
}

#[test]
fn near_misses_are_not_openvpn() {
    // Opcode byte alone, data packets, a key id, a non-zero message id.
    let plain = flows!("plain")[0].1;
    for (i, v) in [(0usize, 0x30u8), (0, 0x39), (0, 0x48), (13, 1)] {
        let mut b = plain.to_vec();
        b[i] = v;
        assert_eq!(
            detect(&input(&b, b"", Transport::Udp)),
            Sniff::NotThis,
            "byte {i} = {v:#x}"
        );
    }
    for bad in [
        &b"\x00\x0e\x38"[..],
        b"\x00\x05\x38",
        b"\x16\x03\x01\x02\x00",
    ] {
        let got = detect(&input(bad, b"", Transport::Tcp));
        assert_ne!(got, Sniff::Match(Meta::default()), "{bad:?}");
        assert!(!matches!(got, Sniff::Match(_)), "{bad:?}");
    }
    assert_eq!(
        detect(&input(b"\x00\x05\x38", b"", Transport::Tcp)),
        Sniff::NotThis
    );
    assert_eq!(
        detect(&input(b"GET / HTTP/1.1\r\n", b"", Transport::Tcp)),
        Sniff::NotThis
    );
    assert_eq!(
        detect(&input(&[0x38; 14], b"", Transport::Udp)),
        Sniff::NotThis
    );
}
