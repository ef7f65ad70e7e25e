//! Tunnels in captures: GRE, IP-in-IP, 6in4, VXLAN, Geneve and Teredo.
//!
//! Captures taken on a tunnel's underlay carry the flows that matter
//! inside an encapsulation. [`inner`] finds the IP packet inside one layer
//! of tunnel; the caller repeats it for nested tunnels (Geneve carrying
//! GRE carrying IPv4). The UDP tunnels are recognised by their IANA port
//! (VXLAN 4789, Geneve 6081, Teredo 3544) *and* a header that checks out
//! (Teredo data on other ports: an exact-length IPv6 packet with a
//! 2001::/32 address),
//! and the inner bytes must parse as IP, so a flow that merely uses one
//! of those ports is left alone. Pure and checked, like [`super::link`].

use super::link;
use crate::sniff::cursor::be16_at;

/// Which tunnel a flow was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tunnel {
    /// GRE (RFC 2784/2890), IP or transparent Ethernet bridging payload.
    Gre,
    /// IPv4 or IPv6 directly in IPv4/IPv6 (IP protocols 4 and 41).
    IpInIp,
    /// VXLAN (RFC 7348), UDP port 4789.
    Vxlan,
    /// Geneve (RFC 8926), UDP port 6081.
    Geneve,
    /// Teredo (RFC 4380), UDP port 3544.
    Teredo,
}

impl Tunnel {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Tunnel::Gre => "gre",
            Tunnel::IpInIp => "ipip",
            Tunnel::Vxlan => "vxlan",
            Tunnel::Geneve => "geneve",
            Tunnel::Teredo => "teredo",
        }
    }
}

const VXLAN_PORT: u16 = 4789;
const GENEVE_PORT: u16 = 6081;
const TEREDO_PORT: u16 = 3544;

/// The IP protocol number and payload of an IP packet (first fragments
/// and unfragmented packets only).
fn ip_l4(ip: &[u8]) -> Option<(u8, &[u8])> {
    match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(be16_at(ip, 2)?);
            if ihl < 20 || total < ihl || be16_at(ip, 6)? & 0x1fff != 0 {
                return None;
            }
            Some((*ip.get(9)?, ip.get(ihl..total.min(ip.len()))?))
        }
        6 => {
            let len = usize::from(be16_at(ip, 4)?);
            let mut next = *ip.get(6)?;
            let mut rest = ip.get(40..(40 + len).min(ip.len()))?;
            for _ in 0..8 {
                match next {
                    0 | 43 | 60 => {
                        let n = (usize::from(*rest.get(1)?) + 1) * 8;
                        next = *rest.first()?;
                        rest = rest.get(n..)?;
                    }
                    44 => {
                        if be16_at(rest, 2)? & 0xfff8 != 0 {
                            return None;
                        }
                        next = *rest.first()?;
                        rest = rest.get(8..)?;
                    }
                    p => return Some((p, rest)),
                }
            }
            None
        }
        _ => None,
    }
}

/// Whether `b` starts like an IP packet whose length fits `b`.
fn plausible_ip(b: &[u8]) -> bool {
    match b.first().map(|v| v >> 4) {
        Some(4) => be16_at(b, 2).is_some_and(|t| t >= 20 && usize::from(t) <= b.len()),
        Some(6) => be16_at(b, 4).is_some_and(|l| 40 + usize::from(l) <= b.len()),
        _ => false,
    }
}

