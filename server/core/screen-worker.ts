// The screen-model thread: one @xterm/headless Terminal per session, every session in this one
// Worker. Owns reading the sessions' shared output logs, parsing, flood handling and
// serialization; knows nothing of PTYs or sockets. Its only peer is server/screen.ts.
//
// Flood mode: parsing costs about as much CPU as producing the output, and on a small machine that
// CPU comes out of the program's and the server's share. So when a model's unparsed output passes
// floodBytes, it stops parsing until the output has been quiet for quietMs or a snapshot is asked
// for, and then parses only the newest keepBytes. A flood's tail redraws the screen, so snapshots
// stay right; what scrolled by only during the flood is missing from the model's scrollback.

import { Terminal } from "@xterm/headless";
import { SerializeAddon } from "@xterm/addon-serialize";
import { copyOut, type SharedLog } from "./outlog.ts";
import { Stat, type FromWorker, type Snapshot, type ToWorker } from "./screen.ts";

declare var self: Worker;

/** Nice value of this thread: the screen models use what CPU the programs and the event loop leave. */
const WORKER_NICE = 10;

/**
 * Lowers this thread's scheduling priority (Linux: setpriority on the thread id). Parsing is
 * background work; on a 2-core machine at full priority it took a core from the event loop during
 * a burst of sessions (measured: event-loop lag 850 ms instead of 235 ms). Best effort.
 */
function lowerPriority(): void {
  if (process.platform !== "linux") return;
  try {
    const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
    const libc = dlopen("libc.so.6", {
      gettid: { args: [], returns: FFIType.i32 },
      setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
    });
    libc.symbols.setpriority(0 /* PRIO_PROCESS: one thread, by tid */, libc.symbols.gettid(), WORKER_NICE);
  } catch {} // no glibc, no FFI: run at normal priority
}
lowerPriority();

/** Largest chunk handed to xterm at once. */
const CHUNK_BYTES = 64 * 1024;
/** More resizes than this waiting for their place in the output make the model parse up to them. */
const MAX_MARKS = 256;

/** A resize or a snapshot request, to apply once output up to `at` is parsed. */
type Mark = { at: number } & ({ cols: number; rows: number } | { req: number; keep?: number });

interface Model {
  /** Null until the model is needed (LAZY_MS, or a snapshot). */
  term: Terminal | null;
  ser: SerializeAddon | null;
  /** The size to make the terminal at (later resizes are marks, applied in order). */
  cols: number;
  rows: number;
  ring: Uint8Array;
  end: BigInt64Array;
  /** Absolute offset: output parsed or skipped so far. */
  parsed: number;
  marks: Mark[];
  writing: boolean;
  flooding: boolean;
  lastEnd: number;
  lastChange: number;
  /** Where and when the current rate window began (flood detection by rate). */
  windowFrom: number;
  windowAt: number;
  disposed: boolean;
}

const models = new Map<number, Model>();
let stats: Float64Array<ArrayBufferLike> = new Float64Array(Stat.length);
let scrollback = 1000, floodRate = 4 << 20, floodWindowMs = 250, quietMs = 50, keepBytes = 2 * 1024 * 1024;
let timer: ReturnType<typeof setInterval> | undefined;
let pollMs = 10, idlePollMs = 100, idleAfterMs = 200;
/** The poll period in force, and when a log last changed (or a model was busy). */
let period = 0, lastActive = 0;

function poll(ms: number): void {
  if (period === ms) return;
  clearInterval(timer);
  timer = setInterval(tick, (period = ms));
}

const endOf = (m: Model) => Number(Atomics.load(m.end, 0));

function reply(msg: FromWorker): void {
  postMessage(msg);
}

function serialize(m: Model & { term: Terminal; ser: SerializeAddon }): Snapshot {
  // Normal buffer with its scrollback, then (if active) ?1049h and the alternate buffer, then the
  // modes (application cursor keys, bracketed paste, mouse tracking...). The cursor is placed last.
  const data = m.ser.serialize({ excludeAltBuffer: false, excludeModes: false });
  return { data, offset: m.parsed, cols: m.term.cols, rows: m.term.rows };
}

/** Makes the model's terminal when it is first needed. */
function materialize(m: Model): m is Model & { term: Terminal; ser: SerializeAddon } {
  if (m.term) return true;
  const term = new Terminal({ cols: m.cols, rows: m.rows, scrollback, allowProposedApi: true });
  const ser = new SerializeAddon();
  // The addon is typed against @xterm/xterm's Terminal; the headless one has the API surface it uses.
  term.loadAddon(ser as unknown as Parameters<Terminal["loadAddon"]>[0]);
  [m.term, m.ser] = [term, ser];
  return true;
}

function skipTo(m: Model, offset: number): void {
  if (offset <= m.parsed) return;
  stats[Stat.skipped]! += offset - m.parsed;
  m.parsed = offset;
}

/** Skips unparsed output up to `offset`; resizes inside the skipped part still apply, in order. */
function skipResizing(m: Model & { term: Terminal }, offset: number): void {
  while (m.marks.length > 0 && m.marks[0]!.at <= offset && !("req" in m.marks[0]!)) {
    const k = m.marks.shift()! as { cols: number; rows: number };
    m.term.resize(k.cols, k.rows);
  }
  skipTo(m, offset);
}

