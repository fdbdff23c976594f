import { randomUUID } from "node:crypto";

/** A Kubernetes object as the API serves it (only what this server reads is typed). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    generateName?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    finalizers?: string[];
    [key: string]: unknown;
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  status?: any;
  [key: string]: unknown;
}

export type Resource = "jobs" | "pods" | "secrets" | "persistentvolumeclaims";
export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface WatchEvent {
  resourceVersion: number;
  resource: Resource;
  type: EventType;
  object: KubeObject;
}

/** An API error as the API server answers it: a `Status` object with its HTTP code and reason. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: this.message, reason: this.reason, details: this.details, code: this.code };
  }
}

const KIND_GROUP: Record<Resource, { kind: string; group: string; plural: string }> = {
  jobs: { kind: "Job", group: "batch", plural: "jobs.batch" },
  pods: { kind: "Pod", group: "", plural: "pods" },
  secrets: { kind: "Secret", group: "", plural: "secrets" },
  persistentvolumeclaims: { kind: "PersistentVolumeClaim", group: "", plural: "persistentvolumeclaims" },
};

export function notFound(resource: Resource, name: string): StatusError {
  const { group, plural } = KIND_GROUP[resource];
  return new StatusError(404, "NotFound", `${plural} "${name}" not found`, { name, group, kind: resource });
}

/** `a=b,c=d`, `a`, `a!=b`: the equality-based selectors Ferry uses. */
export function matchesSelector(labels: Record<string, string> | undefined, selector: string | null): boolean {
  if (!selector) return true;
  for (const term of selector.split(",").map((t) => t.trim()).filter(Boolean)) {
    const not = /^([^!=]+)!=(.*)$/.exec(term);
    if (not) {
      if (labels?.[not[1]!] === not[2]) return false;
      continue;
    }
    const eq = /^([^=]+)==?(.*)$/.exec(term);
    if (eq) {
      if (labels?.[eq[1]!] !== eq[2]) return false;
      continue;
    }
    if (labels?.[term] === undefined) return false;
  }
  return true;
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * The objects, one resourceVersion sequence for all of them (as etcd's revision), and the recent
 * changes watches resume from. `compact()` forgets every change so far: a watch resuming from an
 * older version then gets 410 Gone, as from an API server whose etcd compacted its history.
 */
export class ObjectStore {
  private revision = 1000;
  private readonly objects = new Map<Resource, Map<string, KubeObject>>();
  private readonly history: WatchEvent[] = [];
  private compactedThrough = 0;
  private readonly listeners = new Set<(event: WatchEvent) => void>();

  get resourceVersion(): string {
    return String(this.revision);
  }

  /** Whether a watch may resume after `version`. */
  canResume(version: number): boolean {
    return version >= this.compactedThrough;
  }

  compact(): void {
    // As if changes this server does not serve had moved the revision on: every version a client holds is now too old.
    this.revision++;
    this.compactedThrough = this.revision;
    this.history.length = 0;
  }

  eventsAfter(version: number): WatchEvent[] {
    return this.history.filter((e) => e.resourceVersion > version);
  }

  subscribe(listener: (event: WatchEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private table(resource: Resource): Map<string, KubeObject> {
    let table = this.objects.get(resource);
    if (!table) this.objects.set(resource, (table = new Map()));
    return table;
  }

  private emit(resource: Resource, type: EventType, object: KubeObject): void {
    const event = { resourceVersion: this.revision, resource, type, object: clone(object) };
    this.history.push(event);
    if (this.history.length > 10_000) this.history.splice(0, 1000);
    for (const listener of [...this.listeners]) listener(event);
  }

  create(resource: Resource, input: KubeObject): KubeObject {
    const table = this.table(resource);
    const namespace = input.metadata.namespace;
    let name = input.metadata.name;
    if (!name && input.metadata.generateName) name = `${input.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
    const key = `${namespace}/${name}`;
    if (table.has(key)) {
      const { plural, group } = KIND_GROUP[resource];
      throw new StatusError(409, "AlreadyExists", `${plural} "${name}" already exists`, { name, group, kind: resource });
    }
    this.revision++;
    const object = clone(input);
    object.metadata = { ...object.metadata, name, namespace, uid: randomUUID(), resourceVersion: String(this.revision), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z") };
    table.set(key, object);
    this.emit(resource, "ADDED", object);
    return clone(object);
  }

  get(resource: Resource, namespace: string, name: string): KubeObject | undefined {
    const found = this.table(resource).get(`${namespace}/${name}`);
    return found ? clone(found) : undefined;
  }

  list(resource: Resource, namespace: string | null, selector: string | null = null): KubeObject[] {
    return [...this.table(resource).values()]
      .filter((o) => (namespace === null || o.metadata.namespace === namespace) && matchesSelector(o.metadata.labels, selector))
      .map(clone);
  }

  /** Replaces an object with `change(current)`; undefined when it is gone. */
  update(resource: Resource, namespace: string, name: string, change: (current: KubeObject) => void): KubeObject | undefined {
    const table = this.table(resource);
    const current = table.get(`${namespace}/${name}`);
    if (!current) return undefined;
    const next = clone(current);
    change(next);
    this.revision++;
    next.metadata.resourceVersion = String(this.revision);
    table.set(`${namespace}/${name}`, next);
    this.emit(resource, "MODIFIED", next);
    return clone(next);
  }

  remove(resource: Resource, namespace: string, name: string): KubeObject | undefined {
    const table = this.table(resource);
    const current = table.get(`${namespace}/${name}`);
    if (!current) return undefined;
    table.delete(`${namespace}/${name}`);
    this.revision++;
    current.metadata.resourceVersion = String(this.revision);
    this.emit(resource, "DELETED", current);
    return clone(current);
  }
}
