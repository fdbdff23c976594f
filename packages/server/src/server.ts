import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { ENGINE_ENV, FerryError, newId, type PluginContext, type PoolTypeRegistry, type RunnerBackend, type Store } from "@ferry/core";
import type { DockerRunnerBackend } from "@ferry/managed-runner";
import type { KubernetesRunnerBackend } from "@ferry/kubernetes-runner";
import type { ServerConfig } from "./config.js";
import { Dispatcher } from "./dispatcher.js";
import { ManagedDispatcher } from "./managed-dispatcher.js";
import { Scheduler } from "./scheduler.js";
import { RunEventHub } from "./events.js";
import { buildApp } from "./http/app.js";
import { Metrics } from "./metrics.js";
import { describePoolTypes, loadPlugins } from "./plugins.js";
import { RunTokens } from "./run-tokens.js";
import { ServerLease } from "./server-lease.js";
import { loadSecretKey, readOrCreateSecretFile, SecretBox } from "./secrets.js";
import type { ServiceContext } from "./services/context.js";
import { OidcVerifier } from "./oidc-verifier.js";
import { issueBootstrapToken } from "./services/run-credentials.js";
import { sweepSessions } from "./services/sessions.js";
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
  /** Creates scheduled runs ahead and marks late ones; `pass()` runs one now. */
  scheduler: Scheduler;
  app: FastifyInstance;
  /** A run token for a run, as its engine gets one (tests and the process backend's tools use it). */
  issueRunToken(flowRunId: string, ttlSeconds?: number): Promise<string>;
  /** A single-use bootstrap token for a run, as the dispatchers give its infrastructure (tests use it). */
  issueBootstrapToken(flowRunId: string): Promise<string>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** A ready registry instead of loading the configured plugins (tests hand in a fake provider). */
  registry?: PoolTypeRegistry;
  now?: () => Date;
  /** How long after a fetch of an issuer's keys no other is made (default 30 s; tests rotate keys sooner). */
  oidcKeysCooldownMs?: number;
  /**
   * Where managed runs run. Undefined: the backend the configuration names (Docker when it answers,
   * else child processes); null: this server runs no managed runs (they wait for a server that does).
   */
  runner?: RunnerBackend | null;
  /** Where the JSON log lines go instead of stdout (tests read them back). */
  logStream?: NodeJS.WritableStream;
  /** The built web UI to serve instead of the package's own copy (tests hand in a small one). */
  webDir?: string;
}

/** How often expired browser sessions and login links are deleted (they are refused from their expiry on). */
const SESSION_SWEEP_MS = 10 * 60 * 1000;

/**
 * How often the store's housekeeping runs (the embedded store's ANALYZE and VACUUM; nothing on
 * PostgreSQL): autovacuum's own interval (autovacuum_naptime). A pass reads the tables' counters (cheap)
 * and does only what autovacuum's thresholds call for; on PGlite an ANALYZE or VACUUM holds the one
 * connection while it works, which those thresholds make rare (a 100k-run table: once per 10k changes).
 */
