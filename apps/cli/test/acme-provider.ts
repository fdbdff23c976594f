import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * A provider package as a user installs it beside the CLI and the server: `@acme/ferry-provider` in
 * `<dir>/node_modules`, plain JavaScript with no dependencies. Its main export is a server plugin (the
 * `acme:push` pool type, whose runs never leave "pending", and a `keypair` credentials type); its
 * `./client` export is a client plugin whose "cloud" is a JSON file (the `state` option): a provisioner
 * that makes a cluster and a key pair, and a registry login for the `registry` option's host. Every import of the
 * client plugin and every login is appended to the file in ACME_JOURNAL, so a test can see when the
 * CLI loaded it.
 */
export const ACME_PROVIDER = "@acme/ferry-provider";

const SERVER_PLUGIN = `
const template = {
  variables: {
    type: "object",
    properties: {
      image: { type: "string", default: "ferry-engine:latest", description: "Image the run starts in" },
      cluster: { type: ["string", "null"], default: null, description: "Cluster the run goes to" },
    },
  },
  job_configuration: { image: "{{ image }}", cluster: "{{ cluster }}" },
};
const provider = {
  type: "acme:push",
  description: "Acme's container service (a test double)",
  credentialsType: "keypair",
  defaultBaseJobTemplate: template,
  async submit(request) { return { infrastructureId: "acme-" + request.idempotencyKey }; },
  async status() { return { phase: "pending" }; },
  async cancel() {},
};
const keypair = {
  type: "keypair",
  description: "An Acme key pair",
  schema: {
    type: "object",
    additionalProperties: false,
    required: ["key_id", "private_key"],
    properties: {
      key_id: { type: "string", minLength: 1, description: "Key id" },
      private_key: { type: "string", minLength: 1, description: "Private key", "x-ferry-secret": true },
    },
  },
};
export default { name: "@acme/ferry-provider", create: () => ({ providers: [provider], credentialTypes: [keypair] }) };
`;

const CLIENT_PLUGIN = `
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";

const journal = (line) => { if (process.env.ACME_JOURNAL) appendFileSync(process.env.ACME_JOURNAL, line + "\\n"); };
journal("imported");

function provisioner(state) {
  const read = () => (existsSync(state) ? JSON.parse(readFileSync(state, "utf8")) : { resources: [] });
  const write = (cloud) => writeFileSync(state, JSON.stringify(cloud));
  const wanted = (input) => [
    { id: "cluster", resource: "cluster", name: input.options.cluster_name ?? "ferry-cluster" },
    ...(input.hasCredentials ? [] : [{ id: "key", resource: "key pair", name: input.poolName + "-key" }]),
  ];
  const plan = async (input) => {
    const cloud = read();
    return wanted(input).map((s) => ({ ...s, action: cloud.resources.some((r) => r.name === s.name) ? "exists" : "create" }));
  };
  const removal = (input) => read().resources.map((r) => ({ id: r.name, resource: r.resource, name: r.name, action: r.pool === input.poolName ? "delete" : "keep" }));
  return {
    type: "acme:push",
    optionsSchema: {
      type: "object",
      additionalProperties: false,
      properties: {
        cluster_name: { type: "string", description: "cluster the pool's runs go to", default: "ferry-cluster", pattern: "^[a-z0-9-]{1,32}$" },
      },
    },
    plan,
    async apply(input, onProgress) {
      journal("apply hasCredentials=" + input.hasCredentials);
      for (const step of await plan(input)) {
        if (step.action === "exists") { onProgress({ step, status: "skipped" }); continue; }
        onProgress({ step, status: "started" });
        const cloud = read();
        cloud.resources.push({ resource: step.resource, name: step.name, pool: input.poolName });
        write(cloud);
        if (step.id === "key") await input.saveCredentials?.({ type: "keypair", data: { key_id: step.name, private_key: "acme-private-" + step.name } });
        onProgress({ step, status: "done" });
      }
      return { jobVariableDefaults: { cluster: input.options.cluster_name ?? "ferry-cluster" }, profile: { default_image_namespace: "localhost:5000/acme" } };
    },
    async planRemoval(input) { return removal(input); },
    async remove(input, onProgress) {
      const steps = removal(input);
      for (const step of steps) onProgress({ step, status: step.action === "delete" ? "done" : "skipped" });
      write({ resources: read().resources.filter((r) => r.pool !== input.poolName) });
      return steps.filter((s) => s.action === "delete");
    },
  };
}

export default {
  name: "@acme/ferry-provider",
  create(options) {
    const login = {
      description: "Acme registry",
      matches: (registry) => registry === options.registry,
      async login(registry) { journal("login " + registry); return { username: "acme", password: "acme-registry-token" }; },
    };
    return { provisioners: [provisioner(options.state)], registryLogins: [login] };
  },
};
`;

export async function installAcmeProvider(dir: string): Promise<void> {
  const at = join(dir, "node_modules", ...ACME_PROVIDER.split("/"));
  await mkdir(at, { recursive: true });
  const pkg = { name: ACME_PROVIDER, version: "1.0.0", type: "module", exports: { ".": "./index.js", "./client": "./client.js", "./package.json": "./package.json" } };
  await writeFile(join(at, "package.json"), JSON.stringify(pkg, null, 2));
  await writeFile(join(at, "index.js"), SERVER_PLUGIN);
  await writeFile(join(at, "client.js"), CLIENT_PLUGIN);
}
