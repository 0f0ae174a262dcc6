// Server-side screen models: every session's output is parsed by an @xterm/headless terminal so a
// client that (re)attaches can be sent the current screen (vim's alternate screen, cursor, colours,
// modes, scrollback) instead of a raw replay. This is the main-thread side; the terminals live in
// ONE worker (screen-worker.ts) for the whole server, so parsing never runs on the event loop.
// Owns the worker's lifetime, snapshot deadlines and the messages; knows nothing of PTYs or sockets.
//
// Output reaches the worker without any work here: each session's OutputLog is shared memory, and
// the worker reads it on its own timer. Only create/resize/snapshot/dispose are messages, each
// stamped with the log's end offset so it applies at its exact place in the byte stream.
//
// Trade-offs, on purpose (details in screen-worker.ts):
// - During a flood the worker stops parsing (what the log would soon overwrite is skipped unparsed)
//   and, once the flood calms or a snapshot is asked for, parses only the newest KEEP_BYTES. The screen is right (a flood's tail redraws it); what
//   scrolled by only during the flood is missing from the model's scrollback.
// - Output older than the log (the worker fell more than the log's size behind) is skipped.
// - If the worker dies, a new one is started and every model is rebuilt from what its log still
//   holds. A hung worker is not restarted: snapshot() answers null at its deadline.

import { within } from "./deadline.ts";
import type { LogFn } from "./log.ts";
import { OutputLog, type SharedLog } from "./outlog.ts";

export const DEFAULT_SCROLLBACK_LINES = 1000;
/** Default deadline of snapshot(), in ms. */
export const SNAPSHOT_TIMEOUT_MS = 2000;
/** How often the worker looks for new output in the logs... */
export const POLL_MS = 10;
/**
 * ...and how often once no log has changed for IDLE_AFTER_MS: idle sessions then cost 10 wakeups
 * a second instead of 100. Output slower than the flood rate cannot fill half a log in this long,
 * and a flood found late is parsed from its tail as usual.
 */
export const IDLE_POLL_MS = 100;
export const IDLE_AFTER_MS = 200;
/**
 * A model whose output came faster than this on average over FLOOD_WINDOW_MS is in a flood: when
 * it is next parsed, only the newest KEEP_BYTES are (parsing a flood costs as much CPU as making
 * it: in a storm of sessions started and flooded, the worker parsed 150 MiB of `yes` in 20 s).
 */
export const FLOOD_BYTES_PER_S = 4 << 20;
export const FLOOD_WINDOW_MS = 250;
/** A flood has calmed once no output came for this long. */
export const QUIET_MS = 50;
/**
 * After a flood, only the newest this-many bytes are parsed: enough to redraw any screen and a good
 * part of the scrollback. (2 MiB cost the worker 5 s of CPU in the 300-disconnect storm test, 60 of
 * whose sessions end in a `yes` flood; the event loop lagged 700+ ms for it.)
 */
export const KEEP_BYTES = 256 * 1024;

export interface Snapshot {
  /** Terminal bytes that reproduce the screen when written into a freshly reset terminal of cols x rows. */
  data: string;
  /** Absolute output offset the snapshot corresponds to. */
  offset: number;
  cols: number;
  rows: number;
}

export type ToWorker =
  | { t: "init"; scrollback: number; stats: SharedArrayBuffer; pollMs: number; idlePollMs: number; idleAfterMs: number; floodRate: number; floodWindowMs: number; quietMs: number; keepBytes: number }
  | { t: "create"; h: number; cols: number; rows: number; log: SharedLog; from: number }
  | { t: "resize"; h: number; cols: number; rows: number; at: number }
  | { t: "snapshot"; h: number; req: number; at: number; keep?: number }
  | { t: "dispose"; h: number };
export type FromWorker = { t: "snapshot"; req: number; snapshot: Snapshot | null };
/** Slots of the shared stats array (Float64Array; only the worker writes). */
export const Stat = { skipped: 0, backlog: 1, parsed: 2, length: 3 } as const;

interface Model {
  h: number;
  log: OutputLog;
  cols: number;
  rows: number;
}

export class ScreenModels {
  private readonly scrollback: number;
  private readonly workerUrl: URL;
  private readonly log: LogFn;
  private readonly models = new Map<string, Model>();
  private worker: Worker | null = null;
  private stats_ = new Float64Array(new SharedArrayBuffer(Stat.length * 8));
  private skippedEarlier = 0;
  private parsedEarlier = 0;
  private readonly waiting = new Map<number, (s: Snapshot | null) => void>();
  private nextHandle = 1;
  private nextReq = 1;

  /**
   * `workerUrl`: where screen-worker.ts is. The default is right when run from source; a bundle
   * (bun build --compile) puts modules' import.meta.url at the executable, so its composition
   * root (server/app.ts) passes the worker's place in the bundle instead.
   */
  constructor(opts: { scrollback?: number; log?: LogFn; workerUrl?: URL } = {}) {
    this.scrollback = opts.scrollback ?? DEFAULT_SCROLLBACK_LINES;
    this.log = opts.log ?? (() => {});
    this.workerUrl = opts.workerUrl ?? new URL("./screen-worker.ts", import.meta.url);
  }

