//! Metadata of the second clients and servers of the common protocols
//! (capture_v.py): each is named right, and reports what the detector
//! reads of it (Host and method, SNI and version, SSH software, MySQL
//! server version, PostgreSQL request and protocol version, ...).

#![allow(clippy::panic, clippy::indexing_slicing)]

use super::matrix_tests::fixtures;
use super::registry::{classify, Verdict};
use super::variety_tests::{check, Expect};

/// (fixture, sni, host, method, software, version): `None` must be absent.
const EXPECT: &[Expect] = &[
    (
        "tcp/http/python-requests",
        None,
        Some("127.0.0.1:47700"),
        Some("GET"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/http/aiohttp",
        None,
        Some("127.0.0.1:47700"),
        Some("GET"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/http/node-http",
        None,
        Some("127.0.0.1:47700"),
        Some("GET"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/http/node-fetch",
        None,
        Some("127.0.0.1:47700"),
        Some("GET"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/http/java-httpclient-h1",
        None,
        Some("127.0.0.1:47700"),
        Some("GET"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/http/java-httpclient-h2c",
        None,
        Some("127.0.0.1:47700"),
        Some("GET"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/http/curl-http2-upgrade",
        None,
        Some("127.0.0.1:47700"),
        Some("GET"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/http/wget-post",
        None,
        Some("127.0.0.1:47700"),
        Some("POST"),
        None,
        Some(0x0101),
    ),
    ("tcp/http2/httpx-prior", None, None, None, None, Some(2)),
    (
        "tcp/tls/node-https",
        Some("fixture.test"),
        None,
        None,
        None,
        Some(0x0304),
    ),
    ("tcp/tls/java-tls13", None, None, None, None, Some(0x0304)),
    ("tcp/tls/java-tls12", None, None, None, None, Some(0x0303)),
    (
        "tcp/tls/python-ssl-tls12-alpn",
        Some("fixture.test"),
        None,
        None,
        None,
        Some(0x0303),
    ),
    (
        "tcp/tls/openssl-tls13-tiny",
        None,
        None,
        None,
        None,
        Some(0x0304),
    ),
    (
        "tcp/tls/openssl-tls13-split",
        Some("fixture.test"),
        None,
        None,
        None,
        Some(0x0304),
    ),
    (
        "tcp/tls/gnutls-cli-tls12",
        Some("fixture.test"),
        None,
        None,
        None,
        Some(0x0303),
    ),
    (
        "tcp/ssh/paramiko-5",
        None,
        None,
        None,
        Some("paramiko_5.1.0"),
        Some(2),
    ),
    (
        "tcp/ssh/asyncssh",
        None,
        None,
        None,
        Some("AsyncSSH_2.24.1"),
        Some(2),
    ),
    (
        "tcp/ssh/openssh-prebanner",
        None,
        None,
        None,
        Some("OpenSSH_9.2p1"),
        Some(2),
    ),
    (
        "tcp/mysql/pymysql",
        None,
        None,
        None,
        Some("5.5.5-10.11.19-MariaDB-0+deb12u1"),
        Some(10),
    ),
    (
        "tcp/mysql/node-mysql2",
        None,
        None,
        None,
        Some("5.5.5-10.11.19-MariaDB-0+deb12u1"),
        Some(10),
    ),
    (
        "tcp/pgsql/asyncpg",
        None,
        None,
        Some("SSLRequest"),
        None,
        None,
    ),
    (
        "tcp/pgsql/pg8000",
        None,
        None,
        Some("SSLRequest"),
        None,
        None,
    ),
    (
        "tcp/pgsql/psycopg-libpq",
        None,
        None,
        Some("SSLRequest"),
        None,
        None,
    ),
    (
        "tcp/pgsql/node-pg",
        None,
        None,
        Some("StartupMessage"),
        None,
        Some(0x0003_0000),
    ),
    (
        "tcp/pgsql/psycopg-libpq-proto32",
        None,
        None,
        Some("StartupMessage"),
        None,
        Some(0x0003_0002),
    ),
    ("tcp/redis/redis-py", None, None, Some("CLIENT"), None, None),
    (
        "tcp/redis/redis-py-resp3",
        None,
        None,
        Some("HELLO"),
        None,
        None,
    ),
    ("tcp/redis/ioredis", None, None, Some("hello"), None, None),
    (
        "tcp/mqtt/paho-v5",
        None,
        None,
        Some("CONNECT"),
        None,
        Some(5),
    ),
    (
        "tcp/mqtt/paho-v311",
        None,
        None,
        Some("CONNECT"),
        None,
        Some(4),
    ),
    (
        "tcp/mqtt/paho-v31",
        None,
        None,
        Some("CONNECT"),
        None,
        Some(3),
    ),
    (
        "tcp/mqtt/node-mqtt",
        None,
        None,
        Some("CONNECT"),
        None,
        Some(5),
    ),
    (
        "udp/dns/dnspython-cookie",
        None,
        None,
        Some("query"),
        None,
        None,
    ),
    (
        "tcp/dns/dnspython-tcp",
        None,
        None,
        Some("query"),
        None,
        None,
    ),
    (
        "tcp/dns/dnspython-pipelined",
        None,
        None,
        Some("query"),
        None,
        None,
    ),
    (
        "udp/snmp/pysnmp-v2c",
        None,
        None,
        Some("get-request"),
        None,
        Some(2),
    ),
    (
        "udp/snmp/pysnmp-v3",
        None,
        None,
        Some("get-request"),
        None,
        Some(3),
    ),
    ("udp/ntp/ntplib", None, None, Some("client"), None, Some(2)),
    (
        "tcp/ldap/ldap3-anonymous",
        None,
        None,
        Some("bind"),
        None,
        Some(3),
    ),
    (
        "tcp/ldap/ldap3-simple",
        None,
        None,
        Some("bind"),
        None,
        Some(3),
    ),
    (
        "tcp/smb/impacket-smb1-only",
        None,
        None,
        Some("negotiate"),
        None,
        Some(1),
    ),
    (
        "tcp/smb/impacket-smb2-direct",
        None,
        None,
        Some("negotiate"),
        None,
        Some(0x0202),
    ),
    (
        "tcp/smb/impacket-smb3-direct",
        None,
        None,
        Some("negotiate"),
        None,
        Some(0x0300),
    ),
    (
        "tcp/dcerpc/rpcdump-samba",
        None,
        None,
        Some("bind"),
        None,
        Some(0x0500),
    ),
    (
        "tcp/pgsql/psycopg-libpq-direct-tls",
        None,
        None,
        None,
        None,
        Some(0x0304),
    ),
    (
        "tcp/ldap/ldap3-search-first",
        None,
        None,
        Some("search"),
        None,
        None,
    ),
    (
        "tcp/ldap/ldap3-starttls",
        None,
        None,
        Some("extended"),
        None,
        None,
    ),
    ("tcp/syslog/python-logging", None, None, None, None, Some(0)),
    (
        "tcp/syslog/python-logging-ident",
        None,
        None,
        None,
        None,
        Some(0),
    ),
    ("tcp/http2/node-http2", None, None, None, None, Some(2)),
    ("udp/dns/node-c-ares", None, None, Some("query"), None, None),
    (
        "tcp/krb5/impacket-getTGT",
        None,
        Some("FIXTURE.TEST"),
        Some("as-req"),
        None,
        Some(5),
    ),
    (
        "tcp/mongodb/node-mongodb",
        None,
        None,
        Some("ismaster"),
        None,
        None,
    ),
    ("tcp/socks5/pysocks", None, None, None, None, Some(5)),
    (
        "tcp/socks5/pysocks-userpass",
        None,
        None,
        None,
        None,
        Some(5),
    ),
    (
        "tcp/tds/impacket-mssqlclient",
        None,
        None,
        Some("PRELOGIN"),
        None,
        Some(0x0800_0155),
    ),
    (
        "tcp/rdp/impacket-rdp_check",
        None,
        None,
        None,
        None,
        Some(3),
    ),
    (
        "tcp/xmpp/slixmpp",
        None,
        Some("xmpp.fixture.test"),
        None,
        None,
        Some(0x0100),
    ),
];

#[test]
fn second_clients_report_their_metadata() {
    check(EXPECT);
}

/// Flows whose server side alone (the client's bytes missed, as a capture
/// that began late or a reversed pickup sees them) names the protocol: the
/// servers capture_v.py ran besides the first-recorded ones, and the
/// server-first protocols' answers to the new clients.
const SERVER_ALONE: &[&str] = &[
    "tcp/tls/gnutls-serv-curl",
    "tcp/tls/openssl-s_server-curl",
    "tcp/tls/node-https-server-curl",
    "tcp/http/node-server-curl",
    "tcp/http/python-http-server-curl",
    "tcp/ssh/asyncssh-server-openssh",
    "tcp/ssh/openssh-prebanner",
    "tcp/mysql/pymysql",
    "tcp/mysql/node-mysql2",
    "tcp/ldap/ldap3-simple",
    "tcp/smb/impacket-smb1-only",
    "tcp/smb/impacket-smb3-direct",
    "tcp/smtp/aiosmtpd-smtplib",
];

#[test]
fn other_servers_are_named_from_their_side_alone() {
    let all = fixtures();
    for &name in SERVER_ALONE {
        let f = all
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("fixture {name} missing"));
        match classify(&f.input_of(&[], &f.server, true), false) {
            Verdict::Identified(c) => assert_eq!(c.proto, f.proto, "{name}"),
            other => panic!("{name} server alone: {other:?}"),
        }
        // Every prefix of the server's side: wait, or the right name. (Not
        // for a server that sends notice lines first: ssh.rs looks through
        // them only within the bytes seen, by design, and the client's
        // identification line names those flows.)
        if name == "tcp/ssh/openssh-prebanner" {
            continue;
        }
        let step = (f.server.len() / 256).max(1);
        for n in (1..f.server.len()).step_by(step) {
            match classify(&f.input_of(&[], &f.server[..n], false), false) {
                Verdict::Identified(c) => assert_eq!(c.proto, f.proto, "{name} prefix {n}"),
                Verdict::NeedMore => {}
                other => panic!("{name} server prefix {n}: {other:?}"),
            }
        }
    }
}
