//! DHCP (RFC 2131 / 2132) over UDP: a BOOTP message carrying the DHCP magic
//! cookie.
//!
//! A datagram matches with op 1 (request) or 2 (reply), a known hardware
//! type with a hardware address length that fits `chaddr`, no flag bits but
//! BROADCAST, zero-terminated or full `sname`/`file` fields, the magic
//! cookie `63 82 53 63` at offset 236, and options that parse up to the END
//! option (pads after it are allowed) with a DHCP message type (option 53)
//! of 1 to 18. The message type names the method; the vendor class (option
//! 60, e.g. `MSFT 5.0` or `udhcp 1.36.1`) is the software and the client's
//! host name (option 12) the host.

use super::cursor::{at, be16_at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The DHCP detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Dhcp,
    tcp: false,
    udp: true,
    detect,
}];

const COOKIE_AT: usize = 236;
const MAGIC: &[u8] = &[0x63, 0x82, 0x53, 0x63];
const OPT_PAD: u8 = 0;
const OPT_END: u8 = 255;
const OPT_HOSTNAME: u8 = 12;
const OPT_MESSAGE_TYPE: u8 = 53;
const OPT_VENDOR_CLASS: u8 = 60;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    input.one_message(message)
}

fn message(buf: &[u8]) -> Option<Meta<'_>> {
    let op = at(buf, 0)?;
    let htype = at(buf, 1)?;
    let hlen = at(buf, 2)?;
    let hops = at(buf, 3)?;
    let flags = be16_at(buf, 10)?;
    // Ethernet, IEEE 802, FDDI, IEEE 1394, InfiniBand; 0 for none.
    let htype_ok = matches!(htype, 0 | 1 | 6 | 8 | 24 | 32);
    let ok = matches!(op, 1 | 2) && htype_ok && hlen <= 16 && hops <= 16 && flags & 0x7fff == 0;
    if !ok || buf.get(COOKIE_AT..COOKIE_AT + 4)? != MAGIC {
        return None;
    }
    // sname (64 bytes at 44) and file (128 at 108) are C strings, unless
    // option overload puts options there.
    let cstring = |f: &[u8]| f.iter().skip_while(|&&b| b != 0).all(|&b| b == 0);
    let (sname, file) = (buf.get(44..108)?, buf.get(108..COOKIE_AT)?);
    let mut meta = Meta::default();
    let mut kind = None;
    let mut overload = false;
    let mut c = Cursor::new(buf.get(COOKIE_AT + 4..)?);
    loop {
        match c.u8()? {
            OPT_PAD => continue,
            OPT_END => break,
            code => {
                let data = c.vec8()?;
                match code {
                    OPT_MESSAGE_TYPE => kind = Some(*data.first().filter(|_| data.len() == 1)?),
                    OPT_VENDOR_CLASS => meta.software = printable(data),
                    OPT_HOSTNAME => meta.host = printable(data),
                    52 => overload = true,
                    _ => {}
                }
            }
        }
    }
    let fields_ok = overload || (cstring(sname) && cstring(file));
    if !c.rest().iter().all(|&b| b == 0) || !fields_ok {
        return None;
    }
    meta.method = Some(match kind? {
        1 => b"discover",
        2 => b"offer",
        3 => b"request",
        4 => b"decline",
        5 => b"ack",
        6 => b"nak",
        7 => b"release",
        8 => b"inform",
        9 => b"forcerenew",
        10..=13 => b"leasequery",
        14..=18 => b"bulk-leasequery",
        _ => return None,
    });
    // Client messages come from op 1, server messages from op 2.
    let from_client = matches!(kind?, 1 | 3 | 4 | 7 | 8 | 10 | 14 | 16 | 18);
    ((op == 1) == from_client).then_some(meta)
}

fn printable(data: &[u8]) -> Option<&[u8]> {
    let text = data.strip_suffix(&[0]).unwrap_or(data);
    (!text.is_empty() && text.iter().all(|&b| (0x20..0x7f).contains(&b))).then_some(text)
}

#[cfg(test)]
#[path = "dhcp_tests.rs"]
mod tests;
