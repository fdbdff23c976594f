import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idempotencyKeyForRun } from "@ferry/core";
import { startTestServer, type TestServer } from "./support/test-server.js";

/**
 * Retries on a push pool: the same decision as managed runs (made where the run ends), and each
 * attempt is submitted afresh with its own idempotency key, so the platform starts new infrastructure
 * instead of finding the failed attempt's.
 */
describe("retries on a push pool (fake platform, PGlite)", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer("pglite", { sweepIntervalMs: 200 });
    await t.client.api.createWorkPool({ body: { name: "push", type: "fake:push" } });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  const deploy = async (name: string, outcome: string, retries: { retries?: number; retry_delay_seconds?: number; retry_on_crash?: boolean }) =>
    (
      await t.client.api.applyDeployment({
        body: {
          flow_name: "push-retries",
          name,
          work_pool: "push",
          source: { git_url: "https://github.com/acme/flows.git" },
          entrypoint: "flows/etl.py:etl",
          job_variables: { outcome },
          ...retries,
        },
      })
    ).deployment;

  it("submits each attempt of a crashing run with its own idempotency key, then ends CRASHED after the last", async () => {
    const d = await deploy("crashes", "exit-1", { retries: 2, retry_delay_seconds: 1, retry_on_crash: true });
    const created = (await t.client.api.createFlowRun({ params: { id: d.id }, body: {} })).flow_run;
    const done = await t.client.waitForRun(created.id);
    expect(done.state.type).toBe("CRASHED");
    expect(done.attempt).toBe(3);
    const keys = t.provider.submitCalls.filter((k) => k.includes(created.id));
    expect([...new Set(keys)]).toEqual([idempotencyKeyForRun(created.id, 1), idempotencyKeyForRun(created.id, 2), idempotencyKeyForRun(created.id, 3)]);
    const history = (await t.client.api.getFlowRunHistory({ params: { id: created.id } })).items;
    expect(history.filter((s) => s.name === "AwaitingRetry")).toHaveLength(2);
    expect(history.filter((s) => s.name === "Submitting")).toHaveLength(3);
    // The delay is kept: each next attempt starts no sooner than a second after the previous ended.
    const retriedAt = history.filter((s) => s.name === "AwaitingRetry").map((s) => Date.parse(s.timestamp));
    const resubmittedAt = history.filter((s) => s.name === "Submitting").slice(1).map((s) => Date.parse(s.timestamp));
    resubmittedAt.forEach((at, i) => expect(at - retriedAt[i]!).toBeGreaterThanOrEqual(1000));
  }, 60_000);

  it("sends a push platform the env's secret references, never their values", async () => {
    const value = "push-s3cr3t-value-9c1d";
    await t.client.api.putSecret({ params: { name: "push_token" }, body: { value } });
    const d = (
      await t.client.api.applyDeployment({
        body: {
          flow_name: "push-retries",
          name: "with-secret",
          work_pool: "push",
          source: { git_url: "https://github.com/acme/flows.git" },
          entrypoint: "flows/etl.py:etl",
          job_variables: { env: { TOKEN: "{{ secret.push_token }}" } },
        },
      })
    ).deployment;
    const done = await t.client.waitForRun((await t.client.api.createFlowRun({ params: { id: d.id }, body: {} })).flow_run.id);
    expect(done.state.type).toBe("COMPLETED");
    // The job configuration the provider turned into the platform's job, and the task's environment.
    expect((done.job_configuration as { env: Record<string, string> }).env.TOKEN).toBe("{{ secret.push_token }}");
    const env = t.provider.envOf(done.infrastructure_id!);
    expect(env).toBeDefined();
    expect(JSON.stringify(env)).not.toContain(value);
    expect(JSON.stringify(done)).not.toContain(value);
  }, 60_000);

  it("does not retry a crash without retry_on_crash, nor a cancelled run", async () => {
    const d = await deploy("no-crash-retry", "exit-1", { retries: 2 });
    const crashed = await t.client.waitForRun((await t.client.api.createFlowRun({ params: { id: d.id }, body: {} })).flow_run.id);
    expect(crashed).toMatchObject({ attempt: 1, state: { type: "CRASHED" } });

    const hangs = await deploy("hangs", "hang", { retries: 2, retry_on_crash: true });
    const running = (await t.client.api.createFlowRun({ params: { id: hangs.id }, body: {} })).flow_run;
    await expect.poll(async () => (await t.client.api.getFlowRun({ params: { id: running.id } })).infrastructure_id, { timeout: 20_000 }).not.toBeNull();
    await t.client.api.cancelFlowRun({ params: { id: running.id }, body: {} });
    const cancelled = await t.client.waitForRun(running.id);
    expect(cancelled).toMatchObject({ attempt: 1, state: { type: "CANCELLED" } });
  }, 60_000);
});
