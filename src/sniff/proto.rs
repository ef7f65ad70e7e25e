//! The protocols portcullis can name, and their wire names.
//!
//! `app_proto` names are lowercase and, where Suricata has a name for the
//! protocol, the same name. The standard ports of each protocol live in the
//! catalogue (`policy/catalogue.toml`), not here: see [`crate::policy::catalogue`].

use std::fmt;

/// Transport protocol of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// TCP (IP protocol 6).
    Tcp,
    /// UDP (IP protocol 17).
    Udp,
}

impl Transport {
    /// Lowercase name: "tcp" or "udp".
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }

    /// Parses "tcp" or "udp".
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "tcp" => Some(Transport::Tcp),
            "udp" => Some(Transport::Udp),
            _ => None,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! protocols {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// An application protocol identified from a flow's bytes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Proto {
            $( $(#[$doc])* $variant, )*
        }

        impl Proto {
            /// Every protocol, in declaration order.
            pub const ALL: &'static [Proto] = &[ $( Proto::$variant, )* ];

            /// The `app_proto` name.
            pub fn name(self) -> &'static str {
                match self { $( Proto::$variant => $name, )* }
            }

            /// Looks a protocol up by its `app_proto` name.
            pub fn from_name(s: &str) -> Option<Proto> {
                match s { $( $name => Some(Proto::$variant), )* _ => None }
            }
        }
    };
}

protocols! {
    /// TLS over TCP (ClientHello or ServerHello).
    Tls => "tls",
    /// DTLS over UDP.
    Dtls => "dtls",
    /// QUIC v1 / v2 (RFC 9000, RFC 9369).
    Quic => "quic",
    /// HTTP/1.x.
    Http => "http",
    /// HTTP/2 with prior knowledge (cleartext preface).
    Http2 => "http2",
    /// HTTP CONNECT proxying (a tunnel request).
    HttpConnect => "http-connect",
    /// SSH (RFC 4253 identification string).
    Ssh => "ssh",
    /// DNS over UDP or TCP.
    Dns => "dns",
    /// Multicast DNS (RFC 6762).
    Mdns => "mdns",
    /// Link-Local Multicast Name Resolution (RFC 4795).
    Llmnr => "llmnr",
    /// SMTP / ESMTP.
    Smtp => "smtp",
    /// POP3.
    Pop3 => "pop3",
    /// IMAP4.
    Imap => "imap",
    /// FTP control channel.
    Ftp => "ftp",
    /// Telnet (RFC 854 option negotiation).
    Telnet => "telnet",
    /// RDP (TPKT + X.224 connection request).
    Rdp => "rdp",
    /// SMB 1, 2 and 3 (over NetBIOS session service framing).
    Smb => "smb",
    /// DCE/RPC connection-oriented.
    Dcerpc => "dcerpc",
    /// NetBIOS name service.
    Nbns => "nbns",
    /// LDAP (BER LDAPMessage).
    Ldap => "ldap",
    /// Kerberos 5.
    Krb5 => "krb5",
    /// NTP.
    Ntp => "ntp",
    /// SNMP v1/v2c/v3.
    Snmp => "snmp",
    /// Syslog (RFC 3164 / RFC 5424).
    Syslog => "syslog",
    /// SIP.
    Sip => "sip",
    /// STUN / TURN.
    Stun => "stun",
    /// MQTT.
    Mqtt => "mqtt",
    /// AMQP 0-9-1 and 1.0.
    Amqp => "amqp",
    /// Redis RESP.
    Redis => "redis",
    /// PostgreSQL frontend/backend protocol.
    Pgsql => "pgsql",
    /// MySQL / MariaDB.
    Mysql => "mysql",
    /// MongoDB wire protocol.
    Mongodb => "mongodb",
    /// Microsoft SQL Server TDS.
    Tds => "tds",
    /// VNC remote framebuffer.
    Rfb => "rfb",
    /// SOCKS 4 / 4a.
    Socks4 => "socks4",
    /// SOCKS 5.
    Socks5 => "socks5",
    /// OpenVPN (UDP and TCP).
    Openvpn => "openvpn",
    /// WireGuard.
    Wireguard => "wireguard",
    /// IKE v1/v2 (ISAKMP).
    Ike => "ike",
    /// IRC.
    Irc => "irc",
    /// XMPP.
    Xmpp => "xmpp",
    /// BitTorrent peer wire protocol.
    Bittorrent => "bittorrent",
    /// BitTorrent DHT (bencoded KRPC over UDP).
    BittorrentDht => "bittorrent-dht",
    /// DHCP / BOOTP.
    Dhcp => "dhcp",
    /// Modbus/TCP.
    Modbus => "modbus",
    /// DNP3.
    Dnp3 => "dnp3",
    /// EtherNet/IP encapsulation (CIP explicit messaging).
    Enip => "enip",
    /// NFS (ONC RPC program 100003).
    Nfs => "nfs",
    /// ONC RPC (Sun RPC) programs other than NFS: portmapper, mountd...
    OncRpc => "onc-rpc",
    /// TFTP (a request, or the first datagram of the transfer's flow).
    Tftp => "tftp",
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_lowercase() {
        for p in Proto::ALL {
            assert_eq!(Proto::from_name(p.name()), Some(*p));
            assert_eq!(p.name(), p.name().to_lowercase());
        }
        assert_eq!(Proto::from_name("unknown"), None);
    }
}
