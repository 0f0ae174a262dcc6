// Dropped connections must never lock anybody out (issue #10), with DEFAULT flags: sessions
// outlive their sockets for the grace period, so a storm of abrupt disconnects must not fill the
// session limit, the process table, the fds or the memory. While 1,000+ disconnects of every kind
// happen, a legitimate user opens a fresh terminal every 2 s; every one must get its hello, its
// prompt and a working echo, and /api/health must answer promptly throughout.
// Then, with a short --grace, everything the storm left must be gone after the grace period.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdir } from "node:fs/promises";
import { markedProcesses, PROMPT, startServer, TestClient, until, type TestServer } from "./harness.ts";
import { SPARE_RINGS_MAX } from "../server/core/outlog.ts";
import { KINDS, percentile, stormProcess } from "./storm.ts";

/** Documented bounds (docs/protocol.md, "Session lifetime"), at the default flags. */
const MAX_SESSIONS = 64;
const MAX_DETACHED = 32;
/** At most --max-sessions sessions are being ended (reaped) at once. */
const MAX_ENDING = MAX_SESSIONS;
/** Each storm session runs its shell and at most two more processes (a pipeline). */
const PROCS_PER_SESSION = 3;
/** fds of the server: its baseline, plus at most this many per live or ending session (PTY, pipes) and per socket. */
const FDS_PER_SESSION = 6;
/** The server's own ~100 MB, plus at most 9 MiB (its 8 MiB output log) per live session and per reusable log kept (docs). */
const RSS_BOUND_BYTES = 100 * 2 ** 20 + (MAX_SESSIONS + SPARE_RINGS_MAX) * 9 * 2 ** 20;

const PER_KIND = 130; // x 8 kinds = 1,040 disconnects
const CONCURRENCY = 20;
const LEGIT_EVERY_MS = 2000;

let server: TestServer;
beforeAll(async () => {
  server = await startServer(); // default flags: --grace 300, --max-sessions 64, --max-detached 32
});
afterAll(async () => {
  await server.stop();
});

const fdCount = async (pid: number) => (await readdir(`/proc/${pid}/fd`)).length;

/** One legitimate user's new terminal: hello, prompt, echo. Returns a failure reason or null. */
async function legitimateTerminal(s: TestServer, n: number): Promise<string | null> {
  const c = new TestClient(s);
  try {
    if (!(await until(() => c.hello() || c.closed, 10_000))) return "no hello in 10 s";
    if (!c.hello()) return `refused: ${JSON.stringify(c.closed)}`;
    if (!(await c.waitFor(new RegExp(PROMPT.replace("$", "\\$")), 10_000))) return "no prompt in 10 s";
    c.type(`echo legit-$((${n}*3))\r`);
    if (!(await c.waitFor(new RegExp(`legit-${n * 3}`), 10_000))) return "no echo in 10 s";
    return null;
  } finally {
    c.close();
  }
}

