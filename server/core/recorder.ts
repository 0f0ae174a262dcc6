// Session recording (--record DIR): each session's output and resizes, written as an asciicast v2
// file (https://docs.asciinema.org/manual/asciicast/v2/): a header object on the first line, then
// one `[seconds, code, data]` array per line: "o" output, "r" resize ("COLSxROWS"), "m" marker.
//
// Owns the files: names, the write queue, the size limit, errors, listing and opening them to be
// served. Knows nothing of PTYs, sockets or HTTP (its refusals are DomainErrors, which the web layer
// sends). The session feeds it (output, resize, end); when recording is off the session holds
// null and pays one null check per chunk.
//
// The directory is trusted only if nobody else can put anything in it: at start, one that others
// can write, that another user owns, or that is itself a symlink is refused and recording is off
// (Recordings.prepare). Nothing in it is ever followed: files are created O_EXCL ("wx"), listed
// with lstat, and served from a descriptor opened O_NOFOLLOW and checked to be a regular file.
//
// No-hang rules: writes go through fs/promises (the thread pool), never a *Sync call; what waits
// for the disk is bounded (MAX_QUEUED_BYTES, then the recording stops); a file is bounded
// (--record-max-bytes, then a marker event and the recording stops); any error (unwritable
// directory, disk full) is logged once and stops that recording, never the session. Listing and
// serving: every file-system call has a deadline (FS_TIMEOUT_MS), a file is read in
// READ_CHUNK_BYTES pieces as the client takes them.

import { constants } from "node:fs";
import { lstat, mkdir, open, readdir, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { within } from "./deadline.ts";
import { DomainError } from "./errors.ts";
import type { LogFn } from "./log.ts";

/** Media type of asciicast files (from the asciicast v2 specification). */
export const ASCIICAST_TYPE = "application/x-asciicast";
/** Recordings waiting for the disk above this much: the disk cannot keep up; that recording stops (with a marker). */
export const MAX_QUEUED_BYTES = 8 << 20;
/** At shutdown, how long open recordings get to write what they queued and close. */
export const CLOSE_DEADLINE_MS = 500;
/** A held recording (see `held`) with this much queued is committed anyway: a session that printed this much is worth keeping. */
export const HELD_COMMIT_BYTES = 1 << 20;
/** Deadline of each file-system call made to list, check or serve recordings (not of the recorders' writes: their queue is bounded instead). */
export const FS_TIMEOUT_MS = 10_000;
/** A recording is served in pieces of this size, each read when the client has taken the last. */
const READ_CHUNK_BYTES = 64 << 10;
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

/** A recording to send: its bytes, streamed from the descriptor that was checked, and its size when it was opened. */
export interface RecordingFile {
  body: ReadableStream<Uint8Array>;
  size: number;
}

/** A file-system call with a deadline; past it the answer is a 504 (the call itself cannot be cancelled). */
async function fsCall<T>(p: Promise<T>, what: string): Promise<T> {
  const timedOut = Symbol();
  const r = await within(p, FS_TIMEOUT_MS, timedOut);
  if (r === timedOut) throw new DomainError("timeout", `the recording directory did not answer: ${what} took longer than ${FS_TIMEOUT_MS} ms`);
  return r as T;
}

/** Closes a handle in the background (its error is of no use to anyone). */
const closeQuietly = (fh: FileHandle) => void fsCall(fh.close(), "close").catch(() => {});

/**
 * The first `size` bytes of an open file as a stream: one READ_CHUNK_BYTES read each time the
 * client has taken the last piece (at most one piece is read ahead); the handle is closed at the end, on
 * an error, or when the client goes (cancel). A read past its deadline may still complete after
 * the close, into a buffer nobody reads: harmless.
 */
function streamFile(fh: FileHandle, size: number): ReadableStream<Uint8Array> {
  let pos = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    closeQuietly(fh);
  };
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      try {
        const want = Math.min(READ_CHUNK_BYTES, size - pos);
        const buf = new Uint8Array(Math.max(want, 0));
        const { bytesRead } = want > 0 ? await fsCall(fh.read(buf, 0, want, pos), "read") : { bytesRead: 0 };
        if (done) return; // cancelled meanwhile
        if (bytesRead > 0) ctl.enqueue(buf.subarray(0, bytesRead));
        pos += bytesRead;
        if (bytesRead === 0 || pos >= size) {
          finish();
          ctl.close();
        }
      } catch (e) {
        if (done) return;
        finish();
        ctl.error(e);
      }
    },
    cancel: finish,
  });
}

/** The recording directory: checks it at start, starts recorders, waits for them at shutdown, lists and serves files. */
export class Recordings {
  readonly dir: string;
  private readonly opts: RecordingsOptions;
  private readonly open = new Set<Recorder>();
  /** Why the directory was refused at start (prepare); recording is then off. null: in use. */
  private refused: string | null = null;

