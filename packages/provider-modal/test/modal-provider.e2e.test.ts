import { isFinalStatus, type InfrastructureRef, type InfrastructureStatus } from "@ferry/core";
import { captureLogger, providerConformanceChecks, type ProviderConformanceHarness } from "@ferry/provider-kit/conformance";
import { startModalLocal, type ModalLocal } from "@ferry/modal-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../../test-support/services.js";
import { ModalProvider } from "../src/index.js";
import { credentialsOf, refOf, requestFor } from "./support.js";

// The official SDK, through ModalProvider, against @ferry/modal-local: sandboxes become Docker
// containers of images on this host, so nothing here needs Modal or a registry.
const SECRET = "as-FerryConformanceSecret5e1f0c";
const IMAGE = "ferry-base:bookworm";
const quickJob = { image: IMAGE, command: ["python3", "-c", "print('hi')"] };
const longJob = { image: IMAGE, command: ["sleep", "600"] };

let local: ModalLocal;
let credentials: Record<string, string>;

async function untilFinal(provider: ModalProvider, ref: InfrastructureRef, timeoutMs = 90_000): Promise<InfrastructureStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await provider.status(ref);
    if (isFinalStatus(status)) return status;
    if (Date.now() > deadline) throw new Error(`${ref.infrastructureId} did not finish; last status ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("ModalProvider on @ferry/modal-local", await docker({ images: [IMAGE] }), () => {
  beforeAll(async () => {
    // `sleep` ignores SIGTERM: a short grace keeps the cancel checks from waiting Modal's.
    local = await startModalLocal({ terminateGraceSeconds: 2 });
    if (local.runtimeUnavailable) throw new Error(`modal-local cannot run sandboxes: ${local.runtimeUnavailable}`);
    credentials = credentialsOf(local.addToken({ tokenId: "ak-FerryConformance1", tokenSecret: SECRET }));
  });
  afterAll(async () => {
    await local?.close();
  });

  // A sandbox Modal cannot start (INIT_FAILURE) needs an engine that refuses a container: on a healthy
  // Docker engine modal-local has none (a missing image fails the image build at submission, as on
  // Modal: that is the `refused` job). modal-provider-local.test.ts runs that check with an engine that refuses containers.
  const NOT_ON_DOCKER = new Set(["reports a job the cloud cannot start as failed, with the cloud's reason"]);
  describe("ModalProvider: ComputeProvider conformance", () => {
    for (const check of providerConformanceChecks) {
      if (NOT_ON_DOCKER.has(check.name)) continue;
      it(check.name, () => check.run(harness));
    }
    it("leaves out exactly the checks it names", () => {
      expect(providerConformanceChecks.filter((c) => NOT_ON_DOCKER.has(c.name)).map((c) => c.name)).toEqual([...NOT_ON_DOCKER]);
    });
  });

  async function harness(): Promise<ProviderConformanceHarness> {
    const log = captureLogger();
    const make = () => new ModalProvider({ serverUrl: local.url, logger: log.logger, retryBaseDelayMs: 20 });
    return {
      provider: make(),
      restart: make,
      jobs: {
        quick: quickJob,
        long: longJob,
        failing: { variables: { ...quickJob, command: ["python3", "-c", "import sys; sys.exit(3)"] }, exitCode: 3 },
        unstartable: { variables: quickJob, reason: /the sandbox could not start/ },
        refused: { ...quickJob, secrets: ["ferry-no-such-secret"] },
      },
      credentials,
      secret: SECRET,
      badCredentials: { token_id: "ak-FerryUnknownToken0", token_secret: SECRET },
      startedJobs: async () => local.sandboxes().length,
      throttle: (calls) => {
        local.clearFaults();
        if (calls > 0) local.injectFault({ rpc: "*", code: "RESOURCE_EXHAUSTED", message: "Rate limit exceeded: too many requests", times: calls });
      },
      refuseCancel: (calls) => {
        local.clearFaults();
        if (calls > 0) local.injectFault({ rpc: "SandboxTerminateV2", code: "PERMISSION_DENIED", message: "The token may not terminate sandboxes of this workspace", times: calls });
      },
      logLines: log.lines,
      timeoutMs: 90_000,
    };
  }

  describe("Modal behaviour", () => {
    const provider = () => new ModalProvider({ serverUrl: local.url, retryBaseDelayMs: 20 });

    it("a sandbox that outlives its timeout is stopped by Modal: exit 124, 'timed out after N s'", async () => {
      const request = requestFor({ ...longJob, timeout: 10 }, credentials);
      const p = provider();
      const { infrastructureId } = await p.submit(request);
      expect(await untilFinal(p, refOf(request, infrastructureId))).toEqual({
        phase: "exited",
        exitCode: 124,
        message: "timed out after 10 s: Modal stopped the sandbox at its timeout (raise the timeout job variable)",
      });
      expect(local.sandbox(infrastructureId)?.containerId).toBeTruthy();
    });

    it("the run's token reaches the container as a variable, never its command or tags", async () => {
      const request = requestFor({ image: IMAGE, command: ["sh", "-c", 'test -n "$FERRY_BOOTSTRAP_TOKEN" && echo token-present'] }, credentials);
      const p = provider();
      const { infrastructureId } = await p.submit(request);
      const ref = refOf(request, infrastructureId);
      expect(await untilFinal(p, ref)).toEqual({ phase: "exited", exitCode: 0 });
      expect(local.sandbox(infrastructureId)?.stdout).toContain("token-present");
      const token = request.runtimeEnv.FERRY_BOOTSTRAP_TOKEN!;
      expect(JSON.stringify(local.snapshot())).not.toContain(token);
    });

    it("reads a crashed sandbox's output back as log lines", async () => {
      const request = requestFor({ image: IMAGE, command: ["sh", "-c", "echo out-line; echo err-line >&2; exit 7"] }, credentials);
      const p = provider();
      const { infrastructureId } = await p.submit(request);
      const ref = refOf(request, infrastructureId);
      expect(await untilFinal(p, ref)).toMatchObject({ phase: "exited", exitCode: 7 });
      expect((await p.logs(ref, { limit: 10 })).map((l) => l.message).sort()).toEqual(["err-line", "out-line"]);
    });
  });
});
