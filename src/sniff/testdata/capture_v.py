#!/usr/bin/env python3
"""Regenerates the fixtures of the second-client sweep (family V): for the
most common protocols, what a client (or server) other than the one the
detector was first tested with sends.

Every flow is recorded from a real program with the helpers of
capture_k.py: a listener written there (`.client.bin` alone: what the
client sent before going quiet), or a relay between a real client and a
real server (a `.client.bin` + `.server.bin` pair), all on 127.0.0.1. Run as
root on Debian 12 (Java 17 and Node 20 installed):

  apt-get install mariadb-server redis-server mosquitto slapd ldap-utils samba \\
      dropbear-bin socat gnutls-bin openssh-server openssh-client postgresql
  pip install requests aiohttp 'httpx[http2]' paramiko asyncssh pymysql asyncpg \\
      pg8000 'psycopg[binary]' redis paho-mqtt dnspython pysnmp ntplib ldap3 impacket PySocks slixmpp pyModbusTCP aiosmtpd
  (cd some-dir && npm install mysql2 pg mqtt ioredis mongodb tedious)   # NODE_PATH=some-dir/node_modules
  python3 src/sniff/testdata/capture_v.py [name-filter]

Programs and versions behind each fixture (PyPI and npm versions as
installed on the recording machine):
  tcp/http/python-requests      requests 2.34 (urllib3 2) GET
  tcp/http/python-requests-long-url   the same with a 10 kB query string: a request line
                                longer than the 8 KiB the detector (and the sample) holds
  tcp/http/aiohttp              aiohttp 3.14 ClientSession GET
  tcp/http/node-http            Node 20.20 http.get
  tcp/http/node-fetch           Node 20.20 fetch (undici)
  tcp/http/java-httpclient-h1   Java 17.0.15 java.net.http.HttpClient, HTTP_1_1
  tcp/http/java-httpclient-h2c  Java 17 HttpClient, default HTTP_2 over http://: an
                                HTTP/1.1 request with `Upgrade: h2c`
  tcp/http/curl-http2-upgrade   curl 7.88 --http2 over http:// (h2c Upgrade)
  tcp/http/wget-post            GNU Wget 1.21.3 --post-data
  tcp/http2/httpx-prior         httpx 0.29 (h2 4.4) http1=False, http2=True: HTTP/2 with
                                prior knowledge
  tcp/tls/node-https            Node 20.20 https.get, servername fixture.test
  tcp/tls/java-tls13, java-tls12  Java 17 HttpClient https:// with SSLParameters
                                limited to TLSv1.3 / TLSv1.2
  tcp/tls/python-ssl-tls12-alpn CPython 3.11 ssl, TLS 1.2 maximum, ALPN h2 + http/1.1
  tcp/tls/openssl-tls13-tiny    openssl s_client 3.0 -tls1_3 with one suite, one group,
                                no SNI, no session ticket
  tcp/tls/openssl-tls13-split   openssl s_client 3.0 -tls1_3 -max_send_frag 512 with a long
                                ALPN list: a ClientHello spanning two handshake records
  tcp/tls/gnutls-cli-tls12      gnutls-cli 3.7.9 --priority NORMAL:-VERS-TLS1.3
  tcp/ssh/paramiko-5            paramiko 5.1 (PyPI) <-> dropbear 2022.83
  tcp/ssh/asyncssh              asyncssh 2.24 <-> dropbear 2022.83
  tcp/ssh/openssh-prebanner     OpenSSH 9.2p1 ssh <-> OpenSSH 9.2p1 sshd -i behind a wrapper
                                that prints 20 notice lines (about 1.4 kB) first
  tcp/mysql/pymysql             PyMySQL 1.2 <-> MariaDB 10.11
  tcp/mysql/node-mysql2         mysql2 3.25 (npm) <-> MariaDB 10.11 (max_packet_size 0)
  tcp/pgsql/asyncpg             asyncpg 0.32 (ssl prefer: SSLRequest) <-> postgres 15.18
  tcp/pgsql/pg8000              pg8000 1.31 (it too opens with an SSLRequest) <-> postgres 15.18
  tcp/pgsql/psycopg-libpq       psycopg 3.3 binary wheel (its bundled libpq 18.0) <-> postgres 15:
                                SSLRequest (sslmode prefer); -proto32: sslmode=disable,
                                max_protocol_version=3.2 (StartupMessage 3.2).
                                tcp/pgsql/psycopg-libpq-direct-tls: sslnegotiation=direct, a TLS
                                ClientHello with ALPN postgresql first (PostgreSQL 17+), carrying
                                an X25519MLKEM768 key share (the wheel's own OpenSSL)
  tcp/pgsql/node-pg             pg 8.23 (npm; a plain StartupMessage) <-> postgres 15.18
  tcp/redis/redis-py            redis-py 8.2 (CLIENT SETINFO first) <-> redis-server 7.0.15
  tcp/redis/redis-py-resp3      redis-py 8.2 protocol=3 (HELLO 3) <-> redis-server 7.0.15
  tcp/redis/ioredis             ioredis 6.1 (npm; lowercase `hello 3`) <-> redis-server 7.0.15
  tcp/mqtt/paho-v5, paho-v311, paho-v31  paho-mqtt 2.2 <-> mosquitto 2.0.11
  tcp/mqtt/node-mqtt            mqtt 5.16 (npm, MQTT.js) v5 <-> mosquitto 2.0.11
  udp/dns/dnspython-cookie      dnspython 2.9 query with an EDNS COOKIE option
  tcp/dns/dnspython-tcp         dnspython 2.9 dns.query.tcp
  tcp/dns/dnspython-pipelined   two queries made by dnspython written in one send
  udp/snmp/pysnmp-v2c, pysnmp-v3  pysnmp 7.1 GET (v2c; v3 engine discovery)
  udp/ntp/ntplib                ntplib 0.4 request
  tcp/ldap/ldap3-anonymous, ldap3-simple  ldap3 2.9 <-> OpenLDAP 2.5 slapd (anonymous bind
                                and search; simple bind as the rootdn); -search-first: a
                                search with no bind before it; -starttls: the StartTLS
                                extended request first (slapd here has no TLS: it refuses)
  tcp/smb/impacket-smb1-only    impacket 0.13 SMBConnection preferredDialect=SMB_DIALECT (an SMB1
                                negotiate offering only NT LM 0.12) <-> Samba 4.17 smbd with
                                server min protocol = NT1
  tcp/smb/impacket-smb2-direct, impacket-smb3-direct  impacket 0.13 SMB2 NEGOTIATE sent
                                directly (dialect 2.0.2; 3.0) <-> Samba 4.17 smbd
  tcp/tls/gnutls-serv-curl, openssl-s_server-curl, node-https-server-curl   curl 7.88 <->
                                gnutls-serv 3.7.9 --http, openssl s_server 3.0 -www, Node 20
                                https server (the server's ServerHello side)
  tcp/http/node-server-curl, python-http-server-curl   curl 7.88 <-> Node 20 http server,
                                CPython 3.11 http.server (the responses)
  tcp/ssh/asyncssh-server-openssh  OpenSSH 9.2p1 ssh <-> asyncssh 2.24 server
  tcp/tds/impacket-mssqlclient  impacket 0.13 mssqlclient.py (TDS PRELOGIN)
  tcp/rdp/impacket-rdp_check    impacket 0.13 rdp_check.py (X.224 Connection Request; it
                                always connects to port 3389)
  tcp/mongodb/node-mongodb      mongodb 7.9 (npm, the Node driver): OP_QUERY isMaster
  tcp/syslog/python-logging, python-logging-ident   CPython 3.11 logging SysLogHandler over
                                TCP (a bare `<PRI>text` ended by NUL; with an ident prefix)
  tcp/http2/node-http2          Node 20 http2.connect to http:// (prior knowledge)
  tcp/tds/tedious-strict        tedious 19.2 (npm) with encrypt: 'strict' (TDS 8.0): a TLS
                                ClientHello with ALPN tds/8.0 as the first bytes
  udp/dns/node-c-ares           Node 20 dns Resolver (c-ares) resolve4
  tcp/xmpp/slixmpp              slixmpp 1.17 (PyPI) stream header to xmpp.fixture.test
  tcp/modbus/pymodbustcp-read, pymodbustcp-write-coils  pyModbusTCP 0.3.1 (PyPI), unit 17:
                                Read Holding Registers; Write Multiple Coils (10 coils)
  tcp/smtp/aiosmtpd-smtplib     CPython 3.11 smtplib (EHLO, QUIT) <-> aiosmtpd 1.4.6 (PyPI)
  tcp/krb5/impacket-getTGT      impacket 0.13 getTGT.py: an AS-REQ over TCP to port 88
  tcp/socks5/pysocks, pysocks-userpass  PySocks 1.7 SOCKS5 greeting (no auth; user/password)
  (No GSSENCRequest could be recorded: psql 15 and psycopg's libpq 18 with
  gssencmode=require both fail before connecting without a Kerberos ticket cache.)
  tcp/dcerpc/rpcdump-samba      impacket 0.13 rpcdump.py's calls (bind to the endpoint mapper,
                                hept_lookup; rpcdump.py takes only well-known ports) <-> Samba 4.17
                                samba-dcerpcd's epmapper on 127.0.0.1:135
"""
import os, shutil, signal, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from capture_k import (first_client_bytes, record_clients,  # noqa: E402
                       relay_flow, spawn, start_dropbear, stop, wait_port, want, write,
                       write_flow)

