#!/usr/bin/env python3
"""Regenerates the fixtures added for ONC RPC / NFS, gQUIC and QUIC drafts,
and for more clients of the high-traffic protocols (family K).

Every flow is recorded from a real program; nothing is built by hand. A
`.client.bin` alone is what the client sent to a listener written here; a
`.client.bin` + `.server.bin` pair was recorded by a relay between a real
client and a real server (first bytes of each direction). Run as root on
Debian 12:

  apt-get install rpcbind nfs-ganesha nfs-ganesha-vfs libnfs-utils chromium \\
      gnutls-bin wget busybox curl dropbear-bin python3-paramiko \\
      knot-dnsutils ldnsutils netcat-openbsd socat dovecot-imapd mosquitto \\
      mosquitto-clients tcpdump
  python3 src/sniff/testdata/capture_k.py [name-filter]

The RPC flows run in a network namespace made (and removed) here, because
rpcbind must own port 111; everything else runs on 127.0.0.1.

Programs and versions behind each fixture (Debian 12):
  tcp/nfs/libnfs-v3          nfs-ls (libnfs 4.0) NFSv3 <-> NFS-Ganesha 4.3 (VFS export)
  tcp/nfs/libnfs-v4          nfs-ls (libnfs 4.0) NFSv4 <-> NFS-Ganesha 4.3
  udp/nfs/rpcinfo            rpcinfo (rpcbind 1.2.6) -u NULL call to NFS v3 <-> NFS-Ganesha 4.3
                             (recorded with tcpdump on the namespace's lo: rpcinfo -u
                             finds the port through rpcbind, so no relay can sit between)
  tcp/onc-rpc/libnfs-mountd  nfs-ls (libnfs 4.0) MOUNT v3 <-> NFS-Ganesha 4.3 mountd
  tcp/onc-rpc/rpcinfo        rpcinfo -p: portmapper DUMP over TCP <-> rpcbind 1.2.6 (tcpdump)
  udp/onc-rpc/rpcinfo        rpcinfo -u portmapper: its GETADDR/NULL call <-> rpcbind 1.2.6
                             (tcpdump, as above)
  udp/quic/chromium-q046     Chromium 156 --quic-version=Q046 (gQUIC, cleartext CHLO
                             with SNI), to a hostname mapped to 127.0.0.1
  udp/quic/chromium-h3-29    Chromium 156 --quic-version=h3-29 (draft-29 Initial)
  tcp/tls/openssl-tls1_2     openssl s_client 3.0 -tls1_2 -servername fixture.test
  tcp/tls/openssl-tls1       openssl s_client 3.0 -tls1 -cipher DEFAULT@SECLEVEL=0
  tcp/tls/gnutls-cli         gnutls-cli 3.7.9 --sni-hostname fixture.test
  tcp/tls/python-ssl         CPython 3.11 ssl, server_hostname fixture.test
  tcp/tls/wget               wget 1.21.3 https:// to an address (no SNI)
  tcp/http/wget, busybox-wget, python-urllib   wget 1.21.3, BusyBox 1.35 wget, CPython 3.11
  tcp/http/nc-http10         an HTTP/1.0 request without Host typed through nc (netcat-openbsd)
  tcp/http/curl-options-star, curl-propfind, curl-patch   curl 7.88 -X OPTIONS
                             --request-target '*', -X PROPFIND, -X PATCH with a body
  tcp/http/curl-proxy-absolute, wget-proxy-absolute   curl -x / wget with http_proxy: the
                             absolute-form request a client sends to its HTTP proxy
  tcp/ssh/dropbear           dbclient <-> dropbear 2022.83
  tcp/ssh/paramiko           paramiko 2.12 (python3-paramiko) <-> dropbear 2022.83
  tcp/dns/kdig, drill        kdig 3.2.6 +tcp (knot-dnsutils), drill 1.8.3 -t (ldnsutils)
  tcp/imap/dovecot-preauth   CPython imaplib <-> Dovecot 2.3.19 imap run pre-authenticated
                             (`* PREAUTH` greeting) behind socat
  tcp/mqtt/mosquitto-*       mosquitto_sub / mosquitto_pub 2.0.11 <-> mosquitto 2.0.11, the
                             recorded streams cut at packet boundaries after the CONNECT:
                             connack-first (CONNECT lost, CONNACK then SUBSCRIBE),
                             subscribe-midstream (SUBSCRIBE / SUBACK), ping-midstream
                             (PINGREQ / PINGRESP after the 5 s keep-alive),
                             publish-midstream (PUBLISH QoS 1 / PUBACK)
"""
import os, shutil, signal, socket, struct, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ONLY = [a for a in sys.argv[1:] if not a.startswith("--")]
NETNS = "pk-fixture-rpc"


