import { randomBytes } from "node:crypto";
import { status as Status } from "@grpc/grpc-js";
import { GrpcError, alreadyExists, invalidArgument, notFound, permissionDenied } from "./grpc-error.js";
import type { KeyRing, ServiceAccountKeyFile } from "./keys.js";

export interface ServiceAccount {
  email: string;
  uniqueId: string;
  displayName: string;
  description: string;
  etag: string;
  disabled: boolean;
}

export interface Binding {
  role: string;
  members: string[];
}

/** Cloud IAM's rule for a service account's id: 6 to 30 lower-case letters, digits and hyphens, a letter first. */
const ACCOUNT_ID = /^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$/;

/** The roles that let a principal do anything with the project's resources. */
const OWNER_ROLES = new Set(["roles/owner", "roles/editor"]);

/**
 * The project's service accounts (their keys live in the KeyRing) and its IAM policy. A member whose
 * account is deleted stays in the policy as `deleted:serviceAccount:EMAIL?uid=ID`, as in Google Cloud.
 */
export class IamState {
  readonly accounts = new Map<string, ServiceAccount>();
  bindings: Binding[];
  etag = randomBytes(8);
  version = 1;

  constructor(
    readonly projectId: string,
    private readonly keys: KeyRing,
    private readonly tokenUri: string,
    owner: string,
  ) {
    this.bindings = [{ role: "roles/owner", members: [`serviceAccount:${owner}`] }];
  }

  get domain(): string {
    return `${this.projectId}.iam.gserviceaccount.com`;
  }

  create(accountId: string, displayName = "", description = ""): ServiceAccount {
    if (!ACCOUNT_ID.test(accountId ?? "")) throw invalidArgument(`Invalid account id '${accountId ?? ""}': use 6 to 30 lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen.`);
    const email = `${accountId}@${this.domain}`;
    if (this.accounts.has(email)) throw alreadyExists(`Service account ${accountId} already exists within project projects/${this.projectId}.`);
    const account: ServiceAccount = { email, uniqueId: String(BigInt(`0x${randomBytes(8).toString("hex")}`)), displayName, description, etag: randomBytes(6).toString("base64"), disabled: false };
    this.accounts.set(email, account);
    return account;
  }

  get(email: string): ServiceAccount {
    const account = this.accounts.get(email) ?? [...this.accounts.values()].find((a) => a.uniqueId === email);
    if (account === undefined) throw notFound(`Service account projects/${this.projectId}/serviceAccounts/${email} does not exist.`);
    return account;
  }

  delete(email: string): void {
    const account = this.get(email);
    for (const keyId of this.keys.keysOf(account.email)) this.keys.delete(keyId);
    this.accounts.delete(account.email);
    const member = `serviceAccount:${account.email}`;
    for (const binding of this.bindings) binding.members = binding.members.map((m) => (m === member ? `deleted:${member}?uid=${account.uniqueId}` : m));
    this.touchPolicy();
  }

  createKey(email: string): ServiceAccountKeyFile {
    const account = this.get(email);
    if (this.keys.keysOf(account.email).length >= 10) throw new GrpcError(Status.FAILED_PRECONDITION, "Precondition check failed.");
    return this.keys.create(account.email, this.projectId, this.tokenUri);
  }

  /** Replaces the policy when the etag matches (read-modify-write), checking every service account member exists. */
  setPolicy(bindings: Binding[], etag: Buffer | undefined): void {
    if (etag !== undefined && etag.length > 0 && !etag.equals(this.etag)) {
      throw new GrpcError(Status.ABORTED, "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.");
    }
    for (const binding of bindings) {
      if (!/^(roles|projects\/[^/]+\/roles|organizations\/[^/]+\/roles)\/[\w.]+$/.test(binding.role ?? "")) throw invalidArgument(`Role ${binding.role ?? ""} is not supported for this resource.`);
      for (const member of binding.members ?? []) {
        const email = /^serviceAccount:(.+)$/.exec(member)?.[1];
        if (email !== undefined && email.endsWith(`@${this.domain}`) && !this.accounts.has(email)) throw invalidArgument(`Service account ${email} does not exist.`);
        if (!/^(user|serviceAccount|group|domain|deleted:serviceAccount|principal|principalSet):/.test(member) && member !== "allUsers" && member !== "allAuthenticatedUsers") throw invalidArgument(`Invalid member ${member}: use a prefix such as user:, serviceAccount: or group:.`);
      }
    }
    this.bindings = bindings.filter((b) => (b.members ?? []).length > 0).map((b) => ({ role: b.role, members: [...new Set(b.members)] }));
    this.touchPolicy();
  }

  /** Whether the principal holds one of the roles (or owner/editor) on the project. */
  hasRole(principal: string, roles: string[]): boolean {
    const member = `serviceAccount:${principal}`;
    return this.bindings.some((b) => (OWNER_ROLES.has(b.role) || roles.includes(b.role)) && b.members.includes(member));
  }

  /** PERMISSION_DENIED in Google's words unless the principal holds one of the roles. */
  require(principal: string, roles: string[], permission: string, resource: string): void {
    if (!this.hasRole(principal, roles)) throw permissionDenied(`Permission '${permission}' denied on resource '${resource}' (or it may not exist).`);
  }

  private touchPolicy(): void {
    this.etag = randomBytes(8);
  }
}