PY = sys.executable
NODE_PATH = os.environ.get("NODE_PATH", "/tmp/v-node/node_modules")
NODE_ENV = dict(os.environ, NODE_PATH=NODE_PATH)


def node(src):
    return ["env", f"NODE_PATH={NODE_PATH}", "node", "-e", src]


def java(src, tmp):
    """A single-file Java program run by the source launcher."""
    path = os.path.join(tmp, "Fixture.java")
    with open(path, "w") as f:
        f.write(src)
    return ["java", path]


def fill(cmd, port):
    return [a.replace("{port}", str(port)) for a in cmd]


def relay_runs(port, runs, timeout=10):
    """Records each wanted (name, command) through a relay to the server on
    `port`: the i-th on relay port port+1+i, which fills the command's
    {port}."""
    for i, (name, cmd) in enumerate(runs):
        if want(name):
            relay = port + 1 + i
            c, s = relay_flow(relay, port, fill(cmd, relay), timeout=timeout)
            write_flow(name, c, s)


def py(src, *args):
    return [PY, "-c", src, *[str(a) for a in args]]


# --- HTTP --------------------------------------------------------------------

REQUESTS = """import sys, requests
# A long query string when asked: 200 parameters of 48 bytes (about 10 kB).
q = "&".join("p%03d=%s" % (i, "x" * 43) for i in range(200)) if sys.argv[2:] else "q=1"
try:
    requests.get("http://127.0.0.1:%s/fixture?%s" % (sys.argv[1], q), timeout=2)
except Exception:
    pass
"""