def want(name):
    return not ONLY or any(o in name for o in ONLY)


def write(name, data):
    if not data:
        sys.exit(f"no bytes captured for {name}")
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


def spawn(cmd, **kw):
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, start_new_session=True, **kw)


def stop(p):
    """Ends a process started here and its own session (never others)."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def run(cmd, timeout=15, stdin=None):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
    try:
        p.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def wait_port(port, timeout=20, udp=False):
    end = time.time() + timeout
    while time.time() < end:
        if udp:
            out = subprocess.run(["ss", "-lnu"], capture_output=True, text=True).stdout
            if f":{port} " in out:
                return
        else:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                pass
        time.sleep(0.2)
    sys.exit(f"nothing listens on {port}")


def first_client_bytes(port, cmd, keep=8192, settle=1.0, answer=None, timeout=15):
    """Listens on `port`, runs `cmd`, returns what its first connection sent
    before going quiet (after `answer` was sent to it, when given)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    s.settimeout(timeout)
    got = []

    def serve():
        try:
            c, _ = s.accept()
        except OSError:
            return
        if answer:
            c.sendall(answer)
        c.settimeout(settle)
        data = b""
        try:
            while len(data) < keep:
                d = c.recv(keep - len(data))
                if not d:
                    break
                data += d
        except OSError:
            pass
        c.close()
        got.append(data)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    run(cmd, timeout=timeout)
    t.join(settle + 2)
    s.close()
    return got[0] if got else b""


def relay_flow(port, target, cmd, keep=8192, settle=1.0, timeout=15):
    """Relays one connection on `port` to 127.0.0.1:`target` while `cmd`
    runs; returns the first `keep` bytes of each direction."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)
    s.settimeout(timeout)
    flow = {"client": b"", "server": b""}

    def pump(src, dst, key):
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                if len(flow[key]) < keep:
                    flow[key] += d[: keep - len(flow[key])]
                dst.sendall(d)
        except OSError:
            pass
        for x in (dst, src):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve():
        try:
            c, _ = s.accept()
        except OSError:
            return
        up = socket.create_connection(("127.0.0.1", target))
        ts = [threading.Thread(target=pump, args=a, daemon=True)
              for a in ((c, up, "client"), (up, c, "server"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    run(cmd, timeout=timeout)
    t.join(settle + 2)
    s.close()
    return flow["client"], flow["server"]


def lo_exchange(transport, port, cmd, timeout=10, keep=8192):
    """Runs `cmd` under tcpdump on lo; returns the first flow to `port` on
    127.0.0.1: for UDP its first datagram and the first answer, for TCP the
    first `keep` payload bytes of each direction of the first connection
    (loopback keeps segments in order). For clients that find their port
    through rpcbind, where no relay can sit between."""
    fd, path = tempfile.mkstemp(suffix=".pcap")
    os.close(fd)
    dump = spawn(["tcpdump", "-i", "lo", "-U", "-w", path, transport])
    try:
        time.sleep(1.5)
        run(cmd, timeout=timeout)
        time.sleep(1)
    finally:
        stop(dump)
    with open(path, "rb") as f:
        data = f.read()
    os.unlink(path)
    if struct.unpack_from("<I", data, 0)[0] != 0xa1b2c3d4 or struct.unpack_from("<I", data, 20)[0] != 1:
        sys.exit("expected a little-endian Ethernet pcap from tcpdump")
    proto = 17 if transport == "udp" else 6
    client = server = b""
    peer = None
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        pkt = data[off + 16: off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 34 or pkt[12:14] != b"\x08\x00" or pkt[23] != proto:
            continue
        ip_len = struct.unpack_from(">H", pkt, 16)[0]
        ihl = (pkt[14] & 0x0f) * 4
        seg = pkt[14 + ihl: 14 + ip_len]
        sport, dport = struct.unpack_from(">HH", seg, 0)
        if proto == 17:
            payload = seg[8:]
        else:
            payload = seg[(seg[12] >> 4) * 4:]
        if peer is None and dport == port and payload:
            peer = sport
        if peer is None:
            continue
        if (sport, dport) == (peer, port):
            if proto == 6 or not client:
                client += payload
        elif (sport, dport) == (port, peer) and client:
            if proto == 6 or not server:
                server += payload
    return client[:keep], server[:keep]


def pcap_udp(path):
    """(src address, src port, dst port, payload) of each IPv4 UDP datagram
    of an Ethernet pcap, in order."""
    with open(path, "rb") as f:
        data = f.read()
    if struct.unpack_from("<I", data, 0)[0] != 0xa1b2c3d4 or struct.unpack_from("<I", data, 20)[0] != 1:
        sys.exit("expected a little-endian Ethernet pcap from tcpdump")
    out = []
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        pkt = data[off + 16: off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 42 or pkt[12:14] != b"\x08\x00" or pkt[23] != 17:
            continue
        ip_len = struct.unpack_from(">H", pkt, 16)[0]
        ihl = (pkt[14] & 0x0f) * 4
        seg = pkt[14 + ihl: 14 + ip_len]
        sport, dport = struct.unpack_from(">HH", seg, 0)
        out.append((pkt[26:30], sport, dport, seg[8:]))
    return out


def write_flow(name, client, server):
    """Writes a flow's two fixtures, <name>.client.bin and <name>.server.bin."""
    write(f"{name}.client.bin", client)
    write(f"{name}.server.bin", server)


