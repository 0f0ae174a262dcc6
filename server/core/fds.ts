// The server's open-file budget: how many descriptors it may hold (RLIMIT_NOFILE, which Bun
// raises to the hard limit at start) and how many it holds (counted in /proc/self/fd, once a
// second, off the event loop). New WebSockets and sessions are refused while fewer than
// FD_RESERVE are left, so a flood of sockets (383 viewers of one share link once took the last
// fd) leaves room for the sessions already running, their owner's reconnect and /api/health.
// Knows nothing of sockets or sessions.

import { readdir, readFile } from "node:fs/promises";

/** Descriptors kept free for what runs already: accepting the owner's socket, health checks, a session's reaping. */
export const FD_RESERVE = 128;
/** How often the open descriptors are counted. */
const COUNT_EVERY_MS = 1000;
/** /proc reads never wait for a disk, but no await on I/O goes without a deadline. */
const PROC_TIMEOUT_MS = 1000;
/** Descriptors a session holds at most (PTY master and slave, our tcflow descriptor, pidfd, pipes), for the start-up estimate. */
export const FDS_PER_SESSION = 7;

export interface FdBudget {
  /** The soft limit (Infinity where unknown). */
  readonly limit: number;
  /** Descriptors open at the last count, plus those handed out since (`take`). */
  readonly open: number;
  /** Whether one more socket or session still leaves FD_RESERVE free. */
  room(): boolean;
  stop(): void;
}

async function softLimit(): Promise<number> {
  try {
    const text = await readFile("/proc/self/limits", { encoding: "utf8", signal: AbortSignal.timeout(PROC_TIMEOUT_MS) });
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    return m && m[1] !== "unlimited" ? Number(m[1]) : Infinity;
  } catch {
    return Infinity;
  }
}

async function countOpen(): Promise<number | null> {
  try {
    return (await readdir("/proc/self/fd", { signal: AbortSignal.timeout(PROC_TIMEOUT_MS) } as never)).length;
  } catch {
    return null;
  }
}

/** Starts counting. Where /proc is missing (not Linux) every check passes. */
export async function startFdBudget(): Promise<FdBudget> {
  const limit = await softLimit();
  let open = (await countOpen()) ?? 0;
  let since = 0; // room() answers given since the last count: each may have become a descriptor
  let counting = false;
  const timer = setInterval(async () => {
    if (counting) return;
    counting = true;
    const n = await countOpen();
    counting = false;
    if (n !== null) [open, since] = [n, 0];
  }, COUNT_EVERY_MS);
  timer.unref();
  return {
    limit,
    get open() {
      return open + since;
    },
    room() {
      if (open + since + FD_RESERVE >= limit) return false;
      since++;
      return true;
    },
    stop: () => clearInterval(timer),
  };
}
