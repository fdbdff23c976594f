import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { FerryClient, newId, stateChange, type StateType } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import type { BenchOptions } from "./options.js";
import { LogCollector } from "./server-log.js";
import { distribution, type Distribution } from "./stats.js";
import { measureInitialJs, type InitialJs } from "./ui-bundle.js";

/** One page of the UI: where it is and what shows once its main content is rendered. */
export interface UiPageFigures {
  page: string;
  path: string;
  /** Navigation start → main content visible, in ms, over the timed loads (the first, cold, is apart). */
  load: Distribution;
  /** The first load of the page in this browser (nothing of it in the HTTP cache yet beyond the shell). */
  firstMs: number;
}

export interface UiFigures {
  ui: true;
  runs: number;
  loads: number;
  chromium: string;
  initialJs: InitialJs;
  /** How long putting the runs into the store took, in seconds (not a UI figure; for reading the rest). */
  seedSeconds: number;
  pages: UiPageFigures[];
  serverWarnings: number;
  serverWarningSamples: string[];
}

export type UiOutcome = UiFigures | { ui: true; skipped: string } | { ui: true; failed: string };

export interface UiBenchContext {
  options: BenchOptions;
  progress(message: string): void;
  onInterrupt(cleanup: () => Promise<void>): () => void;
}

export function chromiumPath(env: Record<string, string | undefined>): string {
  return env.FERRY_CHROMIUM || "/usr/bin/chromium";
}

/** Why the UI cannot be measured here, or null. */
export function uiProblem(env: Record<string, string | undefined>): string | null {
  const path = chromiumPath(env);
  return existsSync(path) ? null : `no Chromium at ${path} (apt-get install chromium, or set FERRY_CHROMIUM)`;
}

const POOL = "bench-managed";
const FLOW = "etl";
const DEPLOYMENT = "nightly";
const CREDENTIALS = "bench-git";
/** Log lines of the newest run, which the run page shows. */
const LOG_LINES = 200;

/**
 * A server on a fresh embedded store (no runner: the runs are history, put straight into the store),
 * `options.uiRuns` runs of one deployment spread over the last 30 days, then each page of the UI loaded
 * `options.uiLoads` + 1 times in headless Chromium, signed in through a session cookie.
 */
