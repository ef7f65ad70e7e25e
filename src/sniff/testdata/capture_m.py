#!/usr/bin/env python3
"""Regenerates the fixtures added for request and greeting variants real
programs send (family M): extension HTTP methods, empty lines before an
HTTP request line, an SSH server that sends a notice before its
identification line, an FTP greeting with continuation lines that carry no
reply code.

Every flow is recorded from a real program with the helpers of
capture_k.py (a listener written there, or a relay between a real client
and a real server, all on 127.0.0.1). Run as root on Debian 12:

  apt-get install curl netcat-openbsd dropbear-bin socat python3-pyftpdlib lftp \\
      putty-tools bind9-dnsutils tftp-hpa tftpd-hpa \\
      ntpsec tcpdump
  python3 src/sniff/testdata/capture_m.py [name-filter]

Programs and versions behind each fixture (Debian 12):
  tcp/http/curl-version-control  curl 7.88 -X VERSION-CONTROL (RFC 3253; a
                                 method longer than the 11 bytes the detector
                                 used to read)
  tcp/http/nc-leading-crlf       an HTTP/1.1 request after an empty line, typed
                                 through nc (netcat-openbsd); RFC 9112 section
                                 2.2 has servers ignore that line
  tcp/ssh/dropbear-notice        dbclient <-> dropbear 2022.83 run per connection
                                 (-i) by socat behind a wrapper that prints a
                                 notice line first, as inetd/TCP-wrapper setups
                                 do (RFC 4253 section 4.2 allows such lines)
  tcp/ftp/pyftpdlib-multiline    curl 7.88 ftp:// <-> pyftpdlib 1.5.7 with a
                                 banner of several lines: pyftpdlib sends
                                 `220-<banner>` whose later lines have no code,
                                 then `220 ` (RFC 959 section 4.2); cut at the
                                 greeting and the client's first command
  tcp/ssh/curl-libssh2           curl 7.88 sftp:// (libssh2 1.10) <-> dropbear 2022.83
  tcp/ssh/plink                  plink (PuTTY 0.78) <-> dropbear 2022.83
  tcp/ftp/lftp                   lftp 4.9 (FEAT before logging in) <-> pyftpdlib 1.5.7 with
                                 its default banner; cut like pyftpdlib-multiline
  udp/dns/nsupdate, tcp/dns/nsupdate   nsupdate (BIND 9.18) adding an A record: a DNS
                                 UPDATE (opcode 5) over UDP, and over TCP (-v)
  udp/tftp/*                     tftp (tftp-hpa 5.2) and curl 7.88 tftp:// against
                                 in.tftpd (tftpd-hpa 5.2) on lo, recorded with tcpdump:
                                 tftp-hpa-rrq (RRQ, octet), curl-rrq-options (RRQ with
                                 tsize/blksize options), tftp-hpa-rrq-missing (RRQ,
                                 netascii), tftp-hpa-wrq (WRQ); and, as negatives in
                                 unnamed/tftp-transfer/, what the server opens each
                                 transfer's flow with, from its own port:
                                 tftpd-hpa-data (DATA block 1), tftpd-hpa-oack (OACK),
                                 tftpd-hpa-error (ERROR 1), tftpd-hpa-ack0 (ACK 0)
  udp/ntp/ntpq-readvar           ntpq (ntpsec 1.2.2) -c rv <-> ntpd (ntpsec 1.2.2):
                                 a mode 6 control READVAR request and its answer,
                                 recorded with tcpdump on the lo of a namespace
                                 made here (ntpd must own port 123)
"""
import os, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from capture_k import (first_client_bytes, first_datagram, lo_exchange,  # noqa: E402
                       relay_flow, spawn, start_dropbear, stop, wait_port, want,
                       write, pcap_udp)

NETNS = "pk-fixture-ntp"
# ntpsec's programs; override to run them from an unpacked package.
NTPD = os.environ.get("NTPD", "/usr/sbin/ntpd")
NTPQ = os.environ.get("NTPQ", "/usr/bin/ntpq")
TFTPD = os.environ.get("TFTPD", "/usr/sbin/in.tftpd")


def http():
    port = 47600
    url = f"http://127.0.0.1:{port}/fixture"
    if want("tcp/http/curl-version-control"):
        data = first_client_bytes(port, ["curl", "-s", "-m", "2", "-X", "VERSION-CONTROL",
                                         url], timeout=8)
        write("tcp/http/curl-version-control.client.bin", data)
    if want("tcp/http/nc-leading-crlf"):
        req = "\r\nGET /fixture HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: nc\r\n\r\n"
        data = first_client_bytes(port, ["sh", "-c", "printf '%s' \"$0\" | nc -q 1 127.0.0.1 "
                                         + str(port), req], timeout=8)
        write("tcp/http/nc-leading-crlf.client.bin", data)


