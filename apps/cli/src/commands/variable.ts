import type { Command } from "commander";
import type { CommandContext } from "../context.js";
import { relativeTime } from "../format.js";
import { handler, JSON_HELP, LIMIT_HELP, parseInteger, type CommandEnv } from "./shared.js";

export function registerVariable(program: Command, env: CommandEnv): void {
  const variable = program
    .command("variable")
    .description("workspace variables: plain values a deployment's env refers to as {{ var.NAME }}");

  variable
    .command("set")
    .description("set a variable (made, or its value replaced)")
    .argument("<name>")
    .argument("<value>")
    .option("--json", JSON_HELP)
    .addHelpText("after", "\nExample:\n  ferry variable set region eu-west-1\n  (in ferry.yaml: job_variables: { env: { REGION: '{{ var.region }}' } })")
    .action(
      handler(env, async (ctx, name: string, value: string, options: { json?: boolean }) => {
        const set = await (await ctx.client()).api.putVariable({ params: { name }, body: { value } });
        if (options.json) return ctx.out.json(set);
        ctx.out.success(`Set variable '${set.name}'`);
      }),
    );

  variable
    .command("get")
    .description("print a variable's value")
    .argument("<name>")
    .option("--json", "print the variable as JSON")
    .action(
      handler(env, async (ctx, name: string, options: { json?: boolean }) => {
        const found = await (await ctx.client()).api.getVariable({ params: { name } });
        if (options.json) return ctx.out.json(found);
        ctx.out.line(found.value);
      }),
    );

  variable
    .command("ls")
    .description("list variables with their values")
    .option("--limit <n>", LIMIT_HELP, parseInteger(1))
    .option("--json", JSON_HELP)
    .action(handler(env, listVariables));

  variable
    .command("delete")
    .description("delete a variable")
    .argument("<name>")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, name: string, options: { json?: boolean }) => {
        const result = await (await ctx.client()).api.deleteVariable({ params: { name } });
        if (options.json) return ctx.out.json(result);
        ctx.out.success(`Deleted variable '${name}'`);
      }),
    );
}

async function listVariables(ctx: CommandContext, options: { limit?: number; json?: boolean }): Promise<void> {
  const items = await (await ctx.client()).listAll.listVariables(undefined, { max: options.limit });
  if (options.json) return ctx.out.json(items);
  if (!items.length) return ctx.out.line("No variables yet. Set one with 'ferry variable set NAME VALUE'.");
  const now = new Date();
  ctx.out.table(items, [
    { header: "NAME", value: (v) => v.name },
    { header: "VALUE", value: (v) => v.value },
    { header: "UPDATED", value: (v) => relativeTime(v.updated_at, now) },
  ]);
}
