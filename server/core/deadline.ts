// Small helpers for waits that must not outlive their deadline (and leave no timer behind).

/** Resolves with the promise's value, or with `fallback` after `ms`; the timer is cleared either way. */
export function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
