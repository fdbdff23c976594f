import { Argument, type Command } from "commander";
import { completionScript, SHELLS, type Shell } from "../completion.js";
import { handler, type CommandEnv } from "./shared.js";

export function registerCompletion(program: Command, env: CommandEnv): void {
  program
    .command("completion")
    .description("print the shell completion script for bash, zsh or fish")
    .addArgument(new Argument("<shell>", "the shell").choices(SHELLS))
    .addHelpText(
      "after",
      "\nLoad it in the current shell, or save it where your shell finds completions:\n" +
        "  bash:  source <(ferry completion bash)      or  ferry completion bash > ~/.local/share/bash-completion/completions/ferry\n" +
        "  zsh:   source <(ferry completion zsh)       or  ferry completion zsh > \"${fpath[1]}/_ferry\"\n" +
        "  fish:  ferry completion fish | source       or  ferry completion fish > ~/.config/fish/completions/ferry.fish",
    )
    .action(
      handler(env, async (ctx, shell: Shell) => {
        ctx.io.stdout.write(completionScript(shell, program));
      }),
    );
}
