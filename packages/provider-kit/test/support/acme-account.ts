import { FerryError, type Provisioner } from "@ferry/core";
import { defineErrorClassifier, defineProvisioner, withRetries, type ClassifyContext } from "../../src/index.js";

/**
 * An Acme account in memory: networks, buckets, users and their keys, each with tags. Creating a name
 * twice is a conflict; a user with keys cannot be deleted. `failNext` makes the next call of an
 * operation answer 403, as a missing permission would. The provisioner below is written on the kit's
 * step engine; `bugs` break it on purpose, to show the conformance suite catches each.
 */
export interface AcmeResource {
  kind: "network" | "bucket" | "user" | "key";
  id: string;
  name: string;
  tags: Record<string, string>;
  /** A key's user. */
  user?: string;
}

export class AcmeAccount {
  readonly resources = new Map<string, AcmeResource>();
  private readonly failing = new Set<string>();
  private counter = 0;

  failNext(operation: string): void {
    this.failing.add(operation);
  }

  list(kind: AcmeResource["kind"]): AcmeResource[] {
    this.op(`List${kind}`);
    return [...this.resources.values()].filter((r) => r.kind === kind).map((r) => ({ ...r, tags: { ...r.tags } }));
  }

  create(kind: AcmeResource["kind"], name: string, tags: Record<string, string>, user?: string): AcmeResource {
    this.op(`Create${kind}`);
    if (kind !== "key" && [...this.resources.values()].some((r) => r.kind === kind && r.name === name)) {
      throw Object.assign(new Error(`${kind} ${name} exists`), { name: "Conflict", status: 409 });
    }
    const resource: AcmeResource = { kind, id: `${kind}-${++this.counter}`, name, tags: { ...tags }, ...(user ? { user } : {}) };
    this.resources.set(resource.id, resource);
    return resource;
  }

  delete(id: string): void {
    const resource = this.resources.get(id);
    this.op(`Delete${resource?.kind ?? "?"}`);
    if (!resource) throw Object.assign(new Error(`${id} does not exist`), { name: "NotFound", status: 404 });
    if (resource.kind === "user" && [...this.resources.values()].some((r) => r.kind === "key" && r.user === resource.name)) {
      throw Object.assign(new Error(`user ${resource.name} still has keys`), { name: "DependencyViolation", status: 409 });
    }
    this.resources.delete(id);
  }

  /** Every resource as text: what "the account as it was" compares. */
  snapshot(): string[] {
    return [...this.resources.values()].map((r) => `${r.kind} ${r.name} ${r.id} ${JSON.stringify(r.tags)}${r.user ? ` of ${r.user}` : ""}`).sort();
  }

  private op(operation: string): void {
    if (this.failing.delete(operation)) throw Object.assign(new Error(`not allowed to ${operation}`), { name: "Forbidden", status: 403 });
  }
}

const classify = defineErrorClassifier<ClassifyContext>({ cloud: "Acme", denied: { statuses: [403] }, notFound: { statuses: [404] } });

const TAG = "ferry-pool";
const NAMES = { network: "ferry-net", user: "ferry-user", bucket: "ferry-bucket" } as const;
const KINDS = ["network", "user", "key", "bucket"] as const;

interface State {
  network: AcmeResource | null;
  user: AcmeResource | null;
  keys: number;
  bucket: AcmeResource | null;
}

export type AcmeProvisionerBug = "second-key" | "remove-untagged" | "forget-made" | "no-key-storage";

