import { createHash, randomBytes, randomUUID } from "node:crypto";

/** Microsoft Graph's directory, as far as Ferry uses it: app registrations with client secrets, and their service principals. */
export interface PasswordCredential {
  keyId: string;
  displayName: string | null;
  hint: string;
  startDateTime: string;
  endDateTime: string;
  /** sha256 of the secret: the secret itself is only answered once, by addPassword. */
  secretHash: string;
}

export interface Application {
  id: string;
  appId: string;
  displayName: string;
  tags: string[];
  notes: string | null;
  createdDateTime: string;
  passwordCredentials: PasswordCredential[];
}

export interface ServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  accountEnabled: boolean;
  servicePrincipalType: "Application";
  tags: string[];
  /** May create and delete app registrations and service principals (the user's own identity). */
  directoryWriter: boolean;
}

const hash = (secret: string): string => createHash("sha256").update(secret).digest("hex");

export class Directory {
  readonly applications = new Map<string, Application>();
  readonly servicePrincipals = new Map<string, ServicePrincipal>();

  constructor(private readonly now: () => number = Date.now) {}

  createApplication(input: { displayName: string; tags?: string[]; notes?: string | null }): Application {
    const app: Application = {
      id: randomUUID(),
      appId: randomUUID(),
      displayName: input.displayName,
      tags: input.tags ?? [],
      notes: input.notes ?? null,
      createdDateTime: new Date(this.now()).toISOString(),
      passwordCredentials: [],
    };
    this.applications.set(app.id, app);
    return app;
  }

  /** Adds a client secret; the only time its text is known outside. */
  addPassword(app: Application, displayName: string | null, endDateTime?: string): { credential: PasswordCredential; secretText: string } {
    const secretText = `${randomBytes(3).toString("hex").slice(0, 3)}8Q~${randomBytes(27).toString("base64url")}`;
    const start = new Date(this.now());
    const credential: PasswordCredential = {
      keyId: randomUUID(),
      displayName,
      hint: secretText.slice(0, 3),
      startDateTime: start.toISOString(),
      endDateTime: endDateTime ?? new Date(start.getTime() + 2 * 365 * 24 * 3600_000).toISOString(),
      secretHash: hash(secretText),
    };
    app.passwordCredentials.push(credential);
    return { credential, secretText };
  }

  createServicePrincipal(app: Application, options: { tags?: string[]; directoryWriter?: boolean } = {}): ServicePrincipal {
    const sp: ServicePrincipal = {
      id: randomUUID(),
      appId: app.appId,
      displayName: app.displayName,
      accountEnabled: true,
      servicePrincipalType: "Application",
      tags: options.tags ?? [],
      directoryWriter: options.directoryWriter ?? false,
    };
    this.servicePrincipals.set(sp.id, sp);
    return sp;
  }

  applicationByAppId(appId: string): Application | undefined {
    return [...this.applications.values()].find((a) => a.appId.toLowerCase() === appId.toLowerCase());
  }

  servicePrincipalByAppId(appId: string): ServicePrincipal | undefined {
    return [...this.servicePrincipals.values()].find((s) => s.appId.toLowerCase() === appId.toLowerCase());
  }

  /** Deleting an app registration deletes its service principal, as in Entra. */
  deleteApplication(id: string): boolean {
    const app = this.applications.get(id);
    if (app === undefined) return false;
    this.applications.delete(id);
    const sp = this.servicePrincipalByAppId(app.appId);
    if (sp !== undefined) this.servicePrincipals.delete(sp.id);
    return true;
  }

  /**
   * The service principal a client id + secret sign in as, or the AADSTS error Entra answers:
   * an unknown app, an app with no service principal, or a secret it does not hold (or that expired).
   */
  authenticate(tenantId: string, clientId: string, clientSecret: string): ServicePrincipal | { error: string; description: string } {
    const app = this.applicationByAppId(clientId);
    const sp = app && this.servicePrincipalByAppId(app.appId);
    if (app === undefined || sp === undefined) {
      return { error: "unauthorized_client", description: `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.` };
    }
    const secretHash = hash(clientSecret);
    const credential = app.passwordCredentials.find((c) => c.secretHash === secretHash);
    if (credential === undefined) {
      return { error: "invalid_client", description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.` };
    }
    if (Date.parse(credential.endDateTime) <= this.now()) {
      return { error: "invalid_client", description: `AADSTS7000222: The provided client secret keys for app '${clientId}' are expired. Visit the Azure portal to create new keys for your app.` };
    }
    return sp;
  }
}

/** What Graph answers for an application (never a secret's text or hash). */
export function applicationView(app: Application): Record<string, unknown> {
  return {
    id: app.id,
    appId: app.appId,
    displayName: app.displayName,
    tags: app.tags,
    notes: app.notes,
    createdDateTime: app.createdDateTime,
    signInAudience: "AzureADMyOrg",
    passwordCredentials: app.passwordCredentials.map(passwordView),
  };
}

export function passwordView(c: PasswordCredential): Record<string, unknown> {
  return { keyId: c.keyId, displayName: c.displayName, hint: c.hint, startDateTime: c.startDateTime, endDateTime: c.endDateTime, secretText: null, customKeyIdentifier: null };
}

export function servicePrincipalView(sp: ServicePrincipal): Record<string, unknown> {
  return { id: sp.id, appId: sp.appId, displayName: sp.displayName, accountEnabled: sp.accountEnabled, servicePrincipalType: sp.servicePrincipalType, tags: sp.tags, appOwnerOrganizationId: null };
}