  constructor(opts: RecordingsOptions) {
    this.opts = opts;
    this.dir = opts.dir;
  }

  /**
   * Creates the directory (0700) if needed, then checks it (`unsafe`). A directory that cannot be
   * made is logged (`recording.unavailable`): sessions run, their recordings fail one by one. An
   * unsafe one is logged (`recording.unsafe_dir`) and refused: no recorder is started and the
   * routes answer 404 saying why. Never throws: a recording problem never stops the server.
   */
  async prepare(): Promise<boolean> {
    let made = true;
    try {
      await fsCall(mkdir(this.dir, { recursive: true, mode: 0o700 }), "mkdir");
    } catch (e) {
      this.opts.log("recording.unavailable", { dir: this.dir, message: (e as Error).message }, "error");
      made = false;
    }
    // Checked even when mkdir failed: a dangling symlink (EEXIST) must not start working later. One
    // that cannot be looked at after mkdir failed (ENOTDIR...) is unavailable, as above; otherwise
    // a check that fails refuses the directory (never used unchecked).
    const why = await this.unsafe().catch((e) => (made || e instanceof DomainError ? `it could not be checked: ${(e as Error).message}` : null));
    if (why) {
      this.refused = why;
      this.opts.log("recording.unsafe_dir", { dir: this.dir, reason: why }, "error");
      return false;
    }
    return made;
  }

  /**
   * Why the directory must not be used, or null. Anyone who can write it could plant a symlink
   * named like a recording (and have a file of theirs, or ours, served as one) or fill it; the
   * owner can chmod it at will; a symlink can be pointed elsewhere later. Its parents are not
   * checked: choose a place only you control.
   */
  private async unsafe(): Promise<string | null> {
    const st = await fsCall(lstat(this.dir), "lstat");
    if (st.isSymbolicLink()) return "it is a symlink (give the directory itself)";
    if (!st.isDirectory()) return "it is not a directory";
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) return `it is owned by uid ${st.uid}, not by the server's user (uid ${uid})`;
    if (st.mode & 0o022) return `others can write it (mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")}; chmod go-w)`;
    return null;
  }

  /** The answer of the routes while the directory is refused. */
  private off(): DomainError {
    return new DomainError("unavailable", `recording is off: --record ${this.dir} was refused at start: ${this.refused}`);
  }

  /** A recorder for a session starting now; `held`: no file until it is committed (see Recorder). null: the directory was refused. */
  start(meta: RecordingMeta, held = false): Recorder | null {
    if (this.refused) return null;
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

  /** Every recording in the directory, oldest first: regular files with names of the form we write (lstat: a symlink is not one). */
  async list(): Promise<RecordingInfo[]> {
    if (this.refused) throw this.off();
    const names = (await fsCall(readdir(this.dir), "readdir").catch((e) => (e instanceof DomainError ? Promise.reject(e) : [] as string[]))).filter((n) => RECORDING_NAME.test(n)).sort();
    const out: RecordingInfo[] = [];
    for (const name of names) {
      const st = await fsCall(lstat(join(this.dir, name)), "lstat").catch((e) => (e instanceof DomainError ? Promise.reject(e) : null));
      if (!st?.isFile()) continue;
      const [, y, mo, d, h, mi, s] = RECORDING_NAME.exec(name)!;
      out.push({ name, size: st.size, created: `${y}-${mo}-${d}T${h}:${mi}:${s}Z` });
    }
    return out;
  }

  /**
   * A recording to serve, or null (a name of another form, no such file, not a regular file).
   * Opened O_NOFOLLOW (a symlink fails with ELOOP, it is never opened) and O_NONBLOCK (a FIFO
   * does not hold the open waiting for a writer); fstat of the same descriptor says what was
   * opened, and the bytes sent are read from it, so nothing can be swapped in between.
   */
  async serve(name: string): Promise<RecordingFile | null> {
    if (this.refused) throw this.off();
    if (!RECORDING_NAME.test(name)) return null;
    const opening = open(join(this.dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    let fh: FileHandle;
    try {
      fh = await fsCall(opening, "open");
    } catch (e) {
      if (!(e instanceof DomainError)) return null; // ENOENT, ELOOP (a symlink), ...
      void opening.then(closeQuietly, () => {}); // past the deadline: closed when it arrives
      throw e;
    }
    try {
      const st = await fsCall(fh.stat(), "fstat");
      if (!st.isFile()) {
        closeQuietly(fh);
        return null;
      }
      return { body: streamFile(fh, st.size), size: st.size };
    } catch (e) {
      closeQuietly(fh);
      throw e;
    }
  }
}
