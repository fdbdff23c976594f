import type { CommandContext } from "./context.js";

/**
 * Runs a step that may take more than a second under a spinner (stderr, terminals only: never in piped
 * or --json output), ended with ✓ or ✗. The step's own error propagates unchanged.
 */
export async function withSpinner<T>(ctx: CommandContext, text: string, step: () => Promise<T>): Promise<T> {
  const spinner = ctx.io.spinner(text);
  try {
    const result = await step();
    spinner?.stop(true);
    return result;
  } catch (error) {
    spinner?.stop(false);
    throw error;
  }
}
