#!/usr/bin/env python3
"""Regenerates the fixtures of the mail / file-sharing / directory / remote
access detectors (smtp, pop3, imap, ftp, telnet, rdp, smb, dcerpc, nbns,
ldap, krb5, rfb, irc, xmpp) from real programs talking on loopback.

Each flow runs a real client against a real server through a recording
relay written here: the relay forwards every byte both ways and keeps the
first read of each direction (the greeting, the first command, the first
request / reply). Run as root on Debian 12 with the packages below; every
server is started on a high 127.0.0.1 port with a throw-away config in a
temporary directory and killed afterwards:

  apt-get install exim4-daemon-light dovecot-imapd dovecot-pop3d vsftpd
    inetutils-telnetd inetutils-telnet smbclient samba samba-common-bin ldap-utils
    slapd krb5-user krb5-kdc tigervnc-standalone-server ngircd prosody
    freerdp2-x11 xvfb xrdp sic sendxmpp curl
  pip install impacket vncdotool

  python3 src/sniff/testdata/capture_a.py [name ...]

Programs and versions (Debian 12 unless said otherwise) per fixture:
  tcp/smtp/exim-curl         Exim 4.96 server, curl 7.88 client
  tcp/smtp/exim-smtplib      Exim 4.96 server, CPython 3.11 smtplib client
  tcp/pop3/dovecot-curl      Dovecot 2.3.19 pop3, curl 7.88
  tcp/imap/dovecot-curl      Dovecot 2.3.19 imap, curl 7.88
  tcp/imap/dovecot-imaplib   Dovecot 2.3.19 imap, CPython 3.11 imaplib
  tcp/ftp/vsftpd-curl        vsftpd 3.0.3, curl 7.88
  tcp/ftp/vsftpd-ftplib      vsftpd 3.0.3, CPython 3.11 ftplib
  tcp/telnet/inetutils       inetutils 2.4 telnetd (inetd-style on the accepted socket) and telnet
  tcp/rdp/xrdp-xfreerdp      xrdp 0.9.21, FreeRDP 2.11 xfreerdp (under Xvfb)
  tcp/smb/samba-smbclient    Samba 4.17 smbd, smbclient 4.17 (SMB2 negotiate)
  tcp/smb/samba-impacket     Samba 4.17 smbd, impacket 0.13 (PyPI; SMB1 negotiate)
  tcp/dcerpc/impacket        impacket 0.13 (PyPI) DCE/RPC client bind to impacket's DCERPCServer
                             (ncacn_ip_tcp; no Debian DCE/RPC TCP server runs on loopback alone)
  udp/nbns/nmblookup.client.raw  nmblookup 4.17 query
  udp/nbns/rfc1002.server.raw    answer built from RFC 1002 4.2.13 (nmbd will not
                                 serve a loopback-only host); both are .raw, not .bin,
                                 so the shared matrix skips them while the DNS detector
                                 still accepts NBNS packets (read by netbios_tests.rs)
  tcp/ldap/slapd-ldapsearch  OpenLDAP 2.5 slapd and ldapsearch (anonymous bind first)
  tcp/ldap/slapd-ldapwhoami  OpenLDAP 2.5 slapd and ldapwhoami (simple bind)
  tcp/krb5/mit-kinit         MIT krb5 1.20 krb5kdc and kinit (TCP): AS-REQ / AS-REP
  udp/krb5/mit-kinit         MIT krb5 1.20 krb5kdc and kinit (UDP)
  tcp/rfb/tigervnc-vncdotool TigerVNC 1.12 Xvnc, vncdotool 1.4 (PyPI) client
  tcp/irc/ngircd-sic         ngIRCd 26.1, sic 1.1
  tcp/xmpp/prosody-sendxmpp  Prosody 0.12, sendxmpp 1.24
"""
import os, shutil, socket, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix="capture_a.")


def write(name, data):
    if not data:
        sys.exit(f"no bytes captured for {name}")
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


def wait_port(port, udp=False, timeout=15):
    if udp:
        time.sleep(1.5)
        return
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"server on {port} did not come up")


def start(cmd, **kw):
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, start_new_session=True, **kw)


def stop(p):
    """Kills a server started here and the processes it forked (its own
    session only)."""
    try:
        os.killpg(p.pid, 9)
    except ProcessLookupError:
        pass
    p.wait()


