// Worker-thread entry of `runLoad`: `clients` loops, each creating runs back to back over keep-alive
// HTTP (fetch's default agent keeps connections open), until the shared budget of runs is spent.
import { parentPort, workerData } from "node:worker_threads";
import { FerryClient } from "@ferry/core";
import type { CreateSample, LoadPlan, LoadResult } from "./load.js";
import { preciseNow } from "./stats.js";

/** Past this many failed calls the server is broken, not slow: stop rather than spin. */
const MAX_ERRORS = 100;

async function main(plan: LoadPlan): Promise<LoadResult> {
  const samples: CreateSample[] = [];
  const errorMessages: string[] = [];
  let errors = 0;
  let issued = 0;

  const loop = async () => {
    const client = new FerryClient({ apiUrl: plan.apiUrl, apiKey: plan.apiKey, userAgent: "ferry-bench" });
    while (issued < plan.runs && errors < MAX_ERRORS) {
      issued++;
      const sentAt = preciseNow();
      try {
        const { flow_run } = await client.api.createFlowRun({ params: { id: plan.deploymentId }, body: {} });
        samples.push({ flowRunId: flow_run.id, sentAt, receivedAt: preciseNow() });
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