AIOHTTP = """import sys, asyncio, aiohttp
async def main():
    async with aiohttp.ClientSession() as s:
        try:
            async with s.get("http://127.0.0.1:%s/fixture?q=1" % sys.argv[1],
                             timeout=aiohttp.ClientTimeout(total=2)) as r:
                await r.read()
        except Exception:
            pass
asyncio.run(main())
"""

HTTPX_H2 = """import sys, httpx
try:
    with httpx.Client(http1=False, http2=True, timeout=2) as c:
        c.get("http://127.0.0.1:%s/fixture?q=1" % sys.argv[1])
except Exception:
    pass
"""

JAVA_HTTP = """import java.net.URI;
import java.net.http.*;
import java.time.Duration;
import javax.net.ssl.*;
import java.security.cert.X509Certificate;
public class Fixture {
  public static void main(String[] a) throws Exception {
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2));
    if (a[1].equals("h1")) b.version(HttpClient.Version.HTTP_1_1);
    if (a[1].startsWith("TLS")) {
      TrustManager[] all = { new X509TrustManager() {
        public void checkClientTrusted(X509Certificate[] c, String t) {}
        public void checkServerTrusted(X509Certificate[] c, String t) {}
        public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; } } };
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, all, null);
      SSLParameters p = new SSLParameters();
      p.setProtocols(new String[] { a[1] });
      b.sslContext(ctx).sslParameters(p);
    }
    HttpRequest r = HttpRequest.newBuilder(URI.create(a[0])).timeout(Duration.ofSeconds(3)).build();
    try { b.build().send(r, HttpResponse.BodyHandlers.discarding()); } catch (Exception e) {}
    System.exit(0);
  }
}
"""


