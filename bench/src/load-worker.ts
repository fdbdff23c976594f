// Worker-thread entry of `runLoad`: `clients` loops, each making calls back to back over keep-alive
// HTTP (fetch's default agent keeps connections open), until the shared budget of calls is spent.
import { parentPort, workerData } from "node:worker_threads";
import { FerryClient } from "@ferry/core";
import type { CallSample, LoadOperation, LoadPlan, LoadResult } from "./load.js";
import { preciseNow } from "./stats.js";

/** Past this many failed calls the server is broken, not slow: stop rather than spin. */
const MAX_ERRORS = 100;

/** One call of `operation`, the `index`th of the load; resolves to the run it created or changed. */
async function call(client: FerryClient, operation: LoadOperation, index: number): Promise<string> {
  switch (operation.kind) {
    case "create":
      return (await client.api.createFlowRun({ params: { id: operation.deploymentId }, body: {} })).flow_run.id;
    case "set-state": {
      const id = operation.runIds[index];
      if (!id) throw new Error(`no run left to change (call ${index + 1} of ${operation.runIds.length} runs)`);
      await client.api.setFlowRunState({ params: { id }, body: { type: operation.type, message: operation.message } });
      return id;
    }
    case "list": {
      const page = await client.api.listFlowRuns({ query: { limit: operation.limit, ...(operation.state ? { state: operation.state } : {}) } });
      return String(page.items.length);
    }
  }
}

async function main(plan: LoadPlan): Promise<LoadResult> {
  const samples: CallSample[] = [];
  const errorMessages: string[] = [];
  let errors = 0;
  let issued = 0;

  const loop = async () => {
    const client = new FerryClient({ apiUrl: plan.apiUrl, apiKey: plan.apiKey, userAgent: "ferry-bench" });
    while (issued < plan.calls && errors < MAX_ERRORS) {
      const index = issued++;
      const sentAt = preciseNow();
      try {
        const flowRunId = await call(client, plan.operation, index);
        samples.push({ flowRunId, sentAt, receivedAt: preciseNow() });
      } catch (error) {
        errors++;
        if (errorMessages.length < 5) errorMessages.push((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: plan.clients }, loop));
  return { samples, errors, errorMessages };
}

const result = await main(workerData as LoadPlan);
parentPort!.postMessage(result);
