# A long-lived request/response flow: argv = host port seconds.
# One HTTP/1.1 request every 50 ms on one connection; prints "OK n" at the
# end, or "FAIL after n: why" and exits 1 at the first failure.
import socket, sys, time
host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((host, port), timeout=3)
n, end = 0, time.time() + secs
try:
    while time.time() < end:
        s.sendall(b"GET /%d HTTP/1.1\r\nHost: lab.test\r\n\r\n" % n)
        buf = b""
        while not buf.endswith(b"ok"):
            d = s.recv(4096)
            if not d:
                raise ConnectionError("closed")
            buf += d
        n += 1
        time.sleep(0.05)
except Exception as e:
    print("FAIL after %d: %r" % (n, e), flush=True)
    sys.exit(1)
print("OK %d" % n, flush=True)
