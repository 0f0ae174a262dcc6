// File transfer: uploads into a session's current directory (PUT, streamed to a temp file, then
// linked or renamed into place) and downloads offered by the `bunty-get` helper (an OSC 5379
// request in the session's output, found by OscWatcher, checked here, offered to the session's
// write-mode clients, served by id).
//
// An upload opens the session's directory once (its program's cwd, through /proc) and does every
// later step through that descriptor (/proc/self/fd/N/NAME), so a swap of the directory's path for
// a symlink cannot redirect it (SessionDir).
//
// No-hang rules: the request body is read chunk by chunk, each read with an idle deadline
// (UPLOAD_IDLE_TIMEOUT_MS, then the read is cancelled); the file goes through fs/promises
// FileHandle writes (the thread pool), every file-system call has a deadline (FS_TIMEOUT_MS);
// uploads in flight (MAX_UPLOADS), downloads per session (MAX_DOWNLOADS_PER_SESSION), requests
// being checked per session (MAX_CHECKS_PER_SESSION) and a split request (MAX_REQUEST_BYTES)
// are bounded. Nothing here buffers a file.

import { Elysia, t } from "elysia";
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, chmod, link, lstat, mkdtemp, open, readlink, realpath, rename, rm, stat, unlink, writeFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { CloseCode, Paths, type DownloadMessage } from "../protocol/index.ts";
import { within } from "./deadline.ts";
import { AppError } from "./errors.ts";
import type { LogFn } from "./log.ts";
import type { Pool } from "./pool.ts";
import type { Session } from "./session.ts";
import script from "./bunty-get.sh" with { type: "text" };

/** No request-body bytes for this long: the upload is aborted (408). Below Bun's own 10 s request idle timeout, so ours answers first. */
export const UPLOAD_IDLE_TIMEOUT_MS = 8_000;
/** Deadline of each file-system call (open, write, link, rename, stat, readlink...). */
export const FS_TIMEOUT_MS = 10_000;
/** At shutdown, how long removing bunty-get's directory may take (inside the shutdown deadline). */
const UNINSTALL_TIMEOUT_MS = 300;
/** Uploads in flight at once, server-wide; more get 503. */
export const MAX_UPLOADS = 4;
/** Downloads offered per session (the oldest is forgotten first). */
export const MAX_DOWNLOADS_PER_SESSION = 16;
/** An offered download is served for this long. */
export const DOWNLOAD_TTL_MS = 10 * 60_000;
/** A bunty-get request longer than this (prefix to BEL) is ignored. */
export const MAX_REQUEST_BYTES = 8192;
/** Requests of one session being checked (stat) at once; more are ignored. */
const MAX_CHECKS_PER_SESSION = 4;
/** The largest name a file system takes (bytes). */
const NAME_MAX_BYTES = 255;
/** The OSC that bunty-get prints: ESC ] 5379 ; get ; BASE64(PATH) BEL. */
export const OSC_PREFIX = Buffer.from("\x1b]5379;");
const BEL = 0x07;
/** The upload route's path (after the base path), for the guard's body limit. */
export const UPLOAD_PATH = /^\/api\/sessions\/[^/]+\/files$/;
const ESC = 0x1b;

// ---- the output watcher (hot path: called with every PTY chunk) ----

/**
 * Finds `ESC ] 5379 ; ... BEL` requests in a byte stream. With no request in a chunk it costs one
 * indexOf over the chunk plus one over its last 6 bytes (a prefix cut by the chunk's end). A
 * request split across chunks is carried, at most MAX_REQUEST_BYTES; longer ones are dropped.
 * The bytes themselves are left alone (terminals ignore OSCs they do not know).
 */
export class OscWatcher {
  /** An unfinished request: starts with (a part of) the prefix. */
  private carry: Buffer | null = null;
  constructor(private readonly onRequest: (payload: Buffer) => void) {}

  push(bytes: Uint8Array): void {
    if (!this.carry && bytes.indexOf(ESC) < 0) return; // most chunks: no escape at all
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let from = 0;
    if (this.carry) from = this.continueCarry(b);
    if (from >= 0) this.scan(b, from);
  }

