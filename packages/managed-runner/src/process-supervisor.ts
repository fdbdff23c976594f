/**
 * The process backend's supervisor, one per run: `node process-supervisor.js <run directory>`, started
 * detached by ProcessRunnerBackend with a SupervisorLaunch as JSON on stdin. It starts the engine in a
 * process group of its own, kills that group if it goes over the memory limit, keeps the output tail,
 * and writes the exit record. It outlives the server that started it, so another server process can
 * find the run and wait for it. A SIGTERM to it is a stop: TERM to the group, KILL after the grace.
 *
 * Only this file's own imports load here (no @ferry/core at run time): a supervisor starts per run.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { rm } from "node:fs/promises";
import { createInterface } from "node:readline";
import { finished } from "node:stream/promises";
import { LineTail } from "./line-tail.js";
import { exitCodeOf, readJson, runFile, writeJsonAtomic, type ExitRecord, type SupervisorHandoff, type SupervisorLaunch, type SupervisorRecord, type WarmRecord } from "./process-state.js";
import { listProcesses, procAvailable, processStartTime, signal, treeMembers, treeRssBytes } from "./process-tree.js";

const MIB = 1024 * 1024;
const WARM_FILE = "warm.json";

async function main(initialDir: string): Promise<void> {
  let dir = initialDir;
  let stop: (() => void) | null = null;
  let stopRequested = false;
  // A stop can come before the engine runs; the session has no terminal, so HUP and INT are someone else's.
  process.on("SIGTERM", () => {
    stopRequested = true;
    stop?.();
  });
  process.on("SIGHUP", () => {});
  process.on("SIGINT", () => {});

  const stdin = stdinLines();
  const launch = JSON.parse((await stdin.next()) ?? "") as SupervisorLaunch;
  const tail = new LineTail(launch.tailLines);
  const [program, ...args] = launch.command;
  const child = spawn(program!, args, { cwd: launch.cwd, env: launch.env, detached: true, stdio: [launch.warm ? "pipe" : "ignore", "pipe", "pipe"] });
  child.stdin?.on("error", () => {}); // an engine that died is reported by its exit
  // Read the output from the start: once the engine exits, Node resumes its unread pipes, and output no
  // listener takes by then is gone (a quick run's whole output, when the awaits below are slow).
  let dirty = false;
  for (const [name, stream] of [["out", child.stdout!], ["err", child.stderr!]] as const) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      tail.push(name, chunk);
      dirty = true;
    });
  }
  // Not events.once: it would reject on the spawn "error" event, which is handled just below.
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once("exit", (code, sig) => resolve([code, sig])));
  const spawnError = await new Promise<Error | null>((resolve) => {
    child.once("spawn", () => resolve(null));
    child.once("error", resolve);
  });
  let startedAt = new Date().toISOString();
  if (spawnError) {
    const message = `could not start ${JSON.stringify(program)}: ${spawnError.message}`;
    await writeExit(dir, { exitCode: 127, oomKilled: false, startedAt, finishedAt: startedAt, tail: [`[ferry] ${message}`], spawnError: message });
    return;
  }
  child.on("error", (error) => process.stderr.write(`signalling the engine failed: ${error.message}\n`));
  const pgid = child.pid!;

  let ended = false;
  const killTree = async (sig: NodeJS.Signals) => {
    signal(-pgid, sig);
    // Descendants that left the group (setsid) are still the run's.
    if (procAvailable()) for (const pid of treeMembers(await listProcesses(), pgid, pgid)) if (pid !== process.pid) signal(pid, sig);
  };

  if (launch.warm) {
    const record: WarmRecord = {
      supervisorPid: process.pid,
      supervisorStartTime: await processStartTime(process.pid),
      enginePid: pgid,
      engineStartTime: await processStartTime(pgid),
    };
    await writeJsonAtomic(join(dir, WARM_FILE), record);
    // The engine waits; so does this process, until its run comes, its server goes, or the engine ends.
    const terminated = new Promise<"stopped">((resolve) => process.once("SIGTERM", () => resolve("stopped")));
    const next = stopRequested ? "stopped" : await Promise.race([stdin.next(), exited.then(() => "engine-ended" as const), terminated]);
    if (next === null || next === "engine-ended" || next === "stopped") {
      ended = true;
      await killTree("SIGKILL");
      await rm(dir, { recursive: true, force: true });
      return;
    }
    const handoff = JSON.parse(next) as SupervisorHandoff;
    dir = handoff.dir;
    child.stdin!.end(handoff.engineLine);
    // The run's compute time starts here: the wait was nobody's.
    startedAt = new Date().toISOString();
  }

  try {
    const record: SupervisorRecord = {
      supervisorPid: process.pid,
      supervisorStartTime: await processStartTime(process.pid),
      enginePid: pgid,
      engineStartTime: await processStartTime(pgid),
      startedAt,
    };
    await writeJsonAtomic(runFile(dir, "supervisor"), record);

    let flushing = false;
    const flushTimer = setInterval(() => {
      if (!dirty || flushing || ended) return;
      dirty = false;
      flushing = true;
      writeJsonAtomic(runFile(dir, "tail"), tail.snapshot())
        .catch((error: Error) => process.stderr.write(`writing the tail failed: ${error.message}\n`))
        .finally(() => (flushing = false));
    }, 500);

    let oomKilled = false;
    let measuring = false;
    const memoryTimer = procAvailable()
      ? setInterval(() => {
          if (measuring || oomKilled || ended) return;
          measuring = true;
          treeRssBytes(pgid, pgid)
            .then(async (rss) => {
              if (rss <= launch.memoryLimitBytes || ended) return;
              oomKilled = true;
              tail.push("ferry", `[ferry] the run used ${Math.round(rss / MIB)} MiB, over its ${Math.round(launch.memoryLimitBytes / MIB)} MiB limit, and was killed\n`);
              await killTree("SIGKILL");
            })
            .catch((error: Error) => process.stderr.write(`measuring memory failed: ${error.message}\n`))
            .finally(() => (measuring = false));
        }, launch.memoryPollMs)
      : null;

    let graceTimer: NodeJS.Timeout | undefined;
    stop = () => {
      if (graceTimer || ended) return;
      signal(-pgid, "SIGTERM");
      graceTimer = setTimeout(() => void killTree("SIGKILL"), launch.stopGraceSeconds * 1000);
    };
    if (stopRequested) stop();

    const [code, sig] = await exited;
    const finishedAt = new Date().toISOString();
    ended = true;
    clearInterval(flushTimer);
    if (memoryTimer) clearInterval(memoryTimer);
    clearTimeout(graceTimer);
    // Like a container whose PID 1 ended: nothing the engine started outlives it.
    await killTree("SIGKILL");
    const drained = Promise.all([finished(child.stdout!), finished(child.stderr!)]).catch(() => undefined);
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    const stopNote = await readJson<{ reason: string }>(runFile(dir, "stop"));
    await writeExit(dir, {
      exitCode: exitCodeOf(code, sig),
      oomKilled,
      startedAt,
      finishedAt,
      tail: tail.snapshot(),
      ...(stopNote ? { stopReason: stopNote.reason } : {}),
    });
  } catch (error) {
    // Never leave a run without an exit record while its engine may still run.
    ended = true;
    await killTree("SIGKILL").catch(() => undefined);
    const message = `[ferry] the run's supervisor failed: ${(error as Error).message}`;
    const now = new Date().toISOString();
    await writeExit(dir, { exitCode: 255, oomKilled: false, startedAt, finishedAt: now, tail: [...tail.snapshot(), message] });
    throw error;
  }
}

async function writeExit(dir: string, record: ExitRecord): Promise<void> {
  await writeJsonAtomic(runFile(dir, "exit"), record);
}

/** Lines of stdin, one per call; null at its end. A launch without a newline is one line too. */
function stdinLines(): { next(): Promise<string | null> } {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
  return { next: async () => ((await lines.next()) as IteratorResult<string, undefined>).value ?? null };
}

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: process-supervisor.js <run directory>, with the launch as JSON on stdin\n");
  process.exit(2);
}
main(dir).then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`${new Date().toISOString()} ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
