import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FerryError, isFerryError, type CreatedApiKey, type Store, type WorkspaceRecord } from "@ferry/core";
import type { ServerConfig } from "./config.js";
import { createApiKeyIn } from "./services/workspaces.js";
import { openStore } from "./store/open-store.js";

export interface ResetKeyOptions {
  /** The workspace's name or id; may be left out when the store has one workspace. */
  workspace?: string;
}

export interface ResetKeyResult {
  workspace: { id: string; name: string };
  apiKey: CreatedApiKey;
}

/**
 * Issues a new API key for a workspace straight into the server's store, for an operator on the
 * server's host who has no working key (lost, or never seen). Existing keys are left as they are:
 * revoke them with the new one. The embedded store must not be open in a running server.
 */
export async function resetApiKey(config: ServerConfig, options: ResetKeyOptions = {}): Promise<ResetKeyResult> {
  const dataDir = join(config.home, "data");
  const embedded = config.store === "embedded-postgres" ? "postgres" : "pglite";
  if (!config.databaseUrl && !existsSync(join(dataDir, embedded))) {
    throw new FerryError(
      "not_found",
      `there is no Ferry store in ${config.home}: start the server once ('ferry server start'), or point at its home with --home or FERRY_HOME (or FERRY_DATABASE_URL for PostgreSQL)`,
    );
  }
  let store: Store;
  try {
    store = await openStore({ databaseUrl: config.databaseUrl, dataDir, poolSize: 1, embedded });
  } catch (error) {
    if (!config.databaseUrl && isFerryError(error, "conflict")) {
      throw new FerryError(
        "conflict",
        `the embedded store in ${dataDir} is open in a running Ferry server: stop it, run this again, then start it (with PostgreSQL this works while servers run)`,
        { cause: error },
      );
    }
    throw error;
  }
  try {
    const workspace = pickWorkspace(await store.listWorkspaces(), options.workspace);
    const apiKey = await createApiKeyIn(store, workspace.id, "reset-key");
    return { workspace: { id: workspace.id, name: workspace.name }, apiKey };
  } finally {
    await store.close();
  }
}

function pickWorkspace(all: WorkspaceRecord[], wanted: string | undefined): WorkspaceRecord {
  const names = all.map((w) => w.name).join(", ");
  if (wanted === undefined) {
    if (all.length === 1) return all[0]!;
    if (all.length === 0) throw new FerryError("not_found", "the store has no workspace yet: start the server once ('ferry server start') and it creates one with its key");
    throw new FerryError("validation_failed", `the store has ${all.length} workspaces (${names}): name one with --workspace NAME`);
  }
  const byId = all.find((w) => w.id === wanted);
  if (byId) return byId;
  const byName = all.filter((w) => w.name === wanted);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) {
    throw new FerryError("conflict", `${byName.length} workspaces are named '${wanted}': pass the id of one instead (${byName.map((w) => w.id).join(", ")})`);
  }
  throw new FerryError("not_found", `no workspace is named '${wanted}'; the store has: ${names || "none"}`);
}

/**
 * Writes a new operator token into the server's home; the old one stops working when the server is
 * next started (a running server keeps the token it read at start).
 */
export function resetAdminToken(config: ServerConfig): { adminToken: string; path: string } {
  if (config.adminToken) {
    throw new FerryError("validation_failed", "the operator token comes from FERRY_ADMIN_TOKEN: set a new value there and restart the server");
  }
  if (!existsSync(config.home)) {
    throw new FerryError("not_found", `${config.home} does not exist: point at the server's home with --home or FERRY_HOME`);
  }
  const path = join(config.home, "admin-token");
  const adminToken = `fa_${randomBytes(30).toString("base64url")}`;
  writeFileSync(path, `${adminToken}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { adminToken, path };
}
