//! Flow keys: the 5-tuple in a canonical order, so both directions of a
//! flow find the same entry.

use crate::sniff::Transport;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;

/// One side of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
}

/// A direction-independent 5-tuple: `lo` is the smaller endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// TCP or UDP.
    pub transport: Transport,
    /// The smaller endpoint.
    pub lo: Endpoint,
    /// The larger endpoint.
    pub hi: Endpoint,
}

impl FlowKey {
    /// A packet's key, with its source and destination endpoints.
    pub fn of(pkt: &crate::packet::Packet<'_>) -> (FlowKey, Endpoint, Endpoint) {
        let src = Endpoint {
            ip: pkt.src,
            port: pkt.sport,
        };
        let dst = Endpoint {
            ip: pkt.dst,
            port: pkt.dport,
        };
        (FlowKey::new(pkt.transport, src, dst), src, dst)
    }

    /// The key of a packet from `src` to `dst`.
    pub fn new(transport: Transport, src: Endpoint, dst: Endpoint) -> Self {
        if src <= dst {
            FlowKey {
                transport,
                lo: src,
                hi: dst,
            }
        } else {
            FlowKey {
                transport,
                lo: dst,
                hi: src,
            }
        }
    }
}

/// A fast, non-cryptographic hasher for flow keys (FxHash's multiply-rotate).
///
/// Flow keys come from the network, so an attacker could aim for
/// collisions; the table is bounded in size and evicts, so the worst case
/// is slower lookups, not unbounded memory. The seed is chosen per table at
/// start from the address of a stack value and the process id.
#[derive(Clone, Copy, Debug)]
pub struct FlowHasher {
    seed: u64,
}

impl FlowHasher {
    /// A hasher builder seeded from the process.
    pub fn new() -> Self {
        let local = 0u8;
        let addr = &local as *const u8 as u64;
        FlowHasher {
            seed: addr.rotate_left(17)
                ^ u64::from(std::process::id()).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        }
    }
}

impl Default for FlowHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl BuildHasher for FlowHasher {
    type Hasher = Fx;
    fn build_hasher(&self) -> Fx {
        Fx(self.seed)
    }
}

/// The hasher state.
#[derive(Clone, Copy, Debug)]
pub struct Fx(u64);

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            if let Some(dst) = b.get_mut(..chunk.len()) {
                dst.copy_from_slice(chunk);
            }
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(K);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_same_key() {
        let a = Endpoint {
            ip: "198.18.1.2".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            port: 40000,
        };
        let b = Endpoint {
            ip: "198.18.2.2".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            port: 443,
        };
        assert_eq!(
            FlowKey::new(Transport::Tcp, a, b),
            FlowKey::new(Transport::Tcp, b, a)
        );
        assert_ne!(
            FlowKey::new(Transport::Tcp, a, b),
            FlowKey::new(Transport::Udp, a, b)
        );
    }
}