def relay_tcp(listen, target, settle=0.4):
    """Forwards one connection from `listen` to `target`; returns a thread
    and a dict that gets the first read of each direction."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", listen))
    s.listen(1)
    out = {"client": b"", "server": b""}

    def pump(src, dst, side):
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                if not out[side]:
                    # Let the rest of a multi-segment first message arrive.
                    time.sleep(settle)
                    src.setblocking(False)
                    try:
                        chunk += src.recv(65536)
                    except (BlockingIOError, OSError):
                        pass
                    src.setblocking(True)
                    out[side] = chunk
                dst.sendall(chunk)
        except OSError:
            pass
        for x in (src, dst):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def run():
        s.settimeout(30)
        try:
            c, _ = s.accept()
        except socket.timeout:
            s.close()
            return
        u = socket.create_connection(("127.0.0.1", target))
        a = threading.Thread(target=pump, args=(c, u, "client"), daemon=True)
        b = threading.Thread(target=pump, args=(u, c, "server"), daemon=True)
        a.start(); b.start()
        a.join(20); b.join(20)
        s.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def relay_udp(listen, target):
    """Forwards the first datagram to `target` and its answer back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", listen))
    s.settimeout(20)
    out = {"client": b"", "server": b""}

    def run():
        try:
            data, peer = s.recvfrom(65535)
            out["client"] = data
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(5)
            u.sendto(data, ("127.0.0.1", target))
            out["server"], _ = u.recvfrom(65535)
            s.sendto(out["server"], peer)
        except OSError:
            pass
        s.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def flow(name, listen, target, client_cmd, udp=False, keep=("client", "server"), env=None,
         timeout=20, settle=0.4):
    t, out = relay_udp(listen, target) if udp else relay_tcp(listen, target, settle)
    time.sleep(0.2)
    if callable(client_cmd):
        threading.Thread(target=client_cmd, daemon=True).start()
        p = None
    else:
        p = subprocess.Popen(client_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    t.join(timeout)
    if p:
        try:
            p.wait(3)
        except subprocess.TimeoutExpired:
            # The client and whatever it spawned (xvfb-run's Xvfb) only.
            os.killpg(p.pid, 9)
            p.wait()
    for side in keep:
        write(f"{name}.{side}.bin", out[side])


def conf(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def smtp():
    p = start(["exim4", "-bdf", "-oX", "47101", "-oP", os.path.join(TMP, "exim.pid")])
    wait_port(47101)
    try:
        msg = conf("mail.txt", "Subject: fixture\r\n\r\nhello\r\n")
        flow("tcp/smtp/exim-curl", 47100, 47101,
             ["curl", "-s", "--max-time", "5", "smtp://127.0.0.1:47100/fixture.test",
              "--mail-from", "a@fixture.test", "--mail-rcpt", "b@fixture.test", "-T", msg])

        def smtplib_client():
            import smtplib
            with smtplib.SMTP("127.0.0.1", 47100, local_hostname="client.fixture.test") as c:
                c.ehlo()
                c.quit()
        flow("tcp/smtp/exim-smtplib", 47100, 47101, smtplib_client)
    finally:
        stop(p)


def dovecot():
    home = os.path.join(TMP, "home")
    os.makedirs(home, exist_ok=True)
    os.makedirs(os.path.join(TMP, "dovecot"), exist_ok=True)
    c = conf("dovecot.conf", f"""
protocols = imap pop3
listen = 127.0.0.1
base_dir = {TMP}/dovecot
state_dir = {TMP}/dovecot
log_path = /dev/null
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {{
  driver = static
  args = password=fixture
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={home}/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = 47111
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 47112
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
""")
    p = start(["dovecot", "-F", "-c", c])
    wait_port(47111)
    wait_port(47112)
    try:
        flow("tcp/imap/dovecot-curl", 47110, 47111,
             ["curl", "-s", "--max-time", "5", "-u", "fixture:fixture", "imap://127.0.0.1:47110/"])

        def imaplib_client():
            import imaplib
            c = imaplib.IMAP4("127.0.0.1", 47110)
            c.logout()
        flow("tcp/imap/dovecot-imaplib", 47110, 47111, imaplib_client)
        flow("tcp/pop3/dovecot-curl", 47110, 47112,
             ["curl", "-s", "--max-time", "5", "-u", "fixture:fixture", "pop3://127.0.0.1:47110/"])
    finally:
        stop(p)


def ftp():
    os.makedirs("/var/run/vsftpd/empty", exist_ok=True)
    root = os.path.join(TMP, "ftproot")
    os.makedirs(root, exist_ok=True)
    c = conf("vsftpd.conf", f"""listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=47121
anonymous_enable=YES
no_anon_password=YES
anon_root={root}
background=NO
seccomp_sandbox=NO
secure_chroot_dir=/var/run/vsftpd/empty
""")
    p = start(["vsftpd", c])
    wait_port(47121)
    try:
        flow("tcp/ftp/vsftpd-curl", 47120, 47121,
             ["curl", "-s", "--max-time", "5", "ftp://127.0.0.1:47120/"])

        def ftplib_client():
            import ftplib
            c = ftplib.FTP()
            c.connect("127.0.0.1", 47120)
            c.login()
            c.quit()
        flow("tcp/ftp/vsftpd-ftplib", 47120, 47121, ftplib_client)
    finally:
        stop(p)


def telnet():
    # in.telnetd runs inetd-style on the accepted socket.
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 47131))
    ls.listen(1)
    procs = []

    def serve():
        c, _ = ls.accept()
        procs.append(subprocess.Popen(["/usr/sbin/telnetd", "-h"], stdin=c.fileno(),
                                      stdout=c.fileno(), stderr=subprocess.DEVNULL))
        c.close()
    threading.Thread(target=serve, daemon=True).start()
    try:
        # The client answers the server's option requests: keep both first reads.
        flow("tcp/telnet/inetutils", 47130, 47131,
             ["sh", "-c", "sleep 2 | telnet 127.0.0.1 47130"], timeout=4, settle=0.3)
    finally:
        ls.close()
        for p in procs:
            stop(p)


