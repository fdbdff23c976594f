import pRetry from "p-retry";
import { isFerryError, toFerryError, type FerryError } from "@ferry/core";

/**
 * Calls to a cloud are retried here, not by each SDK's own policy, so every provider backs off the same
 * way: only what classification calls retryable (throttling, 429, 5xx, a failed connection), a bounded
 * number of attempts, exponential backoff with full jitter, and never past the caller's abort signal.
 * Providers set their SDK's own attempts to one.
 */
export interface RetryOptions {
  /** Attempts in all, the first included; default 3. */
  attempts?: number;
  /** Backoff before the second attempt, doubled for each next one (before jitter); default 200 ms. */
  baseDelayMs?: number;
  /** Upper bound of one backoff; default 5 s, or the base delay when that is longer. */
  maxDelayMs?: number;
  /** Aborting stops the retries: the call rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Turns a thrown value into a FerryError (the provider's classifier); default toFerryError. */
  classify?: (error: unknown) => FerryError;
  /** Called before each backoff, e.g. to log it. */
  onRetry?: (error: FerryError, attempt: number, delayMs: number) => void;
  /** Injectable for tests: a number in [0, 1). */
  random?: () => number;
  /** Injectable for tests: waits `ms`, rejecting when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const DEFAULT_RETRY = { attempts: 3, baseDelayMs: 200, maxDelayMs: 5_000 } as const;

/** The backoff before attempt `attempt + 1`: full jitter, `random() * min(max, base * 2^(attempt-1))`. */
export function backoffDelay(attempt: number, options: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs" | "random"> = {}): number {
  const base = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  // A base above the default bound asks for longer waits than the bound allows: the base wins.
  const max = options.maxDelayMs ?? Math.max(DEFAULT_RETRY.maxDelayMs, base);
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/** `fn`, retried while it fails with a retryable error; rejects with the last error, classified. */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, Math.floor(options.attempts ?? DEFAULT_RETRY.attempts));
  const classify = options.classify ?? ((e: unknown) => toFerryError(e, "provider_error"));
  const sleep = options.sleep ?? abortableSleep;
  const signal = options.signal;
  signal?.throwIfAborted();
  return pRetry(
    async (attempt) => {
      signal?.throwIfAborted();
      try {
        return await fn(attempt);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw classify(error);
      }
    },
    {
      retries: attempts - 1,
      // The backoff is ours (below): p-retry adds none.
      minTimeout: 0,
      maxTimeout: 0,
      randomize: false,
      ...(signal ? { signal } : {}),
      shouldRetry: (error) => isFerryError(error) && error.retryable && !signal?.aborted,
      onFailedAttempt: async (error) => {
        // Out of attempts, or not worth another: reject with this error, not p-retry's "most frequent" one.
        if (error.retriesLeft <= 0 || !isFerryError(error) || !error.retryable) throw error;
        const delay = backoffDelay(error.attemptNumber, options);
        options.onRetry?.(error, error.attemptNumber, delay);
        await sleep(delay, signal);
      },
    },
  );
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
