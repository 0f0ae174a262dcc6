# Was the server's event loop late because it was busy, or because it was waiting for a CPU?
# Samples the kernel's per-thread schedstat of one process's main thread every 10 ms (time on a
# CPU, time runnable but waiting for one) until the process exits, then prints both totals and the
# worst 300 ms windows. Beside the disconnect storm test, for example:
#   python3 scripts/bench/run-delay.py 'server/main.ts --port 0 --log-level warn --env BUNTY_TEST_MARK' &
#   node_modules/.bin/bun test tests/detached-storm.test.ts -t "default flags"
import subprocess, sys, time

pattern = sys.argv[1] if len(sys.argv) > 1 else "bunty"
deadline = time.monotonic() + 60  # the process must appear within a minute
pid = None
while pid is None:
    if time.monotonic() > deadline:
        sys.exit(f"no process matching {pattern!r} within 60 s")
    for cand in map(int, subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, timeout=5).stdout.split()):
        try:
            with open(f"/proc/{cand}/cmdline", "rb") as f:
                if b"run-delay.py" not in f.read():  # not this script (its argument matches too)
                    pid = cand
                    break
        except OSError:
            pass
    time.sleep(0.05)

samples = []  # (seconds, ns on a CPU, ns waiting for one)
while True:
    try:
        with open(f"/proc/{pid}/task/{pid}/schedstat") as f:
            on_cpu, waiting, _ = map(int, f.read().split())
    except OSError:
        break  # it exited
    samples.append((time.monotonic(), on_cpu, waiting))
    time.sleep(0.01)
if len(samples) < 2:
    sys.exit("the process exited before two samples")

t0 = samples[0][0]
windows, j = [], 0
for t, on_cpu, waiting in samples:
    while t - samples[j][0] > 0.3:
        j += 1
    windows.append(((waiting - samples[j][2]) / 1e6, (on_cpu - samples[j][1]) / 1e6, t - t0))
on_total = (samples[-1][1] - samples[0][1]) / 1e6
wait_total = (samples[-1][2] - samples[0][2]) / 1e6
print(f"pid {pid}, {samples[-1][0] - t0:.1f} s: main thread on a CPU {on_total:.0f} ms, runnable but waiting for a CPU {wait_total:.0f} ms")
def worst(key):
    chosen = []  # three windows that do not overlap
    for w in sorted(windows, key=key):
        if all(abs(w[2] - c[2]) >= 0.3 for c in chosen):
            chosen.append(w)
        if len(chosen) == 3:
            break
    return ", ".join(f"{w:.0f}/{c:.0f} ms at {at:.1f} s" for w, c, at in chosen)
print("worst 300 ms windows by waiting (waiting/on a CPU):", worst(lambda w: -w[0]))
print("worst 300 ms windows by work (waiting/on a CPU):", worst(lambda w: -w[1]))
