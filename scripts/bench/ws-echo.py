# An outside echo client with nothing of ours in it: a minimal WebSocket client on a plain socket
# (TCP_NODELAY), one byte at a time to `stty raw -echo; exec cat` behind bunty or ttyd.
#   python3 scripts/bench/ws-echo.py bunty|ttyd PORT PATH N   (bunty: --no-token; ttyd: -W)
import base64, os, socket, struct, sys, time
wire, host, port, path, n = sys.argv[1], "127.0.0.1", int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.create_connection((host, port), timeout=10); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # every read has a deadline
key = base64.b64encode(os.urandom(16)).decode()
proto = "Sec-WebSocket-Protocol: tty\r\n" if wire == "ttyd" else ""
s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\n{proto}\r\n".encode())
buf = b""
while b"\r\n\r\n" not in buf: buf += s.recv(4096)
head, buf = buf.split(b"\r\n\r\n", 1)
assert b" 101 " in head.split(b"\r\n")[0], head
def send(op, payload):
    mask = os.urandom(4); m = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    ln = len(payload); hdr = bytes([0x80 | op]) + (bytes([0x80 | ln]) if ln < 126 else bytes([0x80 | 126]) + struct.pack(">H", ln))
    s.sendall(hdr + mask + m)
def frame():
    global buf
    while True:
        if len(buf) >= 2:
            op, ln = buf[0] & 15, buf[1] & 127; off = 2
            if ln == 126: ln = struct.unpack(">H", buf[2:4])[0]; off = 4
            elif ln == 127: ln = struct.unpack(">Q", buf[2:10])[0]; off = 10
            if len(buf) >= off + ln:
                p = buf[off:off + ln]; buf = buf[off + ln:]; return op, p
        buf += s.recv(65536)
if wire == "ttyd": send(1, b'{"AuthToken":"","columns":80,"rows":24}')
t_end = time.time() + 0.5
s.settimeout(0.05)
while time.time() < t_end:  # drain what comes first (hello, title...)
    try: frame()
    except socket.timeout: pass
s.settimeout(10)
times = []
for i in range(n + 200):
    c = bytes([97 + i % 26]); t0 = time.perf_counter()
    send(2, (b"0" + c) if wire == "ttyd" else c)
    while True:
        op, p = frame()
        if op == 2 and (p[:1] == b"0" if wire == "ttyd" else True) and p.endswith(c): break
    if i >= 200: times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(f"{wire} (python raw-socket client): p50 {times[len(times)//2]:.4f} p99 {times[int(len(times)*.99)]:.4f} ms")
