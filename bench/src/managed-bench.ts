import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Docker from "dockerode";
import { DEFAULT_ENGINE_IMAGE, FerryClient, isTerminal, type RunnerBackend } from "@ferry/core";
import { cacheVolumeName, DockerRunnerBackend, ProcessRunnerBackend } from "@ferry/managed-runner";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { FIRST_LINE, makeFlowRepository, PIP_REQUIREMENT, SLEEPY } from "./managed-flows.js";
import {
  backendStartFrom,
  dependenciesFrom,
  handoffFigures,
  handoffSample,
  runFigures,
  type HandoffFigures,
  type ManagedRunFigures,
  type RunObservation,
} from "./managed-figures.js";
import type { BenchOptions, RunnerKind } from "./options.js";
import { LogCollector } from "./server-log.js";

/** The engine image the server runs managed runs in (the bench sets no FERRY_ENGINE_IMAGE). */
const IMAGE = DEFAULT_ENGINE_IMAGE;

/** Host directories the containers get read-only: the local pip indexes and wheels, and the CA bundle. */
const HOST_PACKAGE_DIRS = ["/opt/pypi", "/opt/pypi-more", "/opt/wheels", "/etc/ssl/certs"];

export interface ManagedFigures {
  runner: RunnerKind;
  /** FERRY_WARM_ENGINES the server was given: warm engines kept per managed pool, 0 for none. */
  warmEngines: number;
  /** What the server said about its runner backend. */
  description: string;
  /** The first run of the first-line flow, its dependency cache empty. */
  cold: ManagedRunFigures;
  /** A second run with the same packages, from the dependency cache. */
  warm: ManagedRunFigures;
  /** The free tier's slot hand-off; null when --handoff-pairs is 0. */
  handoff: HandoffFigures | null;
  /** Things the reader should know about these figures (a cold run that found a cache, …). */
  notes: string[];
  serverWarnings: number;
  serverWarningSamples: string[];
}

export type ManagedOutcome =
  | ManagedFigures
  | { runner: RunnerKind; warmEngines: number; skipped: string }
  | { runner: RunnerKind; warmEngines: number; failed: string };

export interface ManagedBenchContext {
  options: BenchOptions;
  progress(message: string): void;
  onInterrupt(cleanup: () => Promise<void>): () => void;
}

/**
 * Why Docker cannot be measured here, or null: a daemon must answer (within 3 s) and have the engine
 * image, which the bench never pulls or builds.
 */
export async function dockerProblem(docker = new Docker()): Promise<string | null> {
  try {
    await (docker as unknown as { ping(o: { abortSignal: AbortSignal }): Promise<unknown> }).ping({ abortSignal: AbortSignal.timeout(3000) });
  } catch (error) {
    return `no Docker daemon answers (${(error as Error).message || (error as Error).name}); start one (scripts/docker-up.sh)`;
  }
  try {
    await docker.getImage(IMAGE).inspect();
  } catch {
    return `the image ${IMAGE} is missing (docker image inspect ${IMAGE}); build it with scripts/build-images.sh`;
  }
  return null;
}

/**
 * The dependency-cache key the server gives a run of the workspace's `image` with these packages: a
 * copy of `cacheKey` in packages/server/src/managed-dispatcher.ts, which @ferry/server does not export.
 * If the two drift, the bench leaves its volume behind. (Caches are per workspace, and the bench's
 * workspace is new: its first run always installs.)
 */
export function benchCacheKey(workspaceId: string, image: string, pip: string[], npm: string[]): string {
  const text = JSON.stringify({ workspace: workspaceId, image, pip: [...pip].sort(), npm: [...npm].sort() });
  return createHash("sha256").update(text).digest("hex").slice(0, 24);
}

/**
 * The server's variables for `runner` with `warmEngines` warm engines per managed pool: as an operator
 * behind a private package mirror would set them.
 */
