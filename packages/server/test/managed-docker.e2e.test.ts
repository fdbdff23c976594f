import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ENGINE_IMAGE, FerryClient, type Deployment, type FlowRun, type FlowRunEvent } from "@ferry/core";
import { rejection } from "@ferry/core/testing";
import { parseServerConfig, startServer, type RunningServer } from "../src/index.js";
import { docker as dockerService } from "../../../test-support/services.js";
import { makeFlowRepo } from "./support/flow-repo.js";

/**
 * Managed execution for real: the server on the embedded store, runs in Docker containers of the
 * engine image, code cloned from a git repository, packages installed at start. Containers here reach
 * no registry on their own, so the test hands them the host's package sources the way a user behind a
 * private mirror would: pip's local index mounted read-only with PIP_INDEX_URL, and for npm the host's
 * network and CA bundle.
 */
const IMAGE = DEFAULT_ENGINE_IMAGE;
const docker = new Docker();

const FLOWS: Record<string, string> = {
  "flows/pkgs.py": `import logging
import six

def main(n: int = 2):
    logging.getLogger("pkgs").info("six %s is installed", six.__version__)
    return {"six": six.__version__, "double": n * 2}
`,
  "flows/pkgs.ts": `import isNumber from "is-number";

export async function main(params: { value?: unknown } = {}) {
  console.log("checking", params.value);
  return { isNumber: isNumber(params.value ?? 5) };
}
`,
  "flows/raises.py": `def main():
    raise ValueError("bad day")
`,
  "flows/hog.py": `def main():
    data = b"x" * (3 * 1024 ** 3)
    return len(data)
`,
  "flows/sleepy.py": `import time

def main(seconds: int = 600, lines: int = 0):
    for i in range(max(lines, 1)):
        print(f"line {i + 1}", flush=True)
        time.sleep(seconds / max(lines, 1))
    return {"slept": seconds}
`,
};

interface ContainerTimes {
  start?: number;
  die?: number;
  /** A warm engine's: started before its run, whose time starts at the hand-off. */
  warm?: boolean;
}