/** Applies every mark due at the parsed offset. */
function applyMarks(m: Model & { term: Terminal; ser: SerializeAddon }): void {
  while (m.marks.length > 0 && m.marks[0]!.at <= m.parsed) {
    const k = m.marks.shift()!;
    if ("req" in k) reply({ t: "snapshot", req: k.req, snapshot: serialize(m) });
    else m.term.resize(k.cols, k.rows);
  }
}

/** Parses what is due, one chunk at a time (xterm's write callback continues it). */
function step(m: Model): void {
  if (m.writing || m.disposed) return;
  const end = endOf(m);
  const now = performance.now();
  if (end !== m.lastEnd) [m.lastEnd, m.lastChange] = [end, now];
  // A flood: more than floodRate's worth of a window arrived within one window.
  if (end - m.windowFrom > (floodRate * floodWindowMs) / 1000) m.flooding = true;
  if (now - m.windowAt >= floodWindowMs) [m.windowFrom, m.windowAt] = [end, now];
  skipTo(m, end - m.ring.length); // older than the log: overwritten before we got to it
  const ask = m.marks.find((k) => "req" in k);
  // On demand: nothing is parsed until a snapshot is asked for, or the log would soon overwrite
  // what is not parsed yet (half of it), or too many resizes wait for their place.
  const urgent = end - m.parsed > m.ring.length / 2 || m.marks.length > MAX_MARKS;
  if (!ask && !urgent) return;
  if (!materialize(m)) return;
  applyMarks(m);
  const hurried = ask && "req" in ask && ask.keep !== undefined && ask.at - m.parsed > ask.keep ? ask.keep : null;
  if (m.flooding && !ask && now - m.lastChange < quietMs) {
    // Still flooding and nobody asks: nothing is parsed. What the log would soon overwrite is
    // skipped unparsed (the tail is parsed once the flood calms, or when a snapshot is asked for).
    if (end - m.parsed >= (m.ring.length * 3) / 4) skipResizing(m, end - keepBytes);
    return;
  }
  if (m.flooding || hurried !== null) {
    const target = ask ? ask.at : end;
    skipResizing(m, target - Math.min(keepBytes, hurried ?? keepBytes));
    m.flooding = false;
  }
  const limit = m.marks.length > 0 ? Math.min(end, m.marks[0]!.at) : end;
  if (limit <= m.parsed) return;
  const start = m.parsed;
  const chunk = copyOut(m.ring, start, Math.min(CHUNK_BYTES, limit - start));
  if (endOf(m) - m.ring.length > start) return step(m); // overwritten while we copied: skip it
  m.writing = true;
  m.term!.write(chunk, () => {
    m.writing = false;
    m.parsed = start + chunk.length;
    stats[Stat.parsed]! += chunk.length;
    step(m);
  });
}

function tick(): void {
  const now = performance.now();
  for (const m of models.values()) {
    const before = m.lastEnd;
    step(m);
    if (m.lastEnd !== before || m.writing || m.marks.length > 0 || endOf(m) !== m.lastEnd) lastActive = now;
  }
  updateBacklog();
  poll(now - lastActive > idleAfterMs ? idlePollMs : pollMs); // slower while every log is still
}

function updateBacklog(): void {
  let backlog = 0;
  for (const m of models.values()) backlog += Math.max(0, endOf(m) - m.parsed);
  stats[Stat.backlog] = backlog;
}

function create(h: number, cols: number, rows: number, log: SharedLog, from: number): void {
  models.set(h, {
    term: null, ser: null, cols, rows, ring: new Uint8Array(log.ring), end: new BigInt64Array(log.end), parsed: from, marks: [],
    writing: false, flooding: false, lastEnd: from, lastChange: performance.now(), windowFrom: from, windowAt: performance.now(), disposed: false,
  });
}

function handle(msg: ToWorker): void {
  if (msg.t === "init") {
    ({ scrollback, floodRate, floodWindowMs, quietMs, keepBytes, pollMs, idlePollMs, idleAfterMs } = msg);
    stats = new Float64Array(msg.stats);
    period = 0;
    lastActive = performance.now();
    poll(pollMs);
    return;
  }
  lastActive = performance.now();
  poll(pollMs); // a new model, a resize or a snapshot: output is likely to follow
  if (msg.t === "create") return create(msg.h, msg.cols, msg.rows, msg.log, msg.from);
  const m = models.get(msg.h);
  switch (msg.t) {
    case "resize":
      m?.marks.push({ at: msg.at, cols: msg.cols, rows: msg.rows });
      return m && step(m);
    case "snapshot":
      if (!m) return reply({ t: "snapshot", req: msg.req, snapshot: null });
      m.marks.push({ at: msg.at, req: msg.req, ...(msg.keep === undefined ? {} : { keep: msg.keep }) }); // answered when everything before it is parsed
      return step(m);
    case "dispose":
      if (!m) return;
      m.disposed = true;
      for (const k of m.marks) if ("req" in k) reply({ t: "snapshot", req: k.req, snapshot: null });
      m.term?.dispose();
      models.delete(msg.h);
      updateBacklog(); // a disposed model's backlog must not linger in the stats until the next tick
      return;
    default:
      // A programming error: let the thread die; screen.ts treats it like any other death.
      throw new Error(`screen-worker: unknown message type ${JSON.stringify((msg as { t?: unknown }).t)}`);
  }
}

// Installed before any await: Bun delivers messages as soon as the script's sync part has run.
self.onmessage = (e: MessageEvent<ToWorker>) => handle(e.data);
