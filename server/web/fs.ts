// File-system calls for the transfer routes: each with a deadline (the call itself cannot be
// cancelled, its answer can), errors turned into answers a user can act on, and a directory held
// by a descriptor (SessionDir) so that a swap of its path cannot redirect what follows.

import { constants } from "node:fs";
import { open, readlink, realpath, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { within } from "../core/deadline.ts";
import { HttpError } from "./errors.ts";

/** Deadline of each file-system call (open, write, link, rename, stat, readlink...). */
export const FS_TIMEOUT_MS = 10_000;

export const errno = (e: unknown) => (e as NodeJS.ErrnoException)?.code ?? "";
export class Timeout extends Error {}
/** A file-system call with a deadline: rejects with Timeout after FS_TIMEOUT_MS (the call itself cannot be cancelled). */
export async function fsCall<T>(p: Promise<T>, what: string): Promise<T> {
  const timedOut = Symbol();
  const r = await within(p, FS_TIMEOUT_MS, timedOut);
  if (r === timedOut) throw new Timeout(`${what} took longer than ${FS_TIMEOUT_MS} ms`);
  return r as T;
}
/** A file-system error as an answer the user can act on. */
export function fsError(e: unknown, dir: string): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof Timeout) return new HttpError("timeout", `the file system did not answer: ${e.message}`, 504);
  const code = errno(e);
  const tell = (status: number, err: string, msg: string) => new HttpError(err, msg, status);
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
export class SessionDir {
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
export const closeQuietly = (fh: FileHandle) => void fsCall(fh.close(), "close").catch(() => {});

/** fs/promises open() with the fsCall deadline; a handle that arrives after the deadline is closed (else it would leak). */
export async function openWithin(path: string, flags: number, mode?: number): Promise<FileHandle> {
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
export async function openDir(path: string): Promise<SessionDir | null> {
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
