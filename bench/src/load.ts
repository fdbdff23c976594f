import { Worker } from "node:worker_threads";

/** What each call of a load does. */
export type LoadOperation =
  /** Create a run of the deployment (`POST /api/deployments/{id}/runs`). */
  | { kind: "create"; deploymentId: string }
  /** Move one of these existing runs to `type` (`POST /api/flow-runs/{id}/state`), each run once. */
  | { kind: "set-state"; runIds: string[]; type: "CANCELLED"; message: string }
  /** List runs, newest first (`GET /api/flow-runs`), filtered by `state` when given. */
  | { kind: "list"; limit: number; state?: string };

export interface LoadPlan {
  apiUrl: string;
  apiKey: string;
  operation: LoadOperation;
  /** Calls to make in all, shared by the clients. */
  calls: number;
  clients: number;
}

/** One call as the client saw it; times in epoch ms (`preciseNow`). */
export interface CallSample {
  /** The run created or changed; for a list, how many runs it returned. */
  flowRunId: string;
  sentAt: number;
  receivedAt: number;
}
/** The name the create figures know it by. */
export type CreateSample = CallSample;

export interface LoadResult {
  samples: CallSample[];
  /** Calls that failed, and the first few messages. */
  errors: number;
  errorMessages: string[];
}

/**
 * Makes `plan.calls` calls from a worker thread, so the load generator's own JSON and HTTP work does not
 * queue on the server's event loop and inflate what is measured.
 */
export function runLoad(plan: LoadPlan): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./load-worker.js", import.meta.url), { workerData: plan });
    let done = false;
    worker.once("message", (message: LoadResult) => {
      done = true;
      resolve(message);
      // Its keep-alive sockets would hold the thread open for seconds; it has nothing left to do.
      void worker.terminate();
    });
    worker.once("error", (error) => {
      done = true;
      reject(error);
    });
    worker.once("exit", (code) => {
      if (!done) reject(new Error(`the load worker exited with code ${code} before reporting`));
    });
  });
}
