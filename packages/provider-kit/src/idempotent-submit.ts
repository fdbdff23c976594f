import type { SubmitRequest, SubmitResult } from "@ferry/core";
import { BoundedMap } from "./bounded-map.js";

/**
 * `ComputeProvider.submit` must start one job per idempotency key, whatever happens: a repeated call,
 * two concurrent calls, a retry after a failure, a new server process resubmitting a run it may have
 * started before it stopped. A cloud whose start call is idempotent (a client token) needs only the
 * memo; for one whose start is not (a second call starts a second job), the provider gives `find`: "did
 * an earlier attempt already start this?", asked before every start this process makes (a key it has
 * not seen may have been started by the process before it; a failed attempt may have started it before
 * it failed).
 */
export interface IdempotentSubmitOptions {
  /** Starts the job on the cloud. */
  start: (request: SubmitRequest) => Promise<SubmitResult>;
  /** The job an earlier attempt with this request's key started, or null; e.g. a lookup by a label holding the key. */
  find?: (request: SubmitRequest) => Promise<SubmitResult | null>;
  /** How many keys' answers are remembered; default 5000 (the oldest go first). */
  maxRemembered?: number;
}

export type Submit = (request: SubmitRequest) => Promise<SubmitResult>;

/**
 * A `submit` that is idempotent on `request.idempotencyKey`: memoised (bounded); concurrent calls of
 * one key share one attempt; a failed attempt is forgotten, so the next call tries again, after `find`.
 */
export function idempotentSubmit(options: IdempotentSubmitOptions): Submit {
  const attempts = new BoundedMap<string, Promise<SubmitResult>>(options.maxRemembered ?? 5000);
  const attempt = async (request: SubmitRequest): Promise<SubmitResult> => {
    if (options.find) {
      const found = await options.find(request);
      if (found) return found;
    }
    return options.start(request);
  };
  return (request) => attempts.getOrMake(request.idempotencyKey, () => attempt(request));
}
