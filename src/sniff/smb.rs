//! SMB 1, 2 and 3 over NetBIOS session service framing (RFC 1002; direct
//! TCP per MS-SMB2 2.1), and connection-oriented DCE/RPC (C706 chapter 12).
//!
//! SMB: a session message (type 0, 24-bit length covering at least a full
//! SMB header) whose payload starts with `\xffSMB` and a known SMB1
//! command, `\xfeSMB` with StructureSize 64 and a command of at most 0x12,
//! or an SMB3 transform (`\xfdSMB`, encrypted) / compression (`\xfcSMB`)
//! header with valid algorithm fields. On port-139 style flows the client
//! opens with a NetBIOS session request (type 0x81) carrying two
//! first-level encoded names, which is matched on its own. Negotiate
//! messages report the highest SMB2 dialect offered (or the one selected)
//! as the version; SMB1 reports 1.
//!
//! DCE/RPC: version 5.0/5.1, a known PDU type for the side (bind, alter
//! context, request... from the initiator; bind_ack, response, fault... from
//! the responder), a valid data representation, and a fragment length that
//! holds the header and the auth trailer; binds must offer at least one
//! presentation context with at least one transfer syntax.

use super::cursor::{be16_at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff};

/// SMB, then DCE/RPC.
pub(crate) const DETECTORS: &[Detector] = &[
    Detector {
        proto: Proto::Smb,
        tcp: true,
        udp: false,
        detect: detect_smb,
    },
    Detector {
        proto: Proto::Dcerpc,
        tcp: true,
        udp: false,
        detect: detect_dcerpc,
    },
];

const SESSION_MESSAGE: u8 = 0x00;
const SESSION_REQUEST: u8 = 0x81;
const SMB1_HEADER: usize = 32;
const SMB2_HEADER: usize = 64;
/// A transform header is 52 bytes; compression header 16.
const SMB3_TRANSFORM: usize = 52;

/// SMB1 commands a flow may start with or be picked up on (MS-CIFS 2.2.2.1).
const SMB1_COMMANDS: &[u8] = &[
    0x04, 0x06, 0x08, 0x24, 0x25, 0x26, 0x2b, 0x2e, 0x2f, 0x32, 0x34, 0x70, 0x71, 0x72, 0x73, 0x74,
    0x75, 0xa0, 0xa2, 0xa4,
];

fn detect_smb<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if !input.client.is_empty() {
        return smb(input.client, true);
    }
    if input.server.is_empty() {
        return Sniff::NeedMore;
    }
    smb(input.server, false)
}

