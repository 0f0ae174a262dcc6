// Benchmarks of shared, long-lived sessions: one flood read by three clients at once, attach
// time with and without warm spares, and how fast a viewer that stopped reading catches up.
// Each takes running servers and returns plain numbers; scripts/bench.ts orchestrates.

import type { Resumed } from "../../protocol/index.ts";
import { connect, type Conn } from "./client.ts";
import { FIRST_OUTPUT_TIMEOUT_MS, health, waitSessionsZero, watchLag } from "./measures.ts";
import { cpuSeconds, type Server } from "./procs.ts";
import { RawWs } from "./rawws.ts";
import { deadline, max, median, percentile, pollUntil, sleep } from "./util.ts";

const MB = 1e6;
/** Longest one three-client flood may take. */
const MULTI_TIMEOUT_MS = 120_000;
/** How long viewers get to attach (the program sleeps 0.5 s before its output starts). */
const VIEWER_ATTACH_TIMEOUT_MS = 5_000;

export interface Stats {
  samples: number;
  p50: number;
  p95: number;
  max: number;
}
const stats = (xs: number[]): Stats => ({ samples: xs.length, p50: median(xs), p95: percentile(xs, 95), max: max(xs) });

// ---- throughput with three clients on one session ----

export interface ClientRun {
  role: "writer" | "viewer";
  resumed: Resumed;
  bytes: number;
  frames: number;
  /** `snapshot` messages received: times the server skipped this client ahead instead of sending every byte. */
  snapshots: number;
  /** ms from the first output byte any client received to this client's hello (negative: before output began). */
  helloMs: number;
  /** ms from the first output byte any client received to this client's first byte, and to its `exit` message. */
  firstMs: number;
  endMs: number;
  /** bytes / (end - first output byte at any client), MB/s. */
  mbps: number;
}

export interface MultiRun {
  clients: ClientRun[];
  /** The slowest client: seconds from the first output byte (any client) to its `exit`, and its MB/s. */
  seconds: number;
  mbps: number;
  /** CPU seconds: server, program (sh and its pipeline), the bench process (all three WebSocket clients). */
  serverCpu: number;
  programCpu: number;
  clientCpu: number;
  /** Largest server event-loop lag seen during the run (polled /api/health), ms. */
  lagMaxMs: number;
}

/**
 * The server's command sleeps, then floods. A writer opens a new session, `viewers` more
 * clients attach to it with `?session=ID&mode=view&offset=0` during the sleep; every client
 * counts binary bytes until the `exit` message. None sends acks (socket backpressure only).
 */
export async function multiClientRun(server: Server, viewers: number): Promise<MultiRun> {
  const c0 = cpuSeconds(server.pid)!;
  const cpu0 = process.cpuUsage();
  const lag = watchLag(server, 50);
  const all: { conn: Conn; role: ClientRun["role"]; bytes: number; frames: number; firstAt: number }[] = [];
  const add = (url: string, role: ClientRun["role"]) => {
    const c = { conn: connect(url), role, bytes: 0, frames: 0, firstAt: 0 };
    c.conn.onBytes = (b) => {
      if (c.frames === 0) c.firstAt = performance.now();
      c.bytes += b.byteLength;
      c.frames++;
    };
    all.push(c);
    return c;
  };
  try {
    const writer = add(server.wsUrl, "writer");
    const id = (await deadline(writer.conn.hello, FIRST_OUTPUT_TIMEOUT_MS, "writer hello")).message.session;
    for (let i = 0; i < viewers; i++) add(`${server.wsUrl}?session=${encodeURIComponent(id)}&mode=view&offset=0`, "viewer");
    const hellos = await deadline(Promise.all(all.map((c) => c.conn.hello)), VIEWER_ATTACH_TIMEOUT_MS, "viewer hellos");
    const exits = await deadline(Promise.all(all.map((c) => c.conn.exit)), MULTI_TIMEOUT_MS, "exit messages").catch((e) => {
      throw new Error(`${(e as Error).message}; bytes so far ${all.map((c) => `${c.role} ${c.bytes}`).join(", ")}`);
    });
    for (const e of exits) if (e.message.code !== 0) throw new Error(`program exited with ${JSON.stringify(e.message)}`);
    const start = Math.min(...all.filter((c) => c.frames > 0).map((c) => c.firstAt));
    if (!Number.isFinite(start)) throw new Error("no client received any output");
    const clients: ClientRun[] = all.map((c, i) => {
      const endMs = exits[i]!.at - start;
      return {
        role: c.role, resumed: hellos[i]!.message.resumed, bytes: c.bytes, frames: c.frames, snapshots: c.conn.snapshots,
        helloMs: hellos[i]!.at - start, firstMs: c.frames ? c.firstAt - start : NaN, endMs, mbps: c.bytes / MB / (endMs / 1000),
      };
    });
    const slowest = clients.reduce((a, b) => (b.mbps < a.mbps ? b : a));
    const cpu = process.cpuUsage(cpu0);
    const c1 = cpuSeconds(server.pid)!;
    const lags = await lag.stop();
    return {
      clients, seconds: slowest.endMs / 1000, mbps: slowest.mbps,
      serverCpu: c1.self - c0.self, programCpu: c1.children - c0.children, clientCpu: (cpu.user + cpu.system) / 1e6,
      lagMaxMs: Math.max(0, ...Object.values(lags)),
    };
  } finally {
    await lag.stop();
    await Promise.all(all.map((c) => c.conn.close()));
    await waitSessionsZero(server, 5000);
  }
}