/// The IP packet inside one tunnel layer of `ip`, if it is a tunnel.
pub fn inner(ip: &[u8]) -> Option<(Tunnel, &[u8])> {
    let (proto, l4) = ip_l4(ip)?;
    match proto {
        4 | 41 => plausible_ip(l4).then_some((Tunnel::IpInIp, l4)),
        47 => gre(l4).map(|p| (Tunnel::Gre, p)),
        17 => {
            let sport = be16_at(l4, 0)?;
            let dport = be16_at(l4, 2)?;
            let payload = l4.get(8..)?;
            let on = |p: u16| sport == p || dport == p;
            if on(VXLAN_PORT) {
                vxlan(payload).map(|p| (Tunnel::Vxlan, p))
            } else if on(GENEVE_PORT) {
                geneve(payload).map(|p| (Tunnel::Geneve, p))
            } else if on(TEREDO_PORT) {
                teredo(payload).map(|p| (Tunnel::Teredo, p))
            } else {
                // Teredo data between a client and a relay uses any ports:
                // a bare IPv6 packet whose length fits the datagram exactly
                // and with an address in the Teredo prefix 2001::/32.
                teredo_bare(payload).map(|p| (Tunnel::Teredo, p))
            }
        }
        _ => None,
    }
}

/// GRE version 0: optional checksum, key and sequence number, then the
/// payload's ethertype.
fn gre(b: &[u8]) -> Option<&[u8]> {
    let flags = be16_at(b, 0)?;
    if flags & 0x0007 != 0 {
        return None; // version 1 is PPTP's enhanced GRE: PPP, not IP
    }
    let proto = be16_at(b, 2)?;
    let mut off = 4;
    for bit in [0x8000u16, 0x2000, 0x1000] {
        if flags & bit != 0 {
            off += 4;
        }
    }
    let rest = b.get(off..)?;
    ethertype(proto, rest)
}

/// The IP packet behind an ethertype in a tunnel: IP directly, or an
/// Ethernet frame (transparent Ethernet bridging, 0x6558).
fn ethertype(proto: u16, rest: &[u8]) -> Option<&[u8]> {
    let ip = match proto {
        0x0800 | 0x86dd => rest,
        0x6558 => link::ip_payload(link::ETHERNET, rest).ok()?,
        _ => return None,
    };
    plausible_ip(ip).then_some(ip)
}

/// VXLAN: flags with the I bit, reserved bits zero, VNI; then Ethernet.
fn vxlan(b: &[u8]) -> Option<&[u8]> {
    let h = b.get(..8)?;
    if *h.first()? & 0x08 == 0 || h.get(7) != Some(&0) {
        return None;
    }
    let ip = link::ip_payload(link::ETHERNET, b.get(8..)?).ok()?;
    plausible_ip(ip).then_some(ip)
}

/// Geneve version 0: options length in 4-byte words, protocol type.
fn geneve(b: &[u8]) -> Option<&[u8]> {
    let first = *b.first()?;
    if first >> 6 != 0 {
        return None;
    }
    let opt = usize::from(first & 0x3f) * 4;
    let proto = be16_at(b, 2)?;
    ethertype(proto, b.get(8 + opt..)?)
}

/// Teredo: an IPv6 packet, possibly after an authentication header
/// (type 0x0001) and an origin indication (type 0x0000, 8 bytes).
fn teredo(mut b: &[u8]) -> Option<&[u8]> {
    if be16_at(b, 0) == Some(0x0001) {
        let id_len = usize::from(*b.get(2)?);
        let au_len = usize::from(*b.get(3)?);
        b = b.get(4 + id_len + au_len + 8 + 1..)?;
    }
    if be16_at(b, 0) == Some(0x0000) {
        b = b.get(8..)?;
    }
    (b.first()? >> 4 == 6 && plausible_ip(b)).then_some(b)
}

/// A bare Teredo data packet on ports other than 3544 (RFC 4380 section
/// 5.2: IPv6 directly in UDP), told by its exact length and the prefix.
fn teredo_bare(b: &[u8]) -> Option<&[u8]> {
    let len = usize::from(be16_at(b, 4)?);
    let teredo = |off: usize| b.get(off..off + 4) == Some(&[0x20, 0x01, 0x00, 0x00][..]);
    (b.first()? >> 4 == 6 && 40 + len == b.len() && (teredo(8) || teredo(24))).then_some(b)
}

#[cfg(test)]
#[path = "tunnel_tests.rs"]
mod tests;
