// The bunty-get watcher on a session's output (the hot path: every PTY chunk): finds
// `ESC ] 5379 ; ... BEL` requests in the byte stream and hands each payload on. Knows nothing of
// files or clients (web/transfer.ts checks and offers what a request names).

/** A bunty-get request longer than this (prefix to BEL) is ignored. */
export const MAX_REQUEST_BYTES = 8192;
/** The OSC that bunty-get prints: ESC ] 5379 ; get ; BASE64(PATH) BEL. */
export const OSC_PREFIX = Buffer.from("\x1b]5379;");
const BEL = 0x07;
const ESC = 0x1b;

/**
 * Finds `ESC ] 5379 ; ... BEL` requests in a byte stream. With no request in a chunk it costs one
 * indexOf over the chunk plus one over its last 6 bytes (a prefix cut by the chunk's end). A
 * request split across chunks is carried, at most MAX_REQUEST_BYTES; longer ones are dropped.
 * The bytes themselves are left alone (terminals ignore OSCs they do not know).
 */
export class OscWatcher {
  /** An unfinished request: starts with (a part of) the prefix. */
  private carry: Buffer | null = null;
  constructor(private readonly onRequest: (payload: Buffer) => void) {}

  push(bytes: Uint8Array): void {
    if (!this.carry && bytes.indexOf(ESC) < 0) return; // most chunks: no escape at all
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let from = 0;
    if (this.carry) from = this.continueCarry(b);
    if (from >= 0) this.scan(b, from);
  }

  /** Continues a carried request with the next chunk; returns where the normal scan resumes (-1: the chunk was all carried). */
  private continueCarry(b: Buffer): number {
    let c = this.carry!;
    this.carry = null;
    let at = 0;
    if (c.length < OSC_PREFIX.length) {
      const need = OSC_PREFIX.length - c.length;
      const have = Math.min(need, b.length);
      if (!b.subarray(0, have).equals(OSC_PREFIX.subarray(c.length, c.length + have))) return 0; // not our prefix after all
      if (have < need) {
        this.carry = Buffer.concat([c, b]);
        return -1;
      }
      c = Buffer.concat([c, b.subarray(0, need)]);
      at = need;
    }
    const room = MAX_REQUEST_BYTES - c.length;
    const end = b.subarray(at, at + room).indexOf(BEL);
    if (end >= 0) {
      this.onRequest(Buffer.concat([c.subarray(OSC_PREFIX.length), b.subarray(at, at + end)]));
      return at + end + 1;
    }
    if (b.length - at >= room) return at; // too long: dropped
    this.carry = Buffer.concat([c, b.subarray(at)]);
    return -1;
  }

  private scan(b: Buffer, from: number): void {
    for (;;) {
      const i = b.indexOf(OSC_PREFIX, from);
      if (i < 0) break;
      const end = b.subarray(i + OSC_PREFIX.length, i + MAX_REQUEST_BYTES).indexOf(BEL);
      if (end >= 0) {
        this.onRequest(Buffer.from(b.subarray(i + OSC_PREFIX.length, i + OSC_PREFIX.length + end)));
        from = i + OSC_PREFIX.length + end + 1;
        continue;
      }
      if (b.length - i < MAX_REQUEST_BYTES) {
        this.carry = Buffer.from(b.subarray(i)); // a copy: the PTY's buffer is reused
        return;
      }
      from = i + OSC_PREFIX.length; // too long: dropped
    }
    // The chunk may end with the start of a prefix (ESC, ESC ], ESC ] 5...).
    for (let k = Math.max(from, b.length - OSC_PREFIX.length + 1); k < b.length; k++) {
      if (b[k] !== ESC) continue;
      let j = 1;
      while (k + j < b.length && b[k + j] === OSC_PREFIX[j]) j++;
      if (k + j === b.length) {
        this.carry = Buffer.from(b.subarray(k));
        return;
      }
    }
  }
}
