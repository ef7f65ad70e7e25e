//! SNMP v1, v2c (RFC 1157, 3416) and v3 (RFC 3412) over UDP, in BER.
//!
//! A datagram matches only when it is exactly one BER SEQUENCE holding an
//! INTEGER version of 0 (v1), 1 (v2c) or 3 (v3), and then:
//! - v1/v2c: an OCTET STRING community and one PDU of a context tag that
//!   version defines (`a0`..`a8`) whose fields are the request id, error
//!   status (0..=18), error index and a varbind SEQUENCE (or, for a v1 trap,
//!   enterprise OID, agent address, generic trap 0..=6, specific trap,
//!   timestamp and varbinds), each filling its parent exactly;
//! - v3: a header SEQUENCE (message id, max size of at least 484, a 1-byte
//!   flags string, security model 1..=3), an OCTET STRING of security
//!   parameters and a scoped PDU (a plaintext SEQUENCE whose PDU is checked
//!   as above, or, with the privacy flag, an encrypted OCTET STRING).
//!
//! The version (1, 2 or 3) and the PDU type name are the metadata.

use super::cursor::Cursor;
use super::{Detector, Input, Meta, Proto, Sniff};

/// The SNMP detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Snmp,
    tcp: false,
    udp: true,
    detect,
}];

const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const IP_ADDRESS: u8 = 0x40;
const TIME_TICKS: u8 = 0x43;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    input.one_message(message)
}

/// Reads one BER TLV with a definite length; returns its tag and contents.
fn tlv<'a>(c: &mut Cursor<'a>) -> Option<(u8, &'a [u8])> {
    let tag = c.u8()?;
    let first = c.u8()?;
    let len = match first {
        0..=0x7f => usize::from(first),
        0x81 => usize::from(c.u8()?),
        0x82 => usize::from(c.be16()?),
        0x83 => usize::try_from(c.be24()?).ok()?,
        _ => return None,
    };
    Some((tag, c.take(len)?))
}

/// One TLV of tag `want`.
fn expect<'a>(c: &mut Cursor<'a>, want: u8) -> Option<&'a [u8]> {
    let (tag, body) = tlv(c)?;
    (tag == want).then_some(body)
}

/// A small INTEGER (at most 4 content bytes), as i64.
fn integer(c: &mut Cursor<'_>) -> Option<i64> {
    let body = expect(c, INTEGER)?;
    if body.is_empty() || body.len() > 5 {
        return None;
    }
    let negative = body.first()? & 0x80 != 0;
    let mut v: i64 = if negative { -1 } else { 0 };
    for &b in body {
        v = (v << 8) | i64::from(b);
    }
    Some(v)
}

fn message(buf: &[u8]) -> Option<Meta<'_>> {
    let mut outer = Cursor::new(buf);
    let msg = expect(&mut outer, SEQUENCE)?;
    if outer.remaining() != 0 {
        return None;
    }
    let mut c = Cursor::new(msg);
    let version = integer(&mut c)?;
    let method = match version {
        0 | 1 => {
            expect(&mut c, OCTET_STRING)?;
            pdu(&mut c, version)?
        }
        3 => v3(&mut c)?,
        _ => return None,
    };
    (c.remaining() == 0).then_some(Meta {
        method: Some(method),
        version: Some(if version == 3 { 3 } else { version as u32 + 1 }),
        ..Meta::default()
    })
}

fn v3(c: &mut Cursor<'_>) -> Option<&'static [u8]> {
    let mut header = Cursor::new(expect(c, SEQUENCE)?);
    let _msg_id = integer(&mut header)?;
    let max_size = integer(&mut header)?;
    let flags = expect(&mut header, OCTET_STRING)?;
    let model = integer(&mut header)?;
    let flags = match flags {
        [f] if f & !0x07 == 0 => *f,
        _ => return None,
    };
    // Privacy needs authentication.
    if header.remaining() != 0
        || max_size < 484
        || !(1..=3).contains(&model)
        || flags & 0x03 == 0x02
    {
        return None;
    }
    expect(c, OCTET_STRING)?;
    let (tag, scoped) = tlv(c)?;
    match tag {
        OCTET_STRING if flags & 0x02 != 0 => Some(b"encrypted"),
        SEQUENCE => {
            let mut s = Cursor::new(scoped);
            expect(&mut s, OCTET_STRING)?;
            expect(&mut s, OCTET_STRING)?;
            let name = pdu(&mut s, 3)?;
            (s.remaining() == 0).then_some(name)
        }
        _ => None,
    }
}

/// One PDU; returns its name.
fn pdu(c: &mut Cursor<'_>, version: i64) -> Option<&'static [u8]> {
    let (tag, body) = tlv(c)?;
    let name: &'static [u8] = match (tag, version) {
        (0xa0, _) => b"get-request",
        (0xa1, _) => b"get-next-request",
        (0xa2, _) => b"response",
        (0xa3, _) => b"set-request",
        (0xa4, 0) => return trap_v1(body),
        (0xa5, 1 | 3) => b"get-bulk-request",
        (0xa6, 1 | 3) => b"inform-request",
        (0xa7, 1 | 3) => b"snmpv2-trap",
        (0xa8, 1 | 3) => b"report",
        _ => return None,
    };
    let mut p = Cursor::new(body);
    let _request_id = integer(&mut p)?;
    let status = integer(&mut p)?;
    let index = integer(&mut p)?;
    // GetBulk reuses the fields as non-repeaters and max-repetitions.
    let bulk = tag == 0xa5;
    if (!bulk && !(0..=18).contains(&status)) || index < 0 {
        return None;
    }
    varbinds(&mut p)?;
    (p.remaining() == 0).then_some(name)
}

fn trap_v1(body: &[u8]) -> Option<&'static [u8]> {
    let mut p = Cursor::new(body);
    expect(&mut p, OID)?;
    (expect(&mut p, IP_ADDRESS)?.len() == 4).then_some(())?;
    let generic = integer(&mut p)?;
    let _specific = integer(&mut p)?;
    expect(&mut p, TIME_TICKS)?;
    varbinds(&mut p)?;
    ((0..=6).contains(&generic) && p.remaining() == 0).then_some(b"trap")
}

/// A SEQUENCE of SEQUENCE { OID, value }.
fn varbinds(c: &mut Cursor<'_>) -> Option<()> {
    let mut list = Cursor::new(expect(c, SEQUENCE)?);
    while list.remaining() > 0 {
        let mut vb = Cursor::new(expect(&mut list, SEQUENCE)?);
        if expect(&mut vb, OID)?.is_empty() {
            return None;
        }
        let (tag, _) = tlv(&mut vb)?;
        // Universal, application (Counter, Gauge...) or the v2 exceptions.
        let ok =
            matches!(tag, INTEGER | OCTET_STRING | NULL | OID | 0x03 | 0x40..=0x47 | 0x80..=0x82);
        if !ok || vb.remaining() != 0 {
            return None;
        }
    }
    Some(())
}

#[cfg(test)]
#[path = "snmp_tests.rs"]
mod tests;
