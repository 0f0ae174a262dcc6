// Measures event-loop lag: how late a periodic timer fires. A stalled loop shows up here
// (and in GET /api/health) even when nothing else notices.

/** Sampling period. */
export const LAG_SAMPLE_MS = 50;
/** The window over which the maximum is kept. */
export const LAG_WINDOW_MS = 10_000;

export interface LagMonitor {
  /** Lag of the latest sample, in ms. */
  current(): number;
  /** Largest lag seen in the last LAG_WINDOW_MS, in ms. */
  max(): number;
  stop(): void;
}

/** `onSample` sees every sample (ms late) as it is taken. */
export function startLagMonitor(onSample?: (lagMs: number) => void): LagMonitor {
  const samples: number[] = [];
  const keep = Math.ceil(LAG_WINDOW_MS / LAG_SAMPLE_MS);
  let expected = performance.now() + LAG_SAMPLE_MS;
  const timer = setInterval(() => {
    const now = performance.now();
    const lag = Math.max(0, now - expected);
    samples.push(lag);
    if (samples.length > keep) samples.shift();
    expected = now + LAG_SAMPLE_MS;
    onSample?.(lag);
  }, LAG_SAMPLE_MS);
  timer.unref();
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    current: () => round(samples.at(-1) ?? 0),
    max: () => round(samples.reduce((a, b) => Math.max(a, b), 0)),
    stop: () => clearInterval(timer),
  };
}
