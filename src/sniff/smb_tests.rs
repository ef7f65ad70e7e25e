//! SMB and DCE/RPC detector tests over Samba, smbclient and impacket flows.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const SMB2_NEG: &[u8] = include_bytes!("testdata/tcp/smb/samba-smbclient.client.bin");
const SMB2_NEG_RSP: &[u8] = include_bytes!("testdata/tcp/smb/samba-smbclient.server.bin");
const SMB1_NEG: &[u8] = include_bytes!("testdata/tcp/smb/samba-impacket.client.bin");
const SMB1_NEG_RSP: &[u8] = include_bytes!("testdata/tcp/smb/samba-impacket.server.bin");
const BIND: &[u8] = include_bytes!("testdata/tcp/dcerpc/impacket.client.bin");
const BIND_ACK: &[u8] = include_bytes!("testdata/tcp/dcerpc/impacket.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 4450,
        complete,
    }
}

type Detect = for<'a> fn(&Input<'a>) -> Sniff<Meta<'a>>;

fn version(d: Detect, client: &[u8], server: &[u8]) -> Option<u32> {
    match d(&input(client, server, false)) {
        Sniff::Match(m) => m.version,
        other => panic!("{other:?}"),
    }
}

#[test]
fn smb_negotiates_and_dialects() {
    assert_eq!(version(detect_smb, SMB2_NEG, b""), Some(0x0311));
    assert_eq!(version(detect_smb, b"", SMB2_NEG_RSP), Some(0x0311));
    assert_eq!(version(detect_smb, SMB1_NEG, b""), Some(1));
    // Samba answers the SMB1 negotiate with an SMB2 one (multi-protocol negotiate).
    assert!(matches!(
        detect_smb(&input(b"", SMB1_NEG_RSP, false)),
        Sniff::Match(_)
    ));
    for hello in [SMB2_NEG, SMB1_NEG] {
        for n in 0..hello.len().min(80) {
            let got = detect_smb(&input(&hello[..n], b"", false));
            assert!(!matches!(got, Sniff::NotThis), "prefix {n}: {got:?}");
        }
        assert_eq!(detect_dcerpc(&input(hello, b"", true)), Sniff::NotThis);
    }
}

#[test]
fn netbios_session_request() {
    // RFC 1002 4.3.2, names as smbclient encodes "*SMBSERVER" and "CLIENT".
    let mut req = vec![0x81, 0, 0, 68, 32];
    req.extend_from_slice(b"CKFDENECFDEFFCFGEFFCCACACACACACA");
    req.push(0);
    req.push(32);
    req.extend_from_slice(b"EDEMEJEFEOFEEDCACACACACACACACAAA");
    req.push(0);
    assert!(matches!(
        detect_smb(&input(&req, b"", false)),
        Sniff::Match(_)
    ));
    for n in 0..req.len() {
        assert_eq!(
            detect_smb(&input(&req[..n], b"", false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    req[10] = b'Z';
    assert_eq!(detect_smb(&input(&req, b"", false)), Sniff::NotThis);
}

#[test]
fn smb_rejects_near_misses() {
    let mut bad_size = SMB2_NEG.to_vec();
    bad_size[8] = 0x41;
    let mut bad_cmd = SMB2_NEG.to_vec();
    bad_cmd[16] = 0x40;
    for bad in [
        &bad_size[..],
        &bad_cmd,
        b"\x00\x00\x00\x10\xfeSMB",
        b"\x00\x00\x00\x45\xfeSMC",
        b"\x01\x00\x00\x45\xfeSMB",
        b"\x00\x00\x00\x45\xffSMB\x99",
        b"GET / HTTP/1.1\r\n",
        b"\x05\x00\x0b\x03\x10\x00\x00\x00",
    ] {
        assert_eq!(
            detect_smb(&input(bad, b"", false)),
            Sniff::NotThis,
            "{bad:?}"
        );
    }
}

#[test]
fn dcerpc_bind_and_ack() {
    match detect_dcerpc(&input(BIND, b"", false)) {
        Sniff::Match(m) => {
            assert_eq!(m.method, Some(&b"bind"[..]));
            assert_eq!(m.version, Some(0x0500));
        }
        other => panic!("{other:?}"),
    }
    match detect_dcerpc(&input(b"", BIND_ACK, false)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"bind_ack"[..])),
        other => panic!("{other:?}"),
    }
    for n in 0..BIND.len() {
        let got = detect_dcerpc(&input(&BIND[..n], b"", false));
        assert!(!matches!(got, Sniff::NotThis), "prefix {n}: {got:?}");
    }
    assert_eq!(detect_smb(&input(BIND, BIND_ACK, true)), Sniff::NotThis);
}

#[test]
fn dcerpc_rejects_near_misses() {
    let patch = |i: usize, v: u8| {
        let mut b = BIND.to_vec();
        b[i] = v;
        b
    };
    for bad in [
        patch(0, 4),     // version
        patch(1, 2),     // minor version
        patch(2, 12),    // a bind_ack from the initiator
        patch(4, 0x20),  // data representation
        patch(6, 1),     // reserved drep byte
        patch(8, 15),    // fragment shorter than the header
        patch(24, 0),    // no presentation context
        patch(17, 0x01), // max_xmit_frag below 1432
    ] {
        assert_eq!(
            detect_dcerpc(&input(&bad, b"", false)),
            Sniff::NotThis,
            "{bad:?}"
        );
    }
    // A request from the responder's side is not a response.
    assert_eq!(detect_dcerpc(&input(b"", BIND, false)), Sniff::NotThis);
}
