import { afterAll, beforeAll, expect, it } from "vitest";
import { FerryClient, FerryError, ROUTES, type Deployment, type FlowRun, type FlowRunEvent } from "@ferry/core";
import { rejection } from "@ferry/core/testing";
import { KEYED_PLUGIN, KEYPAIR_CREDENTIALS, startTestServer, type TestServer } from "../support/test-server.js";
import type { StoreKind } from "../support/databases.js";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY-7f3a9";

/** The HTTP API of a real server on a free port, on `kind`'s store. */
export function apiSuite(kind: StoreKind): void {
  let t: TestServer;
  let pushDeployment: Deployment;

  const deploy = (client: FerryClient, name: string, pool: string, jobVariables: Record<string, unknown> = {}) =>
    client.api.applyDeployment({
      body: {
        flow_name: "etl",
        name,
        work_pool: pool,
        source: { git_url: "https://github.com/acme/flows.git", branch: "main" },
        entrypoint: "flows/etl.py:etl",
        job_variables: jobVariables,
        parameters: { day: "2026-11-01" },
      },
    });

  const runAndWait = async (deploymentId: string, body: Record<string, unknown> = {}) => {
    const { flow_run } = await t.client.api.createFlowRun({ params: { id: deploymentId }, body });
    const events: FlowRunEvent[] = [];
    const final = await t.client.waitForRun(flow_run.id, { onEvent: (e) => events.push(e) });
    return { run: final, events };
  };

  beforeAll(async () => {
    t = await startTestServer(kind);
    await t.client.api.createWorkPool({ body: { name: "push", type: "fake:push" } });
    pushDeployment = (await deploy(t.client, "nightly", "push")).deployment;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("refuses a request without a key, and a wrong key, with a message that names the fix", async () => {
    const anonymous = new FerryClient({ apiUrl: t.server.url });
    const e1 = await rejection(anonymous.api.listWorkPools());
    expect(e1.code).toBe("unauthenticated");
    expect(e1.message).toMatch(/Authorization: Bearer/);
    const wrong = new FerryClient({ apiUrl: t.server.url, apiKey: "fy_notarealkeynotarealkeynotarealkey" });
    const e2 = await rejection(wrong.api.listWorkPools());
    expect(e2.code).toBe("unauthenticated");
    expect(e2.status).toBe(401);
  });

  it("says who is calling: the workspace, the credential's kind and role, and the server's version", async () => {
    const me = await t.client.api.getMe();
    expect(me.workspace).toEqual(await t.client.api.getWorkspace());
    expect(me.credential).toMatchObject({ kind: "api_key", role: "admin" });
    expect(me.credential.api_key_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(me.server_version).toMatch(/^\d+\.\d+\.\d+/);
    expect((await rejection(new FerryClient({ apiUrl: t.server.url }).api.getMe())).code).toBe("unauthenticated");
  });

  it("creates a run with a name, tags and a later start, and finds runs by id prefix and name", async () => {
    const later = new Date(Date.now() + 3600_000).toISOString();
    const { flow_run: waiting } = await t.client.api.createFlowRun({
      params: { id: pushDeployment.id },
      body: { name: "later-run", tags: ["adhoc"], scheduled_start_time: later },
    });
    expect(waiting).toMatchObject({ name: "later-run", expected_start_time: later, state: { type: "SCHEDULED" } });
    expect(waiting.tags).toContain("adhoc");
    await new Promise((r) => setTimeout(r, 1500));
    expect((await t.client.api.getFlowRun({ params: { id: waiting.id } })).state.type).toBe("SCHEDULED");
    // A time already past starts it now, like no time at all.
    const { run: now } = await runAndWait(pushDeployment.id, { scheduled_start_time: new Date(Date.now() - 60_000).toISOString() });
    expect(now.state.type).toBe("COMPLETED");
    expect(now.expected_start_time).toBeNull();
    const far = await rejection(t.client.api.createFlowRun({ params: { id: pushDeployment.id }, body: { scheduled_start_time: "2099-01-01T00:00:00Z" } }));
    expect(far.code).toBe("validation_failed");
    expect(far.message).toMatch(/more than a year ahead/);

    expect((await t.client.resolveFlowRun(waiting.id.slice(0, 30))).id).toBe(waiting.id);
    expect((await t.client.resolveFlowRun("nightly/later-run")).id).toBe(waiting.id);
    expect((await t.client.resolveFlowRun("etl/nightly/later-run")).id).toBe(waiting.id);
    expect((await rejection(t.client.resolveFlowRun(waiting.id.slice(0, 4)))).message).toMatch(/is ambiguous: it matches \d runs/);
    expect((await rejection(t.client.api.listFlowRuns({ query: { id_prefix: "abc" } }))).code).toBe("validation_failed");
    await t.client.api.cancelFlowRun({ params: { id: waiting.id }, body: {} });
  });

  it("submits a push run at once and follows it to COMPLETED, through every state, with its logs", async () => {
    const { run, events } = await runAndWait(pushDeployment.id);
    expect(run.state.type).toBe("COMPLETED");
    expect(run.infrastructure_id).toMatch(/^fake-task-/);
    expect(run.start_time).not.toBeNull();
    expect(run.end_time).not.toBeNull();
    expect(run.job_configuration).toMatchObject({ outcome: "complete", duration_ms: 0 });
    const history = (await t.client.api.getFlowRunHistory({ params: { id: run.id } })).items.map((s) => s.name);
    // The fake may be seen pending (InfrastructurePending) before it runs, or already running.
    expect(history.filter((n) => n !== "InfrastructurePending")).toEqual(["Scheduled", "Submitting", "Running", "Completed"]);
    const states = events.filter((e) => e.kind === "state").map((e) => (e as Extract<FlowRunEvent, { kind: "state" }>).state.name);
    expect(states).toEqual(history);
    const logs = (await t.client.api.listFlowRunLogs({ params: { id: run.id } })).items.map((l) => l.message);
    expect(logs.some((m) => m.startsWith("Submitted: infrastructure fake-task-"))).toBe(true);
    // This server's URL is a loopback one: the run's log says the infrastructure cannot reach it, and the fix.
    expect(logs.filter((m) => m.includes("a loopback address"))).toEqual([
      expect.stringMatching(new RegExp(`FERRY_API_URL=${t.server.url}, a loopback address: infrastructure on fake:push .*Fix: set FERRY_PUBLIC_URL`)),
    ]);
    expect(t.provider.started.filter((s) => s.runId === run.id)).toHaveLength(1);
    const env = t.provider.envOf(run.infrastructure_id!)!;
    // The task's environment carries a single-use bootstrap token, never the run token itself.
    expect(env).toMatchObject({ FERRY_FLOW_RUN_ID: run.id, FERRY_API_URL: t.server.url, FERRY_BOOTSTRAP_TOKEN: expect.stringMatching(/^frb_/) });
    expect(env.FERRY_RUN_TOKEN).toBeUndefined();
    expect(Object.values(env)).not.toContain(t.server.bootstrap!.apiKey);
  });

  it("retries a throttled submission and still starts one task", async () => {
    const d = (await deploy(t.client, "throttled", "push", { outcome: "throttle-once" })).deployment;
    const { run } = await runAndWait(d.id);
    expect(run.state.type).toBe("COMPLETED");
    expect(t.provider.submitCalls.filter((k) => k.endsWith(run.id))).toHaveLength(2);
    expect(t.provider.started.filter((s) => s.runId === run.id)).toHaveLength(1);
    const logs = (await t.client.api.listFlowRunLogs({ params: { id: run.id } })).items.map((l) => l.message);
    expect(logs.some((m) => /attempt 1 failed .*rate exceeded.*retrying/.test(m))).toBe(true);
  });

  it("marks CRASHED a run the platform refuses, cannot start, or whose process dies", async () => {
    const refused = (await deploy(t.client, "refused", "push", { outcome: "submit-error" })).deployment;
    const r1 = (await runAndWait(refused.id)).run;
    expect(r1.state).toMatchObject({ type: "CRASHED" });
    expect(r1.state.message).toMatch(/failed to submit to fake:push: .*invalid task definition/);

    const unpullable = (await deploy(t.client, "unpullable", "push", { outcome: "fail-to-start" })).deployment;
    const r2 = (await runAndWait(unpullable.id)).run;
    expect(r2.state.type).toBe("CRASHED");
    expect(r2.state.message).toMatch(/the image could not be pulled: manifest not found/);

    const dies = (await deploy(t.client, "dies", "push", { outcome: "exit-1" })).deployment;
    const r3 = (await runAndWait(dies.id)).run;
    expect(r3.state.type).toBe("CRASHED");
    expect(r3.state.message).toMatch(/exited with code 1/);
  });

  it("cancels a running push run through CANCELLING and stops its infrastructure", async () => {
    const d = (await deploy(t.client, "forever", "push", { outcome: "hang" })).deployment;
    const { flow_run } = await t.client.api.createFlowRun({ params: { id: d.id }, body: {} });
    for await (const e of t.client.followRun(flow_run.id)) {
      if (e.kind === "state" && e.state.type === "RUNNING") break;
    }
    const cancelling = await t.client.api.cancelFlowRun({ params: { id: flow_run.id }, body: { reason: "not needed" } });
    expect(cancelling.state.type).toBe("CANCELLING");
    const final = await t.client.waitForRun(flow_run.id);
    expect(final.state.type).toBe("CANCELLED");
    expect(t.provider.cancelled.map((c) => c.infrastructureId)).toContain(final.infrastructure_id);
    const history = (await t.client.api.getFlowRunHistory({ params: { id: flow_run.id } })).items.map((s) => s.type);
    expect(history.slice(-2)).toEqual(["CANCELLING", "CANCELLED"]);
    const again = await rejection(t.client.api.cancelFlowRun({ params: { id: flow_run.id }, body: {} }));
    expect(again.code).toBe("invalid_transition");
    expect(again.message).toMatch(/already ended as CANCELLED/);
  });

  it("returns the same run for the same idempotency key", async () => {
    const a = await t.client.api.createFlowRun({ params: { id: pushDeployment.id }, body: { idempotency_key: "ci-build-42" } });
    const b = await t.client.api.createFlowRun({ params: { id: pushDeployment.id }, body: { idempotency_key: "ci-build-42" } });
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.flow_run.id).toBe(a.flow_run.id);
    const [c, d] = await Promise.all([
      t.client.api.createFlowRun({ params: { id: pushDeployment.id }, body: { idempotency_key: "race" } }),
      t.client.api.createFlowRun({ params: { id: pushDeployment.id }, body: { idempotency_key: "race" } }),
    ]);
    expect(c.flow_run.id).toBe(d.flow_run.id);
    expect([c.created, d.created].sort()).toEqual([false, true]);
    await t.client.waitForRun(a.flow_run.id);
    await t.client.waitForRun(c.flow_run.id);
    expect(t.provider.started.filter((s) => s.runId === a.flow_run.id)).toHaveLength(1);
  });

  it("answers 409 with both requests' parameter names when a reused idempotency key asks for other parameters", async () => {
    const key = "gh-77-job-params";
    const first = await t.client.api.createFlowRun({ params: { id: pushDeployment.id }, body: { idempotency_key: key, parameters: { day: "2026-11-02" } } });
    expect(first.created).toBe(true);
    const same = await t.client.api.createFlowRun({ params: { id: pushDeployment.id }, body: { idempotency_key: key, parameters: { day: "2026-11-02" } } });
    expect(same).toMatchObject({ created: false, flow_run: { id: first.flow_run.id } });

    const response = await fetch(`${t.server.url}/api/deployments/${pushDeployment.id}/runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.server.bootstrap!.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ idempotency_key: key, parameters: { day: "2026-11-03", token: SECRET } }),
    });
    expect(response.status).toBe(409);
    const text = await response.text();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("2026-11-03");
    const { error } = JSON.parse(text) as { error: { code: string; message: string; details: unknown } };
    expect(error.code).toBe("conflict");
    expect(error.message).toMatch(new RegExp(`idempotency key '${key}' was used .* for run ${first.flow_run.id} with other parameters \\(day, token\\)`));
    expect(error.message).toMatch(/Use a new idempotency key/);
    expect(error.details).toEqual({
      idempotency_key: key,
      flow_run_id: first.flow_run.id,
      stored: { deployment_id: pushDeployment.id, parameters: ["day"], job_variables: [] },
      requested: { deployment_id: pushDeployment.id, parameters: ["day", "token"], job_variables: [] },
      differing: { parameters: ["day", "token"], job_variables: [] },
    });
    // Nothing was created by the refused request.
    const runs = (await t.client.api.listFlowRuns({ query: { deployment_id: pushDeployment.id, limit: 100 } })).items;
    expect(runs.filter((r) => r.idempotency_key === key).map((r) => r.id)).toEqual([first.flow_run.id]);
    await t.client.waitForRun(first.flow_run.id);
  });

  it("rejects bad input with a clear message and leaves nothing behind", async () => {
    const before = (await t.client.api.listDeployments()).items.length;
    const unknownVar = await rejection(deploy(t.client, "typo", "push", { outcom: "complete" }));
    expect(unknownVar.code).toBe("validation_failed");
    expect(unknownVar.status).toBe(400);
    expect(unknownVar.message).toMatch(/\/outcom is not a known field/);
    expect(unknownVar.message).toMatch(/known variables: duration_ms, env, outcome, submit_delay_ms/);

    const badEntrypoint = await rejection(
      t.client.api.applyDeployment({
        body: { flow_name: "etl", name: "bad-ep", work_pool: "push", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "flows/etl.rb" },
      }),
    );
    expect(badEntrypoint.code).toBe("validation_failed");
    expect(badEntrypoint.message).toMatch(/path\/to\/file\.py:function/);
    expect((await t.client.api.listDeployments()).items.length).toBe(before);

    const dup = await rejection(t.client.api.createWorkPool({ body: { name: "push", type: "fake:push" } }));
    expect(dup.code).toBe("conflict");
    expect(dup.message).toMatch(/work pool 'push' already exists/);

    const badType = await rejection(t.client.api.createWorkPool({ body: { name: "x", type: "nope:push" } }));
    expect(badType.message).toMatch(/use one of fake:push, ferry:managed, keyed:push/);

    const runVar = await rejection(t.client.api.createFlowRun({ params: { id: pushDeployment.id }, body: { job_variables: { duration_ms: "soon" } } }));
    expect(runVar.code).toBe("validation_failed");
    expect(runVar.message).toMatch(/\/duration_ms must be integer/);

    const extraField = await rejection(
      t.client.api.createWorkPool({ body: { name: "p2", type: "fake:push", colour: "red" } as never }),
    );
    expect(extraField.code).toBe("validation_failed");
    expect(extraField.message).toMatch(/\/colour is not a known field/);
    expect((await t.client.api.listWorkPools()).items.map((p) => p.name)).not.toContain("p2");
  });

  it("enforces the free tier's managed pool count, atomically", async () => {
    const results = await Promise.allSettled([
      t.client.api.createWorkPool({ body: { name: "managed-a", type: "ferry:managed" } }),
      t.client.api.createWorkPool({ body: { name: "managed-b", type: "ferry:managed" } }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const failure = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(failure.reason).toBeInstanceOf(FerryError);
    expect((failure.reason as FerryError).code).toBe("quota_exceeded");
    expect((failure.reason as FerryError).message).toMatch(/free tier allows 1 managed work pool/);
    const managed = (await t.client.api.listWorkPools()).items.filter((p) => p.type === "ferry:managed");
    expect(managed).toHaveLength(1);
    const quota = await t.client.api.getQuota();
    expect(quota.usage.managed_pools).toBe(1);
    expect(quota.limits.managed_pools).toBe(1);
  });

  it("cancels a managed run that has not started at once", async () => {
    const pool = (await t.client.api.listWorkPools()).items.find((p) => p.type === "ferry:managed")!;
    // Paused, so the run stays SCHEDULED instead of starting on the runner.
    await t.client.api.updateWorkPool({ params: { name: pool.name }, body: { paused: true } });
    const d = (await deploy(t.client, "managed-flow", pool.name, { pip_packages: ["requests"] })).deployment;
    const { flow_run } = await t.client.api.createFlowRun({ params: { id: d.id }, body: {} });
    expect(flow_run.state.type).toBe("SCHEDULED");
    expect(flow_run.job_configuration).toMatchObject({ pip_packages: ["requests"], npm_packages: [], image: "ferry-engine:latest" });
    const custom = await rejection(deploy(t.client, "custom-image", pool.name, { image: "python:3.12" }));
    expect(custom.code).toBe("validation_failed");
    expect(custom.message).toMatch(/image 'python:3.12' is not allowed on managed pools.*FERRY_ALLOWED_IMAGES/);
    const override = await rejection(t.client.api.createFlowRun({ params: { id: d.id }, body: { job_variables: { image: "evil:latest" } } }));
    expect(override.message).toMatch(/image 'evil:latest' is not allowed/);
    const cancelled = await t.client.api.cancelFlowRun({ params: { id: flow_run.id }, body: {} });
    expect(cancelled.state.type).toBe("CANCELLED");
    expect(cancelled.end_time).not.toBeNull();
  });

  it("keeps workspaces apart: another workspace's objects answer 404", async () => {
    const other = await t.admin.api.adminCreateWorkspace({ body: { name: "other", tier: "pro" } });
    const otherClient = new FerryClient({ apiUrl: t.server.url, apiKey: other.api_key.key });
    const { flow_run } = await t.client.api.createFlowRun({ params: { id: pushDeployment.id }, body: {} });
    const e1 = await rejection(otherClient.api.getFlowRun({ params: { id: flow_run.id } }));
    expect(e1.code).toBe("not_found");
    const e2 = await rejection(otherClient.api.cancelFlowRun({ params: { id: flow_run.id }, body: {} }));
    expect(e2.code).toBe("not_found");
    const e3 = await rejection(otherClient.api.getDeployment({ params: { id: pushDeployment.id } }));
    expect(e3.code).toBe("not_found");
    const e4 = await rejection(otherClient.api.createFlowRun({ params: { id: pushDeployment.id }, body: {} }));
    expect(e4.code).toBe("not_found");
    expect((await otherClient.api.listWorkPools()).items).toEqual([]);
    expect((await otherClient.api.listFlowRuns()).items).toEqual([]);
    const e5 = await rejection(otherClient.api.listFlowRunLogs({ params: { id: flow_run.id } }));
    expect(e5.code).toBe("not_found");
    // The operator token is not an API key, and an API key is not the operator token.
    expect((await rejection(t.client.api.adminListWorkspaces())).code).toBe("unauthenticated");
    await t.client.waitForRun(flow_run.id);
  });

  it("never returns or logs a secret value", async () => {
    const created = await t.client.api.createCredentials({
      body: { name: "prod-keys", type: "keypair", data: { key_id: "KEYID-EXAMPLE-123", secret_key: SECRET, region: "eu-west-1" } },
    });
    const responses = [
      created,
      await t.client.api.getCredentials({ params: { name: "prod-keys" } }),
      await t.client.api.listCredentials(),
    ];
    for (const r of responses) expect(JSON.stringify(r)).not.toContain(SECRET);
    expect(created.data).toEqual({ key_id: "KEYID-EXAMPLE-123", secret_key: "********", region: "eu-west-1" });
    expect(created.secret_fields).toEqual(["secret_key"]);
    const dup = await rejection(t.client.api.createCredentials({ body: { name: "prod-keys", type: "keypair", data: { key_id: "x", secret_key: SECRET } } }));
    expect(dup.code).toBe("conflict");
    expect(dup.message).not.toContain(SECRET);
    const bad = await rejection(t.client.api.createCredentials({ body: { name: "bad-keys", type: "keypair", data: { secret_key: SECRET, colour: 1 } } }));
    expect(bad.code).toBe("validation_failed");
    expect(bad.message).not.toContain(SECRET);
    const text = t.logs();
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain(SECRET);
    const raw = await fetch(`${t.server.url}/api/credentials`, { headers: { authorization: `Bearer ${t.server.bootstrap!.apiKey}` } });
    expect(await raw.text()).not.toContain(SECRET);
  });

  it("lists the pool types with the plugin of each, and the credential types the plugins brought", async () => {
    const types = (await t.client.api.listWorkPoolTypes()).items;
    expect(types.map((p) => [p.type, p.plugin, p.credentials_type, p.managed])).toEqual([
      ["fake:push", "@ferry/core/testing", null, false],
      ["ferry:managed", null, null, true],
      ["keyed:push", KEYED_PLUGIN, "keypair", false],
    ]);
    expect(types[0]).not.toHaveProperty("can_provision");
    const credentialTypes = (await t.client.api.listCredentialTypes()).items;
    expect(credentialTypes.map((c) => [c.type, c.secret_fields])).toEqual([
      ["git", ["token"]],
      ["keypair", ["secret_key"]],
    ]);
    expect(credentialTypes[1]!.schema).toEqual(KEYPAIR_CREDENTIALS.schema);
  });

  it("takes credentials of a known type only, and gives a pool only the type its provider needs", async () => {
    const unknown = await rejection(t.client.api.createCredentials({ body: { name: "mystery", type: "tokens", data: { token: "x" } } }));
    expect(unknown.code).toBe("validation_failed");
    expect(unknown.message).toMatch(/^credentials type 'tokens' is not known on this server; use one of git, keypair \(a cloud's type comes with its provider plugin, see FERRY_PROVIDERS\)/);
    expect((await t.client.api.listCredentials()).items.map((c) => c.name)).not.toContain("mystery");

    await t.client.api.createCredentials({ body: { name: "repo-token", type: "git", data: { token: "ghp_example" } } });
    await t.client.api.createCredentials({ body: { name: "team-keys", type: "keypair", data: { key_id: "KEYID-2", secret_key: SECRET } } });
    const wrongType = await rejection(t.client.api.createWorkPool({ body: { name: "keyed", type: "keyed:push", credentials: "repo-token" } }));
    expect(wrongType.code).toBe("validation_failed");
    expect(wrongType.message).toBe(
      "work pools of type keyed:push need keypair credentials, and 'repo-token' holds git credentials; name keypair credentials (make them with 'ferry credentials create NAME --type keypair')",
    );
    const none = await rejection(t.client.api.createWorkPool({ body: { name: "fake-with-keys", type: "fake:push", credentials: "team-keys" } }));
    expect(none.message).toBe("work pools of type fake:push take no credentials; remove 'credentials'");
    expect((await t.client.api.listWorkPools()).items.map((p) => p.name)).not.toContain("keyed");

    await t.client.api.createWorkPool({ body: { name: "keyed", type: "keyed:push", credentials: "team-keys" } });
    const update = await rejection(t.client.api.updateWorkPool({ params: { name: "keyed" }, body: { credentials: "repo-token" } }));
    expect(update.message).toMatch(/^work pools of type keyed:push need keypair credentials, and 'repo-token' holds git credentials/);
    const retype = await rejection(
      t.client.api.createCredentials({ body: { name: "team-keys", type: "git", data: { token: "x" }, overwrite: true } }),
    );
    expect(retype.code).toBe("conflict");
    expect(retype.message).toMatch(/used as keypair credentials by keyed; keep the type or use a new name/);

    // The provider gets the pool's credentials, decrypted, and nothing else does.
    const d = (await deploy(t.client, "keyed-flow", "keyed")).deployment;
    const { run } = await runAndWait(d.id);
    expect(run.state.type).toBe("COMPLETED");
    expect(t.keyed.credentialsOf(run.infrastructure_id!)).toEqual({ key_id: "KEYID-2", secret_key: SECRET });
    expect(JSON.stringify(run)).not.toContain(SECRET);
  });

  it("pages runs newest first with a cursor and filters by state", async () => {
    const d = (await deploy(t.client, "paged", "push")).deployment;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await t.client.api.createFlowRun({ params: { id: d.id }, body: {} })).flow_run.id);
    for (const id of ids) await t.client.waitForRun(id);
    const seen: FlowRun[] = [];
    let cursor: string | undefined;
    do {
      const page = await t.client.api.listFlowRuns({ query: { deployment_id: d.id, limit: 3, cursor } });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen.map((r) => r.id)).toEqual([...ids].reverse());
    const completed = await t.client.api.listFlowRuns({ query: { deployment_id: d.id, state: "COMPLETED,CRASHED" } });
    expect(completed.items).toHaveLength(7);
    const running = await t.client.api.listFlowRuns({ query: { deployment_id: d.id, state: "RUNNING" } });
    expect(running.items).toHaveLength(0);
    const bad = await rejection(t.client.api.listFlowRuns({ query: { state: "DONE" } }));
    expect(bad.message).toMatch(/'DONE' is not a state type/);
  });

  it("pages every list by cursor, counts it on request, and refuses a bad cursor with a 400 that says so", async () => {
    const { api_key } = await t.admin.api.adminCreateWorkspace({ body: { name: "paged-lists", tier: "pro" } });
    const c = new FerryClient({ apiUrl: t.server.url, apiKey: api_key.key });
    for (const name of ["p-e", "p-a", "p-d", "p-b", "p-c"]) await c.api.createWorkPool({ body: { name, type: "fake:push" } });
    for (const name of ["c-3", "c-1", "c-2"]) await c.api.createCredentials({ body: { name, type: "git", data: { token: "ghp_x" } } });
    for (const name of ["k2", "k3", "k4"]) await c.api.createApiKey({ body: { name } });
    for (const [i, name] of ["d-4", "d-2", "d-1", "d-3"].entries()) await deploy(c, name, i % 2 ? "p-a" : "p-b");

    /** Every page of a list of 2, by hand: the names in order, and the total the first page gave. */
    const walk = async (fetchPage: (query: { limit: number; cursor?: string; include_total?: boolean }) => Promise<{ items: { name: string }[]; next_cursor: string | null; total?: number; total_is_estimate?: boolean }>) => {
      const names: string[] = [];
      const first = await fetchPage({ limit: 2, include_total: true });
      expect(first.total_is_estimate).toBe(false);
      names.push(...first.items.map((x) => x.name));
      let cursor = first.next_cursor;
      while (cursor) {
        const page = await fetchPage({ limit: 2, cursor });
        // Without the flag nothing is counted.
        expect(page.total).toBeUndefined();
        expect(page.items.length).toBeLessThanOrEqual(2);
        names.push(...page.items.map((x) => x.name));
        cursor = page.next_cursor;
      }
      return { names, total: first.total };
    };
    expect(await walk((query) => c.api.listWorkPools({ query }))).toEqual({ names: ["p-a", "p-b", "p-c", "p-d", "p-e"], total: 5 });
    expect(await walk((query) => c.api.listCredentials({ query }))).toEqual({ names: ["c-1", "c-2", "c-3"], total: 3 });
    expect(await walk((query) => c.api.listApiKeys({ query }))).toEqual({ names: ["default", "k2", "k3", "k4"], total: 4 });
    expect(await walk((query) => c.api.listDeployments({ query }))).toEqual({ names: ["d-1", "d-2", "d-3", "d-4"], total: 4 });
    expect(await walk((query) => c.api.listDeployments({ query: { ...query, work_pool: "p-a" } }))).toEqual({ names: ["d-2", "d-3"], total: 2 });
    expect(await walk((query) => c.api.listDeployments({ query: { ...query, search: "ETL D-3" } }))).toEqual({ names: ["d-3"], total: 1 });
    const workspaces = await walk((query) => t.admin.api.adminListWorkspaces({ query }));
    expect(workspaces.names).toContain("paged-lists");
    expect(workspaces.total).toBe(workspaces.names.length);
    const runs = await c.api.listFlowRuns({ query: { include_total: true, limit: 1 } });
    expect(runs).toEqual({ items: [], next_cursor: null, total: 0, total_is_estimate: false });
    expect((await c.api.listWorkPools()).total).toBeUndefined();

    // The client's helper walks the same pages.
    expect((await c.listAll.listWorkPools({ query: { limit: 2 } })).map((p) => p.name)).toEqual(["p-a", "p-b", "p-c", "p-d", "p-e"]);
    expect((await c.listAll.listDeployments({ query: { work_pool: "p-b" } }, { max: 1 })).map((d) => d.name)).toEqual(["d-1"]);

    const garbage = await rejection(c.api.listWorkPools({ query: { cursor: "not-a-cursor" } }));
    expect(garbage.status).toBe(400);
    expect(garbage.code).toBe("validation_failed");
    expect(garbage.message).toBe("cursor is not valid; pass the next_cursor of a previous page unchanged");
    // A cursor of another list names other keys.
    const deploymentsCursor = (await c.api.listDeployments({ query: { limit: 1 } })).next_cursor!;
    const crossed = await rejection(c.api.listApiKeys({ query: { cursor: deploymentsCursor } }));
    expect(crossed.status).toBe(400);
    expect(crossed.message).toMatch(/cursor is not valid/);
    const poolsCursor = (await c.api.listWorkPools({ query: { limit: 1 } })).next_cursor!;
    expect((await rejection(t.admin.api.adminListWorkspaces({ query: { cursor: poolsCursor } }))).status).toBe(400);
    const tooMany = await rejection(c.api.listCredentials({ query: { limit: 1001 } }));
    expect(tooMany.status).toBe(400);
  });

  it("resumes an event stream after the last event seen", async () => {
    const { run } = await runAndWait(pushDeployment.id);
    const all: FlowRunEvent[] = [];
    for await (const e of t.client.followRun(run.id)) all.push(e);
    expect(all.length).toBeGreaterThanOrEqual(4);
    const ids = all.map((e) => BigInt(e.id));
    expect([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(ids);
    const middle = all[1]!;
    const rest: FlowRunEvent[] = [];
    for await (const e of t.client.followRun(run.id, { lastEventId: middle.id })) rest.push(e);
    expect(rest.map((e) => e.id)).toEqual(all.slice(2).map((e) => e.id));
  });

  it("holds runs of a paused pool until it is resumed", async () => {
    await t.client.api.createWorkPool({ body: { name: "sleepy", type: "fake:push", paused: true } });
    const d = (await deploy(t.client, "sleepy-flow", "sleepy")).deployment;
    const { flow_run } = await t.client.api.createFlowRun({ params: { id: d.id }, body: {} });
    expect(flow_run.state.message).toMatch(/paused/);
    await new Promise((r) => setTimeout(r, 100));
    expect((await t.client.api.getFlowRun({ params: { id: flow_run.id } })).state.type).toBe("SCHEDULED");
    await t.client.api.updateWorkPool({ params: { name: "sleepy" }, body: { paused: false } });
    expect((await t.client.waitForRun(flow_run.id)).state.type).toBe("COMPLETED");
  });

  it("keeps a pool to its concurrency limit: the excess waits in AwaitingConcurrencySlot, then runs", async () => {
    await t.client.api.createWorkPool({ body: { name: "narrow", type: "fake:push", concurrency_limit: 1 } });
    const d = (await deploy(t.client, "narrow-flow", "narrow", { duration_ms: 300 })).deployment;
    const first = (await t.client.api.createFlowRun({ params: { id: d.id }, body: {} })).flow_run;
    const second = (await t.client.api.createFlowRun({ params: { id: d.id }, body: {} })).flow_run;
    let sawWaiting = false;
    const done = await t.client.waitForRun(second.id, {
      onEvent: (e) => {
        if (e.kind === "state" && e.state.name === "AwaitingConcurrencySlot") sawWaiting = true;
      },
    });
    expect(sawWaiting).toBe(true);
    expect(done.state.type).toBe("COMPLETED");
    const firstDone = await t.client.api.getFlowRun({ params: { id: first.id } });
    expect(firstDone.state.type).toBe("COMPLETED");
    // The second started only after the first ended.
    expect(Date.parse(done.start_time!)).toBeGreaterThanOrEqual(Date.parse(firstDone.end_time!));
    const waiting = (await t.client.api.getFlowRunHistory({ params: { id: second.id } })).items.find((s) => s.name === "AwaitingConcurrencySlot");
    expect(waiting?.message).toMatch(/running 1 of its 1 allowed runs/);
  });

  it("starts a waiting run as soon as its pool's concurrency limit is raised", async () => {
    await t.client.api.createWorkPool({ body: { name: "widened", type: "fake:push", concurrency_limit: 1 } });
    const d = (await deploy(t.client, "widened-flow", "widened", { outcome: "hang" })).deployment;
    const first = (await t.client.api.createFlowRun({ params: { id: d.id }, body: {} })).flow_run;
    const second = (await t.client.api.createFlowRun({ params: { id: d.id }, body: {} })).flow_run;
    const reached = async (id: string, done: (e: FlowRunEvent) => boolean) => {
      for await (const e of t.client.followRun(id)) if (done(e)) return;
    };
    await reached(first.id, (e) => e.kind === "state" && e.state.type === "RUNNING");
    await reached(second.id, (e) => e.kind === "state" && e.state.name === "AwaitingConcurrencySlot");
    await t.client.api.updateWorkPool({ params: { name: "widened" }, body: { concurrency_limit: 2 } });
    // No run ended and the test server never sweeps on its own: only raising the limit can start it.
    await reached(second.id, (e) => e.kind === "state" && e.state.type === "RUNNING");
    for (const run of [first, second]) {
      await t.client.api.cancelFlowRun({ params: { id: run.id }, body: {} });
      expect((await t.client.waitForRun(run.id)).state.type).toBe("CANCELLED");
    }
    // null removes the limit (it once arrived as 0, which would have held every run).
    const unlimited = await t.client.api.updateWorkPool({ params: { name: "widened" }, body: { concurrency_limit: null, description: null } });
    expect(unlimited).toMatchObject({ concurrency_limit: null, description: null });
  });

  it("refuses to delete a pool in use and names what uses it", async () => {
    const e = await rejection(t.client.api.deleteWorkPool({ params: { name: "push" } }));
    expect(e.code).toBe("conflict");
    expect(e.message).toMatch(/etl\/nightly/);
  });

  it("applies a deployment idempotently", async () => {
    const again = await deploy(t.client, "nightly", "push");
    expect(again.action).toBe("unchanged");
    expect(again.deployment.id).toBe(pushDeployment.id);
    const changed = await deploy(t.client, "nightly", "push", { duration_ms: 5 });
    expect(changed.action).toBe("updated");
    const back = await deploy(t.client, "nightly", "push");
    expect(back.action).toBe("updated");
  });

  it("serves OpenAPI with every route, a reference page, health, readiness and metrics", async () => {
    const doc = (await (await fetch(`${t.server.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, { operationId: string }>> };
    expect(doc.openapi).toBe("3.1.0");
    const operations = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    for (const name of Object.keys(ROUTES)) expect(operations).toContain(name);
    expect(operations).toContain("streamFlowRunEvents");
    expect((await fetch(`${t.server.url}/docs/`)).status).toBe(200);
    expect(await (await fetch(`${t.server.url}/healthz`)).json()).toEqual({ status: "ok", version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(await (await fetch(`${t.server.url}/readyz`)).json()).toMatchObject({ status: "ready", store: kind });
    const metrics = await (await fetch(`${t.server.url}/metrics`)).text();
    expect(metrics).toMatch(/ferry_flow_runs\{state="COMPLETED"\} [1-9]/);
    expect(metrics).toMatch(/ferry_dispatch_latency_seconds_count\{pool_type="fake:push"\} [1-9]/);
    expect(metrics).toMatch(/ferry_provider_errors_total\{pool_type="fake:push",operation="submit",code="provider_throttled"\} 1/);
    const missing = await fetch(`${t.server.url}/api/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "not_found" } });
  });
}
