//! TLS over TCP: a ClientHello from the initiator (reassembled across
//! segments by the flow layer), or a ServerHello when only the responder's
//! side was seen.
//!
//! A match needs a handshake record (type 22, version 3.x, sane length)
//! whose first message is a ClientHello with a 3.x `client_version`, a
//! session id of at most 32 bytes and a non-empty, even-length cipher suite
//! list. SNI, the first ALPN and the highest offered version are read when
//! the whole ClientHello is in the sample. A ClientHello that continues in
//! later records (RFC 8446 section 5.1; `openssl s_client -max_send_frag`,
//! DPI-evasion splitters) is read from the handshake records' bodies joined
//! on the stack, once all of them arrived (or no more bytes come, or the
//! sample is full); a name cut by a record header is not reported. One
//! whose first record is too short even for the handshake header (1 to 3
//! bytes) needs the next handshake record's header after it.
//!
//! An SSL 2.0 CLIENT-HELLO also matches (SSL 2.0 itself, or the
//! backward-compatible hello of RFC 5246 appendix E.2 that old OpenSSL,
//! Java and Windows clients and TLS scanners send): a two-byte header with
//! the top bit set, message type 1, version 0.2 or 3.0 to 3.3, a non-empty
//! cipher spec list of 3-byte entries, a session id of 0 or 16 bytes and a
//! challenge of 16 to 32 bytes whose lengths add up to the header's length.

use super::cursor::{at, be16_at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff, SAMPLE_MAX};

/// The TLS detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Tls,
    tcp: true,
    udp: false,
    detect,
}];

const HANDSHAKE: u8 = 22;
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
/// Largest record a TLS peer may send (2^14 plus expansion).
const MAX_RECORD: usize = (1 << 14) + 2048;

const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if let Some(&first) = input.client.first() {
        if first & 0x80 != 0 {
            return sslv2_hello(input.client, input.complete);
        }
        return hello(input.client, CLIENT_HELLO, input.complete);
    }
    if input.server.is_empty() {
        return Sniff::NeedMore;
    }
    hello(input.server, SERVER_HELLO, input.complete)
}

/// Record content types: change_cipher_spec, alert, handshake,
/// application_data (RFC 8446 section 5.1).
const RECORD_TYPES: std::ops::RangeInclusive<u8> = 20..=23;
const APPLICATION_DATA: u8 = 23;
/// Body bytes of an unfinished record before its entropy is judged.
const MIDSTREAM_BODY: usize = 256;

/// Bytes of a TLS stream picked up after its handshake (a capture that
/// began late, a conntrack pickup after a restart): a run of record
/// headers (content type 20-23, version 3.0 to 3.4, a non-empty length
/// within the record limit), each where the previous record ends. Named
/// on two chained headers, on one record that ends exactly where the
/// bytes end, or on one application-data record still arriving whose
/// first 256 or more body bytes look encrypted. Only for flows whose start
/// was not seen: a flow that opens with application data is not TLS.
pub(super) fn midstream_records(buf: &[u8]) -> bool {
    let mut at = 0usize;
    let mut headers = 0usize;
    let mut first_type = 0u8;
    while let Some(&[ty, major, minor, hi, lo]) = buf
        .get(at..at + 5)
        .and_then(|h| <&[u8; 5]>::try_from(h).ok())
    {
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if !RECORD_TYPES.contains(&ty) || major != 3 || minor > 4 || len == 0 || len > MAX_RECORD {
            return false;
        }
        if headers == 0 {
            first_type = ty;
        }
        headers += 1;
        at += 5 + len;
    }
    match headers {
        0 => false,
        1 if at == buf.len() => true,
        1 => {
            first_type == APPLICATION_DATA
                && at > buf.len()
                && buf.len() >= 5 + MIDSTREAM_BODY
                && super::entropy::looks_encrypted(buf.get(5..).unwrap_or_default())
        }
        _ => true,
    }
}

