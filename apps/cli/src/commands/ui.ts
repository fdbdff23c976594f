import type { Command } from "commander";
import type { CommandContext } from "../context.js";
import { handler, type CommandEnv } from "./shared.js";

interface UiOptions {
  /** commander's --no-open: false when given. */
  open: boolean;
}

export function registerUi(program: Command, env: CommandEnv): void {
  program
    .command("ui")
    .description("open the web UI in your browser, signed in with this profile's API key (through a single-use link valid 60 s)")
    .argument("[path]", "the page to open, e.g. /runs/<id> (default: the start page)")
    .option("--no-open", "print the sign-in link instead of opening a browser")
    .action(handler(env, openUi));
}

async function openUi(ctx: CommandContext, path: string | undefined, options: UiOptions): Promise<void> {
  const client = await ctx.client();
  const link = await client.api.createLoginLink({ body: path === undefined ? {} : { path } });
  const { out } = ctx;
  if (options.open && ctx.io.openBrowser && (await ctx.io.openBrowser(link.url))) {
    out.success(`Opened the web UI of ${client.apiUrl} in your browser`);
    return;
  }
  // The link signs in whoever opens it first: printed only when asked, or when no browser opened.
  if (options.open) out.note("No browser could be opened here; open this link in yours:");
  out.line(link.url);
  out.note("It signs in once and only within 60 seconds; run 'ferry ui' again for a new one.");
}
