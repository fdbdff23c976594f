import { Worker } from "node:worker_threads";

export interface LoadPlan {
  apiUrl: string;
  apiKey: string;
  deploymentId: string;
  /** Runs to create in all, shared by the clients. */
  runs: number;
  clients: number;
}

/** One create call as the client saw it; times in epoch ms (`preciseNow`). */
export interface CreateSample {
  flowRunId: string;
  sentAt: number;
  receivedAt: number;
}

export interface LoadResult {
  samples: CreateSample[];
  /** Create calls that failed, and the first few messages. */
  errors: number;
  errorMessages: string[];
}

/**
 * Creates `plan.runs` runs from a worker thread, so the load generator's own JSON and HTTP work does not
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