def ssh():
    name = "tcp/ssh/dropbear-notice"
    if want("tcp/ssh/curl-libssh2") or want("tcp/ssh/plink"):
        ssh_clients()
    if not want(name):
        return
    d = tempfile.mkdtemp(prefix="pk-dropbear-notice-")
    key = os.path.join(d, "ed25519")
    subprocess.run(["dropbearkey", "-t", "ed25519", "-f", key], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wrapper = os.path.join(d, "sshd.sh")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nprintf 'Authorized use only. Connections are logged.\\r\\n'\n"
                f"exec /usr/sbin/dropbear -i -s -r {key}\n")
    os.chmod(wrapper, 0o755)
    port = 47610
    p = spawn(["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", f"EXEC:{wrapper}"])
    try:
        wait_port(port)
        c, s = relay_flow(port + 1, port, ["dbclient", "-y", "-y", "-p", str(port + 1),
                                           "fixture@127.0.0.1", "true"], timeout=8)
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)
    write(f"{name}.client.bin", c)
    write(f"{name}.server.bin", s)


def ssh_clients():
    """curl's sftp:// client (libssh2) and PuTTY's plink against a plain
    dropbear."""
    port = 47612
    d, p = start_dropbear(port, "pk-dropbear-clients-")
    try:
        wait_port(port)
        for i, (name, cmd) in enumerate([
            ("tcp/ssh/curl-libssh2", ["curl", "-s", "-m", "3", "-k", "-u", "fixture:x",
                                      "sftp://127.0.0.1:{port}/"]),
            ("tcp/ssh/plink", ["plink", "-batch", "-ssh", "-P", "{port}",
                               "fixture@127.0.0.1", "true"]),
        ]):
            if not want(name):
                continue
            relay = port + 1 + i
            c, s = relay_flow(relay, port, [a.format(port=relay) for a in cmd], timeout=8)
            write(f"{name}.client.bin", c)
            write(f"{name}.server.bin", s)
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)


PYFTPD = """import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
a = DummyAuthorizer()
a.add_anonymous(sys.argv[2])
FTPHandler.authorizer = a
if sys.argv[3] == "multi":
    FTPHandler.banner = ("Welcome to the fixture.test archive.\\r\\n"
                         "All transfers are logged; anonymous FTP is read-only.\\r\\n"
                         "Mirrors: see /pub/MIRRORS.")
FTPServer(("127.0.0.1", int(sys.argv[1])), FTPHandler).serve_forever()
"""


def ftp():
    for name, banner, cmd in [
        ("tcp/ftp/pyftpdlib-multiline", "multi", ["curl", "-s", "-m", "3"]),
        ("tcp/ftp/lftp", "", ["lftp", "-e", "ls; quit"]),
    ]:
        if not want(name):
            continue
        d = tempfile.mkdtemp(prefix="pk-pyftpd-")
        port = 47620
        # Debian's python3-pyftpdlib lives in the system python.
        p = spawn(["/usr/bin/python3", "-c", PYFTPD, str(port), d, banner])
        try:
            wait_port(port)
            c, s = relay_flow(port + 1, port, cmd + [f"ftp://127.0.0.1:{port + 1}/"],
                              timeout=8)
        finally:
            stop(p)
            shutil.rmtree(d, ignore_errors=True)
        # Cut at the first message of each side, as capture_a.py's first
        # reads are: the client's first command, the server's whole greeting.
        end = max(s.find(b"\r\n220 "), 0)
        write(f"{name}.client.bin", c[: c.find(b"\n") + 1])
        write(f"{name}.server.bin", s[: s.find(b"\n", end + 2) + 1])


NSUPDATE = ("server 127.0.0.1 {port}\nzone fixture.test\n"
            "update add host.fixture.test 300 A 198.18.0.7\nsend\n")


def dns_update():
    """nsupdate's UPDATE (opcode 5) over UDP, and over TCP with -v."""
    for name, port, args in [("udp/dns/nsupdate", 47640, ""),
                             ("tcp/dns/nsupdate", 47641, "-v")]:
        if not want(name):
            continue
        cmd = ["sh", "-c", "printf '%s' \"$0\" | nsupdate -t 2 " + args,
               NSUPDATE.format(port=port)]
        if name.startswith("udp"):
            data = first_datagram(port, cmd, timeout=5)
        else:
            data = first_client_bytes(port, cmd, timeout=8)
        write(f"{name}.client.bin", data)