def rdp():
    p = start(["xrdp", "--nodaemon", "--port", "47141"])
    wait_port(47141)
    try:
        flow("tcp/rdp/xrdp-xfreerdp", 47140, 47141,
             ["xvfb-run", "-a", "xfreerdp", "/v:127.0.0.1:47140", "/u:fixture", "/p:fixture",
              "/cert:ignore", "/timeout:4000"], timeout=12)
    finally:
        stop(p)


def smb():
    d = os.path.join(TMP, "smb")
    os.makedirs(d, exist_ok=True)
    c = conf("smb.conf", f"""[global]
workgroup = FIXTURE
netbios name = FIXTURE
smb ports = 47151
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
map to guest = Bad User
[pub]
path = {d}
guest ok = yes
""")
    p = start(["smbd", "--foreground", "--no-process-group", "--configfile", c])
    wait_port(47151)
    try:
        flow("tcp/smb/samba-smbclient", 47150, 47151,
             ["smbclient", "-N", "-L", "//127.0.0.1", "-p", "47150", "--configfile", c])

        def impacket_client():
            from impacket.smbconnection import SMBConnection
            try:
                SMBConnection("127.0.0.1", "127.0.0.1", sess_port=47150, timeout=5).close()
            except Exception:
                pass
        flow("tcp/smb/samba-impacket", 47150, 47151, impacket_client)
    finally:
        stop(p)


def dcerpc():
    from impacket.dcerpc.v5 import rpcrt, transport, epm
    server = rpcrt.DCERPCServer()
    server.setListenPort(47161)
    from impacket.uuid import bin_to_uuidtup
    server.addCallbacks(bin_to_uuidtup(epm.MSRPC_UUID_PORTMAP), "\\PIPE\\epmapper", {})
    server.daemon = True
    server.start()
    wait_port(47161)

    def client():
        t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[47160]")
        dce = t.get_dce_rpc()
        dce.connect()
        try:
            dce.bind(epm.MSRPC_UUID_PORTMAP)
        finally:
            dce.disconnect()
    flow("tcp/dcerpc/impacket", 47160, 47161, client)


def nbns():
    """nmblookup always queries port 137, so the listener takes
    127.0.0.1:137 (root). nmbd will not serve loopback-only interfaces, so
    the answer is built from RFC 1002 section 4.2.13 (POSITIVE NAME QUERY
    RESPONSE) for the query nmblookup sent: no real server made it."""
    import struct
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 137))
    s.settimeout(10)
    p = start(["nmblookup", "-U", "127.0.0.1", "FIXTURE"])
    try:
        query, _ = s.recvfrom(65535)
    finally:
        s.close()
        stop(p)
    write("udp/nbns/nmblookup.client.raw", query)
    tid, name = query[:2], query[12:12 + 34]
    # QR | opcode 0 | AA | RD | RA, one answer: NB, IN, TTL, NB_FLAGS + address.
    rdata = struct.pack(">H4s", 0x0000, socket.inet_aton("127.0.0.1"))
    answer = (tid + struct.pack(">HHHHH", 0x8580, 0, 1, 0, 0) + name
              + struct.pack(">HHIH", 0x20, 1, 300000, len(rdata)) + rdata)
    write("udp/nbns/rfc1002.server.raw", answer)


