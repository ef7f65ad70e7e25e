# A burst of UDP datagrams on one flow: argv = host port count size.
import socket, sys
host, port, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# A DNS-looking query header, padded.
msg = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x03lab\x04test\x00\x00\x01\x00\x01").ljust(size, b"\0")
sent = 0
for _ in range(count):
    try:
        s.sendto(msg, (host, port)); sent += 1
    except OSError:
        pass
print("sent", sent)
