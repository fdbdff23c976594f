import { FerryError, type Provisioner } from "@ferry/core";
import { defineProvisioner, withRetries, type FoundResource, type StepContext } from "@ferry/provider-kit";
import type { protos as iamProtos } from "@google-cloud/resource-manager";
import { GoogleAuth, JWT } from "google-auth-library";
import { keyAuthClient, type RequestAuth } from "../auth.js";
import { credentialsFromKey, GCP_CREDENTIAL_TYPE, serviceAccountKeyFrom } from "../credentials.js";
import { classifyGcpError, type GcpErrorContext } from "../errors.js";
import type { GcpPluginOptions } from "../options.js";
import { CLOUD_RUN_PROVISION_OPTIONS, credentialsName, DEFAULT_PROVISION_REGION, imageNamespace, PROJECT_ROLES, repositoryName, REQUIRED_SERVICES, resolveNames, serviceAccountEmail } from "./names.js";
import {
  descriptionWithHolder,
  descriptionWithoutHolder,
  hasPoolLabel,
  labelsWithHolder,
  labelsWithoutHolder,
  markedServices,
  poolLabels,
  poolTagText,
  repositoryHolders,
  serviceAccountDescription,
  serviceAccountHolders,
} from "./ownership.js";
import { labelValue } from "../job-builder.js";
import { jobVariableDefaults, missingRoles, missingServices, planSteps, STEP_IDS, type ObservedState, type StepId } from "./plan.js";
import type { ProvisioningApi, ProvisioningApiFactory } from "./provisioning-api.js";
import { sdkProvisioningApi } from "./sdk-provisioning-api.js";

type IPolicy = iamProtos.google.iam.v1.IPolicy;

export interface CloudRunProvisionerOptions extends GcpPluginOptions {
  /** The user's identity as a service-account key file; unset: application default credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's login). */
  credentials?: Record<string, unknown>;
  /** How Google is reached; tests pass a fake. */
  api?: ProvisioningApiFactory;
  /** Attempts per call (the kit's retries); default 3. */
  attempts?: number;
  retryBaseDelayMs?: number;
}

interface Session {
  api: ProvisioningApi;
  project: string;
  region: string;
  call: <T>(operation: string, target: string, fn: () => Promise<T>) => Promise<T>;
}

type State = ObservedState;

/** The user's own identity: a key given (tests), or application default credentials. */
async function userAuth(credentials: Record<string, unknown> | undefined): Promise<RequestAuth> {
  if (credentials) return keyAuthClient(serviceAccountKeyFrom(credentials as Record<string, string>));
  const client = await new GoogleAuth().getClient();
  // A service-account key signs its own JWT per API (no token endpoint); other identities go through GoogleAuth.
  return client instanceof JWT ? client : new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] });
}

/**
 * Provisions what `cloud-run:push` pools run on, with the user's own Google identity: the APIs, a
 * service account holding run.developer and serviceAccountUser on the project, its key (only for a pool
 * without credentials), and an Artifact Registry docker repository. On the kit's step engine: every step
 * is observed first and skipped when it is there, so a second run resumes a failed one and changes
 * nothing after a successful one; removal deletes what carries the pool's mark, in the reverse order.
 */
export function createCloudRunProvisioner(options: CloudRunProvisionerOptions = {}): Provisioner {
  const makeApi: ProvisioningApiFactory = options.api ?? ((auth) => sdkProvisioningApi(options, auth));
  return defineProvisioner<Session, State>({
    type: "cloud-run:push",
    optionsSchema: CLOUD_RUN_PROVISION_OPTIONS,
    creationOrder: STEP_IDS,
    poolTag: poolTagText,
    open: async (checked, signal) => {
      const api = makeApi(await userAuth(options.credentials));
      const call = <T>(operation: string, target: string, fn: () => Promise<T>) => {
        const context: GcpErrorContext = { identity: "user", operation, target };
        return withRetries(fn, {
          signal,
          attempts: options.attempts ?? 3,
          ...(options.retryBaseDelayMs === undefined ? {} : { baseDelayMs: options.retryBaseDelayMs }),
          classify: (e) => classifyGcpError(e, context),
        });
      };
      try {
        const project = checked.project || (await api.defaultProject());
        if (!project) {
          throw new FerryError("validation_failed", "no Google Cloud project to provision in: pass --project, or set GOOGLE_CLOUD_PROJECT (or use credentials that name one)", { retryable: false });
        }
        return { api, project, region: checked.region || DEFAULT_PROVISION_REGION, call };
      } catch (error) {
        await api.close();
        throw error;
      }
    },
    close: (session) => session.api.close(),
    observe: (session, input) => observe(session, resolveNames(input.options)),
    plan: (state, input) => planSteps(state, { poolName: input.poolName, hasCredentials: input.hasCredentials }),
    steps: Object.fromEntries(STEP_IDS.map((id) => [id, (ctx: StepContext<Session, State>) => STEPS[id](ctx)])),
    result: (state) => ({
      jobVariableDefaults: jobVariableDefaults(state),
      profile: { default_image_namespace: imageNamespace(state.project, state.region, state.names.repository) },
    }),
    findForRemoval: (session, input) => findForRemoval(session, resolveNames(input.options), input.poolName),
    // Where provisioning made the pool's things (jobVariableDefaults): removal looks there.
    optionsFromPool: (defaults) => ({
      ...(typeof defaults.project === "string" ? { project: defaults.project } : {}),
      ...(typeof defaults.region === "string" ? { region: defaults.region } : {}),
    }),
  });
}

