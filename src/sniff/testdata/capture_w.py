#!/usr/bin/env python3
"""Regenerates the fixtures of the system-daemon sweep (family W): what the
daemons and command-line clients that Debian ships send, for the
protocols where the fixtures were thin.

Flows that need a privileged port, broadcast or multicast (DHCP, IKE, NTP
served by chronyd, mDNS) run between two network namespaces made (and
removed) here, joined by a veth with addresses in 198.18.0.0/24, and are
read off the veth with tcpdump; the rest run on 127.0.0.1 with the helpers
of capture_k.py. Run as root on Debian 12:

  apt-get install --no-install-recommends isc-dhcp-client busybox dnsmasq rsyslog \\
      strongswan-charon strongswan-swanctl libstrongswan-standard-plugins swaks \\
      libnet-ssleay-perl msmtp dovecot-imapd dovecot-pop3d fetchmail ncftp sipsak \\
      kamailio baresip-core ngircd ii weechat-headless inetutils-telnetd sntp rdate \\
      chrony avahi-daemon avahi-utils dbus tcpdump wget openssl
  pip install aiosmtpd pyftpdlib
  python3 src/sniff/testdata/capture_w.py [name-filter]

(A /usr/sbin/policy-rc.d that exits 101 keeps apt from starting the
daemons as services: every daemon here is started by this script, with its
own configuration, and stopped by it.)

Programs and versions behind each fixture (Debian 12):
  udp/dhcp/dhclient-dnsmasq     ISC dhclient 4.4.3-P1 DHCPDISCOVER <-> dnsmasq 2.90 DHCPOFFER
  udp/dhcp/udhcpc-dnsmasq       BusyBox 1.35 udhcpc DHCPDISCOVER <-> dnsmasq 2.90 DHCPOFFER
  udp/dhcp/dhclient-reboot-dnsmasq  dhclient again with the lease of a first run: its
                                INIT-REBOOT DHCPREQUEST <-> dnsmasq's DHCPACK
  udp/syslog/rsyslog-omfwd      rsyslog 8.2302 omfwd over UDP (traditional format), fed by
                                logger (util-linux) through an imuxsock socket of its own
  tcp/syslog/rsyslog-omfwd-lf   the same over TCP, LF framing (the default)
  tcp/syslog/rsyslog-omfwd-octet  TCP_Framing="octet-counted", RSYSLOG_SyslogProtocol23Format
                                (RFC 5424 inside RFC 6587 octet counting)
  udp/ike/strongswan-ikev2      strongSwan 5.9.8 charon (swanctl --initiate, PSK) IKE_SA_INIT
                                <-> charon (the answer)
  udp/ike/strongswan-ikev2-auth-4500  the flow charon opens next on 4500 (non-ESP marker,
                                IKE_AUTH) and the answer
  udp/ike/strongswan-ikev2-4500  local_port = remote_port = 4500: IKE_SA_INIT behind the
                                non-ESP marker, as after NAT detection <-> charon
  udp/ike/strongswan-ikev1-main  version = 1: IKEv1 Main Mode SA <-> charon
  tcp/smtp/swaks-aiosmtpd, msmtp-aiosmtpd   swaks 20201014.0, msmtp 1.8.23 <-> aiosmtpd 1.4.6
  tcp/smtp/swaks-starttls-aiosmtpd, msmtp-starttls-aiosmtpd   the same with STARTTLS
                                (aiosmtpd requiring it, as on submission)
  tcp/pop3/fetchmail-dovecot, tcp/imap/fetchmail-dovecot   fetchmail 6.4.37 <-> Dovecot 2.3.19
  tcp/ftp/wget-pyftpdlib        wget 1.21.3 ftp:// <-> pyftpdlib 2.2.0
  tcp/ftp/busybox-ftpget-pyftpdlib  BusyBox 1.35 ftpget <-> pyftpdlib 2.2.0
  tcp/ftp/ncftpget-pyftpdlib    ncftpget 3.2.6 <-> pyftpdlib 2.2.0
  tcp/irc/ii-ngircd             ii 1.8 <-> ngIRCd 26.1
  tcp/irc/weechat-ngircd        WeeChat 3.8 (weechat-headless; CAP LS 302 first) <-> ngIRCd 26.1
  udp/sip/sipsak-register, tcp/sip/sipsak-register, tcp/sip/sipsak-options   sipsak 0.9.8.1
                                -U (REGISTER) over UDP and TCP, OPTIONS over TCP (what the
                                client sends; sipsak writes the port 47950 as 4795 in the URI)
  udp/sip/baresip-kamailio, tcp/sip/baresip-kamailio   baresip 1.0.0 REGISTER <-> Kamailio
                                5.6.3 answering every request 200 OK
  udp/sip/sipsak-options-kamailio  sipsak OPTIONS <-> Kamailio 5.6.3
  tcp/telnet/busybox-inetutils-telnetd  BusyBox 1.35 telnet <-> inetutils telnetd 2.4
  udp/ntp/ntpdig-chrony         `sntp` (Debian's package is ntpsec 1.2.2's ntpdig, whose
                                request is in udp/ntp/ntpdig already) <-> chronyd 4.3 (local
                                stratum 8): chronyd's answer is the new side
  udp/ntp/rdate-sntp-chrony     rdate 1.11 -n (SNTP) <-> chronyd 4.3
  udp/mdns/avahi-resolve        avahi-resolve -n -> avahi-daemon 0.8 (own D-Bus and /run):
                                the daemon's mDNS query (no responder)
Not recorded: syslog-ng (its package conflicts with rsyslog's), libreswan (conflicts
with strongSwan's), LLMNR from systemd-resolved (no systemd here), sipsak -M / -I
(segmentation fault before sending).
"""
import os, shutil, socket, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from capture_k import (client_bytes, lo_exchange, pcap_udp,  # noqa: E402
                       relay_flow, run, spawn, stop, wait_port, want, write,
                       write_flow)

