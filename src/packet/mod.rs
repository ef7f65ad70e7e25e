//! IPv4/IPv6 + TCP/UDP header views over a packet as NFQUEUE delivers it
//! (starting at the IP header).
//!
//! [`parse`] checks every length before reading and returns a typed
//! [`PacketError`] for anything it cannot read; it never panics and never
//! allocates. IPv6 extension headers (hop-by-hop, routing, destination
//! options, fragment) are walked; non-first fragments carry no transport
//! header and are reported as such.
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]

use crate::sniff::cursor::{be16_at, be32_at};
use crate::sniff::Transport;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a packet could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Shorter than the header it claims to have.
    #[error("packet truncated in the {0} header")]
    Truncated(&'static str),
    /// IP version nibble neither 4 nor 6.
    #[error("IP version {0} is not 4 or 6")]
    BadVersion(u8),
    /// A header length field is inconsistent.
    #[error("bad {0} header length")]
    BadLength(&'static str),
    /// Neither TCP nor UDP.
    #[error("IP protocol {0} is not TCP or UDP")]
    NotTcpUdp(u8),
    /// A fragment after the first: no transport header to read.
    #[error("non-first IP fragment")]
    Fragment,
}

/// TCP flags this crate looks at.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// The fields of one packet portcullis needs, payload borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// TCP or UDP.
    pub transport: Transport,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// TCP flags (0 for UDP).
    pub flags: u8,
    /// TCP sequence number (0 for UDP).
    pub seq: u32,
    /// TCP acknowledgement number (0 for UDP, and meaningful only with ACK).
    pub ack: u32,
    /// Transport payload.
    pub payload: &'a [u8],
}

impl Packet<'_> {
    /// A TCP SYN without ACK: the opening of a connection.
    pub fn is_opening_syn(&self) -> bool {
        self.transport == Transport::Tcp
            && self.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN
    }

    /// A TCP SYN with ACK: the responder's half of the handshake.
    pub fn is_syn_ack(&self) -> bool {
        self.transport == Transport::Tcp
            && self.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN | tcp_flags::ACK
    }
}

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// Parses an IPv4 or IPv6 packet carrying TCP or UDP.
pub fn parse(buf: &[u8]) -> Result<Packet<'_>, PacketError> {
    let first = *buf.first().ok_or(PacketError::Truncated("IP"))?;
    match first >> 4 {
        4 => ipv4(buf),
        6 => ipv6(buf),
        v => Err(PacketError::BadVersion(v)),
    }
}

fn ipv4(buf: &[u8]) -> Result<Packet<'_>, PacketError> {
    let ihl = (*buf.first().ok_or(PacketError::Truncated("IPv4"))? & 0x0f) as usize * 4;
    if ihl < 20 {
        return Err(PacketError::BadLength("IPv4"));
    }
    let total = be16_at(buf, 2).ok_or(PacketError::Truncated("IPv4"))? as usize;
    if total < ihl || buf.len() < ihl {
        return Err(PacketError::BadLength("IPv4"));
    }
    // Trust the smaller of the total length and what we were given.
    let packet = buf
        .get(..total.min(buf.len()))
        .ok_or(PacketError::Truncated("IPv4"))?;
    let frag = be16_at(buf, 6).ok_or(PacketError::Truncated("IPv4"))?;
    if frag & 0x1fff != 0 {
        return Err(PacketError::Fragment);
    }
    let proto = *buf.get(9).ok_or(PacketError::Truncated("IPv4"))?;
    let src = be32_at(buf, 12).ok_or(PacketError::Truncated("IPv4"))?;
    let dst = be32_at(buf, 16).ok_or(PacketError::Truncated("IPv4"))?;
    let l4 = packet.get(ihl..).ok_or(PacketError::Truncated("IPv4"))?;
    transport(
        IpAddr::V4(Ipv4Addr::from(src)),
        IpAddr::V4(Ipv4Addr::from(dst)),
        proto,
        l4,
    )
}

