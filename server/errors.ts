// Application errors, each with its HTTP status and WebSocket close code, mapped in one place.

import { CloseCode } from "../protocol/index.ts";

export class AppError extends Error {
  constructor(
    /** Stable machine-readable code, sent to clients. */
    readonly code: string,
    message: string,
    readonly httpStatus: number,
    readonly closeCode: number,
  ) {
    super(message);
    this.name = "AppError";
  }
  toJSON() {
    return { error: this.code, message: this.message };
  }
  /** Elysia turns a thrown error with toResponse() into that response. */
  toResponse(): Response {
    return Response.json(this.toJSON(), { status: this.httpStatus });
  }
}

export const tooManySessions = (max: number, why: "attached" | "ending" = "attached") =>
  new AppError("too_many_sessions", why === "attached"
    ? `the server already runs its maximum of ${max} sessions, each with a client attached`
    : `the server is still ending ${max} sessions; try again in a few seconds`, 503, CloseCode.tooManySessions);

export const spawnFailed = (why: string) => new AppError("spawn_failed", why, 500, CloseCode.spawnFailed);

/** Any thrown value as an AppError (unknown errors become internal errors without leaking details). */
export function asAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  return new AppError("internal", "internal server error", 500, CloseCode.internalError);
}
