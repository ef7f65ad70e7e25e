#!/usr/bin/env python3
"""Regenerates the fixtures added for the corpus-driven detector fixes.

Every flow is recorded on loopback from a real program, except where a
comment says the bytes are built from the specification. Run as root on
Debian 12:

  apt-get install nghttp2-server nghttp2-client curl nmap chrony
  pip install pycomm3==1.2.16 cpppo==5.2.5   # into a venv; PY=its python
  python3 src/sniff/testdata/capture_j.py [name-filter]

Programs and versions behind each fixture (Debian 12):
  tcp/http2/nghttp             nghttp 1.52 (prior knowledge) <-> nghttpd 1.52 --no-tls; the
                               script checks that nghttpd sends its SETTINGS frame to a
                               client that has said nothing (a server may speak first)
  tcp/http2/curl.client.bin    curl 7.88 --http2-prior-knowledge (to a listener)
  tcp/tls/nmap-sslv2.client.bin nmap 7.93 `--script sslv2`: an SSL 2.0 CLIENT-HELLO
  tcp/tls/sslv2-compat.client.bin  built here from RFC 5246 appendix E.2 (a TLS 1.0
                                ClientHello in SSL 2.0 framing, as old OpenSSL, Java and
                                Windows clients send it); no client in Debian 12 sends one
  udp/ntp/chrony.client.bin     chronyd 4.3 -Q client request (precision field 32)
  tcp/enip/pycomm3             pycomm3 1.2.16 (PyPI) CIPDriver open/close <-> cpppo 5.2.5 (PyPI)
                               EtherNet/IP simulator (RegisterSession, SendRRData)
  tcp/enip/cpppo-list-identity cpppo 5.2.5 client --list-identity <-> cpppo simulator
  tcp/enip/cpppo-read          cpppo 5.2.5 client reading a tag <-> cpppo simulator
"""
import os, socket, struct, subprocess, sys, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ONLY = sys.argv[1:]


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


def wait_port(port, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"nothing listens on {port}")


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def run(cmd, timeout=10):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def first_client_bytes(port, cmd, keep=4096, settle=1.0, accept=None, host="127.0.0.1"):
    """Listens on `port`, runs `cmd`, returns what the first connection
    (for which `accept(bytes)` holds, when given) sent before it went quiet."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(8)
    s.settimeout(10)
    got = []

    def serve():
        while not got:
            try:
                c, _ = s.accept()
            except OSError:
                return
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
            if data and (accept is None or accept(data)):
                got.append(data)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    run(cmd)
    t.join(settle + 2)
    s.close()
    return got[0] if got else b""


def relay_flow(port, target, cmd, keep=4096, settle=1.0):
    """Relays one connection on `port` to `target` while `cmd` runs;
    returns the bytes of each direction."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)
    s.settimeout(10)
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
            t.join(settle + 8)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    run(cmd)
    t.join(settle + 2)
    s.close()
    return flow["client"], flow["server"]