fn ipv6(buf: &[u8]) -> Result<Packet<'_>, PacketError> {
    let hdr = buf.get(..40).ok_or(PacketError::Truncated("IPv6"))?;
    let payload_len = be16_at(hdr, 4).ok_or(PacketError::Truncated("IPv6"))? as usize;
    let mut next = *hdr.get(6).ok_or(PacketError::Truncated("IPv6"))?;
    let src = addr6(hdr.get(8..24))?;
    let dst = addr6(hdr.get(24..40))?;
    let end = (40 + payload_len).min(buf.len());
    let mut rest = buf.get(40..end).ok_or(PacketError::Truncated("IPv6"))?;
    // Walk at most 8 extension headers.
    for _ in 0..8 {
        match next {
            0 | 43 | 60 => {
                let len = (*rest
                    .get(1)
                    .ok_or(PacketError::Truncated("IPv6 extension"))?
                    as usize
                    + 1)
                    * 8;
                next = *rest
                    .first()
                    .ok_or(PacketError::Truncated("IPv6 extension"))?;
                rest = rest
                    .get(len..)
                    .ok_or(PacketError::Truncated("IPv6 extension"))?;
            }
            44 => {
                let off = be16_at(rest, 2).ok_or(PacketError::Truncated("IPv6 fragment"))?;
                if off & 0xfff8 != 0 {
                    return Err(PacketError::Fragment);
                }
                next = *rest
                    .first()
                    .ok_or(PacketError::Truncated("IPv6 fragment"))?;
                rest = rest
                    .get(8..)
                    .ok_or(PacketError::Truncated("IPv6 fragment"))?;
            }
            _ => return transport(IpAddr::V6(src), IpAddr::V6(dst), next, rest),
        }
    }
    Err(PacketError::BadLength("IPv6 extension chain"))
}

fn addr6(b: Option<&[u8]>) -> Result<Ipv6Addr, PacketError> {
    let b: [u8; 16] = b
        .and_then(|b| b.try_into().ok())
        .ok_or(PacketError::Truncated("IPv6"))?;
    Ok(Ipv6Addr::from(b))
}

fn transport(src: IpAddr, dst: IpAddr, proto: u8, l4: &[u8]) -> Result<Packet<'_>, PacketError> {
    let sport = be16_at(l4, 0);
    let dport = be16_at(l4, 2);
    match proto {
        IPPROTO_TCP => {
            let (Some(sport), Some(dport)) = (sport, dport) else {
                return Err(PacketError::Truncated("TCP"));
            };
            let seq = be32_at(l4, 4).ok_or(PacketError::Truncated("TCP"))?;
            let ack = be32_at(l4, 8).ok_or(PacketError::Truncated("TCP"))?;
            let off = (*l4.get(12).ok_or(PacketError::Truncated("TCP"))? >> 4) as usize * 4;
            let flags = *l4.get(13).ok_or(PacketError::Truncated("TCP"))?;
            if off < 20 {
                return Err(PacketError::BadLength("TCP"));
            }
            let payload = l4.get(off..).ok_or(PacketError::Truncated("TCP"))?;
            Ok(Packet {
                src,
                dst,
                transport: Transport::Tcp,
                sport,
                dport,
                flags,
                seq,
                ack,
                payload,
            })
        }
        IPPROTO_UDP => {
            let (Some(sport), Some(dport)) = (sport, dport) else {
                return Err(PacketError::Truncated("UDP"));
            };
            let len = be16_at(l4, 4).ok_or(PacketError::Truncated("UDP"))? as usize;
            if len < 8 {
                return Err(PacketError::BadLength("UDP"));
            }
            let end = len.min(l4.len());
            let payload = l4.get(8..end).ok_or(PacketError::Truncated("UDP"))?;
            Ok(Packet {
                src,
                dst,
                transport: Transport::Udp,
                sport,
                dport,
                flags: 0,
                seq: 0,
                ack: 0,
                payload,
            })
        }
        p => Err(PacketError::NotTcpUdp(p)),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
pub(crate) mod tests;
