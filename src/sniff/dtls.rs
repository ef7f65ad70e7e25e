//! DTLS 1.0, 1.2 and 1.3 (RFC 6347, RFC 9147) over UDP: the ClientHello,
//! or the server's HelloVerifyRequest / ServerHello when only the responder
//! was seen.
//!
//! A datagram matches with a plaintext handshake record (type 22, version
//! `fe ff` or `fe fd`, epoch 0, a length that fits the datagram) whose
//! first message is of the expected type with a message sequence below 8,
//! a fragment that fits both the message and the record, and a body whose
//! fields parse: a DTLS `client_version`, a session id of at most 32 bytes,
//! a cookie of at most 255 (ClientHello), a non-empty even cipher suite
//! list and a compression list. When the whole ClientHello is in the first
//! fragment, the extensions must fill it exactly and give the SNI, the
//! first ALPN and the highest supported version (`fe fc` is DTLS 1.3).

use super::cursor::Cursor;
use super::{Detector, Input, Meta, Proto, Sniff};

/// The DTLS detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Dtls,
    tcp: false,
    udp: true,
    detect,
}];

const HANDSHAKE: u8 = 22;
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const HELLO_VERIFY_REQUEST: u8 = 3;
const HANDSHAKE_HEADER: usize = 12;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let (side, from_client) = if input.client.is_empty() {
        (input.server, false)
    } else {
        (input.client, true)
    };
    if side.is_empty() {
        return Sniff::NeedMore;
    }
    record(side, from_client).map_or(Sniff::NotThis, Sniff::Match)
}

fn dtls_version(v: u16) -> bool {
    matches!(v, 0xfeff | 0xfefd | 0xfefc)
}

fn record(buf: &[u8], from_client: bool) -> Option<Meta<'_>> {
    let mut c = Cursor::new(buf);
    let (kind, version, epoch) = (c.u8()?, c.be16()?, c.be16()?);
    c.skip(6)?; // sequence number
    let len = usize::from(c.be16()?);
    if kind != HANDSHAKE || !matches!(version, 0xfeff | 0xfefd) || epoch != 0 {
        return None;
    }
    let rec = c.take(len)?;
    let mut h = Cursor::new(rec);
    let (msg_type, msg_len, msg_seq) = (h.u8()?, h.be24()? as usize, h.be16()?);
    let (frag_off, frag_len) = (h.be24()? as usize, h.be24()? as usize);
    let type_ok = if from_client {
        msg_type == CLIENT_HELLO
    } else {
        matches!(msg_type, SERVER_HELLO | HELLO_VERIFY_REQUEST)
    };
    if !type_ok
        || msg_seq > 7
        || frag_off.checked_add(frag_len)? > msg_len
        || frag_len > h.remaining()
    {
        return None;
    }
    // The first fragment is the one with the hello's fields.
    if frag_off != 0 || len < HANDSHAKE_HEADER {
        return None;
    }
    let body = h.take(frag_len)?;
    let whole = frag_len == msg_len;
    match msg_type {
        CLIENT_HELLO => client_hello(body, whole),
        HELLO_VERIFY_REQUEST => {
            let mut b = Cursor::new(body);
            let v = b.be16()?;
            let cookie = b.vec8()?;
            let ok =
                dtls_version(v) && !cookie.is_empty() && cookie.len() <= 255 && b.remaining() == 0;
            ok.then_some(Meta {
                version: Some(u32::from(v)),
                ..Meta::default()
            })
        }
        _ => {
            let mut b = Cursor::new(body);
            let v = b.be16()?;
            b.skip(32)?;
            let sid = b.vec8()?;
            b.skip(3)?;
            (dtls_version(v) && sid.len() <= 32).then_some(Meta {
                version: Some(u32::from(v)),
                ..Meta::default()
            })
        }
    }
}

fn client_hello(body: &[u8], whole: bool) -> Option<Meta<'_>> {
    let mut b = Cursor::new(body);
    let v = b.be16()?;
    b.skip(32)?;
    let sid = b.vec8()?;
    let cookie = b.vec8()?;
    let suites = b.vec16()?;
    let comp = b.vec8()?;
    if cookie.len() > 255
        || !dtls_version(v)
        || sid.len() > 32
        || suites.is_empty()
        || suites.len() % 2 != 0
        || comp.is_empty()
    {
        return None;
    }
    let mut meta = Meta {
        version: Some(u32::from(v)),
        ..Meta::default()
    };
    if b.remaining() == 0 {
        return Some(meta);
    }
    let exts = match b.vec16() {
        Some(_) if whole && b.remaining() != 0 => return None,
        Some(e) => e,
        None if whole => return None,
        None => return Some(meta),
    };
    extensions(exts, &mut meta);
    Some(meta)
}

fn extensions<'a>(exts: &'a [u8], meta: &mut Meta<'a>) {
    let mut c = Cursor::new(exts);
    while let (Some(kind), Some(data)) = (c.be16(), c.vec16()) {
        match kind {
            0 => meta.sni = super::tls::server_name(data),
            16 => meta.alpn = super::tls::first_alpn(data),
            43 => {
                let mut list = Cursor::new(Cursor::new(data).vec8().unwrap_or_default());
                // In DTLS a lower number is a higher version.
                while let Some(v) = list.be16() {
                    if dtls_version(v) && meta.version.is_none_or(|b| u32::from(v) < b) {
                        meta.version = Some(u32::from(v));
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "dtls_tests.rs"]
mod tests;