/// Checks the record header and the first handshake message header, then
/// parses the hello body as far as the sample allows.
fn hello(buf: &[u8], want: u8, complete: bool) -> Sniff<Meta<'_>> {
    let mut c = Cursor::new(buf);
    let header = (c.u8(), c.u8(), c.u8(), c.be16(), c.u8(), c.be24());
    // Check each field as soon as it is present, so non-TLS bytes are
    // rejected early and a short prefix of TLS answers NeedMore.
    match header.0 {
        None => return Sniff::NeedMore,
        Some(HANDSHAKE) => {}
        Some(_) => return Sniff::NotThis,
    }
    match header.1 {
        None => return Sniff::NeedMore,
        Some(3) => {}
        Some(_) => return Sniff::NotThis,
    }
    match header.2 {
        None => return Sniff::NeedMore,
        Some(0..=4) => {}
        Some(_) => return Sniff::NotThis,
    }
    let rec_len = match header.3 {
        None => return Sniff::NeedMore,
        Some(n) if (4..=MAX_RECORD as u16).contains(&n) => n as usize,
        Some(n @ 1..=3) => return tiny_first_record(buf, usize::from(n), want, complete),
        Some(_) => return Sniff::NotThis,
    };
    match header.4 {
        None => return Sniff::NeedMore,
        Some(t) if t == want => {}
        Some(_) => return Sniff::NotThis,
    }
    let msg_len = match header.5 {
        None => return Sniff::NeedMore,
        // A hello may continue in later records, never exceed 2^24.
        Some(n) if n >= 38 => n as usize,
        Some(_) => return Sniff::NotThis,
    };
    let available = c.rest();
    let in_record = rec_len - 4;
    let body_len = msg_len.min(in_record);
    match available.get(..body_len) {
        // The hello continues in later records: read it from the records'
        // bodies put end to end, once all of them are in the sample.
        Some(body) if msg_len > in_record => match parse_body(body, want, false) {
            Sniff::NotThis => Sniff::NotThis,
            _ => spanning(buf, want, complete),
        },
        Some(body) => parse_body(body, want, true),
        None if complete || buf.len() >= SAMPLE_MAX => {
            parse_body(available, want, false).or_partial()
        }
        None => match parse_body(available, want, false) {
            Sniff::NotThis => Sniff::NotThis,
            _ => Sniff::NeedMore,
        },
    }
}

/// A hello whose first record holds fewer than the 4 bytes of the
/// handshake header (RFC 8446 section 5.1 lets a handshake message span
/// records of any size; DPI-evasion tools such as ByeDPI's `--tlsrec`
/// split the ClientHello's record that way). The record must open with the
/// hello's type and be followed by another handshake record of the same
/// major version; the match then waits for nothing more.
fn tiny_first_record(buf: &[u8], len: usize, want: u8, complete: bool) -> Sniff<Meta<'_>> {
    let next = 5 + len;
    let checks = [
        (5, Some(want)),
        (next, Some(HANDSHAKE)),
        (next + 1, Some(3)),
        (next + 2, None),
    ];
    for (i, expect) in checks {
        match (at(buf, i), expect) {
            (None, _) if complete => return Sniff::NotThis,
            (None, _) => return Sniff::NeedMore,
            (Some(b), Some(e)) if b != e => return Sniff::NotThis,
            (Some(minor), None) if minor > 4 => return Sniff::NotThis,
            _ => {}
        }
    }
    match spanning(buf, want, true) {
        Sniff::Match(meta) => Sniff::Match(meta),
        _ => Sniff::Match(Meta::default()),
    }
}

/// Most records a hello is read across (ByeDPI-style splits use a few;
/// one record per byte would need thousands).
const MAX_PIECES: usize = 64;

/// The bodies of the handshake records at the start of a stream put end to
/// end (RFC 8446 section 5.1: a handshake message may span records), with
/// where each piece came from, so that names read from the joined bytes can
/// be borrowed from the input. On the stack: no allocation.
struct Joined {
    bytes: [u8; SAMPLE_MAX],
    len: usize,
    /// (offset in `bytes`, offset in the input, length) of each piece.
    pieces: [(usize, usize, usize); MAX_PIECES],
    count: usize,
}

impl Joined {
    /// Joins the handshake records that open `buf`, up to the end of the
    /// first handshake message, the first record that is not a handshake
    /// record, or the end of the sample.
    fn new(buf: &[u8]) -> Self {
        let mut j = Joined {
            bytes: [0; SAMPLE_MAX],
            len: 0,
            pieces: [(0, 0, 0); MAX_PIECES],
            count: 0,
        };
        let mut at = 0usize;
        while j.count < MAX_PIECES && !j.message_done() {
            let Some(&[ty, major, minor, hi, lo]) = buf
                .get(at..at + 5)
                .and_then(|h| <&[u8; 5]>::try_from(h).ok())
            else {
                break;
            };
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if ty != HANDSHAKE || major != 3 || minor > 4 || len == 0 {
                break;
            }
            let body = buf.get(at + 5..).unwrap_or_default();
            let body = body.get(..len).unwrap_or(body);
            let body = body.get(..SAMPLE_MAX - j.len).unwrap_or(body);
            let (Some(dst), Some(piece)) = (
                j.bytes.get_mut(j.len..j.len + body.len()),
                j.pieces.get_mut(j.count),
            ) else {
                break;
            };
            dst.copy_from_slice(body);
            *piece = (j.len, at + 5, body.len());
            j.len += body.len();
            j.count += 1;
            if body.len() < len {
                break;
            }
            at += 5 + len;
        }
        j
    }

