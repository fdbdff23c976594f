import { createHash } from "node:crypto";
import { invalidArgument, notFound } from "./grpc-error.js";
import type { RestRoute } from "./http-server.js";
import { page } from "./paging.js";
import type { IamState, ServiceAccount } from "./iam-state.js";
import type { KeyRing } from "./keys.js";
import type { LocalProject } from "./project.js";

const ACCOUNT_ADMIN = ["roles/iam.serviceAccountAdmin"];
const KEY_ADMIN = ["roles/iam.serviceAccountKeyAdmin"];
const FAR_FUTURE = "9999-12-31T23:59:59Z";

function accountJson(projectId: string, account: ServiceAccount): Record<string, unknown> {
  return {
    name: `projects/${projectId}/serviceAccounts/${account.email}`,
    projectId,
    uniqueId: account.uniqueId,
    email: account.email,
    displayName: account.displayName,
    description: account.description,
    etag: account.etag,
    oauth2ClientId: account.uniqueId,
    ...(account.disabled ? { disabled: true } : {}),
  };
}

/** Google keeps one system-managed key per account for its own signing; the key list shows it unless filtered. */
function systemKeyId(email: string): string {
  return createHash("sha1").update(`system:${email}`).digest("hex");
}

/**
 * IAM's REST API for service accounts and their keys (`https://iam.googleapis.com/v1/...`), which no
 * official gRPC client covers: the paths and JSON of the v1 API, under this server's HTTP port.
 */
