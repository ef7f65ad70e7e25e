#!/usr/bin/env python3
"""Regenerates the detector fixtures in this directory from real programs.

Each fixture is the first bytes one real client or server sent on loopback,
recorded by a listener (or a connecting socket) written here. Run as root
on Debian 12 with curl, openssl, openssh-client/server, dnsutils and
chromium installed:  python3 src/sniff/testdata/capture.py
"""
import os, socket, subprocess, sys, threading, time, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def listen_tcp(port, banner=None, wait=1.5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)
    out = {}

    def run():
        conn, _ = s.accept()
        if banner:
            conn.sendall(banner)
        conn.settimeout(wait)
        data = b""
        try:
            while len(data) < 16384:
                chunk = conn.recv(16384)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        out["data"] = data
        conn.close()
        s.close()

    t = threading.Thread(target=run)
    t.start()
    return t, out


def listen_udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(5)
    out = {}

    def run():
        out["data"], _ = s.recvfrom(65535)
        s.close()

    t = threading.Thread(target=run)
    t.start()
    return t, out


def client_bytes(name, port, cmd, banner=None, udp=False):
    t, out = listen_udp(port) if udp else listen_tcp(port, banner)
    time.sleep(0.2)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL)
    t.join(10)
    p.kill()
    p.wait()
    data = out.get("data", b"")
    if udp is False and name.startswith("tls") and data:
        # keep the ClientHello records only (the client stops there anyway)
        pass
    write(name, data)


def write(name, data):
    if not data:
        sys.exit(f"no bytes captured for {name}")
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


def server_bytes(name, port, start, send=None):
    p = subprocess.Popen(start, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        if send:
            c.sendall(send)
        c.settimeout(1.5)
        data = b""
        try:
            while len(data) < 4096:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
                if send is None:
                    break
        except socket.timeout:
            pass
        c.close()
        write(name, data)
    finally:
        p.kill()
        p.wait()


def main():
    only = sys.argv[1:]
    if only: return ssh_dns()
    client_bytes("tcp/tls/curl.client.bin", 47001, ["curl", "-sk", "--max-time", "2", "https://127.0.0.1:47001/"])
    client_bytes("tcp/tls/openssl.client.bin", 47002, ["openssl", "s_client", "-connect", "127.0.0.1:47002",
                                             "-servername", "fixture.example"])
    chromium = subprocess.run(["which", "chromium"], capture_output=True).returncode == 0
    if chromium:
        profile = tempfile.mkdtemp()
        client_bytes("tcp/tls/chromium.client.bin", 47003, [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", "--host-resolver-rules=MAP * 127.0.0.1",
            "--dump-dom", "https://www.fixture.example:47003/"])
    client_bytes("tcp/http/curl.client.bin", 47004, ["curl", "-s", "--max-time", "2", "http://127.0.0.1:47004/index.html"])
    client_bytes("tcp/http-connect/curl.client.bin", 47005, ["curl", "-s", "--max-time", "2", "-p", "-x",
                                                  "http://127.0.0.1:47005", "http://198.18.9.9:8443/"])
    client_bytes("tcp/ssh/openssh.client.bin", 47006, ["ssh", "-o", "BatchMode=yes", "-o",
                                           "StrictHostKeyChecking=no", "-p", "47006", "127.0.0.1"],
                 banner=None)
    ssh_dns()


def ssh_dns():
    subprocess.run(["ssh-keygen", "-A"], check=True, capture_output=True)
    os.makedirs("/run/sshd", exist_ok=True)
    server_bytes("tcp/ssh/openssh.server.bin", 47007, ["/usr/sbin/sshd", "-D", "-p", "47007", "-o",
                                           "ListenAddress=127.0.0.1"])
    client_bytes("udp/dns/dig.client.bin", 47008, ["dig", "+tries=1", "+time=1", "@127.0.0.1", "-p", "47008",
                                            "www.example.test", "A"], udp=True)
    client_bytes("tcp/dns/dig.client.bin", 47009, ["dig", "+tcp", "+tries=1", "+time=1", "@127.0.0.1", "-p",
                                            "47009", "example.test", "MX"])
    # A real resolver's answer: dnsmasq answering a query we send.
    q = open(os.path.join(HERE, "udp/dns/dig.client.bin"), "rb").read()
    p = subprocess.Popen(["dnsmasq", "-d", "-p", "47010", "--listen-address=127.0.0.1", "--bind-interfaces",
                          "--no-resolv", "--no-hosts", "--address=/example.test/198.18.0.53"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, ("127.0.0.1", 47010))
    write("udp/dns/dnsmasq.server.bin", s.recvfrom(65535)[0])
    p.kill()
    p.wait()


if __name__ == "__main__":
    main()
