import type { Command } from "commander";
import { maskSecret, relativeTime } from "../format.js";
import { confirmedDelete, handler, YES_HELP, JSON_HELP, LIMIT_HELP, parseInteger, type CommandEnv } from "./shared.js";

export function registerApiKey(program: Command, env: CommandEnv): void {
  const apiKey = program.command("api-key").description("API keys of the workspace");

  apiKey
    .command("create")
    .description("create an API key; the key is printed this once")
    .argument("<name>", "what the key is for, e.g. ci or laptop")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, name: string, options: { json?: boolean }) => {
        const client = await ctx.client();
        const created = await client.api.createApiKey({ body: { name } });
        if (options.json) return ctx.out.json(created);
        const { out } = ctx;
        out.success(`Created API key '${created.name}' (${created.id})`);
        out.line("");
        out.line(`    ${out.colors.bold(created.key)}`);
        out.line("");
        out.line(out.colors.yellow("Store it now: it is shown only this once."));
      }),
    );

  apiKey
    .command("ls")
    .description("list API keys (never the keys themselves)")
    .option("--limit <n>", LIMIT_HELP, parseInteger(1))
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, options: { limit?: number; json?: boolean }) => {
        const items = await (await ctx.client()).listAll.listApiKeys(undefined, { max: options.limit });
        if (options.json) return ctx.out.json(items);
        const now = new Date();
        ctx.out.table(items, [
          { header: "ID", value: (k) => k.id, shrink: false },
          { header: "NAME", value: (k) => k.name },
          { header: "KEY", value: (k) => `${k.prefix}****` },
          { header: "CREATED", value: (k) => relativeTime(k.created_at, now) },
          { header: "LAST USED", value: (k) => relativeTime(k.last_used_at, now) || "never" },
        ]);
      }),
    );

  apiKey
    .command("delete")
    .description("revoke an API key")
    .argument("<id>")
    .option("-y, --yes", YES_HELP)
    .action(
      handler(env, async (ctx, id: string, options: { yes?: boolean }) => {
        const client = await ctx.client();
        const items = await client.listAll.listApiKeys();
        const target = items.find((k) => k.id === id);
        const { apiKey, profileName } = await ctx.settings();
        const own = Boolean(target && apiKey?.startsWith(target.prefix));
        const question = `Revoke API key ${target ? `'${target.name}' (${id})` : id}${own ? ", probably the one this CLI uses" : ""}?`;
        return confirmedDelete(ctx, options, question, async () => {
          await client.api.deleteApiKey({ params: { id } });
          ctx.out.success(`Revoked API key ${id}`);
          if (own) {
            ctx.out.warn(`it was probably the key this CLI uses (${maskSecret(apiKey)}); save another with 'ferry profile set ${profileName ?? "NAME"} --api-key-stdin'`);
          }
        });
      }),
    );
}