fn smb(buf: &[u8], from_client: bool) -> Sniff<Meta<'_>> {
    match buf.first() {
        None => return Sniff::NeedMore,
        Some(&SESSION_MESSAGE) => {}
        Some(&SESSION_REQUEST) if from_client => return session_request(buf),
        Some(_) => return Sniff::NotThis,
    }
    let Some(len) = Cursor::new(buf.get(1..).unwrap_or_default()).be24() else {
        return Sniff::NeedMore;
    };
    let len = len as usize;
    let body = buf.get(4..).unwrap_or_default();
    let magic = body.get(..4).unwrap_or(body);
    let kind = [b"\xffSMB", b"\xfeSMB", b"\xfdSMB", b"\xfcSMB"]
        .iter()
        .position(|m| m.starts_with(magic));
    let Some(kind) = kind else {
        return Sniff::NotThis;
    };
    let min = [SMB1_HEADER, SMB2_HEADER, SMB3_TRANSFORM, 16];
    if len < min.get(kind).copied().unwrap_or(SMB2_HEADER) {
        return Sniff::NotThis;
    }
    // Reject early on what is already there.
    let early = match kind {
        0 => body.get(4).is_some_and(|c| !SMB1_COMMANDS.contains(c)),
        1 => {
            let size = body.get(4..6).map(|b| b == [64, 0]);
            let cmd = body
                .get(12..14)
                .map(|b| b.get(1) == Some(&0) && b.first() <= Some(&0x12));
            size == Some(false) || cmd == Some(false)
        }
        _ => false,
    };
    if early {
        return Sniff::NotThis;
    }
    let need = min.get(kind).copied().unwrap_or(SMB2_HEADER).min(len);
    let Some(hdr) = body.get(..need) else {
        return Sniff::NeedMore;
    };
    let mut c = Cursor::new(hdr.get(4..).unwrap_or_default());
    match kind {
        0 => {
            let cmd = c.u8().unwrap_or(0);
            if !SMB1_COMMANDS.contains(&cmd) {
                return Sniff::NotThis;
            }
            Sniff::Match(Meta {
                method: (cmd == 0x72).then_some(&b"negotiate"[..]),
                version: Some(1),
                ..Meta::default()
            })
        }
        1 => {
            let (size, _credit, _status) = (c.le16(), c.le16(), c.le32());
            let (cmd, _credits, flags) = (c.le16(), c.le16(), c.le32());
            if size != Some(64) || cmd.is_none_or(|cmd| cmd > 0x12) {
                return Sniff::NotThis;
            }
            let mut meta = Meta {
                version: Some(2),
                ..Meta::default()
            };
            if cmd == Some(0) {
                meta.method = Some(b"negotiate");
                let payload = body
                    .get(SMB2_HEADER..len.min(body.len()))
                    .unwrap_or_default();
                let response = flags.unwrap_or(0) & 1 != 0;
                if let Some(d) = smb2_dialect(payload, response) {
                    meta.version = Some(u32::from(d));
                }
            }
            Sniff::Match(meta)
        }
        2 => {
            // Signature (16), nonce (16), original size (4), reserved (2), flags (2).
            let flags = c.skip(36).and_then(|_| c.le16()).and_then(|_| c.le16());
            if flags == Some(1) {
                Sniff::Match(Meta {
                    version: Some(3),
                    ..Meta::default()
                })
            } else {
                Sniff::NotThis
            }
        }
        _ => {
            // OriginalCompressedSegmentSize (4), CompressionAlgorithm (2), Flags (2).
            let (_size, alg, flags) = (c.le32(), c.le16(), c.le16());
            match (alg, flags) {
                (Some(0..=4), Some(0 | 1)) => Sniff::Match(Meta {
                    version: Some(3),
                    ..Meta::default()
                }),
                _ => Sniff::NotThis,
            }
        }
    }
}

/// Highest dialect of a NEGOTIATE request, or the one a response selected.
fn smb2_dialect(payload: &[u8], response: bool) -> Option<u16> {
    let mut c = Cursor::new(payload);
    let size = c.le16()?;
    if response {
        c.skip(2)?;
        return (size == 65).then(|| c.le16()).flatten();
    }
    let count = c.le16()?;
    if size != 36 {
        return None;
    }
    c.skip(32)?;
    (0..count)
        .filter_map(|_| c.le16())
        .filter(|&d| d != 0x02ff)
        .max()
}

/// A NetBIOS session request: two encoded names and nothing else.
fn session_request(buf: &[u8]) -> Sniff<Meta<'_>> {
    match (buf.get(1), be16_at(buf, 2)) {
        (Some(&f), _) if f != 0 => return Sniff::NotThis,
        (_, None) => return Sniff::NeedMore,
        (_, Some(len)) if !(68..=512).contains(&len) => return Sniff::NotThis,
        _ => {}
    }
    let len = usize::from(be16_at(buf, 2).unwrap_or(0));
    let mut c = Cursor::new(buf.get(4..).unwrap_or_default());
    for _ in 0..2 {
        match nb_name(&mut c) {
            Some(true) => {}
            Some(false) => return Sniff::NotThis,
            None => return Sniff::NeedMore,
        }
    }
    if buf.len().saturating_sub(4).saturating_sub(c.remaining()) != len {
        return Sniff::NotThis;
    }
    Sniff::Match(Meta {
        method: Some(b"session-request"),
        ..Meta::default()
    })
}

/// A first-level encoded NetBIOS name (RFC 1001 14.1): 32 bytes `A`-`P`,
/// then scope labels up to a zero byte. `None` when cut short.
pub(super) fn nb_name(c: &mut Cursor<'_>) -> Option<bool> {
    if c.u8()? != 32 {
        return Some(false);
    }
    let name = c.take(32)?;
    if !name.iter().all(|b| (b'A'..=b'P').contains(b)) {
        return Some(false);
    }
    let mut total = 33usize;
    loop {
        let n = c.u8()?;
        if n == 0 {
            return Some(true);
        }
        if n > 63 {
            return Some(false);
        }
        let label = c.take(usize::from(n))?;
        total += label.len() + 1;
        if total > 255
            || !label
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        {
            return Some(false);
        }
    }
}

