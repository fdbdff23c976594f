// `npm run bench`: see ../README.md. Prints figures; it judges nothing and fails only when it could
// not measure. Each store, and managed execution on each runner backend, is measured in a child process
// of its own (this file again, with --child-store or --child-runner), so the figures of one, its memory
// above all, do not include another's.
import { fork } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { benchManaged, dockerProblem, type ManagedFigures, type ManagedOutcome } from "./managed-bench.js";
import { BenchUsageError, parseBenchOptions, USAGE, type BenchOptions, type RunnerKind, type StoreKind } from "./options.js";
import { buildReport, formatReport, type StoreOutcome } from "./report.js";
import { benchStore, type StoreFigures } from "./store-bench.js";
import { benchUi, uiProblem, type UiFigures, type UiOutcome } from "./ui-bench.js";

const DEFAULT_CLI = fileURLToPath(new URL("../../apps/cli/dist/ferry.js", import.meta.url));
const SELF = fileURLToPath(import.meta.url);

type ChildMessage<F> = { ok: true; figures: F } | { ok: false; message: string };
type Target = { store: StoreKind } | { runner: RunnerKind; warmEngines: number } | { ui: true };

export async function run(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  let options: BenchOptions | null;
  try {
    options = parseBenchOptions(argv, env, DEFAULT_CLI);
  } catch (error) {
    if (error instanceof BenchUsageError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }

  let cliSkipped: string | null = null;
  if (!options.cliPath) cliSkipped = "--cli-iterations is 0";
  else if (!existsSync(options.cliPath)) {
    cliSkipped = `${options.cliPath} does not exist (build apps/cli first)`;
    options = { ...options, cliPath: null };
  }
  if (options.childStore) {
    const store = options.childStore;
    return measureHere(store, store === "postgres" ? " and dropping the bench database" : "", (hooks) =>
      benchStore(store, { ...hooks, options, baseEnv: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)) }),
    );
  }
  if (options.childRunner) {
    const runner = options.childRunner;
    const warmEngines = options.childWarmEngines ?? 0;
    return measureHere(`managed on ${runner}, FERRY_WARM_ENGINES=${warmEngines}`, " and its runs", (hooks) => benchManaged(runner, warmEngines, { ...hooks, options }));
  }
  if (options.childUi) {
    const measured = options;
    return measureHere("the web UI", " and the browser", (hooks) => benchUi({ ...hooks, options: measured }));
  }

  let interrupted = false;
  const children = new Set<ReturnType<typeof fork>>();
  const onSigint = () => {
    interrupted = true;
    for (const child of children) child.kill("SIGINT");
  };
  process.on("SIGINT", onSigint);

  const outcomes: StoreOutcome[] = [];
  for (const store of options.stores) {
    if (interrupted) break;
    const postgres = options.postgres;
    if (store === "postgres" && postgres.url === null) {
      console.error(`PostgreSQL: skipped, ${postgres.reason}`);
      outcomes.push({ store, skipped: postgres.reason });
      continue;
    }
    outcomes.push(await measureInChild<StoreFigures, { store: StoreKind }>({ store }, argv, children));
  }

  let managed: ManagedOutcome[] | null = null;
  if (options.managed) {
    managed = [];
    for (const runner of options.runners) {
      const problem = runner === "docker" ? await dockerProblem() : null;
      for (const warmEngines of options.warmEngines) {
        if (interrupted) break;
        if (problem) {
          console.error(`managed on docker: skipped, ${problem}`);
          managed.push({ runner, warmEngines, skipped: problem });
          continue;
        }
        managed.push(await measureInChild<ManagedFigures, { runner: RunnerKind; warmEngines: number }>({ runner, warmEngines }, argv, children));
      }
    }
  }
  let ui: UiOutcome | null = null;
  if (options.ui && !interrupted) {
    const problem = uiProblem(env);
    if (problem) {
      console.error(`web UI: skipped, ${problem}`);
      ui = { ui: true, skipped: problem };
    } else {
      ui = await measureInChild<UiFigures, { ui: true }>({ ui: true }, argv, children);
    }
  }
  process.off("SIGINT", onSigint);
  if (interrupted) return 130;

  const report = buildReport(options, outcomes, cliSkipped, managed, ui);
  if (options.json) {
    const json = `${JSON.stringify(report, null, 2)}\n`;
    if (options.out) {
      writeFileSync(options.out, json);
      console.log(formatReport(report));
      console.log(`\nJSON written to ${options.out}`);
    } else {
      process.stdout.write(json);
    }
  } else {
    console.log(formatReport(report));
  }
  return outcomes.some((o) => "failed" in o) || managed?.some((o) => "failed" in o) || (ui !== null && "failed" in ui) ? 1 : 0;
}

/** Runs this script again for one store or runner backend and takes its figures over IPC. */
function measureInChild<F, T extends Target>(target: T, argv: readonly string[], children: Set<ReturnType<typeof fork>>): Promise<F | (T & { failed: string })> {
  return new Promise((resolve) => {
    const flag =
      "store" in target
        ? ["--child-store", target.store]
        : "runner" in target
          ? ["--child-runner", target.runner, "--child-warm-engines", String(target.warmEngines)]
          : ["--child-ui"];
    // `advanced` serialisation keeps NaN (a figure with no observations) as NaN rather than null.
    const child = fork(SELF, [...argv, ...flag], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    children.add(child);
    let message: ChildMessage<F> | undefined;
    child.on("message", (m: ChildMessage<F>) => {
      message = m;
    });
    child.once("error", (error) => {
      message ??= { ok: false, message: error.message };
    });
    child.once("exit", (code, signal) => {
      children.delete(child);
      if (message?.ok) resolve(message.figures);
      else resolve({ ...target, failed: message?.message ?? `the measuring process ended (${signal ?? `exit code ${code}`}) without figures` });
    });
  });
}

interface ChildHooks {
  progress(message: string): void;
  onInterrupt(cleanup: () => Promise<void>): () => void;
}

/** The child's side: measure one thing, hand the figures to the parent, clean up on Ctrl-C. */
async function measureHere<F>(what: string, alsoStopping: string, measure: (hooks: ChildHooks) => Promise<F>): Promise<number> {
  if (!process.send) {
    console.error("--child-store and --child-runner are internal to the bench; run it without them");
    return 2;
  }
  const cleanups = new Set<() => Promise<void>>();
  let stopping: Promise<void> | null = null;
  // `on`, not `once`: a terminal's Ctrl-C reaches this process and the parent forwards it too.
  process.on("SIGINT", () => {
    if (stopping) return;
    console.error(`\n${what}: interrupted, stopping the server${alsoStopping}`);
    stopping = Promise.allSettled([...cleanups].map((c) => c())).then(() => process.exit(130));
  });
  let message: ChildMessage<F>;
  try {
    const figures = await measure({
      progress: (line) => console.error(`· ${line}`),
      onInterrupt: (cleanup) => {
        cleanups.add(cleanup);
        return () => cleanups.delete(cleanup);
      },
    });
    message = { ok: true, figures };
  } catch (error) {
    // Interrupted: the measurement failed because its server was closed under it; let cleanup finish.
    if (stopping) await stopping;
    console.error(`${what}: could not be measured:`, error);
    message = { ok: false, message: (error as Error).message };
  }
  await new Promise<void>((resolve, reject) => process.send!(message, (error: Error | null) => (error ? reject(error) : resolve())));
  return message.ok ? 0 : 1;
}

// Exit explicitly: a keep-alive socket or a store handle left behind must not hold the report hostage.
run(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
