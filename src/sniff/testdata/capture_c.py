#!/usr/bin/env python3
"""Regenerates the database / messaging / proxy / ICS fixtures (family C).

Each flow is recorded by a relay on loopback that sits between a real
client and a real server (or, where no server is installable, by a
listener that records what a real client sent). Run as root on Debian 12:

  apt-get install postgresql mariadb-server mariadb-client redis-server \
      redis-tools mosquitto mosquitto-clients freetds-bin dante-server \
      python3-qpid-proton curl
  pip install pymodbus pika pymongo
  python3 src/sniff/testdata/capture_c.py [name-filter]

Programs and versions behind each fixture (Debian 12 unless noted):
  tcp/pgsql/psql-startup       psql 15.18 <-> postgres 15.18 (StartupMessage, SCRAM request)
  tcp/pgsql/psql-sslrequest    psql 15.18 sslmode=prefer <-> postgres 15.18 without SSL ('N')
  tcp/pgsql/psql-cancel        psql 15.18 CancelRequest (Ctrl-C) to postgres 15.18
  tcp/mysql/mariadb            mariadb client 10.11 <-> mariadbd 10.11 (greeting, login)
  tcp/redis/redis-cli          redis-cli 7.0.15 <-> redis-server 7.0.15 (RESP array PING)
  tcp/redis/redis-cli-resp3    redis-cli 7.0.15 -3 <-> redis-server 7.0.15 (HELLO 3)
  tcp/redis/inline             inline "PING" typed over nc (netcat-openbsd) <-> redis-server 7.0.15
  tcp/mqtt/mosquitto-v31|v311|v5   mosquitto_pub 2.0.11 <-> mosquitto 2.0.11
  tcp/amqp/pika                pika (PyPI) AMQP 0-9-1 client header (no broker installable)
  tcp/amqp/proton              python3-qpid-proton 0.37 client <-> proton 0.37 container (AMQP 1.0 SASL)
  tcp/socks4/curl, socks4a/curl, socks5/curl  curl 7.88 <-> dante-server 1.4.2
  tcp/mongodb/pymongo-*        pymongo (PyPI) handshake (OP_QUERY isMaster; OP_MSG hello with
                               server API), recorded by a listener (no server in Debian)
  tcp/tds/tsql                 freetds tsql 1.3.17 PRELOGIN (no SQL Server installable)
  tcp/modbus/pymodbus          pymodbus 3.16 (PyPI) client <-> pymodbus server, read/write holding registers
  tcp|udp/dnp3/master-read-class0  master frame built from IEEE 1815 here (no DNP3 master is
                               installable); response from dnp3-outstation 0.2.0 (PyPI)
"""
import os, shutil, signal, socket, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
SYS_PY = "/usr/bin/python3"  # Debian's python, which has python3-qpid-proton
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


class Relay:
    """Listens on `port`, forwards to `target` (or nowhere), records each
    connection's first `keep` bytes per direction."""

    def __init__(self, port, target=None, keep=2048, reply=None):
        self.flows = []
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("127.0.0.1", port))
        self.s.listen(4)
        self.s.settimeout(0.5)
        self.target, self.keep, self.reply = target, keep, reply
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.s.accept()
            except socket.timeout:
                continue
            flow = {"client": b"", "server": b""}
            self.flows.append(flow)
            threading.Thread(target=self.serve, args=(c, flow), daemon=True).start()
        self.s.close()

    def serve(self, c, flow):
        up = socket.create_connection(("127.0.0.1", self.target)) if self.target else None
        if self.reply is not None:
            flow["server"] = self.reply
            c.sendall(self.reply)

        def pump(src, dst, key):
            try:
                while True:
                    d = src.recv(65536)
                    if not d:
                        break
                    if len(flow[key]) < self.keep:
                        flow[key] += d[: self.keep - len(flow[key])]
                    if dst:
                        dst.sendall(d)
            except OSError:
                pass
            for s in (dst, src):
                try:
                    s and s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        ts = [threading.Thread(target=pump, args=(c, up, "client"), daemon=True)]
        if up:
            ts.append(threading.Thread(target=pump, args=(up, c, "server"), daemon=True))
        for t in ts:
            t.start()

    def close(self, settle=1.0):
        time.sleep(settle)
        self.stop = True
        self.t.join(3)
        return self.flows


