// How fast a viewer that stopped reading catches up (the `catchup` section): a writer and a
// viewer on one session, the viewer on a raw TCP socket it can stop reading.

import { connect } from "./client.ts";
import { FIRST_OUTPUT_TIMEOUT_MS, waitSessionsZero } from "./measures.ts";
import type { Server } from "./procs.ts";
import { RawWs } from "./rawws.ts";
import { deadline, max, median, percentile, pollUntil, sleep } from "./util.ts";


export interface Stats {
  samples: number;
  p50: number;
  p95: number;
  max: number;
}
const stats = (xs: number[]): Stats => ({ samples: xs.length, p50: median(xs), p95: percentile(xs, 95), max: max(xs) });

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
