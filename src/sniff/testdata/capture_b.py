#!/usr/bin/env python3
"""Regenerates the fixtures of the QUIC, DTLS, NTP, SNMP, syslog, SIP, STUN,
OpenVPN, WireGuard, IKE, DHCP and BitTorrent detectors from real programs.

Each fixture is the first bytes one real client or server sent on loopback.
A `.client.bin` is what the client sent to a listener written here; a
`.server.bin` is what a real server answered to a real client's message
(replayed from the matching `.client.bin`, or sent by the client program).
Run as root on Debian 12:

    apt-get install gnutls-bin snmp snmpd sip-tester sipsak ike-scan openvpn \
        wireguard-tools wireguard-go dhcping python3-libtorrent ntpsec-ntpdate \
        stun-client coturn chrony
    pip install aioquic
    python3 src/sniff/testdata/capture_b.py [name-filter]

Programs (versions as on Debian 12 when recorded):
- udp/quic: aioquic 1.7.2 (PyPI) client Initials for QUIC v1 and v2, and
  the aioquic server's answer to the v1 one.
- udp/dtls: OpenSSL 3.0 `openssl s_client -dtls1_2` / `-dtls1`, GnuTLS
  3.7.9 `gnutls-cli --udp`; `openssl s_server -dtls1_2` answers.
- udp/ntp: ntpsec 1.2.2 `ntpdig` (ntpsec-ntpdate), answered by chrony 4.3.
- udp/snmp: net-snmp 5.9.3 `snmpget` v1, v2c and v3 (engine discovery);
  snmpd 5.9.3 answers the v2c get.
- udp/syslog, tcp/syslog: util-linux 2.38 `logger` (RFC 3164 and 5424, UDP,
  TCP with octet counting and with LF framing) and Python's
  `logging.handlers.SysLogHandler` (bare `<PRI>msg\\0`).
- udp/sip, tcp/sip: SIPp 3.6.1 `-sn uac` INVITE over UDP and TCP, sipsak
  0.9.8.1 OPTIONS; SIPp `-sn uas` answers the UDP INVITE.
- udp/stun, tcp/stun: coturn 4.6.1 `turnutils_stunclient` (RFC 5389
  binding), `turnutils_uclient -t` (TURN Allocate over TCP), stun-client
  0.97 (classic RFC 3489); the coturn `turnserver` answers the binding.
- udp/openvpn, tcp/openvpn: OpenVPN 2.6.14 client resets without control
  channel protection, with --tls-auth, --tls-crypt and --tls-crypt-v2 (V3),
  over UDP and TCP; an OpenVPN `--tls-server` answers.
- udp/wireguard: wireguard-go 0.0.20220316 handshake initiation and the
  other peer's response, in a network namespace made here.
- udp/ike: ike-scan 1.9.5 IKEv1 main mode, IKEv2 IKE_SA_INIT, and IKEv1
  with the non-ESP marker (--nat-t).
- udp/dhcp: dhcping 1.2 DHCPREQUEST.
- tcp/bittorrent, udp/bittorrent-dht: libtorrent-rasterbar 2.0.8 (Debian's
  python3-libtorrent): a peer handshake, a DHT query to a bootstrap node,
  and its DHT node's answer to a ping.
"""
import os, shutil, signal, socket, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix="capture_b.")
SYS_PY = "/usr/bin/python3"  # Debian's, for python3-libtorrent


def write(name, data):
    if not data:
        sys.exit(f"no bytes captured for {name}")
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


def read(name):
    with open(os.path.join(HERE, name), "rb") as f:
        return f.read()


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def spawn(cmd, stdin=subprocess.DEVNULL, **kw):
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=stdin, **kw)


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(3)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def first_udp(port, cmd, keep=None, timeout=6):
    """The first datagram `cmd` sends to 127.0.0.1:port (or one `keep` likes)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(timeout)
    p = spawn(cmd)
    try:
        while True:
            data, _ = s.recvfrom(65535)
            if keep is None or keep(data):
                return data
    finally:
        stop(p)
        s.close()


def first_tcp(port, cmd, want=1, wait=1.5):
    """What `cmd` sends first on a TCP connection to 127.0.0.1:port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)
    s.settimeout(8)
    p = spawn(cmd)
    try:
        conn, _ = s.accept()
        conn.settimeout(wait)
        data = b""
        try:
            while len(data) < 4096:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
                if len(data) >= want:
                    break
        except socket.timeout:
            pass
        conn.close()
        return data
    finally:
        stop(p)
        s.close()


