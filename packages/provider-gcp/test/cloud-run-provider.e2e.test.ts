import { idempotencyKeyForRun, isFinalStatus, renderJobConfiguration, resolveJobVariables, type InfrastructureRef, type InfrastructureStatus, type SubmitRequest } from "@ferry/core";
import { fixtureDeployment, fixtureFlowRun } from "@ferry/core/testing";
import { startGcpLocal, type GcpLocal } from "@ferry/gcp-local";
import { captureLogger, describeProviderConformance } from "@ferry/provider-kit/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../../test-support/services.js";
import { CLOUD_RUN_BASE_JOB_TEMPLATE, CloudRunProvider, credentialsFromKey } from "../src/index.js";

// The official clients, through CloudRunProvider, against @ferry/gcp-local over TLS gRPC with the pool's
// key signing each call: Cloud Run executions become Docker containers of images on this host.
const quickJob = { image: "ferry-base:bookworm", command: ["sh", "-c", "echo hi"] };
const longJob = { image: "ferry-base:bookworm", command: ["sleep", "600"] };

let local: GcpLocal;
let credentials: Record<string, string>;
let secret: string;

const options = () => ({ apiEndpoint: local.apiEndpoint, port: local.grpcPort, caPem: local.caPem, restUrl: local.httpUrl });

function request(variables: Record<string, unknown>): SubmitRequest {
  const jobConfiguration = renderJobConfiguration(CLOUD_RUN_BASE_JOB_TEMPLATE, resolveJobVariables(CLOUD_RUN_BASE_JOB_TEMPLATE, variables));
  const flowRun = fixtureFlowRun("cloud-run:push", variables, jobConfiguration);
  return {
    flowRun,
    deployment: fixtureDeployment(),
    jobConfiguration,
    credentials,
    idempotencyKey: idempotencyKeyForRun(flowRun.id),
    runtimeEnv: { FERRY_API_URL: "http://127.0.0.1:1", FERRY_FLOW_RUN_ID: flowRun.id, FERRY_BOOTSTRAP_TOKEN: "fbt-e2e" },
  };
}

const refOf = (req: SubmitRequest, infrastructureId: string): InfrastructureRef => ({ infrastructureId, jobConfiguration: req.jobConfiguration, credentials });