PY = sys.executable
NS_A, NS_B = "pk-w-a", "pk-w-b"      # A: the client side, B: the server side
ADDR_A, ADDR_B = "198.18.0.2", "198.18.0.1"


def py(src, *args):
    return [PY, "-c", src, *[str(a) for a in args]]


def ns(name, *cmd):
    return ["ip", "netns", "exec", name, *cmd]


class NsPair:
    """Two network namespaces joined by a veth (veth-a in A, veth-b in B),
    removed on exit with everything started in them."""

    def __enter__(self):
        for n in (NS_A, NS_B):
            subprocess.run(["ip", "netns", "add", n], check=True)
        sh = lambda *c: subprocess.run(list(c), check=True)  # noqa: E731
        sh("ip", "link", "add", "veth-a", "netns", NS_A, "type", "veth",
           "peer", "name", "veth-b", "netns", NS_B)
        for n, dev, addr in ((NS_A, "veth-a", ADDR_A), (NS_B, "veth-b", ADDR_B)):
            sh(*ns(n, "ip", "link", "set", "lo", "up"))
            if addr:
                sh(*ns(n, "ip", "addr", "add", addr + "/24", "dev", dev))
            sh(*ns(n, "ip", "link", "set", dev, "up"))
        return self

    def __exit__(self, *exc):
        for n in (NS_A, NS_B):
            subprocess.run(["ip", "netns", "del", n])


def capture_udp(netns, dev, cmd, wait=6, filt="udp"):
    """Runs `cmd` (already wrapped for its namespace) for `wait` seconds
    under tcpdump on `dev` in `netns`; returns the datagrams seen."""
    fd, path = tempfile.mkstemp(suffix=".pcap")
    os.close(fd)
    dump = spawn(ns(netns, "tcpdump", "-i", dev, "-U", "-w", path, filt))
    try:
        time.sleep(1.5)
        p = spawn(cmd)
        time.sleep(wait)
        stop(p)
        time.sleep(0.5)
    finally:
        stop(dump)
    grams = pcap_udp(path)
    os.unlink(path)
    return grams