const STORE_MAINTENANCE_MS = 60 * 1000;

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Opens the store, loads the plugins, listens, then resumes the runs an earlier process left unfinished. */
export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const secretKey = loadSecretKey(config.secretKey, join(config.home, "secret.key"));
  const secrets = new SecretBox(secretKey);
  const runTokens = new RunTokens(secretKey);
  const adminToken = config.adminToken ?? readOrCreateSecretFile(join(config.home, "admin-token"), () => `fa_${randomBytes(30).toString("base64url")}`);
  let app: FastifyInstance | undefined;
  // Plugins are made before the app (and its log) exist: their log lines go to it once it does.
  const pluginContext: PluginContext = {
    allowAmbientCredentials: config.allowAmbientCloudCredentials,
    logger: { debug: (obj, msg) => app?.log.debug(obj, msg), warn: (obj, msg) => app?.log.warn(obj, msg) },
  };
  const registry = options.registry ?? (await loadPlugins(config.providers, config.providerOptions, { cwd: config.pluginDir, context: pluginContext }));
  const dataDir = join(config.home, "data");
  // The store speaks before the app (and its log) exists: its notices wait for it.
  const storeNotices: { text: string; err?: FerryError }[] = [];
  const store = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir,
    poolSize: config.databasePoolSize,
    embedded: config.store === "embedded-postgres" ? "postgres" : "pglite",
    analyzeAtOpen: false,
    onNotice: (text) => (app ? app.log.warn(text) : storeNotices.push({ text })),
    // What fails in the store with no caller to tell (an idle connection dropped, the notification
    // connection lost, a subscriber's handler that threw): the server's log is where an operator looks.
    onError: (error) => (app ? app.log.error({ err: error }, error.message) : storeNotices.push({ text: error.message, err: error })),
  });

  let ready = false;
  let dispatcher: Dispatcher | undefined;
  let managed: ManagedDispatcher | undefined;
  let scheduler: Scheduler | undefined;
  let lease: ServerLease | undefined;
  let closeRunner: (() => Promise<void>) | null = null;
  const extraListeners: Server[] = [];
  let sessionSweep: NodeJS.Timeout | undefined;
  let storeMaintenance: NodeJS.Timeout | undefined;
  // Known once the server listens (the port may be picked then).
  let publicUrlNow: string | null = config.publicUrl;
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
    oidc: new OidcVerifier({
      allowHttpIssuers: config.oidcAllowHttpIssuers,
      ...(options.now ? { now: options.now } : {}),
      ...(options.oidcKeysCooldownMs === undefined ? {} : { keysCooldownMs: options.oidcKeysCooldownMs }),
    }),
    managedImages: { official: config.engineImage, allowed: config.allowedImages },
    singleWorkspace: { reason: null },
    now: options.now ?? (() => new Date()),
    dispatch: {
      runCreated: (run, origin) => {
        dispatcher?.runCreated(run, origin);
        managed?.runCreated(run);
      },
      ownerOfNewRun: (poolType) => dispatcher?.ownerOfNewRun(poolType) ?? null,
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
      poolRetired: (pool) => managed?.poolRetired(pool),
      schedulesChanged: () => scheduler?.wake(),
    },
  };

  try {
    await events.start();
    app = await buildApp({
      ctx,
      adminToken,
      logLevel: config.logLevel,
      logStream: options.logStream,
      version: VERSION,
      isReady: () => ready,
      address: { url: () => publicUrlNow },
      webDir: options.webDir,
    });
    for (const notice of storeNotices.splice(0)) {
      if (notice.err) app.log.error({ err: notice.err }, notice.text);
      else app.log.warn(notice.text);
    }
    await listen(app, config.host, config.port);
    // Only once the port is ours: a start that fails to bind must not make the first workspace's only
    // key and then exit without anyone having seen it.
    const bootstrap = await bootstrapIfEmpty(ctx);
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    const publicUrl = config.publicUrl ?? url;
    publicUrlNow = publicUrl;
    const sweep = () => sweepSessions(ctx).catch((error: unknown) => app?.log.warn({ err: error }, "could not delete expired sessions"));
    void sweep();
    sessionSweep = setInterval(() => void sweep(), SESSION_SWEEP_MS).unref();
    const log = app.log;
    storeMaintenance = setInterval(() => void maintainStore(ctx.store, log, () => ready), STORE_MAINTENANCE_MS).unref();

    const poolTypesDescription = describePoolTypes(registry);
    app.log.info({ pool_types: registry.names() }, `pool types: ${poolTypesDescription}`);

    lease = await ServerLease.acquire(store, config.home, { sweepIntervalMs: config.sweepIntervalMs, logger: app.log });
    lease.start();
    const serverId = lease.id;
    dispatcher = new Dispatcher(ctx, app.log, {
      serverId,
      sweepIntervalMs: config.sweepIntervalMs,
      // What the engine in a push run's task needs to report back: never a workspace API key, and not
      // the run token either (a task's environment is readable by whoever may describe it).
      runtimeEnv: async (run) => ({
        [ENGINE_ENV.apiUrl]: publicUrl,
        [ENGINE_ENV.flowRunId]: run.id,
        [ENGINE_ENV.bootstrapToken]: await issueBootstrapToken(ctx, run, Math.floor(Date.now() / 1000) + 24 * 3600 + 600),
      }),
    });
    await dispatcher.start();
    const chosen: ChosenRunner = options.runner !== undefined ? { backend: options.runner, message: null, bridgeGateway: null, docker: null } : await chooseRunner(config, app.log);
    closeRunner = chosen.close ?? null;
    const runner = chosen.backend;
    runnerDescription = chosen.message ?? (runner ? `managed runs on ${runner.name}` : null);
    if (runnerDescription) app.log.info(runnerDescription);
    if (runner && !runner.isolated) await guardUnisolatedRunner(ctx, config, runner.name);
    if (chosen.docker && config.runnerFirewall === "iptables") {
      const { applyFirewallRules, runnerFirewallRules } = await import("@ferry/managed-runner");
      const network = await chosen.docker.runsNetwork();
      const added = await applyFirewallRules(runnerFirewallRules(network.bridgeInterface, [port]));
      app.log.info({ network: network.name, interface: network.bridgeInterface, added }, `host firewall: runs on ${network.name} reach port ${port} of this host and the internet, not the host's other ports or 169.254.169.254`);
    } else if (chosen.docker && config.runnerNetwork === "isolated") {
      // Said at every start; a warning once several workspaces (tenants) share this host, since then
      // one tenant's code could reach what the host serves to others.
      const workspaces = await ctx.store.countWorkspaces();
      const say = workspaces > 1 ? app.log.warn.bind(app.log) : app.log.info.bind(app.log);
      say(
        { network: config.runnerNetworkName, workspaces },
        `managed runs can reach this host's other ports and the cloud metadata address (169.254.169.254): unless the host's firewall already stops them, set FERRY_RUNNER_FIREWALL=iptables (the server adds the rules; needs root) or add the rules packages/managed-runner/README.md lists`,
      );
    }
    if (runner) {
      let engineApiUrl = config.runnerApiUrl ?? publicUrl;
      if (!config.runnerApiUrl && runner.name === "docker" && config.runnerNetwork !== "host") {
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
        warmEngines: config.warmEngines,
      });
      await managed.start();
    }
    scheduler = new Scheduler(ctx, app.log, { intervalMs: config.schedulerIntervalMs });
    scheduler.start();
    ready = true;
    // Serving first: statistics a store lacks or that a bulk of writes made stale are brought up to date
    // now, in the background (see STORE_MAINTENANCE_MS).
    void maintainStore(ctx.store, app.log, () => ready);

    const running: RunningServer = {
      url,
      storeDescription: describeStore(config.databaseUrl, dataDir, config.store),
      runnerDescription,
      poolTypesDescription,
      bootstrap,
      adminToken,
      store,
      registry,
      dispatcher,
      scheduler,
      app,
      issueRunToken: async (flowRunId, ttlSeconds = 24 * 3600 + 600) => {
        const run = await store.getFlowRunForSystem(flowRunId);
        if (!run) throw new FerryError("not_found", `flow run '${flowRunId}' was not found`);
        return runTokens.issue({ flowRunId, workspaceId: run.workspace_id, expires: Math.floor(Date.now() / 1000) + ttlSeconds });
      },
      issueBootstrapToken: async (flowRunId) => {
        const run = await store.getFlowRunForSystem(flowRunId);
        if (!run) throw new FerryError("not_found", `flow run '${flowRunId}' was not found`);
        return issueBootstrapToken(ctx, run, Math.floor(Date.now() / 1000) + 24 * 3600 + 600);
      },
      close: async () => {
        ready = false;
        clearInterval(sessionSweep);
        clearInterval(storeMaintenance);
        // In-flight requests finish; event streams end so clients reconnect elsewhere.
        const deadline = Date.now() + config.shutdownGraceMs;
        const grace = new Promise((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref());
        await Promise.race([Promise.all([app!.close(), ...extraListeners.map((l) => new Promise((r) => l.close(r)))]), grace]);
        await scheduler?.stop();
        await managed?.stop(Math.max(0, deadline - Date.now()));
        await closeRunner?.();
        await dispatcher!.stop();
        await handOver(lease, runner, app!.log);
        await events.stop();
        await store.close();
      },
    };
    return running;
  } catch (error) {
    clearInterval(sessionSweep);
    clearInterval(storeMaintenance);
    await app?.close().catch(() => undefined);
    await scheduler?.stop().catch(() => undefined);
    await dispatcher?.stop().catch(() => undefined);
    lease?.stop();
    await events.stop().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}

