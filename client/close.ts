// Owner: client (browser page). What a closed socket means to the page: the session ended (and
// the text that says why), or a drop to reconnect from. Pure: close codes are protocol/index.ts's.

import { CloseCode, type ExitMessage } from "../protocol/index.ts";

/** The text for a close that ends the session, or null when the client should reconnect. */
export function endText(code: number, reason: string, exit: ExitMessage | null): string | null {
  switch (code) {
    case CloseCode.normal:
      if (!exit) return "ended";
      return exit.signal ? `ended (killed by ${exit.signal})` : `ended (exit code ${exit.code ?? "?"})`;
    case CloseCode.sessionEnded:
      return `ended by the server (${reason || "no reason"})`;
    case CloseCode.sessionNotFound:
      return "ended (session not found)";
    case CloseCode.tooManySessions:
      return `refused: ${reason || "too many sessions"}`;
    case CloseCode.spawnFailed:
      return `could not start (${reason || "no reason"})`;
  }
  return null;
}