    /// The handshake message's length from its header, when joined.
    fn message_len(&self) -> Option<usize> {
        let head = self.bytes.get(1..4)?;
        (self.len >= 4).then(|| Cursor::new(head).be24().map(|n| n as usize))?
    }

    fn message_done(&self) -> bool {
        self.message_len().is_some_and(|n| self.len >= 4 + n)
    }

    /// The message body after its 4-byte header, and whether it is whole.
    fn message(&self) -> (&[u8], bool) {
        let body = self.bytes.get(4..self.len).unwrap_or_default();
        match self.message_len() {
            Some(n) if body.len() >= n => (body.get(..n).unwrap_or(body), true),
            _ => (body, false),
        }
    }

    /// The input bytes behind `part` of the joined bytes, when they lie in
    /// one record (a name split by a record header is not reported).
    fn borrow<'a>(&self, input: &'a [u8], part: Option<&[u8]>) -> Option<&'a [u8]> {
        let part = part?;
        let off = part
            .as_ptr()
            .addr()
            .checked_sub(self.bytes.as_ptr().addr())?;
        let end = off + part.len();
        let &(joined, from, _) = self
            .pieces
            .get(..self.count)?
            .iter()
            .find(|&&(joined, _, n)| joined <= off && end <= joined + n)?;
        input.get(from + off - joined..from + end - joined)
    }
}

/// A hello that spans records, read from the records' bodies joined. Waits
/// for the whole message unless no more bytes come or the sample is full;
/// then what arrived is read as a partial hello.
fn spanning(buf: &[u8], want: u8, complete: bool) -> Sniff<Meta<'_>> {
    let joined = Joined::new(buf);
    let (body, whole) = joined.message();
    if !whole && !complete && buf.len() < SAMPLE_MAX {
        return match parse_body(body, want, false) {
            Sniff::NotThis => Sniff::NotThis,
            _ => Sniff::NeedMore,
        };
    }
    match parse_body(body, want, whole).or_partial() {
        Sniff::Match(m) => Sniff::Match(Meta {
            sni: joined.borrow(buf, m.sni),
            alpn: joined.borrow(buf, m.alpn),
            version: m.version,
            ..Meta::default()
        }),
        Sniff::NeedMore => Sniff::NeedMore,
        Sniff::NotThis => Sniff::NotThis,
    }
}

/// SSL 2.0 header (2) + msg_type (1) + version, cipher_spec_length,
/// session_id_length, challenge_length (2 each).
const V2_HEAD: usize = 11;
/// The shortest CLIENT-HELLO: its head after the length, one cipher spec,
/// a 16-byte challenge.
const V2_MIN: usize = V2_HEAD - 2 + 3 + 16;

/// An SSL 2.0-framed CLIENT-HELLO (RFC 6101 appendix E, RFC 5246 appendix
/// E.2). Its fixed head says how long every part is, so the head alone is
/// checked for consistency; the match waits for the whole message (a few
/// dozen bytes, one segment) unless no more bytes come.
fn sslv2_hello(buf: &[u8], complete: bool) -> Sniff<Meta<'_>> {
    // Fixed offsets, so a short prefix is judged on the fields it holds.
    let head = (
        be16_at(buf, 0),
        at(buf, 2),
        be16_at(buf, 3),
        be16_at(buf, 5),
        be16_at(buf, 7),
        be16_at(buf, 9),
    );
    let (Some(len), Some(kind), Some(version), Some(specs), Some(sid), Some(chal)) = head else {
        let early_bad = matches!(head.0, Some(n) if usize::from(n & 0x7fff) < V2_MIN)
            || matches!(head.1, Some(k) if k != CLIENT_HELLO)
            || matches!(head.2, Some(v) if !sslv2_version(v));
        return if early_bad {
            Sniff::NotThis
        } else {
            Sniff::NeedMore
        };
    };
    let len = usize::from(len & 0x7fff);
    let (specs, sid, chal) = (usize::from(specs), usize::from(sid), usize::from(chal));
    let consistent = kind == CLIENT_HELLO
        && sslv2_version(version)
        && specs > 0
        && specs % 3 == 0
        && (sid == 0 || sid == 16)
        && (16..=32).contains(&chal)
        && len == V2_HEAD - 2 + specs + sid + chal;
    if !consistent {
        return Sniff::NotThis;
    }
    if buf.len() < len + 2 && !complete {
        return Sniff::NeedMore;
    }
    Sniff::Match(Meta {
        version: Some(u32::from(version)),
        ..Meta::default()
    })
}