def http2():
    if not want("tcp/http2"):
        return
    port = 47201
    p = subprocess.Popen(["nghttpd", "--no-tls", "-a", "127.0.0.1", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        # Connect and say nothing: what arrives is sent unprompted.
        c = socket.create_connection(("127.0.0.1", port))
        c.settimeout(1.0)
        unprompted = b""
        try:
            while True:
                d = c.recv(4096)
                if not d:
                    break
                unprompted += d
        except socket.timeout:
            pass
        c.close()
        client, server = relay_flow(47202, port, ["nghttp", "-t", "2", "http://127.0.0.1:47202/"])
    finally:
        stop(p)
    if not unprompted or not server.startswith(unprompted):
        sys.exit(f"nghttpd did not send its SETTINGS first: {unprompted!r}")
    print(f"nghttpd sends {len(unprompted)} bytes (SETTINGS) before the client speaks")
    write("tcp/http2/nghttp.client.bin", client)
    write("tcp/http2/nghttp.server.bin", server)
    write("tcp/http2/curl.client.bin", first_client_bytes(47203, [
        "curl", "-s", "-m", "2", "--http2-prior-knowledge", "http://127.0.0.1:47203/"]))


def sslv2_compat_hello():
    """RFC 5246 appendix E.2 (and RFC 6101 appendix E): a V2ClientHello.

    msg_length (2 bytes, top bit set, 15-bit length), msg_type 1,
    version 3.1, cipher_spec_length (multiple of 3), session_id_length 0,
    challenge_length 16..32, then the cipher specs (3 bytes each: SSL 2.0
    kinds have a non-zero first byte, TLS suites are 0x00 + the suite),
    the session id, the challenge."""
    specs = [
        b"\x00\x00\x2f",  # TLS_RSA_WITH_AES_128_CBC_SHA
        b"\x00\x00\x35",  # TLS_RSA_WITH_AES_256_CBC_SHA
        b"\x00\x00\x0a",  # TLS_RSA_WITH_3DES_EDE_CBC_SHA
        b"\x07\x00\xc0",  # SSL_CK_DES_192_EDE3_CBC_WITH_MD5
        b"\x00\x00\xff",  # TLS_EMPTY_RENEGOTIATION_INFO_SCSV
    ]
    cs = b"".join(specs)
    challenge = bytes(range(0x10, 0x30))  # 32 bytes
    body = b"\x01" + b"\x03\x01" + struct.pack(">HHH", len(cs), 0, len(challenge)) + cs + challenge
    return struct.pack(">H", 0x8000 | len(body)) + body


def tls():
    if want("tcp/tls/nmap-sslv2"):
        # The script only runs on a port nmap takes for SSL: 443, on a
        # loopback address of its own.
        write("tcp/tls/nmap-sslv2.client.bin", first_client_bytes(443, [
            "nmap", "-n", "-Pn", "-sT", "-p", "443", "--script", "sslv2",
            "--script-timeout", "5s", "127.0.0.77"], accept=lambda d: d[0] & 0x80 != 0,
            host="127.0.0.77"))
    if want("tcp/tls/sslv2-compat"):
        write("tcp/tls/sslv2-compat.client.bin", sslv2_compat_hello())


def ntp():
    if not want("udp/ntp/chrony"):
        return
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 47221))
    s.settimeout(8)
    p = subprocess.Popen(["chronyd", "-Q", "-f", "/dev/null",
                          "server 127.0.0.1 port 47221 iburst maxsamples 1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        data, _ = s.recvfrom(2048)
    finally:
        stop(p)
        s.close()
    write("udp/ntp/chrony.client.bin", data)


def enip():
    """cpppo's EtherNet/IP simulator answers pycomm3 and cpppo's client.
    Both come from PyPI (pip install pycomm3==1.2.16 cpppo==5.2.5); PY names
    the python that has them."""
    if not want("tcp/enip"):
        return
    py = os.environ.get("PY", sys.executable)
    port = 47231
    p = subprocess.Popen([py, "-m", "cpppo.server.enip", "--address", f"127.0.0.1:{port}",
                          "SCADA=INT[10]"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        client, server = relay_flow(47232, port, [py, "-c", (
            "from pycomm3 import CIPDriver\n"
            "d = CIPDriver('127.0.0.1:47232')\n"
            "d.open()\n"
            "d.close()\n")])
        write("tcp/enip/pycomm3.client.bin", client)
        write("tcp/enip/pycomm3.server.bin", server)
        client, server = relay_flow(47233, port, [
            py, "-m", "cpppo.server.enip.client", "--address", "127.0.0.1:47233",
            "--list-identity"])
        write("tcp/enip/cpppo-list-identity.client.bin", client)
        write("tcp/enip/cpppo-list-identity.server.bin", server)
        client, server = relay_flow(47234, port, [
            py, "-m", "cpppo.server.enip.client", "--address", "127.0.0.1:47234",
            "SCADA[0-3]"])
        write("tcp/enip/cpppo-read.client.bin", client)
        write("tcp/enip/cpppo-read.server.bin", server)
    finally:
        stop(p)


def main():
    for f in [http2, tls, ntp, enip]:
        f()


if __name__ == "__main__":
    main()
