import type { ProvisionStep, Provisioner } from "@ferry/core";
import { defineProvisioner, type FoundResource, type StepInput } from "@ferry/provider-kit";
import type { ModalClient } from "modal";
import { MODAL_CREDENTIAL_TYPE } from "../credentials.js";
import { classifyModalError, type ModalErrorContext } from "../errors.js";
import { sdkClients, type ModalClientFactory } from "../modal-clients.js";
import { POOL_TAG } from "../sandbox-request.js";
import { findModalToken, type FoundToken, type TokenSources } from "./modal-token.js";
import { DEFAULT_APP_NAME, MODAL_PROVISION_OPTIONS } from "./options.js";

export interface ModalProvisionerOptions {
  /** Where the user's token is looked for: the client plugin passes the user's environment and ~/.modal.toml. */
  sources: TokenSources;
  /** Where Modal's API is (a local stand-in); unset: the SDK's own setting, else Modal. */
  serverUrl?: string;
  /** How SDK clients are made; default the official SDK's. */
  clients?: ModalClientFactory;
}

interface Session {
  client: ModalClient;
  found: FoundToken;
  appName: string;
  environment: string | null;
}

interface State {
  appId: string | null;
}

/** Every Modal call of provisioning: classified as a failure of the user's own token, with its secret kept out. */
async function call<T>(session: Session, operation: string, fn: () => Promise<T>): Promise<T> {
  const context: ModalErrorContext = { operation, identity: "user", app: session.appName, secrets: [session.found.token.tokenSecret], ...(session.environment ? { environment: session.environment } : {}) };
  try {
    return await fn();
  } catch (error) {
    throw classifyModalError(error, context);
  }
}

const envParam = (s: Session) => (s.environment ? { environment: s.environment } : {});

/**
 * `modal:push` provisioning, with the user's own Modal token: the token (from MODAL_TOKEN_ID/SECRET or
 * ~/.modal.toml), checked against Modal and stored as the pool's `modal` credentials (a pool that has
 * credentials keeps them), then the app the pool's sandboxes run in. Removal terminates the sandboxes
 * of the app still running with the pool's tag; the app is kept (Modal's SDK cannot delete one, and
 * other pools may use it), and so is the user's token, which Ferry did not make.
 */
export function createModalProvisioner(options: ModalProvisionerOptions): Provisioner {
  const makeClient = options.clients ?? sdkClients(options.serverUrl);
  return defineProvisioner<Session, State>({
    type: "modal:push",
    optionsSchema: MODAL_PROVISION_OPTIONS,
    creationOrder: ["token", "app"],
    poolTag: (pool) => `${POOL_TAG}=${pool}`,
    open: async (given) => {
      const found = findModalToken(options.sources, given.modal_profile);
      const environment = given.environment ?? found.environment;
      const client = makeClient({ token: found.token, environment });
      return { client, found, appName: given.app_name ?? DEFAULT_APP_NAME, environment };
    },
    observe: async (session) => {
      try {
        const app = await call(session, "apps.fromName", () => session.client.apps.fromName(session.appName, envParam(session)));
        return { appId: app.appId };
      } catch (error) {
        if ((error as { code?: string }).code === "provider_not_found") return { appId: null };
        throw error;
      }
    },
    plan: (state, input) => planSteps(state, input),
    steps: {
      token: async ({ session, credentialsMade }) => {
        // The environment lookup is the cheapest call that proves Modal takes the token (and knows the environment).
        await call(session, "environments.fromName", () => session.client.getImageBuilderVersion(session.environment ?? undefined));
        await credentialsMade(
          { type: MODAL_CREDENTIAL_TYPE.type, data: { token_id: session.found.token.tokenId, token_secret: session.found.token.tokenSecret } },
          {
            description: `the Modal token of ${session.found.source}`,
            // The token is the user's own: nothing was made in Modal that storing it could leave behind.
            discard: async () => {},
            manualFix: "store it with 'ferry credentials create' and 'ferry work-pool update POOL --credentials NAME'",
          },
        );
        return `checked against Modal: ${session.found.source}`;
      },
      app: async ({ session, state }) => {
        const app = await call(session, "apps.fromName", () => session.client.apps.fromName(session.appName, { createIfMissing: true, ...envParam(session) }));
        state.appId = app.appId;
        return app.appId;
      },
    },
    result: (_state, input) => ({
      jobVariableDefaults: { app_name: input.options.app_name ?? DEFAULT_APP_NAME, ...(input.options.environment ? { environment: input.options.environment } : {}) },
    }),
    optionsFromPool: (defaults) => ({
      ...(typeof defaults.app_name === "string" ? { app_name: defaults.app_name } : {}),
      ...(typeof defaults.environment === "string" ? { environment: defaults.environment } : {}),
    }),
    findForRemoval: async (session, input) => {
      let appId: string;
      try {
        appId = (await call(session, "apps.fromName", () => session.client.apps.fromName(session.appName, envParam(session)))).appId;
      } catch (error) {
        if ((error as { code?: string }).code === "provider_not_found") return [];
        throw error;
      }
      const found: FoundResource[] = [];
      const list = (tags?: Record<string, string>) => session.client.sandboxes.list({ appId, ...(tags ? { tags } : {}), ...envParam(session) });
      const owned = new Set<string>();
      await call(session, "sandboxes.list", async () => {
        for await (const sandbox of list({ [POOL_TAG]: input.poolName })) owned.add(sandbox.sandboxId);
      });
      await call(session, "sandboxes.list", async () => {
        for await (const sandbox of list()) {
          const mine = owned.has(sandbox.sandboxId);
          found.push({
            createdBy: "app",
            id: `sandbox:${sandbox.sandboxId}`,
            resource: "Modal sandbox",
            name: sandbox.sandboxId,
            owned: mine,
            ...(mine ? { detail: `running in app ${session.appName}: terminated` } : {}),
            remove: () => call(session, "sandbox.terminate", () => sandbox.terminate()),
          });
        }
      });
      found.push({
        createdBy: "app",
        id: "app",
        resource: "Modal app",
        name: session.appName,
        owned: false,
        detail: "kept: Modal apps carry no tags, other pools may use it, and Modal's SDK cannot delete one ('modal app stop' does)",
        remove: async () => {},
      });
      return found;
    },
  });
}

/** Pure: the token step (skipped when the pool has credentials), then the app. */
export function planSteps(state: State, input: Pick<StepInput, "hasCredentials" | "options">): ProvisionStep[] {
  const appName = input.options.app_name ?? DEFAULT_APP_NAME;
  return [
    input.hasCredentials
      ? { id: "token", resource: "Modal token", name: "pool credentials", action: "exists", detail: "the pool has credentials: they are kept" }
      : { id: "token", resource: "Modal token", name: "pool credentials", action: "create", detail: "your Modal token, checked against Modal, stored as the pool's modal credentials" },
    state.appId
      ? { id: "app", resource: "Modal app", name: appName, action: "exists", detail: state.appId }
      : { id: "app", resource: "Modal app", name: appName, action: "create" },
  ];
}