  /** Continues a carried request with the next chunk; returns where the normal scan resumes (-1: the chunk was all carried). */
  private continueCarry(b: Buffer): number {
    let c = this.carry!;
    this.carry = null;
    let at = 0;
    if (c.length < OSC_PREFIX.length) {
      const need = OSC_PREFIX.length - c.length;
      const have = Math.min(need, b.length);
      if (!b.subarray(0, have).equals(OSC_PREFIX.subarray(c.length, c.length + have))) return 0; // not our prefix after all
      if (have < need) {
        this.carry = Buffer.concat([c, b]);
        return -1;
      }
      c = Buffer.concat([c, b.subarray(0, need)]);
      at = need;
    }
    const room = MAX_REQUEST_BYTES - c.length;
    const end = b.subarray(at, at + room).indexOf(BEL);
    if (end >= 0) {
      this.onRequest(Buffer.concat([c.subarray(OSC_PREFIX.length), b.subarray(at, at + end)]));
      return at + end + 1;
    }
    if (b.length - at >= room) return at; // too long: dropped
    this.carry = Buffer.concat([c, b.subarray(at)]);
    return -1;
  }

  private scan(b: Buffer, from: number): void {
    for (;;) {
      const i = b.indexOf(OSC_PREFIX, from);
      if (i < 0) break;
      const end = b.subarray(i + OSC_PREFIX.length, i + MAX_REQUEST_BYTES).indexOf(BEL);
      if (end >= 0) {
        this.onRequest(Buffer.from(b.subarray(i + OSC_PREFIX.length, i + OSC_PREFIX.length + end)));
        from = i + OSC_PREFIX.length + end + 1;
        continue;
      }
      if (b.length - i < MAX_REQUEST_BYTES) {
        this.carry = Buffer.from(b.subarray(i)); // a copy: the PTY's buffer is reused
        return;
      }
      from = i + OSC_PREFIX.length; // too long: dropped
    }
    // The chunk may end with the start of a prefix (ESC, ESC ], ESC ] 5...).
    for (let k = Math.max(from, b.length - OSC_PREFIX.length + 1); k < b.length; k++) {
      if (b[k] !== ESC) continue;
      let j = 1;
      while (k + j < b.length && b[k + j] === OSC_PREFIX[j]) j++;
      if (k + j === b.length) {
        this.carry = Buffer.from(b.subarray(k));
        return;
      }
    }
  }
}

// ---- names and errors ----

/** Why a name cannot be an upload's file name, or null when it can: a plain name, no directories. */
export function badName(name: string | null): string | null {
  if (name === null || name === "") return "name is required (?name=FILE)";
  if (name === "." || name === "..") return `name cannot be ${JSON.stringify(name)}`;
  if (name.includes("/")) return "name must be a plain file name, without '/'";
  if (name.includes("\0")) return "name cannot contain NUL";
  if (Buffer.byteLength(name) > NAME_MAX_BYTES) return `name is longer than ${NAME_MAX_BYTES} bytes`;
  return null;
}

/** `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266 / 8187). */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException)?.code ?? "";
class Timeout extends Error {}
/** A file-system call with a deadline: rejects with Timeout after FS_TIMEOUT_MS (the call itself cannot be cancelled). */
async function fsCall<T>(p: Promise<T>, what: string): Promise<T> {
  const timedOut = Symbol();
  const r = await within(p, FS_TIMEOUT_MS, timedOut);
  if (r === timedOut) throw new Timeout(`${what} took longer than ${FS_TIMEOUT_MS} ms`);
  return r as T;
}
/** A file-system error as an answer the user can act on. */
function fsError(e: unknown, dir: string): AppError {
  if (e instanceof AppError) return e;
  if (e instanceof Timeout) return new AppError("timeout", `the file system did not answer: ${e.message}`, 504, CloseCode.internalError);
  const code = errno(e);
  const tell = (status: number, err: string, msg: string) => new AppError(err, msg, status, CloseCode.internalError);
  switch (code) {
    case "EACCES": case "EPERM": return tell(403, "permission_denied", `cannot write in ${dir}: permission denied`);
    case "EROFS": return tell(403, "read_only_fs", `cannot write in ${dir}: read-only file system`);
    case "ENOSPC": case "EDQUOT": return tell(507, "no_space", `no space left in ${dir}`);
    case "ENOENT": case "ENOTDIR": return tell(409, "no_directory", `${dir} no longer exists`);
    case "ENAMETOOLONG": return tell(400, "bad_name", "the name is too long for this file system");
    case "EFBIG": return tell(413, "too_large", "the file is too large for this file system");
    default: return tell(500, "write_failed", `cannot write in ${dir}: ${code || String((e as Error)?.message ?? e)}`);
  }
}

// ---- the directory an upload goes into ----