// ---- attach time, with and without warm spares ----

export interface AttachSide {
  /** `new WebSocket` -> first binary frame or `snapshot` message, ms. */
  screen: Stats;
  /** `new WebSocket` -> hello, ms. */
  hello: Stats;
  /** How the first screen came: a binary frame (a session started for us) or a `snapshot` (a spare that had printed its prompt). */
  kinds: { bytes: number; snapshot: number };
  /** `hello.resumed` counts. */
  resumed: Record<string, number>;
  /** The first sample's first screen, as text (to check it is the prompt). */
  firstScreen: string;
  /** Samples after which the server still listed a session 5 s after its socket closed. */
  lingering: number;
}

export interface AttachResult {
  plain: AttachSide;
  pooled: AttachSide & {
    poolSize: number;
    /** Samples before which the spares were not back to poolSize by the deadline (the sample ran anyway). */
    notRefilled: number;
    /** From the previous sample's close to spares == poolSize again, ms (includes the fixed pause). */
    refill: Stats;
  };
  /** p50 without spares minus p50 with, ms; and their quotient. */
  gainP50Ms: number;
  speedupP50: number;
}

/** Pause after each sample before checking that the spares are back. */
const ATTACH_PAUSE_MS = 150;
/** Longest wait for the spares to be back to full. */
const REFILL_TIMEOUT_MS = 10_000;

async function attachOnce(server: Server): Promise<{ ms: number; helloMs: number; kind: "bytes" | "snapshot"; resumed: Resumed; text: string; lingering: boolean }> {
  const conn = connect(server.wsUrl);
  let r;
  try {
    const first = await deadline(conn.firstScreen, FIRST_OUTPUT_TIMEOUT_MS, "first screen");
    const h = await deadline(conn.hello, 1000, "hello");
    r = { ms: first.at - conn.t0, helloMs: h.at - conn.t0, kind: first.kind, resumed: h.message.resumed, text: first.text };
  } finally {
    await conn.close();
  }
  const lingering = (await waitSessionsZero(server, 5000)) === null;
  return { ...r, lingering };
}

/** Waits until the server reports `n` spares; returns the ms it took, or null at the deadline. */
async function waitSpares(server: Server, n: number, ms = REFILL_TIMEOUT_MS): Promise<number | null> {
  const t0 = performance.now();
  const ok = await pollUntil(async () => ((await health(server).catch(() => null))?.spares === n ? true : undefined), ms, 10);
  return ok ? performance.now() - t0 : null;
}

/**
 * New sessions of the servers' shell, strictly sequential and alternating between a server
 * without spares and one with `poolSize` spares; before each pooled sample the spares must be
 * back to full (with a deadline).
 */
