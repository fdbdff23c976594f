import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { afterEach, expect, it } from "vitest";
import { FerryClient, isFerryError, isTerminal, type FlowRun } from "@ferry/core";
import { freshDatabase, type StoreKind } from "../support/databases.js";

const SERVER = new URL("../fixtures/server-process.mjs", import.meta.url).pathname;
const CLOUD = pathToFileURL(new URL("../fixtures/dir-cloud.mjs", import.meta.url).pathname).href;

/** The seed of this run of the suite: printed, and taken from FERRY_RELIABILITY_SEED to replay one. */
export const SEED = Number(process.env.FERRY_RELIABILITY_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a small seeded generator, so a failing sequence of kills can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ServerProc {
  child: ChildProcess;
  url: string;
  apiKey: string | null;
}

function startProcess(env: Record<string, string>): Promise<ServerProc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) => reject(new Error(`the server exited with ${code} before it listened: ${stderr}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith('{"url"')) return;
      const info = JSON.parse(line) as { url: string; apiKey: string | null };
      child.removeAllListeners("exit");
      resolve({ child, ...info });
    });
  });
}

function killHard(proc: ServerProc): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.child.once("exit", () => resolve());
    proc.child.kill("SIGKILL");
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the directory platform holds: jobs by run, and which were stopped. */
function platform(dir: string) {
  const jobs = () =>
    existsSync(join(dir, "jobs"))
      ? readdirSync(join(dir, "jobs")).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(readFileSync(join(dir, "jobs", f), "utf8")) as { id: string; runId: string; at: number; config: { outcome: string } })
      : [];
  return {
    jobsOf: (runId: string) => jobs().filter((j) => j.runId === runId),
    stopped: (jobId: string) => existsSync(join(dir, "stops", `${jobId}.json`)),
  };
}

interface Acked {
  run: FlowRun;
  outcome: "complete" | "hang";
  /** A cancel of it was answered (CANCELLING or CANCELLED). */
  cancelled: boolean;
  /** A cancel of it was sent and its answer never came (the kill): it may or may not have been stored. */
  maybeCancelled?: boolean;
}

async function until<T>(what: string, fn: () => Promise<T | null>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (seed ${SEED})`);
    await sleep(50);
  }
}

/**
 * Each test starts server processes several times: a start takes about a second on an idle machine,
 * far longer on a loaded one. The work is bounded (three rounds of a few requests); this only leaves
 * room for a slow machine.
 */
const SLOW_MACHINE = { timeout: 300_000 };

/**
 * A real server process on `kind`'s store, killed with SIGKILL at random points of its runs' lives
 * (being submitted, pending, running, being cancelled, refused a stop) and started again on the same
 * data, a few times; then the promises the API made are checked: every acknowledged run exists and
 * ends, at most one job per run, every acknowledged cancel is carried out (the run CANCELLED and its
 * job stopped), every run not cancelled completes (one killed before its job started is submitted
 * after the restart), and nothing is CRASHED.
 */
