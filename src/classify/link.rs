//! Link-layer decoding for captures: from a frame of a given pcap link type
//! to the IP packet it carries.
//!
//! Pure and checked: every length is checked before it is read, nothing
//! panics and nothing allocates. A frame that carries no IP (ARP, LLDP, an
//! unknown link type) is an error the caller counts, never a crash.
//!
//! Link types (tcpdump.org/linktypes.html): Ethernet (1) with any stack of
//! 802.1Q / 802.1ad / QinQ tags, PPPoE session and MPLS label stacks; raw IP
//! (101, and the DLT values 12 and 14 some platforms write for it), IPv4
//! (228), IPv6 (229); Linux cooked capture v1 (113) and v2 (276); BSD
//! NULL (0) and LOOP (108); PPP (9) and PPP-in-HDLC (50).

use crate::sniff::cursor::be16_at;

/// LINKTYPE_NULL: BSD loopback, 4-byte address family in the capturing
/// host's byte order.
pub const NULL: u32 = 0;
/// LINKTYPE_ETHERNET.
pub const ETHERNET: u32 = 1;
/// LINKTYPE_PPP.
pub const PPP: u32 = 9;
/// DLT_RAW as written by most platforms (raw IPv4 or IPv6).
pub const DLT_RAW_12: u32 = 12;
/// DLT_RAW as written by OpenBSD.
pub const DLT_RAW_14: u32 = 14;
/// LINKTYPE_PPP_HDLC.
pub const PPP_HDLC: u32 = 50;
/// LINKTYPE_RAW: raw IPv4 or IPv6.
pub const RAW: u32 = 101;
/// LINKTYPE_LOOP: OpenBSD loopback, address family in network byte order.
pub const LOOP: u32 = 108;
/// LINKTYPE_LINUX_SLL: Linux cooked capture v1.
pub const LINUX_SLL: u32 = 113;
/// LINKTYPE_IPV4: raw IPv4.
pub const IPV4: u32 = 228;
/// LINKTYPE_IPV6: raw IPv6.
pub const IPV6: u32 = 229;
/// LINKTYPE_LINUX_SLL2: Linux cooked capture v2.
pub const LINUX_SLL2: u32 = 276;

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_PPPOE_SESSION: u16 = 0x8864;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MC: u16 = 0x8848;

/// Most VLAN tags or MPLS labels walked before giving up.
const MAX_TAGS: usize = 8;

/// Why a frame yielded no IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum LinkError {
    /// The capture's link type is not one this decoder reads.
    #[error("link type {0} is not supported")]
    UnsupportedLinkType(u32),
    /// The frame is shorter than its link header.
    #[error("frame truncated in the link header")]
    Truncated,
    /// The frame carries something other than IPv4/IPv6 (ARP, LLDP, ...).
    #[error("frame carries ethertype {0:#06x}, not IP")]
    NotIp(u16),
    /// More VLAN tags or MPLS labels than [`MAX_TAGS`].
    #[error("too many VLAN tags or MPLS labels")]
    TooManyTags,
}

/// The IP packet inside a frame of link type `linktype`.
pub fn ip_payload(linktype: u32, frame: &[u8]) -> Result<&[u8], LinkError> {
    match linktype {
        ETHERNET => {
            let ethertype = be16_at(frame, 12).ok_or(LinkError::Truncated)?;
            ethertype_payload(ethertype, frame.get(14..).ok_or(LinkError::Truncated)?)
        }
        RAW | DLT_RAW_12 | DLT_RAW_14 | IPV4 | IPV6 => Ok(frame),
        LINUX_SLL => {
            let proto = be16_at(frame, 14).ok_or(LinkError::Truncated)?;
            ethertype_payload(proto, frame.get(16..).ok_or(LinkError::Truncated)?)
        }
        LINUX_SLL2 => {
            let proto = be16_at(frame, 0).ok_or(LinkError::Truncated)?;
            ethertype_payload(proto, frame.get(20..).ok_or(LinkError::Truncated)?)
        }
        NULL | LOOP => {
            let fam: [u8; 4] = frame
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(LinkError::Truncated)?;
            // The family is in the capturing host's byte order (NULL) or
            // network order (LOOP); writers disagree, so accept either.
            let fam = u32::from_le_bytes(fam).min(u32::from_be_bytes(fam));
            let rest = frame.get(4..).ok_or(LinkError::Truncated)?;
            match fam {
                2 => Ok(rest),
                // AF_INET6 on Linux (10), the BSDs (24, 28) and macOS (30).
                10 | 24 | 28 | 30 => Ok(rest),
                other => Err(LinkError::NotIp(other.min(0xffff) as u16)),
            }
        }
        PPP | PPP_HDLC => {
            // Address/control (ff 03) may be present or compressed away.
            let rest = match frame {
                [0xff, 0x03, rest @ ..] => rest,
                rest => rest,
            };
            ppp_payload(rest)
        }
        other => Err(LinkError::UnsupportedLinkType(other)),
    }
}

/// Follows an ethertype (through VLAN tags, PPPoE and MPLS) to IP.
fn ethertype_payload(mut ethertype: u16, mut rest: &[u8]) -> Result<&[u8], LinkError> {
    for _ in 0..MAX_TAGS {
        match ethertype {
            ETH_IPV4 | ETH_IPV6 => return Ok(rest),
            ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
                ethertype = be16_at(rest, 2).ok_or(LinkError::Truncated)?;
                rest = rest.get(4..).ok_or(LinkError::Truncated)?;
            }
            ETH_PPPOE_SESSION => {
                // ver/type, code, session id, length; then the PPP protocol.
                return ppp_payload(rest.get(6..).ok_or(LinkError::Truncated)?);
            }
            ETH_MPLS | ETH_MPLS_MC => return mpls_payload(rest),
            other => return Err(LinkError::NotIp(other)),
        }
    }
    Err(LinkError::TooManyTags)
}

/// A PPP frame (protocol field first) to IP.
fn ppp_payload(frame: &[u8]) -> Result<&[u8], LinkError> {
    // The protocol field may be compressed to one byte (odd values).
    let first = *frame.first().ok_or(LinkError::Truncated)?;
    let (proto, rest) = if first & 1 == 1 {
        (u16::from(first), frame.get(1..))
    } else {
        (
            be16_at(frame, 0).ok_or(LinkError::Truncated)?,
            frame.get(2..),
        )
    };
    let rest = rest.ok_or(LinkError::Truncated)?;
    match proto {
        0x0021 | 0x0057 => Ok(rest),
        other => Err(LinkError::NotIp(other)),
    }
}

/// An MPLS label stack to the IP packet under its bottom label (the
/// payload's version nibble says which IP; no pseudowire control word).
fn mpls_payload(mut rest: &[u8]) -> Result<&[u8], LinkError> {
    for _ in 0..MAX_TAGS {
        let bottom = rest.get(2).ok_or(LinkError::Truncated)? & 0x01 != 0;
        rest = rest.get(4..).ok_or(LinkError::Truncated)?;
        if bottom {
            return match rest.first().map(|b| b >> 4) {
                Some(4) | Some(6) => Ok(rest),
                Some(_) => Err(LinkError::NotIp(ETH_MPLS)),
                None => Err(LinkError::Truncated),
            };
        }
    }
    Err(LinkError::TooManyTags)
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