describe("managed execution in Docker", await dockerService({ images: [IMAGE] }), () => {
  let home: string;
  let repo: string;
  let server: RunningServer;
  let port: number;
  let client: FerryClient;
  let admin: FerryClient;
  let apiKey: string;
  let workspaceId: string;
  const times = new Map<string, ContainerTimes>();
  let events: NodeJS.ReadableStream | undefined;

  const env = () => {
    const mounts = [`${repo}:${repo}`, "/etc/ssl/certs:/etc/ssl/certs"];
    for (const dir of ["/opt/pypi", "/opt/pypi-more", "/opt/wheels"]) if (existsSync(dir)) mounts.push(`${dir}:${dir}`);
    return {
      FERRY_RUNNER: "docker",
      // Host networking: the npm registry is reachable from the host's network only.
      FERRY_RUNNER_NETWORK: "host",
      FERRY_RUNNER_MOUNTS: mounts.join(","),
      FERRY_RUNNER_ENV: JSON.stringify({
        PIP_INDEX_URL: "file:///opt/pypi/simple",
        PIP_EXTRA_INDEX_URL: "file:///opt/pypi-more/simple",
        PIP_FIND_LINKS: "/opt/wheels",
        PIP_DISABLE_PIP_VERSION_CHECK: "1",
        NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt",
      }),
    };
  };

  const start = async (onPort: number) => {
    const config = parseServerConfig(env(), { home, port: onPort, databaseUrl: null, logLevel: "warn", providers: [] });
    server = await startServer(config, { logStream: process.stderr });
    port = Number(new URL(server.url).port);
    if (server.bootstrap) {
      apiKey = server.bootstrap.apiKey;
      workspaceId = server.bootstrap.workspaceId;
    }
    client = new FerryClient({ apiUrl: server.url, apiKey });
    admin = new FerryClient({ apiUrl: server.url, adminToken: server.adminToken });
  };

  const deploy = async (name: string, entrypoint: string, jobVariables: Record<string, unknown> = {}, parameters: Record<string, unknown> = {}): Promise<Deployment> =>
    (
      await client.api.applyDeployment({
        body: {
          flow_name: "e2e", name, work_pool: "managed",
          source: { git_url: `file://${repo}`, branch: "main" },
          entrypoint, job_variables: jobVariables, parameters,
        },
      })
    ).deployment;

  const runOf = async (d: Deployment, parameters: Record<string, unknown> = {}) =>
    (await client.api.createFlowRun({ params: { id: d.id }, body: { parameters } })).flow_run;

  const logsOf = async (id: string) => (await client.api.listFlowRunLogs({ params: { id }, query: { limit: 1000 } })).items;

  const startedLine = async (id: string) => (await logsOf(id)).map((l) => l.message).find((m) => m.startsWith("Started on docker")) ?? "";

  /** Runs' containers, whether made for the run or a warm engine's renamed to it (not the warm ones still waiting). */
  const runContainers = () => docker.listContainers({ all: true, filters: { label: ["ferry.managed=true"], name: ["ferry-run-"] } });

  const containerOf = (run: FlowRun) => run.infrastructure_id?.replace(/^docker:/, "") ?? "";

  /** A run's end, or a failure within the test's own time: a stuck run must not hold the file open past it. */
  const waitFor = (id: string, options: Parameters<FerryClient["waitForRun"]>[1] = {}) =>
    client.waitForRun(id, { signal: AbortSignal.timeout(170_000), ...options });

  const waitRunning = (id: string) => expect.poll(async () => (await client.api.getFlowRun({ params: { id } })).state.type, { timeout: 120_000 }).toBe("RUNNING");

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "ferry-docker-"));
    repo = makeFlowRepo("ferry-docker-repo-", FLOWS);
    // Container start and die times as Docker itself reports them, to check metering against.
    events = (await docker.getEvents({ filters: { type: ["container"], event: ["start", "die"], label: ["ferry.managed=true"] } })) as NodeJS.ReadableStream;
    let buffer = "";
    events.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const event = JSON.parse(buffer.slice(0, nl)) as { id: string; status: string; timeNano: number; Actor?: { Attributes?: Record<string, string> } };
        buffer = buffer.slice(nl + 1);
        const entry = times.get(event.id) ?? {};
        if (event.status === "start") entry.start = event.timeNano / 1e9;
        if (event.status === "die") entry.die = event.timeNano / 1e9;
        if (event.Actor?.Attributes?.["ferry.warm"] === "true") entry.warm = true;
        times.set(event.id, entry);
      }
    });
    // Drop what an earlier test run left. (The first run with `six` really installs it: caches are per
    // workspace, and this server's workspace is new.)
    for (const c of await docker.listContainers({ all: true, filters: { label: ["ferry.managed=true"], status: ["exited", "created", "dead"] } })) {
      await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    }
    await start(0);
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
  }, 120_000);

  afterAll(async () => {
    (events as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    // Let the last runs' containers be settled and removed before the server goes (its close ends the warm ones).
    for (let waited = 0; waited < 30_000; waited += 250) {
      if ((await runContainers()).length === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await server?.close();
    // A test that failed may have left a run going (a sleeper of 600 s): nothing of this file's outlives it.
    for (const c of await docker.listContainers({ all: true, filters: { label: ["ferry.managed=true", `ferry.workspace_id=${workspaceId}`] } })) {
      await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    }
    // Caches are per workspace, and this one's workspace is never seen again.
    const { Volumes } = await docker.listVolumes({ filters: { label: [`ferry.workspace_id=${workspaceId}`] } });
    for (const v of Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  it("runs a Python flow with a pip package to COMPLETED, with its result and logs; a second run starts from the cached packages", async () => {
    expect(server.runnerDescription).toMatch(/Docker/);
    const d = await deploy("pkgs-py", "flows/pkgs.py:main", { pip_packages: ["six"] }, { n: 21 });
    const first = await waitFor((await runOf(d)).id);
    expect(first.state.type).toBe("COMPLETED");
    expect(first.result).toMatchObject({ double: 42, six: expect.any(String) });
    const messages = (await logsOf(first.id)).map((l) => l.message).join("\n");
    expect(messages).toMatch(/six .* is installed/);
    const second = await waitFor((await runOf(d)).id);
    expect(second.state.type).toBe("COMPLETED");
    const took = (r: FlowRun) => Date.parse(r.end_time!) - Date.parse(r.created_at);
    expect(took(second)).toBeLessThan(took(first));
    expect((await logsOf(first.id)).map((l) => l.message).join("\n")).toMatch(/installing pip: six/);
    expect((await logsOf(second.id)).map((l) => l.message).join("\n")).toMatch(/using the cached environment .*nothing to install/);
  }, 300_000);

  it("runs a TypeScript flow with an npm package to COMPLETED", async () => {
    const d = await deploy("pkgs-ts", "flows/pkgs.ts:main", { npm_packages: ["is-number@7.0.0"] }, { value: 7 });
    const run = await waitFor((await runOf(d)).id);
    expect(run.state.type, run.state.message ?? "").toBe("COMPLETED");
    expect(run.result).toEqual({ isNumber: true });
    expect((await logsOf(run.id)).map((l) => l.message)).toContain("checking 7");
  }, 300_000);

  it("reports a flow that raises as FAILED with the traceback in its logs", async () => {
    const run = await waitFor((await runOf(await deploy("raises", "flows/raises.py:main"))).id);
    expect(run.state.type).toBe("FAILED");
    expect(run.state.message).toMatch(/ValueError: bad day/);
    const text = (await logsOf(run.id)).map((l) => l.message).join("\n");
    expect(text).toMatch(/Traceback \(most recent call last\)/);
  }, 120_000);

  it("crashes a flow that allocates 3 GiB: out of memory", async () => {
    const run = await waitFor((await runOf(await deploy("hog", "flows/hog.py:main"))).id);
    expect(run.state.type).toBe("CRASHED");
    expect(run.state.message).toMatch(/exceeded the 2 GiB memory limit/);
  }, 120_000);

  it("stops a run at a short runtime limit: CRASHED, TimedOut", async () => {
    await admin.api.adminUpdateWorkspace({ params: { id: workspaceId }, body: { limits: { max_runtime_seconds: 8 } } });
    try {
      const run = await waitFor((await runOf(await deploy("sleepy", "flows/sleepy.py:main"))).id);
      expect(run.state).toMatchObject({ type: "CRASHED", name: "TimedOut" });
      expect(run.state.message).toMatch(/maximum runtime of 8 s/);
    } finally {
      await admin.api.adminUpdateWorkspace({ params: { id: workspaceId }, body: { limits: null } });
    }
  }, 120_000);

  it("cancels a running run, cold or on a warm engine: CANCELLED, its container stopped and removed; its environment holds no live token and no API key", async () => {
    // Packages no earlier run of the pool had: the engine waiting does not fit, so the first run starts cold.
    const d = await deploy("to-cancel", "flows/sleepy.py:main", { pip_packages: ["six"] });
    const cancelled = async (expectWarm: boolean) => {
      const created = await runOf(d);
      await waitRunning(created.id);
      const running = await client.api.getFlowRun({ params: { id: created.id } });
      // The run's container as the runner recorded it: one made for the run, or a warm one renamed to it.
      const info = await docker.getContainer(containerOf(running)).inspect();
      expect(info.Name).toBe(`/ferry-run-${created.id}`);
      expect(info.Config.Labels["ferry.warm"] === "true").toBe(expectWarm);
      expect(await startedLine(created.id)).toMatch(expectWarm ? /a warm engine/ : /^(?!.*warm engine)/);
      const envList = info.Config.Env;
      const bootstrap = envList.find((e) => e.startsWith("FERRY_BOOTSTRAP_TOKEN="))?.split("=")[1];
      if (expectWarm) {
        // A warm engine got its run on stdin: its container's environment never held a token.
        expect(bootstrap).toBeUndefined();
      } else {
        expect(bootstrap).toMatch(/^frb_/);
        // Whoever reads the container's environment finds a token the engine has already traded in.
        const stolen = await rejection(new FerryClient({ apiUrl: server.url }).api.exchangeRunBootstrapToken({ body: { bootstrap_token: bootstrap! } }));
        expect(stolen.code).toBe("unauthenticated");
      }
      expect(envList.some((e) => e.startsWith("FERRY_RUN_TOKEN="))).toBe(false);
      expect(envList.join("\n")).not.toContain(apiKey);
      expect(info.HostConfig.Memory).toBe(2048 * 1024 * 1024);
      const cancelling = await client.api.cancelFlowRun({ params: { id: created.id }, body: {} });
      expect(cancelling.state.type).toBe("CANCELLING");
      expect((await waitFor(created.id)).state.type).toBe("CANCELLED");
      await expect.poll(async () => (await docker.getContainer(info.Id).inspect().then(() => "there", () => "gone")), { timeout: 30_000 }).toBe("gone");
      return info.Config.Labels["ferry.cache_key"];
    };
    const cacheKey = await cancelled(false);
    // The server (FERRY_WARM_ENGINES unset: one per pool) warms the pool for runs like that one.
    await expect
      .poll(async () => (await docker.listContainers({ filters: { label: ["ferry.warm=true", `ferry.workspace_id=${workspaceId}`, `ferry.cache_key=${cacheKey}`], name: ["ferry-warm-"] } })).length, { timeout: 120_000 })
      .toBe(1);
    await cancelled(true);
  }, 300_000);

  it("on the free tier, a second run waits in AwaitingConcurrencySlot, then runs", async () => {
    const d = await deploy("pair", "flows/sleepy.py:main", {}, { seconds: 3 });
    const first = await runOf(d);
    const second = await runOf(d);
    const seen: string[] = [];
    const done = await waitFor(second.id, {
      onEvent: (e: FlowRunEvent) => {
        if (e.kind === "state") seen.push(e.state.name);
      },
    });
    expect(seen).toContain("AwaitingConcurrencySlot");
    expect(done.state.type).toBe("COMPLETED");
    const firstDone = await client.api.getFlowRun({ params: { id: first.id } });
    expect(Date.parse(done.start_time!)).toBeGreaterThanOrEqual(Date.parse(firstDone.end_time!));
  }, 180_000);

  it("finishes a run in the right state with all its logs when the server restarts in the middle", async () => {
    const d = await deploy("survivor", "flows/sleepy.py:main", {}, { seconds: 8, lines: 8 });
    const created = await runOf(d);
    await waitRunning(created.id);
    await server.close();
    await new Promise((r) => setTimeout(r, 2000));
    await start(port);
    const final = await waitFor(created.id);
    expect(final.state.type).toBe("COMPLETED");
    const messages = (await logsOf(created.id)).map((l) => l.message);
    for (let i = 1; i <= 8; i++) expect(messages).toContain(`line ${i}`);
  }, 180_000);

  it("leaves no container when the server closes right after a run completed (npm start does)", async () => {
    const created = await runOf(await deploy("last-one", "flows/sleepy.py:main", {}, { seconds: 0 }));
    expect((await waitFor(created.id)).state.type).toBe("COMPLETED");
    await server.close();
    expect(await docker.listContainers({ all: true, filters: { name: [`ferry-run-${created.id}`] } })).toEqual([]);
    // Nor a warm one: the close ended those waiting for this pool's next run.
    const warm = await docker.listContainers({ all: true, filters: { label: ["ferry.warm=true", `ferry.workspace_id=${workspaceId}`], name: ["ferry-warm-"] } });
    expect(warm.map((c) => `${c.Names.join(",")} ${c.State}`)).toEqual([]);
    await start(port);
  }, 180_000);

  it("meters compute seconds from the containers' own start and end times", async () => {
    // A container is removed once its exit has been read and metered: wait for all of them.
    await expect.poll(async () => (await runContainers()).length, { timeout: 30_000 }).toBe(0);
    const runs = (await client.api.listFlowRuns({ query: { limit: 100 } })).items.filter((r) => r.infrastructure_id?.startsWith("docker:"));
    expect(runs.length).toBeGreaterThan(5);
    for (const run of runs) {
      const seen = times.get(containerOf(run));
      if (!seen?.start || !seen.die) continue;
      // A warm engine's container waited before its run came: the run is metered from the hand-off.
      if (seen.warm) {
        expect(run.compute_seconds, `${run.deployment_name} ${run.id}`).toBeGreaterThan(0);
        expect(run.compute_seconds, `${run.deployment_name} ${run.id}`).toBeLessThan(seen.die - seen.start + 0.5);
      } else expect(Math.abs(run.compute_seconds - (seen.die - seen.start)), `${run.deployment_name} ${run.id}`).toBeLessThan(0.5);
    }
    // Once every container's end is settled, the month's usage is the sum of the runs' compute.
    await expect
      .poll(async () => {
        const all = (await client.api.listFlowRuns({ query: { limit: 1000 } })).items;
        const quota = await client.api.getQuota();
        return Math.abs(quota.usage.compute_seconds - all.reduce((s, r) => s + r.compute_seconds, 0));
      }, { timeout: 30_000 })
      .toBeLessThan(0.01);
    expect((await rejection(client.api.getFlowRunSource({ params: { id: runs[0]!.id } }))).code).toBe("forbidden");
  });
});
