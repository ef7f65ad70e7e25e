//! TFTP (RFC 1350, options RFC 2347-2349, 7440) over UDP: the request.
//!
//! Matched as the first datagram of a flow: a read or write request
//! (opcode 1 or 2) with a non-empty printable file name, a mode of
//! `netascii`, `octet` or `mail` (any case), and option name/value pairs,
//! every string NUL-terminated and the last NUL ending the datagram, at
//! most 512 bytes in all (RFC 2347). The opcode names the method.
//!
//! Only the request flow is named. The server answers from a port of its
//! own, so the transfer is a second flow, opened by the server, between two
//! ephemeral ports. Named `tftp`, that flow would be TFTP on a port no
//! policy can list, and a policy of standard ports would refuse every
//! transfer whose request it allowed. Like an FTP data connection, it is
//! left unidentified (its first datagram, a data block, an option
//! acknowledgment, an ACK of block 0 or an error, is also too short a
//! signature to name a flow on: `00 03 00 01` opens many things); the
//! recorded openings are negatives in `testdata/unnamed/tftp-transfer/`.

use super::cursor::Cursor;
use super::{Detector, Input, Meta, Proto, Sniff};

/// The TFTP detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Tftp,
    tcp: false,
    udp: true,
    detect,
}];

/// RFC 2347: a request with its options fits in 512 bytes.
const MAX_REQUEST: usize = 512;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    input.one_message(datagram)
}

fn method(name: &'static [u8]) -> Option<Meta<'static>> {
    Some(Meta {
        method: Some(name),
        ..Meta::default()
    })
}

fn datagram(buf: &[u8]) -> Option<Meta<'_>> {
    let mut c = Cursor::new(buf);
    let op = c.be16()?;
    if !(op == 1 || op == 2) || buf.len() > MAX_REQUEST {
        return None;
    }
    let file = string(&mut c)?;
    let mode = string(&mut c)?;
    let known = [&b"netascii"[..], b"octet", b"mail"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(mode));
    if file.is_empty() || !known || !options(&mut c) {
        return None;
    }
    method(if op == 1 { b"RRQ" } else { b"WRQ" })
}

/// A NUL-terminated string of printable bytes (UTF-8 allowed).
fn string<'a>(c: &mut Cursor<'a>) -> Option<&'a [u8]> {
    let rest = c.rest();
    let nul = rest.iter().position(|&b| b == 0)?;
    let s = rest.get(..nul)?;
    if !s.iter().all(|&b| b >= 0x20 && b != 0x7f) {
        return None;
    }
    c.skip(nul + 1)?;
    Some(s)
}

/// Option name/value pairs (none or more) up to the end of the datagram.
fn options(c: &mut Cursor<'_>) -> bool {
    while c.remaining() > 0 {
        let (Some(name), Some(_value)) = (string(c), string(c)) else {
            return false;
        };
        if name.is_empty() {
            return false;
        }
    }
    true
}

#[cfg(test)]
#[path = "tftp_tests.rs"]
mod tests;
