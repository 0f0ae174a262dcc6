// The file-transfer service: uploads into a session's current directory (streamed to a temp file,
// then linked or renamed into place) and downloads offered by the `bunty-get` helper (an OSC 5379
// request in the session's output, found by core/osc.ts, checked here, offered to the session's
// write-mode clients, served by id by transfer-routes.ts).
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

import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, chmod, link, lstat, mkdtemp, open, rename, rm, stat, unlink, writeFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { DownloadMessage } from "../../protocol/index.ts";
import { within } from "../core/deadline.ts";
import type { LogFn } from "../core/log.ts";
import { OscWatcher } from "../core/osc.ts";
import type { Session } from "../core/session.ts";
import { HttpError } from "./errors.ts";
import { closeQuietly, errno, fsCall, fsError, openDir, SessionDir, Timeout } from "./fs.ts";
import script from "./bunty-get.sh" with { type: "text" };

/** No request-body bytes for this long: the upload is aborted (408). Below Bun's own 10 s request idle timeout, so ours answers first. */
export const UPLOAD_IDLE_TIMEOUT_MS = 8_000;
/** At shutdown, how long removing bunty-get's directory may take (inside the shutdown deadline). */
const UNINSTALL_TIMEOUT_MS = 300;
/** Uploads in flight at once, server-wide; more get 503. */
export const MAX_UPLOADS = 4;
/** Downloads offered per session (the oldest is forgotten first). */
export const MAX_DOWNLOADS_PER_SESSION = 16;
/** An offered download is served for this long. */
export const DOWNLOAD_TTL_MS = 10 * 60_000;
/** Requests of one session being checked (stat) at once; more are ignored. */
const MAX_CHECKS_PER_SESSION = 4;
/** The largest name a file system takes (bytes). */
const NAME_MAX_BYTES = 255;

// ---- names ----

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
    if (bad) throw new HttpError("bad_name", bad, 400);
    const overwrite = q.get("overwrite") === "1" || q.get("overwrite") === "true";
    const lengthHeader = request.headers.get("content-length");
    if (lengthHeader !== null && !/^\d{1,16}$/.test(lengthHeader)) throw new HttpError("bad_length", "Content-Length must be a number", 400);
    const length = lengthHeader === null ? null : Number(lengthHeader);
    if (length !== null && length > max) throw tooLarge(max);
    if (this.uploads >= MAX_UPLOADS) throw new HttpError("busy", `${MAX_UPLOADS} uploads are already in progress; try again when one has finished`, 503);
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
          throw errno(e) === "EISDIR" || errno(e) === "ENOTEMPTY" || errno(e) === "EEXIST" ? new HttpError("exists", `${name} is a directory in ${d.path}`, 409) : e;
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
      if (length) throw new HttpError("bad_body", "no body", 400);
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
          throw new HttpError("aborted", `the upload was interrupted: ${String((e as Error)?.message ?? e).slice(0, 100)}`, 400);
        } finally {
          clearTimeout(timer);
        }
        if (idle) throw new HttpError("timeout", `no data for ${UPLOAD_IDLE_TIMEOUT_MS / 1000} s: upload aborted`, 408);
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
    if (length !== null && size !== length) throw new HttpError("aborted", `the upload ended after ${size} of ${length} bytes`, 400);
    return size;
  }
}

const tooLarge = (max: number) => new HttpError("too_large", `the file is larger than the upload limit of ${max} bytes (--upload-max-bytes)`, 413);
const exists = (name: string, dir: string) => new HttpError("exists", `${name} exists in ${dir}`, 409);

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
