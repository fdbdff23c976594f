import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ENGINE_IMAGE, FerryClient, type Deployment, type FlowRun } from "@ferry/core";
import { startKubernetesLocal, type KubernetesLocal } from "@ferry/kubernetes-local";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { docker as dockerService } from "../../../test-support/services.js";
import { serveRepo, type ServedRepo } from "./support/git-server.js";

/**
 * Managed runs on Kubernetes end to end: a server configured as an operator would (FERRY_RUNNER=kubernetes,
 * a namespace, a kubeconfig file), the official Kubernetes client against kubernetes-local, whose pods are
 * containers of the engine image on the host's network (so the engine reaches the server at 127.0.0.1 and
 * clones the flows over git's HTTP).
 */
const IMAGE = DEFAULT_ENGINE_IMAGE;
const NAMESPACE = "ferry-runs";

const FLOWS: Record<string, string> = {
  "flows/hello.py": `def main(name: str = "world"):
    print(f"hello {name}", flush=True)
    return {"greeting": f"hello {name}"}
`,
  "flows/sleepy.py": `import time

def main(seconds: int = 600):
    print("sleeping", flush=True)
    time.sleep(seconds)
`,
};

describe("managed runs on the Kubernetes backend", await dockerService({ images: [IMAGE] }), () => {
  let local: KubernetesLocal;
  let repo: ServedRepo;
  let home: string;
  let server: RunningServer;
  let client: FerryClient;

  beforeAll(async () => {
    local = await startKubernetesLocal({ network: "host" });
    repo = await serveRepo(FLOWS);
    home = mkdtempSync(join(tmpdir(), "ferry-k8s-managed-"));
    const config = parseServerConfig(
      { FERRY_RUNNER: "kubernetes", FERRY_KUBERNETES_NAMESPACE: NAMESPACE, FERRY_KUBERNETES_KUBECONFIG: local.writeKubeconfig(home, NAMESPACE) },
      { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [] },
    );
    server = await startServer(config, { logStream: process.stderr });
    client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
  });

  afterAll(async () => {
    await server?.close();
    await local?.close();
    await repo?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const deploy = async (name: string, entrypoint: string, parameters: Record<string, unknown> = {}): Promise<Deployment> =>
    (await client.api.applyDeployment({ body: { flow_name: "k8s", name, work_pool: "managed", source: { git_url: repo.url, branch: "main" }, entrypoint, parameters, job_variables: {} } })).deployment;
  const runOf = async (d: Deployment): Promise<FlowRun> => (await client.api.createFlowRun({ params: { id: d.id }, body: {} })).flow_run;
  const logsOf = async (id: string) => (await client.api.listFlowRunLogs({ params: { id }, query: { limit: 1000 } })).items.map((l) => l.message).join("\n");

  it("says it runs managed runs on Kubernetes, and runs a Python flow to COMPLETED in a Job of the engine image", async () => {
    expect(server.runnerDescription).toMatch(new RegExp(`^using Kubernetes \\(https://127\\.0\\.0\\.1:\\d+, namespace ${NAMESPACE}\\)$`));
    const d = await deploy("hello", "flows/hello.py:main", { name: "kubernetes" });
    const run = await client.waitForRun((await runOf(d)).id, { signal: AbortSignal.timeout(110_000) });
    expect(run.state.type, `${run.state.message ?? ""}\n${await logsOf(run.id)}`).toBe("COMPLETED");
    expect(run.result).toEqual({ greeting: "hello kubernetes" });
    expect(await logsOf(run.id)).toContain("hello kubernetes");
    expect(run.infrastructure_id).toBe(`kubernetes:ferry-run-${run.id}`);
    // The server removes a finished run's Job (its pod and Secret go with it).
    await expect.poll(() => local.jobCount(NAMESPACE), { timeout: 30_000 }).toBe(0);
    expect(local.store.list("secrets", NAMESPACE)).toEqual([]);
  });

  it("cancels a running flow: the Job is deleted in the foreground, and the run is CANCELLED once its pod is gone", async () => {
    const d = await deploy("sleepy", "flows/sleepy.py:main");
    const created = await runOf(d);
    await expect.poll(async () => (await client.api.getFlowRun({ params: { id: created.id } })).state.type, { timeout: 90_000, interval: 500 }).toBe("RUNNING");
    expect(local.jobCount(NAMESPACE)).toBe(1);
    expect((await client.api.cancelFlowRun({ params: { id: created.id }, body: {} })).state.type).toBe("CANCELLING");
    const final = await client.waitForRun(created.id, { signal: AbortSignal.timeout(60_000) });
    expect(final.state.type).toBe("CANCELLED");
    expect(local.store.list("pods", NAMESPACE)).toEqual([]);
    await expect.poll(() => local.jobCount(NAMESPACE), { timeout: 30_000 }).toBe(0);
  });
});