export async function attachTimes(plain: Server, pooled: Server, poolSize: number, samples: number, warmup: number): Promise<AttachResult> {
  const side = () => ({ screen: [] as number[], hello: [] as number[], kinds: { bytes: 0, snapshot: 0 }, resumed: {} as Record<string, number>, firstScreen: "", lingering: 0 });
  const a = side(), b = side();
  const refill: number[] = [];
  let notRefilled = 0;
  if ((await waitSpares(pooled, poolSize)) === null) throw new Error(`the server with --pool-size ${poolSize} did not report ${poolSize} spares within ${REFILL_TIMEOUT_MS} ms of start`);
  for (let i = 0; i < warmup + samples; i++) {
    // Alternate which server goes first.
    for (const which of i % 2 === 0 ? ["plain", "pooled"] as const : ["pooled", "plain"] as const) {
      const s = which === "plain" ? plain : pooled, acc = which === "plain" ? a : b;
      const r = await attachOnce(s);
      const closedAt = performance.now();
      await sleep(ATTACH_PAUSE_MS);
      if (which === "pooled") {
        const w = await waitSpares(pooled, poolSize);
        if (i >= warmup) {
          if (w === null) notRefilled++;
          else refill.push(performance.now() - closedAt);
        }
      }
      if (i < warmup) continue;
      acc.screen.push(r.ms);
      acc.hello.push(r.helloMs);
      acc.kinds[r.kind]++;
      acc.resumed[r.resumed] = (acc.resumed[r.resumed] ?? 0) + 1;
      if (!acc.firstScreen) acc.firstScreen = r.text.slice(0, 80);
      if (r.lingering) acc.lingering++;
    }
  }
  const done = (x: ReturnType<typeof side>): AttachSide => ({ ...x, screen: stats(x.screen), hello: stats(x.hello) });
  const p = done(a), q = done(b);
  return {
    plain: p,
    pooled: { ...q, poolSize, notRefilled, refill: stats(refill) },
    gainP50Ms: p.screen.p50 - q.screen.p50,
    speedupP50: p.screen.p50 / q.screen.p50,
  };
}

// ---- a viewer that stops reading, then catches up ----

export interface CatchupSample {
  /** From resume() to: snapshot received and MARK-42 seen after it, ms. */
  ms: number;
  /** From resume() to the first snapshot message, ms (null: none came). */
  snapshotMs: number | null;
  /** Where MARK-42 was seen: in the snapshot's data, or in binary bytes after it ("bytes-no-snapshot": without any snapshot). */
  markIn: "snapshot" | "bytes" | "bytes-no-snapshot";
  snapshotsAfterResume: number;
  /** Bytes the viewer read from its socket after resume (frame headers included), and binary payload among them. */
  viewerWireAfterResume: number;
  viewerBinaryAfterResume: number;
  /** Binary payload bytes the viewer read before its first post-resume snapshot: what sat in socket buffers. */
  viewerBinaryBeforeSnapshot: number;
  /** Everything the viewer read over the sample (wire bytes). */
  viewerWireTotal: number;
  /** Output the session produced by the time the writer saw MARK-42 (`yes` and the rest), bytes. */
  sessionBytes: number;
  /** The writer: binary bytes received, snapshots received, and ms from Ctrl-C to seeing MARK-42. */
  writerBytes: number;
  writerSnapshots: number;
  writerMarkMs: number;
  /** How long the viewer was paused, ms. */
  pausedMs: number;
}

export interface CatchupResult {
  samples: CatchupSample[];
  ms: Stats;
  viewerWireAfterResumeP50: number;
  sessionBytesP50: number;
}

const MARK = "MARK-42";
/** How long `yes` runs while the viewer does not read. */
export const FLOOD_MS = 3000;
/** Deadlines: the writer seeing MARK-42 after Ctrl-C; the viewer after resume. */
const WRITER_MARK_TIMEOUT_MS = 30_000;
const VIEWER_MARK_TIMEOUT_MS = 30_000;

/** Finds MARK in a byte stream split into arbitrary pieces. */
function markFinder() {
  let tail = "";
  return (bytes: Uint8Array): boolean => {
    const s = tail + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
    tail = s.slice(-(MARK.length - 1));
    return s.includes(MARK);
  };
}