def http():
    port = 47700
    url = f"http://127.0.0.1:{port}/fixture?q=1"
    tmp = tempfile.mkdtemp(prefix="pk-v-java-")
    runs = [
        ("tcp/http/python-requests", py(REQUESTS, port)),
        ("tcp/http/python-requests-long-url", py(REQUESTS, port, "long")),
        ("tcp/http/aiohttp", py(AIOHTTP, port)),
        ("tcp/http/node-http", node(f"require('http').get('{url}', () => {{}})"
                                    ".on('error', () => {}); setTimeout(() => process.exit(0), 2000)")),
        ("tcp/http/node-fetch", node(f"fetch('{url}').catch(() => {{}}); "
                                     "setTimeout(() => process.exit(0), 2000)")),
        ("tcp/http/java-httpclient-h1", java(JAVA_HTTP, tmp) + [url, "h1"]),
        ("tcp/http/java-httpclient-h2c", java(JAVA_HTTP, tmp) + [url, "h2"]),
        ("tcp/http/curl-http2-upgrade", ["curl", "-s", "-m", "2", "--http2", url]),
        ("tcp/http/wget-post", ["wget", "-q", "-O", "/dev/null", "--tries=1", "--timeout=2",
                                "--post-data", "a=1&b=2", url]),
        ("tcp/http2/httpx-prior", py(HTTPX_H2, port)),
    ]
    try:
        record_clients(port, runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- TLS ---------------------------------------------------------------------

PY_TLS12_ALPN = """import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_alpn_protocols(["h2", "http/1.1"])
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
try:
    ctx.wrap_socket(s, server_hostname="fixture.test")
except OSError:
    pass
"""

# A long ALPN list: 24 names of 20 bytes make the ClientHello exceed 512 bytes.
LONG_ALPN = ",".join(f"fixture-protocol-{i:03d}" for i in range(24)) + ",http/1.1"


def tls():
    port = 47710
    url = f"https://127.0.0.1:{port}/"
    tmp = tempfile.mkdtemp(prefix="pk-v-java-")
    s_client = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}"]
    runs = [
        ("tcp/tls/node-https", node(
            f"require('https').get({{host: '127.0.0.1', port: {port}, servername: 'fixture.test',"
            " rejectUnauthorized: false}, () => {}).on('error', () => {});"
            " setTimeout(() => process.exit(0), 2000)")),
        ("tcp/tls/java-tls13", java(JAVA_HTTP, tmp) + [url, "TLSv1.3"]),
        ("tcp/tls/java-tls12", java(JAVA_HTTP, tmp) + [url, "TLSv1.2"]),
        ("tcp/tls/python-ssl-tls12-alpn", py(PY_TLS12_ALPN, port)),
        ("tcp/tls/openssl-tls13-tiny", s_client + [
            "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-groups", "X25519",
            "-noservername", "-no_ticket", "-sigalgs", "ed25519"]),
        ("tcp/tls/openssl-tls13-split", s_client + [
            "-tls1_3", "-servername", "fixture.test", "-max_send_frag", "512",
            "-alpn", LONG_ALPN]),
        ("tcp/tls/gnutls-cli-tls12", ["gnutls-cli", "--insecure", "-p", str(port),
                                      "--priority", "NORMAL:-VERS-TLS1.3",
                                      "--sni-hostname", "fixture.test", "127.0.0.1"]),
    ]
    try:
        record_clients(port, runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- SSH ---------------------------------------------------------------------

# paramiko's client: capture_k.py's script (port as its argument).
from capture_k import PARAMIKO  # noqa: E402

ASYNCSSH = """import sys, asyncio, asyncssh
async def main():
    try:
        async with asyncssh.connect("127.0.0.1", int(sys.argv[1]), username="fixture",
                                    password="x", known_hosts=None, login_timeout=4):
            pass
    except Exception:
        pass
asyncio.run(main())
"""

SSHD_CONFIG = """HostKey {key}
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PidFile none
"""


def ssh():
    port = 47720
    if want("tcp/ssh/paramiko-5") or want("tcp/ssh/asyncssh"):
        d, p = start_dropbear(port, "pk-v-dropbear-")
        try:
            wait_port(port)
            relay_runs(port, [("tcp/ssh/paramiko-5", py(PARAMIKO, "{port}")),
                              ("tcp/ssh/asyncssh", py(ASYNCSSH, "{port}"))])
        finally:
            stop(p)
            shutil.rmtree(d, ignore_errors=True)
    name = "tcp/ssh/openssh-prebanner"
    if not want(name):
        return
    d = tempfile.mkdtemp(prefix="pk-v-sshd-")
    key = os.path.join(d, "ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    conf = os.path.join(d, "sshd_config")
    with open(conf, "w") as f:
        f.write(SSHD_CONFIG.format(key=key))
    os.makedirs("/run/sshd", exist_ok=True)
    wrapper = os.path.join(d, "sshd.sh")
    lines = "".join(f"printf 'Notice {i:02d}: this system is for authorised use only; "
                    "sessions are recorded.\\r\\n'\n" for i in range(20))
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\n{lines}exec /usr/sbin/sshd -i -f {conf}\n")
    os.chmod(wrapper, 0o755)
    sport = port + 10
    p = spawn(["socat", f"TCP-LISTEN:{sport},bind=127.0.0.1,reuseaddr,fork", f"EXEC:{wrapper}"])
    try:
        wait_port(sport)
        c, s = relay_flow(sport + 1, sport, [
            "ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=4", "-p", str(sport + 1),
            "fixture@127.0.0.1", "true"], timeout=10)
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)
    write_flow(name, c, s)


# --- databases and MQTT ------------------------------------------------------

PYMYSQL = """import sys, pymysql
try:
    pymysql.connect(host="127.0.0.1", port=int(sys.argv[1]), user="fixture", password="wrong",
                    connect_timeout=3)
except Exception:
    pass
"""

NODE_MYSQL2 = """require('mysql2').createConnection({host: '127.0.0.1', port: +process.argv[1],
  user: 'fixture', password: 'wrong', connectTimeout: 3000}).on('error', () => {})
  .connect(() => process.exit(0));
setTimeout(() => process.exit(0), 4000);"""


def start_mariadb(port):
    d = tempfile.mkdtemp(prefix="pk-v-mariadb-")
    shutil.chown(d, "mysql")
    subprocess.run(["mariadb-install-db", "--user=mysql", f"--datadir={d}",
                    "--auth-root-authentication-method=normal"], check=True, capture_output=True)
    return d, spawn(["mariadbd", "--user=mysql", f"--datadir={d}", f"--port={port}",
                     "--bind-address=127.0.0.1", f"--socket={d}/sock"])


def mysql():
    names = ["tcp/mysql/pymysql", "tcp/mysql/node-mysql2"]
    if not any(want(n) for n in names):
        return
    port = 47730
    d, p = start_mariadb(port)
    try:
        wait_port(port)
        relay_runs(port, list(zip(names, [py(PYMYSQL, "{port}"),
                                          node(NODE_MYSQL2) + ["{port}"]])))
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)


ASYNCPG = """import sys, asyncio, asyncpg
async def main():
    try:
        await asyncpg.connect(host="127.0.0.1", port=int(sys.argv[1]), user="fixture",
                              password="wrong", database="fixture", timeout=3)
    except Exception:
        pass
asyncio.run(main())
"""

PG8000 = """import sys, pg8000.native
try:
    pg8000.native.Connection("fixture", host="127.0.0.1", port=int(sys.argv[1]),
                             password="wrong", database="fixture", timeout=3)
except Exception:
    pass
"""

PSYCOPG = """import sys, psycopg
print(psycopg.pq.version(), file=sys.stderr)
try:
    psycopg.connect(host="127.0.0.1", port=int(sys.argv[1]), user="fixture",
                    password="wrong", dbname="fixture", connect_timeout=3,
                    **dict(a.split("=") for a in sys.argv[2:]))
except Exception:
    pass
"""

NODE_PG = """const { Client } = require('pg');
new Client({host: '127.0.0.1', port: +process.argv[1], user: 'fixture', password: 'wrong',
  database: 'fixture'}).connect().catch(() => {}).finally(() => process.exit(0));
setTimeout(() => process.exit(0), 4000);"""


