import { isFerryError } from "@ferry/core";
import { captureLogger, providerConformanceChecks } from "@ferry/provider-kit/conformance";
import { startModalLocal, type ModalLocal } from "@ferry/modal-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModalProvider } from "../src/modal-provider.js";
import { credentialsOf, refOf, requestFor } from "./support.js";

// ModalProvider with the official SDK against @ferry/modal-local, whose sandboxes live in memory here
// (no container engine): they run until terminated, timed out, or ended by the test as a program would.
let local: ModalLocal;
let credentials: Record<string, string>;
const SECRET = "as-ModalProviderLocalSecret1";

beforeAll(async () => {
  local = await startModalLocal({ docker: null });
  credentials = credentialsOf(local.addToken({ tokenId: "ak-ModalProviderLocal1", tokenSecret: SECRET }));
});

afterAll(async () => {
  await local?.close();
});

// The server's URL is the provider's option (the plugin's server_url), as a server's operator sets it.
const provider = (logger = captureLogger()) => new ModalProvider({ serverUrl: local.url, logger: logger.logger, retryBaseDelayMs: 5 });

describe("ModalProvider against modal-local (in memory)", () => {
  it("creates one sandbox per run: named from the run, tagged, running the engine with the run's timeout, the run's token in a secret", async () => {
    const request = requestFor({ timeout: 1800 }, credentials);
    const { infrastructureId } = await provider().submit(request);
    const view = local.sandbox(infrastructureId)!;
    expect(view).toMatchObject({
      appName: "ferry",
      name: `ferry-${request.flowRun.id}`,
      tags: { "ferry-flow-run-id": request.flowRun.id, "ferry-pool": "modal-pool", "ferry-deployment-id": request.deployment.id },
      command: ["node", "/opt/ferry/engine/engine.mjs"],
      timeoutSecs: 1800,
      status: "running",
    });
    // The engine gets the token as a variable; it is in no command, tag, name or recorded call.
    expect(view.env).toMatchObject(request.runtimeEnv);
    const token = request.runtimeEnv.FERRY_BOOTSTRAP_TOKEN!;
    expect(JSON.stringify({ command: view.command, tags: view.tags, name: view.name })).not.toContain(token);
    expect(JSON.stringify(local.calls())).not.toContain(token);
    expect(JSON.stringify(local.snapshot())).not.toContain(token);

    const p = provider();
    expect(await p.status(refOf(request, infrastructureId))).toEqual({ phase: "running" });
    local.completeSandbox(infrastructureId, { exitCode: 0, stdout: "hello\n" });
    expect(await p.status(refOf(request, infrastructureId))).toEqual({ phase: "exited", exitCode: 0 });
  });

  it("a second server resubmitting the run finds the first sandbox by name and starts none", async () => {
    const request = requestFor({}, credentials);
    const first = await provider().submit(request);
    const before = local.sandboxes().length;
    const creates = local.calls().filter((c) => c.rpc.startsWith("SandboxCreate")).length;
    const second = await provider().submit({ ...request });
    expect(second.infrastructureId).toBe(first.infrastructureId);
    expect(local.sandboxes().length).toBe(before);
    expect(local.calls().filter((c) => c.rpc.startsWith("SandboxCreate")).length).toBe(creates);
    await provider().cancel(refOf(request, first.infrastructureId), "test over");
  });

  it("a run whose sandbox already ended (its name free again) is not started a second time by a resubmission", async () => {
    const request = requestFor({}, credentials);
    const first = await provider().submit(request);
    local.completeSandbox(first.infrastructureId, { exitCode: 1, stderr: "could not reach the server\n" });
    const before = local.sandboxes().length;
    const second = await provider().submit({ ...request });
    expect(second.infrastructureId).toBe(first.infrastructureId);
    expect(local.sandboxes().length).toBe(before);
  });

  it("a create whose answer was lost is retried, refused as AlreadyExists, and finds the sandbox it made: one sandbox", async () => {
    const request = requestFor({}, credentials);
    const before = local.sandboxes().length;
    local.injectFault({ rpc: "SandboxCreateV2", code: "UNAVAILABLE", message: "connection reset", after: true });
    const { infrastructureId } = await provider().submit(request);
    expect(local.sandboxes().length).toBe(before + 1);
    expect(local.calls().filter((c) => c.rpc === "SandboxCreateV2").map((c) => c.status).slice(-2)).toEqual(["UNAVAILABLE", "ALREADY_EXISTS"]);
    expect(local.sandbox(infrastructureId)?.name).toBe(`ferry-${request.flowRun.id}`);
    await provider().cancel(refOf(request, infrastructureId), "test over");
  });

  it("cancel terminates: Modal reports exit 137, and a second cancel is harmless", async () => {
    const request = requestFor({}, credentials);
    const p = provider();
    const { infrastructureId } = await p.submit(request);
    const ref = refOf(request, infrastructureId);
    await p.cancel(ref, "cancelled by a test");
    await expect.poll(async () => (await p.status(ref)).phase).toBe("exited");
    expect(await p.status(ref)).toMatchObject({ phase: "exited", exitCode: 137, message: expect.stringContaining("terminated") });
    await expect(p.cancel(ref, "again")).resolves.toBeUndefined();
    expect(local.sandbox(infrastructureId)?.terminateRequested).toBe(true);
  });

  it("a sandbox past its timeout ends with exit 124 and 'timed out after N s'", async () => {
    const request = requestFor({ timeout: 10 }, credentials);
    const p = provider();
    const { infrastructureId } = await p.submit(request);
    const ref = refOf(request, infrastructureId);
    await expect.poll(async () => (await p.status(ref)).phase, { timeout: 30_000, interval: 500 }).toBe("exited");
    expect(await p.status(ref)).toEqual({
      phase: "exited",
      exitCode: 124,
      message: "timed out after 10 s: Modal stopped the sandbox at its timeout (raise the timeout job variable)",
    });
  }, 60_000);

  it("gives a crashed sandbox's stdout and stderr as log lines", async () => {
    const request = requestFor({}, credentials);
    const p = provider();
    const { infrastructureId } = await p.submit(request);
    local.completeSandbox(infrastructureId, { exitCode: 3, stdout: "starting\nengine could not reach the server\n", stderr: "Traceback: boom\n" });
    const ref = refOf(request, infrastructureId);
    expect(await p.status(ref)).toMatchObject({ phase: "exited", exitCode: 3 });
    const lines = (await p.logs(ref, { limit: 10 })).map((l) => l.message);
    expect(lines).toEqual(["starting", "engine could not reach the server", "Traceback: boom"]);
    expect((await p.logs(ref, { limit: 1 })).map((l) => l.message)).toEqual(["Traceback: boom"]);
  });

  it("a GPU sandbox goes through Modal's V1 sandbox RPCs (the SDK's choice): followed, resubmitted and cancelled the same", async () => {
    const request = requestFor({ gpu: "T4" }, credentials);
    const p = provider();
    const { infrastructureId } = await p.submit(request);
    expect(local.sandbox(infrastructureId)).toMatchObject({ version: 1, gpu: "T4", name: `ferry-${request.flowRun.id}` });
    const ref = refOf(request, infrastructureId);
    expect(await p.status(ref)).toEqual({ phase: "running" });
    expect((await provider().submit({ ...request })).infrastructureId).toBe(infrastructureId);
    expect(local.sandboxes().filter((s) => s.name === `ferry-${request.flowRun.id}`)).toHaveLength(1);
    await p.cancel(ref, "test over");
    await expect.poll(async () => (await p.status(ref)).phase).toBe("exited");
    expect(await p.status(ref)).toMatchObject({ exitCode: 137 });
  });

  it("an unknown sandbox is missing", async () => {
    const request = requestFor({}, credentials);
    expect((await provider().status(refOf(request, "sb2-doesnotexist0000000000"))).phase).toBe("missing");
  });

  it("a refused token crashes the submission with Modal's reason and the fix, its secret nowhere", async () => {
    const logs = captureLogger();
    const request = requestFor({}, { token_id: "ak-NoSuchToken00000", token_secret: SECRET });
    const error = await provider(logs).submit(request).catch((e: unknown) => e);
    expect(isFerryError(error, "provider_auth"), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/Modal did not accept the pool's token \(.+\): make a token with 'modal token new'/);
    expect(JSON.stringify({ m: (error as Error).message, d: (error as { details?: unknown }).details })).not.toContain(SECRET);
    expect(logs.lines().join("\n")).not.toContain(SECRET);

    const revoked = local.addToken();
    local.revokeToken(revoked.tokenId);
    await expect(provider().submit(requestFor({}, credentialsOf(revoked)))).rejects.toMatchObject({ code: "provider_auth" });
  });

  it("a quota Modal answers ends the submission as provider_quota in plain words, and starts nothing", async () => {
    const before = local.sandboxes().length;
    local.injectFault({ rpc: "SandboxCreateV2", code: "RESOURCE_EXHAUSTED", message: "Sandbox concurrency limit (100) reached for this workspace" });
    const error = await provider().submit(requestFor({}, credentials)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "provider_quota", retryable: false });
    expect((error as Error).message).toContain("Modal refused for a limit of the workspace (Sandbox concurrency limit (100) reached for this workspace)");
    expect(local.sandboxes().length).toBe(before);
  });

  it("a Modal secret that does not exist is named with the fix", async () => {
    await expect(provider().submit(requestFor({ secrets: ["no-such-secret"] }, credentials))).rejects.toMatchObject({
      code: "provider_not_found",
      message: expect.stringContaining("modal secret create"),
    });
  });

  it("passes named Modal secrets, resources and the user's env to the sandbox", async () => {
    local.addSecret("db", { DB_PASSWORD: "pw" });
    const request = requestFor({ secrets: ["db"], cpu: 2, memory: 4096, env: { MODE: "x" } }, credentials);
    const { infrastructureId } = await provider().submit(request);
    expect(local.sandbox(infrastructureId)).toMatchObject({ env: expect.objectContaining({ DB_PASSWORD: "pw", MODE: "x" }), milliCpu: 2000, memoryMib: 4096 });
    await provider().cancel(refOf(request, infrastructureId), "test over");
  });

  it("installs pip packages as an image layer Modal builds once: a second run with the same packages builds nothing", async () => {
    const first = requestFor({ pip_packages: ["rich==13.7.1"] }, credentials);
    const a = await provider().submit(first);
    const layer = (id: string) => local.snapshot().images.find((i) => i.id === local.sandbox(id)?.imageId);
    expect(layer(a.infrastructureId)?.dockerfileCommands.join("\n")).toContain("pip install --no-input --disable-pip-version-check -- 'rich==13.7.1'");
    expect(local.sandbox(a.infrastructureId)?.env.FERRY_CACHE_DIR).toBe("/ferry/cache");
    const second = requestFor({ pip_packages: ["rich==13.7.1"] }, credentials);
    const b = await provider().submit(second);
    expect(local.sandbox(b.infrastructureId)?.imageId).toBe(local.sandbox(a.infrastructureId)?.imageId);
    expect(layer(b.infrastructureId)?.builds).toBe(1);
    await provider().cancel(refOf(first, a.infrastructureId), "test over");
    await provider().cancel(refOf(second, b.infrastructureId), "test over");
  });

  it("a pool without credentials is refused without calling Modal, saying how to give it some", async () => {
    const calls = local.calls().length;
    await expect(provider().submit(requestFor({}, null))).rejects.toMatchObject({ code: "provider_auth", message: expect.stringContaining("has no modal credentials") });
    expect(local.calls().length).toBe(calls);
  });

  // The conformance check the Docker suite (modal-provider.e2e.test.ts) cannot make: a healthy engine
  // starts every container of an image that exists. Here an engine refuses every container.
  const cannotStart = providerConformanceChecks.find((c) => c.name === "reports a job the cloud cannot start as failed, with the cloud's reason")!;
  it(`conformance: ${cannotStart.name} (an engine that refuses the container)`, async () => {
    // A hand-written engine (modal-local's runtime option): images are there, every container fails to start.
    const refusing = await startModalLocal({
      runtime: {
        hasImage: async () => true,
        start: async () => {
          throw new Error('OCI runtime create failed: exec: "node": executable file not found in $PATH');
        },
        find: async () => null,
        removeAll: async () => {},
      },
      imageBuilder: { hasImage: async () => true, build: async () => {} },
    });
    const make = () => new ModalProvider({ serverUrl: refusing.url, retryBaseDelayMs: 5 });
    await cannotStart.run(async () => ({
      provider: make(),
      restart: make,
      jobs: {
        quick: {},
        long: {},
        failing: { variables: {}, exitCode: 1 },
        unstartable: { variables: {}, reason: /^the sandbox could not start: .*executable file not found/ },
        refused: { secrets: ["no-such-secret"] },
      },
      credentials: credentialsOf(refusing.token),
      secret: refusing.token.tokenSecret,
      startedJobs: async () => refusing.sandboxes().length,
      throttle: () => {},
      refuseCancel: () => {},
      cleanup: () => refusing.close(),
    }));
  });
});