export function managedServerEnv(runner: RunnerKind, repo: string, warmEngines = 0, existing: (path: string) => boolean = existsSync): Record<string, string> {
  const runnerEnv = {
    PIP_INDEX_URL: "file:///opt/pypi/simple",
    PIP_EXTRA_INDEX_URL: "file:///opt/pypi-more/simple",
    PIP_FIND_LINKS: "/opt/wheels",
    // pip would otherwise look for a newer pip on pypi.org at every install.
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
  };
  const warm = { FERRY_WARM_ENGINES: String(warmEngines) };
  if (runner === "process") return { FERRY_RUNNER: "process", FERRY_RUNNER_ENV: JSON.stringify(runnerEnv), ...warm };
  const mounts = [`${repo}:${repo}`, ...HOST_PACKAGE_DIRS.filter((d) => existing(d)).map((d) => `${d}:${d}`)];
  return {
    FERRY_RUNNER: "docker",
    // Host networking: the engine reaches the server at 127.0.0.1, as the process backend's does.
    FERRY_RUNNER_NETWORK: "host",
    FERRY_RUNNER_MOUNTS: mounts.join(","),
    FERRY_RUNNER_ENV: JSON.stringify(runnerEnv),
    ...warm,
  };
}

/**
 * Managed execution on one runner backend: a server on a fresh embedded store (so, for the process
 * backend, a fresh `$FERRY_HOME/cache`), a local git repository of flows, then
 *  1. the first-line flow twice: with an empty dependency cache, then from the cache;
 *  2. `--handoff-pairs` pairs of the one-second flow on the free tier (one managed run at a time).
 */
export async function benchManaged(runner: RunnerKind, warmEngines: number, ctx: ManagedBenchContext): Promise<ManagedFigures> {
  const { options } = ctx;
  const home = mkdtempSync(join(tmpdir(), `ferry-bench-${runner}-`));
  const repo = makeFlowRepository();
  const docker = runner === "docker" ? new Docker() : null;
  let server: RunningServer | null = null;
  let workspaceId: string | null = null;
  // The bench's own view of the instances, to clean up what a run left if the server could not.
  const instances: RunnerBackend =
    runner === "docker" ? new DockerRunnerBackend({ docker: docker!, network: "host" }) : new ProcessRunnerBackend({ stateDir: join(home, "runs"), cacheDir: join(home, "cache") });
  const cleanup = async () => {
    await server?.close().catch(() => undefined);
    server = null;
    if (workspaceId) await removeInstances(instances, workspaceId);
    if (docker && workspaceId) await docker.getVolume(cacheVolumeName("ferry", workspaceId, benchCacheKey(workspaceId, IMAGE, [PIP_REQUIREMENT], []))).remove().catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  };
  const unregister = ctx.onInterrupt(cleanup);
  try {
    const log = new LogCollector();
    const config = parseServerConfig(managedServerEnv(runner, repo, warmEngines), { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [] });
    server = await startServer(config, { logStream: log });
    if (!server.bootstrap) throw new Error("a fresh store must bootstrap a workspace and key");
    workspaceId = server.bootstrap.workspaceId;
    const description = server.runnerDescription ?? "no runner";
    if (!description.includes(runner === "docker" ? "Docker" : "process backend")) throw new Error(`the server did not pick the ${runner} backend: ${description}`);
    const client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap.apiKey, userAgent: "ferry-bench" });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
    const deploy = async (name: string, entrypoint: string, jobVariables: Record<string, unknown>, parameters: Record<string, unknown> = {}) =>
      (
        await client.api.applyDeployment({
          body: { flow_name: "bench", name, work_pool: "managed", source: { git_url: `file://${repo}`, branch: "main" }, entrypoint, job_variables: jobVariables, parameters },
        })
      ).deployment;
    const timeoutMs = options.completionTimeoutMs;

    const firstLine = await deploy("first-line", FIRST_LINE, { pip_packages: [PIP_REQUIREMENT] });
    ctx.progress(`${runner}: first run, installing ${PIP_REQUIREMENT} into an empty dependency cache`);
    const cold = runFigures(await createAndFollow(client, firstLine.id, timeoutMs));
    ctx.progress(`${runner}: second run, from the dependency cache`);
    const warm = runFigures(await createAndFollow(client, firstLine.id, timeoutMs));

    let handoff: HandoffFigures | null = null;
    if (options.handoffPairs > 0) {
      const sleepy = await deploy("sleepy", SLEEPY, {}, { seconds: 1 });
      const results = [];
      for (let i = 0; i < options.handoffPairs; i++) {
        ctx.progress(`${runner}: slot hand-off, pair ${i + 1} of ${options.handoffPairs}`);
        const a = await create(client, sleepy.id);
        const b = await create(client, sleepy.id);
        const [first, second] = await Promise.all([follow(client, a, timeoutMs), follow(client, b, timeoutMs)]);
        results.push(handoffSample(first, second));
      }
      handoff = handoffFigures(results);
    }

    const notes: string[] = [];
    for (const [label, r] of [["first run", cold], ["second run", warm]] as const) {
      if (r.finalState !== "COMPLETED") notes.push(`${label} ended ${r.finalState}${r.message ? `: ${r.message}` : ""}`);
    }
    if (cold.dependencies !== "installed") notes.push(`the first run did not install its packages (${cold.dependencies}): its figures are not a cold start`);
    if (warm.dependencies !== "cached") notes.push(`the second run did not use the dependency cache (${warm.dependencies})`);

    // Let the dispatcher settle and remove the last instances, as it does between runs.
    await settled(instances, workspaceId, 20_000);
    return { runner, warmEngines, description, cold, warm, handoff, notes, serverWarnings: log.warnings, serverWarningSamples: log.samples };
  } finally {
    unregister();
    await cleanup();
  }
}

