// The server's own CPU priority against the sessions it serves. Knows nothing of sessions.
//
// Linux's autogroup (sched_autogroup_enabled, on in most distributions' kernels) gives every
// session (setsid) a scheduling group of its own, and shares the CPU between groups, not
// processes. Every terminal is a session, so each busy terminal weighs as much as the whole
// server: 30 sessions running `yes` left the server's event loop a thirtieth of the CPU and
// /api/health answered in 300-600 ms. Where the kernel lets us (root, or CAP_SYS_NICE), the
// server's own group gets a modest head start; the programs keep their normal priority among
// themselves and against the rest of the machine. Without the permission, or without autogroup
// (a systemd service or a container: cgroups decide there), nothing changes.
//
// The group is the server's session's, which it shares with whatever else runs in that session:
// started from an interactive shell, that is the user's shell and every job in it. So the server
// changes it only when it leads its session (a service, `setsid bunty`, a container's first
// process); otherwise it leaves the user's session as it is and says so.

import { readFile, writeFile } from "node:fs/promises";

/** The autogroup nice value the server asks for (-20..19; lower is more CPU). -5: about 3x a session's weight. */
export const SERVER_AUTOGROUP_NICE = -5;
/** /proc writes never block on a disk, but no await on I/O goes without a deadline. */
const PROC_TIMEOUT_MS = 1000;

/** Raises the server's autogroup priority if allowed. Resolves with what happened, for the log; never throws. */
export async function raiseOwnPriority(): Promise<{ applied: boolean; reason: string }> {
  if (process.platform !== "linux") return { applied: false, reason: "not Linux" };
  const signal = AbortSignal.timeout(PROC_TIMEOUT_MS);
  try {
    if ((await readFile("/proc/sys/kernel/sched_autogroup_enabled", { encoding: "utf8", signal })).trim() !== "1") return { applied: false, reason: "autogroup is off" };
    const stat = await readFile("/proc/self/stat", { encoding: "latin1", signal });
    const sid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
    if (sid !== process.pid) return { applied: false, reason: "not the leader of its session (its group is shared with the shell that started it): run it as a service or with setsid" };
    await writeFile("/proc/self/autogroup", String(SERVER_AUTOGROUP_NICE), { signal });
    return { applied: true, reason: `autogroup nice ${SERVER_AUTOGROUP_NICE}` };
  } catch (e) {
    return { applied: false, reason: (e as NodeJS.ErrnoException).code ?? String(e) };
  }
}