def pgsql():
    runs = [("tcp/pgsql/asyncpg", py(ASYNCPG, "{port}")),
            ("tcp/pgsql/pg8000", py(PG8000, "{port}")),
            ("tcp/pgsql/psycopg-libpq", py(PSYCOPG, "{port}")),
            ("tcp/pgsql/psycopg-libpq-proto32",
             py(PSYCOPG, "{port}", "sslmode=disable", "max_protocol_version=3.2")),
            # PostgreSQL 17's direct TLS: a ClientHello with ALPN "postgresql" at once.
            ("tcp/pgsql/psycopg-libpq-direct-tls",
             py(PSYCOPG, "{port}", "sslmode=require", "sslnegotiation=direct")),
            ("tcp/pgsql/node-pg", node(NODE_PG) + ["{port}"])]
    if not any(want(n) for n, _ in runs):
        return
    port = 47740
    d = tempfile.mkdtemp(prefix="pk-v-pg-")
    shutil.chown(d, "postgres")
    pw = d + ".pw"
    with open(pw, "w") as f:
        f.write("fixture-password\n")
    os.chmod(pw, 0o644)
    try:
        subprocess.run(["runuser", "-u", "postgres", "--", "initdb", "-D", d, "-A",
                        "scram-sha-256", "-U", "fixture", f"--pwfile={pw}"],
                       check=True, capture_output=True)
    finally:
        os.unlink(pw)
    p = spawn(["runuser", "-u", "postgres", "--", "postgres", "-D", d, "-p", str(port), "-k", d,
               "-c", "listen_addresses=127.0.0.1", "-c", "ssl=off"])
    try:
        wait_port(port)
        for i, (name, cmd) in enumerate(runs):
            if want(name):
                relay = port + 1 + i
                c, s = relay_flow(relay, port, fill(cmd, relay), timeout=10)
                write(f"{name}.client.bin", c)
                if s:  # postgres 15 closes on a direct ClientHello unanswered
                    write(f"{name}.server.bin", s)
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)


REDIS_PY = """import sys, redis
try:
    redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), protocol=int(sys.argv[2]),
                socket_timeout=3).ping()
except Exception:
    pass
"""

IOREDIS = """const Redis = require('ioredis');
const r = new Redis({host: '127.0.0.1', port: +process.argv[1], maxRetriesPerRequest: 0,
  retryStrategy: () => null});
r.on('error', () => {});
r.ping().catch(() => {}).finally(() => process.exit(0));
setTimeout(() => process.exit(0), 4000);"""


def redis():
    runs = [("tcp/redis/redis-py", py(REDIS_PY, "{port}", 2)),
            ("tcp/redis/redis-py-resp3", py(REDIS_PY, "{port}", 3)),
            ("tcp/redis/ioredis", node(IOREDIS) + ["{port}"])]
    if not any(want(n) for n, _ in runs):
        return
    port = 47750
    p = spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no"])
    try:
        wait_port(port)
        relay_runs(port, runs)
    finally:
        stop(p)


PAHO = """import sys, time, paho.mqtt.client as mqtt
v = {"5": mqtt.MQTTv5, "311": mqtt.MQTTv311, "31": mqtt.MQTTv31}[sys.argv[2]]
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fixture-paho", protocol=v)
c.connect("127.0.0.1", int(sys.argv[1]), keepalive=30)
c.loop_start()
c.publish("fixture/temp", "21.5", qos=1)
time.sleep(1)
c.loop_stop()
c.disconnect()
"""

NODE_MQTT = """const c = require('mqtt').connect('mqtt://127.0.0.1:' + process.argv[1],
  {clientId: 'fixture-node', protocolVersion: 5, reconnectPeriod: 0});
c.on('connect', () => c.publish('fixture/temp', '21.5', {qos: 1}, () => process.exit(0)));
c.on('error', () => process.exit(0));
setTimeout(() => process.exit(0), 4000);"""


def mqtt():
    runs = [(f"tcp/mqtt/paho-v{v}", py(PAHO, "{port}", v)) for v in ["5", "311", "31"]]
    runs.append(("tcp/mqtt/node-mqtt", node(NODE_MQTT) + ["{port}"]))
    if not any(want(n) for n, _ in runs):
        return
    port = 47760
    p = spawn(["mosquitto", "-p", str(port)])
    try:
        wait_port(port)
        relay_runs(port, runs)
    finally:
        stop(p)


# --- DNS, SNMP, NTP ----------------------------------------------------------

DNSPY = """import os, socket, struct, sys, dns.edns, dns.message, dns.query
port, mode = int(sys.argv[1]), sys.argv[2]
if mode == "cookie":
    q = dns.message.make_query("fixture.test", "A", use_edns=0, payload=1232,
                               options=[dns.edns.CookieOption(os.urandom(8), b"")])
    try:
        dns.query.udp(q, "127.0.0.1", port=port, timeout=2)
    except Exception:
        pass
elif mode == "tcp":
    try:
        dns.query.tcp(dns.message.make_query("fixture.test", "AAAA", use_edns=0),
                      "127.0.0.1", port=port, timeout=2)
    except Exception:
        pass
else:
    # Two queries dnspython made, written in one send (one segment).
    wire = b"".join(struct.pack(">H", len(w)) + w for w in
                    (dns.message.make_query(n, t).to_wire()
                     for n, t in (("fixture.test", "A"), ("fixture.test", "AAAA"))))
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(wire)
    try:
        s.recv(1)
    except OSError:
        pass
"""

PYSNMP = """import sys, asyncio
from pysnmp.hlapi.v3arch.asyncio import *
async def main():
    if sys.argv[2] == "v3":
        auth = UsmUserData("fixture", "fixture-auth-key", "fixture-priv-key",
                           authProtocol=usmHMACSHAAuthProtocol, privProtocol=usmAesCfb128Protocol)
    else:
        auth = CommunityData("public")
    target = await UdpTransportTarget.create(("127.0.0.1", int(sys.argv[1])), timeout=1, retries=0)
    await get_cmd(SnmpEngine(), auth, target, ContextData(),
                  ObjectType(ObjectIdentity("1.3.6.1.2.1.1.1.0")))
asyncio.run(main())
"""

