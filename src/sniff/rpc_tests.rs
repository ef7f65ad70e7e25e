//! ONC RPC detector tests over libnfs, rpcinfo, NFS-Ganesha and rpcbind
//! flows (capture_k.py).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const NFS3_C: &[u8] = include_bytes!("testdata/tcp/nfs/libnfs-v3.client.bin");
const NFS3_S: &[u8] = include_bytes!("testdata/tcp/nfs/libnfs-v3.server.bin");
const NFS4_C: &[u8] = include_bytes!("testdata/tcp/nfs/libnfs-v4.client.bin");
const NFS4_S: &[u8] = include_bytes!("testdata/tcp/nfs/libnfs-v4.server.bin");
const NFS_UDP_C: &[u8] = include_bytes!("testdata/udp/nfs/rpcinfo.client.bin");
const NFS_UDP_S: &[u8] = include_bytes!("testdata/udp/nfs/rpcinfo.server.bin");
const MOUNT_C: &[u8] = include_bytes!("testdata/tcp/onc-rpc/libnfs-mountd.client.bin");
const MOUNT_S: &[u8] = include_bytes!("testdata/tcp/onc-rpc/libnfs-mountd.server.bin");
const PMAP_C: &[u8] = include_bytes!("testdata/tcp/onc-rpc/rpcinfo.client.bin");
const PMAP_UDP_C: &[u8] = include_bytes!("testdata/udp/onc-rpc/rpcinfo.client.bin");
const PMAP_UDP_S: &[u8] = include_bytes!("testdata/udp/onc-rpc/rpcinfo.server.bin");

fn input<'a>(t: Transport, client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: t,
        client_port: 900,
        server_port: 2049,
        complete,
    }
}

fn tcp<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    input(Transport::Tcp, client, server, false)
}

fn udp<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    input(Transport::Udp, client, server, false)
}

#[test]
fn nfs_calls_are_nfs_with_their_version() {
    for (i, v) in [
        (tcp(NFS3_C, NFS3_S), 3),
        (tcp(NFS3_C, b""), 3),
        (tcp(NFS4_C, NFS4_S), 4),
        (udp(NFS_UDP_C, NFS_UDP_S), 3),
        (udp(NFS_UDP_C, b""), 3),
    ] {
        match detect_nfs(&i) {
            Sniff::Match(m) => {
                assert_eq!(m.version, Some(v));
                assert_eq!(m.method, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(detect_rpc(&i), Sniff::NotThis);
    }
}

#[test]
fn other_programs_are_onc_rpc_named_by_program() {
    for (i, name, v) in [
        (tcp(MOUNT_C, MOUNT_S), &b"mountd"[..], 3),
        (tcp(PMAP_C, b""), b"portmapper", 4),
        (udp(PMAP_UDP_C, PMAP_UDP_S), b"portmapper", 4),
    ] {
        match detect_rpc(&i) {
            Sniff::Match(m) => {
                assert_eq!(m.method, Some(name));
                assert_eq!(m.version, Some(v));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(detect_nfs(&i), Sniff::NotThis);
    }
}

#[test]
fn a_reply_alone_waits_for_the_call_and_is_never_named() {
    assert_eq!(detect_nfs(&tcp(b"", NFS3_S)), Sniff::NeedMore);
    assert_eq!(detect_rpc(&tcp(b"", MOUNT_S)), Sniff::NeedMore);
    let done = input(Transport::Tcp, b"", NFS3_S, true);
    assert_eq!(detect_nfs(&done), Sniff::NotThis);
    assert_eq!(detect_rpc(&done), Sniff::NotThis);
    // A reply in the initiator's direction is not a call.
    assert_eq!(detect_nfs(&udp(NFS_UDP_S, b"")), Sniff::NotThis);
}

#[test]
fn a_partial_tcp_call_needs_more_and_a_short_datagram_is_not_rpc() {
    for n in [0, 3, 4, 12, 30, 60] {
        let i = tcp(&NFS3_C[..n], b"");
        assert_eq!(detect_nfs(&i), Sniff::NeedMore, "prefix {n}");
        let done = input(Transport::Tcp, &NFS3_C[..n], b"", true);
        assert_eq!(detect_nfs(&done), Sniff::NotThis, "prefix {n}, complete");
    }
    assert_eq!(
        detect_nfs(&udp(&NFS_UDP_C[..36], b"")),
        Sniff::NotThis,
        "a datagram is whole"
    );
}

/// Sets the big-endian word at byte `at` of a copy of `buf`.
fn with_word(buf: &[u8], at: usize, v: u32) -> Vec<u8> {
    let mut b = buf.to_vec();
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
    b
}

#[test]
fn near_misses_are_not_rpc() {
    // Offsets in the UDP NULL call: xid 0, type 4, rpcvers 8, prog 12,
    // vers 16, proc 20, cred 24/28, verf 32/36.
    for (at, v) in [
        (4, 2),         // neither CALL nor REPLY
        (8, 3),         // RPC version 3
        (12, 0),        // program 0
        (16, 0x1_0000), // implausible version
        (20, 0x1_0000), // implausible procedure
        (24, 8),        // unknown credential flavor
        (28, 401),      // credential over 400 bytes
        (32, 8),        // unknown verifier flavor
        (36, 4),        // verifier body past the datagram
    ] {
        let b = with_word(NFS_UDP_C, at, v);
        assert_eq!(detect_nfs(&udp(&b, b"")), Sniff::NotThis, "word {at} = {v}");
        assert_eq!(detect_rpc(&udp(&b, b"")), Sniff::NotThis, "word {at} = {v}");
    }
    // Record marks: too short for any message, or beyond 16 MiB.
    for mark in [0x8000_0010, 0x8100_0001] {
        let b = with_word(NFS3_C, 0, mark);
        assert_eq!(detect_nfs(&tcp(&b, b"")), Sniff::NotThis, "mark {mark:#x}");
    }
    // The call ends inside its record mark's length: malformed.
    let b = with_word(NFS3_C, 0, 0x8000_0020);
    assert_eq!(detect_nfs(&tcp(&b, b"")), Sniff::NotThis);
    // A server that answers with anything but a reply.
    assert_eq!(
        detect_nfs(&tcp(NFS3_C, b"HTTP/1.1 400 Bad\r\n\r\n")),
        Sniff::NotThis
    );
    assert_eq!(detect_nfs(&tcp(NFS3_C, NFS3_C)), Sniff::NotThis);
}

#[test]
fn auth_sys_credentials_are_checked_field_by_field() {
    // libnfs's NFSv3 call carries AUTH_SYS: record mark 0, then the call;
    // the flavor is at 4 + 24, the body starts at 36 (stamp), the machine
    // name length is at 40.
    assert_eq!(&NFS3_C[4 + 24..4 + 28], &1u32.to_be_bytes());
    let name_len = u32::from_be_bytes(NFS3_C[40..44].try_into().unwrap());
    assert!(name_len <= 255);
    // A machine name longer than the credential body.
    let b = with_word(NFS3_C, 40, 200);
    assert_eq!(detect_nfs(&tcp(&b, b"")), Sniff::NotThis);
    // More than 16 groups.
    let gids_at = 44 + (name_len as usize).next_multiple_of(4) + 8;
    let b = with_word(NFS3_C, gids_at, 17);
    assert_eq!(detect_nfs(&tcp(&b, b"")), Sniff::NotThis);
}