async function untilFinal(provider: CloudRunProvider, ref: InfrastructureRef, timeoutMs = 90_000): Promise<InfrastructureStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await provider.status(ref);
    if (isFinalStatus(status)) return status;
    if (Date.now() > deadline) throw new Error(`${ref.infrastructureId} did not finish; last status ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const runJobCalls = (status?: string) => local.calls().filter((c) => c.service === "Jobs" && c.method === "RunJob" && (status === undefined || c.status === status)).length;

describe("CloudRunProvider on @ferry/gcp-local", await docker({ images: ["ferry-base:bookworm"] }), () => {
  const providers: CloudRunProvider[] = [];
  const make = (extra: Record<string, unknown> = {}) => {
    const p = new CloudRunProvider({ ...options(), retryBaseDelayMs: 20, ...extra });
    providers.push(p);
    return p;
  };

  beforeAll(async () => {
    // `sleep` as PID 1 ignores SIGTERM: a short grace keeps the cancel checks from waiting Cloud Run's 10 s.
    local = await startGcpLocal({ stopGraceSeconds: 1 });
    if (local.runtimeUnavailable) throw new Error(`gcp-local cannot run executions: ${local.runtimeUnavailable}`);
    credentials = credentialsFromKey(local.serviceAccountKey() as unknown as Record<string, unknown>);
    // A line of the PEM body: recognisable anywhere, and in the credentials' JSON as it is.
    secret = credentials.private_key!.split("\n")[1]!;
  });
  afterAll(async () => {
    await Promise.allSettled(providers.map((p) => p.close()));
    await local?.close();
  });

  describeProviderConformance("CloudRunProvider", async () => {
    const log = captureLogger();
    const restart = () => make({ logger: log.logger });
    return {
      provider: restart(),
      restart,
      jobs: {
        quick: quickJob,
        long: longJob,
        failing: { variables: { ...quickJob, command: ["sh", "-c", "exit 3"] }, exitCode: 3 },
        unstartable: { variables: { ...quickJob, image: "ferry-image-that-does-not-exist:nope" }, reason: /Image 'ferry-image-that-does-not-exist:nope' not found/ },
        refused: { ...quickJob, project: "ferry-no-such-project" },
      },
      credentials,
      secret,
      badCredentials: { ...credentials, private_key_id: "0000000000000000000000000000000000000000" },
      startedJobs: async () => runJobCalls("OK"),
      throttle: (calls) => {
        local.clearFaults();
        if (calls > 0) local.injectFault({ service: "Jobs", method: "*", code: "RESOURCE_EXHAUSTED", message: "Rate exceeded.", times: calls });
      },
      refuseCancel: (calls) => {
        local.clearFaults();
        if (calls > 0) local.injectFault({ service: "Executions", method: "CancelExecution", code: "PERMISSION_DENIED", message: "Permission 'run.executions.cancel' denied", times: calls });
      },
      logLines: log.lines,
      timeoutMs: 90_000,
    };
  });

  describe("Cloud Run behaviour", () => {
    it("a 429 on RunJob after the execution started is retried without a second execution", async () => {
      const provider = make();
      const req = request(quickJob);
      local.injectFault({ service: "Jobs", method: "RunJob", code: "RESOURCE_EXHAUSTED", message: "Rate exceeded.", after: true });
      const started = runJobCalls();
      const { infrastructureId } = await provider.submit(req);
      const jobExecutions = local.snapshot().executions.filter((e) => e.startsWith(`projects/${local.projectId}/locations/us-central1/jobs/ferry-${req.flowRun.id}/`));
      expect(jobExecutions).toEqual([infrastructureId]);
      expect(runJobCalls() - started).toBe(1);
      expect(await untilFinal(provider, refOf(req, infrastructureId))).toEqual({ phase: "exited", exitCode: 0 });
    });

    it("signs every call with the pool's key, and deletes the run's job once it ended", async () => {
      const provider = make();
      const req = request(quickJob);
      local.clearCalls();
      const { infrastructureId } = await provider.submit(req);
      expect(await untilFinal(provider, refOf(req, infrastructureId))).toEqual({ phase: "exited", exitCode: 0 });
      const cloudRun = local.calls().filter((c) => ["Jobs", "Executions", "Tasks"].includes(c.service));
      expect(new Set(cloudRun.map((c) => c.principal))).toEqual(new Set([credentials.client_email]));
      expect(cloudRun.map((c) => c.method)).toContain("DeleteJob");
      expect(local.snapshot().jobs.filter((j) => j.endsWith(`ferry-${req.flowRun.id}`))).toEqual([]);
    });

    it("keeps a failed run's last lines for the crash report, read before its job is deleted", async () => {
      const provider = make();
      const req = request({ ...quickJob, command: ["sh", "-c", "echo about to fail; echo last words; exit 7"] });
      const { infrastructureId } = await provider.submit(req);
      const ref = refOf(req, infrastructureId);
      expect(await untilFinal(provider, ref)).toMatchObject({ phase: "exited", exitCode: 7 });
      expect((await provider.logs(ref, { limit: 10 })).map((l) => l.message)).toEqual(["about to fail", "last words"]);
    });

    it("gives env_from_secrets to the container from Secret Manager, and fails a run whose secret is missing with the fix", async () => {
      const provider = make();
      local.setSecret("ferry-e2e-secret", "from-secret-manager");
      const req = request({ ...quickJob, command: ["sh", "-c", 'echo "got $DB_PASSWORD"'], env_from_secrets: { DB_PASSWORD: { secret: "ferry-e2e-secret" } } });
      const { infrastructureId } = await provider.submit(req);
      const ref = refOf(req, infrastructureId);
      expect(await untilFinal(provider, ref)).toEqual({ phase: "exited", exitCode: 0 });
      const missing = request({ ...quickJob, env_from_secrets: { DB_PASSWORD: { secret: "ferry-no-such-secret" } } });
      const submitted = await provider.submit(missing);
      const final = await untilFinal(provider, refOf(missing, submitted.infrastructureId));
      expect(final.phase).toBe("failed");
      expect(final.message).toMatch(/a secret of env_from_secrets could not be read: .*ferry-no-such-secret/);
    });

    it("reports an execution Cloud Run may not pull the image of as failed, naming the role to grant", async () => {
      const provider = make();
      const req = request(quickJob);
      local.injectExecutionFailure({ reason: "CONTAINER_PERMISSION_DENIED", message: "Google Cloud Run Service Agent must have permission to read the image, ferry-base:bookworm.", job: `ferry-${req.flowRun.id}` });
      const { infrastructureId } = await provider.submit(req);
      const final = await untilFinal(provider, refOf(req, infrastructureId));
      expect(final.phase).toBe("failed");
      expect(final.message).toMatch(/^Cloud Run may not pull the image: .*roles\/artifactregistry.reader/);
    });

    it("keeps the job with keep_job", async () => {
      const provider = make();
      const req = request({ ...quickJob, keep_job: true });
      const { infrastructureId } = await provider.submit(req);
      expect(await untilFinal(provider, refOf(req, infrastructureId))).toEqual({ phase: "exited", exitCode: 0 });
      expect(local.snapshot().jobs).toContain(`projects/${local.projectId}/locations/us-central1/jobs/ferry-${req.flowRun.id}`);
    });
  });
});