NTPLIB = """import sys, ntplib
try:
    ntplib.NTPClient().request("127.0.0.1", port=int(sys.argv[1]), timeout=2)
except Exception:
    pass
"""


def udp_clients():
    port = 47770
    record_clients(port, [("udp/dns/dnspython-cookie", py(DNSPY, port, "cookie")),
                          ("udp/snmp/pysnmp-v2c", py(PYSNMP, port, "v2c")),
                          ("udp/snmp/pysnmp-v3", py(PYSNMP, port, "v3")),
                          ("udp/ntp/ntplib", py(NTPLIB, port))])
    record_clients(port, [("tcp/dns/dnspython-tcp", py(DNSPY, port, "tcp")),
                          ("tcp/dns/dnspython-pipelined", py(DNSPY, port, "two"))], timeout=10)


# --- LDAP, SMB ---------------------------------------------------------------

LDAP3 = """import sys, ldap3
s = ldap3.Server("127.0.0.1", port=int(sys.argv[1]), get_info=ldap3.NONE, connect_timeout=3)
try:
    if sys.argv[2] in ("search", "starttls"):
        # No bind first: a search, or the StartTLS extended request.
        c = ldap3.Connection(s, receive_timeout=3)
        c.open()
        if sys.argv[2] == "starttls":
            c.start_tls()
    elif sys.argv[2] == "anon":
        c = ldap3.Connection(s, auto_bind=True, receive_timeout=3)
    else:
        c = ldap3.Connection(s, "cn=admin,dc=fixture,dc=test", "fixture", auto_bind=True,
                             receive_timeout=3)
    c.search("dc=fixture,dc=test", "(objectClass=*)", attributes=["cn"])
    c.unbind()
except Exception:
    pass
"""

SLAPD_CONF = """include /etc/ldap/schema/core.schema
pidfile {d}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "dc=fixture,dc=test"
rootdn "cn=admin,dc=fixture,dc=test"
rootpw fixture
directory {d}/db
"""


def ldap():
    runs = [("tcp/ldap/ldap3-anonymous", "anon"), ("tcp/ldap/ldap3-simple", "simple"),
            ("tcp/ldap/ldap3-search-first", "search"), ("tcp/ldap/ldap3-starttls", "starttls")]
    if not any(want(n) for n, _ in runs):
        return
    port = 47780
    d = tempfile.mkdtemp(prefix="pk-v-slapd-")
    os.makedirs(os.path.join(d, "db"))
    conf = os.path.join(d, "slapd.conf")
    with open(conf, "w") as f:
        f.write(SLAPD_CONF.format(d=d))
    p = spawn(["slapd", "-d", "0", "-f", conf, "-h", f"ldap://127.0.0.1:{port}/"])
    try:
        wait_port(port)
        relay_runs(port, [(name, py(LDAP3, "{port}", mode)) for name, mode in runs])
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)


# The [global] settings both Samba configurations share: loopback only,
# every state directory under {d}.
SAMBA_GLOBAL = """[global]
workgroup = FIXTURE
netbios name = FIXTURE
interfaces = lo
bind interfaces only = yes
pid directory = {d}
lock directory = {d}
state directory = {d}
cache directory = {d}
private dir = {d}
ncalrpc dir = {d}/ncalrpc
log file = {d}/log
server role = standalone server
disable netbios = yes
"""

SMB_CONF = SAMBA_GLOBAL + """smb ports = {port}
map to guest = Bad User
server min protocol = {minproto}
[pub]
path = {d}
guest ok = yes
"""

IMPACKET_SMB = """import sys
from impacket.smbconnection import SMBConnection
from impacket import smb, smb3structs
d = {"smb1": smb.SMB_DIALECT, "smb2": smb3structs.SMB2_DIALECT_002,
     "smb3": smb3structs.SMB2_DIALECT_30}[sys.argv[2]]
try:
    c = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=int(sys.argv[1]), timeout=5,
                      preferredDialect=d)
    c.login("", "")
    c.listShares()
    c.close()
except Exception:
    pass
"""


def stop_helpers(conf):
    """Ends the helpers smbd started for this run (samba-dcerpcd outlives
    smbd in a session of its own): only processes whose command line names
    this run's own temporary configuration file, by their pid."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if conf.encode() in cmd:
            try:
                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                pass


def smb_clients():
    runs = [("tcp/smb/impacket-smb1-only", "smb1", "NT1"),
            ("tcp/smb/impacket-smb2-direct", "smb2", "SMB2_02"),
            ("tcp/smb/impacket-smb3-direct", "smb3", "SMB2_02")]
    if not any(want(n) for n, _, _ in runs):
        return
    port = 47790
    for i, (name, dialect, minproto) in enumerate(runs):
        if not want(name):
            continue
        d = tempfile.mkdtemp(prefix="pk-v-smb-")
        conf = os.path.join(d, "smb.conf")
        with open(conf, "w") as f:
            f.write(SMB_CONF.format(port=port, d=d, minproto=minproto))
        p = spawn(["smbd", "--foreground", "--no-process-group", "--configfile", conf])
        try:
            wait_port(port)
            c, s = relay_flow(port + 1, port, py(IMPACKET_SMB, port + 1, dialect), timeout=10)
        finally:
            stop(p)
            stop_helpers(conf)
            shutil.rmtree(d, ignore_errors=True)
        write_flow(name, c, s)


DCERPCD_CONF = SAMBA_GLOBAL + """rpc start on demand helpers = no
"""


# rpcdump.py's own calls: its -port takes only 135/139/443/445/593.
RPCDUMP = """import sys
from impacket.dcerpc.v5 import epm, transport
t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[%s]" % sys.argv[1])
dce = t.get_dce_rpc()
try:
    dce.connect()
    dce.bind(epm.MSRPC_UUID_PORTMAP)
    epm.hept_lookup(None, dce=dce)