def ldap():
    db = os.path.join(TMP, "ldapdb")
    os.makedirs(db, exist_ok=True)
    c = conf("slapd.conf", f"""include /etc/ldap/schema/core.schema
pidfile {TMP}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "dc=fixture,dc=test"
rootdn "cn=admin,dc=fixture,dc=test"
rootpw fixture
directory {db}
""")
    p = start(["slapd", "-d", "0", "-f", c, "-h", "ldap://127.0.0.1:47181/"])
    wait_port(47181)
    try:
        flow("tcp/ldap/slapd-ldapsearch", 47180, 47181,
             ["ldapsearch", "-x", "-H", "ldap://127.0.0.1:47180", "-b", "", "-s", "base",
              "namingContexts"])
        flow("tcp/ldap/slapd-ldapwhoami", 47180, 47181,
             ["ldapwhoami", "-x", "-H", "ldap://127.0.0.1:47180", "-D",
              "cn=admin,dc=fixture,dc=test", "-w", "fixture"])
    finally:
        stop(p)


def krb5():
    d = os.path.join(TMP, "krb")
    os.makedirs(d, exist_ok=True)
    kdc = conf("kdc.conf", f"""[kdcdefaults]
 kdc_ports = 47191
 kdc_tcp_ports = 47191
[realms]
 FIXTURE.TEST = {{
  database_name = {d}/principal
  key_stash_file = {d}/stash
  acl_file = {d}/kadm5.acl
 }}
""")
    env = dict(os.environ, KRB5_KDC_PROFILE=kdc)
    for tcp in (True, False):
        env["KRB5_CONFIG"] = conf(f"krb5-{tcp}.conf", f"""[libdefaults]
 default_realm = FIXTURE.TEST
 dns_lookup_kdc = false
 udp_preference_limit = {1 if tcp else 65535}
[realms]
 FIXTURE.TEST = {{
  kdc = 127.0.0.1:47190
 }}
""")
        if tcp:
            subprocess.run(["kdb5_util", "-r", "FIXTURE.TEST", "create", "-s", "-P", "fixture"],
                           env=env, check=True, capture_output=True)
            subprocess.run(["kadmin.local", "-r", "FIXTURE.TEST", "-q",
                            "addprinc -pw fixture alice"], env=env, check=True, capture_output=True)
            p = start(["krb5kdc", "-n", "-r", "FIXTURE.TEST"], env=env)
            wait_port(47191)
        name = "tcp/krb5/mit-kinit" if tcp else "udp/krb5/mit-kinit"
        flow(name, 47190, 47191, ["kinit", "alice@FIXTURE.TEST"], udp=not tcp, env=env)
    stop(p)


def rfb():
    p = start(["Xvnc", ":47", "-rfbport", "47201", "-SecurityTypes", "None", "-localhost",
               "-geometry", "64x64"])
    wait_port(47201)
    try:
        flow("tcp/rfb/tigervnc-vncdotool", 47200, 47201,
             ["vncdo", "-s", "127.0.0.1::47200", "capture", os.path.join(TMP, "vnc.png")])
    finally:
        stop(p)


def irc():
    c = conf("ngircd.conf", """[Global]
Name = irc.fixture.test
Info = fixture
Ports = 47211
Listen = 127.0.0.1
[Options]
PAM = no
DNS = no
Ident = no
""")
    p = start(["ngircd", "-n", "-f", c])
    wait_port(47211)
    try:
        flow("tcp/irc/ngircd-sic", 47210, 47211,
             ["sh", "-c", "sleep 2 | sic -h 127.0.0.1 -p 47210 -n fixture"], timeout=6)
    finally:
        stop(p)


def xmpp():
    d = os.path.join(TMP, "prosody")
    os.makedirs(d, exist_ok=True)
    c = conf("prosody.cfg.lua", f"""run_as_root = true
daemonize = false
pidfile = "{d}/prosody.pid"
data_path = "{d}"
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ 47221 }}
s2s_ports = {{ }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping" }}
modules_disabled = {{ "s2s"; "http"; "admin_shell"; "posix" }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
log = {{ }}
VirtualHost "localhost"
""")
    p = start(["prosody", "--config", c])
    wait_port(47221)
    try:
        flow("tcp/xmpp/prosody-sendxmpp", 47220, 47221,
             ["sh", "-c", "echo hi | sendxmpp -u fixture -p fixture -j localhost:47220 "
              "bob@localhost"], timeout=8)
    finally:
        stop(p)


STEPS = {"smtp": smtp, "dovecot": dovecot, "ftp": ftp, "telnet": telnet, "rdp": rdp,
         "smb": smb, "dcerpc": dcerpc, "nbns": nbns, "ldap": ldap, "krb5": krb5, "rfb": rfb,
         "irc": irc, "xmpp": xmpp}


def main():
    names = sys.argv[1:] or list(STEPS)
    try:
        for n in names:
            STEPS[n]()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