  /**
   * A model for session `id` that follows `log` from its current end (replaces one of the same id).
   * Without a log, the model gets its own, starting at `offset`; feed it with write().
   */
  create(id: string, cols: number, rows: number, log?: OutputLog, offset = 0): void {
    if (this.models.has(id)) this.dispose(id);
    const m: Model = { h: this.nextHandle++, log: log ?? new OutputLog(undefined, offset), cols, rows };
    this.models.set(id, m);
    this.post({ t: "create", h: m.h, cols, rows, log: m.log.shared, from: m.log.end });
  }

  /** Appends to a model's own log (for models created without a session's log). */
  write(id: string, bytes: Uint8Array): void {
    this.models.get(id)?.log.append(bytes);
  }

  /** Applies after every byte of output so far, before every later byte. */
  resize(id: string, cols: number, rows: number): void {
    const m = this.models.get(id);
    if (!m) return;
    Object.assign(m, { cols, rows });
    this.post({ t: "resize", h: m.h, cols, rows, at: m.log.end });
  }

  /**
   * The screen once all output so far is parsed; null for an unknown model, or at the deadline.
   * `keep`: parse at most this much of the output not parsed yet (the newest), skipping the rest,
   * for an answer that is wanted now (a Ctrl-C in a flood) more than a complete scrollback.
   */
  async snapshot(id: string, timeoutMs = SNAPSHOT_TIMEOUT_MS, keep?: number): Promise<Snapshot | null> {
    const m = this.models.get(id);
    if (!m) return null;
    const req = this.nextReq++;
    const answer = new Promise<Snapshot | null>((resolve) => this.waiting.set(req, resolve));
    this.post({ t: "snapshot", h: m.h, req, at: m.log.end, ...(keep === undefined ? {} : { keep }) });
    const result = await within(answer, timeoutMs, null);
    this.waiting.delete(req);
    return result;
  }

  dispose(id: string): void {
    const m = this.models.get(id);
    if (!m) return;
    this.models.delete(id);
    if (this.worker) this.post({ t: "dispose", h: m.h });
  }

  /** Terminates the worker and forgets every model. */
  stop(): void {
    const w = this.worker;
    this.worker = null;
    w?.terminate();
    this.models.clear();
    this.answerAll();
  }

  [Symbol.dispose](): void {
    this.stop();
  }

  /** Models hosted; output not yet parsed (all models); output skipped so far (floods, a lagging worker); output parsed so far. */
  stats(): { sessions: number; backlogBytes: number; skippedBytes: number; parsedBytes: number } {
    return {
      sessions: this.models.size, backlogBytes: this.stats_[Stat.backlog]!, skippedBytes: this.skippedEarlier + this.stats_[Stat.skipped]!,
      parsedBytes: this.parsedEarlier + this.stats_[Stat.parsed]!,
    };
  }

  private post(msg: ToWorker): void {
    (this.worker ?? this.start()).postMessage(msg);
  }

  private start(): Worker {
    // scripts/build.ts embeds screen-worker.ts as an extra entry point (see the constructor).
    const w = new Worker(this.workerUrl);
    // The worker alone must not keep the process alive. (lib.dom's Worker type has no unref.)
    (w as unknown as { unref(): void }).unref();
    this.worker = w;
    this.skippedEarlier += this.stats_[Stat.skipped]!;
    this.parsedEarlier += this.stats_[Stat.parsed]!;
    this.stats_ = new Float64Array(new SharedArrayBuffer(Stat.length * 8));
    w.addEventListener("message", (e: MessageEvent<FromWorker>) => {
      this.waiting.get(e.data.req)?.(e.data.snapshot);
      this.waiting.delete(e.data.req);
    });
    w.addEventListener("error", (e) => this.lose(w, e instanceof ErrorEvent ? e.message : "error"));
    w.addEventListener("close", (e: Event) => this.lose(w, `exited with code ${(e as CloseEvent).code}`));
    w.postMessage({
      t: "init", scrollback: this.scrollback, stats: this.stats_.buffer as SharedArrayBuffer,
      pollMs: POLL_MS, idlePollMs: IDLE_POLL_MS, idleAfterMs: IDLE_AFTER_MS, floodRate: FLOOD_BYTES_PER_S, floodWindowMs: FLOOD_WINDOW_MS, quietMs: QUIET_MS, keepBytes: KEEP_BYTES,
    } satisfies ToWorker);
    return w;
  }

  /** The worker died: start a new one and rebuild every model from what its log still holds. */
  private lose(w: Worker, reason: string): void {
    if (this.worker !== w) return; // already replaced or stopped
    this.worker = null;
    w.terminate();
    this.log("screen.worker_lost", { reason, models: this.models.size }, "error");
    this.answerAll();
    for (const m of this.models.values()) this.post({ t: "create", h: m.h, cols: m.cols, rows: m.rows, log: m.log.shared, from: m.log.start });
  }

  private answerAll(): void {
    for (const resolve of this.waiting.values()) resolve(null);
    this.waiting.clear();
  }
}
