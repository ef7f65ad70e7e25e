# Crafted TCP from the client namespace (raw sockets, no scapy).
#   syn-flood SRC DST COUNT PORTS   COUNT SYNs from distinct source ports to
#                                   the comma-separated destination ports
#   hello SRC DST PORT ORDER PIECE  a real TLS ClientHello in PIECE-byte
#                                   segments sent in ORDER (forward|reverse|
#                                   shuffle) after a crafted handshake;
#                                   prints "reset" if the gateway resets it
# The caller drops the client kernel's own RSTs to DST (it knows nothing of
# these connections).
import os, random, select, socket, ssl, struct, sys, time

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def tcp(src, dst, sport, dport, seq, ack, flags, data=b""):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr) + len(data))
    c = csum(pseudo + hdr + data)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + data

def syn_flood(src, dst, count, ports):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    ports = [int(p) for p in ports.split(",")]
    sent = 0
    t0 = time.time()
    for i in range(count):
        sport = 1024 + (i % 64000)
        dport = ports[(i // 64000) % len(ports)]
        try:
            s.sendto(tcp(src, dst, sport, dport, random.getrandbits(32), 0, 0x02), (dst, 0))
            sent += 1
        except OSError:
            time.sleep(0.001)
    print("sent %d in %.2fs" % (sent, time.time() - t0), flush=True)

def client_hello():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(i, o, server_hostname="lab.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return o.read()

def hello(src, dst, port, order, piece):
    port, piece = int(port), int(piece)
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    sport = random.randint(20000, 60000)
    isn = random.getrandbits(32)
    tx.sendto(tcp(src, dst, sport, port, isn, 0, 0x02), (dst, 0))
    def recv(timeout):
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([rx], [], [], max(0, end - time.time()))
            if not r:
                break
            pkt = rx.recv(65535)
            ihl = (pkt[0] & 0xF) * 4
            sp, dp, seq, ack, off, flags = struct.unpack("!HHIIBB", pkt[ihl:ihl + 14])
            if sp == port and dp == sport:
                return seq, ack, flags
        return None
    sa = recv(3)
    if not sa or sa[2] & 0x12 != 0x12:
        print("no syn-ack", sa, flush=True)
        sys.exit(2)
    srv_next = (sa[0] + 1) & 0xFFFFFFFF
    tx.sendto(tcp(src, dst, sport, port, isn + 1, srv_next, 0x10), (dst, 0))
    data = client_hello()
    segs = [(k, data[k:k + piece]) for k in range(0, len(data), piece)]
    if order == "reverse":
        segs.reverse()
    elif order == "shuffle":
        random.Random(7).shuffle(segs)
    for k, d in segs:
        tx.sendto(tcp(src, dst, sport, port, (isn + 1 + k) & 0xFFFFFFFF, srv_next, 0x18, d), (dst, 0))
        time.sleep(0.002)
    print("sent %d bytes in %d segments" % (len(data), len(segs)), flush=True)
    end = time.time() + 4
    while time.time() < end:
        r = recv(end - time.time())
        if r and r[2] & 0x04:
            print("reset", flush=True)
            return
    print("no reset", flush=True)

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "syn-flood":
        syn_flood(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif cmd == "hello":
        hello(*sys.argv[2:7])