/**
 * The session's directory, opened once for one upload. On Linux every later step names its files
 * as `/proc/self/fd/N/NAME`: the kernel walks from the open descriptor (the directory itself,
 * whatever its path has become), not from a path someone can rename away and replace with a
 * symlink between two steps. Without /proc (macOS) it can only be the path (docs/security.md).
 *
 * Hazard: a call past its deadline still runs in the thread pool. Closing the descriptor then would
 * let the fd number be reused (another upload's directory) and the late call land there; so the
 * descriptor is closed only once every call that named it has settled (`pending`).
 */
class SessionDir {
  private readonly pending = new Set<Promise<unknown>>();
  private closed = false;
  constructor(
    /** Its absolute path when it was opened (the kernel's name for the descriptor): for answers and messages only. */
    readonly path: string,
    /** The open directory; null without /proc/self/fd (then `at` is a plain path). */
    private readonly fh: FileHandle | null,
  ) {}

  /** A path naming `name` (a plain name, checked by badName) in this directory. */
  at(name: string): string {
    return this.fh ? `/proc/self/fd/${this.fh.fd}/${name}` : join(this.path, name);
  }

  /** A file-system call on a path from `at()`, with the fsCall deadline; the descriptor stays open until it has settled. */
  call<T>(p: Promise<T>, what: string): Promise<T> {
    this.track(p);
    return fsCall(p, what);
  }

  /** Keeps the descriptor open until `p` settles (a late clean-up that still names the directory). */
  track(p: Promise<unknown>): void {
    this.pending.add(p);
    const done = () => this.pending.delete(p);
    p.then(done, done);
  }

  /** Closes the descriptor once nothing names it any more; returns at once. */
  close(): void {
    if (this.closed || !this.fh) return;
    this.closed = true;
    const fh = this.fh;
    void (async () => {
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      await fsCall(fh.close(), "close");
    })().catch(() => {});
  }
}

/** Closes a handle in the background (its error is of no use to anyone). */
const closeQuietly = (fh: FileHandle) => void fsCall(fh.close(), "close").catch(() => {});

/** fs/promises open() with the fsCall deadline; a handle that arrives after the deadline is closed (else it would leak). */
async function openWithin(path: string, flags: number, mode?: number): Promise<FileHandle> {
  const opening = open(path, flags, mode);
  try {
    return await fsCall(opening, "open");
  } catch (e) {
    if (e instanceof Timeout) void opening.then(closeQuietly, () => {});
    throw e;
  }
}

/**
 * Opens `path` as a directory. Returns null when it was removed (the kernel names it "... (deleted)").
 * Linux: its name is read back from /proc/self/fd; elsewhere the descriptor is of no use and is
 * closed, and the directory is its real path.
 */
async function openDir(path: string): Promise<SessionDir | null> {
  const fh = await openWithin(path, constants.O_RDONLY | constants.O_DIRECTORY);
  let named: string | null;
  try {
    named = await fsCall(readlink(`/proc/self/fd/${fh.fd}`), "readlink");
  } catch (e) {
    if (e instanceof Timeout) {
      closeQuietly(fh);
      throw e;
    }
    named = null; // no /proc/self/fd
  }
  if (named !== null) {
    if (named.startsWith("/") && !named.endsWith(" (deleted)")) return new SessionDir(named, fh);
    closeQuietly(fh);
    return null;
  }
  closeQuietly(fh);
  return new SessionDir(await fsCall(realpath(path), "realpath"), null);
}

// ---- downloads offered by bunty-get ----

export interface Download {
  id: string;
  path: string;
  name: string;
  size: number;
  expires: number;
}

// ---- the module ----

export interface TransferOptions {
  log: LogFn;
  /** --upload-max-bytes; 0: uploads are off. */
  uploadMaxBytes: number;
  /** Where sessions start (the fallback when /proc/PID/cwd cannot be read, e.g. on macOS). */
  startCwd: string;
}

export interface RouteOptions {
  pool: Pool;
  /** Every route lives under this prefix. */
  basePath: string;
  /** Read on every request (SIGHUP may change it). */
  live: { readonly: boolean };
  /** --upload-max-bytes; 0: uploads are off. */
  uploadMaxBytes: number;
  /** The mutating routes' Origin check (http.ts). */
  requireSameOrigin(request: Request): void;
}

export class Transfers {
  private readonly downloads = new Map<string, Download[]>();
  private readonly checking = new Map<string, number>();
  private uploads = 0;
  /** The directory holding bunty-get (private to the server's user), once install() ran. */
  binDir: string | null = null;

  constructor(private readonly opts: TransferOptions) {}

