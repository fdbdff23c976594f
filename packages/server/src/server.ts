import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { ENGINE_ENV, FerryError, newId, type PoolTypeRegistry, type RunnerBackend, type Store } from "@ferry/core";
import type { ServerConfig } from "./config.js";
import { Dispatcher } from "./dispatcher.js";
import { ManagedDispatcher } from "./managed-dispatcher.js";
import { RunEventHub } from "./events.js";
import { buildApp } from "./http/app.js";
import { Metrics } from "./metrics.js";
import { describePoolTypes, loadPlugins } from "./plugins.js";
import { RunTokens } from "./run-tokens.js";
import { ServerLease } from "./server-lease.js";
import { loadSecretKey, readOrCreateSecretFile, SecretBox } from "./secrets.js";
import type { ServiceContext } from "./services/context.js";
import { createApiKeyIn } from "./services/workspaces.js";
import { openStore } from "./store/open-store.js";

export interface BootstrapResult {
  workspaceId: string;
  workspaceName: string;
  /** The first workspace's first API key, in clear: shown once, stored only as a hash. */
  apiKey: string;
}

export interface RunningServer {
  url: string;
  storeDescription: string;
  /** Where managed runs run and why ("using Docker (…)"), or null when this server runs none. */
  runnerDescription: string | null;
  /** The pool types served and the plugin of each; with no push type, how to add one. */
  poolTypesDescription: string;
  /** Set when this start created the first workspace (a brand-new store). */
  bootstrap: BootstrapResult | null;
  adminToken: string;
  store: Store;
  registry: PoolTypeRegistry;
  dispatcher: Dispatcher;
  app: FastifyInstance;
  /** A run token for a run, as its engine gets one (tests and the process backend's tools use it). */
  issueRunToken(flowRunId: string, ttlSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** A ready registry instead of loading the configured plugins (tests hand in a fake provider). */
  registry?: PoolTypeRegistry;
  now?: () => Date;
  /**
   * Where managed runs run. Undefined: the backend the configuration names (Docker when it answers,
   * else child processes); null: this server runs no managed runs (they wait for a server that does).
   */
  runner?: RunnerBackend | null;
  /** Where the JSON log lines go instead of stdout (tests read them back). */
  logStream?: NodeJS.WritableStream;
}

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Opens the store, loads the plugins, listens, then resumes the runs an earlier process left unfinished. */
export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const secretKey = loadSecretKey(config.secretKey, join(config.home, "secret.key"));
  const secrets = new SecretBox(secretKey);
  const runTokens = new RunTokens(secretKey);
  const adminToken = config.adminToken ?? readOrCreateSecretFile(join(config.home, "admin-token"), () => `fa_${randomBytes(30).toString("base64url")}`);
  const registry = options.registry ?? (await loadPlugins(config.providers, config.providerOptions, { cwd: config.pluginDir }));
  const dataDir = join(config.home, "data");
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir, poolSize: config.databasePoolSize });

  let ready = false;
  let app: FastifyInstance | undefined;
  let dispatcher: Dispatcher | undefined;
  let managed: ManagedDispatcher | undefined;
  let lease: ServerLease | undefined;
  const extraListeners: Server[] = [];
  let runnerDescription: string | null = null;
  const metrics = new Metrics();
  const events = new RunEventHub(store, (error) => app?.log.warn({ err: error }, "could not publish a run event"));
  const ctx: ServiceContext = {
    store,
    registry,
    secrets,
    runTokens,
    events,
    metrics,
    managedImages: { official: config.engineImage, allowed: config.allowedImages },
    now: options.now ?? (() => new Date()),
    dispatch: {
      runCreated: (run, origin) => {
        dispatcher?.runCreated(run, origin);
        managed?.runCreated(run);
      },
      runCancelling: (run) => {
        dispatcher?.runCancelling(run);
        managed?.runCancelling(run);
      },
      runEnded: (run) => {
        dispatcher?.runEnded(run);
        managed?.runEnded(run);
      },
      poolMayAdmit: (pool) => {
        dispatcher?.poolMayAdmit(pool);
        managed?.poolMayAdmit(pool);
      },
    },
  };

  try {
    const bootstrap = await bootstrapIfEmpty(ctx);
    await events.start();
    app = await buildApp({ ctx, adminToken, logLevel: config.logLevel, logStream: options.logStream, version: VERSION, isReady: () => ready });
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    const publicUrl = config.publicUrl ?? url;

    const poolTypesDescription = describePoolTypes(registry);
    app.log.info({ pool_types: registry.names() }, `pool types: ${poolTypesDescription}`);

    lease = await ServerLease.acquire(store, config.home, { sweepIntervalMs: config.sweepIntervalMs, logger: app.log });
    lease.start();
    const serverId = lease.id;
    dispatcher = new Dispatcher(ctx, app.log, {
      serverId,
      sweepIntervalMs: config.sweepIntervalMs,
      // What the engine in a push run's task needs to report back: never a workspace API key.
      runtimeEnv: (run) => ({
        [ENGINE_ENV.apiUrl]: publicUrl,
        [ENGINE_ENV.flowRunId]: run.id,
        [ENGINE_ENV.runToken]: runTokens.issue({ flowRunId: run.id, workspaceId: run.workspace_id, expires: Math.floor(Date.now() / 1000) + 24 * 3600 + 600 }),
      }),
    });
    await dispatcher.start();
    const chosen: ChosenRunner = options.runner !== undefined ? { backend: options.runner, message: null, bridgeGateway: null } : await chooseRunner(config, app.log);
    const runner = chosen.backend;
    runnerDescription = chosen.message ?? (runner ? `managed runs on ${runner.name}` : null);
    if (runnerDescription) app.log.info(runnerDescription);
    if (runner) {
      let engineApiUrl = config.runnerApiUrl ?? publicUrl;
      if (!config.runnerApiUrl && runner.name === "docker" && config.runnerNetwork === "bridge") {
        // Containers on the bridge reach the host at its gateway address, not at loopback: listen there too.
        const gateway = chosen.bridgeGateway;
        if (isLoopback(config.host) && gateway) extraListeners.push(await listenAlso(app, gateway, port));
        engineApiUrl = `http://host.docker.internal:${port}`;
      }
      managed = new ManagedDispatcher(ctx, runner, app.log, {
        serverId,
        engineApiUrl,
        engineImage: config.engineImage,
        allowedImages: config.allowedImages,
        runnerEnv: config.runnerEnv,
        sweepIntervalMs: config.sweepIntervalMs,
      });
      await managed.start();
    }
    ready = true;

    const running: RunningServer = {
      url,
      storeDescription: describeStore(config.databaseUrl, dataDir),
      runnerDescription,
      poolTypesDescription,
      bootstrap,
      adminToken,
      store,
      registry,
      dispatcher,
      app,
      issueRunToken: async (flowRunId, ttlSeconds = 24 * 3600 + 600) => {
        const run = await store.getFlowRunForSystem(flowRunId);
        if (!run) throw new FerryError("not_found", `flow run '${flowRunId}' was not found`);
        return runTokens.issue({ flowRunId, workspaceId: run.workspace_id, expires: Math.floor(Date.now() / 1000) + ttlSeconds });
      },
      close: async () => {
        ready = false;
        // In-flight requests finish; event streams end so clients reconnect elsewhere.
        const deadline = Date.now() + config.shutdownGraceMs;
        const grace = new Promise((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref());
        await Promise.race([Promise.all([app!.close(), ...extraListeners.map((l) => new Promise((r) => l.close(r)))]), grace]);
        await managed?.stop(Math.max(0, deadline - Date.now()));
        await dispatcher!.stop();
        lease?.stop();
        await events.stop();
        await store.close();
      },
    };
    return running;
  } catch (error) {
    await app?.close().catch(() => undefined);
    await dispatcher?.stop().catch(() => undefined);
    lease?.stop();
    await events.stop().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}

/** On a store with no workspace, makes the first one and its key; safe when several processes start at once. */
async function bootstrapIfEmpty(ctx: ServiceContext): Promise<BootstrapResult | null> {
  if ((await ctx.store.countWorkspaces()) > 0) return null;
  return ctx.store.transaction(async (tx) => {
    // Serialises concurrent first starts on one PostgreSQL: only the first makes the workspace.
    await tx.lockIdempotencyKey("00000000-0000-0000-0000-000000000000", "bootstrap");
    if ((await tx.countWorkspaces()) > 0) return null;
    const workspace = await tx.createWorkspace({ id: newId(), name: "default", tier: "free", limits_override: {} });
    const key = await createApiKeyIn(tx, workspace.id, "bootstrap");
    return { workspaceId: workspace.id, workspaceName: workspace.name, apiKey: key.key };
  });
}

function describeStore(databaseUrl: string | null, dataDir: string): string {
  if (!databaseUrl) return `embedded PGlite at ${dataDir}`;
  try {
    const u = new URL(databaseUrl);
    return `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return "PostgreSQL";
  }
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** Serves the same app on one more address (Fastify listens on one). */
async function listenAlso(app: FastifyInstance, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => app.routing(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  app.log.info({ host, port }, "also listening on the Docker bridge for managed runs");
  return server;
}

/**
 * The runner backend the configuration asks for. "auto" takes Docker when it answers and has the engine
 * image, and the process backend otherwise, saying why; "none" runs no managed runs on this server.
 */
interface ChosenRunner {
  backend: RunnerBackend | null;
  message: string | null;
  /** Docker's bridge gateway on this host, where containers on the bridge find the server. */
  bridgeGateway: string | null;
}

async function chooseRunner(config: ServerConfig, log: { warn(msg: string): void }): Promise<ChosenRunner> {
  if (config.runner === "none") return { backend: null, message: "none on this server (FERRY_RUNNER=none): managed runs wait for a server that runs them", bridgeGateway: null };
  const { createRunnerBackend, DockerRunnerBackend } = await import("@ferry/managed-runner");
  const settings = {
    docker: { network: config.runnerNetwork, binds: config.runnerMounts, pull: "never" as const },
    process: { stateDir: join(config.home, "runs"), cacheDir: join(config.home, "cache") },
  };
  const chosen = await createRunnerBackend({ mode: config.runner, ...settings });
  if (chosen.backend instanceof DockerRunnerBackend) {
    const docker = chosen.backend.docker;
    const present = await docker.getImage(config.engineImage).inspect().then(() => true, () => false);
    if (!present) {
      const hint = `the engine image ${config.engineImage} is not on this host; build it with scripts/build-images.sh`;
      if (config.runner === "docker") {
        log.warn(`${hint}: managed runs will crash until it exists`);
        return { backend: chosen.backend, message: `${chosen.message}; ${hint}`, bridgeGateway: await gatewayOf(docker) };
      }
      const fallback = await createRunnerBackend({ mode: "process", ...settings });
      return { backend: fallback.backend, message: `Docker answers but ${hint}: using the process backend, which gives runs no isolation`, bridgeGateway: null };
    }
    return { backend: chosen.backend, message: chosen.message, bridgeGateway: await gatewayOf(docker) };
  }
  return { backend: chosen.backend, message: chosen.message, bridgeGateway: null };
}

/** The bridge network's gateway: the host's address on docker0 (which the OS lists only while a container is up). */
async function gatewayOf(docker: { getNetwork(name: string): { inspect(): Promise<{ IPAM?: { Config?: { Gateway?: string; Subnet?: string }[] } }> } }): Promise<string | null> {
  try {
    const config = (await docker.getNetwork("bridge").inspect()).IPAM?.Config ?? [];
    const explicit = config.find((c) => c.Gateway)?.Gateway;
    if (explicit) return explicit;
    // Docker leaves the default bridge's gateway implicit: the subnet's first address.
    const subnet = config.find((c) => c.Subnet && /^\d+\.\d+\.\d+\.\d+\//.test(c.Subnet))?.Subnet;
    if (!subnet) return null;
    const [a, b, c, d] = subnet.split("/")[0]!.split(".").map(Number) as [number, number, number, number];
    return `${a}.${b}.${c}.${d + 1}`;
  } catch {
    return null;
  }
}