def client_bytes(port, cmd, udp, timeout=15):
    """What `cmd` sends first to a listener on 127.0.0.1:`port`: its first
    datagram (`udp`) or the start of its TCP stream."""
    if udp:
        return first_datagram(port, cmd, timeout=timeout)
    return first_client_bytes(port, cmd, timeout=timeout)


def record_clients(port, runs, timeout=15):
    """For each (name, command) the filter wants, writes <name>.client.bin:
    what the command sends first (a datagram for udp/ names)."""
    for name, cmd in runs:
        if want(name):
            udp = name.startswith("udp/")
            write(f"{name}.client.bin", client_bytes(port, cmd, udp, timeout=timeout))


def first_datagram(port, cmd, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(timeout)
    p = spawn(cmd)
    try:
        d, _ = s.recvfrom(65536)
    except socket.timeout:
        d = b""
    finally:
        stop(p)
        s.close()
    return d


# --- ONC RPC / NFS, inside a namespace of their own -------------------------

GANESHA_CONF = """
NFS_CORE_PARAM { Protocols = 3, 4; NFS_Port = 2049; MNT_Port = 20048;
                 NLM_Port = 32803; Rquota_Port = 875; Enable_UDP = true; }
NFSV4 { Graceless = true; }
EXPORT { Export_Id = 1; Path = %s; Pseudo = /export; Access_Type = RW;
         Squash = No_Root_Squash; Protocols = 3, 4; Transports = TCP, UDP;
         SecType = sys; FSAL { Name = VFS; } }
LOG { Default_Log_Level = WARN; }
"""


def rpc():
    if not (want("nfs") or want("onc-rpc")):
        return
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up"],
                       check=True)
        subprocess.run(["ip", "netns", "exec", NETNS, sys.executable,
                        os.path.abspath(__file__), "--in-rpc-netns", *ONLY], check=True)
    finally:
        subprocess.run(["ip", "netns", "del", NETNS])