const member = (email: string) => `serviceAccount:${email}`;

function rolesOf(policy: IPolicy, email: string): string[] {
  return (policy.bindings ?? []).filter((b) => b.members?.includes(member(email)) && !b.condition).map((b) => b.role ?? "");
}

async function observe(s: Session, names: ReturnType<typeof resolveNames>): Promise<State> {
  const email = serviceAccountEmail(names.serviceAccount, s.project);
  const enabledServices = await s.call("GetService", "the APIs", () => s.api.enabledServices(s.project, REQUIRED_SERVICES));
  // An API that is off has nothing of provisioning's in it yet (and answers every read with PERMISSION_DENIED).
  const on = (service: string) => enabledServices.includes(service);
  const [serviceAccount, policy, repository] = await Promise.all([
    on("iam.googleapis.com") ? s.call("GetServiceAccount", email, () => s.api.getServiceAccount(s.project, email)) : null,
    s.call("GetIamPolicy", `project ${s.project}`, () => s.api.getIamPolicy(s.project)),
    on("artifactregistry.googleapis.com") ? s.call("GetRepository", names.repository, () => s.api.getRepository(repositoryName(s.project, s.region, names.repository))) : null,
  ]);
  return { project: s.project, region: s.region, names, enabledServices, serviceAccount, rolesHeld: rolesOf(policy, email), repository };
}

/** Adds or removes the account's project roles: read, change, write with the read's etag; a concurrent change (ABORTED) reads again. */
async function changeRoles(s: Session, email: string, change: (policy: IPolicy) => IPolicy): Promise<void> {
  await s.call("SetIamPolicy", `project ${s.project}`, async () => {
    const policy = await s.api.getIamPolicy(s.project);
    await s.api.setIamPolicy(s.project, change(policy));
  });
}

function grant(policy: IPolicy, email: string, roles: readonly string[]): IPolicy {
  const bindings = (policy.bindings ?? []).map((b) => ({ ...b, members: [...(b.members ?? [])] }));
  for (const role of roles) {
    const binding = bindings.find((b) => b.role === role && !b.condition);
    if (!binding) bindings.push({ role, members: [member(email)] });
    else if (!binding.members.includes(member(email))) binding.members.push(member(email));
  }
  return { ...policy, bindings };
}

function revoke(policy: IPolicy, email: string, roles: readonly string[]): IPolicy {
  const bindings = (policy.bindings ?? [])
    .map((b) => (roles.includes(b.role ?? "") && !b.condition ? { ...b, members: (b.members ?? []).filter((m) => m !== member(email)) } : b))
    .filter((b) => (b.members ?? []).length > 0);
  return { ...policy, bindings };
}

const STEPS: Record<StepId, (ctx: StepContext<Session, State>) => Promise<string | undefined>> = {
  async "service-account"({ session: s, state, input }) {
    const names = state.names;
    const found = state.serviceAccount;
    if (found) {
      // Made by Ferry for other pools: this pool uses it too, so their removal leaves it while this pool is there.
      const description = descriptionWithHolder(found.description, input.poolName);
      await s.call("PatchServiceAccount", found.email, () => s.api.setServiceAccountDescription(s.project, found.email, description));
      found.description = description;
      return `marked as used by pool '${input.poolName}' too`;
    }
    // The mark says which pool made it and which APIs its provisioning enabled (see ownership.ts).
    const description = serviceAccountDescription(input.poolName, state.enabledHere ?? []);
    const made = await s.call("CreateServiceAccount", names.serviceAccount, () => s.api.createServiceAccount(s.project, names.serviceAccount, "Ferry cloud-run:push", description));
    state.serviceAccount = { email: made.email || serviceAccountEmail(names.serviceAccount, s.project), description: made.description || description };
    return state.serviceAccount.email;
  },

  async services({ session: s, state }) {
    const missing = missingServices(state);
    await s.call("BatchEnableServices", missing.join(", "), () => s.api.enableServices(s.project, missing));
    state.enabledServices = [...state.enabledServices, ...missing];
    state.enabledHere = missing;
    return `enabled ${missing.join(", ")}`;
  },

  async "iam-roles"({ session: s, state }) {
    const email = requireAccount(state).email;
    const missing = missingRoles(state);
    await changeRoles(s, email, (policy) => grant(policy, email, missing));
    state.rolesHeld = [...state.rolesHeld, ...missing];
    return `granted ${missing.join(", ")} to ${email}`;
  },

  async key({ session: s, state, input, credentialsMade }) {
    const email = requireAccount(state).email;
    const made = await s.call("CreateServiceAccountKey", email, () => s.api.createServiceAccountKey(s.project, email));
    const keyId = made.name.slice(made.name.lastIndexOf("/") + 1);
    await credentialsMade(
      { type: GCP_CREDENTIAL_TYPE.type, data: credentialsFromKey(made.keyFile) },
      {
        description: "the new service account key",
        discard: async () => {
          await s.call("DeleteServiceAccountKey", made.name, () => s.api.deleteServiceAccountKey(made.name));
        },
        manualFix: `delete key ${keyId} of ${email} by hand (console: IAM & Admin > Service Accounts > Keys)`,
      },
    );
    return `${keyId}, stored as credentials '${credentialsName(input.poolName)}'`;
  },

  async repository({ session: s, state, input }) {
    const names = state.names;
    const found = state.repository;
    if (found) {
      const labels = labelsWithHolder(found.labels, input.poolName);
      await s.call("UpdateRepository", found.name, () => s.api.setRepositoryLabels(found.name, labels));
      found.labels = labels;
      return `marked as used by pool '${input.poolName}' too`;
    }
    const parent = `projects/${s.project}/locations/${s.region}`;
    const made = await s.call("CreateRepository", names.repository, () =>
      s.api.createRepository(parent, names.repository, poolLabels(input.poolName), `Flow images of Ferry's cloud-run:push pool '${input.poolName}'`),
    );
    state.repository = made;
    return imageNamespace(s.project, s.region, names.repository);
  },
};