/** The `acme:push` provisioner: a network, a user with a key (stored as the pool's credentials), a bucket. */
export function acmeProvisioner(account: AcmeAccount, bugs: AcmeProvisionerBug[] = []): Provisioner {
  const call = <T>(operation: string, fn: () => T) => withRetries(async () => fn(), { attempts: 1, classify: (e) => classify(e, { operation }) });
  const named = (options: Record<string, string>, kind: keyof typeof NAMES) => (kind === "network" ? (options.network_name ?? NAMES.network) : NAMES[kind]);
  return defineProvisioner<AcmeAccount, State>({
    type: "acme:push",
    optionsSchema: {
      type: "object",
      additionalProperties: false,
      properties: { network_name: { type: "string", description: "Name of the network", pattern: "^[a-z][a-z0-9-]{0,30}$" } },
    },
    creationOrder: KINDS,
    poolTag: (pool) => `${TAG}=${pool}`,
    open: async () => account,
    async observe(session, input) {
      const find = async (kind: keyof typeof NAMES) => (await call(`List${kind}`, () => session.list(kind))).find((r) => r.name === named(input.options, kind)) ?? null;
      const user = await find("user");
      const keys = user ? (await call("Listkey", () => session.list("key"))).filter((k) => k.user === user.name).length : 0;
      return { network: await find("network"), user, keys, bucket: await find("bucket") };
    },
    plan(state, input) {
      const step = (id: string, resource: string, name: string, exists: boolean, detail?: string) => ({ id, resource, name, action: exists ? ("exists" as const) : ("create" as const), ...(detail ? { detail } : {}) });
      return [
        step("network", "network", named(input.options, "network"), state.network !== null),
        step("user", "user", NAMES.user, state.user !== null),
        step("key", "key", NAMES.user, input.hasCredentials && !bugs.includes("second-key"), input.hasCredentials ? "the pool has credentials" : "stored as the pool's credentials"),
        step("bucket", "bucket", NAMES.bucket, state.bucket !== null),
      ];
    },
    steps: {
      async network({ session, state, input }) {
        state.network = await call("Createnetwork", () => session.create("network", named(input.options, "network"), { [TAG]: input.poolName }));
        return state.network.id;
      },
      async user({ session, state, input }) {
        state.user = await call("Createuser", () => session.create("user", NAMES.user, { [TAG]: input.poolName }));
      },
      async key({ session, state, credentialsMade }) {
        const key = await call("Createkey", () => session.create("key", `key-of-${NAMES.user}`, {}, NAMES.user));
        state.keys++;
        if (bugs.includes("no-key-storage")) return;
        await credentialsMade(
          { type: "keypair", data: { key_id: key.id, key_secret: `secret-of-${key.id}` } },
          { description: "the new key", discard: () => call("Deletekey", () => session.delete(key.id)), manualFix: `delete ${key.id} by hand` },
        );
      },
      async bucket({ session, state, input }) {
        state.bucket = await call("Createbucket", () => session.create("bucket", NAMES.bucket, { [TAG]: input.poolName }));
      },
    },
    result: (state) => {
      if (!state.network || !state.bucket) throw new FerryError("internal", "provisioning ended without a network or a bucket");
      return { jobVariableDefaults: { network: state.network.id }, profile: { default_bucket: state.bucket.name } };
    },
    async findForRemoval(session, input) {
      const owned = (r: AcmeResource) => r.tags[TAG] === input.poolName || bugs.includes("remove-untagged");
      const out = [];
      for (const kind of KINDS) {
        const all = await call(`List${kind}`, () => session.list(kind));
        for (const r of all) {
          const ours = kind === "key" ? all.length > 0 && (session.list("user").find((u) => u.name === r.user)?.tags[TAG] === input.poolName || bugs.includes("remove-untagged")) : owned(r);
          const expected = kind !== "key" && r.name === named(input.options, kind);
          if (!ours && !expected) continue;
          out.push({ createdBy: kind, id: kind, resource: kind, name: `${r.name} (${r.id})`, owned: ours, remove: () => call(`Delete${kind}`, () => session.delete(r.id)) });
        }
      }
      // A bug: removal that forgets what this run made is no removal at all.
      return bugs.includes("forget-made") ? out.filter((r) => r.createdBy !== "bucket") : out;
    },
  });
}
