//! Sans-IO protocol detectors.
//!
//! Every detector is a pure function over the first bytes a flow carried in
//! each direction ([`Input`]) that answers [`Sniff::Match`] with metadata
//! borrowed from the input, [`Sniff::NotThis`], or [`Sniff::NeedMore`].
//! Detectors never allocate, never panic, never do I/O and never guess from a
//! port: a port may only split protocols whose bytes are identical on the
//! wire (DNS, mDNS and LLMNR).
//!
//! [`registry`] runs the detectors in order; one file per protocol family.
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]

pub mod cursor;
pub mod entropy;
pub mod proto;
pub mod registry;

mod amqp;
mod bittorrent;
mod dhcp;
mod dnp3;
mod dns;
mod dtls;
mod enip;
mod ftp;
mod http;
mod ike;
mod irc;
mod krb5;
mod ldap;
mod mail;
mod modbus;
mod mongodb;
mod mqtt;
mod mqtt_session;
mod mysql;
mod netbios;
mod ntp;
mod openvpn;
mod pgsql;
mod quic;
mod rdp;
mod redis;
mod rfb;
mod rpc;
mod sip;
mod smb;
mod snmp;
mod socks;
mod ssh;
mod stun;
mod syslog;
mod tds;
mod telnet;
mod tftp;
mod tls;
mod wireguard;
mod xmpp;

#[cfg(test)]
mod matrix_tests;
#[cfg(test)]
mod second_client_tests;
#[cfg(test)]
mod variety_tests;

pub use proto::{Proto, Transport};
pub use registry::{classify, Classification, Verdict};

/// Most bytes of each direction a flow's sample may hold. Detectors that
/// need a whole message (a TLS ClientHello) settle for what they have once a
/// direction reaches this size.
pub const SAMPLE_MAX: usize = 8192;

/// The answer of one detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniff<T> {
    /// The bytes are this protocol.
    Match(T),
    /// The bytes are not this protocol (whatever follows).
    NotThis,
    /// Not enough bytes yet to tell.
    NeedMore,
}

/// What a detector sees: the first bytes of each direction of one flow.
///
/// For TCP, each direction is the reassembled in-order stream prefix. For
/// UDP, each direction is the first datagram.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// Bytes sent by the flow's initiator.
    pub client: &'a [u8],
    /// Bytes sent by the responder.
    pub server: &'a [u8],
    /// TCP or UDP.
    pub transport: Transport,
    /// Initiator's port.
    pub client_port: u16,
    /// Responder's port.
    pub server_port: u16,
    /// No more bytes will arrive (a bound was hit or the flow ended):
    /// detectors that wait for a whole message for its metadata must
    /// decide on what they have.
    pub complete: bool,
}

impl<'a> Input<'a> {
    /// The side that has spoken: the initiator's bytes, or the responder's
    /// when the initiator's are empty (a flow seen from one side only).
    pub fn first_side(&self) -> &'a [u8] {
        if self.client.is_empty() {
            self.server
        } else {
            self.client
        }
    }

    /// For protocols judged on one whole message (a datagram): NeedMore
    /// while nothing was seen, else what `parse` makes of the first side.
    pub fn one_message(&self, parse: impl FnOnce(&'a [u8]) -> Option<Meta<'a>>) -> Sniff<Meta<'a>> {
        let side = self.first_side();
        if side.is_empty() {
            return Sniff::NeedMore;
        }
        match parse(side) {
            Some(meta) => Sniff::Match(meta),
            None => Sniff::NotThis,
        }
    }
}

/// Metadata a detector found, borrowed from the flow's bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meta<'a> {
    /// TLS / QUIC / DTLS server name (SNI).
    pub sni: Option<&'a [u8]>,
    /// First ALPN protocol offered.
    pub alpn: Option<&'a [u8]>,
    /// HTTP Host header, or the CONNECT target.
    pub host: Option<&'a [u8]>,
    /// HTTP method or a protocol's first command: borrowed from the flow's
    /// bytes, or a static name where the protocol encodes it as a number.
    pub method: Option<&'a [u8]>,
    /// Software named in a banner (SSH software version, server greeting).
    pub software: Option<&'a [u8]>,
    /// Protocol version, as the protocol encodes it (TLS 0x0303, QUIC 1...).
    pub version: Option<u32>,
}

/// One detector: the protocol it names, the transports it runs on, and the
/// pure function that decides.
#[derive(Clone, Copy)]
pub struct Detector {
    /// The protocol this detector names on a match.
    pub proto: Proto,
    /// Runs on TCP flows.
    pub tcp: bool,
    /// Runs on UDP flows.
    pub udp: bool,
    /// The detection function.
    pub detect: for<'a> fn(&Input<'a>) -> Sniff<Meta<'a>>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("proto", &self.proto)
            .field("tcp", &self.tcp)
            .field("udp", &self.udp)
            .finish()
    }
}

impl Detector {
    /// Whether this detector runs on `t`.
    pub fn runs_on(&self, t: Transport) -> bool {
        match t {
            Transport::Tcp => self.tcp,
            Transport::Udp => self.udp,
        }
    }
}

/// Every detector family, in the order the registry tries them. Specific,
/// strongly-framed protocols come before loose text protocols; TFTP, whose
/// first data block has only a 4-byte header, comes last.
pub(crate) const FAMILIES: &[&[Detector]] = &[
    tls::DETECTORS,
    quic::DETECTORS,
    dtls::DETECTORS,
    ssh::DETECTORS,
    http::DETECTORS,
    smb::DETECTORS,
    rdp::DETECTORS,
    pgsql::DETECTORS,
    mysql::DETECTORS,
    tds::DETECTORS,
    mongodb::DETECTORS,
    mqtt::DETECTORS,
    amqp::DETECTORS,
    redis::DETECTORS,
    rfb::DETECTORS,
    socks::DETECTORS,
    bittorrent::DETECTORS,
    wireguard::DETECTORS,
    openvpn::DETECTORS,
    ike::DETECTORS,
    stun::DETECTORS,
    dhcp::DETECTORS,
    ntp::DETECTORS,
    krb5::DETECTORS,
    ldap::DETECTORS,
    snmp::DETECTORS,
    modbus::DETECTORS,
    dnp3::DETECTORS,
    enip::DETECTORS,
    rpc::DETECTORS,
    netbios::DETECTORS,
    dns::DETECTORS,
    sip::DETECTORS,
    mail::DETECTORS,
    ftp::DETECTORS,
    xmpp::DETECTORS,
    irc::DETECTORS,
    telnet::DETECTORS,
    syslog::DETECTORS,
    tftp::DETECTORS,
];
