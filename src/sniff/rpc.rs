//! ONC RPC (RFC 5531): NFS, and every other RPC program (portmapper,
//! mountd, nlockmgr...).
//!
//! A flow is judged on the initiator's first RPC call: over UDP the first
//! datagram, over TCP the first record after its record mark (RFC 5531
//! section 11: a 4-byte header, last-fragment bit and 31-bit length). A call
//! matches when its message type is CALL (0), its RPC version is 2, its
//! program and version are plausible, and its credential and verifier are
//! of a known flavor (AUTH_NONE .. AUTH_TLS) with bodies of at most 400
//! bytes (the RFC's bound) that fit the record; an AUTH_SYS credential is
//! parsed field by field and must fill its body exactly. When the responder
//! has answered too, its first message must be an RPC reply (type 1 with a
//! valid accept or reject status); the xid is not compared, since replies
//! over TCP may come out of order.
//!
//! The program number names the protocol: 100003 is `nfs` (Suricata's name,
//! and the program Suricata's NFS parser takes), anything else `onc-rpc`,
//! with the program's name as the `method` metadata when it is a well-known
//! one. The program version is the `version` metadata. A reply alone (the
//! call not seen) names no program, so it is not matched: the flow waits
//! for the call, and is unidentified if none comes.

use super::cursor::Cursor;
use super::{Detector, Input, Meta, Proto, Sniff, Transport};

/// NFS and the other ONC RPC programs.
pub(crate) const DETECTORS: &[Detector] = &[
    Detector {
        proto: Proto::Nfs,
        tcp: true,
        udp: true,
        detect: detect_nfs,
    },
    Detector {
        proto: Proto::OncRpc,
        tcp: true,
        udp: true,
        detect: detect_rpc,
    },
];

/// The NFS program number (RFC 1813, RFC 7530).
const NFS_PROGRAM: u32 = 100_003;
/// `opaque_auth` bodies are at most 400 bytes (RFC 5531 section 8.2).
const MAX_AUTH: u32 = 400;
/// The largest first record taken for an RPC call: NFS writes of 1 MiB and
/// their headers fit far below this.
const MAX_RECORD: u32 = 1 << 24;
/// The highest flavor known: AUTH_NONE 0, AUTH_SYS 1, AUTH_SHORT 2,
/// AUTH_DH 3, AUTH_KERB4 4, AUTH_RSA 5, RPCSEC_GSS 6, AUTH_TLS 7.
const MAX_FLAVOR: u32 = 7;
const AUTH_SYS: u32 = 1;
/// RFC 5531 appendix A: at most 255 bytes of machine name, 16 groups.
const MAX_MACHINE_NAME: u32 = 255;
const MAX_GIDS: u32 = 16;

/// What the first bytes of one direction are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Msg {
    /// A call to program `prog`, version `vers`.
    Call { prog: u32, vers: u32 },
    /// A reply.
    Reply,
}

/// Why a message was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// Every byte so far is right; more are needed.
    Short,
    /// Not ONC RPC.
    Bad,
}

fn detect_nfs<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    detect(input, true)
}

fn detect_rpc<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    detect(input, false)
}

fn detect<'a>(input: &Input<'a>, nfs: bool) -> Sniff<Meta<'a>> {
    let tcp = input.transport == Transport::Tcp;
    // Over UDP each side is one whole datagram: short is malformed.
    let short = |s: Stop| match s {
        Stop::Short if tcp && !input.complete => Sniff::NeedMore,
        _ => Sniff::NotThis,
    };
    if input.client.is_empty() {
        // A reply alone names no program: wait for the call.
        return match message(input.server, tcp) {
            Ok(Msg::Reply) | Err(Stop::Short) if !input.complete => Sniff::NeedMore,
            _ => Sniff::NotThis,
        };
    }
    let (prog, vers) = match message(input.client, tcp) {
        Ok(Msg::Call { prog, vers }) => (prog, vers),
        Ok(Msg::Reply) => return Sniff::NotThis,
        Err(s) => return short(s),
    };
    if !input.server.is_empty() {
        match message(input.server, tcp) {
            Ok(Msg::Reply) => {}
            Ok(Msg::Call { .. }) | Err(Stop::Bad) => return Sniff::NotThis,
            Err(s) => {
                if let Sniff::NeedMore = short(s) {
                    return Sniff::NeedMore;
                }
                // A short reply datagram, or a flow that ended mid-reply:
                // the call decides.
            }
        }
    }
    if (prog == NFS_PROGRAM) != nfs {
        return Sniff::NotThis;
    }
    Sniff::Match(Meta {
        method: (!nfs).then(|| program_name(prog)).flatten(),
        version: Some(vers),
        ..Meta::default()
    })
}

