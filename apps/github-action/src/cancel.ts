/**
 * A cancelled workflow must not leave its Ferry run going. The runner first signals the step's process
 * (SIGINT, then SIGTERM), then runs the `post` step; the main step records the run it waits on in the
 * step's state, so the post step can cancel it when the main step could not (killed, or out of time).
 */

/** Step-state names (core.saveState / core.getState), shared by the main and the post step. */
export const STATE = {
  /** The run the main step started and is waiting on. */
  runId: "flow-run-id",
  /** Set to the run's id once the main step saw it end (or cancelled it itself): nothing left for post. */
  settled: "flow-run-settled",
  /** The post step reads this to know it is the post step (the same bundle runs both). */
  isPost: "isPost",
} as const;

export const CANCEL_SIGNALS = ["SIGINT", "SIGTERM"] as const;
type CancelSignal = (typeof CANCEL_SIGNALS)[number];

/** The bit of `process` this needs; a test passes an EventEmitter. */
export interface SignalSource {
  on(signal: CancelSignal, listener: () => void): unknown;
  off(signal: CancelSignal, listener: () => void): unknown;
}

/**
 * While the returned function has not been called, the first SIGINT or SIGTERM cancels the run
 * (`cancel`), then `exit`s: a second signal while cancelling changes nothing. Replaces Node's default
 * (exit at once), which would leave the run going.
 */
export function cancelOnSignal(source: SignalSource, cancel: (signal: CancelSignal) => Promise<void>, exit: (signal: CancelSignal) => void): () => void {
  let started = false;
  const listeners = CANCEL_SIGNALS.map((signal) => {
    const listener = () => {
      if (started) return;
      started = true;
      // `cancel` reports its own failure; the step ends either way.
      void cancel(signal)
        .catch(() => undefined)
        .then(() => exit(signal));
    };
    source.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) source.off(signal, listener);
  };
}
