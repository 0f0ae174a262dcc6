// Ends every process of a terminal's session, with escalation: SIGHUP, then SIGTERM, then
// SIGKILL, each after a bounded wait. Owns /proc scanning and signalling; knows nothing of
// PTYs or sockets.
//
// Why not a process-group kill: bash's job control puts each foreground job in its own group,
// so kill(-shellPid) misses `sleep 1000` typed at the prompt; a job with `trap '' HUP TERM INT`
// survives everything but SIGKILL. Every process started on the terminal shares the shell's
// session id (field 6 of /proc/PID/stat), so we signal by session. Processes that leave the
// session on purpose (setsid, daemons) are out of scope. Linux does not reuse a pid while it
// still names a live session, so the session id cannot come to mean someone else.

import { readdir, readFile } from "node:fs/promises";

/** How long processes get to go after SIGHUP before SIGTERM. */
export const HUP_WAIT_MS = 400;
/** How long after SIGTERM before SIGKILL. */
export const TERM_WAIT_MS = 400;
/** How long we wait for SIGKILLed processes to disappear before giving up (they are unkillable, e.g. in D state). */
export const KILL_WAIT_MS = 2000;
/** Upper bound of endSession, for docs and callers' deadlines. */
export const REAP_BOUND_MS = HUP_WAIT_MS + TERM_WAIT_MS + KILL_WAIT_MS;
/** Polling period while waiting for processes to exit. */
const POLL_MS = 20;
/** Deadline for one /proc read; /proc does not block, but no await on I/O goes without one. */
const PROC_READ_TIMEOUT_MS = 1000;

/** Parses /proc/PID/stat: returns [state, session id] or null. The comm field may contain spaces and parens. */
function parseStat(text: string): [string, number] | null {
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  const f = text.slice(close + 2).split(" ");
  // after "pid (comm) ": state ppid pgrp session ...
  const sid = Number(f[3]);
  return Number.isFinite(sid) ? [f[0]!, sid] : null;
}

async function readStat(pid: number, signal: AbortSignal): Promise<[string, number] | null> {
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, { encoding: "latin1", signal }));
  } catch {
    return null; // gone, or unreadable
  }
}

/** One pass over /proc: pid -> session id of every live (non-zombie) process. */
async function scanProcesses(): Promise<Map<number, number>> {
  const signal = AbortSignal.timeout(PROC_READ_TIMEOUT_MS);
  const table = new Map<number, number>();
  let pids: number[];
  try {
    pids = (await readdir("/proc", { signal } as never)).map(Number).filter((n) => n > 0);
  } catch {
    return table;
  }
  const stats = await Promise.all(pids.map((p) => readStat(p, signal)));
  pids.forEach((pid, i) => {
    const s = stats[i];
    if (s && s[0] !== "Z" && s[0] !== "X") table.set(pid, s[1]);
  });
  return table;
}

// Many sessions often end at once (a server shutdown, a burst of disconnects). They share scans
// of /proc instead of each reading the whole process table. A caller only takes a scan that
// started at or after `since` (when it last signalled, or began): an older scan could miss a
// process forked a moment ago, or show one already killed. One scan runs at a time: whoever asks
// while one is under way waits for the next, which starts when it is done and serves them all.
let latest: { at: number; table: Promise<Map<number, number>>; done: boolean } | null = null;
let queued: Promise<Map<number, number>> | null = null;
function startScan(): Promise<Map<number, number>> {
  const scan = { at: performance.now(), table: scanProcesses(), done: false };
  void scan.table.finally(() => (scan.done = true));
  latest = scan;
  return scan.table;
}
function processTable(since: number): Promise<Map<number, number>> {
  if (latest && latest.at >= since) return latest.table;
  if (!latest || latest.done) return startScan();
  queued ??= latest.table.then(() => {
    queued = null;
    return startScan();
  });
  return queued;
}

/** Live (non-zombie) pids whose session id is `sid`, including the leader itself, from a scan started now or later. */
export async function sessionMembers(sid: number, since = performance.now()): Promise<number[]> {
  const members: number[] = [];
  for (const [pid, s] of await processTable(since)) if (s === sid) members.push(pid);
  return members;
}

function signalAll(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {} // already gone
  }
}

/** Whether `pid` is a live (non-zombie) member of session `sid` right now. */
async function isMember(pid: number, sid: number, signal: AbortSignal): Promise<boolean> {
  const s = await readStat(pid, signal);
  return !!s && s[0] !== "Z" && s[0] !== "X" && s[1] === sid;
}

/**
 * Waits until none of `pids` is a live member of `sid`, or `ms` passes. Returns the survivors.
 * Only those pids are looked at (a few files), not the whole process table: many sessions end
 * at once in a storm of disconnects, and each poll of every /proc entry was hundreds of reads.
 * New processes forked meanwhile are found by the next step's full scan.
 */
async function waitGone(sid: number, pids: number[], ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  let alive = pids;
  while (alive.length > 0 && Date.now() < until) {
    await Bun.sleep(POLL_MS);
    const signal = AbortSignal.timeout(PROC_READ_TIMEOUT_MS);
    const still = await Promise.all(alive.map((p) => isMember(p, sid, signal)));
    alive = alive.filter((_, i) => still[i]);
  }
  return alive;
}

export interface ReapResult {
  /** How many processes each step signalled. */
  hup: number;
  term: number;
  kill: number;
  /** Processes still alive after SIGKILL and KILL_WAIT_MS (unkillable); normally 0. */
  survivors: number;
}

/**
 * Ends every process of session `sid`. The caller passes the leader's pid as `sid` (the
 * program we spawned is always a session leader). Resolves within about REAP_BOUND_MS.
 */
export async function endSession(sid: number): Promise<ReapResult> {
  const result: ReapResult = { hup: 0, term: 0, kill: 0, survivors: 0 };
  // Processes may fork while we wait, so each step rescans the whole process table.
  const steps = [["SIGHUP", "hup", HUP_WAIT_MS], ["SIGTERM", "term", TERM_WAIT_MS]] as const;
  for (const [sig, field, wait] of steps) {
    const alive = await sessionMembers(sid);
    if (alive.length === 0) return result;
    result[field] = alive.length;
    signalAll(alive, sig);
    await waitGone(sid, alive, wait);
  }
  // SIGKILL until nothing is left: a process can fork between our scan and our kill.
  const until = Date.now() + KILL_WAIT_MS;
  let alive = await sessionMembers(sid);
  while (alive.length > 0 && Date.now() < until) {
    result.kill += alive.length;
    signalAll(alive, "SIGKILL");
    await waitGone(sid, alive, until - Date.now());
    alive = await sessionMembers(sid);
  }
  result.survivors = alive.length;
  return result;
}