/// The first message of one direction: after its record mark over TCP.
fn message(buf: &[u8], tcp: bool) -> Result<Msg, Stop> {
    let mut c = Cursor::new(buf);
    let body = if tcp {
        let mark = word(&mut c)?;
        let len = mark & 0x7fff_ffff;
        if !(MIN_REPLY..=MAX_RECORD).contains(&len) {
            return Err(Stop::Bad);
        }
        // Only the record's own bytes belong to this message.
        let len = usize::try_from(len).map_err(|_| Stop::Bad)?;
        match c.rest().get(..len) {
            Some(record) => Body::Whole(record),
            None => Body::Partial(c.rest()),
        }
    } else {
        Body::Whole(buf)
    };
    let (record, whole) = match body {
        Body::Whole(r) => (r, true),
        Body::Partial(r) => (r, false),
    };
    // Running out inside a whole record is malformed, not short.
    let overrun = |e: Stop| if whole { Stop::Bad } else { e };
    let mut c = Cursor::new(record);
    let _xid = word(&mut c).map_err(overrun)?;
    match word(&mut c).map_err(overrun)? {
        0 => call(&mut c).map_err(overrun),
        1 => reply(&mut c).map(|()| Msg::Reply).map_err(overrun),
        _ => Err(Stop::Bad),
    }
}

/// The smallest reply: xid, type, MSG_DENIED, AUTH_ERROR, status.
const MIN_REPLY: u32 = 20;

enum Body<'a> {
    Whole(&'a [u8]),
    Partial(&'a [u8]),
}

/// The call body after the message type.
fn call(c: &mut Cursor<'_>) -> Result<Msg, Stop> {
    if word(c)? != 2 {
        return Err(Stop::Bad);
    }
    let prog = word(c)?;
    let vers = word(c)?;
    let proc_ = word(c)?;
    // Program 0 is reserved; versions and procedures are small numbers.
    if prog == 0 || vers > 0xffff || proc_ > 0xffff {
        return Err(Stop::Bad);
    }
    let cred = opaque_auth(c)?;
    if let Some((AUTH_SYS, body)) = cred {
        auth_sys(body)?;
    }
    opaque_auth(c)?;
    Ok(Msg::Call { prog, vers })
}

/// An `opaque_auth`: flavor and body. `None` for the body when it runs
/// past the bytes seen (only its flavor and length were checked).
fn opaque_auth<'a>(c: &mut Cursor<'a>) -> Result<Option<(u32, &'a [u8])>, Stop> {
    let flavor = word(c)?;
    let len = word(c)?;
    if flavor > MAX_FLAVOR || len > MAX_AUTH {
        return Err(Stop::Bad);
    }
    let padded = usize::try_from(len.next_multiple_of(4)).map_err(|_| Stop::Bad)?;
    let body = c.take(padded).ok_or(Stop::Short)?;
    Ok(body
        .get(..usize::try_from(len).map_err(|_| Stop::Bad)?)
        .map(|b| (flavor, b)))
}

/// An AUTH_SYS credential body (RFC 5531 appendix A): stamp, machine name,
/// uid, gid, up to 16 gids, and nothing after.
fn auth_sys(body: &[u8]) -> Result<(), Stop> {
    let mut c = Cursor::new(body);
    let bad = |_| Stop::Bad;
    let _stamp = word(&mut c).map_err(bad)?;
    let name_len = word(&mut c).map_err(bad)?;
    if name_len > MAX_MACHINE_NAME {
        return Err(Stop::Bad);
    }
    let padded = usize::try_from(name_len.next_multiple_of(4)).map_err(|_| Stop::Bad)?;
    c.skip(padded).ok_or(Stop::Bad)?;
    let _uid = word(&mut c).map_err(bad)?;
    let _gid = word(&mut c).map_err(bad)?;
    let gids = word(&mut c).map_err(bad)?;
    if gids > MAX_GIDS {
        return Err(Stop::Bad);
    }
    c.skip(4 * gids as usize).ok_or(Stop::Bad)?;
    if c.remaining() != 0 {
        return Err(Stop::Bad);
    }
    Ok(())
}

/// The reply body after the message type (RFC 5531 section 9).
fn reply(c: &mut Cursor<'_>) -> Result<(), Stop> {
    match word(c)? {
        // MSG_ACCEPTED: verifier, then SUCCESS .. SYSTEM_ERR.
        0 => {
            opaque_auth(c)?;
            if word(c)? > 5 {
                return Err(Stop::Bad);
            }
        }
        // MSG_DENIED: RPC_MISMATCH (low, high) or AUTH_ERROR (a status).
        1 => match word(c)? {
            0 => {
                let (low, high) = (word(c)?, word(c)?);
                if low > high {
                    return Err(Stop::Bad);
                }
            }
            // AUTH_OK .. RPCSEC_GSS_CTXPROBLEM (RFC 2203 adds 13 and 14).
            1 => {
                if word(c)? > 14 {
                    return Err(Stop::Bad);
                }
            }
            _ => return Err(Stop::Bad),
        },
        _ => return Err(Stop::Bad),
    }
    Ok(())
}

fn word(c: &mut Cursor<'_>) -> Result<u32, Stop> {
    c.be32().ok_or(Stop::Short)
}

/// Well-known RPC programs (the `rpc` file of netbase / libtirpc).
fn program_name(prog: u32) -> Option<&'static [u8]> {
    Some(match prog {
        100_000 => b"portmapper",
        100_001 => b"rstatd",
        100_002 => b"rusersd",
        100_004 => b"ypserv",
        100_005 => b"mountd",
        100_007 => b"ypbind",
        100_008 => b"walld",
        100_009 => b"yppasswdd",
        100_011 => b"rquotad",
        100_012 => b"sprayd",
        100_021 => b"nlockmgr",
        100_024 => b"status",
        100_227 => b"nfs_acl",
        _ => return None,
    })
}

#[cfg(test)]
#[path = "rpc_tests.rs"]
mod tests;
