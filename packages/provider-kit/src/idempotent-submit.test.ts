import { FerryError, idempotencyKeyForRun, type SubmitRequest, type SubmitResult } from "@ferry/core";
import { fixtureDeployment, fixtureFlowRun } from "@ferry/core/testing";
import { describe, expect, it } from "vitest";
import { idempotentSubmit } from "./idempotent-submit.js";

function request(): SubmitRequest {
  const flowRun = fixtureFlowRun("acme:push");
  return { flowRun, deployment: fixtureDeployment(), jobConfiguration: {}, credentials: null, idempotencyKey: idempotencyKeyForRun(flowRun.id), runtimeEnv: {} };
}

/** A cloud whose start is not idempotent: every call starts a job. It can fail after starting one. */
function cloud() {
  const jobs: { id: string; key: string }[] = [];
  let failAfterStart = 0;
  let failBeforeStart = 0;
  return {
    jobs,
    failAfterStart: (n: number) => void (failAfterStart = n),
    failBeforeStart: (n: number) => void (failBeforeStart = n),
    start: async (r: SubmitRequest): Promise<SubmitResult> => {
      await new Promise((resolve) => setImmediate(resolve));
      if (failBeforeStart > 0) {
        failBeforeStart--;
        throw new FerryError("provider_throttled", "slow down");
      }
      const id = `job-${jobs.length + 1}`;
      jobs.push({ id, key: r.idempotencyKey });
      if (failAfterStart > 0) {
        failAfterStart--;
        throw new FerryError("provider_error", "connection reset after the job was accepted", { retryable: true });
      }
      return { infrastructureId: id };
    },
    find: async (r: SubmitRequest): Promise<SubmitResult | null> => {
      const job = jobs.find((j) => j.key === r.idempotencyKey);
      return job ? { infrastructureId: job.id } : null;
    },
  };
}

describe("idempotentSubmit", () => {
  it("answers a repeated submit from memory and shares one attempt between concurrent ones", async () => {
    const c = cloud();
    const submit = idempotentSubmit({ start: c.start });
    const r = request();
    const [a, b] = await Promise.all([submit(r), submit({ ...r })]);
    expect(b).toEqual(a);
    expect(await submit(r)).toEqual(a);
    expect(c.jobs).toHaveLength(1);
  });

  it("forgets a failed attempt, so the next submit tries again", async () => {
    const c = cloud();
    const submit = idempotentSubmit({ start: c.start });
    c.failBeforeStart(1);
    const r = request();
    await expect(submit(r)).rejects.toThrow("slow down");
    await expect(submit(r)).resolves.toEqual({ infrastructureId: "job-1" });
  });

  it("with find, adopts the job a failed attempt started instead of starting a second", async () => {
    const c = cloud();
    const submit = idempotentSubmit({ start: c.start, find: c.find });
    c.failAfterStart(1);
    const r = request();
    await expect(submit(r)).rejects.toThrow("connection reset");
    await expect(submit(r)).resolves.toEqual({ infrastructureId: "job-1" });
    expect(c.jobs).toHaveLength(1);
  });

  it("with find, a new process adopts the job the one before it started", async () => {
    const c = cloud();
    const r = request();
    const first = await idempotentSubmit({ start: c.start, find: c.find })(r);
    const restarted = idempotentSubmit({ start: c.start, find: c.find });
    expect(await restarted(r)).toEqual(first);
    expect(c.jobs).toHaveLength(1);
  });

  it("without find, a non-idempotent start would make a second job after a restart (why find exists)", async () => {
    const c = cloud();
    const r = request();
    await idempotentSubmit({ start: c.start })(r);
    await idempotentSubmit({ start: c.start })(r);
    expect(c.jobs).toHaveLength(2);
  });

  it("remembers a bounded number of keys", async () => {
    const c = cloud();
    const submit = idempotentSubmit({ start: c.start, maxRemembered: 1 });
    const [r1, r2] = [request(), request()];
    await submit(r1);
    await submit(r2);
    await submit(r1);
    expect(c.jobs.map((j) => j.key)).toEqual([r1.idempotencyKey, r2.idempotencyKey, r1.idempotencyKey]);
  });
});
