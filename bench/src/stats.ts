/** Latency figures in milliseconds. */
export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of ascending `sorted` (p in 0..100): a value that was actually observed. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/**
 * Events per second over a window that opens at `start` and closes at the last of `times`: how fast
 * the whole batch went through, not the peak of a sliding window.
 */
export function ratePerSecond(start: number, times: readonly number[]): number {
  if (!times.length) return 0;
  let last = -Infinity;
  for (const t of times) if (t > last) last = t;
  const seconds = (last - start) / 1000;
  return seconds > 0 ? times.length / seconds : Number.POSITIVE_INFINITY;
}

/** A timestamp in epoch milliseconds with sub-millisecond resolution, comparable across worker threads. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
