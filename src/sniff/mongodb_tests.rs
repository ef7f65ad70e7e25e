//! MongoDB detector tests over handshakes recorded from pymongo.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const ISMASTER: &[u8] = include_bytes!("testdata/tcp/mongodb/pymongo-isMaster.client.bin");
const HELLO: &[u8] = include_bytes!("testdata/tcp/mongodb/pymongo-hello.client.bin");

fn inp<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 27017,
        complete,
    }
}

fn method<'a>(i: &Input<'a>) -> &'a [u8] {
    match detect(i) {
        Sniff::Match(m) => m.method.unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn op_msg_prefixes_then_match() {
    for (buf, cmd) in [(ISMASTER, &b"ismaster"[..]), (HELLO, b"hello")] {
        let mut matched = false;
        for n in 0..buf.len() {
            match detect(&inp(&buf[..n], b"", false)) {
                Sniff::NeedMore => assert!(!matched),
                Sniff::Match(_) => matched = true,
                Sniff::NotThis => panic!("{cmd:?} prefix {n}"),
            }
        }
        assert!(matched);
        assert_eq!(method(&inp(buf, b"", false)), cmd);
    }
}

/// A legacy OP_QUERY isMaster as drivers before OP_MSG sent it.
fn op_query() -> Vec<u8> {
    let mut doc = vec![0, 0, 0, 0];
    doc.extend_from_slice(b"\x10isMaster\x00\x01\x00\x00\x00\x00");
    let n = doc.len() as u32;
    doc[..4].copy_from_slice(&n.to_le_bytes());
    let mut body = 0u32.to_le_bytes().to_vec();
    body.extend_from_slice(b"admin.$cmd\x00");
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&(-1i32).to_le_bytes());
    body.extend_from_slice(&doc);
    let mut m = ((16 + body.len()) as u32).to_le_bytes().to_vec();
    m.extend_from_slice(&7u32.to_le_bytes());
    m.extend_from_slice(&0u32.to_le_bytes());
    m.extend_from_slice(&2004u32.to_le_bytes());
    m.extend_from_slice(&body);
    m
}

#[test]
fn legacy_op_query_and_reply() {
    let q = op_query();
    assert_eq!(method(&inp(&q, b"", false)), b"isMaster");
    // A reply seen alone: the OP_MSG server answer to the hello.
    let mut reply = HELLO[..16].to_vec();
    reply[8..12].copy_from_slice(&[1, 0, 0, 0]);
    let mut doc = vec![0, 0, 0, 0, 0, 0, 0, 0, 0];
    doc.extend_from_slice(b"\x08isWritablePrimary\x00\x01\x00");
    let n = doc.len() as u32 - 5;
    doc[5..9].copy_from_slice(&n.to_le_bytes());
    reply.extend_from_slice(&doc);
    let len = reply.len() as u32;
    reply[..4].copy_from_slice(&len.to_le_bytes());
    assert_eq!(method(&inp(b"", &reply, false)), b"isWritablePrimary");
    // The same bytes as a request: responseTo must be zero.
    assert_eq!(detect(&inp(&reply, b"", false)), Sniff::NotThis);
}

#[test]
fn rejects_near_misses() {
    let flip = |i: usize, v: u8| {
        let mut b = HELLO.to_vec();
        b[i] = v;
        b
    };
    for bad in [
        flip(3, 0x10),  // 268 MB message
        flip(12, 0xd5), // opcode 2005
        flip(8, 1),     // responseTo in a request
        flip(16, 4),    // unknown OP_MSG flag bit
        flip(20, 2),    // section kind 2
        flip(25, 0x20), // BSON type 0x20
        b"\x0c\x00\x00\x00\x01\x00\x00\x00".to_vec(),
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
    ] {
        assert_eq!(detect(&inp(&bad, b"", true)), Sniff::NotThis, "{bad:?}");
    }
    // The server answered before the request was whole.
    assert_eq!(
        detect(&inp(&HELLO[..10], b"\x05\x00", false)),
        Sniff::NotThis
    );
    assert_eq!(detect(&inp(b"", b"220 ready\r\n", false)), Sniff::NotThis);
}
