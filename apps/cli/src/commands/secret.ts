import type { Command } from "commander";
import { FerryError } from "@ferry/core";
import type { CommandContext } from "../context.js";
import { relativeTime } from "../format.js";
import { handler, JSON_HELP, LIMIT_HELP, parseInteger, type CommandEnv } from "./shared.js";

export function registerSecret(program: Command, env: CommandEnv): void {
  const secret = program
    .command("secret")
    .description("workspace secrets: encrypted at rest, never shown again; a deployment's env refers to one as {{ secret.NAME }}");

  secret
    .command("set")
    .description("set a secret; its value comes from a hidden prompt or stdin, never from an argument (which shell history and ps would show)")
    .argument("<name>")
    .option("--json", JSON_HELP)
    .addHelpText(
      "after",
      "\nExamples:\n  ferry secret set api_token                      (prompts, hidden)\n" +
        "  printf %s \"$TOKEN\" | ferry secret set api_token\n" +
        "  (in ferry.yaml: job_variables: { env: { API_TOKEN: '{{ secret.api_token }}' } }; masked in the run's logs)",
    )
    .action(handler(env, setSecret));

  secret
    .command("ls")
    .description("list secrets: names and times, never values")
    .option("--limit <n>", LIMIT_HELP, parseInteger(1))
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, options: { limit?: number; json?: boolean }) => {
        const items = await (await ctx.client()).listAll.listSecrets(undefined, { max: options.limit });
        if (options.json) return ctx.out.json(items);
        if (!items.length) return ctx.out.line("No secrets yet. Set one with 'ferry secret set NAME' (it asks for the value).");
        const now = new Date();
        ctx.out.table(items, [
          { header: "NAME", value: (s) => s.name },
          { header: "UPDATED", value: (s) => relativeTime(s.updated_at, now) },
        ]);
      }),
    );

  secret
    .command("delete")
    .description("delete a secret")
    .argument("<name>")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, name: string, options: { json?: boolean }) => {
        const result = await (await ctx.client()).api.deleteSecret({ params: { name } });
        if (options.json) return ctx.out.json(result);
        ctx.out.success(`Deleted secret '${name}'`);
      }),
    );
}

async function setSecret(ctx: CommandContext, name: string, options: { json?: boolean }): Promise<void> {
  // A terminal gets a hidden prompt; a pipe is read whole, less one trailing newline (echo adds it).
  const value = ctx.io.stdinIsTTY ? await ctx.io.promptSecret(`value of secret '${name}':`) : (await ctx.io.readStdin()).replace(/\r?\n$/, "");
  if (!value) throw new FerryError("validation_failed", `no value for secret '${name}': type it at the prompt, or pipe it in (printf %s "$VALUE" | ferry secret set ${name})`);
  const set = await (await ctx.client()).api.putSecret({ params: { name }, body: { value } });
  if (options.json) return ctx.out.json(set);
  ctx.out.success(`Set secret '${set.name}' (encrypted; it is not shown again)`);
}