def rpc_in_netns():
    d = tempfile.mkdtemp(prefix="pk-rpc-")
    os.makedirs(os.path.join(d, "export"))
    with open(os.path.join(d, "export", "file.txt"), "w") as f:
        f.write("fixture\n")
    # NFSv3 mounts name the export's real path, NFSv4 its pseudo path.
    export = os.path.join(d, "export")
    conf = os.path.join(d, "ganesha.conf")
    with open(conf, "w") as f:
        f.write(GANESHA_CONF % os.path.join(d, "export"))
    rpcbind = spawn(["rpcbind", "-f", "-w"])
    ganesha = None
    try:
        wait_port(111)
        ganesha = spawn(["ganesha.nfsd", "-F", "-f", conf, "-L", os.path.join(d, "log"),
                         "-p", os.path.join(d, "pid")])
        wait_port(2049)
        wait_port(20048)
        time.sleep(1)
        if want("tcp/nfs/libnfs-v3"):
            c, s = relay_flow(47500, 2049, [
                "nfs-ls", f"nfs://127.0.0.1{export}?version=3&nfsport=47500&mountport=20048"])
            write("tcp/nfs/libnfs-v3.client.bin", c)
            write("tcp/nfs/libnfs-v3.server.bin", s)
        if want("tcp/nfs/libnfs-v4"):
            c, s = relay_flow(47501, 2049, [
                "nfs-ls", "nfs://127.0.0.1/export/?version=4&nfsport=47501"])
            write("tcp/nfs/libnfs-v4.client.bin", c)
            write("tcp/nfs/libnfs-v4.server.bin", s)
        if want("udp/nfs/rpcinfo"):
            # rpcinfo asks rpcbind for the port (GETADDR), then calls NULL.
            c, s = lo_exchange("udp", 2049, ["rpcinfo", "-u", "127.0.0.1", "nfs", "3"])
            write("udp/nfs/rpcinfo.client.bin", c)
            write("udp/nfs/rpcinfo.server.bin", s)
        if want("tcp/onc-rpc/libnfs-mountd"):
            c, s = relay_flow(47503, 20048, [
                "nfs-ls", f"nfs://127.0.0.1{export}?version=3&nfsport=2049&mountport=47503"])
            write("tcp/onc-rpc/libnfs-mountd.client.bin", c)
            write("tcp/onc-rpc/libnfs-mountd.server.bin", s)
        if want("tcp/onc-rpc/rpcinfo"):
            c, s = lo_exchange("tcp", 111, ["rpcinfo", "-p", "127.0.0.1"])
            write("tcp/onc-rpc/rpcinfo.client.bin", c)
            write("tcp/onc-rpc/rpcinfo.server.bin", s)
        if want("udp/onc-rpc/rpcinfo"):
            c, s = lo_exchange("udp", 111, ["rpcinfo", "-u", "127.0.0.1", "portmapper", "2"])
            write("udp/onc-rpc/rpcinfo.client.bin", c)
            write("udp/onc-rpc/rpcinfo.server.bin", s)
    finally:
        if ganesha:
            stop(ganesha)
        stop(rpcbind)
        shutil.rmtree(d, ignore_errors=True)


# --- QUIC: gQUIC Q046 and draft-29 from Chromium ----------------------------

def quic():
    for ver, name in [("Q046", "chromium-q046"), ("h3-29", "chromium-h3-29")]:
        if not want(f"udp/quic/{name}"):
            continue
        port = 47510
        profile = tempfile.mkdtemp(prefix="pk-chromium-")
        try:
            d = first_datagram(port, [
                "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                f"--user-data-dir={profile}", "--enable-quic", f"--quic-version={ver}",
                f"--origin-to-force-quic-on=quic.fixture.test:{port}",
                "--host-resolver-rules=MAP quic.fixture.test 127.0.0.1",
                f"https://quic.fixture.test:{port}/"], timeout=20)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        write(f"udp/quic/{name}.client.bin", d)


# --- MQTT sessions seen after their CONNECT --------------------------------

def mqtt_packets(stream):
    """Splits an MQTT byte stream into whole control packets."""
    out, i = [], 0
    while i < len(stream):
        j, n, shift = i + 1, 0, 0
        while True:
            b = stream[j]
            n |= (b & 0x7f) << shift
            j += 1
            shift += 7
            if not b & 0x80:
                break
        out.append(stream[i:j + n])
        i = j + n
    return out