/**
 * At a graceful stop, ends this server's lease so the other servers on its database take over its runs at
 * their next sweep instead of after the lease. Not with the process backend: its runs' processes live on
 * this host only, where this server's next start finds them; another server could only declare them lost.
 */
async function handOver(lease: ServerLease | undefined, runner: RunnerBackend | null, log: FastifyInstance["log"]): Promise<void> {
  if (!lease) return;
  if (runner && !runner.isolated) return lease.stop();
  try {
    await lease.release();
    log.info({ server_id: lease.id }, "lease ended: other servers on this database take over this server's runs at their next sweep");
  } catch (error) {
    log.warn({ err: error, server_id: lease.id }, `could not end this server's lease; other servers take over its runs once it expires (${lease.leaseMs} ms)`);
  }
}

/**
 * The process backend runs flows as this server's own user, with no isolation: fine for one user on
 * their own machine, not for tenants. With more than one workspace the server refuses to start, and
 * while it runs it refuses a second workspace, unless the operator insists (FERRY_ALLOW_SHARED_PROCESS_BACKEND=1).
 */
async function guardUnisolatedRunner(ctx: ServiceContext, config: ServerConfig, backend: string): Promise<void> {
  if (config.allowSharedProcessBackend) return;
  const fix = "use Docker for managed runs (start it, FERRY_RUNNER=docker), run no managed runs here (FERRY_RUNNER=none), or, if every workspace's users may run code as this server's user, set FERRY_ALLOW_SHARED_PROCESS_BACKEND=1";
  const count = await ctx.store.countWorkspaces();
  if (count > 1) {
    throw new FerryError("validation_failed", `managed runs would run on the ${backend} backend, as this server's user with no isolation, but ${count} workspaces exist: one could read another's secrets. Refusing to start: ${fix}`);
  }
  ctx.singleWorkspace.reason = `this server runs managed runs on the ${backend} backend, as its own user with no isolation, so it serves one workspace only: ${fix}`;
}

