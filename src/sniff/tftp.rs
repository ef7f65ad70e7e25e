//! TFTP (RFC 1350, options RFC 2347-2349, 7440) over UDP: the first
//! datagram of either of a transfer's flows.
//!
//! The request goes to port 69; the server answers from a port of its own,
//! so the transfer is a second flow that the server opens. Matched as the
//! first datagram of a flow:
//! - a read or write request (opcode 1 or 2): a non-empty printable file
//!   name, a mode of `netascii`, `octet` or `mail` (any case), and option
//!   name/value pairs, every string NUL-terminated and the last NUL ending
//!   the datagram, at most 512 bytes in all (RFC 2347);
//! - what a server opens a transfer with: an option acknowledgment (opcode
//!   6, at least one pair, laid out as above), the first data block (opcode
//!   3, block 1, at most 65464 data bytes, RFC 2348's largest block), the
//!   acknowledgment of block 0 that answers a write request (opcode 4,
//!   exactly four bytes), or an error (opcode 5, code 0 to 8, a printable
//!   NUL-terminated message ending the datagram).
//!
//! The opcode names the method.

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
/// RFC 2348: the largest block size.
const MAX_BLOCK: usize = 65464;
/// RFC 1350 error codes 0 to 7, and RFC 2347's 8 (option refused).
const MAX_ERROR_CODE: u16 = 8;

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
    match c.be16()? {
        op @ (1 | 2) => {
            if buf.len() > MAX_REQUEST {
                return None;
            }
            let file = string(&mut c)?;
            let mode = string(&mut c)?;
            let known = [&b"netascii"[..], b"octet", b"mail"]
                .iter()
                .any(|m| m.eq_ignore_ascii_case(mode));
            if file.is_empty() || !known || !options(&mut c, false) {
                return None;
            }
            method(if op == 1 { b"RRQ" } else { b"WRQ" })
        }
        6 => {
            if buf.len() > MAX_REQUEST || !options(&mut c, true) {
                return None;
            }
            method(b"OACK")
        }
        3 => {
            (c.be16()? == 1 && c.remaining() <= MAX_BLOCK).then_some(())?;
            method(b"DATA")
        }
        4 => {
            (c.be16()? == 0 && c.remaining() == 0).then_some(())?;
            method(b"ACK")
        }
        5 => {
            let code = c.be16()?;
            let msg = string(&mut c)?;
            (code <= MAX_ERROR_CODE && !msg.is_empty() && c.remaining() == 0).then_some(())?;
            method(b"ERROR")
        }
        _ => None,
    }
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

/// Option name/value pairs up to the end of the datagram; `at_least_one`
/// for an option acknowledgment.
fn options(c: &mut Cursor<'_>, at_least_one: bool) -> bool {
    let mut pairs = 0usize;
    while c.remaining() > 0 {
        let (Some(name), Some(_value)) = (string(c), string(c)) else {
            return false;
        };
        if name.is_empty() {
            return false;
        }
        pairs += 1;
    }
    pairs > 0 || !at_least_one
}

#[cfg(test)]
#[path = "tftp_tests.rs"]
mod tests;