def ask_udp(port, payload, tries=30):
    """A real server's first answer to `payload` sent to 127.0.0.1:port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    try:
        for _ in range(tries):
            s.sendto(payload, ("127.0.0.1", port))
            try:
                return s.recvfrom(65535)[0]
            except (socket.timeout, ConnectionRefusedError):
                time.sleep(0.2)
        sys.exit(f"no answer on udp/{port}")
    finally:
        s.close()


def ask_tcp(port, payload, tries=30):
    for _ in range(tries):
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=3)
            break
        except OSError:
            time.sleep(0.2)
    else:
        sys.exit(f"no listener on tcp/{port}")
    c.sendall(payload)
    data = c.recv(65535)
    c.close()
    return data


def quic():
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.connection import QuicConnection
    from aioquic.quic.packet import QuicProtocolVersion

    def hello(version):
        cfg = QuicConfiguration(is_client=True, alpn_protocols=["h3"],
                                server_name="fixture.example",
                                supported_versions=[version])
        conn = QuicConnection(configuration=cfg)
        conn.connect(("127.0.0.1", 4433), now=time.time())
        return conn.datagrams_to_send(now=time.time())[0][0]

    v1 = hello(QuicProtocolVersion.VERSION_1)
    write("udp/quic/aioquic-v1.client.bin", v1)
    write("udp/quic/aioquic-v2.client.bin", hello(QuicProtocolVersion.VERSION_2))
    key, cert = os.path.join(TMP, "q.key"), os.path.join(TMP, "q.crt")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=fixture.example", "-days", "30"])
    cfg = QuicConfiguration(is_client=False, alpn_protocols=["h3"])
    cfg.load_cert_chain(cert, key)
    from aioquic.quic.packet import pull_quic_header
    from aioquic.buffer import Buffer
    hdr = pull_quic_header(Buffer(data=v1), host_cid_length=8)
    srv = QuicConnection(configuration=cfg, original_destination_connection_id=hdr.destination_cid)
    srv.receive_datagram(v1, ("127.0.0.1", 40000), now=time.time())
    write("udp/quic/aioquic-v1.server.bin", srv.datagrams_to_send(now=time.time())[0][0])



def cert(name="srv"):
    key, crt = os.path.join(TMP, name + ".key"), os.path.join(TMP, name + ".crt")
    if not os.path.exists(crt):
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
             "-out", crt, "-subj", "/CN=fixture.example", "-days", "30"])
    return key, crt


def dtls():
    write("udp/dtls/openssl-1.2.client.bin", first_udp(47111, [
        "openssl", "s_client", "-dtls1_2", "-connect", "127.0.0.1:47111",
        "-servername", "fixture.example"]))
    write("udp/dtls/openssl-1.0.client.bin", first_udp(47112, [
        "openssl", "s_client", "-dtls1", "-cipher", "DEFAULT:@SECLEVEL=0",
        "-connect", "127.0.0.1:47112"]))
    write("udp/dtls/gnutls.client.bin", first_udp(47113, [
        "gnutls-cli", "--udp", "--insecure", "-p", "47113", "--sni-hostname",
        "fixture.example", "--alpn", "webrtc", "127.0.0.1"]))
    key, crt = cert()
    # s_server quits when its stdin ends: keep a pipe open.
    p = spawn(["openssl", "s_server", "-dtls1_2", "-accept", "127.0.0.1:47114", "-cert", crt,
               "-key", key], stdin=subprocess.PIPE)
    try:
        time.sleep(0.5)
        write("udp/dtls/openssl-1.2.server.bin",
              ask_udp(47114, read("udp/dtls/openssl-1.2.client.bin")))
    finally:
        stop(p)



def ntp():
    # ntpdig always talks to port 123.
    write("udp/ntp/ntpdig.client.bin", first_udp(123, ["ntpdig", "-t", "1", "127.0.0.1"]))
    conf = os.path.join(TMP, "chrony.conf")
    with open(conf, "w") as f:
        f.write("port 47121\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 8\n"
                f"cmdport 0\npidfile {TMP}/chronyd.pid\ndriftfile {TMP}/drift\n")
    p = spawn(["chronyd", "-d", "-x", "-f", conf])
    try:
        time.sleep(1)
        write("udp/ntp/ntpdig.server.bin", ask_udp(47121, read("udp/ntp/ntpdig.client.bin")))
    finally:
        stop(p)


def snmp():
    get = ["snmpget", "-r", "0", "-t", "1"]
    write("udp/snmp/netsnmp-v1.client.bin", first_udp(47131, get + [
        "-v1", "-c", "public", "127.0.0.1:47131", "1.3.6.1.2.1.1.1.0"]))
    write("udp/snmp/netsnmp-v2c.client.bin", first_udp(47132, get + [
        "-v2c", "-c", "public", "127.0.0.1:47132", "1.3.6.1.2.1.1.5.0"]))
    write("udp/snmp/netsnmp-v3.client.bin", first_udp(47133, get + [
        "-v3", "-u", "fixture", "-l", "authPriv", "-a", "SHA", "-A", "fixturepass",
        "-x", "AES", "-X", "fixturepass", "127.0.0.1:47133", "1.3.6.1.2.1.1.1.0"]))
    conf = os.path.join(TMP, "snmpd.conf")
    with open(conf, "w") as f:
        f.write("rocommunity public 127.0.0.1\nsysName fixture\n")
    p = spawn(["snmpd", "-f", "-Lo", "-C", "-c", conf, "-p", os.path.join(TMP, "snmpd.pid"),
               "udp:127.0.0.1:47134"])
    try:
        time.sleep(1)
        write("udp/snmp/netsnmp-v2c.server.bin",
              ask_udp(47134, read("udp/snmp/netsnmp-v2c.client.bin")))
    finally:
        stop(p)


PY_SYSLOG = """
import logging, logging.handlers, sys
h = logging.handlers.SysLogHandler(address=("127.0.0.1", int(sys.argv[1])))
log = logging.getLogger("fixture")
log.addHandler(h)
log.warning("fixture: disk almost full")
"""


def syslog():
    logger = ["logger", "--server", "127.0.0.1", "-t", "fixture", "-p", "user.notice"]
    write("udp/syslog/logger-3164.client.bin", first_udp(47141, logger + [
        "--udp", "--port", "47141", "--rfc3164", "fixture message over udp"]))
    write("udp/syslog/logger-5424.client.bin", first_udp(47142, logger + [
        "--udp", "--port", "47142", "--rfc5424", "fixture message over udp"]))
    write("udp/syslog/python.client.bin", first_udp(47143, [sys.executable, "-c", PY_SYSLOG,
                                                            "47143"]))
    write("tcp/syslog/logger-5424-octet.client.bin", first_tcp(47144, logger + [
        "--tcp", "--port", "47144", "--rfc5424", "--octet-count", "fixture message over tcp"]))
    write("tcp/syslog/logger-3164.client.bin", first_tcp(47145, logger + [
        "--tcp", "--port", "47145", "--rfc3164", "fixture message over tcp"]))



def sip():
    write("udp/sip/sipp-invite.client.bin", first_udp(47151, [
        "sipp", "-sn", "uac", "-m", "1", "-s", "fixture", "-timeout", "3s",
        "-i", "127.0.0.1", "-p", "47150", "127.0.0.1:47151"]))
    write("tcp/sip/sipp-invite.client.bin", first_tcp(47152, [
        "sipp", "-sn", "uac", "-m", "1", "-s", "fixture", "-timeout", "3s", "-t", "t1",
        "-i", "127.0.0.1", "-p", "47153", "127.0.0.1:47152"], want=4096))
    write("udp/sip/sipsak-options.client.bin", first_udp(47154, [
        "sipsak", "-s", "sip:fixture@127.0.0.1:47154"]))
    p = spawn(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", "47155"])
    try:
        time.sleep(1)
        write("udp/sip/sipp-invite.server.bin",
              ask_udp(47155, read("udp/sip/sipp-invite.client.bin")))
    finally:
        stop(p)


def stun():
    write("udp/stun/coturn-binding.client.bin", first_udp(47161, [
        "turnutils_stunclient", "-p", "47161", "127.0.0.1"]))
    write("udp/stun/stun-client-classic.client.bin", first_udp(3478, [
        "stun", "127.0.0.1", "1"]))
    p = spawn(["turnserver", "-n", "--listening-ip=127.0.0.1", "--listening-port=47162",
               "--no-tls", "--no-dtls", "--no-cli", "--log-file=stdout", "--user=fixture:pass",
               "--realm=fixture.example", "--lt-cred-mech", "--allow-loopback-peers"])
    try:
        time.sleep(1)
        write("udp/stun/coturn-binding.server.bin",
              ask_udp(47162, read("udp/stun/coturn-binding.client.bin")))
    finally:
        stop(p)
    write("tcp/stun/coturn-allocate.client.bin", first_tcp(47163, [
        "turnutils_uclient", "-t", "-y", "-n", "1", "-p", "47163", "-u", "fixture",
        "-w", "pass", "127.0.0.1"]))


def openvpn():
    d = TMP
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
         "-out", ca, "-subj", "/CN=fixture-ca", "-days", "30"])
    for who in ("cli", "srv"):
        k, csr, c = (os.path.join(d, f"{who}.{x}") for x in ("key", "csr", "crt"))
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", k, "-out", csr,
             "-subj", f"/CN={who}"])
        run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
             "-CAcreateserial", "-out", c, "-days", "30"])
    ta, v2s, v2c = (os.path.join(d, x) for x in ("ta.key", "v2srv.key", "v2cli.key"))
    run(["openvpn", "--genkey", "secret", ta])
    run(["openvpn", "--genkey", "tls-crypt-v2-server", v2s])
    run(["openvpn", "--genkey", "tls-crypt-v2-client", v2c, "--tls-crypt-v2", v2s])
    modes = {"plain": ([], []), "tls-auth": (["--tls-auth", ta, "1"], ["--tls-auth", ta, "0"]),
             "tls-crypt": (["--tls-crypt", ta], ["--tls-crypt", ta]),
             "tls-crypt-v2": (["--tls-crypt-v2", v2c], ["--tls-crypt-v2", v2s])}
    port = 47170
    for mode, (cli_opts, srv_opts) in modes.items():
        for proto in ("udp", "tcp"):
            port += 2
            client = ["openvpn", "--client", "--dev", "null", "--nobind", "--ca", ca,
                      "--cert", os.path.join(d, "cli.crt"), "--key", os.path.join(d, "cli.key"),
                      "--verb", "0", "--remote", "127.0.0.1", str(port)] + cli_opts
            name = f"{proto}/openvpn/{mode}"
            if proto == "udp":
                write(f"{name}.client.bin", first_udp(port, client + ["--proto", "udp"]))
            else:
                write(f"{name}.client.bin", first_tcp(port, client + ["--proto", "tcp-client"]))
            server = ["openvpn", "--tls-server", "--dev", "null", "--dh", "none", "--ca", ca,
                      "--cert", os.path.join(d, "srv.crt"), "--key", os.path.join(d, "srv.key"),
                      "--verb", "0", "--local", "127.0.0.1", "--lport", str(port + 1),
                      "--proto", "udp" if proto == "udp" else "tcp-server"] + srv_opts
            p = spawn(server)
            try:
                time.sleep(1)
                ask = ask_udp if proto == "udp" else ask_tcp
                write(f"{name}.server.bin", ask(port + 1, read(f"{name}.client.bin")))
            finally:
                stop(p)



WG_RELAY = """
import socket, sys
relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
relay.bind(("127.0.0.1", 47180))
relay.settimeout(8)
# Traffic for the peer's tunnel address makes wgA start a handshake.
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("10.201.0.2", 9))
init, _ = relay.recvfrom(2048)
relay.sendto(init, ("127.0.0.1", 47182))
resp, _ = relay.recvfrom(2048)
open(sys.argv[1], "wb").write(init)
open(sys.argv[2], "wb").write(resp)
"""


def wireguard():
    ns = "pcb-capture-wg"
    nsx = ["ip", "netns", "exec", ns]
    env = dict(os.environ, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD="1")
    run(["ip", "netns", "add", ns])
    procs = []
    try:
        run(nsx + ["ip", "link", "set", "lo", "up"])
        keys = {}
        for who in ("A", "B"):
            priv = run(["wg", "genkey"]).stdout.strip()
            pub = run(["wg", "pubkey"], input=priv).stdout.strip()
            path = os.path.join(TMP, f"wg{who}.key")
            with open(path, "wb") as f:
                f.write(priv + b"\n")
            keys[who] = (path, pub.decode())
            procs.append(spawn(nsx + ["wireguard-go", "-f", f"wg{who}"], env=env))
        time.sleep(1)
        run(nsx + ["wg", "set", "wgA", "listen-port", "47181", "private-key", keys["A"][0],
                   "peer", keys["B"][1], "endpoint", "127.0.0.1:47180",
                   "allowed-ips", "10.201.0.2/32"])
        run(nsx + ["wg", "set", "wgB", "listen-port", "47182", "private-key", keys["B"][0],
                   "peer", keys["A"][1], "allowed-ips", "10.201.0.1/32"])
        # Only wgA gets an address: 10.201.0.2 must route into wgA's tunnel.
        run(nsx + ["ip", "addr", "add", "10.201.0.1/32", "dev", "wgA"])
        for who in ("A", "B"):
            run(nsx + ["ip", "link", "set", f"wg{who}", "up"])
        run(nsx + ["ip", "route", "replace", "10.201.0.2/32", "dev", "wgA"])
        init = os.path.join(HERE, "udp/wireguard/wireguard-go.client.bin")
        resp = os.path.join(HERE, "udp/wireguard/wireguard-go.server.bin")
        os.makedirs(os.path.dirname(init), exist_ok=True)
        run(nsx + [sys.executable, "-c", WG_RELAY, init, resp])
        for f in (init, resp):
            print(f"{os.path.relpath(f, HERE)}: {os.path.getsize(f)} bytes")
    finally:
        for p in procs:
            stop(p)
        subprocess.run(["ip", "netns", "del", ns])



def ike():
    scan = ["ike-scan", "--sport=0", "--retry=1"]
    write("udp/ike/ike-scan-v1.client.bin", first_udp(47191, scan + [
        "--dport=47191", "127.0.0.1"]))
    write("udp/ike/ike-scan-v2.client.bin", first_udp(47192, scan + [
        "--ikev2", "--dport=47192", "127.0.0.1"]))
    write("udp/ike/ike-scan-aggressive-natt.client.bin", first_udp(47193, scan + [
        "--nat-t", "--aggressive", "--id=fixture", "--dport=47193", "127.0.0.1"]))


def dhcp():
    # dhcping always sends from port 68 to port 67.
    write("udp/dhcp/dhcping.client.bin", first_udp(67, [
        "dhcping", "-c", "127.0.0.1", "-s", "127.0.0.1", "-h", "02:00:00:fe:ed:01",
        "-t", "2"]))


LT_PEER = """
import libtorrent as lt, os, sys, time
port, workdir = int(sys.argv[1]), sys.argv[2]
payload = os.path.join(workdir, "fixture.bin")
open(payload, "wb").write(b"fixture" * 4096)
fs = lt.file_storage()
lt.add_files(fs, payload)
t = lt.create_torrent(fs)
lt.set_piece_hashes(t, workdir)
info = lt.torrent_info(t.generate())
ses = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False,
                  "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
                  "enable_outgoing_utp": False, "enable_incoming_utp": False,
                  "out_enc_policy": lt.enc_policy.disabled,
                  "in_enc_policy": lt.enc_policy.disabled})
