//! The standard-ports catalogue (`policy/catalogue.toml`): the IANA service
//! ports of each protocol, with their source. The built-in policy's
//! `ports = "standard"` and the `catalogue` command read it.

use crate::sniff::{Proto, Transport};
use serde::Deserialize;
use std::sync::OnceLock;

/// The catalogue's text, compiled into the binary.
pub const CATALOGUE_TOML: &str = include_str!("../../policy/catalogue.toml");

/// One standard port of one protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The protocol.
    pub proto: Proto,
    /// Its transport on this port.
    pub transport: Transport,
    /// The port.
    pub port: u16,
    /// IANA service name.
    pub service: String,
    /// Where the assignment comes from.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    entry: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    protocol: String,
    transport: String,
    port: u16,
    service: String,
    source: String,
}

/// Parses catalogue text; an error names the entry and field.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let raw: RawFile = toml::from_str(text).map_err(|e| e.to_string())?;
    raw.entry
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let proto = Proto::from_name(&e.protocol)
                .ok_or_else(|| format!("entry {}: unknown protocol {:?}", i + 1, e.protocol))?;
            let transport = Transport::from_name(&e.transport)
                .ok_or_else(|| format!("entry {}: transport must be tcp or udp", i + 1))?;
            if e.port == 0 {
                return Err(format!("entry {}: port 0", i + 1));
            }
            Ok(Entry {
                proto,
                transport,
                port: e.port,
                service: e.service,
                source: e.source,
            })
        })
        .collect()
}

/// The compiled-in catalogue (empty if it failed to parse, which a unit
/// test rules out).
pub fn entries() -> &'static [Entry] {
    static CELL: OnceLock<Vec<Entry>> = OnceLock::new();
    CELL.get_or_init(|| parse(CATALOGUE_TOML).unwrap_or_default())
}

/// Whether `port` is a standard port of `proto` over `transport`.
pub fn is_standard(proto: Proto, transport: Transport, port: u16) -> bool {
    entries()
        .iter()
        .any(|e| e.proto == proto && e.transport == transport && e.port == port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_has_a_standard_port() {
        let entries = parse(CATALOGUE_TOML).unwrap_or_else(|e| unreachable!("{e}"));
        for p in Proto::ALL {
            assert!(
                entries.iter().any(|e| e.proto == *p),
                "{p} missing from catalogue"
            );
        }
        assert!(is_standard(Proto::Tls, Transport::Tcp, 443));
        assert!(is_standard(Proto::Dns, Transport::Udp, 53));
        assert!(!is_standard(Proto::Ssh, Transport::Tcp, 443));
        assert!(!is_standard(Proto::Tls, Transport::Udp, 443));
    }
}