export function iamRoutes(project: LocalProject, iam: IamState, keys: KeyRing): RestRoute[] {
  const account = "(?<project>[^/]+)/serviceAccounts/(?<email>[^/]+)";
  const check = (projectId: string, principal: string, roles: string[], permission: string, resource: string) => {
    if (projectId !== "-") project.check(projectId, "iam.googleapis.com");
    else project.check(project.projectId, "iam.googleapis.com");
    iam.require(principal, roles, permission, resource);
  };
  const keyJson = (email: string, keyId: string, userManaged: boolean) => ({
    name: `projects/${project.projectId}/serviceAccounts/${email}/keys/${keyId}`,
    validAfterTime: userManaged ? (keys.get(keyId)?.validAfter ?? new Date(0).toISOString()) : new Date(0).toISOString(),
    validBeforeTime: FAR_FUTURE,
    keyAlgorithm: "KEY_ALG_RSA_2048",
    keyOrigin: "GOOGLE_PROVIDED",
    keyType: userManaged ? "USER_MANAGED" : "SYSTEM_MANAGED",
  });
  return [
    {
      method: "GET",
      path: /^\/v1\/projects\/(?<project>[^/]+)\/serviceAccounts$/,
      service: "iam",
      name: "ListServiceAccounts",
      handle: async ({ params, query, principal }) => {
        check(params.project!, principal, [...ACCOUNT_ADMIN, "roles/iam.serviceAccountViewer"], "iam.serviceAccounts.list", `projects/${params.project!}`);
        const { items, nextPageToken } = page([...iam.accounts.values()].map((a) => accountJson(project.projectId, a)), { pageSize: Number(query.get("pageSize") ?? 0), pageToken: query.get("pageToken") ?? "" }, 100);
        return nextPageToken === "" ? { accounts: items } : { accounts: items, nextPageToken };
      },
    },
    {
      method: "POST",
      path: /^\/v1\/projects\/(?<project>[^/]+)\/serviceAccounts$/,
      service: "iam",
      name: "CreateServiceAccount",
      handle: async ({ params, body, principal }) => {
        check(params.project!, principal, ACCOUNT_ADMIN, "iam.serviceAccounts.create", `projects/${params.project!}`);
        const details = (body.serviceAccount ?? {}) as { displayName?: string; description?: string };
        if (typeof body.accountId !== "string") throw invalidArgument("accountId: give the new account's id, e.g. ferry-cloud-run.");
        if ((details.description ?? "").length > 256) throw invalidArgument("serviceAccount.description: at most 256 characters.");
        return accountJson(project.projectId, iam.create(body.accountId, details.displayName ?? "", details.description ?? ""));
      },
    },
    {
      method: "GET",
      path: new RegExp(`^/v1/projects/${account}$`),
      service: "iam",
      name: "GetServiceAccount",
      handle: async ({ params, principal }) => {
        check(params.project!, principal, [...ACCOUNT_ADMIN, "roles/iam.serviceAccountViewer"], "iam.serviceAccounts.get", `projects/${params.project!}/serviceAccounts/${params.email!}`);
        return accountJson(project.projectId, iam.get(params.email!));
      },
    },
    {
      method: "PATCH",
      path: new RegExp(`^/v1/projects/${account}$`),
      service: "iam",
      name: "PatchServiceAccount",
      handle: async ({ params, body, principal }) => {
        check(params.project!, principal, ACCOUNT_ADMIN, "iam.serviceAccounts.update", `projects/${params.project!}/serviceAccounts/${params.email!}`);
        const found = iam.get(params.email!);
        const details = (body.serviceAccount ?? {}) as { displayName?: string; description?: string };
        const mask = String(body.updateMask ?? "").split(",").filter(Boolean);
        if (mask.length === 0) throw invalidArgument("updateMask: name the fields to change, e.g. description,displayName.");
        if (mask.includes("description")) found.description = details.description ?? "";
        if (mask.includes("displayName") || mask.includes("display_name")) found.displayName = details.displayName ?? "";
        return accountJson(project.projectId, found);
      },
    },
    {
      method: "DELETE",
      path: new RegExp(`^/v1/projects/${account}$`),
      service: "iam",
      name: "DeleteServiceAccount",
      handle: async ({ params, principal }) => {
        check(params.project!, principal, ACCOUNT_ADMIN, "iam.serviceAccounts.delete", `projects/${params.project!}/serviceAccounts/${params.email!}`);
        iam.delete(params.email!);
        return {};
      },
    },
    {
      method: "GET",
      path: new RegExp(`^/v1/projects/${account}/keys$`),
      service: "iam",
      name: "ListServiceAccountKeys",
      handle: async ({ params, query, principal }) => {
        check(params.project!, principal, [...KEY_ADMIN, ...ACCOUNT_ADMIN], "iam.serviceAccountKeys.list", `projects/${params.project!}/serviceAccounts/${params.email!}`);
        const found = iam.get(params.email!);
        const types = query.getAll("keyTypes");
        const result = [];
        if (types.length === 0 || types.includes("USER_MANAGED")) result.push(...keys.keysOf(found.email).map((id) => keyJson(found.email, id, true)));
        if (types.length === 0 || types.includes("SYSTEM_MANAGED")) result.push(keyJson(found.email, systemKeyId(found.email), false));
        return { keys: result };
      },
    },
    {
      method: "POST",
      path: new RegExp(`^/v1/projects/${account}/keys$`),
      service: "iam",
      name: "CreateServiceAccountKey",
      handle: async ({ params, body, principal }) => {
        check(params.project!, principal, KEY_ADMIN, "iam.serviceAccountKeys.create", `projects/${params.project!}/serviceAccounts/${params.email!}`);
        if (body.privateKeyType !== undefined && body.privateKeyType !== "TYPE_GOOGLE_CREDENTIALS_FILE") throw invalidArgument(`privateKeyType ${String(body.privateKeyType)}: gcp-local makes only TYPE_GOOGLE_CREDENTIALS_FILE keys (JSON key files).`);
        const file = iam.createKey(params.email!);
        return { ...keyJson(file.client_email, file.private_key_id, true), privateKeyType: "TYPE_GOOGLE_CREDENTIALS_FILE", privateKeyData: Buffer.from(JSON.stringify(file, null, 2)).toString("base64") };
      },
    },
    {
      method: "GET",
      path: new RegExp(`^/v1/projects/${account}/keys/(?<key>[^/]+)$`),
      service: "iam",
      name: "GetServiceAccountKey",
      handle: async ({ params, principal }) => {
        check(params.project!, principal, [...KEY_ADMIN, ...ACCOUNT_ADMIN], "iam.serviceAccountKeys.get", `projects/${params.project!}/serviceAccounts/${params.email!}`);
        const found = iam.get(params.email!);
        if (params.key === systemKeyId(found.email)) return keyJson(found.email, params.key, false);
        if (!keys.keysOf(found.email).includes(params.key!)) throw notFound(`Service account key projects/${params.project!}/serviceAccounts/${params.email!}/keys/${params.key!} does not exist.`);
        return keyJson(found.email, params.key!, true);
      },
    },
    {
      method: "DELETE",
      path: new RegExp(`^/v1/projects/${account}/keys/(?<key>[^/]+)$`),
      service: "iam",
      name: "DeleteServiceAccountKey",
      handle: async ({ params, principal }) => {
        check(params.project!, principal, KEY_ADMIN, "iam.serviceAccountKeys.delete", `projects/${params.project!}/serviceAccounts/${params.email!}`);
        const found = iam.get(params.email!);
        if (!keys.keysOf(found.email).includes(params.key!)) throw notFound(`Service account key projects/${params.project!}/serviceAccounts/${params.email!}/keys/${params.key!} does not exist.`);
        keys.delete(params.key!);
        return {};
      },
    },
  ];
}