def mqtt():
    """mosquitto_sub / mosquitto_pub against mosquitto, relayed. The whole
    session is kept; the fixtures are the streams cut at packet boundaries
    after the CONNECT (and CONNACK), as a capture that began late, or a
    flow picked up mid-stream, sees them."""
    if not want("tcp/mqtt/mosquitto-"):
        return
    port = 47520
    p = spawn(["mosquitto", "-p", str(port)])
    try:
        wait_port(port)
        # Keep-alive 5 s, exits after 7 s: SUBSCRIBE, then one PINGREQ.
        sub_c, sub_s = relay_flow(47521, port, [
            "mosquitto_sub", "-h", "127.0.0.1", "-p", "47521", "-t", "fixture/#",
            "-k", "5", "-W", "7", "-i", "fixture-sub"], timeout=20)
        pub_c, pub_s = relay_flow(47522, port, [
            "mosquitto_pub", "-h", "127.0.0.1", "-p", "47522", "-t", "fixture/temp",
            "-q", "1", "-m", "21.5", "-i", "fixture-pub"])
    finally:
        stop(p)
    c, s = mqtt_packets(sub_c), mqtt_packets(sub_s)
    assert c[0][0] == 0x10 and s[0][0] == 0x20 and c[1][0] == 0x82 and s[1][0] == 0x90, (c, s)
    ping = [i for i, x in enumerate(c) if x == b"\xc0\x00"]
    pong = [i for i, x in enumerate(s) if x == b"\xd0\x00"]
    if not ping or not pong:
        sys.exit(f"no PINGREQ/PINGRESP in the session: {c} {s}")
    if want("tcp/mqtt/mosquitto-connack-first"):
        # The CONNECT lost: the broker's CONNACK, then the SUBSCRIBE.
        write("tcp/mqtt/mosquitto-connack-first.client.bin", b"".join(c[1:]))
        write("tcp/mqtt/mosquitto-connack-first.server.bin", b"".join(s))
    if want("tcp/mqtt/mosquitto-subscribe-midstream"):
        write("tcp/mqtt/mosquitto-subscribe-midstream.client.bin", b"".join(c[1:]))
        write("tcp/mqtt/mosquitto-subscribe-midstream.server.bin", b"".join(s[1:]))
    if want("tcp/mqtt/mosquitto-ping-midstream"):
        write("tcp/mqtt/mosquitto-ping-midstream.client.bin", b"".join(c[ping[0]:]))
        write("tcp/mqtt/mosquitto-ping-midstream.server.bin", b"".join(s[pong[0]:]))
    c, s = mqtt_packets(pub_c), mqtt_packets(pub_s)
    assert c[1][0] == 0x32 and s[1][0] == 0x40, (c, s)
    if want("tcp/mqtt/mosquitto-publish-midstream"):
        write("tcp/mqtt/mosquitto-publish-midstream.client.bin", b"".join(c[1:]))
        write("tcp/mqtt/mosquitto-publish-midstream.server.bin", b"".join(s[1:]))


# --- more clients of the high-traffic protocols ------------------------------

PY_TLS = """import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
try:
    ctx.wrap_socket(s, server_hostname="fixture.test")
except OSError:
    pass
"""

PY_URLLIB = """import sys, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:%s/fixture?q=1" % sys.argv[1], timeout=2)
except Exception:
    pass
"""

PARAMIKO = """import socket, sys, paramiko
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
t = paramiko.Transport(s)
try:
    t.start_client(timeout=5)
except Exception:
    pass
t.close()
"""

IMAPLIB = """import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=5)
m.capability()
m.logout()
"""

def variety_tls():
    port = 47530
    for name, cmd in [
        ("openssl-tls1_2", ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                            "-servername", "fixture.test", "-tls1_2"]),
        ("openssl-tls1", ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                          "-servername", "fixture.test", "-tls1",
                          "-cipher", "DEFAULT@SECLEVEL=0"]),
        ("gnutls-cli", ["gnutls-cli", "--insecure", "-p", str(port),
                        "--sni-hostname", "fixture.test", "127.0.0.1"]),
        ("python-ssl", [sys.executable, "-c", PY_TLS, str(port)]),
        ("wget", ["wget", "-q", "-O", "/dev/null", "--tries=1", "--timeout=2",
                  f"https://127.0.0.1:{port}/"]),
    ]:
        if want(f"tcp/tls/{name}"):
            write(f"tcp/tls/{name}.client.bin", first_client_bytes(port, cmd, timeout=8))


def variety_http():
    port = 47531
    url = f"http://127.0.0.1:{port}/fixture?q=1"
    proxy = f"http://127.0.0.1:{port}"
    for name, cmd, stdin in [
        ("wget", ["wget", "-q", "-O", "/dev/null", "--tries=1", "--timeout=2", url], None),
        ("python-urllib", [sys.executable, "-c", PY_URLLIB, str(port)], None),
        ("busybox-wget", ["busybox", "wget", "-q", "-O", "/dev/null", url], None),
        ("nc-http10", ["nc", "-q", "1", "127.0.0.1", str(port)],
         b"GET /fixture HTTP/1.0\r\nUser-Agent: nc\r\n\r\n"),
        ("curl-options-star", ["curl", "-s", "-m", "2", "-X", "OPTIONS",
                               "--request-target", "*", url], None),
        ("curl-propfind", ["curl", "-s", "-m", "2", "-X", "PROPFIND", "-H", "Depth: 1",
                           url], None),
        ("curl-patch", ["curl", "-s", "-m", "2", "-X", "PATCH", "-H",
                        "Content-Type: application/json", "-d", '{"a":1}', url], None),
        ("curl-proxy-absolute", ["curl", "-s", "-m", "2", "-x", proxy,
                                 "http://www.fixture.test/path?x=1"], None),
        ("wget-proxy-absolute", ["env", f"http_proxy={proxy}", "wget", "-q", "-O",
                                 "/dev/null", "--tries=1", "--timeout=2",
                                 "http://www.fixture.test/path"], None),
    ]:
        if not want(f"tcp/http/{name}"):
            continue
        if stdin is None:
            data = first_client_bytes(port, cmd, timeout=8)
        else:
            data = first_client_bytes(port, ["sh", "-c", "printf '%s' \"$0\" | " +
                                             " ".join(cmd), stdin.decode()], timeout=8)
        write(f"tcp/http/{name}.client.bin", data)