def record(name, port, cmd, target=None, reply=None, nth=0, keep=2048, settle=1.0, **kw):
    if not want(name):
        return
    r = Relay(port, target, keep=keep, reply=reply)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, **kw)
    try:
        p.wait(8)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    flows = r.close(settle)
    if len(flows) <= nth:
        sys.exit(f"{name}: {len(flows)} connections")
    flow = flows[nth]
    if flow["client"]:
        write(f"{name}.client.bin", flow["client"])
    if flow["server"] and reply is None:
        write(f"{name}.server.bin", flow["server"])


def start(cmd, port, **kw):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    wait_port(port)
    return p


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def pgsql():
    if not want("pgsql"):
        return
    d = tempfile.mkdtemp()
    shutil.chown(d, "postgres")
    pw = os.path.join(d, "..", os.path.basename(d) + ".pw")
    with open(pw, "w") as f:
        f.write("fixture-password\n")
    os.chmod(pw, 0o644)
    subprocess.run(["runuser", "-u", "postgres", "--", "initdb", "-D", d, "-A", "scram-sha-256",
                    f"--pwfile={pw}", "-U", "fixture"], check=True, capture_output=True)
    os.unlink(pw)
    srv = start(["runuser", "-u", "postgres", "--", "postgres", "-D", d, "-p", "47110", "-k", d,
                 "-c", "listen_addresses=127.0.0.1", "-c", "ssl=off"], 47110)
    env = dict(os.environ, PGPASSWORD="wrong", PGCONNECT_TIMEOUT="3")
    base = "host=127.0.0.1 port=47111 user=fixture dbname=fixture application_name=psql"
    try:
        record("tcp/pgsql/psql-startup", 47111,
               ["psql", f"{base} sslmode=disable gssencmode=disable", "-c", "select 1"], 47110, env=env)
        record("tcp/pgsql/psql-sslrequest", 47111,
               ["psql", f"{base} sslmode=prefer gssencmode=disable", "-c", "select 1"], 47110, env=env)
    finally:
        stop(srv)
        shutil.rmtree(d, ignore_errors=True)