/** On a store with no workspace, makes the first one and its key; safe when several processes start at once. */
async function maintainStore(store: Store, log: FastifyInstance["log"], serving: () => boolean): Promise<void> {
  try {
    const done = await store.maintain();
    if (done.analyzed.length || done.vacuumed.length) log.debug(done, "store statistics refreshed");
  } catch (error) {
    // A pass cut short by the server's own shutdown is not worth a warning.
    if (serving()) log.warn({ err: error }, `could not refresh the store's statistics; trying again in ${STORE_MAINTENANCE_MS / 1000} s`);
  }
}

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

/** Listens, turning a port taken by another process into an error that says what to do. */
async function listen(app: FastifyInstance, host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new FerryError("conflict", `port ${port} on ${host} is already in use; stop what listens there, or pick another port (--port, FERRY_PORT; 0 picks a free one)`, { cause: error });
    }
    if (code === "EACCES") {
      throw new FerryError("forbidden", `this user may not listen on port ${port} on ${host}; pick a port above 1023 (--port, FERRY_PORT)`, { cause: error });
    }
    throw error;
  }
}

function describeStore(databaseUrl: string | null, dataDir: string, store: ServerConfig["store"]): string {
  if (!databaseUrl) return store === "embedded-postgres" ? `embedded PostgreSQL at ${join(dataDir, "postgres")}` : `embedded PGlite at ${dataDir}`;
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
  /** The backend when it is Docker's: its network and firewall are set up at start. */
  docker: DockerRunnerBackend | null;
  /** Releases what the backend holds open (the Kubernetes backend's watch) when the server stops. */
  close?: () => Promise<void>;
}