const PT_REQUEST: u8 = 0;
const PT_BIND: u8 = 11;
const PT_ALTER: u8 = 14;
/// Names of the PDU types, indexed by type.
const PTYPES: [&[u8]; 20] = [
    b"request",
    b"ping",
    b"response",
    b"fault",
    b"working",
    b"nocall",
    b"reject",
    b"ack",
    b"cl_cancel",
    b"fack",
    b"cancel_ack",
    b"bind",
    b"bind_ack",
    b"bind_nak",
    b"alter_context",
    b"alter_context_resp",
    b"auth3",
    b"shutdown",
    b"co_cancel",
    b"orphaned",
];

fn detect_dcerpc<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if !input.client.is_empty() {
        return dcerpc(input.client, &[PT_REQUEST, PT_BIND, PT_ALTER, 16, 18, 19]);
    }
    if input.server.is_empty() {
        return Sniff::NeedMore;
    }
    dcerpc(input.server, &[2, 3, 12, 13, 15, 17])
}

fn dcerpc<'a>(buf: &'a [u8], types: &[u8]) -> Sniff<Meta<'a>> {
    let mut c = Cursor::new(buf);
    let head = [
        c.u8(),
        c.u8(),
        c.u8(),
        c.u8(),
        c.u8(),
        c.u8(),
        c.u8(),
        c.u8(),
    ];
    let ok: [&dyn Fn(u8) -> bool; 8] = [
        &|b| b == 5,
        &|b| b <= 1,
        &|b| types.contains(&b),
        &|_| true,
        &|b| b & 0xee == 0,
        &|b| b <= 3,
        &|b| b == 0,
        &|b| b == 0,
    ];
    for (b, ok) in head.iter().zip(ok.iter()) {
        match b {
            None => return Sniff::NeedMore,
            Some(b) if !ok(*b) => return Sniff::NotThis,
            Some(_) => {}
        }
    }
    let little = head[4].unwrap_or(0) & 0x10 != 0;
    let u16_of = |c: &mut Cursor<'_>| if little { c.le16() } else { c.be16() };
    let (Some(frag), Some(auth)) = (u16_of(&mut c), u16_of(&mut c)) else {
        return Sniff::NeedMore;
    };
    let trailer = if auth > 0 { usize::from(auth) + 8 } else { 0 };
    if usize::from(frag) < 16 + trailer {
        return Sniff::NotThis;
    }
    let ptype = head[2].unwrap_or(0);
    if c.skip(4).is_none() {
        return Sniff::NeedMore;
    }
    if matches!(ptype, PT_BIND | PT_ALTER) {
        // max_xmit_frag, max_recv_frag, assoc_group, n_context_elem, pad.
        let (xmit, recv) = (u16_of(&mut c), u16_of(&mut c));
        let n_ctx = c.skip(4).and_then(|_| c.u8());
        let n_syn = c.skip(3).and_then(|_| c.skip(2)).and_then(|_| c.u8());
        match (xmit, recv, n_ctx, n_syn) {
            (Some(x), _, _, _) if x < 1432 => return Sniff::NotThis,
            (_, Some(r), _, _) if r < 1432 => return Sniff::NotThis,
            (_, _, Some(0), _) | (_, _, _, Some(0)) => return Sniff::NotThis,
            (_, _, _, None) => return Sniff::NeedMore,
            _ => {}
        }
        if usize::from(frag) < 16 + 12 + 4 + 20 + 20 + trailer {
            return Sniff::NotThis;
        }
    }
    Sniff::Match(Meta {
        method: PTYPES.get(usize::from(ptype)).copied(),
        version: Some(5 << 8 | u32::from(head[1].unwrap_or(0))),
        ..Meta::default()
    })
}

#[cfg(test)]
#[path = "smb_tests.rs"]
mod tests;