export async function benchUi(ctx: UiBenchContext): Promise<UiFigures> {
  const { options } = ctx;
  const home = mkdtempSync(join(tmpdir(), "ferry-bench-ui-"));
  let server: RunningServer | null = null;
  let browser: Browser | null = null;
  const cleanup = async () => {
    await browser?.close().catch(() => undefined);
    browser = null;
    await server?.close().catch(() => undefined);
    server = null;
    rmSync(home, { recursive: true, force: true });
  };
  const unregister = ctx.onInterrupt(cleanup);
  try {
    const log = new LogCollector();
    server = await startServer(parseServerConfig({}, { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [] }), { runner: null, logStream: log });
    if (!server.bootstrap) throw new Error("a fresh store must bootstrap a workspace and key");
    const { apiKey, workspaceId } = server.bootstrap;
    const client = new FerryClient({ apiUrl: server.url, apiKey });
    const pool = await client.api.createWorkPool({ body: { name: POOL, type: "ferry:managed" } });
    await client.api.createCredentials({ body: { name: CREDENTIALS, type: "git", data: { token: "bench-token", username: "bench" } } });
    const { deployment } = await client.api.applyDeployment({
      body: { flow_name: FLOW, name: DEPLOYMENT, work_pool: POOL, source: { git_url: "https://github.com/ferry-dev/bench.git" }, entrypoint: "flows/etl.py:etl", parameters: { day: "today" } },
    });

    ctx.progress(`UI: putting ${options.uiRuns} runs into the store`);
    const seedStart = performance.now();
    const now = Date.now();
    const span = 30 * 24 * 3600_000;
    let newest = { id: "", name: "" };
    for (let i = 0; i < options.uiRuns; i++) {
      const created = new Date(now - span + ((i + 1) * span) / options.uiRuns - 60_000);
      const type: StateType = i % 20 === 0 ? "FAILED" : i % 50 === 1 ? "CANCELLED" : "COMPLETED";
      const id = newId();
      const name = `bench-run-${String(i).padStart(5, "0")}`;
      await server.store.insertFlowRun({
        id, workspace_id: workspaceId, name, deployment_id: deployment.id, deployment_name: DEPLOYMENT, flow_name: FLOW,
        work_pool_id: pool.id, work_pool: POOL, work_pool_type: "ferry:managed", parameters: { day: created.toISOString().slice(0, 10) },
        job_variables: {}, job_configuration: null, tags: [], idempotency_key: null,
        prior_states: [stateChange("SCHEDULED"), stateChange("PENDING"), stateChange("RUNNING")],
        state: stateChange(type, { message: type === "FAILED" ? "flow raised ValueError: bad input" : null }),
        created_at: created.toISOString(),
      });
      if (i % 5 === 0) {
        const seconds = 30 + (i % 300);
        await server.store.updateFlowRun(id, { start_time: created.toISOString(), end_time: new Date(created.getTime() + seconds * 1000).toISOString(), compute_seconds: seconds });
      }
      newest = { id, name };
      if ((i + 1) % 2000 === 0) ctx.progress(`UI: ${i + 1} runs`);
    }
    await server.store.insertLogs(
      workspaceId,
      newest.id,
      Array.from({ length: LOG_LINES }, (_, i) => ({ level: i % 25 === 0 ? ("warning" as const) : ("info" as const), message: `processed batch ${i + 1} of ${LOG_LINES}`, timestamp: new Date(now - 60_000 + i * 100).toISOString(), source: "flow" })),
    );
    const seedSeconds = (performance.now() - seedStart) / 1000;

    const initialJs = await measureInitialJs(server.url);
    const executablePath = chromiumPath(process.env);
    browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
    const signedOut = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 } });
    const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 } });
    const session = await context.request.post("/api/sessions", { data: { api_key: apiKey } });
    if (session.status() !== 201) throw new Error(`POST /api/sessions answered ${session.status()}: ${await session.text()}`);
    const page = await context.newPage();
    const signInPage = await signedOut.newPage();

    const heading = (p: Page, name: string) => p.getByRole("heading", { name, exact: true });
    const targets: { page: string; path: string; tab: Page; ready: (p: Page) => ReturnType<Page["getByRole"]> }[] = [
      { page: "sign-in", path: "/sign-in", tab: signInPage, ready: (p) => heading(p, "Sign in") },
      { page: "flow runs", path: "/runs", tab: page, ready: (p) => p.getByText(newest.name, { exact: true }).first() },
      { page: "flow run (200 log lines)", path: `/runs/${newest.id}`, tab: page, ready: (p) => p.getByRole("log", { name: "Logs" }).getByText(`processed batch ${LOG_LINES} of ${LOG_LINES}`) },
      { page: "deployments", path: "/deployments", tab: page, ready: (p) => p.getByRole("link", { name: `${FLOW}/${DEPLOYMENT}`, exact: true }) },
      { page: "deployment", path: `/deployments/${deployment.id}`, tab: page, ready: (p) => heading(p, `${FLOW}/${DEPLOYMENT}`) },
      { page: "work pools", path: "/work-pools", tab: page, ready: (p) => p.getByRole("link", { name: POOL, exact: true }) },
      { page: "work pool", path: `/work-pools/${POOL}`, tab: page, ready: (p) => heading(p, POOL) },
      { page: "credentials", path: "/credentials", tab: page, ready: (p) => p.getByRole("button", { name: `Delete ${CREDENTIALS}` }) },
      { page: "quota", path: "/quota", tab: page, ready: (p) => p.getByTestId("quota-compute-hours") },
      { page: "API keys", path: "/api-keys", tab: page, ready: (p) => heading(p, "API keys") },
    ];
    const pages: UiPageFigures[] = [];
    for (const target of targets) {
      const times: number[] = [];
      for (let i = 0; i <= options.uiLoads; i++) {
        // From a blank page each time, so every load is a navigation with its own first render.
        await target.tab.goto("about:blank");
        const start = performance.now();
        await target.tab.goto(target.path, { waitUntil: "commit" });
        try {
          await target.ready(target.tab).waitFor({ state: "visible", timeout: 30_000 });
        } catch (error) {
          const text = (await target.tab.locator("body").innerText().catch(() => "")).slice(0, 500);
          throw new Error(`${target.page} (${target.path}): its main content did not show within 30 s; the page shows: ${text}`, { cause: error });
        }
        times.push(performance.now() - start);
      }
      pages.push({ page: target.page, path: target.path, firstMs: times[0]!, load: distribution(times.slice(1)) });
      ctx.progress(`UI: ${target.page}: p50 ${pages.at(-1)!.load.p50.toFixed(0)} ms`);
    }
    return {
      ui: true,
      runs: options.uiRuns,
      loads: options.uiLoads,
      chromium: executablePath,
      initialJs,
      seedSeconds,
      pages,
      serverWarnings: log.warnings,
      serverWarningSamples: log.samples,
    };
  } finally {
    unregister();
    await cleanup();
  }
}
