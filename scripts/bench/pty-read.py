# The flood's read without Bun: CMD on a raw PTY, its master read with plain system calls (poll,
# read) until the program is done, and this process's own CPU (user + system) for it. Run by
# scripts/bench/throughput.ts when python3 is present, in the same rounds as Bun's raw read: what
# reading a PTY costs any program here (most of it is the kernel's). Prints one JSON line.
#   python3 scripts/bench/pty-read.py CMD
import errno, json, os, pty, resource, select, subprocess, sys, time

DEADLINE_S = 90
master, slave = pty.openpty()
proc = subprocess.Popen(["bash", "--noprofile", "--norc", "-c", sys.argv[1]],
                        stdin=slave, stdout=slave, stderr=slave, close_fds=True, start_new_session=True)
os.close(slave)
poller = select.poll()
poller.register(master, select.POLLIN)
n = reads = 0
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
try:
    while True:
        if time.perf_counter() - t0 > DEADLINE_S:
            sys.exit(f"not done in {DEADLINE_S} s")
        if not poller.poll(1000):
            continue
        try:
            b = os.read(master, 1 << 16)
        except OSError as e:
            if e.errno == errno.EIO:
                break  # the program and everything it started are done: the slave is closed
            raise
        if not b:
            break
        n += len(b)
        reads += 1
    seconds = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
finally:
    proc.kill()  # on every path, the error one too
    proc.wait(5)
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
print(json.dumps({"bytes": n, "reads": reads, "seconds": seconds, "mbps": n / 1e6 / seconds,
                  "cpu": cpu, "sys": r1.ru_stime - r0.ru_stime}))
