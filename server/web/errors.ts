// Errors at the edge: an HTTP refusal with its status, and the one mapping of the core's
// failures (core/errors.ts) to HTTP statuses and WebSocket close codes.

import { CloseCode } from "../../protocol/index.ts";
import { DomainError, type Failure } from "../core/errors.ts";

export class HttpError extends Error {
  constructor(
    /** Stable machine-readable code, sent to clients. */
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "HttpError";
  }
  toJSON() {
    return { error: this.code, message: this.message };
  }
  /** Elysia turns a thrown error with toResponse() into that response. */
  toResponse(): Response {
    return Response.json(this.toJSON(), { status: this.status });
  }
}

const STATUS: Record<Failure, number> = { too_many_sessions: 503, spawn_failed: 500, draining: 503, unavailable: 404, timeout: 504 };
// A draining server refuses a new session like a full one (4002): a page already shows such a refusal, with its reason, and stops.
const CLOSE: Record<Failure, number> = { too_many_sessions: CloseCode.tooManySessions, spawn_failed: CloseCode.spawnFailed, draining: CloseCode.tooManySessions, unavailable: CloseCode.internalError, timeout: CloseCode.internalError };

/** Any thrown value as an HTTP answer (unknown errors become 500 without details). */
export function toHttp(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof DomainError) return new HttpError(e.kind, e.message, STATUS[e.kind]);
  return new HttpError("internal", "internal server error", 500);
}

/** Any thrown value as a WebSocket close (unknown errors become 1011 without details). */
export function toClose(e: unknown): { code: number; reason: string; kind: string } {
  if (e instanceof DomainError) return { code: CLOSE[e.kind], reason: e.message, kind: e.kind };
  return { code: CloseCode.internalError, reason: "internal server error", kind: "internal" };
}
