// Owner: client (recordings page). Reading an asciicast v2 file (what --record writes): header line,
// then events, with long pauses shortened (as asciinema does) so a session left idle for an hour
// replays in seconds. Pure.

/** Pauses longer than this (recorded seconds) play as this long. */
const IDLE_CAP_S = 2;

/** [seconds since the start, "o" (output) or "r" (resize, "COLSxROWS"), data]. */
export type CastEvent = [number, string, string];

/** Parses an asciicast v2 file: header line, then events; idle gaps capped. */
export function parseCast(text: string): { width: number; height: number; events: CastEvent[] } {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = JSON.parse(lines[0]!);
  if (header.version !== 2) throw new Error(`not an asciicast v2 file (version ${header.version})`);
  let last = 0, shift = 0;
  const out: CastEvent[] = [];
  for (const line of lines.slice(1)) {
    const [t, code, data] = JSON.parse(line) as CastEvent;
    shift += Math.max(0, t - last - IDLE_CAP_S);
    last = t;
    out.push([t - shift, code, data]);
  }
  return { width: header.width, height: header.height, events: out };
}