  /** Writes bunty-get into a fresh private directory; returns it (put on every session's PATH). */
  async install(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "bunty-bin-")); // 0700
    await writeFile(join(dir, "bunty-get"), script, { mode: 0o755 });
    await chmod(join(dir, "bunty-get"), 0o755); // the umask may have cut the mode
    this.binDir = dir;
    return dir;
  }

  /** Removes bunty-get's directory (at shutdown). */
  async uninstall(): Promise<void> {
    if (this.binDir) await within(rm(this.binDir, { recursive: true, force: true }), UNINSTALL_TIMEOUT_MS, null).catch(() => {});
    this.binDir = null;
  }

  /** A watcher for one session's output: requests are checked and offered to its clients. */
  watch(s: Session): (bytes: Uint8Array) => void {
    const w = new OscWatcher((payload) => void this.request(s, payload));
    return (bytes) => w.push(bytes);
  }

  /** The session ended: its downloads go. */
  forget(sessionId: string): void {
    this.downloads.delete(sessionId);
    this.checking.delete(sessionId);
  }

  /** A bunty-get request from a session's output: checked, then offered; anything else is ignored (debug log). */
  private async request(s: Session, payload: Buffer): Promise<void> {
    const ignore = (why: string) => this.opts.log("file.get_ignored", { session: s.id, reason: why }, "debug");
    const text = payload.toString("latin1");
    if (!text.startsWith("get;")) return ignore("not a get request");
    const b64 = text.slice(4);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return ignore("not base64");
    const path = Buffer.from(b64, "base64").toString("utf8");
    if (!path.startsWith("/") || path.includes("\0") || path.includes("\ufffd")) return ignore("not an absolute path");
    const n = this.checking.get(s.id) ?? 0;
    if (n >= MAX_CHECKS_PER_SESSION) return ignore("too many requests being checked");
    this.checking.set(s.id, n + 1);
    let size: number;
    try {
      const st = await fsCall(stat(path), "stat");
      if (!st.isFile()) return ignore("not a regular file");
      await fsCall(access(path, constants.R_OK), "access");
      size = st.size;
    } catch (e) {
      return ignore(errno(e) || String((e as Error).message));
    } finally {
      if (this.checking.has(s.id)) this.checking.set(s.id, (this.checking.get(s.id) ?? 1) - 1);
    }
    if (s.ended) return;
    const d: Download = { id: randomBytes(12).toString("base64url"), path, name: basename(path), size, expires: Date.now() + DOWNLOAD_TTL_MS };
    const list = (this.downloads.get(s.id) ?? []).filter((x) => x.expires > Date.now());
    list.push(d);
    while (list.length > MAX_DOWNLOADS_PER_SESSION) list.shift();
    this.downloads.set(s.id, list);
    this.opts.log("file.offered", { session: s.id, name: d.name, size });
    const m: DownloadMessage = { type: "download", id: d.id, name: d.name, size };
    s.broadcastToWriters(m); // view-only clients (share links) are not offered the session's files
  }

  /** An offered download, unless it expired. */
  download(sessionId: string, id: string): Download | null {
    const d = this.downloads.get(sessionId)?.find((x) => x.id === id);
    return d && d.expires > Date.now() ? d : null;
  }

  /**
   * The session's current directory, opened: its program's cwd through /proc/PID/cwd (the directory
   * the shell is in, not a path to it), else where sessions start (no /proc, the program is gone,
   * or its directory was removed). Any other error (a directory we may not read) is the answer:
   * the file must not quietly land somewhere else.
   */
  private async cwdOf(s: Session): Promise<SessionDir> {
    const cwd = await openDir(`/proc/${s.pid}/cwd`).catch((e) => (["ENOENT", "ENOTDIR", "ESRCH"].includes(errno(e)) ? null : Promise.reject(e)));
    if (cwd) return cwd;
    const start = await openDir(this.opts.startCwd);
    if (!start) throw Object.assign(new Error(`${this.opts.startCwd} was removed`), { code: "ENOENT" });
    return start;
  }

  /** PUT .../files?name=NAME[&overwrite=1]: the body streamed into NAME in the session's directory. */
  async upload(s: Session, request: Request): Promise<{ name: string; path: string; size: number }> {
    const { uploadMaxBytes: max, log } = this.opts;
    const q = new URL(request.url).searchParams;
    const name = q.get("name");
    const bad = badName(name);
    if (bad) throw new AppError("bad_name", bad, 400, CloseCode.internalError);
    const overwrite = q.get("overwrite") === "1" || q.get("overwrite") === "true";
    const lengthHeader = request.headers.get("content-length");
    if (lengthHeader !== null && !/^\d{1,16}$/.test(lengthHeader)) throw new AppError("bad_length", "Content-Length must be a number", 400, CloseCode.internalError);
    const length = lengthHeader === null ? null : Number(lengthHeader);
    if (length !== null && length > max) throw tooLarge(max);
    if (this.uploads >= MAX_UPLOADS) throw new AppError("busy", `${MAX_UPLOADS} uploads are already in progress; try again when one has finished`, 503, CloseCode.internalError);
    this.uploads++;
    const started = Date.now();
    let dir: SessionDir | null = null;
    /** The temp file's name while it exists and is ours: removed in `finally` on every way out. */
    let tmp: string | null = null;
    let fh: FileHandle | null = null;
    try {
      const d = (dir = await this.cwdOf(s));
      // Refused before a byte is read when it is clear already; the link() below is the atomic check.
      if (!overwrite && (await d.call(lstat(d.at(name!)), "lstat").then(() => true, (e) => (e instanceof Timeout ? Promise.reject(e) : false)))) throw exists(name!, d.path);
      const tmpName = `.${truncateBytes(name!, 200)}.bunty-${randomBytes(6).toString("base64url")}.part`;
      // O_CREAT|O_EXCL: never an existing file; O_NOFOLLOW: never a symlink either (O_EXCL already
      // refuses one; said twice on purpose). The umask applies to 0666.
      const opening = open(d.at(tmpName), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o666);
      try {
        fh = await d.call(opening, "open");
      } catch (e) {
        // Past its deadline the file may still be created: removed when the open returns (the
        // directory stays open for it). Any other error: the file is not ours (EEXIST) or not there.
        if (e instanceof Timeout) d.track(opening.then((h) => h.close().finally(() => unlink(d.at(tmpName)))).catch(() => {}));
        throw e;
      }
      tmp = tmpName;
      const size = await this.receive(request, fh, max, length);
      const h = fh;
      fh = null;
      await fsCall(h.close(), "close");
      if (overwrite) {
        await d.call(rename(d.at(tmp), d.at(name!)), "rename").catch((e) => {
          throw errno(e) === "EISDIR" || errno(e) === "ENOTEMPTY" || errno(e) === "EEXIST" ? new AppError("exists", `${name} is a directory in ${d.path}`, 409, CloseCode.internalError) : e;
        });
        tmp = null;
      } else {
        await this.place(d, tmp, name!);
        const t = tmp;
        tmp = null;
        await d.call(unlink(d.at(t)), "unlink").catch(() => {});
      }
      log("file.uploaded", { session: s.id, name, size, ms: Date.now() - started });
      return { name: name!, path: join(d.path, name!), size };
    } catch (e) {
      throw fsError(e, dir?.path || "the session's directory");
    } finally {
      this.uploads--;
      if (fh) closeQuietly(fh);
      if (tmp && dir) {
        const d = dir;
        await d.call(unlink(d.at(tmp)), "unlink").catch(() => {});
      }
      dir?.close(); // after the unlink: it names the directory through the descriptor
    }
  }

  /** link() fails atomically when the name exists; on file systems without hard links, a check and rename() instead. */
  private async place(d: SessionDir, tmp: string, name: string): Promise<void> {
    try {
      await d.call(link(d.at(tmp), d.at(name)), "link");
    } catch (e) {
      if (errno(e) === "EEXIST") throw exists(name, d.path);
      if (!["EPERM", "ENOTSUP", "EOPNOTSUPP", "EMLINK", "ENOSYS"].includes(errno(e))) throw e;
      if (await d.call(lstat(d.at(name)), "lstat").then(() => true, () => false)) throw exists(name, d.path);
      await d.call(rename(d.at(tmp), d.at(name)), "rename");
      // The caller unlinks tmp: after a rename it is gone, and the unlink's ENOENT is ignored.
    }
  }

  /** Reads the body into the file: returns its size. Each read has an idle deadline; the byte count is enforced as it streams. */
  private async receive(request: Request, fh: FileHandle, max: number, length: number | null): Promise<number> {
    if (!request.body) {
      if (length) throw new AppError("bad_body", "no body", 400, CloseCode.internalError);
      return 0;
    }
    const reader = request.body.getReader();
    let size = 0;
    try {
      for (;;) {
        let idle = false;
        const read = reader.read();
        const timer = setTimeout(() => {
          idle = true;
          void reader.cancel("idle").catch(() => {}); // the pending read resolves { done: true } at once
        }, UPLOAD_IDLE_TIMEOUT_MS);
        let r: Awaited<typeof read>;
        try {
          r = await read;
        } catch (e) {
          throw new AppError("aborted", `the upload was interrupted: ${String((e as Error)?.message ?? e).slice(0, 100)}`, 400, CloseCode.internalError);
        } finally {
          clearTimeout(timer);
        }
        if (idle) throw new AppError("timeout", `no data for ${UPLOAD_IDLE_TIMEOUT_MS / 1000} s: upload aborted`, 408, CloseCode.internalError);
        if (r.done) break;
        const chunk = r.value;
        size += chunk.byteLength;
        if (size > max) throw tooLarge(max);
        for (let off = 0; off < chunk.byteLength; ) {
          const { bytesWritten } = await fsCall(fh.write(chunk, off, chunk.byteLength - off), "write");
          off += bytesWritten;
        }
      }
    } catch (e) {
      void reader.cancel().catch(() => {});
      throw e;
    }
    if (length !== null && size !== length) throw new AppError("aborted", `the upload ended after ${size} of ${length} bytes`, 400, CloseCode.internalError);
    return size;
  }
}

