import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { FerryClient, type Deployment, type DeploymentApply, type FlowRun, type LogLine } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { ENGINE_BUNDLE, runEngineProcess, type EngineExit } from "./engine-process.js";
import { makeRepo, type TestRepo } from "./git-repo.js";

export interface RunOutcome {
  run: FlowRun;
  logs: LogLine[];
  exit: EngineExit;
}

export interface RunEngineOptions {
  env?: Record<string, string>;
  /**
   * What the engine is given to authenticate: a single-use bootstrap token, as the dispatchers give a
   * run's infrastructure (the default), or the run token itself, as for an engine started by hand.
   */
  credential?: "bootstrap" | "run-token";
  apiUrl?: string;
  onStart?: (pid: number, runId: string) => void;
  /** Starts the engine another way than as a child process (e.g. in a container). */
  launch?: (env: Record<string, string>) => Promise<EngineExit>;
}

/** A real server with a managed pool, a git repository of flows, and the built engine run against them. */
export interface EngineHarness {
  /** A scratch folder, removed by stop(). */
  root: string;
  server: RunningServer;
  client: FerryClient;
  repo: TestRepo;
  deploy(name: string, entrypoint: string, extra?: Partial<DeploymentApply>): Promise<Deployment>;
  /** Creates a run, moves it to PENDING as the runner would, and runs the built engine for it. */
  runEngine(deployment: Deployment, parameters?: Record<string, unknown>, options?: RunEngineOptions): Promise<RunOutcome>;
  /** Every log line of a run, in order. */
  allLogs(runId: string): Promise<LogLine[]>;
  /** Stops the server (engines see connections refused), to start it again on the same port and store. */
  stopServer(): Promise<void>;
  startServerAgain(): Promise<void>;
  stop(): Promise<void>;
}

export async function startEngineHarness(flowFiles: Record<string, string>): Promise<EngineHarness> {
  if (!existsSync(ENGINE_BUNDLE)) throw new Error(`${ENGINE_BUNDLE} is missing: run 'npm run build' in packages/engine first`);
  const root = mkdtempSync(join(tmpdir(), "ferry-engine-test-"));
  // On all interfaces, so an engine in a container reaches it through the Docker host gateway. No
  // runner: the tests start each engine themselves, as a runner backend would.
  const config = (port: number) => parseServerConfig({}, { home: join(root, "home"), host: "0.0.0.0", port, logLevel: "warn", providers: [], runner: "none" });
  let server: RunningServer | null = await startServer(config(0));
  const port = Number(new URL(server.url).port);
  const client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
  const admin = new FerryClient({ apiUrl: server.url, adminToken: server.adminToken });
  // Room for the runs of a test file, which end one after another.
  await admin.api.adminUpdateWorkspace({ params: { id: server.bootstrap!.workspaceId }, body: { tier: "pro" } });
  await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
  const repo = makeRepo(join(root, "repo"), flowFiles);

  const allLogs = async (id: string): Promise<LogLine[]> => {
    const out: LogLine[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.api.listFlowRunLogs({ params: { id }, query: { limit: 1000, cursor } });
      out.push(...page.items);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    // The server sorts a run's lines by their id as text (so "10" before "9"): put them in order here.
    return out.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0));
  };

  const running = (): RunningServer => {
    if (!server) throw new Error("the server is stopped");
    return server;
  };

  return {
    root,
    get server() {
      return running();
    },
    client,
    repo,
    allLogs,
    async deploy(name, entrypoint, extra = {}) {
      const body = { flow_name: "engine-test", name, work_pool: "managed", source: { git_url: repo.url, branch: "main" }, entrypoint, ...extra };
      return (await client.api.applyDeployment({ body })).deployment;
    },
    async stopServer() {
      await running().close();
      server = null;
    },
    async startServerAgain() {
      server = await startServer(config(port));
    },
    async runEngine(deployment, parameters = {}, options = {}) {
      const { flow_run: created } = await client.api.createFlowRun({ params: { id: deployment.id }, body: { parameters } });
      expect(created.state.type).toBe("SCHEDULED");
      await client.api.setFlowRunState({ params: { id: created.id }, body: { type: "PENDING" } });
      const env = {
        FERRY_API_URL: options.apiUrl ?? running().url,
        FERRY_FLOW_RUN_ID: created.id,
        ...(options.credential === "run-token"
          ? { FERRY_RUN_TOKEN: await running().issueRunToken(created.id) }
          : { FERRY_BOOTSTRAP_TOKEN: await running().issueBootstrapToken(created.id) }),
        ...options.env,
      };
      const exit = options.launch
        ? await options.launch(env)
        : await runEngineProcess(env, { onStart: (pid) => options.onStart?.(pid, created.id) });
      const run = await client.api.getFlowRun({ params: { id: created.id } });
      return { run, logs: await allLogs(created.id), exit };
    },
    async stop() {
      await server?.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The messages of these log lines, of one level or source. */
export const messages = (logs: LogLine[], filter: Partial<Pick<LogLine, "level" | "source">> = {}): string[] =>
  logs.filter((l) => (!filter.level || l.level === filter.level) && (!filter.source || l.source === filter.source)).map((l) => l.message);

/** What a failed expectation on a run shows: its state and what the engine printed. */
export const explain = (o: RunOutcome): string => `state ${o.run.state.type}: ${o.run.state.message}\n${o.exit.output}`;