async function api(server: Server, path: string, method = "GET"): Promise<Response> {
  return fetch(server.url + path.replace(/^\//, ""), { method, signal: AbortSignal.timeout(10_000) });
}

/**
 * One sample. The server runs an interactive shell with the default grace period. A writer
 * (Bun WebSocket, reads everything) opens a session; a viewer on a raw TCP socket attaches,
 * takes its first snapshot and stops reading; the writer runs `yes` for FLOOD_MS, then Ctrl-C
 * and `clear; echo MARK-$((6*7))`; once the writer sees MARK-42, the viewer reads again.
 */
export async function catchupOnce(server: Server): Promise<CatchupSample> {
  const port = Number(new URL(server.url).port);
  const writer = connect(server.wsUrl);
  let viewer: RawWs | null = null;
  let id: string | null = null;
  try {
    id = (await deadline(writer.hello, FIRST_OUTPUT_TIMEOUT_MS, "writer hello")).message.session;
    await deadline(writer.firstOutput, FIRST_OUTPUT_TIMEOUT_MS, "writer prompt");
    let writerBytes = 0, writerMarkAt = 0;
    const writerFind = markFinder();
    const writerMark = Promise.withResolvers<void>();
    writer.onBytes = (b) => {
      writerBytes += b.byteLength;
      if (!writerMarkAt && writerFind(b)) {
        writerMarkAt = performance.now();
        writerMark.resolve();
      }
    };
    writer.onSnapshot = (m, at) => {
      if (!writerMarkAt && m.data.includes(MARK)) {
        writerMarkAt = at;
        writerMark.resolve();
      }
    };

    viewer = await RawWs.open(port, `/ws?session=${encodeURIComponent(id)}&mode=view`, 5000);
    const v = viewer;
    const hello = await deadline(v.hello, 5000, "viewer hello");
    if (hello.resumed === "snapshot") await deadline(pollUntil(() => (v.snapshots > 0 ? true : undefined), 5000), 5500, "viewer's first snapshot");
    const pausedAt = performance.now();
    v.pause();

    const enc = new TextEncoder();
    writer.ws.send(enc.encode("yes\r"));
    await sleep(FLOOD_MS);
    const ctrlC = performance.now();
    writer.ws.send(enc.encode("\x03"));
    await sleep(200); // let bash print its new prompt before the next line (Ctrl-C also flushes the tty's input)
    writer.ws.send(enc.encode(`clear; echo MARK-$((6*7))\r`));
    await deadline(writerMark.promise, WRITER_MARK_TIMEOUT_MS, `writer seeing ${MARK}`);
    const res = await api(server, `api/sessions/${encodeURIComponent(id)}`);
    const sessionBytes = res.ok ? ((await res.json()) as { offset: number }).offset : NaN;

    // The viewer reads again.
    const wire0 = v.wireBytes, bin0 = v.binaryBytes, snaps0 = v.snapshots;
    let snapshotAt: number | null = null, binBeforeSnapshot = 0;
    const done = Promise.withResolvers<{ at: number; markIn: CatchupSample["markIn"] }>();
    const viewerFind = markFinder();
    v.onMessage = (m, at) => {
      if (m.type !== "snapshot") return;
      snapshotAt ??= at;
      if (m.data.includes(MARK)) done.resolve({ at, markIn: "snapshot" });
    };
    v.onBinary = (b, at) => {
      if (snapshotAt === null) binBeforeSnapshot += b.byteLength;
      if (viewerFind(b)) done.resolve({ at, markIn: snapshotAt === null ? "bytes-no-snapshot" : "bytes" });
    };
    const t0 = performance.now();
    v.resume();
    const got = await deadline(done.promise, VIEWER_MARK_TIMEOUT_MS, `viewer seeing ${MARK} after resume`).catch((e) => {
      throw new Error(`${(e as Error).message} (read ${v.wireBytes - wire0} bytes, ${v.snapshots - snaps0} snapshots since resume)`);
    });
    await sleep(100); // what follows right after (the rest of the frame burst) counts too
    return {
      ms: got.at - t0,
      snapshotMs: snapshotAt === null ? null : snapshotAt - t0,
      markIn: got.markIn,
      snapshotsAfterResume: v.snapshots - snaps0,
      viewerWireAfterResume: v.wireBytes - wire0,
      viewerBinaryAfterResume: v.binaryBytes - bin0,
      viewerBinaryBeforeSnapshot: binBeforeSnapshot,
      viewerWireTotal: v.wireBytes,
      sessionBytes,
      writerBytes,
      writerSnapshots: writer.snapshots,
      writerMarkMs: writerMarkAt - ctrlC,
      pausedMs: t0 - pausedAt,
    };
  } finally {
    viewer?.destroy();
    await writer.close();
    // The session outlives its clients (default grace): end it through the API.
    if (id !== null) await api(server, `api/sessions/${encodeURIComponent(id)}`, "DELETE").catch(() => null);
    if (viewer) await deadline(viewer.closed, 3000, "viewer socket close").catch(() => {});
    await waitSessionsZero(server, 10_000);
  }
}

export function catchupSummary(samples: CatchupSample[]): CatchupResult {
  return {
    samples,
    ms: stats(samples.map((s) => s.ms)),
    viewerWireAfterResumeP50: median(samples.map((s) => s.viewerWireAfterResume)),
    sessionBytesP50: median(samples.map((s) => s.sessionBytes)),
  };
}
