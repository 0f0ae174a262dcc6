// What can go wrong in the core, in its own words. The core knows no HTTP status and no close
// code: the edges map these (web/errors.ts), in one place.

/** The kinds of failure the core reports. */
export type Failure =
  | "too_many_sessions" // every session has a client, or too many are still being reaped
  | "spawn_failed" // the program could not be started
  | "draining" // the server is draining (an upgrade, a scale-down): it takes no new sessions
  | "unavailable" // a part is off or refused (a refused recording directory)
  | "timeout"; // the file system did not answer in time

export class DomainError extends Error {
  constructor(
    readonly kind: Failure,
    message: string,
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const tooManySessions = (max: number, why: "attached" | "ending" = "attached") =>
  new DomainError("too_many_sessions", why === "attached"
    ? `the server already runs its maximum of ${max} sessions, each with a client attached`
    : `the server is still ending ${max} sessions; try again in a few seconds`);

export const spawnFailed = (why: string) => new DomainError("spawn_failed", why);

export const drainingNow = (reason: string) =>
  new DomainError("draining", `this server is draining and takes no new sessions (${reason}); open a new tab through the proxy's front door`);