const tooLarge = (max: number) => new AppError("too_large", `the file is larger than the upload limit of ${max} bytes (--upload-max-bytes)`, 413, CloseCode.internalError);
const exists = (name: string, dir: string) => new AppError("exists", `${name} exists in ${dir}`, 409, CloseCode.internalError);

/** The longest prefix of `s` within `max` UTF-8 bytes, not cutting a character. */
function truncateBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = "";
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

const ErrorBody = t.Object({ error: t.String(), message: t.String() });
const Uploaded = t.Object({ name: t.String(), path: t.String(), size: t.Integer() });

/** The routes: PUT {base}/api/sessions/:id/files and GET {base}/api/sessions/:id/downloads/:dlid. `enabled` false: both answer 403. */
export function transferRoutes(transfers: Transfers | null, opts: RouteOptions) {
  const off = () => new AppError("transfer_off", "file transfer is off on this server (--no-file-transfer)", 403, CloseCode.forbidden);
  const session = (id: string) => {
    const s = opts.pool.get(id);
    if (!s) throw new AppError("not_found", `no session ${id.slice(0, 40)}`, 404, CloseCode.sessionNotFound);
    return s;
  };
  return new Elysia({ name: "bunty.transfer", prefix: opts.basePath })
    .put(`${Paths.sessions}/:id/files`, async ({ params, request, set }) => {
      opts.requireSameOrigin(request);
      if (!transfers) throw off();
      if (opts.live.readonly) throw new AppError("read_only", "the server is read-only (-R): uploads are refused", 403, CloseCode.forbidden);
      if (opts.uploadMaxBytes === 0) throw new AppError("uploads_off", "uploads are off on this server (--upload-max-bytes 0)", 403, CloseCode.forbidden);
      const s = session(params.id);
      const r = await transfers.upload(s, request);
      set.status = 201;
      return r;
    }, {
      parse: "none", // the body is streamed to the file, never buffered
      params: t.Object({ id: t.String({ maxLength: 64 }) }),
      response: { 201: Uploaded, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 408: ErrorBody, 409: ErrorBody, 413: ErrorBody, 503: ErrorBody },
      detail: { summary: "Upload a file (the raw body) into the session's current directory as ?name=NAME; &overwrite=1 replaces an existing file" },
    })
    .get(`${Paths.sessions}/:id/downloads/:dl`, async ({ params }) => {
      if (!transfers) throw off();
      const s = session(params.id);
      const d = transfers.download(s.id, params.dl);
      if (!d) throw new AppError("not_found", "no such download (offers last 10 minutes and end with their session)", 404, CloseCode.sessionNotFound);
      const st = await fsCall(stat(d.path), "stat").catch(() => null);
      if (!st?.isFile()) throw new AppError("not_found", `${d.name} is no longer there`, 404, CloseCode.sessionNotFound);
      return new Response(Bun.file(d.path), {
        headers: { "content-type": "application/octet-stream", "content-disposition": contentDisposition(d.name), "cache-control": "no-store" },
      });
    }, {
      params: t.Object({ id: t.String({ maxLength: 64 }), dl: t.String({ maxLength: 64 }) }),
      detail: { summary: "A file offered with bunty-get in that session (the id comes in a `download` message)" },
    });
}