interface Created {
  id: string;
  createSentAt: number;
}

async function create(client: FerryClient, deploymentId: string): Promise<Created> {
  const createSentAt = Date.now();
  const { flow_run } = await client.api.createFlowRun({ params: { id: deploymentId }, body: {} });
  return { id: flow_run.id, createSentAt };
}

async function createAndFollow(client: FerryClient, deploymentId: string, timeoutMs: number): Promise<RunObservation> {
  return follow(client, await create(client, deploymentId), timeoutMs);
}

/**
 * Follows a run's event stream to its end, noting when its first flow line and its final state came;
 * then reads the run and its state history. A run still going after `timeoutMs` is cancelled.
 */
async function follow(client: FerryClient, created: Created, timeoutMs: number): Promise<RunObservation> {
  let firstFlowLine: RunObservation["firstFlowLine"] = null;
  let startedAt: number | null = null;
  let finalSeenAt: number | null = null;
  let dependencies: RunObservation["dependencies"] = "none";
  const signal = AbortSignal.timeout(timeoutMs);
  for await (const event of client.followRun(created.id, { signal })) {
    const now = Date.now();
    if (event.kind === "log" && event.log.source === "flow" && !firstFlowLine) firstFlowLine = { at: Date.parse(event.log.timestamp), seenAt: now };
    dependencies = dependenciesFrom(event) ?? dependencies;
    startedAt ??= backendStartFrom(event);
    if (event.kind === "state" && isTerminal(event.state.type)) finalSeenAt ??= now;
  }
  const run = await client.api.getFlowRun({ params: { id: created.id } });
  if (!isTerminal(run.state.type)) {
    await client.api.cancelFlowRun({ params: { id: created.id }, body: { reason: "the bench gave up waiting" } }).catch(() => undefined);
    throw new Error(`flow run ${created.id} was still ${run.state.type} (${run.state.name}) after ${timeoutMs / 1000} s (--timeout-s)`);
  }
  const history = (await client.api.getFlowRunHistory({ params: { id: created.id } })).items;
  return { flowRunId: created.id, createSentAt: created.createSentAt, startedAt, firstFlowLine, finalSeenAt, dependencies, run, history };
}

async function ownInstances(backend: RunnerBackend, workspaceId: string) {
  return (await backend.list().catch(() => [])).filter((i) => i.workspaceId === workspaceId);
}

async function settled(backend: RunnerBackend, workspaceId: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await ownInstances(backend, workspaceId)).length && Date.now() < deadline) await sleep(200);
}

/** Stops and removes this bench's instances only: another server's share the Docker host. */
async function removeInstances(backend: RunnerBackend, workspaceId: string): Promise<void> {
  for (const instance of await ownInstances(backend, workspaceId)) await backend.remove(instance.id).catch(() => undefined);
}
