//! EtherNet/IP detector tests over flows recorded from pycomm3 and cpppo's
//! client against cpppo's simulator (capture_j.py).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;

const PYCOMM3: (&[u8], &[u8]) = (
    include_bytes!("testdata/tcp/enip/pycomm3.client.bin"),
    include_bytes!("testdata/tcp/enip/pycomm3.server.bin"),
);
const LIST_ID: (&[u8], &[u8]) = (
    include_bytes!("testdata/tcp/enip/cpppo-list-identity.client.bin"),
    include_bytes!("testdata/tcp/enip/cpppo-list-identity.server.bin"),
);
const READ: (&[u8], &[u8]) = (
    include_bytes!("testdata/tcp/enip/cpppo-read.client.bin"),
    include_bytes!("testdata/tcp/enip/cpppo-read.server.bin"),
);

fn inp<'a>(client: &'a [u8], server: &'a [u8], transport: Transport) -> Input<'a> {
    Input {
        client,
        server,
        transport,
        client_port: 40000,
        server_port: 44818,
        complete: false,
    }
}

fn method<'a>(i: &Input<'a>) -> &'a [u8] {
    match detect(i) {
        Sniff::Match(m) => m.method.unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn register_session_prefixes_then_match() {
    for (client, server) in [PYCOMM3, LIST_ID, READ] {
        for n in 0..HEADER + 4 {
            assert_eq!(
                detect(&inp(&client[..n], b"", Transport::Tcp)),
                Sniff::NeedMore,
                "prefix {n}"
            );
        }
        let i = inp(client, server, Transport::Tcp);
        assert_eq!(method(&i), b"RegisterSession");
        // The reply alone: RegisterSession with the session handle set.
        assert_eq!(
            method(&inp(b"", server, Transport::Tcp)),
            b"RegisterSession"
        );
    }
}

/// The second message of a recorded flow (after RegisterSession).
fn second(buf: &[u8]) -> &[u8] {
    &buf[HEADER + 4..]
}

#[test]
fn later_messages_match_on_their_own() {
    // A flow picked up after RegisterSession: ListIdentity, SendRRData.
    let (c, s) = LIST_ID;
    assert_eq!(
        method(&inp(second(c), second(s), Transport::Tcp)),
        b"ListIdentity"
    );
    assert_eq!(
        method(&inp(b"", second(s), Transport::Tcp)),
        b"ListIdentity"
    );
    let (c, s) = READ;
    assert_eq!(
        method(&inp(second(c), second(s), Transport::Tcp)),
        b"SendRRData"
    );
    assert_eq!(method(&inp(b"", second(s), Transport::Tcp)), b"SendRRData");
    // ListIdentity over UDP 44818 (discovery): one datagram.
    let req = &second(LIST_ID.0)[..HEADER];
    assert_eq!(method(&inp(req, b"", Transport::Udp)), b"ListIdentity");
    assert_eq!(
        detect(&inp(&req[..20], b"", Transport::Udp)),
        Sniff::NotThis
    );
}

#[test]
fn reply_must_echo_command_and_context() {
    let (c, s) = PYCOMM3;
    let mut bad = s.to_vec();
    bad[12] ^= 1; // sender context
    assert_eq!(detect(&inp(c, &bad, Transport::Tcp)), Sniff::NotThis);
    let mut bad = s.to_vec();
    bad[0] = 0x66;
    assert_eq!(detect(&inp(c, &bad, Transport::Tcp)), Sniff::NotThis);
}

#[test]
fn near_misses_are_not_enip() {
    let (c, _) = PYCOMM3;
    for (i, v) in [
        (0usize, 0x00u8), // NOP never opens a flow
        (0, 0x66),        // UnRegisterSession neither
        (2, 5),           // length does not fit RegisterSession
        (4, 1),           // a request with a session handle
        (8, 1),           // a request with a status
        (20, 1),          // options
        (24, 2),          // protocol version 2
        (26, 1),          // option flags
    ] {
        let mut b = c[..HEADER + 4].to_vec();
        b[i] = v;
        assert_eq!(
            detect(&inp(&b, b"", Transport::Udp)),
            Sniff::NotThis,
            "byte {i} = {v:#x}"
        );
    }
    // SendRRData whose item list does not fill the data, or has an unknown item.
    let rr = second(READ.0);
    let len = HEADER + usize::from(u16::from_le_bytes([rr[2], rr[3]]));
    let mut b = rr[..len].to_vec();
    b[30] = 3; // item count
    assert_eq!(detect(&inp(&b, b"", Transport::Udp)), Sniff::NotThis);
    let mut b = rr[..len].to_vec();
    b[32] = 0x77; // first item's type
    assert_eq!(detect(&inp(&b, b"", Transport::Udp)), Sniff::NotThis);
    let mut b = rr[..len].to_vec();
    b[4..8].copy_from_slice(&[0; 4]); // SendRRData outside a session
    assert_eq!(detect(&inp(&b, b"", Transport::Udp)), Sniff::NotThis);
    for other in [
        &b"GET / HTTP/1.1\r\n"[..],
        b"\x16\x03\x01\x00\x10",
        b"e\x00\x04\x00",
    ] {
        assert_eq!(
            detect(&inp(other, b"", Transport::Udp)),
            Sniff::NotThis,
            "{other:?}"
        );
    }
}