async function chooseRunner(config: ServerConfig, log: { warn(msg: string): void }): Promise<ChosenRunner> {
  if (config.runner === "none") return { backend: null, message: "none on this server (FERRY_RUNNER=none): managed runs wait for a server that runs them", bridgeGateway: null, docker: null };
  if (config.runner === "kubernetes") return chooseKubernetesRunner(config, log);
  const { createRunnerBackend, DockerRunnerBackend } = await import("@ferry/managed-runner");
  const settings = {
    docker: { network: config.runnerNetwork, networkName: config.runnerNetworkName, binds: config.runnerMounts, pull: "never" as const, runtime: config.runnerRuntime },
    process: { stateDir: join(config.home, "runs"), cacheDir: join(config.home, "cache") },
  };
  const chosen = await createRunnerBackend({ mode: config.runner, ...settings });
  if (chosen.backend instanceof DockerRunnerBackend) {
    const docker = chosen.backend.docker;
    const present = await docker.getImage(config.engineImage).inspect().then(() => true, () => false);
    if (!present) {
      const hint = `the engine image ${config.engineImage} is not on this host; build it with scripts/build-images.sh`;
      // A configured runtime (gVisor) asks for isolation: no fallback to the process backend then.
      if (config.runner === "docker" || config.runnerRuntime) {
        log.warn(`${hint}: managed runs will crash until it exists`);
        return { backend: chosen.backend, message: `${chosen.message}; ${hint}`, bridgeGateway: await gatewayOf(docker), docker: chosen.backend };
      }
      const fallback = await createRunnerBackend({ mode: "process", ...settings });
      return { backend: fallback.backend, message: `Docker answers but ${hint}: using the process backend, which gives runs no isolation`, bridgeGateway: null, docker: null };
    }
    return { backend: chosen.backend, message: chosen.message, bridgeGateway: await gatewayOf(docker), docker: chosen.backend };
  }
  return { backend: chosen.backend, message: chosen.message, bridgeGateway: null, docker: null };
}

/**
 * The Kubernetes backend, from its own package: loaded only when configured, so a server that never
 * runs pods needs neither it nor the Kubernetes client (an optional peer dependency).
 */
async function chooseKubernetesRunner(config: ServerConfig, log: { warn(msg: string): void }): Promise<ChosenRunner> {
  const k8s = config.kubernetes!;
  let loaded: { KubernetesRunnerBackend: typeof KubernetesRunnerBackend };
  try {
    loaded = await import("@ferry/kubernetes-runner");
  } catch (error) {
    throw new FerryError("validation_failed", `FERRY_RUNNER=kubernetes needs the package @ferry/kubernetes-runner beside the server (npm i @ferry/kubernetes-runner): ${(error as Error).message}`, { cause: error });
  }
  let backend: KubernetesRunnerBackend;
  try {
    backend = new loaded.KubernetesRunnerBackend({
      namespace: k8s.namespace,
      kubeconfigPath: k8s.kubeconfigPath,
      runtimeClassName: k8s.runtimeClassName,
      cache: { mode: k8s.cache, storageClassName: k8s.storageClassName },
      // The watch retries by itself; the log says why runs' ends may be seen late meanwhile.
      onWatchError: (error) => log.warn(`the watch of the runs' pods failed and is retried: ${(error as Error)?.message ?? String(error)}`),
    });
  } catch (error) {
    if (error instanceof FerryError) throw error;
    const where = k8s.kubeconfigPath ? `the kubeconfig ${k8s.kubeconfigPath}` : "the in-cluster service account (no FERRY_KUBERNETES_KUBECONFIG or KUBECONFIG)";
    throw new FerryError("validation_failed", `could not load ${where} for the Kubernetes backend: ${(error as Error).message}; point FERRY_KUBERNETES_KUBECONFIG at a kubeconfig file, or run the server in a pod with a service account`, { cause: error });
  }
  const context = backend.kubeConfig.getCurrentCluster()?.server ?? "the cluster";
  return {
    backend,
    message: `using Kubernetes (${context}, namespace ${k8s.namespace}${k8s.runtimeClassName ? `, runtime class ${k8s.runtimeClassName}` : ""})`,
    bridgeGateway: null,
    docker: null,
    close: () => backend.close(),
  };
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