except Exception:
    pass
"""


def dcerpc():
    """impacket's rpcdump.py (ept_lookup over ncacn_ip_tcp) against Samba's
    epmapper (samba-dcerpcd 4.17 run standalone: it owns 127.0.0.1:135)."""
    name = "tcp/dcerpc/rpcdump-samba"
    if not want(name):
        return
    d = tempfile.mkdtemp(prefix="pk-v-dcerpcd-")
    conf = os.path.join(d, "smb.conf")
    with open(conf, "w") as f:
        f.write(DCERPCD_CONF.format(d=d))
    p = spawn(["/usr/libexec/samba/samba-dcerpcd", "--libexec-rpcds", "-F",
               "--configfile", conf])
    try:
        wait_port(135)
        c, s = relay_flow(47800, 135, py(RPCDUMP, 47800), timeout=10)
    finally:
        stop(p)
        stop_helpers(conf)
        shutil.rmtree(d, ignore_errors=True)
    write_flow(name, c, s)


# --- other servers: TLS, HTTP and SSH answers -------------------------------

NODE_HTTPS_SERVER = """const fs = require('fs');
require('https').createServer({key: fs.readFileSync(process.argv[2]),
  cert: fs.readFileSync(process.argv[3])}, (q, r) => r.end('ok\\n'))
  .listen(+process.argv[1], '127.0.0.1');"""

NODE_HTTP_SERVER = """require('http').createServer((q, r) => r.end('ok\\n'))
  .listen(+process.argv[1], '127.0.0.1');"""

ASYNCSSH_SERVER = """import sys, asyncio, asyncssh
async def main():
    key = asyncssh.generate_private_key("ssh-ed25519")
    await asyncssh.listen("127.0.0.1", int(sys.argv[1]), server_host_keys=[key])
    await asyncio.sleep(3600)
asyncio.run(main())
"""


def servers():
    """Servers other than the ones first recorded, each relayed to a client
    already in the fixtures: what the detector sees of the server's side
    (a flow whose client side was missed is named from it)."""
    port = 47810
    d = tempfile.mkdtemp(prefix="pk-v-servers-")
    key, crt = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                    "-subj", "/CN=fixture.test", "-days", "30"], check=True, capture_output=True)
    curl_tls = ["curl", "-s", "-k", "-m", "3", "--resolve", "fixture.test:{port}:127.0.0.1",
                "https://fixture.test:{port}/"]
    curl_http = ["curl", "-s", "-m", "3", "http://127.0.0.1:{port}/fixture"]
    runs = [
        ("tcp/tls/gnutls-serv-curl", ["gnutls-serv", "--http", "-p", str(port),
                                      "--x509keyfile", key, "--x509certfile", crt], curl_tls),
        ("tcp/tls/openssl-s_server-curl", ["openssl", "s_server", "-accept",
                                           f"127.0.0.1:{port}", "-key", key, "-cert", crt,
                                           "-www"], curl_tls),
        ("tcp/tls/node-https-server-curl", node(NODE_HTTPS_SERVER) + [str(port), key, crt],
         curl_tls),
        ("tcp/http/node-server-curl", node(NODE_HTTP_SERVER) + [str(port)], curl_http),
        ("tcp/http/python-http-server-curl", [PY, "-m", "http.server", "-b", "127.0.0.1",
                                              "-d", d, str(port)], curl_http),
        ("tcp/ssh/asyncssh-server-openssh", py(ASYNCSSH_SERVER, port),
         ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
          "-o", "BatchMode=yes", "-o", "ConnectTimeout=4", "-p", "{port}",
          "fixture@127.0.0.1", "true"]),
    ]
    try:
        for name, server, client in runs:
            if not want(name):
                continue
            p = spawn(server)
            try:
                wait_port(port)
                c, s = relay_flow(port + 1, port, fill(client, port + 1), timeout=10)
            finally:
                stop(p)
            write_flow(name, c, s)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --- more clients of other detectors (a listener records what they send) ----

MONGO_NODE = """const { MongoClient } = require('mongodb');
new MongoClient('mongodb://127.0.0.1:' + process.argv[1] + '/?directConnection=true',
  {serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000}).connect()
  .catch(() => {}).finally(() => process.exit(0));
setTimeout(() => process.exit(0), 4000);"""

PYSOCKS = """import sys, socks
s = socks.socksocket()
s.set_proxy(socks.SOCKS5, "127.0.0.1", int(sys.argv[1]), username=sys.argv[2] or None,
            password=sys.argv[2] or None)
s.settimeout(2)
try:
    s.connect(("www.fixture.test", 80))
except Exception:
    pass
