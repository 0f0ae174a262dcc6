# The echo floor without Bun: one byte at a time through a raw PTY to `stty raw -echo; exec cat`,
# with plain system calls (write, poll, read on the master), the next byte only after the previous
# came back. Run by scripts/bench/latency.ts when python3 is present; prints {"times": [ms...]}.
#   python3 scripts/bench/pty-echo.py N WARM
import json, os, pty, select, subprocess, sys, time

n, warm = int(sys.argv[1]), int(sys.argv[2])
master, slave = pty.openpty()
proc = subprocess.Popen(["bash", "--noprofile", "--norc", "-c", "stty raw -echo; exec cat"],
                        stdin=slave, stdout=slave, stderr=slave, close_fds=True, start_new_session=True)
os.close(slave)
time.sleep(0.3)  # for stty to take effect, as probe.ts waits
poller = select.poll()
poller.register(master, select.POLLIN)
times = []
try:
    for i in range(warm + n):
        byte = bytes([97 + i % 26])
        t0 = time.perf_counter()
        os.write(master, byte)
        got = b""
        while not got:
            if not poller.poll(5000):
                sys.exit(f"no echo of keystroke {i + 1}")
            got = os.read(master, 64)
        if i >= warm:
            times.append((time.perf_counter() - t0) * 1000)
finally:
    proc.kill()  # on every path, the error one too
    proc.wait(5)
print(json.dumps({"times": times}))
