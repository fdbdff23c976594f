import type { Command } from "commander";
import { FerryError, GITHUB_ACTIONS_ISSUER, isRole, ROLES, type Role } from "@ferry/core";
import { collect, parseKeyValue } from "../key-value.js";
import { relativeTime } from "../format.js";
import { confirmedDelete, handler, YES_HELP, JSON_HELP, LIMIT_HELP, parseInteger, type CommandEnv } from "./shared.js";

/** `--claim repository=acme/etl`: the value is the pattern as written (never JSON-parsed). */
export function claimConditions(list: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const text of list ?? []) {
    const [claim] = parseKeyValue(text, "--claim");
    out[claim] = text.slice(text.indexOf("=") + 1);
  }
  return out;
}

function parseRole(value: string): Role {
  if (!isRole(value)) throw new FerryError("validation_failed", `--role '${value}' is not a role; use one of ${ROLES.join(", ")}`);
  return value;
}

export function registerOidcTrust(program: Command, env: CommandEnv): void {
  const trust = program
    .command("oidc-trust")
    .description("OIDC trust policies: which CI jobs (e.g. GitHub Actions with id-token: write) sign in without a key, and with which role");

  trust
    .command("create")
    .description("trust tokens of an issuer whose claims match, with a role")
    .argument("<name>", "what the policy is for, e.g. etl-main")
    .requiredOption("--claim <claim=pattern>", "a condition on a claim (repeatable): repository=OWNER/REPO, ref=refs/heads/main, environment=prod, event_name=push; '*' matches any run of characters", collect)
    .option("--role <role>", `${ROLES.join(", ")} (default runner)`, parseRole)
    .option("--issuer <url>", "the token's issuer, exactly", GITHUB_ACTIONS_ISSUER)
    .option("--audience <aud>", "the audience the job asks its token for (the Action's oidc-audience input)", "ferry")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, name: string, options: { claim: string[]; role?: Role; issuer: string; audience: string; json?: boolean }) => {
        const client = await ctx.client();
        const created = await client.api.createOidcTrustPolicy({
          body: { name, issuer: options.issuer, audience: options.audience, conditions: claimConditions(options.claim), role: options.role ?? "runner" },
        });
        if (options.json) return ctx.out.json(created);
        ctx.out.success(`Created trust policy '${created.name}': tokens of ${created.issuer} for '${created.audience}' act as ${created.role}`);
        ctx.out.line(`The GitHub Action signs in with it given 'workspace: ${(await client.api.getWorkspace()).id}' and no api-key (the job needs 'permissions: id-token: write').`);
      }),
    );

  trust
    .command("ls")
    .description("list the workspace's trust policies")
    .option("--limit <n>", LIMIT_HELP, parseInteger(1))
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, options: { limit?: number; json?: boolean }) => {
        const client = await ctx.client();
        const items = await client.listAll.listOidcTrustPolicies(undefined, { max: options.limit });
        if (options.json) return ctx.out.json(items);
        ctx.out.line(`Workspace ${(await client.api.getWorkspace()).id} (the GitHub Action's 'workspace' input)`);
        const now = new Date();
        ctx.out.table(items, [
          { header: "NAME", value: (p) => p.name },
          { header: "ROLE", value: (p) => p.role },
          { header: "ISSUER", value: (p) => p.issuer },
          { header: "AUDIENCE", value: (p) => p.audience },
          { header: "CONDITIONS", value: (p) => Object.entries(p.conditions).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(" ") },
          { header: "CREATED", value: (p) => relativeTime(p.created_at, now) },
        ]);
      }),
    );

  trust
    .command("delete")
    .description("delete a trust policy; the access tokens it issued stop working at once")
    .argument("<name>")
    .option("-y, --yes", YES_HELP)
    .action(
      handler(env, async (ctx, name: string, options: { yes?: boolean }) =>
        confirmedDelete(ctx, options, `Delete trust policy '${name}'? Its access tokens stop working at once.`, async () => {
          await (await ctx.client()).api.deleteOidcTrustPolicy({ params: { name } });
          ctx.out.success(`Deleted trust policy '${name}'`);
        }),
      ),
    );
}
