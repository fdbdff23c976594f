import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Dockerode from "dockerode";
import { createLocalTls, DockerContainerRuntime, type ContainerRuntime } from "@ferry/local-containers";
import { Cluster } from "./cluster.js";
import { matchesSelector, notFound, ObjectStore, StatusError, type KubeObject, type Resource, type WatchEvent } from "./object-store.js";

export interface KubernetesLocalOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** The bearer token the kubeconfig carries; requests without it get 401. Default: a random one. */
  token?: string;
  /** What runs pods' containers. Default: the local Docker engine, on the host's network. */
  runtime?: ContainerRuntime;
  /** Docker network of the pods when `runtime` is not given: "host" (default; pods reach the host's 127.0.0.1) or "bridge". */
  network?: "host" | "bridge";
  /** The node's allocatable resources. Default 8 CPUs, 16 GiB. */
  node?: { cpus: number; memoryMib: number };
  /** Host directories every pod gets read-only, `/host:/container` (a test's git repository). */
  binds?: string[];
  /** How often a watch with allowWatchBookmarks gets a BOOKMARK. Default 5000 ms. */
  bookmarkIntervalMs?: number;
}

export interface KubernetesLocal {
  /** https://127.0.0.1:PORT */
  url: string;
  /** The CA of the server's certificate (the kubeconfig carries it). */
  caPem: string;
  token: string;
  /** A kubeconfig for the official clients (current context `kubernetes-local`). */
  kubeconfig(namespace?: string): string;
  /** Writes `kubeconfig()` to a file and returns its path. */
  writeKubeconfig(dir: string, namespace?: string): string;
  store: ObjectStore;
  cluster: Cluster;
  /** Jobs that exist now (all namespaces unless one is named). */
  jobCount(namespace?: string): number;
  /**
   * Forgets the change history and ends every open watch: a client resuming from a version it saw gets
   * 410 Gone (as after etcd's compaction) and must list again.
   */
  expireWatches(): void;
  close(): Promise<void>;
}

const ROUTES: { pattern: RegExp; resource: Resource }[] = [
  { pattern: /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs(?:\/([^/]+))?$/, resource: "jobs" },
  { pattern: /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?$/, resource: "pods" },
  { pattern: /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/, resource: "secrets" },
  { pattern: /^\/api\/v1\/namespaces\/([^/]+)\/persistentvolumeclaims(?:\/([^/]+))?$/, resource: "persistentvolumeclaims" },
];
const KINDS: Record<Resource, { kind: string; apiVersion: string }> = {
  jobs: { kind: "Job", apiVersion: "batch/v1" },
  pods: { kind: "Pod", apiVersion: "v1" },
  secrets: { kind: "Secret", apiVersion: "v1" },
  persistentvolumeclaims: { kind: "PersistentVolumeClaim", apiVersion: "v1" },
};
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new StatusError(400, "BadRequest", "the request body is not JSON");
  }
}

/** JSON Patch (RFC 6902: add, replace, remove) and JSON Merge Patch (RFC 7386) on a plain object. */
export function applyPatch(target: KubeObject, patch: unknown, contentType: string): void {
  if (contentType.startsWith("application/json-patch+json")) {
    if (!Array.isArray(patch)) throw new StatusError(400, "BadRequest", "a JSON patch is a list of operations");
    for (const op of patch as { op: string; path: string; value?: unknown }[]) {
      const parts = op.path.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
      const last = parts.pop();
      if (last === undefined) throw new StatusError(422, "Invalid", `cannot patch the path '${op.path}'`);
      let node = target as Record<string, unknown>;
      for (const part of parts) {
        if (typeof node[part] !== "object" || node[part] === null) {
          if (op.op === "add") node[part] = {};
          else throw new StatusError(422, "Invalid", `the path '${op.path}' does not exist`);
        }
        node = node[part] as Record<string, unknown>;
      }
      if (op.op === "remove") delete node[last];
      else if (op.op === "add" || op.op === "replace") node[last] = op.value;
      else throw new StatusError(422, "Invalid", `the patch operation '${op.op}' is not supported here`);
    }
    return;
  }
  const merge = (into: Record<string, unknown>, from: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(from)) {
      if (value === null) delete into[key];
      else if (typeof value === "object" && !Array.isArray(value) && typeof into[key] === "object" && into[key] !== null) merge(into[key] as Record<string, unknown>, value as Record<string, unknown>);
      else into[key] = value;
    }
  };
  if (!patch || typeof patch !== "object") throw new StatusError(400, "BadRequest", "a merge patch is an object");
  merge(target as unknown as Record<string, unknown>, patch as Record<string, unknown>);
}