function requireAccount(state: State): { email: string } {
  if (!state.serviceAccount) throw new FerryError("internal", "a step that needs the service account ran before it existed");
  return state.serviceAccount;
}

/**
 * What removal considers: the repository (deleted when it carries the pool's label), the service
 * account (when its description marks the pool; its keys go with it), the account's project roles, and
 * the APIs the pool's provisioning enabled (turned off again). Reads only.
 */
async function findForRemoval(s: Session, names: ReturnType<typeof resolveNames>, poolName: string): Promise<FoundResource[]> {
  const state = await observe(s, names);
  const found: FoundResource[] = [];
  const others = (holders: string[], self: string) => holders.filter((h) => h !== self);
  const repo = state.repository;
  if (repo) {
    const owned = hasPoolLabel(repo.labels, poolName);
    const sharing = owned ? others(repositoryHolders(repo.labels), labelValue(poolName)) : [];
    found.push({
      createdBy: "repository",
      id: repo.name,
      resource: "Artifact Registry repository",
      name: names.repository,
      owned,
      ...(sharing.length ? { detail: `used by pool ${sharing.map((p) => `'${p}'`).join(", ")} too: only this pool's label is removed` } : {}),
      remove: sharing.length
        ? () => s.call("UpdateRepository", repo.name, () => s.api.setRepositoryLabels(repo.name, labelsWithoutHolder(repo.labels, poolName)))
        : () => s.call("DeleteRepository", repo.name, () => s.api.deleteRepository(repo.name)),
    });
  }
  const sa = state.serviceAccount;
  if (sa) {
    const holders = serviceAccountHolders(sa.description);
    const owned = holders.includes(poolName);
    const sharing = owned ? others(holders, poolName) : [];
    if (sharing.length) {
      // Other pools submit with this account: it stays with its roles and the APIs, without this pool's mark.
      found.push({
        createdBy: "service-account",
        id: sa.email,
        resource: "service account",
        name: names.serviceAccount,
        owned: true,
        detail: `used by pool ${sharing.map((p) => `'${p}'`).join(", ")} too: only this pool's mark is removed`,
        remove: () => s.call("PatchServiceAccount", sa.email, () => s.api.setServiceAccountDescription(s.project, sa.email, descriptionWithoutHolder(sa.description, poolName))),
      });
      return found;
    }
    const roles = PROJECT_ROLES.filter((r) => state.rolesHeld.includes(r));
    if (roles.length) {
      found.push({
        createdBy: "iam-roles",
        id: `${s.project}:${sa.email}`,
        resource: "project roles",
        name: roles.join(", "),
        owned,
        detail: `of ${sa.email}`,
        remove: () => changeRoles(s, sa.email, (policy) => revoke(policy, sa.email, roles)),
      });
    }
    const enabled = owned ? markedServices(sa.description).filter((name) => state.enabledServices.includes(name)) : [];
    if (enabled.length) {
      found.push({
        createdBy: "services",
        id: `${s.project}:${enabled.join(",")}`,
        resource: "APIs",
        name: enabled.join(", "),
        owned: true,
        detail: "enabled by this pool's provisioning: turned off again",
        remove: async () => {
          for (const name of enabled) await s.call("DisableService", name, () => s.api.disableService(s.project, name));
        },
      });
    }
    found.push({
      createdBy: "service-account",
      id: sa.email,
      resource: "service account",
      name: names.serviceAccount,
      owned,
      ...(owned ? { detail: "with its keys" } : {}),
      remove: () => s.call("DeleteServiceAccount", sa.email, () => s.api.deleteServiceAccount(s.project, sa.email)),
    });
  }
  return found;
}
