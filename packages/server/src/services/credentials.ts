import {
  assertSlug,
  FerryError,
  SECRET_MASK,
  newId,
  notFound,
  secretFields,
  splitSecrets,
  validateCredentialData,
  type CredentialTypeRegistry,
  type Credentials,
  type CredentialsCreate,
  type CredentialsRecord,
  type ListQuery,
  type Page,
  type StoreTx,
  type WorkspaceRecord,
} from "@ferry/core";
import type { SecretBox } from "../secrets.js";
import type { ServiceContext } from "./context.js";
import { listPage } from "./lists.js";

/** A page of the workspace's credentials by name, secrets masked. */
export function listCredentials(ctx: ServiceContext, ws: WorkspaceRecord, query: ListQuery): Promise<Page<Credentials>> {
  return listPage({
    query,
    keys: ["name"] as const,
    keyOf: (row: CredentialsRecord) => ({ name: row.name }),
    fetch: (after, n) => ctx.store.listCredentials(ws.id, { limit: n, after: after?.name }),
    toItem: (row) => toCredentials(ctx.registry.credentialTypes, row),
    total: () => ctx.store.totalCredentials(ws.id),
  });
}

/** Binds a ciphertext to its workspace and name: a row copied elsewhere does not decrypt. */
const aad = (workspaceId: string, name: string) => `credentials:${workspaceId}:${name}`;

/**
 * The only form of credentials that leaves the server: plain fields as stored, and each secret field
 * that is set shown as the mask. The names of the set secret fields are kept in clear beside the plain
 * data (`__secret_fields`) so listing never needs to decrypt, and so credentials whose type's plugin is
 * no longer loaded still list, show and delete: their secret fields are then the ones stored.
 */
export function toCredentials(types: CredentialTypeRegistry, record: CredentialsRecord): Credentials {
  const { __secret_fields: stored, ...plain } = record.plain_data;
  const setSecrets = Array.isArray(stored) ? stored.filter((f): f is string => typeof f === "string") : [];
  const data: Record<string, unknown> = { ...plain };
  for (const field of setSecrets) data[field] = SECRET_MASK;
  return {
    id: record.id,
    name: record.name,
    type: record.type,
    data,
    secret_fields: types.has(record.type) ? secretFields(types.get(record.type)) : setSecrets,
    created_at: record.created_at,
    updated_at: record.updated_at,
  };
}

export async function createCredentials(ctx: ServiceContext, ws: WorkspaceRecord, input: CredentialsCreate): Promise<Credentials> {
  const name = assertSlug("credentials", input.name);
  // An unknown type (e.g. its plugin is not in FERRY_PROVIDERS) is a 400 naming the known ones.
  const type = ctx.registry.credentialTypes.get(input.type);
  const data = validateCredentialData(type, input.data);
  const { plain, secrets } = splitSecrets(type, data);
  const stored = {
    type: input.type,
    plain_data: { ...plain, __secret_fields: Object.keys(secrets) },
    secret_ciphertext: ctx.secrets.encrypt(JSON.stringify(secrets), aad(ws.id, name)),
  };
  const record = await ctx.store.transaction(async (tx) => {
    const existing = await tx.getCredentials(ws.id, name);
    if (existing && !input.overwrite) {
      throw new FerryError("conflict", `credentials '${name}' already exist; pass overwrite (--overwrite) to replace them`);
    }
    if (existing) {
      const usage = await tx.credentialsUsage(ws.id, name);
      if (existing.type !== input.type && usage.work_pools.length + usage.deployments.length > 0) {
        throw new FerryError("conflict", `credentials '${name}' are used as ${existing.type} credentials by ${[...usage.work_pools, ...usage.deployments].join(", ")}; keep the type or use a new name`);
      }
      return (await tx.replaceCredentials(ws.id, name, stored))!;
    }
    return tx.insertCredentials({ id: newId(), workspace_id: ws.id, name, ...stored });
  });
  return toCredentials(ctx.registry.credentialTypes, record);
}

export async function deleteCredentials(ctx: ServiceContext, ws: WorkspaceRecord, name: string): Promise<void> {
  await ctx.store.transaction(async (tx) => {
    const existing = await tx.getCredentials(ws.id, name);
    if (!existing) throw notFound("credentials", name, "list them with 'ferry credentials ls'");
    const usage = await tx.credentialsUsage(ws.id, name);
    const users = [...usage.work_pools.map((p) => `work pool ${p}`), ...usage.deployments.map((d) => `deployment ${d}`)];
    if (users.length) throw new FerryError("conflict", `credentials '${name}' are in use by ${users.join(", ")}; change those first`);
    await tx.deleteCredentials(ws.id, name);
  });
}

/** The full document, secrets decrypted: for a provider or a clone, never for a response. */
export async function resolveCredentials(
  tx: Pick<StoreTx, "getCredentials">,
  secrets: SecretBox,
  workspaceId: string,
  name: string,
): Promise<{ type: string; data: Record<string, string> }> {
  const record = await tx.getCredentials(workspaceId, name);
  if (!record) throw notFound("credentials", name, "create them with 'ferry credentials create'");
  const { __secret_fields: _names, ...plain } = record.plain_data;
  const secret = JSON.parse(secrets.decrypt(record.secret_ciphertext, aad(workspaceId, name))) as Record<string, string>;
  return { type: record.type, data: { ...(plain as Record<string, string>), ...secret } };
}
