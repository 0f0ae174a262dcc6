// The output log: a fixed-size ring of a session's most recent output, addressed by absolute
// byte offsets (offset 0 = the session's first output byte). Lets a client that fell behind or
// reconnected get exactly the bytes it missed, as long as they are still here. The ring lives in
// shared memory so the screen-model worker reads output straight from it (no second copy, no
// message per chunk); the end offset is published with it.

/**
 * Default ring size. sshx keeps 2 MiB per shell; we keep more so that a reader on a busy machine
 * that falls a few hundred ms behind a flood still resumes from the log (no bytes skipped). The
 * memory is committed only as output fills it: an idle session touches a few pages.
 */
export const OUTPUT_LOG_BYTES = 8 << 20;
/**
 * Rings of ended sessions kept for the next sessions, at most. The garbage collector gives dead
 * shared buffers back late (measured: 8 MiB buffers dropped 20 at a time left 340 MiB resident
 * until a full collection), so a churn of sessions that printed much would grow the process by
 * 8 MiB per session; reusing rings bounds it by the sessions alive plus these.
 */
export const SPARE_RINGS_MAX = 8;
const spareRings: SharedArrayBuffer[] = [];

/** What another thread needs to read a log: the ring, and a cell holding the end offset. */
export interface SharedLog {
  ring: SharedArrayBuffer;
  /** BigInt64Array of 1: the absolute end offset, stored with Atomics after each append. */
  end: SharedArrayBuffer;
}

export class OutputLog {
  private ring: Uint8Array;
  private readonly endCell: BigInt64Array;
  /** Absolute offset one past the newest byte. */
  private endOffset: number;
  /** Offsets below this were never in the log (a log may start mid-stream). */
  private readonly startFloor: number;

  constructor(size = OUTPUT_LOG_BYTES, startOffset = 0) {
    const reused = size === OUTPUT_LOG_BYTES ? spareRings.pop() : undefined;
    this.ring = new Uint8Array(reused ?? new SharedArrayBuffer(size));
    this.endCell = new BigInt64Array(new SharedArrayBuffer(8));
    this.endOffset = startOffset;
    this.startFloor = startOffset;
    Atomics.store(this.endCell, 0, BigInt(startOffset));
  }

  /**
   * The log is done (its session ended and nobody reads it any more, the screen worker included):
   * its ring goes to the next session. Afterwards it holds nothing and ignores appends; `end` stays.
   */
  release(): void {
    if (this.ring.length === 0) return;
    if (this.ring.length === OUTPUT_LOG_BYTES && spareRings.length < SPARE_RINGS_MAX) spareRings.push(this.ring.buffer as SharedArrayBuffer);
    this.ring = new Uint8Array(0);
  }

  get shared(): SharedLog {
    return { ring: this.ring.buffer as SharedArrayBuffer, end: this.endCell.buffer as SharedArrayBuffer };
  }

  /** Oldest offset still held. */
  get start(): number {
    return this.ring.length === 0 ? this.endOffset : Math.max(this.startFloor, this.endOffset - this.ring.length);
  }
  /** Offset one past the newest byte (= total bytes written since offset 0). */
  get end(): number {
    return this.endOffset;
  }

  append(bytes: Uint8Array): void {
    const size = this.ring.length;
    if (size === 0) return; // released
    let src = bytes;
    if (src.length > size) src = src.subarray(src.length - size);
    const at = (this.endOffset + (bytes.length - src.length)) % size;
    const first = Math.min(src.length, size - at);
    this.ring.set(src.subarray(0, first), at);
    if (first < src.length) this.ring.set(src.subarray(first), 0);
    this.endOffset += bytes.length;
    Atomics.store(this.endCell, 0, BigInt(this.endOffset));
  }

  /** Whether every byte from `offset` to the end is still held. */
  has(offset: number): boolean {
    return this.ring.length > 0 && offset >= this.start && offset <= this.endOffset;
  }

  /** A copy of at most `max` bytes from `offset` (fewer at the ring's end), or null when `offset` is not in the log. */
  read(offset: number, max: number): Uint8Array | null {
    if (!this.has(offset)) return null;
    return copyOut(this.ring, offset, Math.min(max, this.endOffset - offset));
  }

  /**
   * Copies of the bytes from `offset` to the end, in pieces of at most `maxPiece` bytes, or null
   * when `offset` is no longer (or not yet) in the log.
   */
  readFrom(offset: number, maxPiece = 64 * 1024): Uint8Array[] | null {
    if (!this.has(offset)) return null;
    const out: Uint8Array[] = [];
    for (let o = offset; o < this.endOffset; ) {
      const piece = copyOut(this.ring, o, Math.min(maxPiece, this.endOffset - o));
      out.push(piece);
      o += piece.length;
    }
    return out;
  }
}

/** Copies up to `n` bytes at absolute `offset` out of a ring (stops at the ring's end; call again for the rest). */
export function copyOut(ring: Uint8Array, offset: number, n: number): Uint8Array {
  const at = offset % ring.length;
  return ring.slice(at, at + Math.min(n, ring.length - at));
}
