import { createHash } from "node:crypto";
import type { ContainerGroup, EnvironmentVariable, ImageRegistryCredential } from "@azure/arm-containerinstance";
import { ENGINE_ENV, FerryError } from "@ferry/core";
import type { AciJobConfiguration } from "./aci-template.js";

/** The one container of a run's group. */
export const CONTAINER_NAME = "ferry";
/** Tags every group carries, so a group in the portal says which run it is. */
export const RUN_TAG = "ferry-flow-run-id";
export const DEPLOYMENT_TAG = "ferry-deployment-id";

const NAME_PREFIX = "ferry-";
const MAX_NAME = 63;

/**
 * The container group's name, from the run id alone: a retried PUT (another attempt, another server)
 * names the same group, so ARM updates or finds it and never makes a second. ACI allows 1–63
 * characters, lower case letters, digits and hyphens, not starting or ending with one.
 */
export function containerGroupNameFor(flowRunId: string): string {
  const slug = flowRunId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "");
  if (slug && NAME_PREFIX.length + slug.length <= MAX_NAME && slug === flowRunId) return `${NAME_PREFIX}${slug}`;
  // An id ACI cannot carry as it is (upper case, other characters, too long): a hash keeps two ids apart.
  const hash = createHash("sha256").update(flowRunId).digest("hex").slice(0, 16);
  const room = MAX_NAME - NAME_PREFIX.length - hash.length - 1;
  const kept = slug.slice(0, room).replace(/-+$/, "");
  return `${NAME_PREFIX}${kept ? `${kept}-` : ""}${hash}`;
}

export interface GroupId {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

const GROUP_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerInstance\/containerGroups\/([^/]+)$/i;

/** The group's ARM resource id: the run's infrastructure id, which is what the portal and `az` show. */
export function infrastructureIdFor(id: GroupId): string {
  return `/subscriptions/${id.subscriptionId}/resourceGroups/${id.resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups/${id.name}`;
}

export function parseInfrastructureId(infrastructureId: string): GroupId | null {
  const m = GROUP_ID.exec(infrastructureId);
  return m ? { subscriptionId: m[1]!, resourceGroup: m[2]!, name: m[3]! } : null;
}

/** What a run adds to its group beyond the job configuration. */
export interface RunContext {
  flowRunId: string;
  deploymentId: string;
  /** The variables the engine needs to report back (API URL, run id, bootstrap token). */
  runtimeEnv: Record<string, string>;
}

/** Runtime variables that say nothing secret; every other one Ferry adds is a secureValue. */
const PLAIN_RUNTIME_ENV: ReadonlySet<string> = new Set([ENGINE_ENV.apiUrl, ENGINE_ENV.flowRunId]);

/**
 * The container group of one run: Linux, restart policy Never (a flow run runs to completion once), one
 * container. The run's token and any other secret Ferry adds travel as `secureValue`s, which ARM never
 * returns on a GET; the `env` job variable is plain (readable by whoever may read the group).
 */
export function buildContainerGroup(config: AciJobConfiguration, run: RunContext): ContainerGroup {
  if ((config.gpu_count === null) !== (config.gpu_sku === null)) {
    throw new FerryError("validation_failed", "gpu_count and gpu_sku go together: set both (e.g. gpu_count 1, gpu_sku V100) or neither");
  }
  if (config.dns_servers.length > 0 && config.subnet_ids.length === 0) {
    throw new FerryError("validation_failed", "dns_servers apply to a container group in a virtual network: set subnet_ids too, or clear dns_servers");
  }
  const environmentVariables: EnvironmentVariable[] = [
    ...Object.entries(config.env).map(([name, value]) => ({ name, value })),
    ...(config.pip_packages.length ? [{ name: "FERRY_PIP_PACKAGES", value: JSON.stringify(config.pip_packages) }] : []),
    ...(config.npm_packages.length ? [{ name: "FERRY_NPM_PACKAGES", value: JSON.stringify(config.npm_packages) }] : []),
    ...Object.entries(run.runtimeEnv).map(([name, value]) => (PLAIN_RUNTIME_ENV.has(name) ? { name, value } : { name, secureValue: value })),
  ];
  // Ferry's own variables win over a same-named one in `env`.
  const byName = new Map(environmentVariables.map((v) => [v.name, v]));
  return {
    location: config.location,
    tags: { [RUN_TAG]: run.flowRunId, [DEPLOYMENT_TAG]: run.deploymentId },
    osType: "Linux",
    restartPolicy: "Never",
    containers: [
      {
        name: CONTAINER_NAME,
        image: config.image,
        ...(config.command ? { command: config.command } : {}),
        environmentVariables: [...byName.values()],
        resources: {
          requests: {
            cpu: config.cpu,
            memoryInGB: config.memory,
            ...(config.gpu_count !== null && config.gpu_sku !== null ? { gpu: { count: config.gpu_count, sku: config.gpu_sku } } : {}),
          },
        },
      },
    ],
    ...(config.identities.length ? { identity: { type: "UserAssigned", userAssignedIdentities: Object.fromEntries(config.identities.map((id) => [id, {}])) } } : {}),
    ...(config.image_registry ? { imageRegistryCredentials: [registryCredential(config)] } : {}),
    ...(config.subnet_ids.length ? { subnetIds: config.subnet_ids.map((id) => ({ id })) } : {}),
    ...(config.dns_servers.length ? { dnsConfig: { nameServers: config.dns_servers } } : {}),
  };
}

function registryCredential(config: AciJobConfiguration): ImageRegistryCredential {
  const registry = config.image_registry!;
  if (registry.identity) {
    if (!config.identities.some((id) => id.toLowerCase() === registry.identity!.toLowerCase())) {
      throw new FerryError("validation_failed", `image_registry's identity '${registry.identity}' is not one of the identities job variable: add it there, so the group runs with it`);
    }
    return { server: registry.login_server, identity: registry.identity };
  }
  if (registry.username && registry.password) return { server: registry.login_server, username: registry.username, password: registry.password };
  throw new FerryError("validation_failed", `image_registry for '${registry.login_server}' needs an identity, or a username and a password`);
}