h = ses.add_torrent({"ti": info, "save_path": os.path.join(workdir, "dl")})
for _ in range(50):
    if not h.status().paused:
        break
    time.sleep(0.1)
h.connect_peer(("127.0.0.1", port))
time.sleep(6)
"""

LT_DHT = """
import libtorrent as lt, sys, time
boot, dht_port = sys.argv[1], sys.argv[2]
ses = lt.session({"listen_interfaces": "127.0.0.1:" + dht_port, "enable_dht": True,
                  "dht_bootstrap_nodes": boot, "enable_lsd": False,
                  "enable_upnp": False, "enable_natpmp": False})
time.sleep(6)
"""


def bittorrent():
    write("tcp/bittorrent/libtorrent.client.bin",
          first_tcp(47201, [SYS_PY, "-c", LT_PEER, "47201", TMP], want=68))
    write("udp/bittorrent-dht/libtorrent-query.client.bin",
          first_udp(47202, [SYS_PY, "-c", LT_DHT, "127.0.0.1:47202", "47203"]))
    p = spawn([SYS_PY, "-c", LT_DHT, "127.0.0.1:47204", "47205"])
    try:
        time.sleep(2)
        ping = b"d1:ad2:id20:fixture-node-id-0001e1:q4:ping1:t2:aa1:y1:qe"
        write("udp/bittorrent-dht/libtorrent-ping.server.bin", ask_udp(47205, ping))
    finally:
        stop(p)


if __name__ == "__main__":
    only = sys.argv[1:]
    for f in [quic, dtls, ntp, snmp, syslog, sip, stun, openvpn, wireguard, ike, dhcp, bittorrent]:
        if not only or f.__name__ in only:
            f()
    shutil.rmtree(TMP, ignore_errors=True)
