// `npm run bench`: see ../README.md. Prints figures; it judges nothing and fails only when it could
// not measure. Each store is measured in a child process of its own (this file again, with
// --child-store), so the figures of one store, its memory above all, do not include the other's.
import { fork } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BenchUsageError, parseBenchOptions, USAGE, type BenchOptions, type StoreKind } from "./options.js";
import { buildReport, formatReport, type StoreOutcome } from "./report.js";
import { benchStore, type StoreFigures } from "./store-bench.js";

const DEFAULT_CLI = fileURLToPath(new URL("../../apps/cli/dist/ferry.js", import.meta.url));
const SELF = fileURLToPath(import.meta.url);

type ChildMessage = { ok: true; figures: StoreFigures } | { ok: false; message: string };

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
  if (options.childStore) return measureHere(options.childStore, options, env);

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
    outcomes.push(await measureInChild(store, argv, children));
  }
  process.off("SIGINT", onSigint);
  if (interrupted) return 130;

  const report = buildReport(options, outcomes, cliSkipped);
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
  return outcomes.some((o) => "failed" in o) ? 1 : 0;
}

/** Runs this script again for one store and takes its figures over IPC. */
function measureInChild(store: StoreKind, argv: readonly string[], children: Set<ReturnType<typeof fork>>): Promise<StoreOutcome> {
  return new Promise((resolve) => {
    // `advanced` serialisation keeps NaN (a figure with no observations) as NaN rather than null.
    const child = fork(SELF, [...argv, "--child-store", store], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    children.add(child);
    let message: ChildMessage | undefined;
    child.on("message", (m: ChildMessage) => {
      message = m;
    });
    child.once("error", (error) => {
      message ??= { ok: false, message: error.message };
    });
    child.once("exit", (code, signal) => {
      children.delete(child);
      if (message?.ok) resolve(message.figures);
      else resolve({ store, failed: message?.message ?? `the measuring process ended (${signal ?? `exit code ${code}`}) without figures` });
    });
  });
}

/** The child's side: measure one store, hand the figures to the parent, clean up on Ctrl-C. */
async function measureHere(store: StoreKind, options: BenchOptions, env: Record<string, string | undefined>): Promise<number> {
  if (!process.send) {
    console.error("--child-store is internal to the bench; run it without that flag");
    return 2;
  }
  const cleanups = new Set<() => Promise<void>>();
  let stopping: Promise<void> | null = null;
  // `on`, not `once`: a terminal's Ctrl-C reaches this process and the parent forwards it too.
  process.on("SIGINT", () => {
    if (stopping) return;
    console.error(`\n${store}: interrupted, stopping the server${store === "postgres" ? " and dropping the bench database" : ""}`);
    stopping = Promise.allSettled([...cleanups].map((c) => c())).then(() => process.exit(130));
  });
  let message: ChildMessage;
  try {
    const figures = await benchStore(store, {
      options,
      baseEnv: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
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
    console.error(`${store}: could not be measured:`, error);
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
