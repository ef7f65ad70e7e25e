#!/usr/bin/env python3
"""Records what a TLS stream looks like after its handshake, for the
midstream tests (a capture that began late, a conntrack pickup after a
restart): Python's ssl module (the system OpenSSL) as client and server
over memory BIOs, a full TLS 1.3 and a TLS 1.2 handshake, then an HTTP
request and a 20 KB answer. What each side sent *after* the handshake is
written to testdata/midstream/tls/<name>.<client|server>.bin.

    python3 src/sniff/testdata/capture_midstream.py   (needs openssl(1))
"""
import os
import ssl
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "midstream", "tls")


def pump(src, dst):
    data = src.read()
    if data:
        dst.write(data)
    return data


def session(version, name, cert, key):
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    for ctx in (sctx, cctx):
        ctx.minimum_version = version
        ctx.maximum_version = version
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = cctx.wrap_bio(c_in, c_out, server_hostname="fixture.test")
    server = sctx.wrap_bio(s_in, s_out, server_side=True)
    done = [False, False]
    for _ in range(20):
        for i, end in enumerate((client, server)):
            if not done[i]:
                try:
                    end.do_handshake()
                    done[i] = True
                except ssl.SSLWantReadError:
                    pass
        pump(c_out, s_in)
        pump(s_out, c_in)
        if all(done):
            break
    # Whatever is still in flight belongs to the handshake (TLS 1.3
    # session tickets go with the first server flight read below).
    pump(c_out, s_in)
    pump(s_out, c_in)
    client.write(b"GET /big HTTP/1.1\r\nHost: fixture.test\r\n\r\n")
    after_c = c_out.read()
    s_in.write(after_c)
    server.read(4096)
    body = os.urandom(20000)
    server.write(b"HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + body)
    after_s = s_out.read()
    with open(os.path.join(OUT, f"{name}.client.bin"), "wb") as f:
        f.write(after_c)
    with open(os.path.join(OUT, f"{name}.server.bin"), "wb") as f:
        f.write(after_s)


def main():
    os.makedirs(OUT, exist_ok=True)
    d = tempfile.mkdtemp(prefix="pk-midstream-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-subj", "/CN=fixture.test",
                    "-days", "2"], check=True, capture_output=True)
    session(ssl.TLSVersion.TLSv1_3, "python-ssl-tls13-appdata", cert, key)
    session(ssl.TLSVersion.TLSv1_2, "python-ssl-tls12-appdata", cert, key)
    for f in (cert, key):
        os.unlink(f)
    os.rmdir(d)


if __name__ == "__main__":
    main()