export function reliabilitySuite(kind: StoreKind): void {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function environment(sweepIntervalMs = 100) {
    const home = mkdtempSync(join(tmpdir(), "ferry-reliability-"));
    const cloud = join(home, "cloud");
    const db = kind === "postgres" ? await freshDatabase() : null;
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    if (db) cleanups.push(() => db.drop());
    const env = (name: string): Record<string, string> => ({
      FERRY_HOME: join(home, name),
      FERRY_PORT: "0",
      FERRY_LOG_LEVEL: "warn",
      FERRY_RUNNER: "none",
      FERRY_SWEEP_INTERVAL_MS: String(sweepIntervalMs),
      FERRY_PROVIDERS: CLOUD,
      FERRY_PROVIDER_OPTIONS: JSON.stringify({ [CLOUD]: { dir: cloud } }),
      ...(db ? { FERRY_DATABASE_URL: db.url } : { FERRY_STORE: "pglite" }),
    });
    const start = async (name = "a") => {
      const proc = await startProcess(env(name));
      cleanups.push(() => killHard(proc));
      return proc;
    };
    return { start, platform: platform(cloud) };
  }

  async function deployment(client: FerryClient): Promise<string> {
    await client.api.createWorkPool({ body: { name: "dir", type: "dir:push" } });
    const { deployment } = await client.api.applyDeployment({
      body: { flow_name: "etl", name: "dir", work_pool: "dir", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "etl.py:etl" },
    });
    return deployment.id;
  }

  it("keeps every promise across kill -9 restarts at random points of the runs' lives", SLOW_MACHINE, async () => {
    console.log(`reliability seed (${kind}): ${SEED}; replay with FERRY_RELIABILITY_SEED=${SEED}`);
    const rand = random(SEED + (kind === "postgres" ? 1 : 0));
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
    const { start, platform: cloud } = await environment();
    let server = await start();
    const apiKey = server.apiKey!;
    let client = new FerryClient({ apiUrl: server.url, apiKey });
    const deploymentId = await deployment(client);
    const acked = new Map<string, Acked>();

    for (let round = 0; round < 3; round++) {
      // A few requests, one after another with small random gaps, each acknowledged by its answer; then
      // one more left in flight, and the kill at a random moment after it.
      const live = client;
      const operation = async () => {
        const unfinished = [...acked.values()].filter((a) => !a.cancelled);
        try {
          if (unfinished.length && rand() < 0.35) {
            const target = pick(unfinished);
            target.maybeCancelled = true;
            const answer = await live.api.cancelFlowRun({ params: { id: target.run.id }, body: { reason: `round ${round}` } });
            if (answer.state.type === "CANCELLING" || answer.state.type === "CANCELLED") target.cancelled = true;
          } else {
            const outcome = rand() < 0.4 ? "hang" : "complete";
            const jobVariables = {
              outcome,
              duration_ms: Math.floor(rand() * 600),
              submit_delay_ms: rand() < 0.3 ? Math.floor(rand() * 800) : 0,
              refuse_stops: rand() < 0.3 ? 1 + Math.floor(rand() * 2) : 0,
            };
            const { flow_run } = await live.api.createFlowRun({ params: { id: deploymentId }, body: { job_variables: jobVariables } });
            acked.set(flow_run.id, { run: flow_run, outcome, cancelled: false });
          }
        } catch (error) {
          // A run that already ended cannot be cancelled; anything else is a failure of the server.
          if (!isFerryError(error, "invalid_transition")) throw error;
        }
      };
      const count = 3 + Math.floor(rand() * 4);
      for (let i = 0; i < count; i++) {
        await operation();
        await sleep(rand() * 150);
      }
      const inFlight = operation().catch(() => undefined); // cut short by the kill, or answered just before it
      await sleep(rand() * 600);
      await killHard(server);
      await inFlight;
      server = await start();
      client = new FerryClient({ apiUrl: server.url, apiKey });
    }

    // Runs that hang end only when cancelled: cancel those left, on the last server.
    for (const a of acked.values()) {
      if (a.outcome !== "hang" || a.cancelled) continue;
      try {
        const answer = await client.api.cancelFlowRun({ params: { id: a.run.id }, body: {} });
        expect(["CANCELLING", "CANCELLED"]).toContain(answer.state.type);
      } catch (error) {
        // Only a cancel sent before a kill, stored but never answered, can have ended it already.
        if (!(a.maybeCancelled && isFerryError(error, "invalid_transition"))) throw error;
      }
      a.cancelled = true;
    }

    expect(acked.size).toBeGreaterThan(3);
    for (const a of acked.values()) {
      const final = await until(`run ${a.run.id} to end`, async () => {
        const run = await client.api.getFlowRun({ params: { id: a.run.id } });
        return isTerminal(run.state.type) ? run : null;
      });
      const jobs = cloud.jobsOf(a.run.id);
      const history = (await client.api.getFlowRunHistory({ params: { id: a.run.id } })).items;
      const context = { run: a.run.id, seed: SEED, cancelled: a.cancelled, outcome: a.outcome, final: final.state, jobs, history: history.map((h) => h.name) };
      expect(jobs.length, JSON.stringify(context)).toBeLessThanOrEqual(1);
      expect(history.filter((h) => h.name === "Submitting").length, JSON.stringify(context)).toBeLessThanOrEqual(1);
      if (a.cancelled) {
        expect(final.state.type, JSON.stringify(context)).toBe("CANCELLED");
        // A job still running when the cancel came was stopped; one that hangs never ends by itself.
        if (a.outcome === "hang" && jobs.length) expect(cloud.stopped(jobs[0]!.id), JSON.stringify(context)).toBe(true);
      } else if (a.maybeCancelled && final.state.type === "CANCELLED") {
        // Its cancel was stored though the kill cut the answer short: carried out all the same.
      } else {
        expect(final.state.type, JSON.stringify(context)).toBe("COMPLETED");
        expect(jobs, JSON.stringify(context)).toHaveLength(1);
      }
    }
    await killHard(server);
  });
}