def pgsql_cancel():
    """psql sends CancelRequest on a second connection when interrupted."""
    if not want("pgsql"):
        return
    d = tempfile.mkdtemp()
    shutil.chown(d, "postgres")
    subprocess.run(["runuser", "-u", "postgres", "--", "initdb", "-D", d, "-A", "trust", "-U", "fixture"],
                   check=True, capture_output=True)
    srv = start(["runuser", "-u", "postgres", "--", "postgres", "-D", d, "-p", "47112", "-k", d,
                 "-c", "listen_addresses=127.0.0.1", "-c", "ssl=off"], 47112)
    try:
        r = Relay(47113, 47112)
        p = subprocess.Popen(["psql", "host=127.0.0.1 port=47113 user=fixture dbname=postgres "
                              "sslmode=disable gssencmode=disable", "-c", "select pg_sleep(5)"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        p.wait(10)
        flows = r.close()
        write("tcp/pgsql/psql-cancel.client.bin", flows[1]["client"])
    finally:
        stop(srv)
        shutil.rmtree(d, ignore_errors=True)


def mysql():
    if not want("mysql"):
        return
    d = tempfile.mkdtemp()
    shutil.chown(d, "mysql")
    subprocess.run(["mariadb-install-db", "--user=mysql", f"--datadir={d}", "--auth-root-authentication-method=normal"],
                   check=True, capture_output=True)
    srv = start(["mariadbd", "--user=mysql", f"--datadir={d}", "--port=47120", "--bind-address=127.0.0.1",
                 f"--socket={d}/sock", "--skip-grant-tables=0"], 47120)
    try:
        record("tcp/mysql/mariadb", 47121, ["mariadb", "-h", "127.0.0.1", "-P", "47121", "-u", "fixture",
                                            "-pwrong", "--skip-ssl", "-e", "select 1"], 47120)
    finally:
        stop(srv)
        shutil.rmtree(d, ignore_errors=True)


def redis():
    if not want("redis"):
        return
    srv = start(["redis-server", "--port", "47130", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], 47130)
    try:
        record("tcp/redis/redis-cli", 47131, ["redis-cli", "-p", "47131", "PING"], 47130)
        record("tcp/redis/redis-cli-resp3", 47131, ["redis-cli", "-3", "-p", "47131", "PING"], 47130)
        record("tcp/redis/inline", 47131, ["sh", "-c", "printf 'PING\\r\\n' | nc -q 1 127.0.0.1 47131"], 47130)
    finally:
        stop(srv)


def mqtt():
    if not want("mqtt"):
        return
    srv = start(["mosquitto", "-p", "47140"], 47140)
    try:
        for v in ["31", "311", "5"]:
            record(f"tcp/mqtt/mosquitto-v{v}", 47141, ["mosquitto_pub", "-h", "127.0.0.1", "-p", "47141",
                                                       "-V", f"mqttv{v}", "-i", "fixture-client",
                                                       "-t", "fixture/topic", "-m", "hello"], 47140)
    finally:
        stop(srv)


PROTON = """
import sys
from proton.handlers import MessagingHandler
from proton.reactor import Container
class H(MessagingHandler):
    def __init__(self, mode, port):
        super().__init__()
        self.mode, self.port = mode, port
    def on_start(self, e):
        if self.mode == "server":
            e.container.listen("127.0.0.1:%s" % self.port)
        else:
            e.container.create_sender("amqp://127.0.0.1:%s/fixture" % self.port)
    def on_sendable(self, e):
        e.sender.send(__import__("proton").Message(body="hello"))
        e.sender.close(); e.connection.close()
Container(H(sys.argv[1], sys.argv[2])).run()
"""


def amqp():
    if not want("amqp"):
        return
    record("tcp/amqp/pika", 47150, [sys.executable, "-c",
           "import pika\ntry:\n pika.BlockingConnection(pika.ConnectionParameters('127.0.0.1', 47150, "
           "socket_timeout=2, blocked_connection_timeout=2, connection_attempts=1))\nexcept Exception: pass"])
    srv = start([SYS_PY, "-c", PROTON, "server", "47151"], 47151)
    try:
        record("tcp/amqp/proton", 47152, [SYS_PY, "-c", PROTON, "client", "47152"], 47151)
    finally:
        stop(srv)


DANTE = """logoutput: stderr
internal: 127.0.0.1 port = 47160
external: 127.0.0.1
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }
socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }
"""


def socks():
    if not want("socks"):
        return
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write(DANTE)
    conf.close()
    web = start([sys.executable, "-m", "http.server", "47162", "--bind", "127.0.0.1"], 47162,
                cwd=tempfile.gettempdir())
    srv = start(["danted", "-f", conf.name], 47160)
    try:
        for name, opt, host in [("socks4", "--socks4", "127.0.0.1"), ("socks4a", "--socks4a", "localhost"),
                                ("socks5", "--socks5-hostname", "localhost")]:
            d = "socks4" if name == "socks4a" else name
            record(f"tcp/{d}/curl-{name}", 47161, ["curl", "-s", "--max-time", "3", opt, "127.0.0.1:47161",
                                                   f"http://{host}:47162/"], 47160, keep=64)
    finally:
        stop(srv)
        stop(web)
        os.unlink(conf.name)


def mongodb():
    if not want("mongodb"):
        return
    code = ("import pymongo\nfrom pymongo.server_api import ServerApi\n"
            "kw = {%s}\ntry:\n pymongo.MongoClient('127.0.0.1', 47170, serverSelectionTimeoutMS=1500, "
            "connectTimeoutMS=1500, appname='fixture', **kw).admin.command('ping')\nexcept Exception: pass")
    record("tcp/mongodb/pymongo-isMaster", 47170, [sys.executable, "-c", code % ""], keep=1024)
    record("tcp/mongodb/pymongo-hello", 47170, [sys.executable, "-c", code % "'server_api': ServerApi('1')"],
           keep=1024)


def tds():
    if not want("tds"):
        return
    record("tcp/tds/tsql", 47180, ["tsql", "-H", "127.0.0.1", "-p", "47180", "-U", "sa", "-P", "wrong"],
           keep=1024, env=dict(os.environ, TDSVER="7.4"))


def modbus():
    if not want("modbus"):
        return
    srv_code = ("import asyncio\nfrom pymodbus.server import StartAsyncTcpServer\n"
                "from pymodbus.datastore import ModbusServerContext, ModbusDeviceContext, ModbusSequentialDataBlock\n"
                "ctx = ModbusServerContext(devices=ModbusDeviceContext(hr=ModbusSequentialDataBlock(1, [17]*100)), single=True)\n"
                "asyncio.run(StartAsyncTcpServer(context=ctx, address=('127.0.0.1', 47190)))")
    cli = ("from pymodbus.client import ModbusTcpClient\nc = ModbusTcpClient('127.0.0.1', port=47191)\n"
           "c.connect()\nprint(c.read_holding_registers(1, count=4))\nprint(c.write_registers(1, [7, 8]))\nc.close()")
    srv = start([sys.executable, "-c", srv_code], 47190)
    try:
        record("tcp/modbus/pymodbus", 47191, [sys.executable, "-c", cli], 47190)
    finally:
        stop(srv)


def crc_dnp(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
    return (~crc & 0xFFFF).to_bytes(2, "little")


def dnp3_frame(ctrl, dest, src, user):
    """IEEE 1815-2012 section 9.2: a link frame with per-block CRCs."""
    head = b"\x05\x64" + bytes([5 + len(user), ctrl]) + dest.to_bytes(2, "little") + src.to_bytes(2, "little")
    out = head + crc_dnp(head)
    for i in range(0, len(user), 16):
        out += user[i:i + 16] + crc_dnp(user[i:i + 16])
    return out


def dnp3_frames():
    """No DNP3 master is installable here: the master's frame is built from
    IEEE 1815-2012. Master (address 1) to outstation (address 10): an
    unconfirmed user data frame (ctrl 0xC4: DIR, PRM, func 4) carrying
    transport header 0xC0 and an application READ of class 0 (object 60
    variation 1, qualifier 06). The outstation's response is real: the
    dnp3-outstation 0.2.0 (PyPI) outstation core answering that frame (the
    same link frame goes over TCP and UDP)."""
    if not want("dnp3"):
        return
    req = dnp3_frame(0xC4, 10, 1, bytes([0xC0, 0xC0, 0x01, 0x3C, 0x01, 0x06]))
    # The outstation's answer comes from dnp3-outstation (PyPI, pure Python).
    code = ("import sys\nfrom dnp3_outstation.outstation import Outstation\n"
            "o = Outstation(master_addr=1, outstation_addr=10); o.set_analog(idx=0, value=21.5)\n"
            "print(o.handle_inbound(bytes.fromhex(sys.argv[1])).hex())\n")
    resp = subprocess.run([sys.executable, "-c", code, req.hex()], check=True, capture_output=True,
                          text=True, timeout=20).stdout.strip()
    out = [resp, resp]
    for t, resp in zip(["tcp", "udp"], out):
        write(f"{t}/dnp3/master-read-class0.client.bin", req)
        write(f"{t}/dnp3/master-read-class0.server.bin", bytes.fromhex(resp))


def main():
    pgsql()
    pgsql_cancel()
    mysql()
    redis()
    mqtt()
    amqp()
    socks()
    mongodb()
    tds()
    modbus()
    dnp3_frames()


if __name__ == "__main__":
    main()
