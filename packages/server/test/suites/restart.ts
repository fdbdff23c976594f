import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, expect, it } from "vitest";
import { FerryClient, type FlowRun } from "@ferry/core";
import { freshDatabase, type StoreKind } from "../support/databases.js";

const FIXTURE = new URL("../fixtures/server-process.mjs", import.meta.url).pathname;

interface Proc {
  child: ChildProcess;
  url: string;
  apiKey: string | null;
}

function startProcess(env: Record<string, string>): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      if (!line.startsWith("{\"url\"")) return;
      const info = JSON.parse(line) as { url: string; apiKey: string | null };
      resolve({ child, ...info });
    });
  });
}

function kill(proc: Proc, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    proc.child.removeAllListeners("exit");
    proc.child.once("exit", () => resolve());
    proc.child.kill(signal);
  });
}

async function until(fn: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const journalEntries = (file: string, runId: string) =>
  existsSync(file)
    ? readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { runId: string }).filter((e) => e.runId === runId)
    : [];

/** A server process killed mid-dispatch and started again on the same store, of `kind`. */
export function restartSuite(kind: StoreKind): void {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup() {
    const home = mkdtempSync(join(tmpdir(), "ferry-restart-"));
    const journal = join(home, "fake-journal.jsonl");
    const db = kind === "postgres" ? await freshDatabase() : null;
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    if (db) cleanups.push(() => db.drop());
    const env: Record<string, string> = {
      FERRY_HOME: home,
      FERRY_PORT: "0",
      FERRY_LOG_LEVEL: "warn",
      FERRY_PROVIDERS: "@ferry/core/testing",
      FERRY_PROVIDER_OPTIONS: JSON.stringify({ "@ferry/core/testing": { journalFile: journal } }),
      ...(db ? { FERRY_DATABASE_URL: db.url } : { FERRY_STORE: "pglite" }),
    };
    const start = async () => {
      const p = await startProcess(env);
      cleanups.push(() => (p.child.exitCode === null && p.child.signalCode === null ? kill(p, "SIGKILL") : undefined));
      return p;
    };
    return { env, journal, start };
  }

  /** A push pool on the fake platform, a deployment with these job variables, and a run of it. */
  async function runOnFirstServer(proc: Proc, name: string, jobVariables: Record<string, unknown>) {
    const client = new FerryClient({ apiUrl: proc.url, apiKey: proc.apiKey! });
    await client.api.createWorkPool({ body: { name: "push", type: "fake:push" } });
    const { deployment } = await client.api.applyDeployment({
      body: {
        flow_name: "etl", name, work_pool: "push",
        source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "etl.py:etl",
        job_variables: jobVariables,
      },
    });
    const { flow_run } = await client.api.createFlowRun({ params: { id: deployment.id }, body: {} });
    return { client, flow_run };
  }

  it("submits a run caught between creation and submission exactly once after the restart", async () => {
    const { journal, start } = await setup();
    const first = await start();
    // The platform takes 1.5 s to accept a job: the server dies while the submission is in flight.
    const { client, flow_run } = await runOnFirstServer(first, "slow-submit", { submit_delay_ms: 1500 });
    await until(async () => (await client.api.getFlowRun({ params: { id: flow_run.id } })).state.name === "Submitting", "Submitting");
    await kill(first, "SIGKILL");
    expect(journalEntries(journal, flow_run.id)).toHaveLength(0);

    const second = await start();
    const client2 = new FerryClient({ apiUrl: second.url, apiKey: first.apiKey! });
    const final: FlowRun = await client2.waitForRun(flow_run.id);
    expect(final.state.type).toBe("COMPLETED");
    expect(journalEntries(journal, flow_run.id)).toHaveLength(1);
    const history = (await client2.api.getFlowRunHistory({ params: { id: flow_run.id } })).items.map((s) => s.name);
    expect(history.filter((n) => n === "Submitting")).toHaveLength(1);
    await kill(second, "SIGTERM");
  });

  it("does not start a submitted run again after a restart", async () => {
    const { journal, start } = await setup();
    const first = await start();
    const { client, flow_run } = await runOnFirstServer(first, "long", { duration_ms: 60_000 });
    await until(async () => (await client.api.getFlowRun({ params: { id: flow_run.id } })).state.type === "RUNNING", "RUNNING");
    await kill(first, "SIGKILL");

    const second = await start();
    const client2 = new FerryClient({ apiUrl: second.url, apiKey: first.apiKey! });
    const final = await client2.waitForRun(flow_run.id);
    // The fake reports a task of an earlier process as finished: the new server follows it, never resubmits.
    expect(final.state.type).toBe("COMPLETED");
    expect(journalEntries(journal, flow_run.id)).toHaveLength(1);
    await kill(second, "SIGTERM");
  });
}