def start_dropbear(port, prefix):
    """A plain dropbear on 127.0.0.1:port with a fresh ed25519 host key in
    a temporary directory; (that directory, the process)."""
    d = tempfile.mkdtemp(prefix=prefix)
    key = os.path.join(d, "ed25519")
    subprocess.run(["dropbearkey", "-t", "ed25519", "-f", key], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return d, spawn(["dropbear", "-F", "-E", "-s", "-p", f"127.0.0.1:{port}", "-r", key])


def variety_ssh():
    if not want("tcp/ssh/"):
        return
    port = 47540
    d, p = start_dropbear(port, "pk-dropbear-")
    try:
        wait_port(port)
        if want("tcp/ssh/dropbear"):
            c, s = relay_flow(47541, port, ["dbclient", "-y", "-y", "-p", "47541",
                                            "fixture@127.0.0.1", "true"], timeout=8)
            write("tcp/ssh/dropbear.client.bin", c)
            write("tcp/ssh/dropbear.server.bin", s)
        if want("tcp/ssh/paramiko"):
            # Debian's python3-paramiko lives in the system python.
            c, s = relay_flow(47542, port, ["/usr/bin/python3", "-c", PARAMIKO, "47542"],
                              timeout=8)
            write("tcp/ssh/paramiko.client.bin", c)
            write("tcp/ssh/paramiko.server.bin", s)
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)


def variety_dns():
    port = 47550
    for name, cmd in [
        ("kdig", ["kdig", "+tcp", "+timeout=2", "+retry=0", "-p", str(port),
                  "@127.0.0.1", "fixture.test", "A"]),
        ("drill", ["drill", "-t", "-p", str(port), "fixture.test", "@127.0.0.1"]),
    ]:
        if want(f"tcp/dns/{name}"):
            write(f"tcp/dns/{name}.client.bin", first_client_bytes(port, cmd, timeout=8))


def variety_mail():
    """Dovecot's imap run pre-authenticated (as a login process or an SSH
    preauth tunnel starts it) behind socat: it greets `* PREAUTH`. (Its pop3
    run the same way sends no greeting at all, so it makes no fixture.)"""
    d = tempfile.mkdtemp(prefix="pk-preauth-")
    os.chmod(d, 0o777)
    env = dict(os.environ, USER="nobody", HOME=d)
    opts = f"-o mail_location=maildir:{d}/Maildir -o mail_uid=65534 -o mail_gid=65534"
    for proto, binary, port, client in [("imap", "imap", 47560, IMAPLIB)]:
        name = f"tcp/{proto}/dovecot-preauth"
        if not want(name):
            continue
        # socat splits EXEC arguments on ':' and '=': a wrapper holds them.
        wrapper = os.path.join(d, binary + ".sh")
        with open(wrapper, "w") as f:
            f.write(f"#!/bin/sh\nexec /usr/lib/dovecot/{binary} {opts}\n")
        os.chmod(wrapper, 0o755)
        p = spawn(["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                   f"EXEC:{wrapper},pipes"], env=env)
        try:
            wait_port(port)
            c, s = relay_flow(port + 1, port, [sys.executable, "-c", client, str(port + 1)])
        finally:
            stop(p)
        write(f"{name}.client.bin", c)
        write(f"{name}.server.bin", s)
    shutil.rmtree(d, ignore_errors=True)


def main():
    if "--in-rpc-netns" in sys.argv:
        rpc_in_netns()
        return
    for f in [rpc, quic, mqtt, variety_tls, variety_http, variety_ssh, variety_dns,
              variety_mail]:
        f()


if __name__ == "__main__":
    main()