def udp_datagrams(path):
    """(sport, dport, payload) of every IPv4 UDP datagram in a tcpdump file."""
    return [(sport, dport, payload) for _, sport, dport, payload in pcap_udp(path)]


def tftp():
    """tftp-hpa's client and curl against tftpd-hpa, recorded with tcpdump
    on lo. A request goes to the server's port; the server answers from a
    port of its own, opening the transfer's flow: its first datagram is that
    flow's `.client.bin`."""
    port = 47650
    d = tempfile.mkdtemp(prefix="pk-tftpd-")
    os.chmod(d, 0o777)
    with open(os.path.join(d, "fixture.txt"), "w") as f:
        f.write("hello from the fixture\n")
    upload = os.path.join(d, "upload.txt")
    with open(upload, "w") as f:
        f.write("uploaded by the fixture\n")
    fd, pcap = tempfile.mkstemp(suffix=".pcap")
    os.close(fd)
    runs = [
        ("tftp-hpa-rrq", "tftpd-hpa-data",
         ["tftp", "-m", "octet", "127.0.0.1", str(port), "-c", "get", "fixture.txt",
          os.path.join(d, "got.txt")]),
        ("curl-rrq-options", "tftpd-hpa-oack",
         ["curl", "-s", "-m", "3", "-o", os.path.join(d, "got2.txt"),
          f"tftp://127.0.0.1:{port}/fixture.txt"]),
        ("tftp-hpa-rrq-missing", "tftpd-hpa-error",
         ["tftp", "127.0.0.1", str(port), "-c", "get", "missing.txt",
          os.path.join(d, "got3.txt")]),
        ("tftp-hpa-wrq", "tftpd-hpa-ack0",
         ["tftp", "-m", "octet", "127.0.0.1", str(port), "-c", "put", upload, "new.txt"]),
    ]
    if not any(want(f"udp/tftp/{a}") or want(f"unnamed/tftp-transfer/{b}") for a, b, _ in runs):
        return
    dump = spawn(["tcpdump", "-i", "lo", "-U", "-w", pcap, "udp"])
    server = spawn([TFTPD, "-L", "-c", "-u", "root", "-s", d, "-a", f"127.0.0.1:{port}"])
    try:
        time.sleep(1.5)
        for _, _, cmd in runs:
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL, timeout=10)
        time.sleep(1)
    finally:
        stop(server)
        stop(dump)
    grams = udp_datagrams(pcap)
    os.unlink(pcap)
    shutil.rmtree(d, ignore_errors=True)
    requests = [(i, sp) for i, (sp, dp, _) in enumerate(grams) if dp == port]
    if len(requests) != len(runs):
        sys.exit(f"expected {len(runs)} tftp requests, saw {len(requests)}")
    for (req, answer, _), (i, client_port) in zip(runs, requests):
        reply = next(p for sp, dp, p in grams[i + 1:] if dp == client_port and sp != port)
        write(f"udp/tftp/{req}.client.bin", grams[i][2])
        write(f"unnamed/tftp-transfer/{answer}.bin", reply)


def ntp():
    """ntpd must own port 123: it runs in a network namespace made (and
    removed) here, and ntpq's exchange with it is read off that lo."""
    if not want("udp/ntp/ntpq-readvar"):
        return
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up"],
                       check=True)
        subprocess.run(["ip", "netns", "exec", NETNS, sys.executable,
                        os.path.abspath(__file__), "--in-ntp-netns"], check=True)
    finally:
        subprocess.run(["ip", "netns", "del", NETNS])


def ntp_in_netns():
    d = tempfile.mkdtemp(prefix="pk-ntpd-")
    conf = os.path.join(d, "ntp.conf")
    with open(conf, "w") as f:
        f.write("server 127.127.1.0\nrestrict 127.0.0.1\n")
    p = spawn([NTPD, "-n", "-c", conf])
    try:
        time.sleep(2)
        c, s = lo_exchange("udp", 123, ["/usr/bin/python3", NTPQ, "-c", "rv", "127.0.0.1"])
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)
    write("udp/ntp/ntpq-readvar.client.bin", c)
    write("udp/ntp/ntpq-readvar.server.bin", s)


def main():
    if "--in-ntp-netns" in sys.argv:
        ntp_in_netns()
        return
    for f in [http, ssh, ftp, dns_update, tftp, ntp]:
        f()


if __name__ == "__main__":
    main()