def first_exchange(grams, port):
    """The first datagram to `port` and the first answer to it (from
    another address, from `port`, to the client's port)."""
    c = next(((a, sp, p) for a, sp, dp, p in grams if dp == port), None)
    if c is None:
        return b"", b""
    s = next((p for a, sp, dp, p in grams if a != c[0] and sp == port and dp == c[1]), b"")
    return c[2], s


# --- DHCP ----------------------------------------------------------------------

def dhcp():
    runs = [("udp/dhcp/dhclient-dnsmasq", "dhclient"), ("udp/dhcp/udhcpc-dnsmasq", "udhcpc"),
            ("udp/dhcp/dhclient-reboot-dnsmasq", "dhclient-reboot")]
    runs = [r for r in runs if want(r[0])]
    if not runs:
        return
    for name, client in runs:
        # Lease files of their own: a lease left by another run (another
        # MAC) makes dnsmasq ignore the INIT-REBOOT request.
        tmp = tempfile.mkdtemp(prefix="pk-w-dhcp-")
        try:
            with NsPair():
                srv = spawn(ns(NS_B, "dnsmasq", "-d", "--port=0", "--interface=veth-b",
                               "--bind-interfaces", "--dhcp-range=198.18.0.100,198.18.0.150,1h",
                               f"--dhcp-leasefile={tmp}/leases", f"--pid-file={tmp}/pid",
                               "--conf-file=/dev/null"))
                time.sleep(1)
                if client.startswith("dhclient"):
                    cmd = ns(NS_A, "dhclient", "-d", "-1", "-4", "-lf", f"{tmp}/dhclient.leases",
                             "-pf", f"{tmp}/dhclient.pid", "-sf", "/bin/true", "veth-a")
                    if client == "dhclient-reboot":
                        # A first run leaves a lease behind: the next one starts
                        # in INIT-REBOOT with a DHCPREQUEST for it.
                        first = spawn(cmd)
                        time.sleep(5)
                        stop(first)
                else:
                    cmd = ns(NS_A, "busybox", "udhcpc", "-f", "-q", "-n", "-i", "veth-a",
                             "-s", "/bin/true", "-t", "3")
                try:
                    grams = capture_udp(NS_B, "veth-b", cmd)
                finally:
                    stop(srv)
            c, s = first_exchange(grams, 67)
            write_flow(name, c, s)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


# --- Syslog -------------------------------------------------------------------

RSYSLOG_CONF = """global(workDirectory="{tmp}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{tmp}/log")
action(type="omfwd" target="127.0.0.1" port="{port}" protocol="{proto}" {extra})
"""


