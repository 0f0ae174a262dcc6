// Session recording (--record DIR): each session's output and resizes, written as an asciicast v2
// file (https://docs.asciinema.org/manual/asciicast/v2/): a header object on the first line, then
// one `[seconds, code, data]` array per line: "o" output, "r" resize ("COLSxROWS"), "m" marker.
//
// Owns the files: names, the write queue, the size limit, errors, listing. Knows nothing of
// PTYs, sockets or HTTP. The session feeds it (output, resize, end); when recording is off the
// session holds null and pays one null check per chunk.
//
// No-hang rules: writes go through fs/promises (the thread pool), never a *Sync call; what waits
// for the disk is bounded (MAX_QUEUED_BYTES, then the recording stops); a file is bounded
// (--record-max-bytes, then a marker event and the recording stops); any error (unwritable
// directory, disk full) is logged once and stops that recording, never the session.

import { mkdir, open, readdir, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { LogFn } from "./log.ts";

/** Media type of asciicast files (from the asciicast v2 specification). */
export const ASCIICAST_TYPE = "application/x-asciicast";
/** Recordings waiting for the disk above this much: the disk cannot keep up; that recording stops (with a marker). */
export const MAX_QUEUED_BYTES = 8 << 20;
/** At shutdown, how long open recordings get to write what they queued and close. */
export const CLOSE_DEADLINE_MS = 500;
/** A held recording (see `held`) with this much queued is committed anyway: a session that printed this much is worth keeping. */
export const HELD_COMMIT_BYTES = 1 << 20;
/** Header strings (title, command) are cut to this many characters. */
const HEADER_TEXT_CHARS = 200;
/** Files we write, and the only names GET /recordings/:name serves: ISO 8601 basic time, session id. */
export const RECORDING_NAME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-([A-Za-z0-9_-]{1,64})\.cast$/;

/** `20261128T054000Z-ID.cast` for a session created at that time (UTC; no ':' so it is a safe path and URL segment). */
export function recordingName(created: Date, sessionId: string): string {
  const iso = created.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
  return `${iso}-${sessionId}.cast`;
}

export interface RecordingInfo {
  name: string;
  size: number;
  /** When its session started (from the name), ISO 8601. */
  created: string;
}

export interface RecordingMeta {
  sessionId: string;
  created: Date;
  cols: number;
  rows: number;
  command: string[];
}

export interface RecorderOptions {
  /** The file to write. */
  path: string;
  /** Create it exclusively (never overwrite); false only for tests writing to a device. */
  exclusive?: boolean;
  maxBytes: number;
  meta: RecordingMeta;
  env: { TERM: string; SHELL: string };
  log: LogFn;
  /** Queue everything but create no file until commit() (or HELD_COMMIT_BYTES queued); end() before that writes nothing. */
  held?: boolean;
}

const cut = (s: string) => (s.length > HEADER_TEXT_CHARS ? `${s.slice(0, HEADER_TEXT_CHARS - 1)}…` : s);
/** Seconds since the start, to the microsecond. Rounding keeps the order of monotonic readings. */
const seconds = (ms: number) => Math.round(ms * 1000) / 1e6;

/** One session's recording. Every method returns at once; the writing happens behind it. */
export class Recorder {
  readonly path: string;
  private readonly opts: RecorderOptions;
  private readonly started = performance.now();
  private readonly decoder = new TextDecoder();
  private readonly queue: string[] = [];
  private queuedBytes = 0;
  /** Bytes accepted for the file so far (written or queued), header included. */
  private bytes = 0;
  /** No more events are accepted (limit reached, error, or end()). */
  private stopped = false;
  private endReason: "end" | "limit" | "slow" | "error" | "discarded" | null = null;
  private held: boolean;
  private release: (() => void) | null = null;
  private fh: FileHandle | null = null;
  /** Resolves once the file is closed (after end(), or after recording stopped on an error). Never rejects. */
  readonly closed: Promise<void>;
  private wake: (() => void) | null = null;

  constructor(opts: RecorderOptions) {
    this.opts = opts;
    this.path = opts.path;
    this.held = opts.held === true;
    const m = opts.meta;
    const command = m.command.join(" ");
    this.accept(JSON.stringify({
      version: 2, width: m.cols, height: m.rows, timestamp: Math.floor(m.created.getTime() / 1000),
      command: cut(command), title: cut(`bunty ${m.sessionId}: ${command}`), env: { TERM: opts.env.TERM, SHELL: opts.env.SHELL },
    }));
    this.closed = this.run();
  }

  /** Bytes accepted for the file (written or queued). */
  get size(): number {
    return this.bytes;
  }
  /** Why it stopped: "end" (the session ended), "limit", "slow" (the disk could not keep up), "error", "discarded" (ended while held: no file); null while recording. */
  get stopReason(): "end" | "limit" | "slow" | "error" | "discarded" | null {
    return this.endReason;
  }

  /** A held recording becomes a file (what was queued is written first). Idempotent. */
  commit(): void {
    if (!this.held) return;
    this.held = false;
    this.release?.();
  }

  /** A chunk of the program's output, as it arrived. Multi-byte characters split across chunks are kept whole. */
  output(bytes: Uint8Array): void {
    if (this.stopped) return;
    const text = this.decoder.decode(bytes, { stream: true });
    if (text) this.event("o", text);
  }

  resize(cols: number, rows: number): void {
    if (!this.stopped) this.event("r", `${cols}x${rows}`);
  }

  /** The session ended: writes what is left and closes the file (a held recording is dropped: no file). Resolves when it is closed; never rejects. */
  end(): Promise<void> {
    if (this.held && !this.stopped) {
      this.stop("discarded");
      this.release?.();
      return this.closed;
    }
    if (!this.stopped) {
      const rest = this.decoder.decode();
      if (rest) this.event("o", rest);
      this.stop("end");
    }
    return this.closed;
  }

  private now(): number {
    return seconds(performance.now() - this.started);
  }

  private event(code: "o" | "r", data: string): void {
    const t = this.now();
    const line = JSON.stringify([t, code, data]);
    const size = Buffer.byteLength(line) + 1;
    const marker = (why: string) => JSON.stringify([t, "m", `bunty: recording stopped: ${why}`]);
    const limitMarker = marker("--record-max-bytes reached");
    // Every accepted line leaves room for the limit marker, so the file never exceeds maxBytes.
    if (this.bytes + size + Buffer.byteLength(limitMarker) + 1 > this.opts.maxBytes) {
      this.accept(limitMarker);
      this.opts.log("recording.limit", { session: this.opts.meta.sessionId, file: this.path, maxBytes: this.opts.maxBytes }, "warn");
      return this.stop("limit");
    }
    if (this.queuedBytes + size > MAX_QUEUED_BYTES) {
      this.accept(marker("the disk could not keep up"));
      this.opts.log("recording.slow", { session: this.opts.meta.sessionId, file: this.path, queuedBytes: this.queuedBytes }, "warn");
      return this.stop("slow");
    }
    this.accept(line, size);
  }

  /** Queues one line; `n` is its size in bytes with the newline, when the caller already knows it. */
  private accept(line: string, n = Buffer.byteLength(line) + 1): void {
    this.queue.push(`${line}\n`);
    this.queuedBytes += n;
    this.bytes += n;
    if (this.held && this.queuedBytes >= HELD_COMMIT_BYTES) this.commit();
    this.wake?.();
  }

  private stop(reason: "end" | "limit" | "slow" | "error" | "discarded"): void {
    if (this.stopped) return;
    this.stopped = true;
    this.endReason = reason;
    this.wake?.();
  }

  /** The writer: opens the file, then writes whatever is queued, one batch at a time, until stopped and drained. */
  private async run(): Promise<void> {
    if (this.held) await new Promise<void>((r) => (this.release = r));
    if (this.endReason === "discarded") return;
    try {
      this.fh = await open(this.path, this.opts.exclusive === false ? "w" : "wx", 0o600);
      for (;;) {
        if (this.queue.length === 0) {
          if (this.stopped) break;
          await new Promise<void>((r) => (this.wake = r));
          this.wake = null;
          continue;
        }
        const batch = this.queue.splice(0, this.queue.length).join("");
        const buf = Buffer.from(batch);
        let off = 0;
        while (off < buf.length) off += (await this.fh.write(buf, off)).bytesWritten;
        this.queuedBytes -= buf.length;
      }
    } catch (e) {
      this.stopped = true;
      this.endReason = "error";
      this.queue.length = 0;
      this.queuedBytes = 0;
      this.opts.log("recording.failed", { session: this.opts.meta.sessionId, file: this.path, message: (e as Error).message }, "error");
    } finally {
      await this.fh?.close().catch(() => {});
      this.fh = null;
    }
  }
}

export interface RecordingsOptions {
  dir: string;
  maxBytes: number;
  /** TERM and SHELL for the headers' env. */
  env: { TERM: string; SHELL: string };
  log: LogFn;
}

/** The recording directory: starts recorders, waits for them at shutdown, lists and finds files. */
export class Recordings {
  readonly dir: string;
  private readonly opts: RecordingsOptions;
  private readonly open = new Set<Recorder>();

  constructor(opts: RecordingsOptions) {
    this.opts = opts;
    this.dir = opts.dir;
  }

  /** Creates the directory (0700) if needed. Failure is logged, not thrown: sessions run anyway, unrecorded. */
  async prepare(): Promise<boolean> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      return true;
    } catch (e) {
      this.opts.log("recording.unavailable", { dir: this.dir, message: (e as Error).message }, "error");
      return false;
    }
  }

  /** A recorder for a session starting now; `held`: no file until it is committed (see Recorder). */
  start(meta: RecordingMeta, held = false): Recorder {
    const r = new Recorder({ path: join(this.dir, recordingName(meta.created, meta.sessionId)), maxBytes: this.opts.maxBytes, meta, env: this.opts.env, log: this.opts.log, held });
    this.open.add(r);
    this.opts.log("recording.start", { session: meta.sessionId, file: r.path }, "debug");
    void r.closed.then(() => {
      this.open.delete(r);
      this.opts.log("recording.end", { session: meta.sessionId, file: r.path, bytes: r.size, stopped: r.stopReason }, "debug");
    });
    return r;
  }

  /** Ends every open recording; bounded by CLOSE_DEADLINE_MS. */
  async closeAll(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((r) => (timer = setTimeout(r, CLOSE_DEADLINE_MS)));
    await Promise.race([Promise.all([...this.open].map((r) => r.end())), deadline]);
    clearTimeout(timer);
  }

  /** Every recording in the directory, oldest first. Only names of the form we write. */
  async list(): Promise<RecordingInfo[]> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => RECORDING_NAME.test(n)).sort();
    const out: RecordingInfo[] = [];
    for (const name of names) {
      const st = await stat(join(this.dir, name)).catch(() => null);
      if (!st?.isFile()) continue;
      const [, y, mo, d, h, mi, s] = RECORDING_NAME.exec(name)!;
      out.push({ name, size: st.size, created: `${y}-${mo}-${d}T${h}:${mi}:${s}Z` });
    }
    return out;
  }

  /** The file's path for a name we wrote, or null (any other name, or no such file). */
  async find(name: string): Promise<string | null> {
    if (!RECORDING_NAME.test(name)) return null;
    const path = join(this.dir, name);
    const st = await stat(path).catch(() => null);
    return st?.isFile() ? path : null;
  }
}
