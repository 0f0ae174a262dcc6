// Small helpers for the benchmark: deadlines, statistics, formatting. No I/O.

export const sleep = (ms: number) => Bun.sleep(ms);

export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** Resolves like `p`, or rejects with TimeoutError after `ms`. The timer never outlives the race. */
export async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every `everyMs` until it returns a non-undefined value or `ms` passes (then returns undefined). */
export async function pollUntil<T>(check: () => Promise<T | undefined> | T | undefined, ms: number, everyMs = 20): Promise<T | undefined> {
  const until = performance.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() >= until) return undefined;
    await sleep(everyMs);
  }
}

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

/** Percentile with linear interpolation between closest ranks; NaN for an empty list. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = ((s.length - 1) * p) / 100;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export const max = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);
export const min = (xs: number[]) => (xs.length ? Math.min(...xs) : NaN);

/** Rounds to `digits` decimals (for JSON and tables); keeps NaN/null as null. */
export function round(n: number | null | undefined, digits = 2): number | null {
  if (n === null || n === undefined || !Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function fmt(n: number | null | undefined, digits = 2): string {
  const r = round(n, digits);
  return r === null ? "-" : r.toFixed(digits);
}

export const errorText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));