def syslog():
    """rsyslogd forwards what `logger` writes to a socket of its own."""
    port = 47900
    runs = [("udp/syslog/rsyslog-omfwd", "udp", ""),
            ("tcp/syslog/rsyslog-omfwd-lf", "tcp", ""),
            ("tcp/syslog/rsyslog-omfwd-octet", "tcp",
             'TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format"')]
    for name, proto, extra in runs:
        if not want(name):
            continue
        tmp = tempfile.mkdtemp(prefix="pk-w-rsyslog-")
        conf = os.path.join(tmp, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write(RSYSLOG_CONF.format(tmp=tmp, port=port, proto=proto, extra=extra))
        # rsyslogd starts, then logger writes one line to its socket.
        cmd = ["sh", "-c", f"rsyslogd -n -f {conf} -i {tmp}/pid & sleep 1.5; "
               f"logger -u {tmp}/log -t fixture-app -p daemon.warning 'disk usage at 91%'; "
               "sleep 2; kill $!"]
        try:
            data = client_bytes(port, cmd, proto == "udp", timeout=10)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        write(f"{name}.client.bin", data)


# --- IKE ----------------------------------------------------------------------

STRONGSWAN_CONF = """charon {{
  load = random nonce openssl kdf pem pkcs1 x509 pubkey kernel-netlink socket-default vici
  install_routes = no
  install_virtual_ip = no
  plugins {{ vici {{ socket = unix://{tmp}/charon.vici }} }}
}}
"""

SWANCTL_CONF = """connections {{
  fx {{
    version = {version}
    remote_addrs = {remote}
    {port}
    local {{ auth = psk
             id = {me}@fixture.test }}
    remote {{ auth = psk
              id = {peer}@fixture.test }}
    children {{ fx {{ esp_proposals = default }} }}
  }}
}}
secrets {{ ike-fx {{ id-a = a@fixture.test
                    id-b = b@fixture.test
                    secret = fixture-not-a-secret }} }}
"""


def charon(netns, tmp, remote, me, peer, port="", version=2):
    """strongSwan's charon in `netns` with a /run of its own (its pid file
    path is fixed), configured by files in `tmp`, its connection loaded."""
    os.makedirs(tmp, exist_ok=True)
    with open(f"{tmp}/strongswan.conf", "w") as f:
        f.write(STRONGSWAN_CONF.format(tmp=tmp))
    with open(f"{tmp}/swanctl.conf", "w") as f:
        f.write(SWANCTL_CONF.format(remote=remote, port=port, me=me, peer=peer, version=version))
    p = spawn(ns(netns, "env", f"STRONGSWAN_CONF={tmp}/strongswan.conf", "unshare", "-m", "sh",
                 "-c", "mount -t tmpfs tmpfs /run && exec /usr/lib/ipsec/charon"))
    end = time.time() + 10
    while not os.path.exists(f"{tmp}/charon.vici") and time.time() < end:
        time.sleep(0.2)
    run(["env", f"STRONGSWAN_CONF={tmp}/strongswan.conf", "swanctl", "--load-all",
         "--file", f"{tmp}/swanctl.conf", "--uri", f"unix://{tmp}/charon.vici"])
    return p


def ike():
    """charon (A) initiates to charon (B): its IKE_SA_INIT and the answer;
    with remote_port = 4500 the request goes to 4500 behind the non-ESP
    marker, as after a NAT was detected."""
    runs = [("udp/ike/strongswan-ikev2", 500, ""),
            ("udp/ike/strongswan-ikev2-4500", 4500, "local_port = 4500\n    remote_port = 4500"),
            ("udp/ike/strongswan-ikev1-main", 500, "")]
    for name, port, opt in runs:
        version = 1 if "ikev1" in name else 2
        if not want(name) and not (name.endswith("ikev2") and want(name + "-auth-4500")):
            continue
        tmp = tempfile.mkdtemp(prefix="pk-w-ike-")
        try:
            with NsPair():
                b = charon(NS_B, f"{tmp}/b", ADDR_A, "b", "a", version=version)
                a = charon(NS_A, f"{tmp}/a", ADDR_B, "a", "b", opt, version)
                cmd = ns(NS_A, "env", f"STRONGSWAN_CONF={tmp}/a/strongswan.conf", "swanctl",
                         "--initiate", "--child", "fx", "--timeout", "3",
                         "--uri", f"unix://{tmp}/a/charon.vici")
                try:
                    grams = capture_udp(NS_B, "veth-b", cmd, wait=4)
                    if os.environ.get("W_DEBUG"):
                        for g in grams:
                            print(g[0].hex(), g[1], g[2], g[3][:12].hex())
                finally:
                    stop(a)
                    stop(b)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        c, s = first_exchange(grams, port)
        if want(name):
            write_flow(name, c, s)
        if version == 2 and port == 500 and want(name + "-auth-4500"):
            # After IKE_SA_INIT charon moves to 4500: a new UDP flow that
            # opens with IKE_AUTH behind the non-ESP marker.
            c, s = first_exchange(grams, 4500)
            write_flow(f"{name}-auth-4500", c, s)


# --- Mail -------------------------------------------------------------------

AIOSMTPD_TLS = """import ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]), tls_context=ctx,
               require_starttls=sys.argv[4] == "starttls")
c.start()
time.sleep(3600)
"""

MESSAGE = b"Subject: fixture\r\n\r\ndisk usage at 91%\r\n"


def self_signed(tmp):
    key, crt = f"{tmp}/key.pem", f"{tmp}/crt.pem"
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=mail.fixture.test", "-keyout", key, "-out", crt])
    return key, crt


def smtp_clients():
    """swaks and msmtp <-> aiosmtpd (plain on 25-style, and a submission
    listener that requires STARTTLS)."""
    port = 47910
    plain = ["--server", f"127.0.0.1:{port + 1}", "--helo", "client.fixture.test",
             "--from", "a@fixture.test", "--to", "b@fixture.test", "--timeout", "5"]
    msmtp = ["msmtp", "--host=127.0.0.1", f"--port={port + 1}", "--domain=client.fixture.test",
             "--from=a@fixture.test", "--auth=off", "--tls-certcheck=off"]
    runs = [("tcp/smtp/swaks-aiosmtpd", "plain", ["swaks", *plain, "--body", "disk usage at 91%"]),
            ("tcp/smtp/swaks-starttls-aiosmtpd", "starttls",
             ["swaks", *plain, "--tls", "--body", "disk usage at 91%"]),
            ("tcp/smtp/msmtp-aiosmtpd", "plain", [*msmtp, "--tls=off", "b@fixture.test"]),
            ("tcp/smtp/msmtp-starttls-aiosmtpd", "starttls",
             [*msmtp, "--tls=on", "--tls-starttls=on", "b@fixture.test"])]
    runs = [r for r in runs if want(r[0])]
    if not runs:
        return
    tmp = tempfile.mkdtemp(prefix="pk-w-smtp-")
    try:
        key, crt = self_signed(tmp)
        for name, mode, cmd in runs:
            p = spawn(py(AIOSMTPD_TLS, port, crt, key, mode))
            try:
                wait_port(port)
                if cmd[0] == "msmtp":
                    cmd = ["sh", "-c", " ".join(cmd) + " < " + f"{tmp}/msg"]
                    with open(f"{tmp}/msg", "wb") as f:
                        f.write(MESSAGE)
                c, s = relay_flow(port + 1, port, cmd, timeout=10)
            finally:
                stop(p)
            write_flow(name, c, s)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


DOVECOT_CONF = """protocols = imap pop3
listen = 127.0.0.1
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = /dev/null
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = static
  args = password=fixture
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={tmp}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


def mailbox_clients():
    """fetchmail <-> Dovecot over POP3 and IMAP (no TLS offered)."""
    imap, pop3 = 47921, 47922
    runs = [("tcp/pop3/fetchmail-dovecot", pop3, "POP3"),
            ("tcp/imap/fetchmail-dovecot", imap, "IMAP")]
    runs = [r for r in runs if want(r[0])]
    if not runs:
        return
    tmp = tempfile.mkdtemp(prefix="pk-w-dovecot-")
    os.chmod(tmp, 0o755)
    for d in ("run", "state", "home"):
        os.makedirs(f"{tmp}/{d}")
    shutil.chown(f"{tmp}/home", "nobody", "nogroup")
    with open(f"{tmp}/dovecot.conf", "w") as f:
        f.write(DOVECOT_CONF.format(tmp=tmp, imap=imap, pop3=pop3))
    p = spawn(["dovecot", "-F", "-c", f"{tmp}/dovecot.conf"])
    try:
        wait_port(imap)
        wait_port(pop3)
        for name, target, proto in runs:
            rc = f"{tmp}/fetchmailrc"
            with open(rc, "w") as f:
                f.write(f"poll 127.0.0.1 service 47920 protocol {proto} "
                        "user fixture password fixture sslproto '' no sslcertck\n")
            os.chmod(rc, 0o600)
            c, s = relay_flow(47920, target, ["fetchmail", "-f", rc, "-c", "--nosyslog",
                                              "-i", f"{tmp}/fetchids"], timeout=10)
            write_flow(name, c, s)
    finally:
        stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


# --- FTP, IRC -------------------------------------------------------------------

# pyftpdlib's server of capture_m.py (default greeting): root directory, port.
from capture_m import PYFTPD  # noqa: E402


def ftp_clients():
    """wget, BusyBox ftpget and ncftpget <-> pyftpdlib."""
    port = 47930
    runs = [("tcp/ftp/wget-pyftpdlib",
             ["wget", "-q", "-O", "/dev/null", "-T", "5", "-t", "1",
              f"ftp://127.0.0.1:{port + 1}/fixture.txt"]),
            ("tcp/ftp/busybox-ftpget-pyftpdlib",
             ["busybox", "ftpget", "-P", str(port + 1), "127.0.0.1", "/dev/null", "fixture.txt"]),
            ("tcp/ftp/ncftpget-pyftpdlib",
             ["ncftpget", "-t", "5", "-P", str(port + 1), "127.0.0.1", "{dl}", "/fixture.txt"])]
    runs = [r for r in runs if want(r[0])]
    if not runs:
        return
    tmp = tempfile.mkdtemp(prefix="pk-w-ftp-")
    with open(f"{tmp}/fixture.txt", "w") as f:
        f.write("fixture\n")
    p = spawn(py(PYFTPD, port, tmp, "default"))
    try:
        wait_port(port)
        os.makedirs(f"{tmp}/dl")
        for name, cmd in runs:
            cmd = [a.replace("{dl}", f"{tmp}/dl") for a in cmd]
            c, s = relay_flow(port + 1, port, cmd, timeout=10)
            write_flow(name, c, s)
    finally:
        stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


NGIRCD_CONF = """[Global]
Name = irc.fixture.test
Ports = {port}
Listen = 127.0.0.1
PidFile = {tmp}/ngircd.pid
ServerUID = nobody
ServerGID = nogroup
MotdPhrase = fixture
[Options]
PAM = no
Ident = no
DNS = no
"""


def irc_clients():
    """ii and WeeChat (weechat-headless) <-> ngircd."""
    port = 47940
    runs = [("tcp/irc/ii-ngircd", ["timeout", "4", "ii", "-s", "127.0.0.1", "-p", str(port + 1),
                                   "-n", "fixture", "-i", "{tmp}/ii"]),
            ("tcp/irc/weechat-ngircd",
             ["timeout", "5", "weechat-headless", "--dir", "{tmp}/weechat", "--run-command",
              f"/server add fx 127.0.0.1/{port + 1} -notls -nicks=fixture;/connect fx"])]
    runs = [r for r in runs if want(r[0])]
    if not runs:
        return
    tmp = tempfile.mkdtemp(prefix="pk-w-irc-")
    os.chmod(tmp, 0o777)
    with open(f"{tmp}/ngircd.conf", "w") as f:
        f.write(NGIRCD_CONF.format(port=port, tmp=tmp))
    p = spawn(["ngircd", "-n", "-f", f"{tmp}/ngircd.conf"])
    try:
        wait_port(port)
        for name, cmd in runs:
            cmd = [a.replace("{tmp}", tmp) for a in cmd]
            c, s = relay_flow(port + 1, port, cmd, timeout=10)
            write_flow(name, c, s)
    finally:
        stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


# --- SIP, Telnet -------------------------------------------------------------

def sip_clients():
    """sipsak's other modes (its OPTIONS is in udp/sip already): what the
    client sends first, over UDP and TCP. (sipsak 0.9.8.1's -M MESSAGE and
    -I INVITE modes end in a segmentation fault before sending here.)"""
    port = 47950
    uri = f"sip:fixture@127.0.0.1:{port}"
    runs = [("udp/sip/sipsak-register", ["-U", "-C", f"sip:fixture@127.0.0.1:{port + 5}"]),
            ("tcp/sip/sipsak-options", ["-E", "tcp"]),
            ("tcp/sip/sipsak-register", ["-E", "tcp", "-U", "-C",
                                         f"sip:fixture@127.0.0.1:{port + 5}"])]
    for name, opts in runs:
        if not want(name):
            continue
        cmd = ["timeout", "4", "sipsak", *opts, "-s", uri]
        data = client_bytes(port, cmd, name.startswith("udp/"), timeout=6)
        write(f"{name}.client.bin", data)


KAMAILIO_CFG = """#!KAMAILIO
debug=1
log_stderror=yes
children=1
tcp_children=1
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
loadpath "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "sl.so"
request_route {{
    sl_send_reply("200", "OK");
}}
"""

BARESIP_CONFIG = """sip_listen 127.0.0.1:{local}
module_path /usr/lib/baresip/modules
module g711.so
module_tmp uuid.so
module_tmp account.so
sip_transports udp,tcp
audio_player none
audio_source none
"""


def sip_servers():
    """baresip 1.0 registering, and sipsak REGISTER over TCP <-> Kamailio
    5.6 answering every request with 200 OK (read off lo with tcpdump)."""
    port = 47970
    runs = [("udp/sip/baresip-kamailio", "udp", f"<sip:fixture@127.0.0.1:{port}>;regint=60"),
            ("tcp/sip/baresip-kamailio", "tcp",
             f"<sip:fixture@127.0.0.1:{port};transport=tcp>;regint=60"),
            ("udp/sip/sipsak-options-kamailio", "udp", None)]
    runs = [r for r in runs if want(r[0])]
    if not runs:
        return
    tmp = tempfile.mkdtemp(prefix="pk-w-kamailio-")
    with open(f"{tmp}/kamailio.cfg", "w") as f:
        f.write(KAMAILIO_CFG.format(port=port))
    p = spawn(["kamailio", "-DD", "-E", "-f", f"{tmp}/kamailio.cfg", "-P", f"{tmp}/pid",
               "-Y", tmp])
    try:
        wait_port(port)
        for name, transport, account in runs:
            if account is None:
                cmd = ["timeout", "4", "sipsak", "-s", f"sip:fixture@127.0.0.1:{port}"]
            else:
                d = f"{tmp}/{transport}"
                os.makedirs(d, exist_ok=True)
                with open(f"{d}/config", "w") as f:
                    f.write(BARESIP_CONFIG.format(local=port + 5))
                with open(f"{d}/accounts", "w") as f:
                    f.write(account + "\n")
                cmd = ["baresip", "-4", "-f", d, "-t", "3"]
            c, s = lo_exchange(transport, port, cmd, timeout=8)
            write_flow(name, c, s)
    finally:
        stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


def telnet_clients():
    """BusyBox telnet <-> inetutils telnetd 2.4 run inetd-style on the
    accepted socket (BusyBox here has no telnetd applet)."""
    name = "tcp/telnet/busybox-inetutils-telnetd"
    if not want(name):
        return
    port = 47960
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1)
    ls.settimeout(10)
    procs = []

    def serve():
        try:
            c, _ = ls.accept()
        except OSError:
            return
        procs.append(subprocess.Popen(["/usr/sbin/telnetd", "-h"], stdin=c.fileno(),
                                      stdout=c.fileno(), stderr=subprocess.DEVNULL,
                                      start_new_session=True))
        c.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        # The client answers the server's option requests: keep both first reads.
        c, s = relay_flow(port + 1, port,
                          ["sh", "-c", f"sleep 2 | busybox telnet 127.0.0.1 {port + 1}"],
                          timeout=5, settle=0.3)
    finally:
        ls.close()
        t.join(2)
        for p in procs:
            stop(p)
    write_flow(name, c, s)


# --- NTP -----------------------------------------------------------------------

CHRONY_CONF = """local stratum 8
allow 198.18.0.0/24
cmdport 0
pidfile {tmp}/chronyd.pid
"""


def ntp_clients():
    """sntp (Debian's is ntpsec 1.2.2's ntpdig) and rdate 1.11 -n (SNTP) ->
    chronyd 4.3 serving its local clock, across the veth: chronyd owns
    port 123 in B."""
    runs = [("udp/ntp/ntpdig-chrony", ["sntp", "-t", "2", ADDR_B]),
            ("udp/ntp/rdate-sntp-chrony", ["rdate", "-n", "-p", "-4", ADDR_B])]
    runs = [r for r in runs if want(r[0])]
    if not runs:
        return
    tmp = tempfile.mkdtemp(prefix="pk-w-chrony-")
    try:
        with open(f"{tmp}/chrony.conf", "w") as f:
            f.write(CHRONY_CONF.format(tmp=tmp))
        for name, cmd in runs:
            with NsPair():
                srv = spawn(ns(NS_B, "chronyd", "-d", "-x", "-f", f"{tmp}/chrony.conf"))
                time.sleep(1.5)
                try:
                    grams = capture_udp(NS_B, "veth-b", ns(NS_A, *cmd), wait=4)
                finally:
                    stop(srv)
            c, s = first_exchange(grams, 123)
            write_flow(name, c, s)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- mDNS ---------------------------------------------------------------------

DBUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={tmp}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""

AVAHI_CONF = """[server]
allow-interfaces=veth-a
use-ipv6=no
[publish]
disable-publishing=yes
[reflector]
[rlimits]
"""


def mdns_clients():
    """avahi-resolve -> avahi-daemon 0.8 (A), on a D-Bus and a /run of its
    own: the daemon's mDNS query, read off the veth."""
    name = "udp/mdns/avahi-resolve"
    if not want(name):
        return
    tmp = tempfile.mkdtemp(prefix="pk-w-avahi-")
    os.chmod(tmp, 0o755)
    with open(f"{tmp}/dbus.conf", "w") as f:
        f.write(DBUS_CONF.format(tmp=tmp))
    with open(f"{tmp}/avahi.conf", "w") as f:
        f.write(AVAHI_CONF)
    bus = f"DBUS_SYSTEM_BUS_ADDRESS=unix:path={tmp}/bus"
    script = (f"mount -t tmpfs tmpfs /run || exit 1; export {bus}; "
              f"dbus-daemon --config-file={tmp}/dbus.conf --nofork & bus=$!; sleep 1; "
              f"avahi-daemon --no-drop-root --no-chroot -f {tmp}/avahi.conf "
              f"--no-rlimits & avahi=$!; sleep 3; timeout 2 avahi-resolve -4 -n fixture-host.local; "
              "kill $avahi $bus")
    try:
        with NsPair():
            cmd = ns(NS_A, "unshare", "-m", "sh", "-c", script)
            grams = capture_udp(NS_B, "veth-b", cmd, wait=8)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if os.environ.get("W_DEBUG"):
        for g in grams:
            print(g[0].hex(), g[1], g[2], g[3][:40].hex())
    c, _ = first_exchange(grams, 5353)
    write(f"{name}.client.bin", c)


def main():
    for f in [dhcp, syslog, ike, smtp_clients, mailbox_clients, ftp_clients, irc_clients,
              sip_clients, sip_servers, telnet_clients, ntp_clients, mdns_clients]:
        f()


if __name__ == "__main__":
    main()
