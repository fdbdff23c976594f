import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FerryClient } from "@ferry/core";
import { parseServerConfig, startServer } from "@ferry/server";
import { makeFlowRepository } from "./managed-flows.js";
import { distribution } from "./stats.js";

/**
 * `npm run bench:kubernetes -w bench [-- --runs N]`: dispatch latency through the Kubernetes runner
 * backend. A server (FERRY_RUNNER=kubernetes, the embedded store) talks through the official client to
 * kubernetes-local, started as its own process (its CLI, so the bench imports no cloud stand-in), whose
 * pods are containers of ferry-engine:latest on the host's network. Runs of a one-second flow are created
 * one after the other, each awaited to COMPLETED: **dispatch** is from the create request being sent to
 * kubernetes-local having the run's Job (its ADDED event, stamped by that process); also create → COMPLETED.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values } = parseArgs({ options: { runs: { type: "string", default: "20" }, json: { type: "boolean", default: false } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs is a whole number, 1 or more");

const repo = makeFlowRepository();
const home = mkdtempSync(join(tmpdir(), "ferry-bench-k8s-"));
const child = spawn(process.execPath, [join(root, "packages/kubernetes-local/dist/cli.js"), "--network", "host", "--namespace", "ferry-runs", "--bind", `${repo}:${repo}`], { stdio: ["ignore", "pipe", "inherit"] });
const created = new Map<string, number>();
const waiters = new Map<string, (at: number) => void>();
const lines = createInterface(child.stdout!);
const ready = new Promise<{ url: string; kubeconfig: string }>((resolve, reject) => {
  child.once("exit", (code) => reject(new Error(`kubernetes-local exited with ${code}`)));
  lines.on("line", (line) => {
    const message = JSON.parse(line) as { url?: string; kubeconfig?: string; resource?: string; labels?: Record<string, string>; at?: number };
    if (message.url) return resolve(message as { url: string; kubeconfig: string });
    const run = message.labels?.["ferry/flow-run-id"];
    if (message.resource === "jobs" && run) {
      created.set(run, message.at!);
      waiters.get(run)?.(message.at!);
    }
  });
});

try {
  const local = await ready;
  const config = parseServerConfig(
    { FERRY_RUNNER: "kubernetes", FERRY_KUBERNETES_NAMESPACE: "ferry-runs", FERRY_KUBERNETES_KUBECONFIG: local.kubeconfig, FERRY_LOG_LEVEL: "warn" },
    { home, port: 0, databaseUrl: null, providers: [] },
  );
  const server = await startServer(config);
  try {
    const client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
    const { deployment } = await client.api.applyDeployment({ body: { flow_name: "bench", name: "sleepy", work_pool: "managed", source: { git_url: `file://${repo}`, branch: "main" }, entrypoint: "flows/sleepy.py:main", parameters: { seconds: 0.1 }, job_variables: {} } });
    const dispatch: number[] = [];
    const completed: number[] = [];
    const failures: string[] = [];
    for (let i = 0; i < runs; i++) {
      const sent = Date.now();
      const { flow_run } = await client.api.createFlowRun({ params: { id: deployment.id }, body: {} });
      const at = created.get(flow_run.id) ?? (await new Promise<number>((resolve) => waiters.set(flow_run.id, resolve)));
      dispatch.push(at - sent);
      const final = await client.waitForRun(flow_run.id, { signal: AbortSignal.timeout(120_000) });
      if (final.state.type === "COMPLETED") completed.push(Date.parse(final.end_time!) - sent);
      else failures.push(`${flow_run.id}: ${final.state.type} ${final.state.message ?? ""}`);
    }
    const d = distribution(dispatch);
    const c = completed.length ? distribution(completed) : null;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ runs, dispatchMs: d, createToCompletedMs: c, failures }, null, 2)}\n`);
    } else {
      process.stdout.write(`| Kubernetes backend (kubernetes-local, ${runs} runs one at a time) | p50 | p99 |\n|---|---|---|\n`);
      process.stdout.write(`| dispatch: create → Job created, ms | ${d.p50} | ${d.p99} |\n`);
      if (c) process.stdout.write(`| create → COMPLETED, ms | ${c.p50} | ${c.p99} |\n`);
      for (const f of failures) process.stdout.write(`not completed: ${f}\n`);
    }
    if (failures.length) process.exitCode = 1;
  } finally {
    await server.close();
  }
} finally {
  child.kill("SIGTERM");
  await new Promise((resolve) => child.once("exit", resolve));
  rmSync(home, { recursive: true, force: true });
  rmSync(repo, { recursive: true, force: true });
}
