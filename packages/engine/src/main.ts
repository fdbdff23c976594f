import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { ENGINE_ENV, WARM_ENGINE_READY } from "@ferry/core";
import { exchangeBootstrapToken, ferryEngineApi } from "./api.js";
import { parseEngineConfig, type EngineConfig } from "./config.js";
import { runEngine } from "./engine.js";
import { isEngineError } from "./errors.js";
import { readHandoff } from "./handoff.js";

declare const __ENGINE_VERSION__: string | undefined;
const ENGINE_VERSION = typeof __ENGINE_VERSION__ === "string" ? __ENGINE_VERSION__ : "dev";

/**
 * The engine's entry: reads its environment once, runs the flow run, and turns the result into an
 * exit code: 0 once a final state is reported, 143 when stopped by SIGTERM, 1 when the final state
 * could not be reported (the server then marks the run from the exit), 2 for a bad environment.
 */
async function main(): Promise<number> {
  let env: Record<string, string | undefined> = process.env;
  if (process.env[ENGINE_ENV.warm] === "1") {
    // Warm: loaded and waiting; the run arrives on stdin and its environment replaces this one.
    console.log(WARM_ENGINE_READY);
    try {
      const handoff = await readHandoff(process.stdin);
      if (!handoff) return 0; // the server that made this engine is gone: there is no run
      env = handoff;
      // The backend may have moved this engine's directory to its run's (the process backend renames
      // it), and Node caches the working directory's path: re-read it, or tools spawned without an
      // explicit cwd (esbuild's service) would be given a path that no longer exists.
      try {
        process.chdir(".");
      } catch {
        // A directory removed outright: every tool the engine runs is given its own cwd anyway.
      }
      // At once: a container's first output line marks when its run's time starts (see the Docker backend).
      console.log(`[engine] warm engine handed flow run ${handoff[ENGINE_ENV.flowRunId] ?? "(none)"}`);
    } catch (error) {
      console.error(`[engine] ${(error as Error).message}`);
      return 2;
    }
  }
  let parsed;
  try {
    parsed = parseEngineConfig(env, {
      scratchRoot: tmpdir(),
      shimDir: fileURLToPath(new URL("./shims/", import.meta.url)),
    });
  } catch (error) {
    console.error(`[engine] ${(error as Error).message}`);
    return isEngineError(error, "invalid_config") ? 2 : 1;
  }

  const { credential, ...rest } = parsed;
  let runToken: string;
  try {
    runToken = credential.kind === "run-token"
      ? credential.token
      : await exchangeBootstrapToken({ apiUrl: rest.apiUrl, bootstrapToken: credential.token, flowRunId: rest.flowRunId, engineVersion: ENGINE_VERSION });
  } catch (error) {
    // Nothing can be reported without a run token: the runner's exit record says why.
    console.error(`[engine] could not exchange the run's bootstrap token for its run token: ${(error as Error).message}`);
    return isEngineError(error, "invalid_config") ? 2 : 1;
  }
  const config: EngineConfig = { ...rest, runToken };

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) return;
    console.log(`[engine] ${signal}: stopping the flow`);
    stop.abort();
    // Whatever happens, be gone before the runner's kill: the flow's grace, then a little for the logs.
    setTimeout(() => process.exit(143), config.stopGraceMs + 2000).unref();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  const api = ferryEngineApi({ apiUrl: config.apiUrl, runToken: config.runToken, flowRunId: config.flowRunId, engineVersion: ENGINE_VERSION });
  const result = await runEngine(config, {
    api,
    signal: stop.signal,
    print: (line) => console.log(line),
    engineVersion: ENGINE_VERSION,
  });
  switch (result.kind) {
    case "reported":
      return 0;
    case "stopped":
      return 143;
    case "unreported":
      return 1;
    case "killed":
      // As if the engine itself had been killed: the runner's exit record says why.
      return 137;
  }
}

main().then(
  // Exit at once: an idle keep-alive connection to the server must not hold the run open.
  (code) => process.exit(code),
  (error: unknown) => {
    // A bug: say so where the runner's tail will show it. The run token never appears in a stack.
    console.error(`[engine] the engine failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