/// SSL 2.0 (0x0002), or SSL 3.0 to TLS 1.2 offered in SSL 2.0 framing.
fn sslv2_version(v: u16) -> bool {
    v == 0x0002 || (0x0300..=0x0303).contains(&v)
}

trait OrPartial<'a> {
    fn or_partial(self) -> Sniff<Meta<'a>>;
}

impl<'a> OrPartial<'a> for Sniff<Meta<'a>> {
    /// A truncated hello whose fields so far are valid is still TLS.
    fn or_partial(self) -> Sniff<Meta<'a>> {
        match self {
            Sniff::NeedMore => Sniff::Match(Meta::default()),
            other => other,
        }
    }
}

/// Parses a hello body. `whole` says the body is the entire message; when it
/// is not, running out of bytes is NeedMore rather than malformed.
fn parse_body(body: &[u8], want: u8, whole: bool) -> Sniff<Meta<'_>> {
    let short = if whole {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    let mut c = Cursor::new(body);
    let Some(version) = c.be16() else {
        return short;
    };
    if !(0x0300..=0x0304).contains(&version) {
        return Sniff::NotThis;
    }
    if c.skip(32).is_none() {
        return short;
    }
    let Some(sid_len) = c.u8() else { return short };
    if sid_len > 32 {
        return Sniff::NotThis;
    }
    if c.skip(sid_len as usize).is_none() {
        return short;
    }
    let mut meta = Meta {
        version: Some(u32::from(version)),
        ..Meta::default()
    };
    if want == CLIENT_HELLO {
        let Some(suites_len) = c.be16() else {
            return short;
        };
        if suites_len == 0 || suites_len % 2 != 0 {
            return Sniff::NotThis;
        }
        if c.skip(suites_len as usize).is_none() {
            return short;
        }
        let Some(comp) = c.vec8() else { return short };
        if comp.is_empty() {
            return Sniff::NotThis;
        }
    } else if c.skip(3).is_none() {
        // cipher_suite (2) + compression_method (1)
        return short;
    }
    if c.remaining() == 0 {
        return if whole {
            Sniff::Match(meta)
        } else {
            Sniff::NeedMore
        };
    }
    let before = c;
    let Some(exts) = c.vec16() else {
        // A hello cut inside its extensions: read the whole ones.
        let Some(cut) = before.rest().get(2..).filter(|_| !whole) else {
            return short;
        };
        extensions(cut, &mut meta);
        return Sniff::Match(meta);
    };
    if whole && c.remaining() != 0 {
        return Sniff::NotThis;
    }
    extensions(exts, &mut meta);
    Sniff::Match(meta)
}

fn extensions<'a>(exts: &'a [u8], meta: &mut Meta<'a>) {
    let mut c = Cursor::new(exts);
    while let (Some(kind), Some(data)) = (c.be16(), c.vec16()) {
        match kind {
            EXT_SERVER_NAME => meta.sni = server_name(data),
            EXT_ALPN => meta.alpn = first_alpn(data),
            EXT_SUPPORTED_VERSIONS => {
                if let Some(v) = highest_version(data) {
                    meta.version = Some(v);
                }
            }
            _ => {}
        }
    }
}

/// The first host_name in a server_name extension (RFC 6066 section 3).
pub(super) fn server_name(data: &[u8]) -> Option<&[u8]> {
    let mut list = Cursor::new(Cursor::new(data).vec16()?);
    while list.remaining() > 0 {
        let kind = list.u8()?;
        let name = list.vec16()?;
        if kind == 0 && !name.is_empty() {
            return Some(name);
        }
    }
    None
}

/// The first protocol in an ALPN extension (RFC 7301).
pub(super) fn first_alpn(data: &[u8]) -> Option<&[u8]> {
    let mut list = Cursor::new(Cursor::new(data).vec16()?);
    list.vec8().filter(|p| !p.is_empty())
}

/// Highest non-GREASE version in a ClientHello's supported_versions, or the
/// one version a ServerHello selected.
fn highest_version(data: &[u8]) -> Option<u32> {
    if data.len() == 2 {
        return Cursor::new(data).be16().map(u32::from);
    }
    let mut list = Cursor::new(Cursor::new(data).vec8()?);
    let mut best = None;
    while let Some(v) = list.be16() {
        let grease = v & 0x0f0f == 0x0a0a;
        if !grease && best.is_none_or(|b| v > b) {
            best = Some(v);
        }
    }
    best.map(u32::from)
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