/**
 * Two servers on one PostgreSQL database: a cancel taken by either is carried out by the server that
 * follows the run, or, once that one is dead (its lease expired), by the sweep of the other.
 */
export function twoServersSuite(): void {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("carries out a cancel taken by the server that does not follow the run, and takes over a dead server's runs", SLOW_MACHINE, async () => {
    const home = mkdtempSync(join(tmpdir(), "ferry-two-servers-"));
    const cloudDir = join(home, "cloud");
    const db = await freshDatabase();
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    cleanups.push(() => db.drop());
    const env = (name: string): Record<string, string> => ({
      FERRY_HOME: join(home, name),
      FERRY_PORT: "0",
      FERRY_LOG_LEVEL: "warn",
      FERRY_RUNNER: "none",
      FERRY_SWEEP_INTERVAL_MS: "100",
      FERRY_PROVIDERS: CLOUD,
      FERRY_PROVIDER_OPTIONS: JSON.stringify({ [CLOUD]: { dir: cloudDir } }),
      FERRY_DATABASE_URL: db.url,
    });
    const a = await startProcess(env("a"));
    cleanups.push(() => killHard(a));
    const b = await startProcess(env("b"));
    cleanups.push(() => killHard(b));
    const apiKey = a.apiKey!;
    const onA = new FerryClient({ apiUrl: a.url, apiKey });
    const onB = new FerryClient({ apiUrl: b.url, apiKey });
    const cloud = platform(cloudDir);
    await onA.api.createWorkPool({ body: { name: "dir", type: "dir:push" } });
    const { deployment } = await onA.api.applyDeployment({
      body: { flow_name: "etl", name: "dir", work_pool: "dir", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "etl.py:etl", job_variables: { outcome: "hang" } },
    });
    const running = async (client: FerryClient) => {
      const { flow_run } = await client.api.createFlowRun({ params: { id: deployment.id }, body: {} });
      await until("RUNNING", async () => ((await client.api.getFlowRun({ params: { id: flow_run.id } })).state.type === "RUNNING" ? true : null));
      return flow_run;
    };
    const endsCancelledAndStopped = async (client: FerryClient, id: string) => {
      const final = await until(`run ${id} to end`, async () => {
        const run = await client.api.getFlowRun({ params: { id } });
        return isTerminal(run.state.type) ? run : null;
      });
      expect(final.state.type).toBe("CANCELLED");
      const jobs = cloud.jobsOf(id);
      expect(jobs).toHaveLength(1);
      expect(cloud.stopped(jobs[0]!.id)).toBe(true);
    };

    // Submitted and followed by A, cancelled through B.
    const first = await running(onA);
    expect((await onB.api.cancelFlowRun({ params: { id: first.id }, body: {} })).state.type).toBe("CANCELLING");
    await endsCancelledAndStopped(onB, first.id);

    // Followed by A, which dies; the cancel taken by B is carried out by B once A's lease has expired.
    const second = await running(onA);
    await killHard(a);
    expect((await onB.api.cancelFlowRun({ params: { id: second.id }, body: {} })).state.type).toBe("CANCELLING");
    await endsCancelledAndStopped(onB, second.id);

  });
}