/**
 * Starts a local Kubernetes API server for the calls Ferry's runner makes: Jobs (create, get, list,
 * patch, delete with propagation), Pods (get, list, delete, log), Secrets and PersistentVolumeClaims
 * (create, get, list, delete), and watches of each with resourceVersion, bookmarks and 410 Gone. Errors
 * are `Status` objects with the API server's codes and reasons. HTTPS on 127.0.0.1 with a CA made at start (in the kubeconfig), a bearer token.
 */
export async function startKubernetesLocal(options: KubernetesLocalOptions = {}): Promise<KubernetesLocal> {
  const token = options.token ?? randomBytes(16).toString("hex");
  const serverId = randomBytes(4).toString("hex");
  const dataDir = mkdtempSync(join(tmpdir(), "kubernetes-local-"));
  const runtime = options.runtime ?? new DockerContainerRuntime(new Dockerode(), { network: options.network ?? "host", serverId, labelPrefix: "kubernetes-local" });
  const store = new ObjectStore();
  const cluster = new Cluster(store, runtime, { dataDir, node: options.node ?? { cpus: 8, memoryMib: 16 * 1024 }, binds: options.binds ?? [] });
  const streams = new Set<ServerResponse>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.headers.authorization !== `Bearer ${token}`) throw new StatusError(401, "Unauthorized", "Unauthorized");
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/version") return send(res, 200, { major: "1", minor: "31", gitVersion: "v1.31.0-kubernetes-local" });
    const log = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname);
    if (log && req.method === "GET") {
      const tail = url.searchParams.get("tailLines");
      const text = cluster.podLog(log[1]!, log[2]!, { ...(tail !== null ? { tailLines: Number(tail) } : {}), timestamps: url.searchParams.get("timestamps") === "true" });
      res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const route = ROUTES.map((r) => ({ r, m: r.pattern.exec(url.pathname) })).find((x) => x.m);
    if (!route) throw new StatusError(404, "NotFound", "the server could not find the requested resource");
    const resource = route.r.resource;
    const namespace = decodeURIComponent(route.m![1]!);
    const name = route.m![2] === undefined ? null : decodeURIComponent(route.m![2]);
    const selector = url.searchParams.get("labelSelector");
    const { kind, apiVersion } = KINDS[resource];

    if (req.method === "GET" && name === null && (url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1")) {
      return watch(res, resource, namespace, selector, url.searchParams);
    }
    if (req.method === "GET" && name === null) {
      return send(res, 200, { kind: `${kind}List`, apiVersion, metadata: { resourceVersion: store.resourceVersion }, items: store.list(resource, namespace, selector) });
    }
    if (req.method === "GET") {
      const found = store.get(resource, namespace, name!);
      if (!found) throw notFound(resource, name!);
      return send(res, 200, found);
    }
    if (req.method === "POST" && name === null) {
      if (resource === "pods") throw new StatusError(405, "MethodNotAllowed", "kubernetes-local makes pods from Jobs only");
      const body = (await readBody(req)) as KubeObject | undefined;
      if (!body?.metadata) throw new StatusError(400, "BadRequest", "the object has no metadata");
      if (body.metadata.namespace && body.metadata.namespace !== namespace) {
        throw new StatusError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
      }
      const objectName = body.metadata.name ?? "";
      if (!objectName || objectName.length > (resource === "jobs" ? 63 : 253) || !DNS_SUBDOMAIN.test(objectName)) {
        throw new StatusError(422, "Invalid", `${kind} "${objectName}" is invalid: metadata.name: Invalid value: "${objectName}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`, { name: objectName, kind: resource });
      }
      const input: KubeObject = { ...body, apiVersion, kind, metadata: { ...body.metadata, namespace } };
      if (resource === "secrets") {
        const data: Record<string, string> = { ...((input.data as Record<string, string>) ?? {}) };
        for (const [k, v] of Object.entries((input.stringData as Record<string, string>) ?? {})) data[k] = Buffer.from(v, "utf8").toString("base64");
        input.data = data;
        delete input.stringData;
      }
      if (resource === "jobs") input.status = {};
      if (resource === "persistentvolumeclaims") input.status = { phase: "Bound", accessModes: input.spec?.accessModes, capacity: input.spec?.resources?.requests };
      const created = store.create(resource, input);
      if (resource === "persistentvolumeclaims") cluster.bindClaim(namespace, created.metadata.name);
      if (resource === "secrets") cluster.secretCreated(namespace);
      if (resource === "jobs") cluster.syncJob(namespace, created.metadata.name);
      return send(res, 201, store.get(resource, namespace, created.metadata.name) ?? created);
    }
    if (req.method === "PATCH" && name !== null) {
      const patch = await readBody(req);
      if (!store.get(resource, namespace, name)) throw notFound(resource, name);
      const updated = store.update(resource, namespace, name, (o) => applyPatch(o, patch, req.headers["content-type"] ?? "application/json-patch+json"))!;
      if (resource === "jobs") cluster.syncJob(namespace, name);
      return send(res, 200, store.get(resource, namespace, name) ?? updated);
    }
    if (req.method === "DELETE" && name !== null) {
      const body = ((await readBody(req)) ?? {}) as { propagationPolicy?: string; gracePeriodSeconds?: number };
      const policy = url.searchParams.get("propagationPolicy") ?? body.propagationPolicy;
      const graceText = url.searchParams.get("gracePeriodSeconds");
      const grace = graceText !== null ? Number(graceText) : body.gracePeriodSeconds;
      if (resource === "jobs") {
        // batch/v1 Jobs orphan their pods unless told otherwise, for compatibility (kubectl asks Background).
        const chosen = (policy ?? "Orphan") as "Orphan" | "Background" | "Foreground";
        if (!["Orphan", "Background", "Foreground"].includes(chosen)) throw new StatusError(400, "BadRequest", `propagationPolicy ${chosen} is not Orphan, Background or Foreground`);
        const result = await cluster.deleteJob(namespace, name, chosen);
        if (chosen === "Foreground") return send(res, 200, result);
        return send(res, 200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, group: "batch", kind: "jobs", uid: result.metadata.uid } });
      }
      if (resource === "pods") {
        const pod = store.get("pods", namespace, name);
        if (!pod) throw notFound("pods", name);
        void cluster.deletePod(namespace, name, grace).catch(() => undefined);
        return send(res, 200, store.get("pods", namespace, name) ?? pod);
      }
      const removed = store.remove(resource, namespace, name);
      if (!removed) throw notFound(resource, name);
      return send(res, 200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, kind: resource, uid: removed.metadata.uid } });
    }
    throw new StatusError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
  };

  const watch = (res: ServerResponse, resource: Resource, namespace: string, selector: string | null, query: URLSearchParams): void => {
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    const write = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
    const matches = (e: WatchEvent) => e.resource === resource && e.object.metadata.namespace === namespace && matchesSelector(e.object.metadata.labels, selector);
    const from = query.get("resourceVersion");
    if (from && from !== "0") {
      const version = Number(from);
      if (!Number.isFinite(version) || !store.canResume(version)) {
        write("ERROR", { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `too old resource version: ${from} (${store.resourceVersion})`, reason: "Expired", code: 410 });
        res.end();
        return;
      }
      for (const e of store.eventsAfter(version)) if (matches(e)) write(e.type, e.object);
    } else {
      for (const o of store.list(resource, namespace, selector)) write("ADDED", o);
    }
    streams.add(res);
    const unsubscribe = store.subscribe((e) => {
      if (matches(e)) write(e.type, e.object);
    });
    const { kind, apiVersion } = KINDS[resource];
    const bookmarks = query.get("allowWatchBookmarks") === "true"
      ? setInterval(() => write("BOOKMARK", { kind, apiVersion, metadata: { resourceVersion: store.resourceVersion } }), options.bookmarkIntervalMs ?? 5000)
      : undefined;
    const timeout = query.get("timeoutSeconds");
    const ender = timeout ? setTimeout(() => res.end(), Number(timeout) * 1000) : undefined;
    const cleanup = () => {
      unsubscribe();
      clearInterval(bookmarks);
      clearTimeout(ender);
      streams.delete(res);
    };
    res.on("close", cleanup);
  };

  const tls = await createLocalTls("kubernetes-local");
  const server: Server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof StatusError ? error : new StatusError(500, "InternalError", (error as Error).message);
      if (!res.headersSent) send(res, status.code, status.toStatus());
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const kubeconfig = (namespace = "default") =>
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "kubernetes-local", cluster: { server: url, "certificate-authority-data": Buffer.from(tls.caPem).toString("base64") } }],
      users: [{ name: "kubernetes-local", user: { token } }],
      contexts: [{ name: "kubernetes-local", context: { cluster: "kubernetes-local", user: "kubernetes-local", namespace } }],
      "current-context": "kubernetes-local",
    });

  return {
    url,
    caPem: tls.caPem,
    token,
    kubeconfig,
    writeKubeconfig: (dir, namespace) => {
      const path = join(dir, `kubeconfig-${serverId}.json`);
      writeFileSync(path, kubeconfig(namespace), { mode: 0o600 });
      return path;
    },
    store,
    cluster,
    jobCount: (namespace) => store.list("jobs", namespace ?? null).length,
    expireWatches: () => {
      store.compact();
      for (const res of streams) res.end();
    },
    close: async () => {
      for (const res of streams) res.end();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await cluster.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
