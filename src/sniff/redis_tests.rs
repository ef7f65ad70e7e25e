//! Redis detector tests over flows recorded from redis-cli and redis-server 7.0.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const CLI: &[u8] = include_bytes!("testdata/tcp/redis/redis-cli.client.bin");
const CLI_S: &[u8] = include_bytes!("testdata/tcp/redis/redis-cli.server.bin");
const RESP3: &[u8] = include_bytes!("testdata/tcp/redis/redis-cli-resp3.client.bin");
const RESP3_S: &[u8] = include_bytes!("testdata/tcp/redis/redis-cli-resp3.server.bin");
const INLINE: &[u8] = include_bytes!("testdata/tcp/redis/inline.client.bin");

fn inp<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 6379,
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
fn commands_prefixes_then_match() {
    for (buf, cmd, whole) in [
        (CLI, &b"PING"[..], CLI.len()),
        (RESP3, b"HELLO", 15),
        (INLINE, b"PING", INLINE.len()),
    ] {
        for n in 0..whole {
            assert_eq!(
                detect(&inp(&buf[..n], b"", false)),
                Sniff::NeedMore,
                "{cmd:?} prefix {n}"
            );
        }
        assert_eq!(method(&inp(buf, b"", false)), cmd);
    }
    assert_eq!(method(&inp(CLI, CLI_S, false)), b"PING");
    assert_eq!(method(&inp(RESP3, RESP3_S, false)), b"HELLO");
    assert_eq!(method(&inp(b"auth secret\r\n", b"", false)), b"auth");
}

#[test]
fn server_alone() {
    assert!(matches!(detect(&inp(b"", RESP3_S, false)), Sniff::Match(_)));
    assert!(matches!(detect(&inp(b"", CLI_S, false)), Sniff::Match(_)));
    let denied =
        b"-DENIED Redis is running in protected mode because protected mode is enabled\r\n";
    assert!(matches!(detect(&inp(b"", denied, false)), Sniff::Match(_)));
    let info = b"$3000\r\n# Server\r\nredis_version:7.0.15\r\n";
    assert!(matches!(detect(&inp(b"", info, false)), Sniff::Match(_)));
    assert_eq!(detect(&inp(b"", b"-DEN", false)), Sniff::NeedMore);
    for bad in [
        &b"+OK\r\n"[..],
        b"220 ftp ready\r\n",
        b"-ERR unknown\r\n",
        b"$5\r\nhello\r\n",
    ] {
        assert_eq!(detect(&inp(b"", bad, false)), Sniff::NotThis, "{bad:?}");
    }
}

#[test]
fn rejects_near_misses() {
    for bad in [
        &b"*0\r\n"[..],
        b"*1\r\n$0\r\n\r\n",
        b"*1\r\n$4\r\nPI\x00G\r\n",
        b"*1\r\n$4\r\nPINGx\r\n",
        b"*x\r\n",
        b"*1\n$4\nPING\n",
        b"GET / HTTP/1.1\r\n",
        b"NICK guest\r\n",
        b"EHLO example.org\r\n",
        b"PINGS\r\n",
        b"PING\x01\r\n",
        b"\x16\x03\x01\x00\x05",
    ] {
        assert_eq!(detect(&inp(bad, b"", true)), Sniff::NotThis, "{bad:?}");
    }
    // The server answered with something that is not RESP.
    assert_eq!(
        detect(&inp(CLI, b"HTTP/1.1 400 Bad Request\r\n", false)),
        Sniff::NotThis
    );
    // The server answered before the command was whole.
    assert_eq!(detect(&inp(&CLI[..6], b"+PONG\r\n", false)), Sniff::NotThis);
}