test(`default flags: ${PER_KIND * Object.keys(KINDS).length} abrupt disconnects never lock a legitimate user out; sessions, processes, fds and memory stay bounded`, async () => {
  const port = Number(server.url.port);
  const warm = await TestClient.open(server); // the lazily started parts (screen worker) hold fds of their own
  warm.close();
  await Bun.sleep(300);
  const fdsBase = await fdCount(server.pid);

  let running = true;
  const lat: number[] = [];
  let pollFailures = 0;
  const peak = { sessions: 0, detached: 0, ending: 0, rss: 0, fds: 0, procs: 0, lag: 0 };
  const poller = (async () => {
    while (running) {
      const t = performance.now();
      try {
        const h = await server.health(2000);
        lat.push(performance.now() - t);
        peak.sessions = Math.max(peak.sessions, h.sessions);
        peak.detached = Math.max(peak.detached, h.detached ?? 0);
        peak.ending = Math.max(peak.ending, h.ending ?? 0);
        peak.rss = Math.max(peak.rss, h.rssBytes);
        peak.lag = Math.max(peak.lag, h.eventLoopLagMaxMs);
      } catch {
        pollFailures++;
      }
      await Bun.sleep(50);
    }
  })();
  const sampler = (async () => {
    while (running) {
      peak.fds = Math.max(peak.fds, await fdCount(server.pid).catch(() => 0));
      peak.procs = Math.max(peak.procs, (await markedProcesses(server.mark)).length);
      await Bun.sleep(500);
    }
  })();

  const legit = { attempted: 0, opened: 0, failures: [] as string[] };
  let stormDone = false, after = 0;
  const user = (async () => {
    // During the storm, and three more terminals after it.
    while (!stormDone || after++ < 3) {
      const t = performance.now();
      legit.attempted++;
      const why = await legitimateTerminal(server, legit.attempted);
      if (why) legit.failures.push(`#${legit.attempted}${stormDone ? " (after)" : ""}: ${why}`);
      else legit.opened++;
      await Bun.sleep(Math.max(0, LEGIT_EVERY_MS - (performance.now() - t)));
    }
  })();

  const started = performance.now();
  const cuts = await stormProcess(port, server.token, PER_KIND, CONCURRENCY);
  const stormMs = performance.now() - started;
  stormDone = true;
  await user;
  running = false;
  await Promise.all([poller, sampler]);

  const h = await server.health();
  const bounds = {
    procs: (MAX_SESSIONS + MAX_ENDING) * PROCS_PER_SESSION,
    fds: fdsBase + (MAX_SESSIONS + MAX_ENDING) * FDS_PER_SESSION + CONCURRENCY * 2,
  };
  console.log(
    `storm (default flags): ${cuts} disconnects in ${(stormMs / 1000).toFixed(1)} s; fresh terminals opened ${legit.opened}/${legit.attempted}; ` +
      `health p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms (${lat.length} polls, ${pollFailures} failed); ` +
      `peak sessions ${peak.sessions} (detached ${peak.detached}, ending ${peak.ending}), processes ${peak.procs}/${bounds.procs}, fds ${fdsBase} -> ${peak.fds}/${bounds.fds}, ` +
      `RSS ${(peak.rss / 2 ** 20).toFixed(0)} MiB; server event-loop lag max ${peak.lag} ms; evicted ${h.sessionsEvicted}; after: ${h.sessions} sessions (${h.detached} detached)`,
  );
  expect(legit.failures).toEqual([]);
  expect(legit.opened).toBe(legit.attempted);
  expect(pollFailures).toBe(0);
  expect(percentile(lat, 99)).toBeLessThan(250);
  expect(peak.sessions).toBeLessThanOrEqual(MAX_SESSIONS);
  expect(peak.detached).toBeLessThanOrEqual(MAX_DETACHED);
  expect(peak.ending).toBeLessThanOrEqual(MAX_ENDING);
  expect(peak.procs).toBeLessThanOrEqual(bounds.procs);
  expect(peak.fds).toBeLessThanOrEqual(bounds.fds);
  expect(peak.rss).toBeLessThanOrEqual(RSS_BOUND_BYTES);
  expect(h.sessionsEvicted).toBeGreaterThan(0); // the storm did fill the detached budget
}, 240_000);

test("after the grace period (--grace 3), nothing of a storm remains: 0 sessions, 0 processes, fds at their baseline", async () => {
  const s = await startServer({ args: ["--grace", "3"] });
  try {
    const warm = await TestClient.open(s);
    warm.close();
    await Bun.sleep(300);
    const fdsBase = await fdCount(s.pid);
    const cuts = await stormProcess(Number(s.url.port), s.token, 40, CONCURRENCY);
    const stormEnd = performance.now();
    const emptied = await until(async () => {
      const h = await s.health();
      return h.sessions === 0 && h.ending === 0 && (await markedProcesses(s.mark)).length === 0;
    }, 20_000, 100);
    const back = performance.now() - stormEnd;
    const fds = await until(async () => (await fdCount(s.pid)) <= fdsBase + 2, 5000, 100);
    console.log(`storm (--grace 3): ${cuts} disconnects; back to 0 sessions and 0 processes ${(back / 1000).toFixed(1)} s after the storm; fds ${fdsBase} -> ${await fdCount(s.pid)}`);
    expect(emptied).toBe(true);
    expect(fds).toBe(true);
    const c = await TestClient.open(s);
    c.type("echo alive-$((4+4))\r");
    expect(await c.waitFor(/alive-8/)).toBe(true);
    c.close();
  } finally {
    await s.stop();
  }
}, 120_000);
