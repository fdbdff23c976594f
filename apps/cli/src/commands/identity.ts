import type { Command } from "commander";
import { checkApiUrl, type Me } from "@ferry/core";
import { VERSION, type CommandContext } from "../context.js";
import { maskSecret } from "../format.js";
import { handler, JSON_HELP, type CommandEnv } from "./shared.js";

/** What `ferry version --json` prints. */
export interface VersionReport {
  cli: string;
  node: string;
  server: { url: string | null; version: string | null; error: string | null };
}

export function registerIdentity(program: Command, env: CommandEnv): void {
  program
    .command("version")
    .description("the CLI's version, and the server's when one is configured and answers")
    .option("--json", "print {cli, node, server: {url, version, error}}")
    .action(
      handler(env, async (ctx, options: { json?: boolean }) => {
        const report = await versionReport(ctx);
        if (options.json) return ctx.out.json(report);
        const c = ctx.out.colors;
        ctx.out.line(`${c.bold("CLI".padEnd(8))}${report.cli} (Node.js ${report.node})`);
        const { server } = report;
        if (!server.url) ctx.out.line(`${c.bold("server".padEnd(8))}${c.dim("none configured (ferry profile ls)")}`);
        else if (server.error) ctx.out.line(`${c.bold("server".padEnd(8))}${c.yellow(server.error)}`);
        else ctx.out.line(`${c.bold("server".padEnd(8))}${server.version ?? "unknown version"} at ${server.url}`);
      }),
    );

  program
    .command("whoami")
    .description("the server, workspace and credential this command line uses, and what the credential may do")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, options: { json?: boolean }) => {
        const client = await ctx.client();
        const me = await client.api.getMe();
        const settings = await ctx.settings();
        const profile = settings.profileName;
        if (options.json) return ctx.out.json({ api_url: client.apiUrl, profile, ...me });
        const c = ctx.out.colors;
        const from = { flag: "--api-key", env: "FERRY_API_KEY", profile: `profile '${profile}'`, none: "nowhere" }[settings.sources.apiKey] ?? settings.sources.apiKey;
        const rows: [string, string][] = [
          ["server", `${client.apiUrl} (Ferry ${me.server_version})`],
          ["profile", profile ? `${profile} (${settings.profilesPath})` : c.dim("none: from flags or the environment")],
          ["workspace", `${me.workspace.name} (${me.workspace.tier} tier)`],
          ["credential", `${credentialLabel(me)} ${maskSecret(settings.apiKey)} from ${from}`],
          ["role", me.credential.role],
        ];
        for (const [k, v] of rows) ctx.out.line(`${c.bold(k.padEnd(11))}${v}`);
      }),
    );
}

function credentialLabel(me: Me): string {
  return { api_key: "API key", session: "browser session", access_token: "access token" }[me.credential.kind];
}

/** The CLI's version and, when a URL is configured, the server's from `/healthz` (no key needed). */
export async function versionReport(ctx: CommandContext): Promise<VersionReport> {
  const report: VersionReport = { cli: VERSION, node: process.version, server: { url: null, version: null, error: null } };
  let url: string | null;
  try {
    url = (await ctx.settings()).apiUrl;
  } catch (error) {
    report.server.error = (error as Error).message;
    return report;
  }
  if (!url) return report;
  report.server.url = url;
  try {
    checkApiUrl(url);
    const response = await (ctx.io.fetch ?? fetch)(`${url.replace(/\/+$/, "")}/healthz`, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json().catch(() => null)) as { status?: unknown; version?: unknown } | null;
    if (!response.ok || body?.status !== "ok") report.server.error = `${url} is not a Ferry server: GET /healthz answered ${response.status}${body ? "" : " without JSON"}`;
    else report.server.version = typeof body.version === "string" ? body.version : null;
  } catch (error) {
    const reason = (error as Error).name === "TimeoutError" ? "no answer within 5 s" : (error as Error).message;
    report.server.error = (error as { code?: unknown }).code === "validation_failed" ? reason : `not reachable at ${url}: ${reason}`;
  }
  return report;
}
