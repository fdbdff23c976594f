import { Command, CommanderError } from "commander";
import pc from "picocolors";
import { registerAdmin } from "./commands/admin.js";
import { registerApiKey } from "./commands/api-key.js";
import { registerOidcTrust } from "./commands/oidc-trust.js";
import { registerCompletion } from "./commands/completion.js";
import { registerCredentials } from "./commands/credentials.js";
import { registerDeploy } from "./commands/deploy.js";
import { registerDeployment } from "./commands/deployment.js";
import { registerFlowRun } from "./commands/flow-run.js";
import { registerIdentity } from "./commands/identity.js";
import { registerProfile } from "./commands/profile.js";
import { registerQuota } from "./commands/quota.js";
import { registerServer } from "./commands/server.js";
import type { Registrar, RunState } from "./commands/shared.js";
import { registerUi } from "./commands/ui.js";
import { registerWorkPool } from "./commands/work-pool.js";
import { registerVariable } from "./commands/variable.js";
import { registerSecret } from "./commands/secret.js";
import { VERSION } from "./context.js";
import { EXIT_CODES_HELP, ExitCode, exitCodeFor, ferryErrorCode } from "./exit-codes.js";
import type { Io } from "./io.js";
import { useColor } from "./output.js";

const REGISTRARS: Registrar[] = [
  registerServer,
  registerProfile,
  registerApiKey,
  registerOidcTrust,
  registerWorkPool,
  registerCredentials,
  registerVariable,
  registerSecret,
  registerDeploy,
  registerDeployment,
  registerFlowRun,
  registerQuota,
  registerUi,
  registerAdmin,
  registerIdentity,
  registerCompletion,
];

const ENVIRONMENT_HELP = `Environment:
  FERRY_HOME      where profiles.json lives (default ~/.ferry); also the server's data directory
  FERRY_PROFILE   profile to use instead of the active one
  FERRY_API_URL   server URL, overrides the profile's
  FERRY_API_KEY   API key, overrides the profile's (safer than --api-key)
  FERRY_ADMIN_TOKEN  operator token for 'ferry admin'
  FERRY_PROVIDERS    provider packages whose client plugins to load (provisioning, registry logins),
                     besides those of the server's pool types and the profile's providers
  FERRY_PROVIDER_OPTIONS  JSON options of those plugins, by package
  NO_COLOR        plain output even on a terminal`;

export function createProgram(io: Io, state: RunState): Command {
  const program = new Command("ferry")
    .description("Ferry: run flows on compute you do not manage. Work pools, deployments and flow runs from the command line.")
    .version(VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help for a command")
    .option("--profile <name>", "profile to use (default: the active one; env FERRY_PROFILE)")
    .option("--api-url <url>", "server URL (env FERRY_API_URL)")
    .option("--api-key <key>", "API key; prefer env FERRY_API_KEY, a flag shows in process lists and shell history")
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`${errorLabel(io)} ${text.replace(/^error: /, "")}`),
    })
    .configureHelp({ showGlobalOptions: true })
    .addHelpText("after", `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}\n`);
  for (const register of REGISTRARS) register(program, { io, state });
  return program;
}

/** Runs the CLI with `argv` (without `node ferry`) and returns the exit code; never calls `process.exit`. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const state: RunState = { exitCode: ExitCode.ok, argv };
  const program = createProgram(io, state);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.unknownOption" && state.usageHint) io.stderr.write(`Hint: ${state.usageHint}\n`);
      // Help and --version end with code 0; everything else commander reports is a usage error.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if ((error as Error)?.name === "ExitPromptError") {
      // Ctrl+C at a prompt: the person chose to stop, nothing failed.
      io.stderr.write("Cancelled.\n");
      return ExitCode.interrupted;
    }
    await reportError(io, state, error);
    return exitCodeFor(error);
  }
}

async function reportError(io: Io, state: RunState, error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`${errorLabel(io)} ${message}\n`);
  const hint = await hintFor(state, error);
  if (hint) io.stderr.write(`Hint: ${hint}\n`);
  if (io.env.FERRY_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
}

function errorLabel(io: Io): string {
  return pc.createColors(useColor(io.env, io.stderr.isTTY)).red("Error:");
}

/** What the server cannot know: where this CLI got the URL or key it used. */
async function hintFor(state: RunState, error: unknown): Promise<string | null> {
  const code = ferryErrorCode(error);
  if (!code || !state.context) return null;
  let settings;
  try {
    settings = await state.context.settings();
  } catch {
    return null;
  }
  const from = (source: string, what: string) =>
    source === "flag" ? `the --${what} flag` : source === "env" ? `FERRY_${what.replace("-", "_").toUpperCase()}` : `profile '${settings.profileName}' (${settings.profilesPath})`;
  // No URL: the command talked to no server (e.g. `server start` whose store did not start).
  if ((code === "network" || code === "unavailable") && settings.apiUrl) {
    return `the URL ${settings.apiUrl} comes from ${from(settings.sources.apiUrl, "api-url")}; is the server running there? Check with 'ferry profile inspect'`;
  }
  if (code === "unauthenticated" && state.context.usedAuth === "api-key" && settings.apiKey) {
    return `the API key comes from ${from(settings.sources.apiKey, "api-key")}; it may be revoked or belong to another server`;
  }
  if (code === "unauthenticated" && state.context.usedAuth === "admin-token" && settings.adminToken) {
    return `the admin token comes from ${from(settings.sources.adminToken, "admin-token")}; it must match the server's FERRY_HOME/admin-token`;
  }
  return null;
}
