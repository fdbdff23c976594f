import { isFerryError, type FlowRunEvent } from "@ferry/core";

/** What following needs of the client: its event stream, resumable from an event id. */
export interface RunEvents {
  followRun(id: string, options: { lastEventId?: string; signal?: AbortSignal }): AsyncIterable<FlowRunEvent>;
}

export interface FollowOptions {
  signal: AbortSignal;
  /** Told before each wait, e.g. to say in the channel that the server is unreachable. */
  onRetry?: (error: unknown, delayMs: number) => void;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  maxDelayMs?: number;
}

const realSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

/** A failure worth waiting out: the server restarting, a dropped connection, a proxy's 502/503. */
function retryable(error: unknown): boolean {
  return isFerryError(error) ? error.retryable : error instanceof TypeError;
}

/**
 * A run's events for as long as the run is open: the client's own retries give up after about 15
 * seconds, but an editor left open through a server restart or a laptop's sleep should pick the run
 * up again. It resumes after the last event received, so nothing is shown twice; it ends when the
 * stream ends (the run is final), when `signal` aborts, or on a failure waiting cannot fix (the run
 * deleted, the key revoked).
 */
export async function* followWhileOpen(client: RunEvents, id: string, options: FollowOptions): AsyncGenerator<FlowRunEvent> {
  const sleep = options.sleep ?? realSleep;
  const maxDelay = options.maxDelayMs ?? 30_000;
  let lastEventId: string | undefined;
  let delay = 1000;
  for (;;) {
    if (options.signal.aborted) return;
    try {
      for await (const event of client.followRun(id, { signal: options.signal, ...(lastEventId ? { lastEventId } : {}) })) {
        lastEventId = event.id;
        delay = 1000;
        yield event;
      }
      return;
    } catch (error) {
      if (options.signal.aborted) return;
      if (!retryable(error)) throw error;
      options.onRetry?.(error, delay);
      await sleep(delay, options.signal);
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}