"""


def other_clients():
    port = 47830
    runs = [
        ("tcp/tds/impacket-mssqlclient", [shutil.which("mssqlclient.py") or "mssqlclient.py",
                                          "-port", str(port), "fixture:wrong@127.0.0.1"]),
        ("tcp/rdp/impacket-rdp_check", [shutil.which("rdp_check.py") or "rdp_check.py",
                                        "fixture:wrong@127.0.0.1"]),
        ("tcp/mongodb/node-mongodb", node(MONGO_NODE) + [str(port)]),
        ("tcp/socks5/pysocks", py(PYSOCKS, port, "")),
        ("tcp/socks5/pysocks-userpass", py(PYSOCKS, port, "fixture")),
    ]
    runs.append(("tcp/krb5/impacket-getTGT", [shutil.which("getTGT.py") or "getTGT.py",
                                              "-dc-ip", "127.0.0.1", "FIXTURE.TEST/fixture:wrong"]))
    for name, cmd in runs:
        if not want(name):
            continue
        # rdp_check.py always connects to 3389, impacket's Kerberos to 88.
        p = 3389 if "rdp_check" in name else 88 if "getTGT" in name else port
        write(f"{name}.client.bin", first_client_bytes(p, cmd, timeout=10))


PY_SYSLOG_TCP = """import logging, logging.handlers, socket, sys
h = logging.handlers.SysLogHandler(("127.0.0.1", int(sys.argv[1])), socktype=socket.SOCK_STREAM)
if sys.argv[2] == "rfc5424":
    h.ident = "fixture-app: "
log = logging.getLogger("fixture")
log.addHandler(h)
log.warning("disk usage at %d%%", 91)
h.close()
"""

NODE_DNS = """const r = new (require('dns').promises.Resolver)({timeout: 1000, tries: 1});
r.setServers(['127.0.0.1:' + process.argv[1]]);
r.resolve4('fixture.test').catch(() => {}).finally(() => process.exit(0));"""

NODE_H2 = """const c = require('http2').connect('http://127.0.0.1:' + process.argv[1]);
c.on('error', () => {});
c.request({':path': '/fixture'}).on('error', () => {}).end();
setTimeout(() => process.exit(0), 2000);"""


NODE_TDS = """const { Connection } = require('tedious');
const c = new Connection({server: '127.0.0.1', authentication: {type: 'default',
  options: {userName: 'fixture', password: 'x'}}, options: {port: +process.argv[1],
  encrypt: 'strict', trustServerCertificate: true, connectTimeout: 4000}});
c.on('connect', () => process.exit(0));
c.connect();
setTimeout(() => process.exit(0), 5000);"""


def more_clients():
    port = 47840
    record_clients(port, [
        ("tcp/syslog/python-logging", py(PY_SYSLOG_TCP, port, "plain")),
        ("tcp/tds/tedious-strict", node(NODE_TDS) + [str(port)]),
        ("tcp/syslog/python-logging-ident", py(PY_SYSLOG_TCP, port, "rfc5424")),
        ("tcp/http2/node-http2", node(NODE_H2) + [str(port)]),
        ("udp/dns/node-c-ares", node(NODE_DNS) + [str(port)]),
    ], timeout=10)


SLIXMPP = """import sys, asyncio, slixmpp
async def main():
    c = slixmpp.ClientXMPP("fixture@xmpp.fixture.test", "wrong")
    c.enable_plaintext = True
    c.enable_direct_tls = False
    c.enable_starttls = False
    c.connect(host="127.0.0.1", port=int(sys.argv[1]))
    await asyncio.sleep(2)
try:
    asyncio.run(main())
except Exception:
    pass
"""


def xmpp():
    name = "tcp/xmpp/slixmpp"
    if want(name):
        write(f"{name}.client.bin", first_client_bytes(47850, py(SLIXMPP, 47850), timeout=10))


PYMODBUSTCP = """import sys
from pyModbusTCP.client import ModbusClient
c = ModbusClient(host="127.0.0.1", port=int(sys.argv[1]), unit_id=17, timeout=1.5)
if sys.argv[2] == "read":
    c.read_holding_registers(100, 12)
else:
    c.write_multiple_coils(20, [True, False, True, True, False, False, True, True, True, False])
c.close()
"""


def modbus():
    for name, op in [("tcp/modbus/pymodbustcp-read", "read"),
                     ("tcp/modbus/pymodbustcp-write-coils", "write")]:
        if want(name):
            write(f"{name}.client.bin",
                  first_client_bytes(47860, py(PYMODBUSTCP, 47860, op), timeout=10))


AIOSMTPD = """import sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
time.sleep(3600)
"""

SMTPLIB = """import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.fixture.test", timeout=3)
s.ehlo()
s.quit()
"""


def smtp():
    name = "tcp/smtp/aiosmtpd-smtplib"
    if not want(name):
        return
    port = 47870
    p = spawn(py(AIOSMTPD, port))
    try:
        wait_port(port)
        c, s = relay_flow(port + 1, port, py(SMTPLIB, port + 1), timeout=10)
    finally:
        stop(p)
    write_flow(name, c, s)


def main():
    for f in [http, tls, ssh, mysql, pgsql, redis, mqtt, udp_clients, ldap, smb_clients,
              dcerpc, servers, other_clients, more_clients, xmpp,
              modbus, smtp]:
        f()


if __name__ == "__main__":
    main()
